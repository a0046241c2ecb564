"""What the LIME chapter (book/chapters/lime.md) states and no longer re-checks in its
cells: the perturb-score-fit loop written from the formula (the chapter's exercise 3,
and the two functions its folded sections use) gives the package's weights, intercept
and R^2, with lime's own-mean fill, a substitute fill, another seed and the logit, on a
toy model and on the shared checkpoint; the first n samples of a longer draw are the
n-sample explanation (the seed table refits prefixes); lime's samples are its random
state's draws, scored in order, so the chapter can refit the samples it recorded from
one ``lime`` call; a sample that keeps m of K superpixels is at cosine distance
1 - sqrt(m/K) (exercise 1). The package against the unmodified ``lime`` package, with
other fills and segmentations, is in test_methods_lime_anchors.py
(``test_lime_matches_the_unmodified_lime_package``, ``test_lime_segmentation_is_limes_own``).
The structure the chapter must keep is checked without a model."""

from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.metrics import pairwise_distances

from shared import methods
from shared.methods import lime_explanation, segment
from toy_models import decision_model, planted

CHAPTER = Path(__file__).resolve().parents[1] / "book" / "chapters" / "lime.md"


def draws(n, k, seed=0):
    """lime's on/off samples: its random state's first draw, the first row all on."""
    z = np.random.RandomState(seed).randint(0, 2, n * k).reshape(n, k)
    z[0] = 1
    return z


def own_mean(image, segments):
    """lime's hide_color=None: each superpixel's mean colour, channel by channel as
    lime sums it (another order of the float32 sums moves the nearly flat weights of
    a saturated toy model by more than the tolerance)."""
    k = segments.max() + 1
    means = [[image[segments == j][:, c].mean() for c in range(3)] for j in range(k)]
    return np.array(means, image.dtype)[segments]


def scratch_scores(model, image, segments, n, target, seed=0, hidden=None,
                   score="probability"):
    """Perturb and score, as the chapter's perturb_and_score does."""
    z = draws(n, segments.max() + 1, seed)
    hidden = own_mean(image, segments) if hidden is None else hidden
    images = np.where(z[:, segments][..., None] == 1, image, hidden)
    return z, methods.scores(model, images.astype(np.float32), target, score=score)


def fit(z, y, kernel_width=0.25):
    """Fit, as the chapter's fit_local_model does: weights, intercept, R^2."""
    d = pairwise_distances(z, z[:1], metric="cosine").ravel()
    kernel = np.sqrt(np.exp(-d ** 2 / kernel_width ** 2))
    ridge = Ridge(alpha=1.0).fit(z, y, sample_weight=kernel)
    return ridge.coef_, float(ridge.intercept_), ridge.score(z, y, sample_weight=kernel)


def assert_same(ours, weights, intercept, r2):
    scale = np.abs(ours.weights).max()
    assert scale > 0
    np.testing.assert_allclose(weights, ours.weights, rtol=0, atol=1e-4 * scale)
    assert intercept == pytest.approx(ours.intercept, abs=1e-4 * scale + 1e-7)
    assert r2 == pytest.approx(ours.r2, abs=1e-4)


@pytest.fixture(scope="module")
def decision():
    return decision_model()


@pytest.fixture(scope="module")
def images():
    return np.stack([planted(s) for s in range(3)])


@pytest.mark.parametrize("fill, seed, score", [(None, 0, "probability"),
                                               (0.3, 3, "probability"),
                                               (None, 5, "logit")])
def test_the_loop_is_the_package_on_a_toy_model(decision, images, fill, seed, score):
    for image in images[:2]:
        segments = segment(image, "felzenszwalb", seed)
        hidden = None if fill is None else methods.substitute(image[None], fill)[0]
        ours = lime_explanation(decision, image, 0, n_samples=120,
                                segmentation="felzenszwalb", fill=fill, seed=seed,
                                score=score)
        np.testing.assert_array_equal(ours.segments, segments)
        z, y = scratch_scores(decision, image, segments, 120, 0, seed, hidden, score)
        assert_same(ours, *fit(z, y))


def test_the_first_n_samples_are_the_n_sample_explanation(decision, images):
    """The chapter's seed table fits the first n samples of one 500-sample draw per
    seed as the n-sample explanation at that seed: randint draws the rows in order."""
    image = images[1]
    segments = segment(image, "felzenszwalb")
    z, y = scratch_scores(decision, image, segments, 150, 0, seed=2)
    for n in (40, 90):
        ours = lime_explanation(decision, image, 0, n_samples=n,
                                segmentation="felzenszwalb", seed=2)
        assert_same(ours, *fit(z[:n], y[:n]))
    np.testing.assert_array_equal(draws(40, 7, 2), draws(150, 7, 2)[:40])
    assert not np.array_equal(draws(40, 7, 2), draws(40, 7, 3))


def test_limes_samples_are_its_random_states_draws(decision, images):
    """One unmodified lime call, its classifier_fn recording what it is asked: the
    images are those the draws make (lime's own-mean fill), in order, and refitting the
    recorded scores on the draws gives lime's weights (what the chapter's folded
    section does with the logits it kept)."""
    from lime.lime_image import LimeImageExplainer
    from shared.methods import SEGMENTATION_PARAMETERS, segmentation_function
    image = images[2].astype(np.float64)
    seen, scored = [], []

    def classify(batch):
        seen.append(np.array(batch))
        scored.append(methods.scores(decision, np.float32(batch), score="probability"))
        return scored[-1]

    stock = LimeImageExplainer(random_state=4).explain_instance(
        image, classify, labels=(0,), hide_color=None, top_labels=None,
        num_samples=130, batch_size=32, random_seed=4,
        segmentation_fn=segmentation_function("felzenszwalb", SEGMENTATION_PARAMETERS, 4))
    segments = stock.segments
    z = draws(130, segments.max() + 1, 4)
    expected = np.where(z[:, segments][..., None] == 1, image,
                        own_mean(image, segments))
    np.testing.assert_allclose(np.concatenate(seen), expected, atol=1e-12)
    weights = np.zeros(segments.max() + 1)
    for k, w in stock.local_exp[0]:
        weights[k] = w
    refit, intercept, r2 = fit(z, np.concatenate(scored)[:, 0])
    np.testing.assert_allclose(refit, weights, atol=1e-6 * np.abs(weights).max())
    assert intercept == pytest.approx(stock.intercept[0], abs=1e-6)
    assert r2 == pytest.approx(stock.score, abs=1e-6)


def test_cosine_distance_depends_only_on_the_number_kept():
    """Exercise 1: a sample keeping m of K superpixels is at cosine distance
    1 - sqrt(m/K) from the image (all ones), and lime's kernel sqrt(exp(-d^2/w^2)) is
    exp(-d^2/(2 w^2))."""
    rng = np.random.default_rng(0)
    K = 42
    z = (rng.random((300, K)) < rng.random((300, 1))).astype(float)
    z = z[z.sum(1) > 0]
    d = pairwise_distances(z, np.ones((1, K)), metric="cosine").ravel()
    np.testing.assert_allclose(d, 1 - np.sqrt(z.sum(1) / K), atol=1e-12)
    np.testing.assert_allclose(np.sqrt(np.exp(-d ** 2 / 0.25 ** 2)),
                               np.exp(-d ** 2 / (2 * 0.25 ** 2)), rtol=1e-12)


def test_the_loop_is_the_package_on_the_shared_model(shared_model, test_images):
    """The first cowpox and monkeypox images of the test split, lime's quickshift, 150
    samples: with the own-mean fill (exercise 3) and, on the cowpox image, with the
    lesion-free skin (the chapter's fills) the loop gives the package's weights; the
    two fills give different weights."""
    from shared import data
    for name in ("Cowpox", "Monkeypox"):
        j = int(np.flatnonzero(test_images.labels == data.class_index(name))[0])
        image = test_images.images[j]
        target = int(methods.resolve_targets(shared_model, image[None])[0])
        segments = segment(image)
        fills = [None]
        if name == "Cowpox":
            fills.append(data.render(test_images.scene(j).empty()).image)
        found = []
        for fill in fills:
            ours = lime_explanation(shared_model, image, target, n_samples=150,
                                    fill=fill)
            np.testing.assert_array_equal(ours.segments, segments)
            z, y = scratch_scores(shared_model, image, segments, 150, target,
                                  hidden=fill)
            assert_same(ours, *fit(z, y))
            found.append(ours.weights)
        if len(found) == 2:
            assert np.abs(found[0] - found[1]).max() > 0.01 * np.abs(found[0]).max()


def test_chapter_specifics():
    """What the common check (``test_technique_chapter_fits_one_sitting`` in
    test_chapter_stats.py) leaves to this chapter: LIME named beside KernelSHAP, the
    scorecard on the v2 API (``shared.scorecard``; the old ``shared.evaluate`` is gone)
    with its chance row and its table by class."""
    text = CHAPTER.read_text()
    assert "LIME and KernelSHAP" in text
    assert "evaluate." not in text and ", evaluate," not in text
    assert "scorecard.scorecard(rows)" in text and 'scorecard.compare("lime"' in text
    assert "with_chance=True" in text and "by_class=True" in text
