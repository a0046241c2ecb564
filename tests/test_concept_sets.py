"""Concept image sets (shared.concept_sets): each set shows its concept and nothing it
excludes, the seeds stay clear of the book's splits, and the removal ground truth and
TCAV agree on toy models whose use of each concept is known by construction.

The toy models (64 x 64 px): a 1 x 1 convolution "pixels" with a ReLU whose three
channels are

* ``B - R - 0.05``: positive only on the ink dot, whose dark blue (0.16, 0.12, 0.45) is
  the one colour in the scenes with more blue than red; skin, lesions, red marks,
  hairs and moles have R > B, the ruler's body too, its grey ticks B - R of about 0.01
  at most (from the colour cast), and the sensor noise is grey, the same in every
  channel;
* ``R - G``: redness; and ``G``,

then pooling over the whole image ("features", 1 x 1 x 3, the layer TCAV reads) and a
dense head. The *ink model* reads the maximum of channel 0 only (class 0: ``+10 max``,
class 1: ``-10 max``), so its logit is exactly 0 on any image without ink; the *red
model* reads the mean of channel 1. The *frame model* multiplies the image by a mask
that keeps only its outer 4 pixels before the convolution and reads the mean
brightness there: at 64 px the ink dot's centre lies at least 6.4 px from the edge and
its radius is at most 1.6 px, so it never paints the frame, while a ruler (4 px wide at
this size) lies entirely in it. Hiding an element changes only its own footprint (the
renderer's 0-pixel margin), so which removals can move which model is known exactly.
"""

import dataclasses
import hashlib

import keras
import numpy as np
import pytest

from shared import concept_sets as cs
from shared import concepts, counterfactuals, data, methods
from toy_models import SpatialMask

L = keras.layers
SIZE = 64
N = 6
FRAME = 4


# ----------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def sets():
    return {c: cs.concept_images(c, N, size=SIZE) for c in cs.CONCEPTS}


def toy_model(head, pool="mean", frame=False):
    """1 x 1 conv "pixels" (ReLU of B - R - 0.05, R - G, G) -> max or average pooling
    over the whole image, "features" (1 x 1 x 3) -> 2 logits: class 0 = head . pooled,
    class 1 = -(that)."""
    inputs = keras.Input((SIZE, SIZE, 3))
    x = inputs
    if frame:
        mask = np.ones((SIZE, SIZE), np.float32)
        mask[FRAME:-FRAME, FRAME:-FRAME] = 0
        x = SpatialMask(mask, name="frame")(x)
    x = L.Conv2D(3, 1, activation="relu", name="pixels")(x)
    pooling = L.MaxPooling2D if pool == "max" else L.AveragePooling2D
    x = pooling(SIZE, name="features")(x)          # (1, 1, 3): each channel's max or mean
    x = L.Dense(2, name="logits")(L.Flatten()(x))
    model = keras.Model(inputs, L.Activation("softmax", name="probabilities")(x))
    if frame:       # identity: the channels are R, G, B
        kernel, bias = np.eye(3), np.zeros(3)
    else:           # rows: input R, G, B; columns: the three channels
        kernel = np.array([[-1.0, 1.0, 0.0], [0.0, -1.0, 1.0], [1.0, 0.0, 0.0]])
        bias = np.array([-0.05, 0.0, 0.0])
    model.get_layer("pixels").set_weights([kernel.reshape(1, 1, 3, 3), bias])
    head = np.asarray(head, np.float64)
    model.get_layer("logits").set_weights([np.stack([head, -head], 1), np.zeros(2)])
    return model


@pytest.fixture(scope="module")
def models():
    return dict(ink=toy_model([10.0, 0, 0], "max"), red=toy_model([0, 10.0, 0]),
                frame=toy_model([10.0, 10.0, 10.0], frame=True))


@pytest.fixture(scope="module")
def scenes():
    return {c: cs.concept_scenes(c, "Monkeypox", N, size=SIZE)
            for c in ("ink", "ruler", "red_marks", "dimple", "pustule", "hair")}


def _visible(scene):
    return [scene.elements[k] for k in scene.visible]


# ----------------------------------------------------------------------- the table

def test_the_concepts_are_named_described_and_sorted_into_removable_or_not():
    required = {"macule", "papule", "vesicle", "pustule", "crust", "eschar", "blotch",
                "dimple", "red_marks", "ink", "ruler", "hair", "dark_skin", "light_skin",
                "strong_light_gradient"}
    assert required <= set(cs.CONCEPTS)
    for name, text in cs.CONCEPTS.items():
        assert isinstance(text, str) and text and "\n" not in text, name
    assert cs.POCK_STAGES == counterfactuals.POCK_STAGES
    assert set(cs.REMOVABLE) == set(cs.CONCEPTS) - {
        "dark_skin", "light_skin", "strong_light_gradient", "strong_vignette"}
    assert set(cs.CONCEPT_CLASSES) == set(cs.CONCEPTS)


def test_concept_classes_match_the_sampler():
    """Which classes' scenes hold each concept, counted over 40 sampled scenes a class
    (no rendering): the table says exactly those classes (markers: planted anywhere)."""
    found = {c: set() for c in cs.CONCEPTS}
    for label, name in enumerate(data.CLASS_NAMES):
        for i in range(40):
            scene = data.sample_scene(cs.SEED_OFFSETS["scenes"], label, i, size=SIZE)
            for c in cs.CONCEPTS:
                if cs.has_concept(scene, c):
                    found[c].add(name)
    for c in cs.CONCEPTS:
        if c in ("ink", "ruler"):
            assert not found[c]            # only where planted
        else:
            assert found[c] == set(cs.CONCEPT_CLASSES[c]), c


# ----------------------------------------------------------------------- the sets

def test_each_set_shows_its_concept_and_nothing_it_excludes(sets):
    for c, ds in sets.items():
        group = cs._GROUP[c]
        assert ds.images.shape == (N, SIZE, SIZE, 3) and ds.images.dtype == np.float32, c
        assert ds.info["concept"] == c and ds.info["data_seed"] == 100_000
        lesion, distractor, marker = (ds.masks.any((1, 2)), ds.distractor_masks.any((1, 2)),
                                      ds.marker_masks.any((1, 2)))
        for i in range(N):
            scene, shown = ds.scene(i), _visible(ds.scene(i))
            assert cs.has_concept(scene, c), (c, i)
            # the instance map holds only the visible elements
            assert set(np.unique(ds.instances[i])) <= {0} | {k + 1 for k in scene.visible}
            if group == "stage":
                assert shown and all(isinstance(e, data.Pock) and e.shape == c
                                     and e.dimple == 0 for e in shown), c
            elif group == "dimple":
                assert shown and all(isinstance(e, data.Pock) and e.shape == "pustule"
                                     and e.dimple > 0 for e in shown)
            elif group == "lesion":
                assert shown and all(e.kind == "lesion" and e.shape == c for e in shown), c
            elif group == "distractor":
                assert shown and all(e.kind == "distractor" for e in shown), c
                assert c == "red_marks" or all(e.shape == c for e in shown), c
            elif group == "marker":
                assert [e.shape for e in shown] == [c]
            else:                                              # bare skin
                assert shown == [], c
        # every image has pixels of the concept's kind, none has pixels of another kind
        kind = {"stage": "lesion", "dimple": "lesion"}.get(group, group)
        for mask_kind, painted in (("lesion", lesion), ("distractor", distractor),
                                   ("marker", marker)):
            assert painted.all() if mask_kind == kind else not painted.any(), (c, mask_kind)
    assert all(len(s.skin.hairs) >= cs.HAIR_MIN for s in sets["hair"].scenes)
    assert all(s.lighting.gradient >= cs.STRONG_GRADIENT
               for s in sets["strong_light_gradient"].scenes)
    assert all(s.lighting.vignette >= cs.STRONG_VIGNETTE for s in sets["strong_vignette"].scenes)


def test_skin_tone_sets_split_by_tone(sets):
    dark = [np.mean(s.skin.tone) for s in sets["dark_skin"].scenes]
    light = [np.mean(s.skin.tone) for s in sets["light_skin"].scenes]
    assert max(dark) < cs.DARK_SKIN_MAX < cs.LIGHT_SKIN_MIN < min(light)
    assert sets["dark_skin"].images.mean() + 0.2 < sets["light_skin"].images.mean()


def test_stage_sets_are_the_same_pocks_in_other_stages(sets):
    for i in range(N):
        ref = sets["macule"].scene(i)
        for stage in cs.POCK_STAGES[1:]:
            other = sets[stage].scene(i)
            assert other.visible == ref.visible and other.skin == ref.skin
            for k in ref.visible:
                a, b = ref.elements[k], other.elements[k]
                assert (a.cy, a.cx, a.size, a.lobes) == (b.cy, b.cx, b.size, b.lobes)
    # a stage set's pocks are the sampler's pocks restaged (shared.counterfactuals)
    s = sets["crust"].scene(0)
    k = s.visible[0]
    source = data.sample_scene(cs.SEED_OFFSETS["concept"], s.label, 0, size=SIZE)  # candidate 0
    assert counterfactuals.restage(source, k, "crust").elements[k] == dataclasses.replace(
        s.elements[k], dimple=source.elements[k].dimple)


def _fingerprints(images):
    return {hashlib.sha256(np.round(x * 255).astype(np.uint8).tobytes()).hexdigest()
            for x in images}


def test_the_seeds_reproduce_no_image_of_the_book_splits(sets):
    splits = [data.load_split(name, 2, size=SIZE) for name in data.SPLIT_SEEDS]
    split_skins = {s.skin.pigment for ds in splits for s in ds.scenes}
    split_prints = set().union(*(_fingerprints(ds.images) for ds in splits))
    ours = list(sets.values()) + [cs.random_images(12, seed=0, size=SIZE),
                                  cs.concept_scenes("pustule", "Smallpox", 4, size=SIZE)]
    for ds in ours:
        assert ds.info["data_seed"] not in data.SPLIT_SEEDS.values()
        # the skin's 8 x 8 pigment grid: 64 random floats, unique to a sampled scene
        assert not {s.skin.pigment for s in ds.scenes} & split_skins
        assert not _fingerprints(ds.images) & split_prints
    assert len(split_skins) == 36 and len(split_prints) == 36


def test_sets_are_deterministic_and_seeds_differ(sets):
    again = cs.concept_images("pustule", N, size=SIZE)
    np.testing.assert_array_equal(again.images, sets["pustule"].images)
    assert again.scenes == sets["pustule"].scenes
    head = cs.concept_images("eschar", 3, size=SIZE)                 # a prefix of the set
    np.testing.assert_array_equal(head.images, sets["eschar"].images[:3])
    other = cs.concept_images("pustule", N, seed=1, size=SIZE)
    assert other.info["data_seed"] == 100_001
    assert not _fingerprints(other.images) & _fingerprints(sets["pustule"].images)

    r = cs.random_images(12, seed=4, size=SIZE)
    np.testing.assert_array_equal(cs.random_images(12, seed=4, size=SIZE).images, r.images)
    assert r.info["data_seed"] == 300_004
    assert len(set(r.labels.tolist())) >= 3                 # random classes ...
    assert all(not s.hidden for s in r.scenes)                # ... with every element kept
    assert any(s.indices("lesion") for s in r.scenes) and any(
        s.indices("distractor") for s in r.scenes)
    assert not any(s.indices("marker") for s in r.scenes)
    sets_ = cs.random_sets(3, 4, seed=3, size=SIZE)
    assert len(sets_) == 3 and all(x.shape == (4, SIZE, SIZE, 3) for x in sets_)
    np.testing.assert_array_equal(sets_[1], r.images[:4])
    prints = [_fingerprints(x) for x in sets_]
    assert not (prints[0] & prints[1] or prints[0] & prints[2] or prints[1] & prints[2])


def test_concept_scenes_are_complete_scenes_of_the_class_with_the_concept(scenes):
    for c, ds in scenes.items():
        assert (ds.labels == data.class_index("Monkeypox")).all(), c
        assert ds.info["data_seed"] == 200_000
        for s in ds.scenes:
            assert cs.has_concept(s, c) and not s.hidden and s.indices("lesion"), c
    assert scenes["ink"].marker_masks.any((1, 2)).all()


def test_remove_concept_takes_away_the_concept_and_changes_only_its_pixels(scenes):
    for c in ("ink", "ruler", "red_marks", "pustule", "dimple", "hair"):
        for s in scenes[c].scenes:
            after = cs.remove_concept(s, c)
            assert not cs.has_concept(after, c), c
            if c == "dimple":             # the pocks stay, without their dimple
                assert after.visible == s.visible
                changed = {k for k in s.visible if after.elements[k] != s.elements[k]}
                assert changed and all(after.elements[k].dimple == 0 for k in changed)
                assert all(s.elements[k].dimple > 0 for k in changed)
            elif c == "hair":
                assert after.skin.hairs == () and after.elements == s.elements
            else:
                gone = set(s.visible) - set(after.visible)
                assert gone and all(s.elements[k].shape == c or (
                    c == "red_marks" and s.elements[k].kind == "distractor") for k in gone)
                assert after.skin == s.skin and after.lighting == s.lighting
    s = scenes["ink"].scene(0)
    (k,) = s.indices("marker")
    before, after = data.render(s).image, data.render(cs.remove_concept(s, "ink")).image
    moved = (before != after).any(-1)
    assert moved.any() and not (moved & ~s.footprint(k)).any()
    # a stage's removal hides the pocks in that stage only
    s = scenes["pustule"].scene(0)
    after = cs.remove_concept(s, "pustule")
    assert all(s.elements[k].shape == "pustule" for k in set(s.visible) - set(after.visible))


# ----------------------------------------------------------------------- ground truth

def test_removal_effect_moves_only_the_models_that_use_the_concept(models, scenes):
    ink = cs.concept_removal_effect(models["ink"], "ink", scenes["ink"], 0)
    assert ink.concept == "ink" and ink.used.tolist() == list(range(N))
    assert (ink.effect > 0).all() and (ink.removed == 1).all()
    np.testing.assert_array_equal(ink.without_concept, 0.0)      # no ink: logit exactly 0
    np.testing.assert_array_equal(ink.effect, ink.with_concept - ink.without_concept)
    np.testing.assert_array_equal(ink.targets, 0)
    # the ink model ignores every other element: nothing else moves it
    for c in ("ruler", "red_marks", "pustule", "hair"):
        r = cs.concept_removal_effect(models["ink"], c, scenes[c], 0)
        np.testing.assert_array_equal(r.effect, 0.0)
    # the frame model never sees the ink, but sees the ruler
    np.testing.assert_array_equal(
        cs.concept_removal_effect(models["frame"], "ink", scenes["ink"], 0).effect, 0.0)
    assert (cs.concept_removal_effect(models["frame"], "ruler", scenes["ruler"], 0).effect
            != 0).all()
    # the red model sees the red marks; for class 1 the effect mirrors class 0's
    red0 = cs.concept_removal_effect(models["red"], "red_marks", scenes["red_marks"], 0)
    red1 = cs.concept_removal_effect(models["red"], "red_marks", scenes["red_marks"],
                                     [1] * N)
    assert (red0.effect > 0).all()
    np.testing.assert_allclose(red1.effect, -red0.effect, rtol=1e-5)


def test_removal_effect_passes_over_scenes_without_the_concept(models, scenes):
    mixed = list(scenes["red_marks"].scenes[:2]) + list(scenes["ink"].scenes[:3])
    r = cs.concept_removal_effect(models["ink"], "ink", mixed, None)
    assert r.used.tolist() == [2, 3, 4]
    np.testing.assert_array_equal(r.targets, 0)         # predicted: ink raises class 0
    full = cs.concept_removal_effect(models["ink"], "ink", scenes["ink"][:3], "Chickenpox")
    np.testing.assert_array_equal(r.effect, full.effect)


def test_tcav_on_the_generated_sets_agrees_with_the_removal_ground_truth(models, scenes):
    """The ink model: TCAV finds "ink" (every score 1) and not "ruler" (every score 0,
    as the null's: random images hold no ink, so channel 0 is 0 for them and for the
    ruler set, the CAVs get 0 weight there, and every derivative is exactly 0), though
    both concepts are linearly readable at the layer (held-out accuracy 0.96 each)."""
    model = models["ink"]
    randoms = cs.random_sets(3, 12, seed=0, size=SIZE)
    images = scenes["ink"].images
    found = concepts.tcav(model, "features", cs.concept_images("ink", 12, size=SIZE).images,
                          randoms, images, 0)
    ignored = concepts.tcav(model, "features", cs.concept_images("ruler", 12, size=SIZE).images,
                            randoms, images, 0)
    np.testing.assert_array_equal(found.scores, 1.0)
    assert found.significant and found.mean > found.null_mean
    np.testing.assert_array_equal(ignored.scores, 0.0)
    assert not ignored.significant and ignored.p_value == 1.0
    assert found.accuracy > 0.8 and ignored.accuracy > 0.8
    truth_ink = cs.concept_removal_effect(model, "ink", scenes["ink"], 0)
    truth_ruler = cs.concept_removal_effect(model, "ruler", scenes["ruler"], 0)
    assert (truth_ink.effect > 0).all() and (truth_ruler.effect == 0).all()


# ----------------------------------------------------------------------- bad inputs

def _bad_cases(models, scenes):
    m, ink = models["ink"], scenes["ink"]
    no_ink = scenes["red_marks"]
    big = cs.concept_scenes("ink", "Healthy", 1, size=96)
    return [
        (lambda: cs.concept_images("stripes", 3),
         "unknown concept 'stripes'; known concepts: macule, papule, .*strong_vignette"),
        (lambda: cs.concept_images("ink", 0), "n must be a positive int, got 0"),
        (lambda: cs.concept_images("ink", 2.5), "n must be a positive int"),
        (lambda: cs.concept_images("ink", 2, seed=-1), r"seed must be an int in 0\.\.99999"),
        (lambda: cs.concept_images("ink", 2, seed=cs.SEED_LIMIT), "seed must be an int"),
        (lambda: cs.concept_images("ink", 2, size=32), "size must be an int >= 64"),
        (lambda: cs.concept_scenes("eschar", "Chickenpox", 2),
         "class Chickenpox never has 'eschar'; classes that have it: Cowpox"),
        (lambda: cs.concept_scenes("macule", "Monkeypox", 2),
         "class Monkeypox never has 'macule'; classes that have it: Chickenpox"),
        (lambda: cs.concept_scenes("ink", "Flu", 2), "unknown class 'Flu'"),
        (lambda: cs.concept_scenes("nope", "Healthy", 2), "unknown concept 'nope'"),
        (lambda: cs.random_images(0, seed=0), "n must be a positive int"),
        (lambda: cs.random_images(2, seed=None), "seed must be an int"),
        (lambda: cs.random_sets(0, 3, seed=0), "k must be a positive int"),
        (lambda: cs.random_sets(2, 3, seed=cs.SEED_LIMIT - 1), "seed \\+ k must be at most"),
        (lambda: cs.has_concept(ink.scene(0), "ink dot"), "unknown concept 'ink dot'"),
        (lambda: cs.remove_concept(ink.images[0], "ink"), "scene must be a shared.data.Scene"),
        (lambda: cs.remove_concept(ink.scene(0), "dark_skin"),
         "concept 'dark_skin' is not removable: skin tone .*removable concepts: macule"),
        (lambda: cs.remove_concept(no_ink.scene(0), "ink"), "this scene has no ink to remove"),
        (lambda: cs.concept_removal_effect(m, "strong_light_gradient", ink),
         "concept 'strong_light_gradient' is not removable: the lighting"),
        (lambda: cs.concept_removal_effect(m, "ink", ink.images),
         "scenes must be a Dataset with scenes .* not ndarray"),
        (lambda: cs.concept_removal_effect(m, "ink", []), "scenes is empty"),
        (lambda: cs.concept_removal_effect(m, "ink", [ink.scene(0), "x"]),
         r"scenes\[1\] is a str"),
        (lambda: cs.concept_removal_effect(m, "ink", no_ink),
         f"none of the {N} scenes holds the concept 'ink'"),
        (lambda: cs.concept_removal_effect(m, "ink", big),
         "the scenes are 96 x 96 px, but the model takes 64 x 64"),
        (lambda: cs.concept_removal_effect(m, "ink", ink, [0, 1]),
         "targets must be one int or a sequence of one int per image"),
        (lambda: cs.concept_removal_effect(m, "ink", ink, 5), "target class index 5 out of range"),
        (lambda: cs.concept_removal_effect(m, "ink", ink, batch_size=0),
         "batch_size must be a positive int"),
    ]


def test_bad_inputs_raise_before_any_work(models, scenes):
    for call, match in _bad_cases(models, scenes):
        with methods.count_passes() as passes, pytest.raises(ValueError, match=match):
            call()
        assert (passes.forward, passes.backward) == (0, 0), match
