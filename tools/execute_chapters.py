"""Refresh what the book shows: sync every chapter pair, execute it, store its outputs.

    python -m tools.execute_chapters               # all chapters
    python -m tools.execute_chapters gradcam       # chapters whose name contains 'gradcam'
    python -m tools.execute_chapters --sync-only   # .md -> .ipynb, keep stored outputs

The MyST markdown twin (``book/chapters/*.md``) is the source a person edits; the
``.ipynb`` twin is written from it and holds the outputs the book displays. Execution
runs each notebook in its own folder with a fresh kernel; per-cell timestamps are not
recorded, so a re-run changes a notebook only where its outputs changed. The execution
time of each chapter goes into ``book/execution_report.md`` (the book's status page).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import time
from importlib.metadata import version
from pathlib import Path

import jupytext
import nbformat
import yaml
from jupytext.combine import combine_inputs_with_outputs
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "book" / "chapters"
REPORT = ROOT / "book" / "execution_report.md"
TIMES = ROOT / "book" / "execution_times.json"
PACKAGES = ["tensorflow-cpu", "keras", "numpy", "scikit-image", "lime", "alibi", "matplotlib",
            "jupyter-book", "jupytext", "nbval"]


def chapter_sources(pattern: str = "") -> list[Path]:
    return sorted(p for p in CHAPTERS.glob("*.md") if pattern in p.stem)


def repository_url() -> str:
    """The book's repository, written once: ``repository.url`` in ``_config.yml``."""
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


INSTALL = re.compile(r'(%pip install -q --no-deps "interpreting-cnns @ git\+)([^"]*)(")')
"""The install line of every chapter's setup cell (Colab: the package only, no deps)."""


def with_repository_url(text: str) -> str:
    """A chapter's source with its install line pointing at :func:`repository_url`."""
    return INSTALL.sub(lambda m: m.group(1) + repository_url() + m.group(3), text)


README = ROOT / "README.md"
BADGES = re.compile(r"(<!-- chapters:[^\n]*-->\n)(.*?)(<!-- /chapters -->)", re.S)


def colab_url(chapter: str) -> str:
    """The Colab link of a chapter, from the repository set in ``_config.yml``."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    github = config["url"].removeprefix("https://github.com/").rstrip("/")
    return (f"https://colab.research.google.com/github/{github}/blob/"
            f"{config.get('branch', 'main')}/book/chapters/{chapter}.ipynb")


def chapter_table() -> str:
    """The README's table of chapters with a Colab badge each, in the order of _toc.yml."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    badge = "https://colab.research.google.com/assets/colab-badge.svg"
    lines = ["| part | chapter | Colab |", "|---|---|---|"]
    for part in toc["parts"]:
        for entry in part["chapters"]:
            if not entry["file"].startswith("book/chapters/"):
                continue
            name = entry["file"].rsplit("/", 1)[-1]
            md = CHAPTERS / f"{name}.md"
            title = next(line[2:].strip() for line in md.read_text().splitlines()
                         if line.startswith("# "))
            lines.append(f"| {part['caption']} | [{title}](book/chapters/{name}.md) | "
                         f"[![Open in Colab]({badge})]({colab_url(name)}) |")
    return "\n".join(lines) + "\n"


def sync_readme() -> None:
    """Write the chapter table into the README (between its markers)."""
    text = README.read_text()
    new = BADGES.sub(lambda m: m.group(1) + chapter_table() + m.group(3), text)
    if new != text:
        README.write_text(new)


def sync(md: Path) -> nbformat.NotebookNode:
    """The notebook for ``md``: its inputs, with the outputs stored in the old twin. The
    install line of the source is first pointed at the configured repository."""
    text = md.read_text()
    if with_repository_url(text) != text:
        md.write_text(with_repository_url(text))
    nb = jupytext.read(md)
    twin = md.with_suffix(".ipynb")
    if twin.exists():
        nb = combine_inputs_with_outputs(nb, nbformat.read(twin, as_version=4), fmt="md:myst")
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path) -> float:
    start = time.perf_counter()
    NotebookClient(nb, timeout=1800, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return time.perf_counter() - start


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    nb.metadata.pop("widgets", None)
    jupytext.write(nb, path, fmt="ipynb")


def write_report(times: dict) -> None:
    TIMES.write_text(json.dumps(times, indent=1, sort_keys=True) + "\n")
    lines = ["| chapter | execution time (s) |", "|---|---|"]
    lines += [f"| {name} | {t:.0f} |" for name, t in sorted(times.items())]
    lines += [f"| **all chapters** | **{sum(times.values()):.0f}** |"]
    lines += ["", f"Python {platform.python_version()}; "
              + ", ".join(f"{p} {_version(p)}" for p in PACKAGES) + "."]
    REPORT.write_text("\n".join(lines) + "\n")


def _version(package: str) -> str:
    try:
        return version(package)
    except Exception:
        return "not installed"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("pattern", nargs="?", default="", help="only chapters whose name contains this")
    p.add_argument("--sync-only", action="store_true", help="write the .ipynb twins, do not execute")
    args = p.parse_args(argv)
    sources = chapter_sources(args.pattern)
    if not sources:
        raise SystemExit(f"no chapter matches {args.pattern!r} in {CHAPTERS}")
    times = json.loads(TIMES.read_text()) if TIMES.exists() else {}
    sync_readme()
    for md in sources:
        nb = sync(md)
        if not args.sync_only:
            print(f"executing {md.stem} ...", flush=True)
            times[md.stem] = execute(nb, md.parent)
            print(f"  {times[md.stem]:.0f} s", flush=True)
        write(nb, md.with_suffix(".ipynb"))
    if not args.sync_only:
        write_report({k: v for k, v in times.items() if (CHAPTERS / f"{k}.md").exists()})
    from tools import course          # the guide's time budget follows words and times
    course.write()


if __name__ == "__main__":
    main()
