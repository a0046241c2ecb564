"""Chapters run as on Colab: a fresh environment without the book's pins.

A virtual environment gets only what Colab preinstalls that matters
(`tests/colab_requirements.txt`: numpy 2, TensorFlow, Keras, matplotlib, scikit-image,
...); then each chapter is executed from a fresh kernel, exactly as a reader opens it:
its first cell finds no `shared` and runs its own install line, pointed here at this
checkout instead of the repository (`--no-deps`, so nothing Colab has is replaced), and
chapters that need lime, alibi or shap install them in their own cells. A chapter passes
when it executes without an error; numbers are not compared (other versions).

    make test                      # one chapter (the data chapter: numpy-heavy generator)
    make colab                     # every chapter (COLAB_CHAPTERS=all)

The environment is kept in `.venv-colab/` between runs (delete it to start afresh).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-colab"
PY = VENV / "bin" / "python"
REQUIREMENTS = ROOT / "tests" / "colab_requirements.txt"
UV = Path(sys.executable).parent / "uv"
DEFAULT = ["data_and_model"]
INSTALL = re.compile(r'"interpreting-cnns @ git\+[^"]*"')
pytestmark = pytest.mark.book


def _chapters() -> list[str]:
    wanted = os.environ.get("COLAB_CHAPTERS", "")
    every = sorted(p.stem for p in (ROOT / "book" / "chapters").glob("*.md"))
    if wanted == "all":
        return every
    names = wanted.split(",") if wanted else DEFAULT
    return [n for n in names if n in every]


@pytest.fixture(scope="module")
def colab_python():
    stamp = VENV / ".colab-installed"
    if not (stamp.exists() and stamp.read_text() == REQUIREMENTS.read_text()):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        pip = [str(PY), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run(pip + ["--upgrade", "pip"], check=True, timeout=600)
        # The chapters' own cells install with pip, as on Colab; the environment itself is
        # made with uv where the book's environment has it (seconds instead of minutes).
        if UV.exists():
            pip = [str(UV), "pip", "install", "-q", "--python", str(PY)]
        subprocess.run(pip + ["-r", str(REQUIREMENTS)], check=True, timeout=1800)
        stamp.write_text(REQUIREMENTS.read_text())
    versions = subprocess.run(
        [str(PY), "-c", "import numpy, tensorflow, keras; print(numpy.__version__, "
         "tensorflow.__version__, keras.__version__)"],
        capture_output=True, text=True, check=True, env=_env()).stdout.split()
    assert versions[0].startswith("2."), f"numpy {versions[0]}: not a Colab-like numpy 2"
    return PY


def _packages(python) -> dict:
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format", "json"],
                            capture_output=True, text=True, check=True).stdout
    return {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(listed)}


def _env() -> dict:
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONNOUSERSITE="1")


RUNNER = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=1200, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[2]}}).execute()
"""


@pytest.mark.parametrize("chapter", _chapters())
def test_chapter_runs_in_a_colab_like_environment(colab_python, chapter, tmp_path):
    nb = nbformat.read(ROOT / "book" / "chapters" / f"{chapter}.ipynb", as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert INSTALL.search(first.source), "the setup cell must install the package"
    for cell in nb.cells:          # the install lines point at this checkout
        if cell.cell_type == "code":
            cell.source = INSTALL.sub(f'"interpreting-cnns @ {ROOT.as_uri()}"', cell.source)
    path = tmp_path / f"{chapter}.ipynb"
    nbformat.write(nb, path)
    # Each chapter opens in a fresh Colab runtime: without the book's package.
    subprocess.run([str(colab_python), "-m", "pip", "uninstall", "-q", "-y",
                    "interpreting-cnns"], capture_output=True)
    subprocess.run([str(colab_python), "-m", "ipykernel", "install", "--sys-prefix",
                    "--name", "python3"], check=True, capture_output=True)
    before = _packages(colab_python)
    result = subprocess.run([str(colab_python), "-c", RUNNER, str(path), str(tmp_path)],
                            capture_output=True, text=True, timeout=1800, env=_env())
    assert result.returncode == 0, result.stderr[-5000:]
    after = _packages(colab_python)
    for kept in ("numpy", "tensorflow-cpu", "keras", "scikit-image"):
        assert after[kept] == before[kept], f"{chapter} replaced Colab's {kept}"
    if chapter != "anchors":
        assert "alibi" not in set(after) - set(before), f"{chapter} installed alibi"
