"""tools/chapter_stats.py counts what a student reads on a chapter's main path: folded
solutions, "Going further" sections, hidden cells and math are left out. No model."""

import re

import pytest

from tools import chapter_stats, diagrams

CHAPTER = '''---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A method

One two three four five, $x^2 + y^2$ and `code span` six.

$$
a = b + c
$$

```{code-cell} ipython3
x = 1
```

```{admonition} Solution
:class: dropdown

Folded words here: seven of them, in all.
```

```{code-cell} ipython3
:tags: [hide-cell]

y = 2
```

## Going further: a deep dive

Eight words that a reader opens by choice only.

```{code-cell} ipython3
z = 3
```

## Exercises

1. *(pen and paper)* Why?
2. *(choose a method)* Which?
'''


def test_counts_only_the_main_path(tmp_path):
    md = tmp_path / "method.md"
    md.write_text(CHAPTER)
    stats = chapter_stats.chapter_stats(md, times={"method": 12.0})
    # "A method" (2) + "One two three four five, x and x six" (8) + "Exercises" (1)
    # + "1. x Why?" / "2. x Which?" (the marks' words count: 5 + 4, numbers too)
    main_words = chapter_stats._count("A method\nOne two three four five, $x$ and `c` six.\n"
                                      "Exercises\n1. *(pen and paper)* Why?\n"
                                      "2. *(choose a method)* Which?")
    assert stats.words == main_words
    assert stats.cells == 1 and stats.folded_cells == 2
    assert stats.folded_words >= 8 + 6
    assert stats.exercises == {"pen and paper": 1, "write it yourself": 0,
                               "choose a method": 1}
    assert stats.seconds == 12.0
    assert stats.problems() == []          # not a technique chapter: no exercise mix needed


def test_a_technique_chapter_over_the_limits_is_reported(tmp_path):
    md = tmp_path / "lime.md"
    md.write_text(CHAPTER.replace("One two", "word " * chapter_stats.MAX_WORDS))
    stats = chapter_stats.chapter_stats(md, times={"lime": 61.0})
    problems = " ".join(stats.problems())
    assert "words >" in problems and "61 s > 60 s" in problems
    assert "(write it yourself)" in problems and "(pen and paper)" not in problems


def test_every_book_chapter_is_counted():
    stats = [chapter_stats.chapter_stats(md) for md in sorted(chapter_stats.CHAPTERS.glob("*.md"))]
    assert {s.name for s in stats} >= set(chapter_stats.TECHNIQUES)
    assert all(s.words > 300 and s.cells >= 3 for s in stats)
    assert "book:" in chapter_stats.table(stats)


TECHNIQUE_CHAPTERS = ("gradcam", "cam_family", "saliency", "integrated_gradients", "guided_backprop",
                      "occlusion", "rise", "lime", "shap", "anchors", "activation_maximization",
                      "deep_dream", "concepts", "counterfactuals")
MIN_GOING_FURTHER = {"deep_dream": 1}
"""The "Going further" sections a technique chapter needs at least, where not 2: the
Deep Dream chapter folds one deep dive."""


def test_the_techniques_are_the_fourteen_method_chapters():
    assert sorted(chapter_stats.TECHNIQUES) == sorted(TECHNIQUE_CHAPTERS)
    assert len(chapter_stats.TECHNIQUES) == len(set(chapter_stats.TECHNIQUES)) == 14
    for name in chapter_stats.TECHNIQUES:
        assert (chapter_stats.CHAPTERS / f"{name}.md").is_file(), name


def code_cells(text: str) -> list[str]:
    """The bodies of the ``{code-cell}`` blocks in ``text``, option blocks included."""
    return re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, re.S)


def options(cell: str) -> str:
    """A code cell's option block: a ``---`` YAML block at its start, or its leading
    ``:key: value`` lines (such as ``:tags: [hide-cell]``); "" when it has none."""
    yaml = re.match(r"---\n(.*?)\n---(?:\n|$)", cell, re.S)
    if yaml:
        return yaml.group(1)
    return re.match(r"(?::[\w-]+:[^\n]*(?:\n|$))*", cell).group(0)


def hidden(cell: str) -> bool:
    """Whether a code cell's option block tags it hide-cell or remove-cell."""
    return re.search(r"(?<![\w-])(?:hide|remove)-cell(?![\w-])", options(cell)) is not None


def test_the_hidden_cell_helpers():
    assert hidden(":tags: [hide-cell]\n\nx = 1\n")
    assert hidden(":tags: [remove-cell]\nx = 1\n")
    assert hidden("---\ntags: [hide-cell]\n---\nx = 1\n")
    assert hidden("---\ntags:\n  - remove-cell\n---\nx = 1\n")
    assert not hidden("x = 1  # hide-cell\n")
    assert not hidden(":tags: [hide-input]\nx = 1\n")
    assert not hidden(":tags: [hide-cell-output]\nx = 1\n")
    assert not hidden("x = 1\n---\n:tags: [hide-cell]\n")
    assert code_cells(CHAPTER) == ["x = 1\n", ":tags: [hide-cell]\n\ny = 2\n", "z = 3\n"]


@pytest.mark.parametrize("name", chapter_stats.TECHNIQUES)
def test_technique_chapter_fits_one_sitting(name):
    """Each technique chapter: its main path within :data:`MAX_WORDS` and
    :data:`MAX_CELLS`, at least one exercise of each kind of :data:`KINDS`, each marked
    right after its number; its diagram embedded once, verbatim; the section on what
    question the method answers; its "Going further" sections (## or ###; two at least
    unless :data:`MIN_GOING_FURTHER` says otherwise) with their prose in a dropdown and
    every code cell hidden; one folded solution per numbered exercise."""
    md = chapter_stats.CHAPTERS / f"{name}.md"
    text = md.read_text()
    stats = chapter_stats.chapter_stats(md, times={})
    assert stats.words <= chapter_stats.MAX_WORDS, stats.words
    assert stats.cells <= chapter_stats.MAX_CELLS, stats.cells
    assert all(stats.exercises[k] >= 1 for k in chapter_stats.KINDS), stats.exercises
    assert text.count(diagrams.figure_directive(name)) == 1
    assert "What question does it answer, and when to use it" in text
    sections = re.split(r"(?m)^(?=#{2,3} )", text)
    further = [s for s in sections if re.match(r"#{2,3} Going further", s)]
    assert len(further) >= MIN_GOING_FURTHER.get(name, 2), len(further)
    for section in further:
        assert ":class: dropdown" in section, section[:80]
        for cell in code_cells(section):
            assert hidden(cell), cell[:80]
    exercises = text.split("\n## Exercises", 1)[1]
    assert exercises.count(":class: dropdown") == len(re.findall(r"(?m)^\d+\. ", exercises))
    for kind in chapter_stats.KINDS:
        assert re.search(rf"(?m)^\d+\. \*\({re.escape(kind)}\)\*", exercises), kind
