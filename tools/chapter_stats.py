"""How long each chapter is to read and to run: the numbers behind "one sitting".

    python -m tools.chapter_stats            # every chapter, a table
    python -m tools.chapter_stats gradcam    # chapters whose name contains 'gradcam'

For each chapter (``book/chapters/*.md``, the MyST source) it counts what a student reads
on the **main path**, top to bottom, leaving out what is folded:

- prose words: the markdown, without math (``$...$``, ``$$...$$``), code spans and
  fences, directive options, HTML comments and MyST roles' targets; a ``dropdown`` or an
  admonition of class ``dropdown`` (solutions, "Going further" boxes) is folded;
- code cells: every code cell not tagged ``hide-cell``, ``remove-cell`` or
  ``remove-input``;
- everything under a heading that starts with "Going further" (a folded deep dive: its
  prose in a dropdown, its code cells hidden) up to the next heading of the same level.

It also prints the chapter's execution time from ``book/execution_times.json`` (written by
``tools.execute_chapters``) and the exercise mix of the technique chapters: the exercises
marked *(pen and paper)*, *(write it yourself)* and *(choose a method)*. Limits, from
the book's teaching shape: :data:`MAX_WORDS`, :data:`MAX_CELLS`, :data:`MAX_SECONDS` per
chapter and :data:`MAX_TOTAL_SECONDS` for the book. The tool prints; it does not judge a
chapter that is not yet restructured (``--check`` exits 1 when a limit is exceeded).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "book" / "chapters"
TIMES = ROOT / "book" / "execution_times.json"

MAX_WORDS = 3500
"""Prose words on a chapter's main path."""
MAX_CELLS = 20
"""Code cells on a chapter's main path."""
MAX_SECONDS = 60
"""Execution time of one chapter on 2 CPU cores."""
MAX_TOTAL_SECONDS = 8 * 60
"""Execution time of the whole book on 2 CPU cores."""

TECHNIQUES = ("gradcam", "cam_family", "saliency", "integrated_gradients", "guided_backprop", "occlusion",
              "rise", "lime", "shap", "anchors", "activation_maximization", "deep_dream",
              "concepts", "counterfactuals")
"""The chapters that explain one method each (and must have the exercise mix)."""
KINDS = ("pen and paper", "write it yourself", "choose a method")
"""The exercise marks a technique chapter needs at least one of each."""

HIDDEN_TAGS = {"hide-cell", "remove-cell", "remove-input"}
_FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\{[\w-]+\})?\s*(.*)$")
_MATH_BLOCK = re.compile(r"\$\$.*?\$\$", re.S)
_MATH = re.compile(r"\$[^$\n]+\$")
_CODE_SPAN = re.compile(r"``?[^`\n]+``?")
_ROLE = re.compile(r"\{[\w:-]+\}`([^`]*)`")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_LINK = re.compile(r"\]\([^)]*\)")
_WORD = re.compile(r"[A-Za-z0-9][\w'’.-]*")


@dataclass
class Stats:
    name: str
    words: int
    cells: int
    folded_words: int
    folded_cells: int
    exercises: dict
    seconds: float | None

    def problems(self) -> list[str]:
        out = []
        if self.words > MAX_WORDS:
            out.append(f"{self.words} words > {MAX_WORDS}")
        if self.cells > MAX_CELLS:
            out.append(f"{self.cells} code cells > {MAX_CELLS}")
        if self.seconds is not None and self.seconds > MAX_SECONDS:
            out.append(f"{self.seconds:.0f} s > {MAX_SECONDS} s")
        if self.name in TECHNIQUES:
            missing = [k for k in KINDS if not self.exercises.get(k)]
            if missing:
                out.append("no exercise marked " + ", ".join(f"({k})" for k in missing))
        return out


def _prose_words(text: str) -> tuple[int, int]:
    """(main-path words, folded words) of one markdown cell."""
    main, folded = [], []
    depth_folded = []          # the open fences: (fence, "main" | "folded" | "skip")
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line.strip())
        if fence:
            directive = fence.group(2)
            closing = (not directive and not fence.group(3) and depth_folded
                       and depth_folded[-1][0] == fence.group(1))
            if closing:
                depth_folded.pop()
                i += 1
                continue
            options, j = [], i + 1
            while j < len(lines) and lines[j].startswith(":"):
                options.append(lines[j])
                j += 1
            is_folded = directive in ("{dropdown}",) or (
                directive == "{admonition}" and any("dropdown" in o for o in options)) or (
                directive in ("{toggle}",))
            literal = directive is None or directive in ("{code-block}", "{code}",
                                                         "{math}", "{raw}")
            parent = depth_folded[-1][1] if depth_folded else "main"
            state = "folded" if is_folded or parent == "folded" else (
                "skip" if literal else parent)
            depth_folded.append((fence.group(1), state))
            if directive in ("{admonition}", "{dropdown}") and fence.group(3):
                (folded if state == "folded" else main).append(fence.group(3))
            i = j
            continue
        state = depth_folded[-1][1] if depth_folded else "main"
        if state == "main":
            main.append(line)
        elif state == "folded":
            folded.append(line)
        i += 1
    return _count("\n".join(main)), _count("\n".join(folded))


def _count(text: str) -> int:
    for pattern, repl in ((_COMMENT, " "), (_MATH_BLOCK, " "), (_MATH, " x "),
                          (_ROLE, r" \1 "), (_CODE_SPAN, " x "), (_LINK, "]")):
        text = pattern.sub(repl, text)
    return len(_WORD.findall(text))


def exercise_kinds(text: str) -> dict:
    """How many exercises carry each mark of :data:`KINDS` in the Exercises section."""
    part = text.split("\n## Exercises", 1)
    body = part[1] if len(part) == 2 else ""
    return {k: body.count(f"*({k})*") for k in KINDS}


def chapter_stats(md: Path, times: dict | None = None) -> Stats:
    """The counts of one chapter (see the module docstring)."""
    nb = jupytext.read(md)
    words = cells = folded_words = folded_cells = 0
    skip_level = None                    # inside a "Going further" section of this level
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for block in re.split(r"(?m)^(?=#{1,6} )", cell.source):
                heading = re.match(r"(#{1,6}) (.*)", block)
                if heading:
                    level = len(heading.group(1))
                    if skip_level is not None and level <= skip_level:
                        skip_level = None
                    if heading.group(2).lower().startswith("going further"):
                        skip_level = level
                w, f = _prose_words(block)
                if skip_level is not None:
                    folded_words += w + f
                else:
                    words, folded_words = words + w, folded_words + f
        elif cell.cell_type == "code":
            tags = set(cell.metadata.get("tags", []))
            if skip_level is not None or tags & HIDDEN_TAGS:
                folded_cells += 1
            else:
                cells += 1
    times = times if times is not None else (
        json.loads(TIMES.read_text()) if TIMES.exists() else {})
    return Stats(md.stem, words, cells, folded_words, folded_cells,
                 exercise_kinds(md.read_text()), times.get(md.stem))


def table(stats: list[Stats]) -> str:
    head = (f"{'chapter':24s} {'words':>6s} {'cells':>5s} {'folded w':>8s} {'folded c':>8s} "
            f"{'exec s':>6s}  exercises (pen/write/choose)  over the limits")
    rows = [head, "-" * len(head)]
    for s in stats:
        mix = "/".join(str(s.exercises[k]) for k in KINDS) if s.name in TECHNIQUES else "-"
        secs = "-" if s.seconds is None else f"{s.seconds:.0f}"
        rows.append(f"{s.name:24s} {s.words:6d} {s.cells:5d} {s.folded_words:8d} "
                    f"{s.folded_cells:8d} {secs:>6s}  {mix:28s}  "
                    + ("; ".join(s.problems()) or "ok"))
    total = sum(s.seconds or 0 for s in stats)
    rows.append(f"book: {total:.0f} s of execution (limit {MAX_TOTAL_SECONDS} s); limits per "
                f"chapter: {MAX_WORDS} words, {MAX_CELLS} code cells, {MAX_SECONDS} s")
    return "\n".join(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.chapter_stats",
                                description=__doc__.split("\n")[0])
    p.add_argument("pattern", nargs="?", default="", help="part of a chapter's name")
    p.add_argument("--check", action="store_true", help="exit 1 when a limit is exceeded")
    args = p.parse_args(argv)
    sources = sorted(m for m in CHAPTERS.glob("*.md") if args.pattern in m.stem)
    if not sources:
        p.error(f"no chapter matches {args.pattern!r} in {CHAPTERS}")
    stats = [chapter_stats(m) for m in sources]
    print(table(stats))
    over = any(s.problems() for s in stats) or (
        not args.pattern and sum(s.seconds or 0 for s in stats) > MAX_TOTAL_SECONDS)
    return 1 if args.check and over else 0


if __name__ == "__main__":
    sys.exit(main())
