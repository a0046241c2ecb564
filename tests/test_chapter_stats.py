"""tools/chapter_stats.py counts what a student reads on a chapter's main path: folded
solutions, "Going further" sections, hidden cells and math are left out. No model."""

from tools import chapter_stats

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
