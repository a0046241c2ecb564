"""LIME (through the lime package) and anchors (through alibi's AnchorImage): planted
regions, determinism, what hidden superpixels become, agreement with the unmodified lime
package, clear errors. (What every registered method must pass is in test_methods.py;
LIME is registered, anchors is not: see test_anchor_of_a_decision_that_never_changes_is_empty.)

Two toy models, both from toy_models.region_model (they see only input rows 4-12,
columns 18-28):

* ``region``: the registry's model. Every logit grows with the region, but class 4 wins
  for EVERY input in [0, 1] (its margin is at least 0.09 at the 16 corners of the box of
  reachable region activations, and the logits are linear in them): its decision never
  depends on the image;
* ``decision``: the same convolution with another head, class 0 if the region is
  brighter than mid-grey, class 1 otherwise: its decision is the region.
"""

import ast
import inspect
import itertools

import numpy as np
import pytest

from shared import data, methods
from shared.methods import (ALIBI_SEGMENTATION, SEGMENTATION_PARAMETERS, SEGMENTATIONS,
                            AnchorResult, LimeExplanation, anchor_explanation, anchors,
                            grid_segmentation, lime, lime_explanation, relabel, segment,
                            segmentation_function)
from toy_models import decision_model, planted, rand_images, region_mask, region_model

INSIDE = region_mask()


@pytest.fixture(scope="module")
def region():
    return region_model()


@pytest.fixture(scope="module")
def decision():
    return decision_model()


@pytest.fixture(scope="module")
def images():
    return np.stack([planted(s) for s in range(3)])


def recording(monkeypatch):
    """Record every batch the methods send to the model through ``methods.scores`` (a spy
    put where the methods look it up: the module that defines it)."""
    primitives = inspect.getmodule(methods.scores)
    seen, scores = [], methods.scores

    def spy(model, batch, *args, **kwargs):
        seen.append(np.array(batch))
        return scores(model, batch, *args, **kwargs)
    monkeypatch.setattr(primitives, "scores", spy)
    return seen


def test_the_planted_images_are_decided_by_their_region(decision, images):
    assert (methods.scores(decision, images).argmax(1) == 0).all()
    hidden = np.where(INSIDE[None, ..., None], methods.substitute(images, "mean"), images)
    assert (methods.scores(decision, hidden).argmax(1) == 1).all()


# ------------------------------------------------------------------------------ LIME

@pytest.mark.parametrize("segmentation", ["slic", "felzenszwalb"])
def test_lime_top_superpixel_is_in_the_planted_region(decision, images, segmentation):
    for image in images:
        e = lime_explanation(decision, image, n_samples=200, segmentation=segmentation,
                             fill="mean")
        assert e.target == 0
        top = e.segments == e.top(1)[0]
        assert (top & INSIDE).sum() >= 0.5 * top.sum(), "top superpixel mostly outside"
        assert INSIDE.flat[np.argmax(e.map)]


def test_lime_default_fill_cannot_hide_a_uniform_region(decision, images):
    """lime's hide_color=None puts each superpixel's own mean colour in its place: a
    uniform bright region stays bright, and LIME sees (almost) nothing there."""
    params = dict(n_samples=200, segmentation="felzenszwalb")
    own = lime_explanation(decision, images[0], **params)
    hidden = lime_explanation(decision, images[0], fill="mean", **params)
    region_ids = np.unique(hidden.segments[INSIDE])
    np.testing.assert_array_equal(own.segments, hidden.segments)
    assert hidden.weights[region_ids].sum() > 0.3
    assert abs(own.weights[region_ids].sum()) < 0.05 * hidden.weights[region_ids].sum()


def test_lime_same_seed_same_map_other_seed_other_samples(decision, images, monkeypatch):
    params = dict(n_samples=100, segmentation="slic", fill="mean")
    first = lime(decision, images, **params)
    np.testing.assert_array_equal(first, lime(decision, images, **params))
    seen = recording(monkeypatch)
    lime(decision, images[:1], **params)
    lime(decision, images[:1], seed=1, **params)
    half = len(seen) // 2
    assert not all(np.array_equal(a, b) for a, b in zip(seen[:half], seen[half:]))
    monkeypatch.undo()
    assert not np.array_equal(first, lime(decision, images, seed=1, **params))


def test_quickshift_is_seeded(images):
    """lime drops its random_seed for quickshift (scikit-image 0.22 calls it rng): the
    seed reaches quickshift's tie-breaking here, and the same seed gives the same cut."""
    image = rand_images(1, 48, seed=3)[0]
    fn = segmentation_function("quickshift", SEGMENTATION_PARAMETERS, seed=5)
    assert fn.algorithm.keywords["rng"] == 5
    np.testing.assert_array_equal(segment(image, "quickshift", 5), segment(image, "quickshift", 5))


def test_superpixels_are_cut_in_float64():
    """A float32 image is segmented as float64: in float32, quickshift's borders move with
    the CPU's vector code paths (on the chickenpox test image, 1 superpixel of 28)."""
    from skimage.segmentation import quickshift
    image = data.load_split("test", 1).images[0]
    assert image.dtype == np.float32
    in_float64 = quickshift(image.astype(np.float64), rng=0, **SEGMENTATION_PARAMETERS["quickshift"])
    np.testing.assert_array_equal(segment(image, "quickshift", 0),
                                  relabel(in_float64, image.shape[:2]))


@pytest.mark.parametrize("name", SEGMENTATIONS)
def test_lime_segmentation_is_limes_own(name):
    """The segmentation LIME runs is what lime's SegmentationAlgorithm gives with the same
    parameters (relabelled 0..K-1), and quickshift's cut depends on the seed."""
    from lime.wrappers.scikit_image import SegmentationAlgorithm
    image = rand_images(1, 48, seed=3)[0].astype(np.float64)
    params = dict(SEGMENTATION_PARAMETERS[name], **({"rng": 5} if name == "quickshift" else {}))
    stock = SegmentationAlgorithm(name, **params)(image)
    ours = segmentation_function(name, SEGMENTATION_PARAMETERS, seed=5)(image)
    np.testing.assert_array_equal(ours, relabel(stock, image.shape[:2]))
    np.testing.assert_array_equal(ours, segment(image, name, 5))


def test_lime_map_paints_each_superpixel_weight(decision, images):
    e = lime_explanation(decision, images[1], n_samples=150, segmentation="slic", fill=0.5)
    assert isinstance(e, LimeExplanation)
    assert e.map.dtype == np.float32 and e.map.shape == (32, 32)
    np.testing.assert_array_equal(e.map, e.weights[e.segments].astype(np.float32))
    for k in range(e.n_segments):
        assert np.unique(e.map[e.segments == k]).size == 1
    np.testing.assert_allclose(e.local_prediction, e.intercept + e.weights.sum(), rtol=1e-6)
    assert e.prediction == pytest.approx(
        float(methods.scores(decision, images[1:2], 0, score="probability")[0]), rel=1e-5)
    assert 0 <= e.r2 <= 1
    np.testing.assert_array_equal(
        lime(decision, images, n_samples=150, segmentation="slic", fill=0.5)[1], e.map)


@pytest.mark.parametrize("fill", [None, 0.3])
def test_lime_matches_the_unmodified_lime_package(decision, images, fill):
    """Same seed, same segmentation: the batched perturbations give lime's own answer
    (lime's explain_instance with its per-sample loop and batch_size=10)."""
    from lime.lime_image import LimeImageExplainer
    image = images[2]
    ours = lime_explanation(decision, image, n_samples=120, segmentation="felzenszwalb",
                            fill=fill, seed=3)
    stock = LimeImageExplainer(kernel_width=0.25, random_state=3).explain_instance(
        image, lambda b: methods.scores(decision, b, score="probability"), labels=(0,),
        hide_color=fill, top_labels=None, num_samples=120,
        segmentation_fn=segmentation_function("felzenszwalb", SEGMENTATION_PARAMETERS, 3),
        random_seed=3)
    weights = np.zeros(ours.n_segments)
    for k, w in stock.local_exp[0]:
        weights[k] = w
    np.testing.assert_allclose(ours.weights, weights, rtol=1e-4, atol=1e-6)
    assert ours.intercept == pytest.approx(stock.intercept[0], rel=1e-4, abs=1e-6)


def test_lime_hides_with_the_substitute_image(decision, images, monkeypatch):
    substitute = rand_images(1, 32, seed=11)[0]
    seen = recording(monkeypatch)
    e = lime_explanation(decision, images[0], n_samples=40, segmentation="felzenszwalb",
                         fill=substitute)
    perturbed = np.concatenate(seen)[-40:]
    np.testing.assert_array_equal(perturbed[0], images[0])
    shown_both = set()
    for z in perturbed:
        for k in range(e.n_segments):
            px = e.segments == k
            kept = np.array_equal(z[px], images[0][px])
            assert kept or np.array_equal(z[px], substitute[px]), "neither image nor substitute"
            shown_both.add(kept)
    assert shown_both == {True, False}


def test_lime_through_the_logit_recovers_a_linear_models_contributions(region):
    """Hidden in black, the region model's logit is linear in the kept superpixels: the
    local model fits it (R^2 ~ 1) and its weights are each square's own contribution."""
    x = rand_images(1, 32, seed=2)
    e = lime_explanation(region, x[0], 4, n_samples=600, segmentation=grid_segmentation(4),
                         fill="black", score="logit")
    base = float(methods.scores(region, x, 4)[0])
    drop = np.array([base - float(methods.scores(region, np.where(
        (e.segments == k)[None, ..., None], 0.0, x).astype(np.float32), 4)[0])
        for k in range(e.n_segments)])
    assert e.r2 > 0.99
    np.testing.assert_allclose(e.weights, drop, atol=0.03 * drop.max())
    assert (np.abs(e.weights[drop == 0]) < 0.03 * drop.max()).all()   # squares it never sees


def test_lime_probability_weights_follow_the_softmax(region):
    """Why the registry's tests run LIME on logits: the region raises every logit, yet
    lowers the softmax probability of class 3 (0.095 shown, 0.174 hidden in black)."""
    x = rand_images(1, 32, seed=4)
    params = dict(n_samples=200, segmentation=grid_segmentation(4), fill="black")
    inside = lime_explanation(region, x[0], 3, **params)
    assert inside.weights[np.unique(inside.segments[INSIDE])].sum() < 0
    logit = lime_explanation(region, x[0], 3, score="logit", **params)
    assert logit.weights[np.unique(logit.segments[INSIDE])].sum() > 0
    four = lime_explanation(region, x[0], 4, **params)
    assert four.weights[np.unique(four.segments[INSIDE])].sum() > 0


def test_three_segmentations_give_different_segment_counts():
    """A generated 64 px image: smooth shading, three discs, a little noise."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:64, :64]
    yy, xx = rows / 63.0, cols / 63.0
    image = np.stack([0.3 + 0.4 * yy, 0.5 - 0.3 * xx, 0.4 + 0.2 * xx * yy], -1)
    for (cy, cx, r), colour in zip([(16, 16, 9), (40, 44, 12), (50, 14, 6)],
                                   [(0.9, 0.1, 0.1), (0.1, 0.8, 0.2), (0.1, 0.1, 0.9)]):
        image[(rows - cy) ** 2 + (cols - cx) ** 2 < r * r] = colour
    image = np.clip(image + rng.normal(0, 0.02, image.shape), 0, 1).astype(np.float32)
    counts = {}
    for name in SEGMENTATIONS:
        labels = segment(image, name)
        assert labels.shape == (64, 64) and labels.min() == 0
        assert np.array_equal(np.unique(labels), np.arange(labels.max() + 1))
        counts[name] = labels.max() + 1
    assert len(set(counts.values())) == 3, counts
    assert all(c > 1 for c in counts.values()), counts


def test_lime_refuses_bad_parameters_before_any_work(decision, images):
    cases = [
        (dict(n_samples=0), "n_samples must be a positive int"),
        (dict(segmentation="watershed"), r"segmentation must be one of \['quickshift'"),
        (dict(kernel_width=0), "kernel_width must be a finite number > 0"),
        (dict(kernel_width=-0.25), "kernel_width must be a finite number > 0"),
        (dict(kernel_width=float("nan")), "kernel_width must be a finite number > 0"),
        (dict(fill="purple"), "fill.*must be one of"),
        (dict(fill=1.5), "fill.*in \\[0, 1\\]"),
        (dict(score="softmax"), "score must be one of"),
        (dict(seed=-1), "seed must be a non-negative int"),
    ]
    for params, match in cases:
        for fn, x in ((lime, images), (lime_explanation, images[0])):
            with methods.count_passes() as passes, pytest.raises(ValueError, match=match):
                fn(decision, x, 0, **params)
            assert passes.forward == 0, (fn.__name__, params)
    with pytest.raises(ValueError, match="does not broadcast"):
        lime(decision, images, fill=np.zeros((5, 5, 3)))
    with pytest.raises(ValueError, match=r"must return integer labels of shape \(32, 32\)"):
        lime(decision, images, n_samples=10, segmentation=lambda im: np.zeros((4, 4), int))
    with pytest.raises(ValueError, match=r"rank 3.*a batch\?"):
        lime_explanation(decision, images)
    with pytest.raises(ValueError, match="out of range"):
        lime_explanation(decision, images[0], 6)


# --------------------------------------------------------------------------- anchors

def test_anchor_is_the_planted_region(decision, images):
    r = anchor_explanation(decision, images[0], segmentation="quickshift")
    assert isinstance(r, AnchorResult) and r.target == 0 and not r.empty
    np.testing.assert_array_equal(r.map, INSIDE.astype(np.float32))
    assert INSIDE.flat[np.argmax(r.map)]               # the registry's peak: first pixel
    assert r.precision >= 0.95 and 0.35 <= r.coverage <= 0.65   # one superpixel: ~1/2
    assert len(r.superpixels) == 1


def test_anchor_precision_and_coverage_are_floats_in_the_unit_interval(decision, region, images):
    for model, image in ((decision, images[1]), (region, rand_images(1, 32, seed=4)[0])):
        r = anchor_explanation(model, image)
        for value in (r.precision, r.coverage):
            assert type(value) is float and 0.0 <= value <= 1.0
        assert r.map.dtype == np.float32 and set(np.unique(r.map)) <= {0.0, 1.0}


def test_hidden_superpixels_show_the_background_not_their_own_colour(decision, images,
                                                                     monkeypatch):
    seen = recording(monkeypatch)
    r = anchor_explanation(decision, images[0], segmentation="quickshift")
    perturbed = [z for z in np.concatenate(seen) if z.any()]   # not alibi's zero probe
    background = r.backgrounds[0]
    np.testing.assert_allclose(background, images[0].mean(axis=(0, 1)) + 0 * images[0],
                               rtol=1e-6)
    (region_id,) = r.superpixels
    region_hidden = 0
    for z in perturbed:
        for k in np.unique(r.segments):
            px = r.segments == k
            if not np.array_equal(z[px], images[0][px]):
                np.testing.assert_array_equal(z[px], background[px])
                region_hidden += k == region_id
    assert region_hidden > 0                        # the search did try without the region
    hidden_region = background[INSIDE].mean()
    assert hidden_region < 0.25 < 0.8 < images[0][INSIDE].mean()   # not its own colour


def test_alibis_own_mean_colour_leaves_the_region_visible(decision, images):
    """alibi's default (images_background=None) puts each superpixel's own mean in its
    place: the bright region stays bright, the decision never changes, and the anchor
    comes back empty; with the image's mean colour it is the region."""
    from alibi.explainers import AnchorImage
    predictor = lambda b: methods.scores(decision, b).argmax(1)  # noqa: E731
    explainer = AnchorImage(predictor, (32, 32, 3), segmentation_fn=segmentation_function(
        "quickshift", ALIBI_SEGMENTATION), images_background=None, seed=0)
    state = np.random.get_state()
    try:
        own = explainer.explain(images[0])
    finally:
        np.random.set_state(state)
    assert len(own.data["raw"]["feature"]) == 0
    assert not anchor_explanation(decision, images[0], segmentation="quickshift").empty


def test_anchor_same_seed_same_result_other_seed_other_samples(decision, images, monkeypatch):
    a = anchor_explanation(decision, images[2], segmentation="slic", seed=4)
    b = anchor_explanation(decision, images[2], segmentation="slic", seed=4)
    assert (a.superpixels, a.precision, a.coverage) == (b.superpixels, b.precision, b.coverage)
    np.testing.assert_array_equal(a.map, b.map)
    state = np.random.get_state()
    seen = recording(monkeypatch)
    anchor_explanation(decision, images[2], segmentation="slic", seed=4)
    first = np.concatenate(seen)
    seen.clear()
    anchor_explanation(decision, images[2], segmentation="slic", seed=5)
    second = np.concatenate(seen)
    assert first.shape != second.shape or not np.array_equal(first, second)
    assert all(np.array_equal(x, y) for x, y in zip(state, np.random.get_state()))


def test_anchors_maps_for_a_batch(decision, images):
    maps = anchors(decision, images, segmentation="quickshift")
    assert maps.shape == (3, 32, 32) and maps.dtype == np.float32
    for image, m in zip(images, maps):
        np.testing.assert_array_equal(
            m, anchor_explanation(decision, image, segmentation="quickshift").map)
        assert INSIDE.flat[np.argmax(m)]
    np.testing.assert_array_equal(maps, anchors(decision, images, [0, 0, 0],
                                                segmentation="quickshift"))


def test_anchors_refuse_a_target_that_is_not_the_decision(decision, images):
    with pytest.raises(ValueError, match="predicted as class 0, not 1.*targets=None"):
        anchors(decision, images, 1)
    with pytest.raises(ValueError, match="predicted as class 0, not 2"):
        anchor_explanation(decision, images[0], 2)


def test_anchors_refuse_bad_parameters_before_any_work(decision, images):
    cases = [
        (dict(threshold=0), r"threshold must be a precision in \(0, 1\]"),
        (dict(threshold=1.5), r"threshold must be a precision in \(0, 1\]"),
        (dict(threshold="high"), r"threshold must be a precision in \(0, 1\]"),
        (dict(segmentation="watershed"), "segmentation must be one of"),
        (dict(background="purple"), "background.*must be one of"),
        (dict(delta=0), "delta must be a number in the open interval"),
        (dict(seed=-1), "seed must be a non-negative int"),
    ]
    for params, match in cases:
        for fn, x in ((anchors, images), (anchor_explanation, images[0])):
            with methods.count_passes() as passes, pytest.raises(ValueError, match=match):
                fn(decision, x, **params)
            assert passes.forward == 0, (fn.__name__, params)


def test_anchor_of_a_decision_that_never_changes_is_empty(region):
    """Why anchors is not in the registry: on the registry's region model class 4 wins for
    every input in [0, 1] (so at every corner of the box the region's activations can
    reach, and the logits are linear in them). No superpixel is needed to keep that
    decision: the right anchor is empty, its map all zeros, and no anchor exists for the
    other classes the registry's tests ask about."""
    w, b = region.get_layer("logits").get_weights()
    kernel, bias = region.get_layer("conv").get_weights()
    low, high = 20 / 256 * bias, 20 / 256 * (bias + kernel.sum(axis=(0, 1, 2)))
    for corner in itertools.product(*zip(low, high)):
        logits = np.array(corner) @ w + b
        assert logits.argmax() == 4
    x = rand_images(6, 32, seed=4)
    assert (methods.resolve_targets(region, x) == 4).all()
    for image in x[:2]:
        r = anchor_explanation(region, image)
        assert r.empty and r.precision == 1.0 and not r.map.any()
    with pytest.raises(ValueError, match="predicted as class 4, not 0"):
        anchors(region, x, np.arange(6))


def test_alibi_and_lime_are_imported_only_inside_functions():
    for module in (inspect.getmodule(methods.anchors), inspect.getmodule(methods.lime)):
        tree = ast.parse(inspect.getsource(module))
        names = [a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names] + [
            n.module for n in tree.body if isinstance(n, ast.ImportFrom) and n.level == 0]
        assert "numpy" in names
        assert not any(name.split(".")[0] in ("alibi", "lime") for name in names), names
