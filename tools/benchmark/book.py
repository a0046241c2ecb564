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
