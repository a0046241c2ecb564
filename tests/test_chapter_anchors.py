"""What the anchors chapter (book/chapters/anchors.md) states and no longer re-checks in
its cells: the package's anchor is alibi's own ``AnchorImage`` answer for the same
superpixels, background and seed (the chapter compares them once, on the cowpox image);
the precision estimate written from scratch (the chapter's exercise 3) agrees with
alibi's precision; a coverage is ``2**-|A|`` whatever the superpixels, so an anchor that
needs two superpixels covers a quarter of the samples (exercise 1). (The planted region,
alibi's own-mean default leaving it visible, seeds, the background and clear errors are
in test_methods_lime_anchors.py.) The structure the chapter must keep is checked without
a model."""

import re
from pathlib import Path

import numpy as np
import pytest

from shared import data, methods, metrics
from shared.methods import anchor_explanation
from toy_models import INPUT_COLS, decision_model, planted, region_mask
from tools import chapter_stats

CHAPTER = Path(__file__).resolve().parents[1] / "book" / "chapters" / "anchors.md"
INSIDE = region_mask()


def precision_from_scratch(model, image, segments, anchor, background, target, n=64,
                           seed=0):
    """The chapter's exercise 3: 1 for each sample (the anchor kept, every other
    superpixel kept with p = 1/2, the rest from ``background``) whose decision is
    ``target``."""
    rng = np.random.default_rng(seed)
    keep = rng.random((n, segments.max() + 1)) < 0.5
    keep[:, list(anchor)] = True
    z = np.where(keep[:, segments][..., None], image, background)
    decision = methods.scores(model, z, score="probability").argmax(1)
    return (decision == target).astype(float)


def alibi_anchor(model, image, r):
    """alibi's AnchorImage called directly, as its documentation does, with the
    superpixels, backgrounds and seed of the package's result ``r``."""
    from alibi.explainers import AnchorImage
    predictor = lambda b: methods.scores(model, b, score="probability").argmax(1)  # noqa: E731
    state = np.random.get_state()
    try:
        explainer = AnchorImage(predictor, image.shape, segmentation_fn=lambda x: r.segments,
                                images_background=r.backgrounds, seed=0)
        return explainer.explain(image, threshold=0.95, delta=0.1, tau=0.15)
    finally:
        np.random.set_state(state)


def assert_same_anchor(r, explanation):
    assert tuple(int(f) for f in explanation.raw["feature"]) == r.superpixels
    assert float(np.ravel(explanation.precision)[0]) == r.precision
    assert float(np.ravel(explanation.coverage)[0]) == r.coverage


def halves(image):
    """A 4 x 4 grid of 8 px squares, with the toy models' region cut into a left (0) and
    a right (1) superpixel."""
    rows, cols = np.mgrid[:32, :32]
    labels = (rows // 8) * 4 + cols // 8 + 2
    middle = (INPUT_COLS.start + INPUT_COLS.stop) // 2
    labels[INSIDE & (cols < middle)] = 0
    labels[INSIDE & (cols >= middle)] = 1
    return labels


@pytest.fixture(scope="module")
def decision():
    return decision_model()


@pytest.mark.parametrize("segmentation", ["slic", "quickshift", halves])
def test_the_package_is_alibis_anchor_image_on_a_toy_model(decision, segmentation):
    for seed in range(2):
        image = planted(seed)
        r = anchor_explanation(decision, image, segmentation=segmentation)
        assert not r.empty
        assert_same_anchor(r, alibi_anchor(decision, image, r))


def test_an_anchor_of_two_superpixels_covers_a_quarter(decision):
    """Hidden in black, half of the region is too dark for class 0: both halves are
    needed, and the coverage is 2**-2; with the image's mean colour one half suffices,
    2**-1. The precision is 1 either way, and the from-scratch estimate agrees."""
    image = planted(0)
    two = anchor_explanation(decision, image, segmentation=halves, background="black")
    one = anchor_explanation(decision, image, segmentation=halves)
    assert sorted(two.superpixels) == [0, 1] and len(one.superpixels) == 1
    assert abs(two.coverage - 0.25) < 0.02 and abs(one.coverage - 0.5) < 0.02
    assert two.precision == one.precision == 1.0
    for r in (two, one):
        scratch = precision_from_scratch(decision, image, r.segments, r.superpixels,
                                         r.backgrounds[0], 0, n=200)
        assert scratch.mean() == 1.0
        smaller = precision_from_scratch(decision, image, r.segments, r.superpixels[:-1],
                                         r.backgrounds[0], 0, n=200)
        assert smaller.mean() < 0.8              # one superpixel fewer is not enough


def test_precision_from_scratch_finds_the_planted_region(decision):
    """The region's superpixel keeps class 0 in every sample; the empty set only when
    the region happens to be kept (about half); a superpixel outside the region no more
    often than the empty set."""
    image = planted(1)
    r = anchor_explanation(decision, image, segmentation=halves)
    bg = r.backgrounds[0]
    both = precision_from_scratch(decision, image, r.segments, (0, 1), bg, 0, n=400)
    empty = precision_from_scratch(decision, image, r.segments, (), bg, 0, n=400)
    outside = precision_from_scratch(decision, image, r.segments, (5,), bg, 0, n=400)
    assert both.mean() == 1.0
    assert 0.6 < empty.mean() < 0.9       # at least one half kept: 3/4 of the samples
    assert abs(outside.mean() - empty.mean()) < 0.1


def test_precision_from_scratch_agrees_with_alibi(shared_model, test_images):
    """The first cowpox test image (the chapter's): the package's anchor equals alibi's
    own call, and the from-scratch estimate of its precision agrees with alibi's within
    its interval, while the empty set's falls below the threshold."""
    k = data.class_index("Cowpox")
    image = test_images.images[np.flatnonzero(test_images.labels == k)[0]]
    assert methods.resolve_targets(shared_model, image[None])[0] == k
    r = anchor_explanation(shared_model, image)
    assert not r.empty and r.precision >= r.threshold
    assert_same_anchor(r, alibi_anchor(shared_model, image, r))
    bg = r.backgrounds[0]
    kept = precision_from_scratch(shared_model, image, r.segments, r.superpixels, bg, k,
                                  n=128)
    mean, low, high, _ = metrics.bootstrap_ci(kept)
    assert low <= r.precision <= high or mean >= r.threshold - 0.05
    empty = precision_from_scratch(shared_model, image, r.segments, (), bg, k, n=128)
    assert metrics.bootstrap_ci(empty)[2] < r.threshold
    # coverage: 2**-|A| whichever the superpixels (alibi estimates it from 10,000 draws)
    assert abs(r.coverage - 2.0 ** -len(r.superpixels)) < 0.02


def test_chapter_specifics():
    """What the common check (``test_technique_chapter_fits_one_sitting`` in
    test_chapter_stats.py) leaves to this chapter: at most 16 code cells on the main
    path (stricter than ``chapter_stats.MAX_CELLS``), the scorecard on the v2 API
    (``shared.scorecard``; the old ``shared.evaluate`` is gone) and its bullets,
    the package's source shown, alibi compared once, and numbers in the prose from
    glue."""
    text = CHAPTER.read_text()
    stats = chapter_stats.chapter_stats(CHAPTER, times={})
    assert stats.cells <= 16
    assert "evaluate." not in text and ", evaluate," not in text
    assert "scorecard.scorecard(rows)" in text and 'scorecard.compare("anchors"' in text
    assert "with_chance=True).T" in text and "by_class=True" in text
    assert "TODO" not in text and "**Sufficient is not important.**" in text
    assert "viz.show_source(" in text
    assert text.count("AnchorImage(predictor") <= 2   # alibi compared once (+ its default)
    code = "\n".join(re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, re.S))
    literals = set(re.findall(r"\"(\w+)\"", code))
    patterns = [re.sub(r"\{[^}]*\}", r"\\w+", g)
                for g in re.findall(r"glue\(f\"([\w{}]+)\"", code)]
    for name in re.findall(r"\{glue:(?:text|md)\}`(\w+)", text):
        assert name in literals or any(re.fullmatch(g, name) for g in patterns), name
