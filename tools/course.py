"""The course guide's time budget: does each 90-minute session fit?

    python -m tools.course            # print the table
    python -m tools.course --write    # write it into book/course_guide.md

A session is read in class, run, worked on and assessed. Its budget, stated once here:
the main-path prose of its chapters read at :data:`READING_WPM` words per minute
(counted by :mod:`tools.chapter_stats`), plus each chapter's execution time on 2 CPU
cores (``book/execution_times.json``), must leave :data:`LAB_MINUTES` for the lab and
:data:`ASSESSMENT_MINUTES` for the short assessment within :data:`SESSION_MINUTES`.
The table between the markers in ``book/course_guide.md`` is written by this tool;
``tests/test_course.py`` checks it is current and that every chapter is in one session.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys

from tools import chapter_stats

SESSION_MINUTES = 90
LAB_MINUTES = 30
ASSESSMENT_MINUTES = 10
READING_WPM = 150
"""A slow reading pace, for technical prose with formulas and figures (adults read
plain prose at about 240 words per minute)."""

SESSIONS = [
    ("Data with a known answer", ["data_and_model", "measuring"]),
    ("Where the evidence is: Grad-CAM and its family", ["gradcam", "cam_family"]),
    ("Gradients at the pixels, paths and baselines", ["saliency", "integrated_gradients"]),
    ("A map that ignores the model: the sanity check", ["guided_backprop"]),
    ("Hide and ask again", ["occlusion", "rise"]),
    ("Surrogates and fair shares", ["lime", "shap"]),
    ("Rules that suffice", ["anchors"]),
    ("Inside the network", ["activation_maximization", "deep_dream"]),
    ("Concepts and counterfactuals", ["concepts", "counterfactuals"]),
    ("Which explanation can you trust?", ["comparison"]),
]
"""The sessions in order: a title and the chapters read in it."""

GUIDE = chapter_stats.ROOT / "book" / "course_guide.md"
MARKERS = re.compile(r"(<!-- sessions: written by python -m tools.course -->\n)(.*?)"
                     r"(<!-- /sessions -->)", re.S)


def budget() -> list[dict]:
    """Per session: its chapters, main-path words, reading and execution minutes, and the
    minutes left for lab and assessment."""
    times = json.loads(chapter_stats.TIMES.read_text())
    out = []
    for title, names in SESSIONS:
        stats = [chapter_stats.chapter_stats(chapter_stats.CHAPTERS / f"{n}.md", times)
                 for n in names]
        words = sum(s.words for s in stats)
        reading = words / READING_WPM
        running = sum(s.seconds or 0 for s in stats) / 60
        left = SESSION_MINUTES - reading - running
        out.append(dict(title=title, chapters=names, words=words, reading=reading,
                        running=running, left=left,
                        fits=left >= LAB_MINUTES + ASSESSMENT_MINUTES))
    return out


def table(rows: list[dict]) -> str:
    lines = ["| session | chapters | words | reading | running | left for lab and "
             "assessment |", "|---|---|---:|---:|---:|---:|"]
    for k, r in enumerate(rows, 1):
        chapters = ", ".join(f"{{doc}}`chapters/{n}`" for n in r["chapters"])
        lines.append(f"| {k}. {r['title']} | {chapters} | {r['words']:,} | "
                     f"{math.ceil(r['reading'])} min | {math.ceil(r['running'])} min | "
                     f"{math.floor(r['left'])} min |")
    return "\n".join(lines) + "\n"


def write() -> bool:
    """Write the table into the course guide; True when it changed."""
    text = GUIDE.read_text()
    if not MARKERS.search(text):
        raise SystemExit(f"{GUIDE} has no sessions markers")
    new = MARKERS.sub(lambda m: m.group(1) + table(budget()) + m.group(3), text)
    GUIDE.write_text(new)
    return new != text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.course",
                                description=__doc__.split("\n")[0])
    p.add_argument("--write", action="store_true", help="write the table into the guide")
    args = p.parse_args(argv)
    rows = budget()
    print(table(rows))
    for r in rows:
        if not r["fits"]:
            print(f"does not fit: {r['title']}: {r['left']:.0f} min left, "
                  f"{LAB_MINUTES + ASSESSMENT_MINUTES} needed")
    if args.write:
        print("wrote" if write() else "unchanged", GUIDE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
