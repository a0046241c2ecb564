"""Concept image sets for TCAV, drawn by the generator, and the ground truth to check it.

TCAV (:mod:`shared.concepts`) needs a set of images that show a concept, random sets of
images that do not single out anything, and the images of the class to test. Real
concept sets are collected by hand and show more than the concept (a photograph of
"stripes" has a background, a colour, a texture). Here the images are *drawn*: each
concept set is rendered from scenes (:mod:`shared.data`) in which only the concept is
left, so a concept is exactly what its name says, and the same scenes tell what the
model would do *without* the concept, which is what TCAV claims to measure.

Concepts
--------
:data:`CONCEPTS` names each concept with a one-line description. How its images are
made by :func:`concept_images` (every image is a scene sampled by
:func:`shared.data.sample_scene`, of the classes named, in turn; skin, freckles, moles,
hairs and lighting stay as sampled, as in the random sets; the random images also keep
their lesions and red marks, which a concept set leaves out, so a CAV learns "this
concept and no other element" against them):

========================= ============================================================
``macule`` ... ``crust``  the five pock stages. Scenes of the classes with pock lesions
                          (Chickenpox, Monkeypox, Smallpox); every pock is restaged to
                          the stage (:func:`shared.counterfactuals.restage`) with its
                          dimple taken away, and every other element is hidden: bare
                          skin with pocks of one stage. With the same seed the five
                          stage sets are the *same* pocks in five stages.
``dimple``                umbilicated pustules. Monkeypox and Smallpox scenes; only the
                          pocks that carry a dimple are kept, each restaged as a
                          pustule (its dimple stays). Against ``pustule`` the one
                          difference is the dimple.
``eschar``, ``blotch``    Cowpox scenes with only their eschars; Measles scenes with
                          only their blotches.
``red_marks``             the red distractors (any shape): scenes of every class with
                          only their distractors (the distractors have one
                          distribution for all classes). ``bite``, ``scratch``,
                          ``birthmark``, ``pressure``: the same, one shape only.
``ink``, ``ruler``        the planted shortcut markers: scenes of every class sampled
                          with the marker planted (``marker_fraction=1``) and only the
                          marker kept.
``hair``                  bare skin (every element hidden) whose skin has at least
                          :data:`HAIR_MIN` hairs.
``dark_skin``             bare skin whose tone's mean RGB value is below
                          :data:`DARK_SKIN_MAX`; ``light_skin``: above
                          :data:`LIGHT_SKIN_MIN` (the sampler's tones run from 0.83 to
                          0.26; about 34 % and 26 % of the scenes pass).
``strong_light_gradient`` bare skin whose lighting gradient is at least
                          :data:`STRONG_GRADIENT` (the sampler draws 0 to 0.35).
``strong_vignette``       bare skin whose vignette is at least :data:`STRONG_VIGNETTE`
                          (the sampler draws 0 to 0.18).
========================= ============================================================

Scenes that lack the concept (a Smallpox scene with no dimpled pock, a scene with no
red mark, too few hairs or another skin tone) are passed over, so a set of ``n`` images holds ``n`` images that
show it; asking for more images with the same seed extends a set without changing the
images already in it.

The random counterexamples (:func:`random_images`, :func:`random_sets`): the paper
draws random images from the same distribution as the rest (ImageNet); here they are
generated scenes of random classes (uniform) with every element kept and no marker,
the distribution the book's model was trained on.

The class images to test and to intervene on (:func:`concept_scenes`): complete scenes
(every element kept) of one class that hold the concept *naturally*, e.g. Chickenpox
scenes with at least one macule; for ``ink`` and ``ruler``, scenes sampled with the
marker planted. :data:`CONCEPT_CLASSES` lists the classes whose scenes can hold each
concept; asking another class is an error.

Ground truth
------------
:func:`concept_removal_effect` renders each scene that holds the concept twice, as it
is and with the concept removed (:func:`remove_concept`), and returns the target logit
of both and their difference: the concept's effect on the model, measured by an
intervention rather than by a direction in activation space. The removable concepts
(:data:`REMOVABLE`) and what removal means:

* lesions, distractors, markers: the concept's elements are hidden
  (:meth:`Scene.without <shared.data.Scene.without>`; the skin beneath shows as it
  would have been). For a stage: the pocks *in that stage* are removed;
* ``dimple``: every dimpled raised pock (papule, vesicle, pustule: a dimple shows only
  on those) gets ``dimple=0``; the pock stays;
* ``hair``: the skin's hairs are taken off.

Skin tone and lighting are not removable: they are not an element of the image but
colour every pixel, and no setting of them is "absent" (:func:`remove_concept` says so).

Seeds
-----
A ``seed`` is an int in ``0 .. SEED_LIMIT - 1``; the scenes come from the dataset seed
``SEED_OFFSETS[use] + seed`` (:func:`shared.data.sample_scene`'s first argument):
100000 + seed for concept images, 200000 + seed for class scenes, 300000 + seed for
random images. The ranges do not meet each other, the book's splits
(:data:`shared.data.SPLIT_SEEDS`: 1, 2, 3) or the other seeds the book draws images
with (0-5, 99, 101, 102, 2024, 12345), and every image's stream derives from
``(seed, class, index)``, so no concept, class or random image is an image of the
training, validation or test split. :func:`random_sets` with ``seed=s`` returns the
random sets ``s, s + 1, ..., s + k - 1``, like the reference code's fixed
``random500_0``, ``random500_1``, ...: the same random sets serve every concept.

Every function checks its arguments before any work, with a ``ValueError`` that names
the problem.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Sequence

import numpy as np

from . import data

POCK_STAGES = ("macule", "papule", "vesicle", "pustule", "crust")
"""The pock stages (:data:`shared.counterfactuals.POCK_STAGES`)."""

_RAISED = ("papule", "vesicle", "pustule")        # the stages a dimple shows on

HAIR_MIN = 5
"""A ``hair`` concept image has at least this many hairs (the sampler gives 0, 2, 5 or
10); a scene holds the concept (:func:`has_concept`) with any hair."""

DARK_SKIN_MAX = 0.45
"""``dark_skin``: the skin tone's mean RGB value is below this."""

LIGHT_SKIN_MIN = 0.70
"""``light_skin``: the skin tone's mean RGB value is above this."""

STRONG_GRADIENT = 0.25
"""``strong_light_gradient``: the lighting gradient is at least this (sampled in 0-0.35)."""

STRONG_VIGNETTE = 0.13
"""``strong_vignette``: the vignette is at least this (sampled in 0-0.18)."""

SEED_OFFSETS = {"concept": 100_000, "scenes": 200_000, "random": 300_000}
"""The dataset seed of a set is its offset plus ``seed``: concept images, class scenes
(:func:`concept_scenes`), random images."""

SEED_LIMIT = 100_000
"""Seeds run from 0 to ``SEED_LIMIT - 1``, so that the three ranges stay apart."""

CONCEPTS: dict[str, str] = {
    "macule": "flat red spots: pock lesions in the macule stage",
    "papule": "raised red bumps: pock lesions in the papule stage",
    "vesicle": "clear blisters on a red base: pock lesions in the vesicle stage",
    "pustule": "yellowish pus-filled bumps: pock lesions in the pustule stage, no dimple",
    "crust": "dark scabs: pock lesions in the crust stage",
    "dimple": "umbilicated pustules: pustules with a dark central dimple",
    "eschar": "cowpox lesions: a dark eschar in a pale ring and a red halo",
    "blotch": "measles rash: flat, lobed, mottled red patches",
    "red_marks": "the benign red distractors: bites, scratches, birthmarks, pressure marks",
    "bite": "insect bites: a red papule in a pink wheal, some with a dark punctum",
    "scratch": "scratches: thin curved red lines, some doubled",
    "birthmark": "small flat red birthmarks with a sharp, irregular border",
    "pressure": "pressure marks: straight soft-edged red bands",
    "ink": "the planted shortcut: a dark blue pen dot",
    "ruler": "the planted shortcut: a ruler with ticks along one edge",
    "hair": f"hairs on bare skin (at least {HAIR_MIN})",
    "dark_skin": f"bare skin of a dark tone (mean RGB of the tone below {DARK_SKIN_MAX})",
    "light_skin": f"bare skin of a light tone (mean RGB of the tone above {LIGHT_SKIN_MIN})",
    "strong_light_gradient": f"bare skin lit unevenly (lighting gradient >= {STRONG_GRADIENT})",
    "strong_vignette": f"bare skin with dark corners (vignette >= {STRONG_VIGNETTE})",
}
"""Every concept, name -> one-line description (see the module's docstring for how each
set is made)."""

_DISTRACTORS = data.DISTRACTOR_SHAPES             # ("bite", "scratch", "birthmark", "pressure")
_GROUP = {**{s: "stage" for s in POCK_STAGES}, "dimple": "dimple", "eschar": "lesion",
          "blotch": "lesion", "red_marks": "distractor",
          **{s: "distractor" for s in _DISTRACTORS}, "ink": "marker", "ruler": "marker",
          "hair": "hair", "dark_skin": "skin", "light_skin": "skin",
          "strong_light_gradient": "lighting", "strong_vignette": "lighting"}

_ALL = tuple(range(len(data.CLASS_NAMES)))
_POCK_CLASSES = tuple(data.class_index(c) for c in ("Chickenpox", "Monkeypox", "Smallpox"))

# Which classes' scenes hold each concept naturally (shared.data.sampling): chickenpox
# mixes all five stages; monkeypox is all pustules or all vesicles, most dimpled;
# smallpox all pustules, papules or crusts, a few dimpled. The tests check this table
# against the sampler.
_NATURAL = {
    "macule": ("Chickenpox",), "papule": ("Chickenpox", "Smallpox"),
    "vesicle": ("Chickenpox", "Monkeypox"), "pustule": ("Chickenpox", "Monkeypox", "Smallpox"),
    "crust": ("Chickenpox", "Smallpox"), "dimple": ("Monkeypox", "Smallpox"),
    "eschar": ("Cowpox",), "blotch": ("Measles",),
}
CONCEPT_CLASSES: dict[str, tuple[str, ...]] = {
    c: _NATURAL.get(c, data.CLASS_NAMES) for c in CONCEPTS}
"""The classes whose scenes can hold each concept (markers: planted in any class)."""

# The classes concept images are drawn from: any pock can be restaged, so every stage
# is drawn from all three pock classes (the same pocks for every stage).
_SOURCES = {**{s: _POCK_CLASSES for s in POCK_STAGES},
            **{c: tuple(data.class_index(k) for k in _NATURAL[c])
               for c in ("dimple", "eschar", "blotch")}}

REMOVABLE = tuple(c for c in CONCEPTS if _GROUP[c] not in ("skin", "lighting"))
"""The concepts :func:`remove_concept` and :func:`concept_removal_effect` can remove."""

_TRIES_PER_IMAGE = 50          # candidate scenes per requested image before giving up


# --------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------

def _concept(concept) -> str:
    if not isinstance(concept, str) or concept not in CONCEPTS:
        raise ValueError(f"unknown concept {concept!r}; known concepts: "
                         f"{', '.join(CONCEPTS)}")
    return concept


def _removable(concept) -> str:
    concept = _concept(concept)
    if concept not in REMOVABLE:
        what = "skin tone" if _GROUP[concept] == "skin" else "the lighting"
        raise ValueError(f"concept {concept!r} is not removable: {what} is not an element "
                         "of the scene but colours every pixel, and no setting of it is "
                         f"'absent'; removable concepts: {', '.join(REMOVABLE)}")
    return concept


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) \
            or not 0 <= seed < SEED_LIMIT:
        raise ValueError(f"seed must be an int in 0..{SEED_LIMIT - 1}, got {seed!r}")
    return int(seed)


def _size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 64:
        raise ValueError(f"size must be an int >= 64, got {size!r}")
    return int(size)


def _scene(scene) -> data.Scene:
    if not isinstance(scene, data.Scene):
        raise ValueError(f"scene must be a shared.data.Scene (e.g. dataset.scene(0)), got "
                         f"{type(scene).__name__}")
    return scene


# --------------------------------------------------------------------------------------
# The concept in one scene
# --------------------------------------------------------------------------------------

def _elements(scene: data.Scene, concept: str) -> tuple[int, ...]:
    """The visible elements that make up an element concept in ``scene``."""
    group = _GROUP[concept]
    els = scene.elements
    if group == "stage":
        return tuple(k for k in scene.visible
                     if isinstance(els[k], data.Pock) and els[k].shape == concept)
    if group == "dimple":
        return tuple(k for k in scene.visible if isinstance(els[k], data.Pock)
                     and els[k].dimple > 0 and els[k].shape in _RAISED)
    if concept == "red_marks":
        return scene.indices("distractor")
    return tuple(k for k in scene.indices(group) if els[k].shape == concept)


def _tone(scene: data.Scene) -> float:
    return float(np.mean(scene.skin.tone))


def has_concept(scene, concept: str) -> bool:
    """Whether ``scene`` holds the concept: a visible element of it (for a stage, a
    visible pock in that stage; for ``dimple``, a visible dimpled papule, vesicle or
    pustule), at least one hair, or skin tone or lighting past the concept's threshold."""
    scene, concept = _scene(scene), _concept(concept)
    group = _GROUP[concept]
    if group == "hair":
        return len(scene.skin.hairs) > 0
    if group == "skin":
        tone = _tone(scene)
        return tone < DARK_SKIN_MAX if concept == "dark_skin" else tone > LIGHT_SKIN_MIN
    if group == "lighting":
        if concept == "strong_light_gradient":
            return scene.lighting.gradient >= STRONG_GRADIENT
        return scene.lighting.vignette >= STRONG_VIGNETTE
    return bool(_elements(scene, concept))


def _replace_elements(scene: data.Scene, changes: dict) -> data.Scene:
    elements = list(scene.elements)
    for k, fields in changes.items():
        elements[k] = dataclasses.replace(elements[k], **fields)
    return dataclasses.replace(scene, elements=tuple(elements))


def remove_concept(scene, concept: str) -> data.Scene:
    """The scene without the concept (see the module's docstring for what removal means
    for each concept); only pixels the concept painted change.

    Raises ``ValueError`` for a concept that is not removable (skin tone, lighting) or
    that the scene does not hold.
    """
    scene, concept = _scene(scene), _removable(concept)
    if not has_concept(scene, concept):
        raise ValueError(f"this scene has no {concept} to remove ({scene.summary()})")
    group = _GROUP[concept]
    if group == "hair":
        return dataclasses.replace(scene, skin=dataclasses.replace(scene.skin, hairs=()))
    ks = _elements(scene, concept)
    if group == "dimple":
        return _replace_elements(scene, {k: dict(dimple=0.0) for k in ks})
    return scene.without(*ks)


def _removed_count(scene: data.Scene, concept: str) -> int:
    return len(scene.skin.hairs) if _GROUP[concept] == "hair" else len(_elements(scene, concept))


def _restaged(scene: data.Scene, ks, stage: str, **fields) -> data.Scene:
    from . import counterfactuals          # imported here: it loads TensorFlow

    for k in ks:
        scene = counterfactuals.restage(scene, k, stage)
    return _replace_elements(scene, {k: fields for k in ks}) if fields else scene


def _isolated(scene: data.Scene, concept: str) -> data.Scene | None:
    """The concept image's scene made from ``scene``, or None when it lacks the concept."""
    group = _GROUP[concept]
    if group in ("hair", "skin", "lighting"):
        bare = scene.empty()
        if group == "hair":
            return bare if len(scene.skin.hairs) >= HAIR_MIN else None
        return bare if has_concept(bare, concept) else None
    if group == "stage":
        ks = tuple(k for k in scene.visible if isinstance(scene.elements[k], data.Pock))
        return _restaged(scene, ks, concept, dimple=0.0).only(*ks) if ks else None
    if group == "dimple":
        ks = tuple(k for k in scene.visible if isinstance(scene.elements[k], data.Pock)
                   and scene.elements[k].dimple > 0)
        return _restaged(scene, ks, "pustule").only(*ks) if ks else None
    ks = _elements(scene, concept)
    return scene.only(*ks) if ks else None


# --------------------------------------------------------------------------------------
# Image sets
# --------------------------------------------------------------------------------------

def _search(concept: str, n: int, data_seed: int, classes: tuple[int, ...], size: int,
            make) -> list[data.Scene]:
    """The first ``n`` scenes ``make`` accepts among scenes of ``classes`` in turn:
    candidate ``j`` is image ``j // len(classes)`` of class ``classes[j % len(classes)]``."""
    marker = concept if _GROUP[concept] == "marker" else None
    out: list[data.Scene] = []
    limit = _TRIES_PER_IMAGE * n + 100
    for j in range(limit):
        scene = data.sample_scene(data_seed, classes[j % len(classes)], j // len(classes),
                                  size=size, marker_kind=marker, marker_fraction=1.0)
        made = make(scene)
        if made is not None:
            out.append(made)
            if len(out) == n:
                return out
    raise RuntimeError(f"only {len(out)} of {n} scenes with {concept!r} among {limit} "
                       f"candidates (dataset seed {data_seed})")


def _dataset(scenes: list[data.Scene], **info) -> data.Dataset:
    ds = data.render_many(scenes)
    ds.info = info
    return ds


def concept_images(concept: str, n: int, *, seed: int = 0,
                   size: int = data.IMAGE_SIZE) -> data.Dataset:
    """``n`` images that show the concept and nothing the concept excludes.

    Each image is a scene sampled from dataset seed ``SEED_OFFSETS["concept"] + seed``
    (100000 + seed: disjoint from the book's splits) and cut down to the concept: for
    a lesion or distractor concept, every other element is hidden (bare skin with the
    concept on it); for a stage, every pock is restaged to it (dimples taken away);
    for ``dimple``, the dimpled pocks restaged as pustules; for a marker, the planted
    marker alone; for hair, skin tone and lighting, the bare skin of scenes that pass
    the concept's threshold. The module's docstring has the table.

    Args:
        concept: a name in :data:`CONCEPTS`.
        n: the number of images, at least 1. More images with the same seed extend
            the set: the first ``n`` stay the same.
        seed: an int in ``0 .. SEED_LIMIT - 1``.
        size: side length in pixels (at least 64).

    Returns:
        A :class:`shared.data.Dataset` with the scenes (``ds.scene(i)``); ``labels``
        are the classes the scenes were drawn from; ``info`` says how it was made.
    """
    concept = _concept(concept)
    n, seed, size = _positive_int("n", n), _seed(seed), _size(size)
    data_seed = SEED_OFFSETS["concept"] + seed
    classes = _SOURCES.get(concept, _ALL)
    scenes = _search(concept, n, data_seed, classes, size, lambda s: _isolated(s, concept))
    return _dataset(scenes, concept=concept, seed=seed, data_seed=data_seed, size=size,
                    source_classes=[data.CLASS_NAMES[c] for c in classes])


def concept_scenes(concept: str, label, n: int, *, seed: int = 0,
                   size: int = data.IMAGE_SIZE) -> data.Dataset:
    """``n`` complete scenes of class ``label`` (every element kept) that hold the concept.

    The images to test a concept on and to remove it from (:func:`concept_removal_effect`):
    scenes of the class from dataset seed ``SEED_OFFSETS["scenes"] + seed`` (200000 +
    seed), in index order, those without the concept passed over (:func:`has_concept`);
    for ``ink`` and ``ruler``, sampled with the marker planted.

    Raises ``ValueError`` when the class never holds the concept
    (:data:`CONCEPT_CLASSES`), e.g. ``"eschar"`` in Chickenpox.
    """
    concept = _concept(concept)
    c = data.class_index(label)
    name = data.CLASS_NAMES[c]
    if name not in CONCEPT_CLASSES[concept]:
        raise ValueError(f"class {name} never has {concept!r}; classes that have it: "
                         f"{', '.join(CONCEPT_CLASSES[concept])}")
    n, seed, size = _positive_int("n", n), _seed(seed), _size(size)
    data_seed = SEED_OFFSETS["scenes"] + seed
    scenes = _search(concept, n, data_seed, (c,), size,
                     lambda s: s if has_concept(s, concept) else None)
    return _dataset(scenes, concept=concept, label=name, seed=seed, data_seed=data_seed,
                    size=size)


def random_images(n: int, *, seed: int, size: int = data.IMAGE_SIZE) -> data.Dataset:
    """``n`` random counterexamples: generated scenes of random classes, everything kept.

    Image ``i`` is image ``i`` of a class drawn uniformly (numpy's generator seeded with
    the dataset seed), sampled from dataset seed ``SEED_OFFSETS["random"] + seed``
    (300000 + seed), with no marker. Returns a :class:`shared.data.Dataset`
    (``.images`` is what :func:`shared.concepts.tcav` takes).
    """
    n, seed, size = _positive_int("n", n), _seed(seed), _size(size)
    data_seed = SEED_OFFSETS["random"] + seed
    labels = np.random.default_rng(data_seed).integers(len(data.CLASS_NAMES), size=n)
    scenes = [data.sample_scene(data_seed, int(c), i, size=size) for i, c in enumerate(labels)]
    return _dataset(scenes, random=True, seed=seed, data_seed=data_seed, size=size)


def random_sets(k: int, n: int, *, seed: int, size: int = data.IMAGE_SIZE) -> list[np.ndarray]:
    """``k`` random sets of ``n`` images each, for :func:`shared.concepts.tcav`: set ``i``
    is ``random_images(n, seed=seed + i).images``, so every set has its own seed and a
    larger ``k`` extends the list."""
    k, n, seed, size = _positive_int("k", k), _positive_int("n", n), _seed(seed), _size(size)
    if seed + k > SEED_LIMIT:
        raise ValueError(f"seed + k must be at most {SEED_LIMIT}, got {seed} + {k}")
    return [random_images(n, seed=seed + i, size=size).images for i in range(k)]


# --------------------------------------------------------------------------------------
# Ground truth: removing the concept
# --------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, eq=False)
class RemovalEffect:
    """What removing a concept did to the target logit, per scene that held it.

    Attributes:
        concept: the concept's name.
        used: int64 (M,), the positions (in the scenes passed) of the scenes that held
            the concept; the others were passed over.
        targets: int32 (M,), the class whose logit was read.
        with_concept: float64 (M,), the target logit of the scene as it was.
        without_concept: float64 (M,), the same after :func:`remove_concept`.
        effect: ``with_concept - without_concept``: what the concept adds to the logit
            (positive: it raises the class, as a TCAV score above the null claims;
            removing the concept changes the logit by ``-effect``).
        removed: int64 (M,), how many elements (hairs for ``hair``; dimples for
            ``dimple``) were removed from each scene.
    """
    concept: str
    used: np.ndarray
    targets: np.ndarray
    with_concept: np.ndarray
    without_concept: np.ndarray
    effect: np.ndarray
    removed: np.ndarray


def _scene_list(scenes) -> list[data.Scene]:
    if isinstance(scenes, data.Dataset):
        if scenes.scenes is None:
            raise ValueError("this Dataset has no scenes (loaded from a folder?): removing "
                             "a concept needs generated scenes")
        return list(scenes.scenes)
    if isinstance(scenes, data.Scene):
        return [scenes]
    if isinstance(scenes, np.ndarray) or not isinstance(scenes, Sequence):
        raise ValueError("scenes must be a Dataset with scenes (concept_scenes, generate, "
                         "load_split) or a list of Scenes, not "
                         f"{type(scenes).__name__}: a concept can only be removed from a "
                         "scene and re-rendered, not from pixels")
    out = list(scenes)
    for i, s in enumerate(out):
        if not isinstance(s, data.Scene):
            raise ValueError(f"scenes[{i}] is a {type(s).__name__}, not a shared.data.Scene")
    if not out:
        raise ValueError("scenes is empty")
    return out


def concept_removal_effect(model, concept: str, scenes, targets=None, *,
                           batch_size: int = 64) -> RemovalEffect:
    """The interventional ground truth for TCAV: each scene's target logit with and
    without the concept.

    Every scene that holds the concept (:func:`has_concept`; the others are passed over
    and :attr:`RemovalEffect.used` says which were kept) is rendered as it is and after
    :func:`remove_concept`, and the model's logits are read for both.

    Args:
        model: any Keras classifier the engine accepts, taking images of the scenes' size.
        concept: a removable concept (:data:`REMOVABLE`).
        scenes: a :class:`shared.data.Dataset` with scenes (e.g. :func:`concept_scenes`)
            or a sequence of :class:`shared.data.Scene`.
        targets: the class whose logit is read: ``None`` (each image's predicted class,
            with the concept), a class index or name, or one index per scene passed.
        batch_size: images per model call.

    Returns:
        :class:`RemovalEffect`.
    """
    from . import methods
    from .methods.inputs import check_targets

    concept = _removable(concept)
    scene_list = _scene_list(scenes)
    batch_size = _positive_int("batch_size", batch_size)
    net = methods.network(model)
    sizes = sorted({s.size for s in scene_list})
    if len(sizes) != 1:
        raise ValueError(f"all scenes must have the same size, got sizes {sizes}")
    h, w = net.input_shape[:2]
    if (h is not None and h != sizes[0]) or (w is not None and w != sizes[0]):
        raise ValueError(f"the scenes are {sizes[0]} x {sizes[0]} px, but the model takes "
                         f"{h} x {w} images (draw them at size={h})")
    t_all = None
    if targets is not None:
        if isinstance(targets, str):
            targets = data.class_index(targets)
        t_all = check_targets(targets, len(scene_list), net.num_classes)
    used = [i for i, s in enumerate(scene_list) if has_concept(s, concept)]
    if not used:
        raise ValueError(f"none of the {len(scene_list)} scenes holds the concept "
                         f"{concept!r}; scenes of {', '.join(CONCEPT_CLASSES[concept])} can "
                         "hold it (concept_scenes draws them)")
    before = [scene_list[i] for i in used]
    after = [remove_concept(s, concept) for s in before]
    z0 = methods.scores(model, data.render_many(before).images, batch_size=batch_size)
    z1 = methods.scores(model, data.render_many(after).images, batch_size=batch_size)
    t = (np.argmax(z0, axis=-1) if t_all is None else t_all[used]).astype(np.int32)
    rows = np.arange(len(used))
    with_c = z0[rows, t].astype(np.float64)
    without = z1[rows, t].astype(np.float64)
    removed = np.array([_removed_count(s, concept) for s in before], np.int64)
    arrays = (np.array(used, np.int64), t, with_c, without, with_c - without, removed)
    for a in arrays:
        a.flags.writeable = False
    return RemovalEffect(concept, *arrays)
