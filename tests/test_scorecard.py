"""The scorecard: its ground truth, its measures on maps whose answers are known, and the
committed results (the same images for every entry, and a recomputation)."""

import itertools
import math
import runpy
import sys

import numpy as np
import pytest

from shared import metrics, scorecard
from toy_models import isolated_element, model_seeing


# ------------------------------------------------------------------ Shapley values

def brute_force_shapley(value, k):
    """The Shapley formula over every coalition (the reference)."""
    out = np.zeros(k)
    for i in range(k):
        others = [j for j in range(k) if j != i]
        for s in range(k):
            for c in itertools.combinations(others, s):
                w = math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k)
                out[i] += w * (value(frozenset(c) | {i}) - value(frozenset(c)))
    return out


def game_of(value):
    return lambda coalitions: np.array([value(c) for c in coalitions])


def interaction(c):
    """Players 0 and 1 only pay together; 2 adds alone; 3 is a dummy; 4 and 5 are
    substitutes (either one is enough); 6, 7, 8 pay by majority (any two of them), an
    interaction of three players, which antithetic pairs do not cancel exactly."""
    return (3.0 * ({0, 1} <= c) + 1.5 * (2 in c) + 2.0 * bool({4, 5} & c)
            + 1.2 * (len(c & {6, 7, 8}) >= 2))


def test_exact_shapley_values_match_the_formula_and_the_axioms():
    found = scorecard.shapley_values(game_of(interaction), 6, exact_up_to=6)
    assert found["exact"] and found["evaluations"] == 2 ** 6
    np.testing.assert_allclose(found["values"], brute_force_shapley(interaction, 6), atol=1e-12)
    np.testing.assert_allclose(found["values"], [1.5, 1.5, 1.5, 0.0, 1.0, 1.0], atol=1e-12)
    assert found["values"].sum() == pytest.approx(found["full"] - found["empty"])


def test_sampled_shapley_values_are_efficient_and_converge():
    k = 9
    exact = brute_force_shapley(interaction, k)
    few = scorecard.shapley_values(game_of(interaction), k, exact_up_to=0, permutations=8)
    many = scorecard.shapley_values(game_of(interaction), k, exact_up_to=0,
                                    permutations=400)
    for found in (few, many):
        assert not found["exact"]
        assert found["values"].sum() == pytest.approx(interaction(frozenset(range(k))))
    assert found["values"][3] == 0.0                     # a dummy never gets credit
    np.testing.assert_allclose(many["values"], exact, atol=4 * many["stderr"].max() + 1e-9)
    assert np.abs(many["values"] - exact).max() < np.abs(few["values"] - exact).max()
    assert many["split_half"] > 0.9
    # the mean value of a random coalition of each size, from the sampled orders
    exact_by_size = [np.mean([interaction(frozenset(c))
                              for c in itertools.combinations(range(k), s)])
                     for s in range(k + 1)]
    np.testing.assert_allclose(many["by_size"], exact_by_size, atol=0.15)


def test_antithetic_orders_come_in_pairs_and_bad_counts_are_refused():
    orders = scorecard.antithetic_permutations(5, 6, seed=0)
    np.testing.assert_array_equal(orders[1], orders[0][::-1])
    with pytest.raises(ValueError, match="even"):
        scorecard.shapley_values(game_of(interaction), 9, exact_up_to=0, permutations=3)


def test_removal_curve_and_its_normalised_area():
    value = {frozenset({0, 1}): 4.0, frozenset({1}): 1.0, frozenset(): 0.0}.__getitem__
    curve = scorecard.removal_curve(value, 2, [0, 1])
    np.testing.assert_array_equal(curve, [4.0, 1.0, 0.0])
    norm = scorecard.normalised(curve, 4.0, 0.0)
    assert scorecard.curve_area(norm) == pytest.approx((1 + 0.25) / 2 / 2 + 0.25 / 2 / 2)
    assert np.isnan(scorecard.normalised(curve, 0.5, 0.0)).all()     # gap below MIN_GAP
    with pytest.raises(ValueError, match="permutation"):
        scorecard.removal_curve(value, 2, [0, 0])


# ------------------------------------------------------- a scene with a known answer

@pytest.fixture(scope="module")
def seen():
    """A scene, a model that sees one of its elements only (its logits scaled so that
    the element moves the target by several logits), and the scene's ground truth."""
    ds, k, box = isolated_element()
    model = model_seeing(box)
    w, b = model.get_layer("logits").get_weights()
    model.get_layer("logits").set_weights([w * 1000, b])
    scene = ds.scene(0)
    target = 0
    truth = scorecard.scene_truth(model, scene, target)
    if truth["logit"] < truth["logit_empty"]:      # the element lowers class 0: explain 1
        target = 1
        truth = scorecard.scene_truth(model, scene, target)
    ds.info.update(indices=[0], targets=[target])
    truth.update(index=0, random_deletion=0.5, random_insertion=0.5,
                 chance={"pointing": 0.0})
    return ds, model, k, truth


def test_the_seen_element_gets_the_whole_gap_and_the_others_nothing(seen):
    ds, model, k, truth = seen
    players = truth["elements"]
    phi = np.array(truth["shapley"])
    at = players.index(k)
    gap = truth["logit"] - truth["logit_empty"]
    assert gap > scorecard.MIN_GAP
    assert phi[at] == pytest.approx(gap, rel=1e-4)
    assert np.abs(np.delete(phi, at)).max() < 1e-4 * gap
    assert truth["drop"][at] == pytest.approx(gap, rel=1e-4)
    assert truth["exact"] or truth["split_half"] > 0.9


def evidence(ds, model, truth, maps, **extra):
    return scorecard.Evidence(model, ds, ds.info["targets"], [truth], maps,
                              empty=scorecard.empty_scenes(ds), **extra)


def test_a_map_on_the_seen_element_beats_a_map_elsewhere_on_every_faithfulness_column(seen):
    ds, model, k, truth = seen
    on_it = ds.scene(0).footprint(k)[None].astype(np.float32)
    elsewhere = ((ds.instances > 0) & ~on_it.astype(bool)).astype(np.float32)
    good = evidence(ds, model, truth, on_it)
    bad = evidence(ds, model, truth, elsewhere)
    for key in ("deletion", "insertion", "rerender_morf", "rerender_lerf"):
        g, b = (scorecard.METRICS[key].compute(ev)[0] for ev in (good, bad))
        assert g > b, key
    # most relevant first, the seen element goes first: the curve drops to 0 at once
    assert good.removal_areas["morf"][0] == pytest.approx(0.5 / len(truth["elements"]),
                                                         abs=1e-3)
    assert scorecard.METRICS["shapley_rank"].compute(good)[0] > 0.5


def test_a_map_equal_to_the_true_importance_scores_best(seen):
    ds, model, k, truth = seen
    oracle = scorecard.control_maps("oracle", ds, [truth])
    others = {name: scorecard.control_maps(name, ds, [truth])
              for name in ("random", "elements", "lesion_mask")}
    best = evidence(ds, model, truth, oracle)
    assert scorecard.METRICS["shapley_rank"].compute(best)[0] == pytest.approx(1.0)
    for name, maps in others.items():
        ev = evidence(ds, model, truth, maps)
        for key in ("shapley_rank", "rerender_morf"):
            ours = scorecard.METRICS[key].compute(best)[0]
            theirs = scorecard.METRICS[key].compute(ev)[0]
            assert np.isnan(theirs) or ours >= theirs, (name, key)


def test_a_constant_map_scores_chance_on_localisation(seen):
    ds, model, k, truth = seen
    ev = evidence(ds, model, truth, np.full(ds.masks.shape, 0.3, np.float32))
    area = ds.masks.mean()
    assert scorecard.METRICS["pointing"].compute(ev)[0] == pytest.approx(area)
    assert scorecard.METRICS["rank_accuracy"].compute(ev)[0] == pytest.approx(area)
    value = scorecard.METRICS["lesion_vs_distractor"].compute(ev)[0]
    assert np.isnan(value) or value == pytest.approx(0.5)
    assert scorecard.METRICS["sparseness"].compute(ev)[0] == pytest.approx(0.0)


def test_a_map_that_ignores_the_weights_fails_randomization(seen):
    ds, model, k, truth = seen
    out = scorecard.evaluate_batch(
        scorecard.entries()["redness"], model, ds, ds.info["targets"], [truth],
        sanity_positions=[0], randomized=scorecard.randomized_models(model))["per_image"]
    for key in ("randomized_top", "randomized_full", "robustness"):
        assert out[key][0] == pytest.approx(1.0, abs=0.05), key
    assert np.isnan(out["seed_agreement"][0])          # a control has no seed


def test_a_map_that_reads_the_weights_passes_randomization():
    """The input gradient of a linear model is its weight column: re-initialising the
    layer leaves no correlation (a signed map may flip sign: |rho| is what counts)."""
    from shared import methods
    from toy_models import linear_model, rand_images
    model = linear_model()
    images = rand_images(4, 8)
    copies = scorecard.randomized_models(model)
    maps = methods.input_gradients(model, images, 0)[..., 0]
    again = {scope: methods.input_gradients(copies[(scope, 0)], images, 0)[..., 0]
             for scope in ("top", "full")}
    ev = scorecard.Evidence(model, None, [0] * 4, [], maps, empty=None, randomized=again)
    for key in ("randomized_top", "randomized_full"):
        assert scorecard.METRICS[key].compute(ev).max() < 0.35, key
    assert (scorecard.METRICS["randomized_top"].compute(ev) >= 0).all()


# -------------------------------------------------------------- the measures

def test_pointing_with_ties_shares_a_plateau_and_first_takes_its_corner():
    masks = np.zeros((1, 4, 4), bool)
    masks[0, 2:, :] = True                            # the lower half
    plateau = np.zeros((1, 4, 4))
    plateau[0, 1:3, :] = 1.0                          # rows 1-2: half on the mask
    assert metrics.pointing_game(plateau, masks, ties="share")[0] == 0.5
    assert metrics.pointing_game(plateau, masks, ties="first")[0] == 0.0
    constant = np.ones((1, 4, 4))
    assert metrics.pointing_game(constant, masks, ties="share")[0] == pytest.approx(
        metrics.random_pointing_baseline(masks)[0])
    with pytest.raises(ValueError, match="ties"):
        metrics.pointing_game(plateau, masks, ties="last")


def test_rank_accuracy_ignores_offset_and_scale_and_shares_ties():
    rng = np.random.default_rng(0)
    masks = np.zeros((1, 8, 8), bool)
    masks[0, :2, :] = True                            # 16 pixels
    perfect = masks.astype(float) + rng.uniform(0, 0.1, (1, 8, 8))
    assert metrics.rank_accuracy(perfect, masks)[0] == 1.0
    assert metrics.rank_accuracy(3 * perfect + 7, masks)[0] == 1.0
    assert metrics.rank_accuracy(-perfect, masks)[0] == 0.0
    half = np.zeros((1, 8, 8))
    half[0, :4, :] = 1.0                              # 32 tied pixels, 16 on the mask
    assert metrics.rank_accuracy(half, masks)[0] == pytest.approx(0.5)
    assert np.isnan(metrics.rank_accuracy(half, np.zeros_like(masks))[0])


def test_outranks_distractors_is_a_probability_with_chance_one_half():
    lesion = np.zeros((1, 4, 4), bool)
    lesion[0, 0] = True
    distractor = np.zeros((1, 4, 4), bool)
    distractor[0, 3] = True
    m = np.zeros((1, 4, 4))
    m[0, 0] = 2.0
    assert metrics.outranks_distractors(m, lesion, distractor)[0] == 1.0
    assert metrics.outranks_distractors(-m, lesion, distractor)[0] == 0.0
    assert metrics.outranks_distractors(np.ones((1, 4, 4)), lesion, distractor)[0] == 0.5
    assert np.isnan(metrics.outranks_distractors(m, lesion, np.zeros_like(lesion))[0])


def test_sparseness_is_the_gini_index():
    one_hot = np.zeros((1, 10, 10))
    one_hot[0, 3, 3] = -5.0
    assert metrics.sparseness(one_hot)[0] == pytest.approx(99 / 100)
    assert metrics.sparseness(np.ones((1, 10, 10)))[0] == pytest.approx(0.0)
    v = np.random.default_rng(1).exponential(size=(1, 10, 10))
    x = np.sort(np.abs(v).ravel())
    mean_difference = np.abs(x[:, None] - x[None, :]).mean()
    assert metrics.sparseness(v)[0] == pytest.approx(mean_difference / (2 * x.mean()))


def test_format_intervals_writes_each_column_as_mean_and_interval():
    import pandas as pd
    frame = pd.DataFrame({("share", "mean"): [0.25, np.nan], ("share", "low"): [0.125, np.nan],
                          ("share", "high"): [0.375, np.nan], ("share", "n"): [8, 0],
                          ("gain", "mean"): [6.0, 0.5], ("gain", "low"): [5.75, 0.25],
                          ("gain", "high"): [6.25, 0.75], ("gain", "n"): [8, 8]},
                         index=["shortcut", "default"])
    out = scorecard.format_intervals(frame, digits=3)
    assert list(out.columns) == ["share", "gain"]
    assert out.loc["shortcut", "share"] == "0.250 [0.125, 0.375]"
    assert out.loc["default", "share"] == "n/a"
    assert out.loc["default", "gain"] == "0.500 [0.250, 0.750]"


def test_wilson_interval_and_holm_adjustment_against_scipy_and_by_hand():
    from scipy import stats
    for hits, n in [(0, 20), (7, 20), (20, 20), (130, 200)]:
        ref = stats.binomtest(hits, n).proportion_ci(method="wilson")
        np.testing.assert_allclose(metrics.wilson_ci(hits, n), (ref.low, ref.high), atol=1e-9)
    np.testing.assert_allclose(metrics.holm([0.01, 0.04, 0.03, np.nan, 0.5]),
                               [0.04, 0.09, 0.09, np.nan, 0.5])


def test_deletion_into_a_given_fill_ends_at_the_fill():
    from toy_models import linear_model, rand_images
    model = linear_model()
    images, fill = rand_images(2, 8), rand_images(2, 8, seed=1)
    maps = rand_images(2, 8, seed=2)[..., 0]
    from shared import methods
    curves = metrics.perturbation_curves(model, images, maps, [0, 1], steps=4, score="logit",
                                         fill=fill)
    np.testing.assert_allclose(curves[:, -1], [methods.scores(model, fill[i:i + 1], c,
                                                              score="logit")[0]
                                               for i, c in enumerate([0, 1])], rtol=1e-5)
    up = metrics.perturbation_curves(model, images, maps, [0, 1], steps=4, score="logit",
                                     fill=fill, mode="insertion")
    np.testing.assert_allclose(up[:, 0], curves[:, -1], rtol=1e-5)
    with pytest.raises(ValueError, match="fill must have"):
        metrics.perturbation_curves(model, images, maps, [0, 1], fill=fill[:1])


def test_each_metric_is_declared_once_with_a_group_and_a_chance_level():
    assert list(scorecard.METRICS) == [m.name for m in scorecard.METRICS.values()]
    groups = {m.group for m in scorecard.METRICS.values()}
    assert groups == {"localisation", "faithfulness", "ground truth", "sanity", "complexity"}
    for m in scorecard.METRICS.values():
        assert m.chance is None or m.chance == "area" or isinstance(m.chance, float)


def test_unknown_entries_and_metrics_are_refused(monkeypatch, capsys):
    with pytest.raises(ValueError, match="unknown control"):
        scorecard.control_maps("nothing", None, [])
    with pytest.raises(ValueError, match="unknown scorecard entries"):
        scorecard.scorecard(["no_such_method"])
    with pytest.raises(ValueError, match="unknown metrics"):
        scorecard.scorecard([], metrics_=["no_such_metric"])
    # the command itself, as `python -m shared.scorecard no_such_method` runs it
    monkeypatch.setattr(sys, "argv", ["python -m shared.scorecard", "no_such_method"])
    with pytest.raises(SystemExit) as refused:
        runpy.run_module("shared.scorecard", run_name="__main__")
    assert refused.value.code == 2 and "unknown ['no_such_method']" in capsys.readouterr().err


# ------------------------------------------------------------ the committed results

COMMITTED = scorecard.available()


def test_every_committed_entry_is_on_the_same_images_as_the_truth():
    truth = scorecard.load("truth")
    n = len(truth["indices"])
    assert n == 5 * scorecard.PER_CLASS and len(truth["images"]) == n
    for name in COMMITTED:
        r = scorecard.load(name)
        assert r["indices"] == truth["indices"] and r["targets"] == truth["targets"], name
        assert r["command"] == f"python -m shared.scorecard {name}"
        assert {"date", "versions", "per_image", "curves"} <= set(r), name
        assert list(r["per_image"]) == list(scorecard.METRICS), name
        for key, values in r["per_image"].items():
            assert len(values) == n, (name, key)
        sanity = np.isfinite(r["per_image"]["randomized_top"])
        assert sanity.sum() == 5 * scorecard.SANITY_PER_CLASS, name


def test_scorecard_rows_carry_intervals_and_the_paired_tests_read_directions():
    if len(COMMITTED) < 2:
        pytest.skip("fewer than two committed entries")
    card = scorecard.scorecard(COMMITTED)
    for key in scorecard.METRICS:
        m, lo, hi = (card[(key, s)] for s in ("mean", "low", "high"))
        assert (m.isna() | ((lo <= m + 1e-12) & (m <= hi + 1e-12))).all(), key
    assert (card[("randomized_top", "n")] <= 5 * scorecard.SANITY_PER_CLASS).all()
    by_class = scorecard.scorecard(COMMITTED[:1], by_class=True)
    assert by_class[("pointing", "n")].sum() == card.loc[COMMITTED[0], ("pointing", "n")]
    tests = scorecard.versus_best(COMMITTED)
    for key, rows in tests.groupby("metric"):
        best = rows[rows.entry == rows.best.iloc[0]]
        assert len(best) == 1 and best.tied.iloc[0] and best.p_holm.iloc[0] == 1.0
        if key in ("pointing", "rank_accuracy", "deletion", "sparseness"):  # NaN alike
            up = scorecard.METRICS[key].higher_is_better
            d = rows.difference
            assert ((d <= 1e-12) if up else (d >= -1e-12)).all(), key
    long = scorecard.per_image(COMMITTED[:2])
    assert len(long) == 2 * 5 * scorecard.PER_CLASS
    assert list(scorecard.chance().index) == list(scorecard.METRICS)


@pytest.fixture(scope="module")
def committed_set(shared_model):
    return scorecard.evaluation_set(shared_model), scorecard.load("truth")


@pytest.fixture(scope="module")
def randomized(shared_model):
    """The randomized copies, made once for every recomputation below."""
    return scorecard.randomized_models(shared_model)


def test_committed_truth_agrees_with_a_recomputation(shared_model, committed_set):
    """The ground truth of the image with the fewest elements among the first ten,
    redrawn and rescored (2e-3 logits, or 2 % for another CPU's round-off)."""
    ds, truth = committed_set
    images = truth["images"]
    i = min(range(10), key=lambda j: len(images[j]["elements"]))
    again = scorecard.scene_truth(shared_model, ds.scene(i), ds.info["targets"][i])
    for key in ("shapley", "drop", "logit", "logit_empty", "oracle_morf", "oracle_lerf",
                "random_order"):
        np.testing.assert_allclose(again[key], images[i][key], atol=2e-3, rtol=0.02,
                                   err_msg=key)
    assert again["elements"] == images[i]["elements"] and again["area"] == images[i]["area"]


@pytest.mark.parametrize("name", [n for n in ("gradcam", "smoothgrad", "random", "oracle")
                                  if n in COMMITTED])
def test_committed_results_agree_with_a_recomputation(shared_model, committed_set,
                                                      randomized, name):
    """The first two images of the first batch (sanity set: draws 0 and 1; a seeded
    method draws their noise at the same batch positions) scored again: every committed
    value must agree (2e-3, or 2 % for another CPU's round-off)."""
    ds, truth = committed_set
    committed = scorecard.load(name)
    rows = np.arange(2)
    again = scorecard.evaluate_batch(
        scorecard.entries()[name], shared_model, ds[rows],
        np.asarray(ds.info["targets"])[rows], [truth["images"][i] for i in rows],
        sanity_positions=[0, 1], randomized=randomized)
    for key, values in again["per_image"].items():
        np.testing.assert_allclose(values, committed["per_image"][key][rows], atol=2e-3,
                                   rtol=0.02, equal_nan=True, err_msg=f"{name}: {key}")


def test_comparison_is_paired_and_reads_each_metric_direction():
    if not {"random", "oracle"} <= set(COMMITTED):
        pytest.skip("random and oracle are not committed")
    frame = scorecard.compare("oracle", ("random",))
    mine, theirs = (scorecard.load(n)["per_image"] for n in ("oracle", "random"))
    for key, metric in scorecard.METRICS.items():
        d = mine[key] - theirs[key]
        if not np.isfinite(d).any():
            continue
        assert frame.loc[key, ("random", "difference")] == pytest.approx(np.nanmean(d))
        low, high = frame.loc[key, ("random", "low")], frame.loc[key, ("random", "high")]
        up, down = ("better", "worse") if metric.higher_is_better else ("worse", "better")
        assert frame.loc[key, ("random", "verdict")] == (up if low > 0 else down if high < 0
                                                          else "")
    # the oracle knows the answer: better than a random map on the ground-truth columns
    assert frame.loc["shapley_rank", ("random", "verdict")] == "better"
    assert frame.loc["rerender_morf", ("random", "verdict")] == "better"
    text = scorecard.format_comparison(frame)
    assert list(text.columns) == ["oracle", "minus random", "vs random"]
    table = scorecard.format_scorecard(scorecard.scorecard(["oracle", "random"]),
                                       with_chance=True)
    assert table.loc["chance", "lesion_vs_distractor"] == "0.50"


def test_the_measuring_page_declares_each_column_as_the_registry_does():
    """The table of book/chapters/measuring.md lists the registry's metrics in order,
    each with its group, chance level and direction."""
    from pathlib import Path
    page = Path(__file__).resolve().parents[1] / "book" / "chapters" / "measuring.md"
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in page.read_text().splitlines()
            if line.startswith("| ") and line.rstrip().endswith(("| higher |", "| lower |"))]
    assert [r[0] for r in rows] == list(scorecard.METRICS)
    for name, group, _, chance, better in rows:
        m = scorecard.METRICS[name]
        assert m.group == group, name
        assert m.higher_is_better == (better == "higher"), name
        expected = "" if m.chance is None else "area" if m.chance == "area" else f"{m.chance:g}"
        assert chance == expected, name


def test_measure_scores_maps_of_ones_own_like_the_committed_entry(shared_model):
    """The lesion-mask control's committed values are what measure() gives for the
    masks as maps on the first images (no model is needed for the map itself)."""
    ds = scorecard.evaluation_set(shared_model, per_class=1)
    values = scorecard.measure(shared_model, ds, ds.masks.astype(np.float32),
                               ["pointing", "rank_accuracy", "shapley_rank", "deletion"])
    committed = scorecard.load("lesion_mask")
    at = [committed["indices"].index(k) for k in ds.info["indices"]]
    for key, v in values.items():
        np.testing.assert_allclose(v, committed["per_image"][key][at], atol=2e-3, rtol=0.02,
                                   equal_nan=True, err_msg=key)
    with pytest.raises(ValueError, match="maps must be"):
        scorecard.measure(shared_model, ds, ds.masks[:1])
    ds.info["indices"] = [k + 60 for k in ds.info["indices"]]   # beyond the first 40
    with pytest.raises(ValueError, match="no committed ground truth"):
        scorecard.truth_of(ds)


def test_mean_curves_run_from_the_image_to_the_bare_skin():
    if "random" not in COMMITTED:
        pytest.skip("random is not committed")
    frame = scorecard.mean_curves(["random"], "deletion")
    assert set(frame["class"]) == {"Chickenpox", "Cowpox", "Measles", "Monkeypox", "Smallpox"}
    start = frame[frame.share == 0]
    end = frame[frame.share == 1]
    np.testing.assert_allclose(start["mean"], 1.0, atol=1e-3)     # the image itself
    np.testing.assert_allclose(end["mean"], 0.0, atol=1e-3)       # the bare skin
    assert (frame.low <= frame["mean"] + 1e-9).all() and (frame["mean"] <= frame.high + 1e-9).all()
    with pytest.raises(ValueError, match="mode"):
        scorecard.mean_curves(["random"], "sideways")


def test_a_stopped_run_resumes_from_its_partial_file(seen, tmp_path):
    """The finished batches are read back, not recomputed (the second run has no model
    to compute with), and the time spent is kept."""
    ds, model, k, truth = seen
    partial = tmp_path / "redness.partial.json"
    entry = scorecard.entries()["redness"]
    first = scorecard.evaluate_entry(entry, model, ds, [truth], partial=partial, timed=False)
    again = scorecard.evaluate_entry(entry, None, ds, [truth], partial=partial, timed=False)
    assert again["per_image"].keys() == first["per_image"].keys()
    for key, values in first["per_image"].items():
        np.testing.assert_allclose(again["per_image"][key], values, rtol=1e-5, equal_nan=True)
    assert first["seconds"] > 0 and again["seconds"] == pytest.approx(first["seconds"], rel=1e-5)


def test_mean_ranks_are_friedman_ranks_with_demsars_critical_difference():
    from scipy import stats
    methods = [n for n in COMMITTED if not scorecard.entries()[n].is_control]
    if len(methods) < 3:
        pytest.skip("fewer than three committed methods")
    found = scorecard.mean_ranks("pointing_7px", methods)
    k, n = len(methods), found["n"]
    assert sum(found["ranks"].values()) == pytest.approx(k * (k + 1) / 2)
    values = np.stack([scorecard.load(m)["per_image"]["pointing_7px"] for m in methods], 1)
    values = values[np.isfinite(values).all(axis=1)]
    assert len(values) == n
    assert found["friedman_p"] == pytest.approx(stats.friedmanchisquare(*values.T).pvalue)
    q = {3: 2.343, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949, 8: 3.031, 9: 3.102, 10: 3.164}
    if k in q:                                     # Demsar (2006), Table 5(a)
        assert found["cd"] == pytest.approx(q[k] * np.sqrt(k * (k + 1) / (6 * n)), rel=1e-3)
    best = min(found["ranks"], key=found["ranks"].get)
    means = {m: np.nanmean(scorecard.load(m)["per_image"]["pointing_7px"]) for m in methods}
    assert means[best] == max(means.values())


def test_the_figures_draw_from_the_committed_results():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    methods = [n for n in COMMITTED if not scorecard.entries()[n].is_control]
    if len(methods) < 3 or "random" not in COMMITTED:
        pytest.skip("too few committed entries")
    ax = scorecard.forest("rank_accuracy", methods + ["random", "redness"])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    means = {m: np.nanmean(scorecard.load(m)["per_image"]["rank_accuracy"]) for m in methods}
    assert labels == sorted(methods, key=means.get)           # the best on top
    scorecard.critical_difference("pointing", methods)
    scorecard.scatter("passes", "deletion", methods, log_x=True)
    ax = scorecard.scatter("rank_accuracy", "rerender_morf", methods, size="randomized_top")
    from matplotlib.collections import PathCollection
    points = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets())]
    sizes = points[0].get_sizes()                    # one point per method
    rho = [np.nanmean(scorecard.load(m)["per_image"]["randomized_top"]) for m in methods]
    assert np.argmax(sizes) == np.nanargmax(rho) and len(sizes) == len(methods)
    fig = scorecard.class_curves(methods[:2], "insertion")
    assert len(fig.axes) == 5
    plt.close("all")
