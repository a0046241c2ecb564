"""The comparison chapter: what the common chapter checks leave to it. No model is
trained and nothing is computed beyond four gradient maps: the chapter reads committed
results (the scorecard's and the experiments'); its exercises have the three kinds, each
with a solution. (That every glued name is recorded is checked for every chapter in
test_packaging.py.)"""

import re
from pathlib import Path

CHAPTER = Path(__file__).resolve().parents[1] / "book" / "chapters" / "comparison.md"


def _code(text: str) -> str:
    return "\n".join(re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, re.S))


def test_reads_committed_results_and_computes_no_costly_method():
    code = _code(CHAPTER.read_text())
    for costly in ("compute_experiment", "shared.train", "methods.occlusion", "methods.rise",
                   "methods.lime", "anchor_explanation", "evaluate_batch"):
        assert costly not in code, costly
    for reader in ("scorecard.scorecard(", "scorecard.shortcut_methods_table()",
                   "scorecard.imbalance_methods_table()", "scorecard.versus_best("):
        assert reader in code, reader


def test_exercises_of_each_kind_with_solutions():
    text = CHAPTER.read_text()
    exercises = text[text.index("## Exercises"):]
    for kind in ("(choose a method)", "(pen and paper)", "(write it yourself)"):
        assert kind in exercises, kind
    questions = len(re.findall(r"^\d+\. \*\(", exercises, re.M))
    assert exercises.count("```{admonition} Solution") == questions >= 4
