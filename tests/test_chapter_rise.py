"""What the RISE chapter (book/chapters/rise.md) states and no longer re-checks in its
cells: a loop written from the formula (the chapter's exercise 3: the authors' masks from
scikit-image's resize, one random stream per mask) equals ``methods.rise`` on a toy model
and on the shared checkpoint; the map of the second half of a call's masks is twice the
map minus the map of the first half (the chapter's noise check); the masks' coverage,
which is the map when the score never changes, has the noise exercise 1 derives. (The
masks against the authors' ``generate_masks``, the map of a constant score, the seed and
the batching are in test_methods_perturbation.py.) The structure the chapter must keep
is checked without a model."""

from pathlib import Path

import numpy as np
import pytest
from skimage.transform import resize

from shared import methods
from shared.methods import MaskSampler
from shared.models import predict
from toy_models import rand_images, region_model

CHAPTER = Path(__file__).resolve().parents[1] / "book" / "chapters" / "rise.md"


def rise_from_scratch(model, image, target, start, stop, s=7, p=0.5, seed=0):
    """RISE of one image over the masks start..stop-1, from the formula: the chapter's
    exercise 3 (there with start = 0)."""
    size = image.shape[0]
    cell = int(np.ceil(size / s))
    masks = []
    for i in range(start, stop):
        rng = np.random.default_rng([seed, i])
        grid = rng.random((s, s)) < p
        dy, dx = rng.integers(0, cell), rng.integers(0, cell)
        up = resize(grid.astype(float), ((s + 1) * cell,) * 2, order=1,
                    mode="reflect", anti_aliasing=False)
        masks.append(up[dy:dy + size, dx:dx + size])
    masks = np.array(masks, np.float32)
    f = methods.scores(model, image * masks[..., None], target, score="probability")
    return np.tensordot(f, masks, axes=1) / ((stop - start) * p)


@pytest.fixture(scope="module")
def region():
    return region_model()


@pytest.fixture(scope="module")
def x():
    return rand_images(3, 32, seed=4)


@pytest.mark.parametrize("s, p", [(7, 0.5), (4, 0.3)])
def test_rise_from_scratch_matches_the_package_on_a_toy_model(region, x, s, p):
    for target in (4, 0):                  # the planted class and another one
        ours = methods.rise(region, x, target, n_samples=100, cell=s, p_keep=p)
        for image, m in zip(x, ours):
            scratch = rise_from_scratch(region, image, target, 0, 100, s=s, p=p)
            np.testing.assert_allclose(scratch, m, atol=1e-5 * np.abs(m).max() + 1e-7)
    assert not np.allclose(methods.rise(region, x, 4, n_samples=100),
                           methods.rise(region, x, 0, n_samples=100))


def test_the_second_half_of_a_map_is_twice_the_map_minus_the_first(region, x):
    """Mask i depends only on (seed, i): the chapter gets the map of masks 250..499 as
    2 S_500 - S_250, for the cost of the 250-mask call."""
    whole = methods.rise(region, x, 4, n_samples=200)
    first = methods.rise(region, x, 4, n_samples=100)
    second = 2 * whole - first
    for image, m in zip(x, second):
        scratch = rise_from_scratch(region, image, 4, 100, 200)
        np.testing.assert_allclose(m, scratch, atol=1e-5 * np.abs(scratch).max())
    assert not np.allclose(first, second, atol=1e-3)       # other masks, other map


def test_coverage_noise_falls_as_one_over_root_n():
    """With a score that never changes, the map is the masks' coverage sum_i M_i / (N p),
    1 on average with standard deviation sqrt(Var M / N) / p (exercise 1). Measured over
    disjoint sets of masks, at two N four times apart."""
    sampler = MaskSampler((64, 64), 7, 0.5, seed=0)
    masks = sampler.masks(0, 3200).astype(np.float64)
    var = (masks ** 2).mean() - 0.5 ** 2
    assert 0.1 < var < 0.5 * (1 - 0.5)          # smooth masks: less than binary ones
    noise = {}
    for n in (50, 200):
        coverage = masks.reshape(-1, n, 64, 64).sum(axis=1) / (n * 0.5)
        noise[n] = np.sqrt(((coverage - 1) ** 2).mean())
        predicted = np.sqrt(var / n) / 0.5
        assert abs(noise[n] / predicted - 1) < 0.1, (n, noise[n], predicted)
    assert 1.8 < noise[50] / noise[200] < 2.2


def test_rise_from_scratch_matches_the_package(shared_model, test_images):
    """Two lesion images, the predicted class and the class the model rejects most."""
    from shared import data
    keep = [int(np.flatnonzero(test_images.labels == data.class_index(c))[0])
            for c in ("Cowpox", "Monkeypox")]
    x = test_images.images[keep]
    predicted = methods.resolve_targets(shared_model, x)
    rejected = predict(shared_model, x).argmin(axis=1)
    for targets in (predicted, rejected):
        ours = methods.rise(shared_model, x, targets, n_samples=64)
        for image, target, m in zip(x, targets, ours):
            scratch = rise_from_scratch(shared_model, image, int(target), 0, 64)
            assert np.ptp(m) > 0.05 * m.max()       # a map, not a constant
            np.testing.assert_allclose(scratch, m, rtol=1e-4, atol=1e-6 * m.max())


def test_chapter_specifics():
    """What the common check (``test_technique_chapter_fits_one_sitting`` in
    test_chapter_stats.py) leaves to this chapter: the scorecard on the v2 API
    (``shared.scorecard``; the old ``shared.evaluate`` is gone)."""
    text = CHAPTER.read_text()
    assert "evaluate." not in text and ", evaluate," not in text
    assert 'scorecard.scorecard(rows)' in text and 'scorecard.compare("rise"' in text
