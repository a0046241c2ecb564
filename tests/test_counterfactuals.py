"""Counterfactuals, on scenes and toy models whose minimal edits are known by construction.

The scene tests use a model that sees only the boxes around chosen elements. Hiding or
restaging any other element changes only that element's own pixels (rendering has a
0-pixel margin), which lie outside the boxes, so it cannot move the model at all: which
edit sets change the decision is then decided by the chosen elements alone, and the
threshold of the model's head is placed to make the answer provable.
"""

import dataclasses

import numpy as np
import pytest

from shared import counterfactuals as cf
from shared import data, methods
from toy_models import linear_model, model_seeing, rand_images, region_model

SIZE = 64


# ----------------------------------------------------------------- scenes and models

def _box(footprint, grow=4):
    ys, xs = np.nonzero(footprint)
    box = np.zeros_like(footprint)
    box[max(ys.min() - grow, 0):ys.max() + grow + 1,
        max(xs.min() - grow, 0):xs.max() + grow + 1] = True
    return box


def _eroded(box):
    """The box less its outer ring of pixels: the 3 x 3 convolution of
    :func:`toy_models.model_seeing` at these pixels reads only pixels of the box."""
    ys, xs = np.nonzero(box)
    inner = np.zeros_like(box)
    inner[ys.min() + 1:ys.max(), xs.min() + 1:xs.max()] = True
    return inner


def _footprints(scene, staged):
    """Each element's footprint; with ``staged``, a pock's footprint in any of its
    stages (restaging changes only pixels that the old or the new stage paints)."""
    prints = []
    for k, e in enumerate(scene.elements):
        fp = scene.footprint(k)
        if staged and isinstance(e, data.Pock):
            for stage in cf.POCK_STAGES:
                fp = fp | cf.restage(scene, k, stage).footprint(k)
        prints.append(fp)
    return prints


def _scene_with_isolated(counts, n_isolated, staged=False):
    """The first generated scene (64 px) with ``n_isolated`` elements whose boxes (the
    bounding box of the footprint grown by 4 px) are clear of every other element's
    footprint and of each other: {element: box}."""
    for seed in range(40):
        scene = data.generate(counts, seed=seed, size=SIZE).scene(0)
        prints = _footprints(scene, staged)
        boxes = {}
        for k in scene.visible:
            box = _box(prints[k])
            clear = not any((box & p).any() for j, p in enumerate(prints) if j != k)
            if clear and not any((box & b).any() for b in boxes.values()):
                boxes[k] = box
                if len(boxes) == n_isolated:
                    return scene, boxes
    raise AssertionError(f"no scene with {n_isolated} isolated elements")


def _evidence(model, scenes):
    """S = sum of model_seeing's pooled features: with a zero head bias its logits are
    (S, -S), whatever the head's bias is set to later."""
    model.get_layer("logits").set_weights([np.array([[1.0, -1.0]] * 4), np.zeros(2)])
    return methods.scores(model, data.render_many(scenes).images)[:, 0].astype(np.float64)


def _decide_at(model, threshold):
    """Logits (S - threshold, threshold - S): class 0 exactly when S > threshold."""
    model.get_layer("logits").set_weights([np.array([[1.0, -1.0]] * 4),
                                           np.array([-threshold, threshold])])


def _predictions(model, scenes):
    return np.argmax(methods.scores(model, data.render_many(scenes).images), axis=-1)


@pytest.fixture(scope="module")
def one_edit():
    """A measles scene, an isolated element k, and a model that sees only k's box and
    decides class 1 on the scene and class 0 once k is hidden."""
    scene, boxes = _scene_with_isolated([0, 0, 0, 1, 0, 0], 1)
    (k, box), = boxes.items()
    model = model_seeing(_eroded(box))
    s0, sk = _evidence(model, [scene, scene.without(k)])
    assert sk - s0 > 1e-3, "hiding the (red) element must brighten what the model sees"
    _decide_at(model, (s0 + sk) / 2)
    return scene, k, model


@pytest.fixture(scope="module")
def two_boxes():
    """A scene with two isolated elements a, b (disjoint boxes), a model that sees both
    boxes, and its evidence S with no element hidden, a, b, and both hidden. S is a sum
    over the two boxes' pixels, and a box's pixels change only with its own element, so
    S(R) = S0 + Da [a in R] + Db [b in R] for any set R of hidden elements. Hiding a red
    element brightens its box, so Da, Db > 0. Each test sets the head's threshold."""
    scene, boxes = _scene_with_isolated([0, 0, 0, 1, 0, 0], 2)
    a, b = sorted(boxes)
    model = model_seeing(_eroded(boxes[a]) | _eroded(boxes[b]))
    s = _evidence(model, [scene, scene.without(a), scene.without(b), scene.without(a, b)])
    s0, sa, sb, sab = s
    assert min(sa - s0, sb - s0) > 1e-3, s
    np.testing.assert_allclose(sab - s0, (sa - s0) + (sb - s0), rtol=1e-4)   # additivity
    return scene, (a, b), model, s


@pytest.fixture
def two_edits(two_boxes):
    """The threshold between max(S0, Sa, Sb) and Sab: only sets that hide both a and b
    cross it, so the minimal size is 2 and {a, b} is the only minimal counterfactual."""
    scene, ab, model, (s0, sa, sb, sab) = two_boxes
    _decide_at(model, (max(s0, sa, sb) + sab) / 2)
    return scene, ab, model


# ----------------------------------------------------------------- semantic search

def test_one_known_removal_is_the_only_minimal_counterfactual(one_edit):
    scene, k, model = one_edit
    others = [j for j in scene.visible if j != k]
    # the ground truth, asked directly: hiding k flips the decision, hiding any other
    # element (or all of them together) does not
    variants = [scene, scene.without(k)] + [scene.without(j) for j in others] \
        + [scene.without(*others)]
    pred = _predictions(model, variants)
    assert pred[0] == 1 and pred[1] == 0 and (pred[2:] == 1).all()

    result = cf.scene_counterfactuals(model, scene, max_edits=3)
    assert len(result) == 1
    (found,) = result
    e = scene.elements[k]
    assert found.edits == (cf.Edit("remove", k, e.shape, e.kind),)
    assert found.minimal and not result.capped
    assert result.searched == 1 and result.evaluated == len(scene.visible)
    assert found.prediction == 0 and found.original == 1 == result.prediction
    assert found.scene == scene.without(k)
    np.testing.assert_allclose(found.logit_change, found.logits_after - found.logits_before)
    assert found.logit_change[0] > 0 > found.logit_change[1]
    assert str(found.edits[0]) == f"remove element {k} ({e.shape} {e.kind})"
    assert found.describe() == f"remove element {k} ({e.shape} {e.kind}): class 1 -> class 0"
    # asking for class 0 finds the same edit; asking for the predicted class is an error
    assert [c.edits for c in cf.scene_counterfactuals(model, scene, target=0)] == [found.edits]
    with pytest.raises(ValueError, match="already predicts class 1"):
        cf.scene_counterfactuals(model, scene, target=1)


def test_two_removals_needed_gives_size_two_and_that_pair(two_edits):
    scene, (a, b), model = two_edits
    n = len(scene.visible)
    result = cf.scene_counterfactuals(model, scene, max_edits=3)
    assert [[e.index for e in c.edits] for c in result] == [[a, b]]
    assert all(e.kind == "remove" for e in result[0].edits)
    assert result[0].minimal and not result.capped and result.searched == 2
    assert result.evaluated == n + n * (n - 1) // 2          # every single and every pair
    assert result[0].scene == scene.without(a, b)
    # max_edits=1: every single edit tried, none changes the decision (a proof)
    none = cf.scene_counterfactuals(model, scene, max_edits=1)
    assert list(none) == [] and not none.capped and none.searched == 1


def test_every_minimal_counterfactual_is_returned(two_boxes):
    # the threshold between S0 and min(Sa, Sb): hiding a alone, or b alone, is enough
    scene, (a, b), model, (s0, sa, sb, _) = two_boxes
    _decide_at(model, (s0 + min(sa, sb)) / 2)
    result = cf.scene_counterfactuals(model, scene, max_edits=3)
    assert [[e.index for e in c.edits] for c in result] == [[a], [b]]
    assert all(c.minimal for c in result) and result.searched == 1


def test_the_cap_falls_back_to_greedy_and_says_so(two_edits):
    scene, (a, b), model = two_edits
    n = len(scene.visible)
    # a limit below the number of single edits: nothing is searched exhaustively
    greedy = cf.scene_counterfactuals(model, scene, max_edits=3, limit=2)
    assert greedy.capped and greedy.searched == 0
    assert [[e.index for e in c.edits] for c in greedy] == [[a, b]]
    assert greedy[0].minimal is False
    assert greedy.evaluated == n + (n - 1)                   # two greedy steps
    assert "not proven minimal" in greedy[0].describe()
    # a limit that covers the single edits but not the pairs: the greedy pair is then
    # proven minimal (no single edit works), but the list is still marked capped
    proven = cf.scene_counterfactuals(model, scene, max_edits=3, limit=n)
    assert proven.capped and proven.searched == 1
    assert [[e.index for e in c.edits] for c in proven] == [[a, b]] and proven[0].minimal


# ----------------------------------------------------------------- stage edits

def test_restaging_a_pock_to_its_own_stage_gives_back_the_sampled_element():
    # guards the stage colours and opacities copied from the sampler
    pocks = 0
    for counts in ([1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 1]):
        for seed in range(3):
            scene = data.generate(counts, seed=seed, size=SIZE).scene(0)
            for k in scene.indices("lesion"):
                assert cf.restage(scene, k, scene.elements[k].shape) == scene
                pocks += 1
    assert pocks > 30
    scene = data.generate([1, 0, 0, 0, 0, 0], seed=0, size=SIZE).scene(0)
    k = scene.indices("lesion")[0]
    for stage in cf.POCK_STAGES:
        e = cf.restage(scene, k, stage).elements[k]
        assert e.shape == stage and dataclasses.replace(e, shape=scene.elements[k].shape,
                                                        centre=scene.elements[k].centre,
                                                        red_alpha=scene.elements[k].red_alpha) \
            == scene.elements[k]                              # nothing else changed
        assert (e.centre == e.red) == (stage in ("macule", "papule"))
    with pytest.raises(ValueError, match="only pock lesions"):
        cf.restage(scene, scene.indices("distractor")[0], "crust")
    with pytest.raises(ValueError, match="unknown stage 'scab'"):
        cf.restage(scene, k, "scab")


def test_stage_search_finds_the_one_stage_change_that_flips():
    scene, boxes = _scene_with_isolated([1, 0, 0, 0, 0, 0], 1, staged=True)
    (k, box), = boxes.items()
    model = model_seeing(_eroded(box))
    stages = [s for s in cf.POCK_STAGES if s != scene.elements[k].shape]
    s0, *values = _evidence(model, [scene] + [cf.restage(scene, k, s) for s in stages])
    values = np.array(values)
    # the most extreme stage on the side away from S0 is the only one past the threshold
    up = values.max() - s0 >= s0 - values.min()
    best = int(np.argmax(values) if up else np.argmin(values))
    rest = np.append(np.delete(values, best), s0)
    near = rest.max() if up else rest.min()
    assert abs(values[best] - near) > 1e-3
    _decide_at(model, (values[best] + near) / 2)

    result = cf.scene_counterfactuals(model, scene, edits=("stage",), max_edits=2)
    expected = cf.Edit("stage", k, scene.elements[k].shape, "lesion", stages[best])
    assert [c.edits for c in result] == [(expected,)] and result[0].minimal
    assert result[0].scene == cf.restage(scene, k, stages[best])
    assert str(expected) == (f"change element {k} ({scene.elements[k].shape} lesion) "
                             f"to {stages[best]}")
    pocks = sum(isinstance(scene.elements[j], data.Pock) for j in scene.visible)
    assert result.evaluated == 4 * pocks                     # four other stages each
    # with removals too, every element adds its removal to the single edits
    both = cf.scene_counterfactuals(model, scene, edits=("remove", "stage"), max_edits=1)
    assert both.evaluated == 4 * pocks + len(scene.visible)
    assert expected in [c.edits[0] for c in both]


def test_edit_set_counts_match_the_enumeration():
    scene = data.generate([1, 0, 0, 0, 0, 0], seed=0, size=SIZE).scene(0)
    options = cf._options(scene, ("remove", "stage"))
    for k in (1, 2, 3):
        assert cf._count(options, k) == len(list(cf._edit_sets(options, k)))
    sets = list(cf._edit_sets(options, 2))
    assert all(len({e.index for e in s}) == 2 for s in sets)         # one edit per element


def test_apply_edits_checks_its_edits():
    scene = data.generate([1, 0, 0, 0, 0, 0], seed=0, size=SIZE).scene(0)
    remove0 = cf.Edit("remove", 0, scene.elements[0].shape, "lesion")
    crust1 = cf.Edit("stage", 1, scene.elements[1].shape, "lesion", "crust")
    assert cf.apply_edits(scene, [remove0, crust1]) == cf.restage(scene, 1, "crust").without(0)
    with pytest.raises(ValueError, match="element 0 is edited twice"):
        cf.apply_edits(scene, [remove0, dataclasses.replace(crust1, index=0)])
    with pytest.raises(ValueError, match="element 0 is hidden"):
        cf.apply_edits(scene.without(0), [remove0])
    assert cf.describe_edit(crust1) == str(crust1)


# ----------------------------------------------------------------- pixel counterfactuals

@pytest.fixture(scope="module")
def linear():
    model = linear_model(seed=0, shape=(8, 8, 3))
    x = rand_images(1, 8, seed=0)[0]
    z = methods.scores(model, x[None])[0]
    return model, x, int(np.argsort(z)[-2]), int(np.argmax(z))


def test_pixel_counterfactual_reaches_the_target_and_l1_is_sparser(linear):
    model, x, target, original = linear
    runs = {d: cf.pixel_counterfactual(model, x, target, distance=d, weight=1.0,
                                       steps=200, learning_rate=0.01) for d in cf.DISTANCES}
    for d, r in runs.items():
        assert r.reached and r.prediction == target != original, d
        assert 0 < r.steps_taken <= 200 and r.metric == d and r.target == target
        assert r.image.dtype == np.float32 and r.image.shape == x.shape
        assert r.image.min() >= 0 and r.image.max() <= 1
        assert int(np.argmax(methods.scores(model, r.image[None])[0])) == target
        np.testing.assert_allclose(methods.scores(model, r.image[None])[0], r.logits,
                                   rtol=1e-5, atol=1e-5)
    l1, l2 = runs["l1"], runs["l2"]
    np.testing.assert_allclose(l1.distance, np.abs(l1.image - x.astype(np.float64)).sum(),
                               rtol=1e-6)
    np.testing.assert_allclose(l2.distance, ((l2.image - x.astype(np.float64)) ** 2).sum(),
                               rtol=1e-6)
    # soft-thresholding leaves values exactly unchanged; the L2 shrink moves every
    # value whose gradient is not 0 (a linear model's gradient never is)
    n1, n2 = cf.changed_pixels(x, l1.image).sum(), cf.changed_pixels(x, l2.image).sum()
    assert n1 < n2 == 64
    assert (l1.image == x).sum() > (l2.image == x).sum()
    # deterministic
    again = cf.pixel_counterfactual(model, x, target, distance="l1", weight=1.0,
                                    steps=200, learning_rate=0.01)
    np.testing.assert_array_equal(again.image, l1.image)
    assert again.steps_taken == l1.steps_taken
    # the class already predicted: nothing to do
    same = cf.pixel_counterfactual(model, x, original)
    assert same.reached and same.steps_taken == 0 and same.distance == 0
    np.testing.assert_array_equal(same.image, x)


def test_pixel_counterfactual_changes_nothing_outside_the_region(linear):
    model, x, target, _ = linear
    region = np.zeros((8, 8), bool)
    region[:, :4] = True
    for d in cf.DISTANCES:
        r = cf.pixel_counterfactual(model, x, target, distance=d, weight=0.5, steps=300,
                                    learning_rate=0.01, region=region)
        assert r.reached, d
        np.testing.assert_array_equal(r.image[~region], x[~region])
        assert cf.changed_pixels(x, r.image)[region].any()
        assert r.image.min() >= 0 and r.image.max() <= 1


def test_an_unreachable_target_runs_out_of_steps():
    # toy_models.region_model predicts class 4 for every input in [0, 1]
    model = region_model()
    x = rand_images(1, 32, seed=1)[0]
    with methods.count_passes() as passes:
        r = cf.pixel_counterfactual(model, x, 0, steps=5, learning_rate=0.1)
    assert not r.reached and r.steps_taken == 5 and r.prediction == 4
    assert passes.forward == passes.backward == 6
    assert r.image.min() >= 0 and r.image.max() <= 1


def test_changed_pixels():
    before = np.zeros((2, 4, 4, 3), np.float32)
    after = before.copy()
    after[0, 1, 2, 0] = 0.1
    after[1, 3, 3, 2] = 0.001
    np.testing.assert_array_equal(np.argwhere(cf.changed_pixels(before, after)),
                                  [[0, 1, 2], [1, 3, 3]])
    assert cf.changed_pixels(before, after, threshold=0.5 / 255).sum() == 1
    assert cf.changed_pixels(before[0], after[0]).shape == (4, 4)
    with pytest.raises(ValueError, match="same shape"):
        cf.changed_pixels(before, after[0])
    with pytest.raises(ValueError, match="threshold must be"):
        cf.changed_pixels(before, after, threshold=-1)


# ----------------------------------------------------------------- bad inputs

def test_bad_inputs_are_named_before_the_model_runs(one_edit, linear):
    scene, _, model = one_edit
    lin, x, target, _ = linear
    small = data.generate([1, 0, 0, 0, 0, 0], seed=0, size=96).scene(0)
    region_ok = np.ones((8, 8), bool)
    cases = [
        (lambda: cf.scene_counterfactuals(model, scene, target="Flu"), "unknown class 'Flu'"),
        (lambda: cf.scene_counterfactuals(model, scene, target="Measles"),
         "'Measles' is class 3, but the model has only 2 classes"),
        (lambda: cf.scene_counterfactuals(model, scene, target=2), "out of range"),
        (lambda: cf.scene_counterfactuals(model, small), "scene is 96 x 96 px, but the model "
                                                         "takes 64 x 64"),
        (lambda: cf.scene_counterfactuals(model, scene.without(*scene.visible)),
         "no visible element"),
        (lambda: cf.scene_counterfactuals(model, scene, max_edits=0), "max_edits must be"),
        (lambda: cf.scene_counterfactuals(model, scene, edits=("move",)),
         "unknown edit kind 'move'"),
        (lambda: cf.scene_counterfactuals(model, scene, edits=()), "edits is empty"),
        (lambda: cf.scene_counterfactuals(model, scene, limit=0), "limit must be"),
        (lambda: cf.scene_counterfactuals(model, data.render(scene).image),
         "scene must be a shared.data.Scene"),
        (lambda: cf.pixel_counterfactual(lin, x, "Flu"), "unknown class 'Flu'"),
        (lambda: cf.pixel_counterfactual(lin, x, None), "target must be"),
        (lambda: cf.pixel_counterfactual(lin, rand_images(1, 16)[0], target),
         r"model expects \(8, 8, 3\)"),
        (lambda: cf.pixel_counterfactual(lin, x[None], target), "a batch"),
        (lambda: cf.pixel_counterfactual(lin, x * 2, target), r"in \[0, 1\]"),
        (lambda: cf.pixel_counterfactual(lin, x, target, region=np.ones((4, 4), bool)),
         r"region must be a bool \(H, W\) mask of the image's size \(8, 8\)"),
        (lambda: cf.pixel_counterfactual(lin, x, target, region=region_ok.astype(int)),
         "region must be a bool mask"),
        (lambda: cf.pixel_counterfactual(lin, x, target, region=~region_ok), "no pixel"),
        (lambda: cf.pixel_counterfactual(lin, x, target, distance="linf"),
         "distance must be one of"),
        (lambda: cf.pixel_counterfactual(lin, x, target, steps=0), "steps must be"),
        (lambda: cf.pixel_counterfactual(lin, x, target, weight=-1), "weight must be"),
        (lambda: cf.pixel_counterfactual(lin, x, target, learning_rate=0),
         "learning_rate must be"),
    ]
    with methods.count_passes() as passes:
        for call, message in cases:
            with pytest.raises(ValueError, match=message):
                call()
    assert passes.forward == passes.backward == 0
