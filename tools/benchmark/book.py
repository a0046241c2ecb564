"""The chapters' execution times, as recorded when they were last executed.

``python -m tools.execute_chapters`` writes ``book/execution_times.json`` (chapter ->
seconds) each time it executes chapters; this reads that file and executes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from tools.chapter_stats import MAX_SECONDS as TARGET_S          # one chapter
from tools.chapter_stats import MAX_TOTAL_SECONDS as TOTAL_TARGET_S  # the whole book

TIMES = Path(__file__).resolve().parents[2] / "book" / "execution_times.json"


def chapter_times(path: Path = TIMES) -> dict[str, float]:
    """Print each chapter's recorded execution time against its target
    (:data:`tools.chapter_stats.MAX_SECONDS`), and the total against the book's; return
    them (empty if nothing was recorded)."""
    if not path.is_file():
        print(f"chapter execution times: none recorded ({path} is written by "
              "`python -m tools.execute_chapters`)")
        return {}
    times = json.loads(path.read_text())
    over = [name for name, s in times.items() if s > TARGET_S]
    print(f"chapter execution times, as recorded in {path.relative_to(path.parents[1])} "
          f"(target <= {TARGET_S} s each):")
    for name, s in sorted(times.items()):
        print(f"  {name:26s} {s:6.1f} s{'  over' if s > TARGET_S else ''}")
    total = sum(times.values())
    print(f"  {'total':26s} {total:6.0f} s ({total / 60:.1f} min, target "
          f"{TOTAL_TARGET_S / 60:.0f} min{'' if total <= TOTAL_TARGET_S else ': over'}); "
          f"{len(times) - len(over)} of {len(times)} chapters met the target")
    return times


STARTUP = "from shared.notebook import setup; setup(); from shared import data, methods, models, viz"
"""What every chapter's setup cell imports (TensorFlow, Keras, matplotlib, the package)."""


def _import_seconds(from_source: bool) -> float:
    """Seconds a fresh interpreter takes to run :data:`STARTUP`, with the environment's
    compiled bytecode or (``from_source``) compiling every module from source: an empty
    ``PYTHONPYCACHEPREFIX`` hides the installed ``.pyc`` files, and nothing is written."""
    import os
    import subprocess
    import sys
    import tempfile

    from .timing import seconds
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPYCACHEPREFIX", None)
    with tempfile.TemporaryDirectory() as empty:
        if from_source:
            env["PYTHONPYCACHEPREFIX"] = empty
        return seconds(lambda: subprocess.run([sys.executable, "-c", STARTUP], env=env,
                                              check=True, capture_output=True))


def startup(repeats: int = 3) -> tuple[float, float]:
    """Print what a chapter's kernel spends importing before its first line of its own,
    with the ``.pyc`` files that ``make`` installs (``uv pip install --compile-bytecode``)
    and compiled from source, as where ``PYTHONDONTWRITEBYTECODE`` is set and nothing was
    precompiled; return both medians in seconds."""
    from .timing import paired
    compiled, source, ratio = paired(lambda: _import_seconds(False),
                                     lambda: _import_seconds(True), repeats)
    print(f"chapter start-up imports (TensorFlow, Keras, matplotlib, the package), median "
          f"of {repeats}: {compiled:.1f} s with installed bytecode, {source:.1f} s compiled "
          f"from source (ratio {ratio:.2f}; every chapter pays it once)")
    return compiled, source
