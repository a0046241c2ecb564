"""Shared fixtures and the two test tiers.

`make check` runs the unit tests on toy models (minutes); `make test` runs everything.
A test belongs to the slower tier, marked ``book``, when it needs the shared checkpoint
(the `shared_model` or `checkpoint` fixtures), the built site (`site`), or declares the
mark itself (training, a Colab-like environment). The checkpoint is part of the
package: tests load it, never skip.
"""

import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The tests check the book's model and data: a reader's BOOK_MODEL (shared.setting) must not
# reach them, nor the chapter kernels that nbval starts from this process.
os.environ.pop("BOOK_MODEL", None)

import matplotlib

matplotlib.use("Agg")

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "_build" / "screenshots"
STARTED = time.time()


BOOK_FIXTURES = {"shared_model", "checkpoint", "site"}


def pytest_configure(config):
    config.addinivalue_line("markers", "book: needs the shared checkpoint, the built book or "
                            "another environment; run by `make test`, not `make check`")


def pytest_collection_modifyitems(items):
    for item in items:
        if BOOK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.book)


@pytest.fixture(scope="session")
def shared_model():
    """The book's shared checkpoint (probabilities output)."""
    from shared import models
    return models.load_model()


@pytest.fixture(scope="session")
def test_images():
    """The first two test-split images of every class (12 images, with masks)."""
    from shared import data
    return data.load_split("test", 2)


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The book built once per test run (warnings are errors), into a temporary folder;
    yields its HTML folder. Shared by test_site.py and test_browser.py, also when they
    run in two pytest-xdist workers: the first to arrive builds, the other waits on a
    lock and reuses the build."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent                      # the folder every worker shares
    out = base / "book"
    html = out / "_build" / "html"
    with open(base / "book.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (html / "index.html").exists():
            result = subprocess.run(
                [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT),
                 "--path-output", str(out), "-W", "-n", "--keep-going"],
                capture_output=True, text=True, timeout=1200)
            assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return html


@pytest.fixture(scope="session")
def screenshots_dir():
    """Where the browser test saves its screenshots: _build/screenshots/, emptied first;
    the path is printed at the end of the run."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


def pytest_terminal_summary(terminalreporter):
    shots = sorted(SCREENSHOTS.rglob("*.png")) if SCREENSHOTS.is_dir() else []
    if shots and max(p.stat().st_mtime for p in shots) >= STARTED:   # taken by this run
        terminalreporter.write_line(f"screenshots of the built pages ({len(shots)}): "
                                    f"{SCREENSHOTS}")
