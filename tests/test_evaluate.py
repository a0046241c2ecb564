"""Interventional ground truth, the evaluation command and the committed scorecard."""

import json

import numpy as np
import pytest

from shared import data, evaluate, methods, metrics
from toy_models import isolated_element, model_seeing


def test_the_element_the_model_sees_is_the_important_one_and_a_map_on_it_scores_1():
    ds, k, box = isolated_element()
    model = model_seeing(box)
    found = evaluate.element_importance(model, ds, [0])
    if found["drop_when_removed"][0][k] < 0:     # evidence against class 0: explain class 1
        found = evaluate.element_importance(model, ds, [1])
    drops = np.array(found["drop_when_removed"][0])
    assert drops[k] > 0
    assert np.argmax(np.abs(drops)) == k
    assert np.abs(np.delete(drops, k)).max() < 1e-5      # elements outside the box: nothing
    kept = np.array(found["rise_when_kept_alone"][0])
    assert np.argmax(np.abs(kept)) == k
    on_it = ds.scene(0).footprint(k)[None].astype(float)
    rho = metrics.element_rank_correlation(on_it, ds.instances, [drops])
    assert rho[0] == pytest.approx(1.0)
    share = metrics.unimportant_share(on_it, ds.instances, [drops], 1e-3)
    assert share[0] == 0.0


def test_element_importance_refuses_a_real_image(tmp_path):
    from PIL import Image
    (tmp_path / "Measles").mkdir()
    Image.new("RGB", (64, 64), (200, 90, 90)).save(tmp_path / "Measles" / "a.png")
    real = data.load_folder(tmp_path, size=64)
    with pytest.raises(ValueError, match="loaded from a folder and has no scene"):
        evaluate.element_importance(model_seeing(np.ones((64, 64), bool)), real, [0])


# ------------------------------------------------------- the committed results

COMMITTED = evaluate.available()


def test_every_registered_method_and_control_has_committed_results():
    missing = [n for n in list(methods.ATTRIBUTIONS) + list(metrics.CONTROLS)
               if n not in COMMITTED]
    assert not missing, f"run `python -m shared.evaluate {' '.join(missing)}`"
    importance = evaluate.load_results("importance")
    assert len(importance["importance"]["drop_when_removed"]) == len(importance["labels"])


@pytest.fixture(scope="module")
def evaluation(shared_model):
    ds = evaluate.evaluation_set(shared_model)
    return ds, evaluate.load_results("importance")["importance"]


@pytest.mark.parametrize("name", COMMITTED)
def test_committed_results_agree_with_a_recomputation(shared_model, evaluation, name):
    """Two images (the first of the first and of the last batch, so that seeded noise is
    drawn for the same batch position) are evaluated again, each alone in its batch (at
    position 0, as in its committed batch), untimed: the committed per-image values must
    agree (to 2e-3, or 2 % for a different CPU's round-off)."""
    ds, importance = evaluation
    ds, importance = evaluate.subset(ds, importance, evaluate.images_per_class(name))
    committed = evaluate.load_results(name)
    assert committed["indices"] == ds.info["indices"]
    assert committed["targets"] == ds.info["targets"]
    picked = np.array([0, (len(ds) - 1) // evaluate.BATCH * evaluate.BATCH])
    sub = ds[picked]
    sub.info = dict(ds.info, targets=[ds.info["targets"][i] for i in picked])
    part = {key: [v[i] for i in picked] for key, v in importance.items()}
    again = evaluate.evaluate_method(name, shared_model, sub, part, batch=1,
                                     timed=False)["per_image"]
    assert list(again) == list(evaluate.METRICS)
    for key, values in again.items():
        for value, i in zip(values, picked):
            np.testing.assert_allclose(value, committed["per_image"][key][i], atol=2e-3,
                                       rtol=0.02, equal_nan=True,
                                       err_msg=f"{name}, image {i}: {key}")


def test_scorecard_rows_intervals_and_classes():
    if not COMMITTED:
        pytest.skip("no committed results")
    names = COMMITTED[:2]
    card = evaluate.scorecard(names)
    assert list(card.index) == names
    for key in evaluate.METRICS:
        m, lo, hi = (card[(key, s)] for s in ("mean", "low", "high"))
        ok = m.isna() | ((lo <= m) & (m <= hi))
        assert ok.all(), key
    per_class = evaluate.scorecard(names, by_class=True)
    assert set(per_class.index.get_level_values("class")) <= set(data.CLASS_NAMES)
    assert per_class[("n", "")].groupby(level="method").sum().tolist() == card[("n", "")].tolist()
    text = evaluate.format_scorecard(card)
    assert text.loc[names[0], "pointing"].count("[") == 1


def test_each_metric_is_declared_once_with_the_direction_the_book_gives():
    """The registry's metrics, in order, are the columns of the table in
    book/measuring.md, each better in the direction that table says."""
    from pathlib import Path
    table = (Path(__file__).resolve().parents[1] / "book" / "measuring.md").read_text()
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()
            if line.startswith("| ") and line.rstrip().endswith(("| higher |", "| lower |"))]
    better = {row[0]: row[-1] for row in rows if row[0] in evaluate.METRICS}
    assert list(better) == list(evaluate.METRICS)
    for name, metric in evaluate.METRICS.items():
        assert metric.name == name
        assert metric.lower_is_better == (better[name] == "lower"), name
    assert evaluate.LOWER_IS_BETTER == {n for n, b in better.items() if b == "lower"}


def test_results_files_say_how_they_were_made():
    for name in COMMITTED:
        r = json.loads((evaluate.RESULTS / f"{name}.json").read_text())
        assert r["command"] == f"python -m shared.evaluate {name}"
        assert {"date", "versions", "indices", "per_image", "cost"} <= set(r)


def test_unknown_method_is_refused():
    with pytest.raises(SystemExit):
        evaluate.main(["no_such_method"])


def test_paired_comparison_is_on_the_same_images_and_reads_each_metric_direction():
    name = next(n for n in COMMITTED if n not in metrics.CONTROLS
                and len(evaluate.load_results(n)["indices"])
                < len(evaluate.load_results("random")["indices"]))
    mine = evaluate.load_results(name)
    theirs = evaluate.on_images_of(name, "random")
    assert theirs["indices"] == mine["indices"] and theirs["labels"] == mine["labels"]
    frame = evaluate.paired_comparison(name, controls=("random",))
    assert list(frame.index) == list(evaluate.METRICS)
    for key, metric in evaluate.METRICS.items():
        d = mine["per_image"][key] - theirs["per_image"][key]
        assert frame.loc[key, ("random", "difference")] == pytest.approx(np.nanmean(d))
        low, high = frame.loc[key, ("random", "low")], frame.loc[key, ("random", "high")]
        up = "better" if not metric.lower_is_better else "worse"
        down = "worse" if not metric.lower_is_better else "better"
        expected = up if low > 0 else down if high < 0 else ""
        assert frame.loc[key, ("random", "verdict")] == expected
    grouped = evaluate.verdicts(frame, "random")
    assert sorted(sum(grouped.values(), [])) == sorted(evaluate.METRICS)
    by_class = evaluate.scorecard([name, "random"], by_class=True, images_of=name)
    n = by_class[("n", "")]
    assert n.loc[name].tolist() == n.loc["random"].tolist()
    with pytest.raises(ValueError, match="was not evaluated on"):
        evaluate.on_images_of("random", name)
