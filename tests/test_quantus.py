"""Three of the scorecard's measures against Quantus 0.5.3 (Hedström et al. 2023), the
evaluation library an XAI reviewer knows, on generated lesion images: relevance rank
accuracy, the pointing game and sparseness agree to rounding.

Quantus is given the inputs channels-first, (N, 3, H, W), with maps and masks as
(N, 1, H, W): with channels-last inputs it takes the image's width for its channels.
Where the two differ by design, the maps avoid it: Quantus breaks ties at the K-th value
by ``argsort`` order where ours shares them out, and counts a pointing hit if *any* tied
maximum is in the mask (the maps here have no ties: the noise is continuous), and adds
1e-7 to every pixel before its Gini index (the difference stays below 1e-5)."""

import numpy as np
import pytest

from shared import data, metrics

quantus = pytest.importorskip("quantus")


@pytest.fixture(scope="module")
def images_maps_masks():
    ds = data.generate([2, 2, 0, 2, 2, 2], seed=5, size=64)     # lesion classes only
    rng = np.random.default_rng(0)
    noise = rng.random(ds.masks.shape)
    # maps that find the lesions or not: noise alone on every other image, on the others
    # noise plus a pull towards the mask of varying strength
    pull = np.where(np.arange(len(ds)) % 2, rng.uniform(0.2, 1.2, len(ds)), 0)[:, None, None]
    maps = (noise + pull * ds.masks).astype(np.float32)
    return ds.images, maps, ds.masks


def _quantus(metric, images, maps, masks):
    x = np.transpose(images, (0, 3, 1, 2))                  # channels first
    return np.asarray(metric(model=None, x_batch=x, y_batch=np.zeros(len(x), int),
                             a_batch=maps[:, None], s_batch=masks[:, None].astype(float)),
                      np.float64)


def test_rank_accuracy_agrees_with_quantus(images_maps_masks):
    images, maps, masks = images_maps_masks
    ours = metrics.rank_accuracy(maps, masks)
    theirs = _quantus(quantus.RelevanceRankAccuracy(disable_warnings=True, abs=False,
                                                    normalise=False), images, maps, masks)
    assert np.ptp(ours) > 0.3                   # the maps span good and bad localisation
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_pointing_game_agrees_with_quantus(images_maps_masks):
    images, maps, masks = images_maps_masks
    ours = metrics.pointing_game(maps, masks)
    theirs = _quantus(quantus.PointingGame(disable_warnings=True, abs=False, normalise=False),
                      images, maps, masks)
    assert 0 < ours.mean() < 1                  # hits and misses both occur
    np.testing.assert_array_equal(ours, theirs)


def test_sparseness_agrees_with_quantus(images_maps_masks):
    images, maps, masks = images_maps_masks
    signed = maps - maps.mean(axis=(1, 2), keepdims=True)  # both take absolute values
    ours = metrics.sparseness(signed)
    theirs = _quantus(quantus.Sparseness(disable_warnings=True), images, signed, masks)
    assert np.ptp(ours) > 0.01
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
