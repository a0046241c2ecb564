"""The training command cannot rot: a tiny run end to end, twice, bit-identical."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shared import models

pytestmark = pytest.mark.book      # two training runs: about a minute

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--n-per-class", "3", "--val-per-class", "1", "--test-per-class", "1", "--epochs", "1",
        "--width", "0.125", "--middle-blocks", "1", "--size", "96", "--batch-size", "6",
        "--no-speed"]


def _train(out: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    subprocess.run([sys.executable, "-m", "shared.train", "--out", str(out), *TINY],
                   check=True, env=env, cwd=ROOT, capture_output=True, timeout=600)


def test_tiny_training_writes_checkpoint_and_card_deterministically(tmp_path):
    _train(tmp_path / "a")
    _train(tmp_path / "b")
    a = models.load_model(tmp_path / "a" / "xception_pox.keras")
    b = models.load_model(tmp_path / "b" / "xception_pox.keras")
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb)              # bit-identical across processes
    fresh = models.xception((96, 96, 3), 6, width=0.125, middle_blocks=1)
    assert any(not np.array_equal(wa, wf) for wa, wf in zip(a.get_weights(), fresh.get_weights()))
    card = json.loads((tmp_path / "a" / "model_card.json").read_text())
    assert card["config"]["epochs"] == 1 and card["test"]["n"] == 6
    assert len(card["test"]["confusion_matrix"]) == 6
    assert "Confusion matrix" in (tmp_path / "a" / "model_card.md").read_text()
