"""The training command cannot rot: a tiny run end to end, twice, bit-identical."""

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from shared import data, models, train

pytestmark = pytest.mark.book      # two training runs: about a minute

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--val-per-class", "1", "--test-per-class", "1", "--epochs", "1",
        "--width", "0.125", "--middle-blocks", "1", "--size", "96", "--batch-size", "6",
        "--no-speed"]
# a preset changed by options: per-class counts and a planted marker
VARIANT = ["--preset", "imbalanced", "--n-per-class", "2,1,1,1,3,1",
           "--marker-class", "Cowpox", "--marker-fraction", "0.5"]


def _train(out: Path, *extra: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    subprocess.run([sys.executable, "-m", "shared.train", "--out", str(out), *TINY, *extra],
                   check=True, env=env, cwd=ROOT, capture_output=True, timeout=600)


def test_tiny_training_writes_checkpoint_and_card_deterministically(tmp_path):
    _train(tmp_path / "a", *VARIANT)
    _train(tmp_path / "b", *VARIANT)
    a = models.load_model(tmp_path / "a" / "xception_pox.keras")
    b = models.load_model(tmp_path / "b" / "xception_pox.keras")
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb)              # bit-identical across processes
    fresh = models.xception((96, 96, 3), 6, width=0.125, middle_blocks=1)
    assert any(not np.array_equal(wa, wf) for wa, wf in zip(a.get_weights(), fresh.get_weights()))
    card = json.loads((tmp_path / "a" / "model_card.json").read_text())
    assert card["config"]["epochs"] == 1 and card["test"]["n"] == 6
    assert len(card["test"]["confusion_matrix"]) == 6
    text = (tmp_path / "a" / "model_card.md").read_text()
    assert "Confusion matrix" in text
    assert card["data"]["train"]["n_per_class"] == [2, 1, 1, 1, 3, 1]
    assert card["data"]["train"]["n"] == 9
    assert card["command"].startswith("python -m shared.train --out")
    assert "--preset imbalanced" in card["command"]
    assert "Training images per class (unweighted loss): Chickenpox 2, Cowpox 1" in text
    assert "Planted shortcut: the ink marker on 50% of the Cowpox training" in text


def test_presets_are_the_shipped_variants():
    assert list(train.PRESETS) == list(models.VARIANTS)
    assert train.PRESETS["default"] == train.TrainConfig()
    shortcut = train.PRESETS["shortcut"]
    assert shortcut.marker_class == "Monkeypox" and 0 < shortcut.marker_fraction < 1
    imbalanced, small = train.PRESETS["imbalanced"], train.PRESETS["small"]
    assert tuple(imbalanced.n_per_class) == data.SEED_LIKE_COUNTS
    # the control differs in its class counts only: the same total (to 6 images), epochs
    assert abs(6 * small.n_per_class - sum(imbalanced.n_per_class)) < 6
    assert asdict(small) | {"n_per_class": 0} == asdict(imbalanced) | {"n_per_class": 0}


@pytest.mark.parametrize("counts", ["3,1", "0", "a,b,c,d,e,f", "1,1,1,1,1,-1"])
def test_bad_class_counts_are_refused_by_name(counts, capsys):
    with pytest.raises(SystemExit):
        train.main(["--n-per-class", counts, "--out", "/nonexistent/never-written"])
    err = capsys.readouterr().err
    assert "--n-per-class" in err and repr(counts) in err
