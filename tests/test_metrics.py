"""The metrics, on maps built by hand and on models whose evidence is known."""

import numpy as np
import pytest

from shared import methods, metrics, randomization
from toy_models import rand_images, region_mask, region_model


def _masks(n=3):
    masks = np.zeros((n, 20, 20), bool)
    masks[:, 5:8, 5:8] = True
    return masks


# ----------------------------------------------------------------- localisation

def test_pointing_game_hits_misses_and_tolerance():
    masks = _masks()
    maps = np.zeros((3, 20, 20))
    maps[0, 6, 6] = 1        # inside
    maps[1, 15, 15] = 1      # far outside
    maps[2, 6, 11] = 1       # 4 px right of the lesion
    assert metrics.pointing_game(maps, masks).tolist() == [1, 0, 0]
    assert metrics.pointing_game(maps, masks, tolerance=4).tolist() == [1, 0, 1]
    np.testing.assert_allclose(metrics.peak_distances(maps, masks), [0, np.hypot(8, 8), 4])


def test_a_perfect_map_scores_one_and_a_constant_map_scores_chance():
    masks = _masks()
    perfect = masks.astype(float)
    assert metrics.pointing_game(perfect, masks).tolist() == [1, 1, 1]
    assert metrics.energy(perfect, masks).tolist() == [1, 1, 1]
    constant = np.ones((3, 20, 20))
    np.testing.assert_allclose(metrics.pointing_game(constant, masks),
                               metrics.random_pointing_baseline(masks))
    assert metrics.pointing_game(constant, masks, ties="first").tolist() == [0, 0, 0]
    np.testing.assert_allclose(metrics.energy(constant, masks), 9 / 400)
    assert metrics.energy(-perfect, masks).tolist() == [0, 0, 0]   # nothing positive


def test_energy_counts_only_positive_attribution():
    masks = _masks(1)
    m = np.zeros((1, 20, 20))
    m[0, 6, 6], m[0, 0, 0], m[0, 1, 1] = 3.0, 1.0, -5.0
    assert metrics.energy(m, masks)[0] == pytest.approx(0.75)


def test_empty_masks_give_nan_and_shapes_are_checked():
    masks = _masks()
    masks[1] = False
    maps = np.random.default_rng(0).random((3, 20, 20))
    for f in (metrics.pointing_game, metrics.energy, metrics.peak_distances):
        values = f(maps, masks)
        assert np.isnan(values[1]) and not np.isnan(values[[0, 2]]).any(), f.__name__
    assert np.isnan(metrics.random_pointing_baseline(masks)[1])
    with pytest.raises(ValueError, match="equal shapes"):
        metrics.pointing_game(np.zeros((3, 10, 10)), _masks())
    with pytest.raises(ValueError, match="boolean"):
        metrics.energy(maps, _masks().astype(int))
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        metrics.energy(maps[0], _masks()[0])


def test_random_baseline_is_the_mask_area_and_matches_random_maps():
    masks = _masks(1)
    assert metrics.random_pointing_baseline(masks)[0] == pytest.approx(9 / 400)
    many = np.repeat(masks, 4000, axis=0)
    hits = metrics.pointing_game(np.random.default_rng(0).random(many.shape), many, tolerance=2)
    assert hits.mean() == pytest.approx(metrics.random_pointing_baseline(masks, 2)[0], abs=0.015)


def test_border_peaks():
    maps = np.zeros((2, 20, 20))
    maps[0, 0, 10] = 1
    maps[1, 10, 10] = 1
    assert metrics.peaks_at_border(maps).tolist() == [1, 0]


# ----------------------------------------------------------------- faithfulness

@pytest.fixture(scope="module")
def region():
    return region_model()


def test_deletion_and_insertion_rank_true_random_and_reversed_orders(region):
    """On the model that sees only one region: deleting that region first destroys the
    score fastest (lowest deletion AUC), inserting it first restores it fastest (highest
    insertion AUC); the reversed order does worse than a random one."""
    inside = region_mask().astype(float)
    x = rand_images(4, 32, seed=11) * 0.4
    x[:, inside > 0] = 1.0                         # the evidence: a bright region
    noise = np.random.default_rng(1).random((4, 32, 32)) * 0.1
    true = inside[None] + noise                    # the region first, in a random order
    reverse = -true
    random = metrics.random_map(x, seed=3)
    options = dict(steps=32, score="logit")
    d = {name: metrics.deletion(region, x, m, 0, **options)
         for name, m in [("true", true), ("random", random), ("reverse", reverse)]}
    i = {name: metrics.insertion(region, x, m, 0, **options)
         for name, m in [("true", true), ("random", random), ("reverse", reverse)]}
    assert (d["true"] < d["random"]).all() and (d["random"] < d["reverse"]).all()
    assert (i["true"] > i["random"]).all() and (i["random"] > i["reverse"]).all()


def test_perturbation_curves_start_and_end_where_they_should(region):
    x = rand_images(2, 32, seed=12)
    m = metrics.random_map(x)
    logits = methods.scores(region, x, 0)
    dele = metrics.perturbation_curves(region, x, m, 0, steps=8, score="logit")
    ins = metrics.perturbation_curves(region, x, m, 0, mode="insertion", steps=8, score="logit")
    assert dele.shape == ins.shape == (2, 9)
    np.testing.assert_allclose(dele[:, 0], logits, rtol=1e-5)        # nothing deleted yet
    np.testing.assert_allclose(ins[:, -1], logits, rtol=1e-5)        # everything put back
    grey = methods.scores(region, np.full_like(x, metrics.DELETION_FILL), 0)
    np.testing.assert_allclose(dele[:, -1], grey, rtol=1e-5)
    np.testing.assert_allclose(ins[:, 0], methods.scores(region, metrics.blurred(x), 0), rtol=1e-5)
    assert metrics.area_under_curve(np.ones((1, 5)))[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="mode must be"):
        metrics.perturbation_curves(region, x, m, 0, mode="erase")
    with pytest.raises(ValueError, match=r"maps must be \(N, H, W\)"):
        metrics.deletion(region, x, m[:, :16], 0)


def test_pixel_order_breaks_ties_at_random_not_in_raster_order():
    order = metrics.pixel_order(np.zeros((1, 20, 20)))[0]
    assert sorted(order) == list(range(400))
    assert abs(np.corrcoef(order[:200], np.arange(200))[0, 1]) < 0.3


# ----------------------------------------------------------------- sanity

def test_rank_correlation():
    rng = np.random.default_rng(0)
    a = rng.random((2, 10, 10))
    np.testing.assert_allclose(metrics.rank_correlation(a, a ** 3), 1.0)    # monotone
    np.testing.assert_allclose(metrics.rank_correlation(a, -a), -1.0)
    assert (np.abs(metrics.rank_correlation(a, rng.random((2, 10, 10)))) < 0.3).all()
    assert metrics.rank_correlation(a, np.ones((2, 10, 10))).tolist() == [0.0, 0.0]


def test_randomizing_every_layer_drives_a_gradient_map_below_02(shared_model, test_images):
    """With every weight random, the signed gradient and Integrated Gradients are
    unrelated to the trained model's maps. Grad-CAM with only the top layer random is a
    random recombination of the same feature maps: its correlation with the trained map
    can stay high in either sign (measured about +-0.85 on these images), but it must
    not be the trained map (a Grad-CAM that ignored the class weights would be)."""
    x = test_images.images[::3][:3]
    blocks = randomization.cascade_blocks(shared_model)
    signed = metrics.randomization_correlation("saliency", shared_model, x, blocks=blocks,
                                               reduce="signed_sum")
    ig = metrics.randomization_correlation("integrated_gradients", shared_model, x,
                                           blocks=blocks, steps=8)
    assert (np.abs(signed) < 0.2).all() and (np.abs(ig) < 0.2).all(), (signed, ig)
    top = metrics.randomization_correlation("gradcam", shared_model, x)   # logits only
    assert (top < 0.95).all(), top


def test_cascade_steps_follow_the_blocks(shared_model, test_images):
    x = test_images.images[:2]
    out = metrics.cascading_randomization("gradcam", shared_model, x,
                                          blocks=["logits", "block14"])
    assert list(out) == ["logits", "block14"] and all(v.shape == (2,) for v in out.values())
    with pytest.raises(ValueError, match="unknown method 'lrp'"):
        metrics.cascading_randomization("lrp", shared_model, x)


# ----------------------------------------------------------------- controls, intervals

def test_controls_need_no_model():
    x = rand_images(2, 8)
    assert metrics.random_map(x).shape == (2, 8, 8)
    np.testing.assert_allclose(metrics.redness_map(x), x[..., 0] - x[..., 1])
    np.testing.assert_array_equal(metrics.random_map(x, 1), metrics.random_map(x, 1))


def test_bootstrap_interval():
    v = np.r_[np.zeros(50), np.ones(50), np.nan]
    mean, lo, hi, n = metrics.bootstrap_ci(v)
    assert n == 100 and mean == 0.5 and lo < 0.5 < hi
    assert 0.38 < lo < 0.45 and 0.55 < hi < 0.62          # about +- 1.96 * 0.05
    assert metrics.bootstrap_ci([1.0, 1.0, 1.0])[:3] == (1.0, 1.0, 1.0)
    assert np.isnan(metrics.bootstrap_ci([np.nan])[0])
