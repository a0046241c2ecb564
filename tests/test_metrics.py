"""The pointing game and its random baseline, checked on maps built by hand."""

import numpy as np
import pytest

from shared import metrics


def _masks():
    masks = np.zeros((3, 20, 20), bool)
    masks[:, 5:8, 5:8] = True
    return masks


def test_pointing_game_hits_and_misses():
    masks = _masks()
    maps = np.zeros((3, 20, 20))
    maps[0, 6, 6] = 1        # inside
    maps[1, 15, 15] = 1      # far outside
    maps[2, 6, 11] = 1       # 4 px right of the lesion
    assert metrics.pointing_game(maps, masks).tolist() == [True, False, False]
    assert metrics.pointing_game(maps, masks, tolerance=4).tolist() == [True, False, True]
    np.testing.assert_allclose(metrics.peak_distances(maps, masks), [0, np.hypot(8, 8), 4])


def test_constant_map_is_not_rewarded():
    maps = np.ones((3, 20, 20))
    assert not metrics.pointing_game(maps, _masks()).any()


def test_random_baseline_is_the_mask_area_and_matches_random_maps():
    masks = _masks()
    assert metrics.random_pointing_baseline(masks) == pytest.approx(9 / 400)
    rng = np.random.default_rng(0)
    many = np.repeat(masks[:1], 4000, axis=0)
    hits = metrics.pointing_game(rng.random(many.shape), many, tolerance=2)
    assert hits.mean() == pytest.approx(metrics.random_pointing_baseline(many[:1], 2), abs=0.015)


def test_border_peaks():
    maps = np.zeros((2, 20, 20))
    maps[0, 0, 10] = 1
    maps[1, 10, 10] = 1
    assert metrics.peaks_at_border(maps).tolist() == [True, False]


def test_empty_masks_and_shape_mismatch_are_errors():
    masks = _masks()
    masks[1] = False
    with pytest.raises(ValueError, match=r"images \[1\] have an empty mask"):
        metrics.pointing_game(np.zeros((3, 20, 20)), masks)
    with pytest.raises(ValueError, match="equal shapes"):
        metrics.pointing_game(np.zeros((3, 10, 10)), _masks())


def test_rank_correlation():
    rng = np.random.default_rng(0)
    a = rng.random((10, 10))
    assert metrics.rank_correlation(a, a ** 3) == pytest.approx(1.0)   # monotone: same ranks
    assert metrics.rank_correlation(a, -a) == pytest.approx(-1.0)
    assert abs(metrics.rank_correlation(a, rng.random((10, 10)))) < 0.3
    assert metrics.rank_correlation(a, np.ones((10, 10))) == 0.0
