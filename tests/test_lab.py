"""`make lab` opens the book in JupyterLab, with the MyST chapters as notebooks (jupytext).

The test runs the Makefile's own command line (``make -n lab``, the virtual environment
being the one running the tests) on 127.0.0.1, a free port, a token and no browser, asks
for a chapter and stops the server: a few seconds.
"""

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "book/chapters/gradcam.md"


def _lab_command(extra: list[str]) -> list[str]:
    """The recipe of `make lab`, for this Python's environment (without installing it)."""
    venv = Path(sys.prefix)
    stamp = venv / ".installed"
    out = subprocess.run(["make", "--no-print-directory", "-n", "-o", str(stamp), "lab",
                          f"VENV={venv}", f"STAMP={stamp}", "LAB_ARGS=" + shlex.join(extra)],
                         cwd=ROOT, capture_output=True, text=True, check=True, timeout=30)
    return shlex.split(out.stdout.replace("\\\n", " "))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


@pytest.fixture
def lab(tmp_path):
    """A running `make lab` server: (base URL, token); stopped afterwards."""
    port, token = _free_port(), "book-test-token"
    command = _lab_command(["--no-browser", "--ip=127.0.0.1", f"--port={port}",
                            f"--IdentityProvider.token={token}"])
    assert command[1:3] == ["lab", "--ServerApp.root_dir=."]
    assert "--LabApp.default_url=/lab/tree/book/chapters" in command
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))    # nothing of the user's
    log = open(tmp_path / "lab.log", "w+")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while True:
            try:
                _get(f"{base}/api/status?token={token}")
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.time() > deadline:
                    log.seek(0)
                    pytest.fail("JupyterLab did not start:\n" + log.read()[-3000:])
                time.sleep(0.2)
        yield base, token, tmp_path / "lab.log"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def test_make_lab_opens_the_chapters_as_notebooks(lab):
    base, token, log = lab
    status, page = _get(f"{base}/lab/tree/{CHAPTER}?token={token}")
    assert status == 200 and b"JupyterLab" in page
    # jupytext's contents manager serves the MyST source as a notebook
    status, body = _get(f"{base}/api/contents/{CHAPTER}?type=notebook&token={token}")
    model = json.loads(body)
    assert status == 200 and model["type"] == "notebook"
    cells = model["content"]["cells"]
    assert cells[0]["cell_type"] == "markdown" and cells[0]["source"].startswith("# Grad-CAM")
    assert any(c["cell_type"] == "code" for c in cells)
    # the server opens at book/chapters and printed its URL there
    assert f"{base}/lab/tree/book/chapters?token=" in log.read_text()
