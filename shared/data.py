"""The book's dataset: synthetic skin-lesion images with pixel-exact ground truth.

Real photographs of pox-like rashes cannot be shipped with the book, so every chapter
uses images drawn here, offline and deterministically. Each image is a patch of skin
(a skin tone, uneven pigment, freckles, moles, hairs, lighting and sensor noise) with
the lesions of one of six classes painted on it. The class is decided by the lesions'
morphology only:

=========== ======================================================================
Chickenpox  many small lesions in *mixed* stages (flat spots, papules, blisters,
            pustules and crusts side by side)
Cowpox      one to three large lesions, each a dark eschar with a pale ring and a
            red halo
Healthy     no lesion (the skin and the red distractors are still there)
Measles     flat, blotchy red patches that run together (sometimes faint)
Monkeypox   fewer, larger pustules all in the *same* stage, most with a dimple
            (umbilication) in the centre
Smallpox    dense, same-stage, deep-seated pustules
=========== ======================================================================

The neighbours overlap on purpose (lesion counts and sizes are shared between
chickenpox, monkeypox and smallpox; a measles rash can be faint; a cowpox lesion can
be small), so a good model still makes a few honest mistakes.

**Red distractors.** Every image, Healthy included, also carries 0-4 benign red marks
that are not lesions: insect bites (a red papule in a pink wheal, sometimes with a dark
punctum), scratches (thin curved red lines, sometimes two parallel ones), small flat
red birthmarks, and pressure marks (a straight, soft-edged red band, e.g. from a
strap). They come from one distribution for all classes (their own random stream, with
positions drawn uniformly over the image), so they carry no class information, but
they are about as red as the lesions: "the reddest pixel" is *not* a lesion detector.

The scene model
---------------
An image is made in two steps, **sampling** and **rendering**:

* :func:`sample_scene` draws everything random about one image into a :class:`Scene`,
  a frozen dataclass of plain numbers: the label, the size, the :class:`Skin` (tone,
  a coarse grid for the uneven pigment, freckles and moles, hairs), the
  :class:`Lighting` (direction, gradient, vignette, colour cast, a seed for the sensor
  noise) and a tuple of **elements**. Each element is a small frozen dataclass with a
  ``kind`` (``"lesion"``, ``"distractor"`` or ``"marker"``), a ``shape`` (a lesion
  stage such as ``"pustule"``, or ``"eschar"``, ``"blotch"``, ``"bite"``,
  ``"scratch"``, ``"birthmark"``, ``"pressure"``, ``"ink"``, ``"ruler"``), a centre
  ``cy, cx``, a ``size`` and every colour, phase and strength needed to paint it.
  Elements are ordered lesions first, then distractors, then the marker.
* :func:`render` draws a scene with no randomness of its own (the sensor noise is
  re-created from its stored seed). It paints, in this order: skin with freckles and
  moles, distractors, lesions (a lesion covers a distractor where they overlap),
  hairs, the marker, then lighting, noise and the final rounding to 8-bit values.
  Per-pixel work uses only exactly rounded operations (+, -, x, /, sqrt, comparisons;
  sines and cosines are taken of scalars only), so no pixel depends on which vector
  unit the CPU has: the float values are bit-identical with numpy's SIMD paths on or off.

Example: the scene of a generated image, and what is left when its lesions go::

    ds = generate(2, seed=0)
    scene = ds.scene(0)                       # a Scene: plain data
    bare = scene.without(*scene.indices("lesion"))
    before, after = render(scene), render(bare)

:func:`generate` is sampling followed by :func:`render_many`; its pixels equal
``render(scene)`` for every scene. Besides the image, rendering returns the lesion
mask (every pixel a lesion painted), the distractor mask (pixels a distractor painted
and no lesion covers), the marker mask and an int16 **instance map**: 0 is background,
element ``k`` (its position in ``scene.elements``) has label ``k + 1``, and each pixel
holds the topmost element painted there. Opacities below 4 % are not painted, so
(nearly) every masked pixel differs from the bare skin by at least one 8-bit level.

Because the scene is data, it supports **interventions**: ``scene.without(3, 5)``
hides elements 3 and 5 (the skin beneath appears as it would have been),
``scene.only(0)`` keeps element 0 alone, ``scene.empty()`` is the bare skin.
A hidden element keeps its index, so instance labels mean the same thing in every
variant of a scene. Rendering works pixel by pixel, so hiding an element changes only
pixels inside its footprint (``scene.footprint(k)``, the pixels it paints): the margin
is 0 pixels, and the tests check it. :meth:`Dataset.scene` gives the scene of a
generated image; :func:`render_many` renders many scenes into a :class:`Dataset`.

Images are float32 in [0, 1], shape (N, H, W, 3), holding 8-bit values (``k / 255``
exactly): the input convention of every model in :mod:`shared.models`.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterator, NamedTuple, Sequence

import numpy as np

CLASS_NAMES: tuple[str, ...] = (
    "Chickenpox",
    "Cowpox",
    "Healthy",
    "Measles",
    "Monkeypox",
    "Smallpox",
)
"""The six classes, in label order."""

IMAGE_SIZE = 224
"""Default side length in pixels (the shared model's input is 224 x 224)."""

SPLIT_SEEDS = {"train": 1, "val": 2, "test": 3}
"""Seeds of the three splits. Each image's random stream is derived from
``(seed, class, index)``, so different seeds give disjoint, independent images."""

SPLIT_SIZES = {"train": 800, "val": 100, "test": 100}
"""Images per class in the splits used to train and evaluate the shared checkpoint."""

SEED_LIKE_COUNTS = (107, 69, 114, 91, 279, 58)
"""An imbalanced count per class, monkeypox-heavy like the small public pox datasets
the original write-up used. Pass it as ``n_per_class`` to study imbalance."""

MARKER_KINDS = ("ink", "ruler")
"""Shapes of the planted shortcut marker."""

ELEMENT_KINDS = ("lesion", "distractor", "marker")
"""The kinds of scene elements, in the order they appear in ``Scene.elements``."""

DISTRACTOR_SHAPES = ("bite", "scratch", "birthmark", "pressure")
"""The benign red marks that every class carries."""


# --------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------

@dataclass
class Dataset:
    """A set of images with labels and ground-truth masks.

    Attributes:
        images: float32 array (N, H, W, 3), values in [0, 1].
        labels: int64 array (N,), indices into :data:`CLASS_NAMES`.
        masks: bool array (N, H, W): True on lesion pixels. ``None`` for real images
            loaded with :func:`load_folder` (no ground truth is known).
        marker_masks: bool array (N, H, W): True on pixels of the planted shortcut
            marker (all False when no marker was requested), or ``None``.
        class_names: the class names, in label order.
        info: how the set was made (seed, sizes, options).
        distractor_masks: bool array (N, H, W): True where a red distractor was painted
            and no lesion covers it, or ``None``.
        instances: int16 array (N, H, W): the instance map of each image (0 background,
            ``k + 1`` where element ``k`` of the image's scene is on top), or ``None``.
        scenes: the :class:`Scene` of each image, or ``None`` for real images.
    """

    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray | None
    marker_masks: np.ndarray | None = None
    class_names: tuple[str, ...] = CLASS_NAMES
    info: dict = field(default_factory=dict)
    distractor_masks: np.ndarray | None = None
    instances: np.ndarray | None = None
    scenes: list | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index) -> "Dataset":
        """Select images with an index, a slice, a boolean mask or an index array."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        take = lambda a: None if a is None else a[index]  # noqa: E731
        scenes = (None if self.scenes is None
                  else [self.scenes[j] for j in np.arange(len(self))[index]])
        return Dataset(take(self.images), take(self.labels), take(self.masks),
                       take(self.marker_masks), self.class_names, dict(self.info),
                       take(self.distractor_masks), take(self.instances), scenes)

    def counts(self) -> np.ndarray:
        """Number of images per class."""
        return np.bincount(self.labels, minlength=len(self.class_names))

    def scene(self, i: int) -> "Scene":
        """The :class:`Scene` of image ``i``: the starting point of interventions."""
        n = len(self)
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise ValueError(f"image index must be an int, got {i!r}")
        if not 0 <= i < n:
            raise ValueError(f"image {i} out of range: this dataset has {n} images (0..{n - 1})")
        if self.scenes is None:
            where = "was loaded from a folder and " if "source" in self.info else ""
            raise ValueError(f"image {i} {where}has no scene: interventions need a "
                             f"generated image (generate, load_split or render_many)")
        return self.scenes[int(i)]

    def fingerprint(self) -> str:
        """A short SHA-256 of the 8-bit image values, the labels and all masks.

        Hashing the uint8 values (not the float32 bytes) keeps the fingerprint stable
        wherever the images hold the same 8-bit values.
        """
        h = hashlib.sha256()
        for start in range(0, len(self.images), 64):   # chunks: no big float copy
            chunk = self.images[start:start + 64]
            h.update(np.round(chunk * 255).astype(np.uint8).tobytes())
        h.update(np.asarray(self.labels, np.int64).tobytes())
        for a in (self.masks, self.marker_masks, self.distractor_masks, self.instances):
            if a is not None:
                h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]


# --------------------------------------------------------------------------------------
# Scenes: everything random about one image, as plain data
# --------------------------------------------------------------------------------------

RGB = tuple[float, float, float]
Lobes = tuple[tuple[int, float, float], ...]
"""An irregular outline: harmonics ``(k, amplitude, phase)``; the radius at angle t is
``size * (1 + sum(amplitude * sin(k * t + phase)))``."""


@dataclass(frozen=True, kw_only=True)
class Element:
    """Something painted on the skin. Subclasses add what painting them needs.

    ``size`` is a radius in pixels (round elements), half the length (scratches and
    pressure marks) or the width (a ruler).
    """

    kind: str
    shape: str
    cy: float
    cx: float
    size: float


@dataclass(frozen=True, kw_only=True)
class Pock(Element):
    """A round lesion in one stage (chickenpox, monkeypox, smallpox).

    ``shape`` is the stage: ``"macule"`` (flat red spot), ``"papule"`` (raised),
    ``"vesicle"`` (clear blister), ``"pustule"`` (yellowish pus) or ``"crust"``.
    """

    kind: str = field(default="lesion", init=False)
    lobes: Lobes
    red: RGB                 # colour of the inflamed base
    red_alpha: float
    centre: RGB              # blister fluid, pus or crust colour (unused by macules, papules)
    depth: float             # 0 superficial .. 1 deep-seated: dark firm rim, more relief
    dimple: float            # strength of a dark central umbilication, 0 for none
    dimple_colour: RGB


@dataclass(frozen=True, kw_only=True)
class Eschar(Element):
    """A cowpox lesion: dark eschar, pale ring, red halo."""

    kind: str = field(default="lesion", init=False)
    shape: str = field(default="eschar", init=False)
    lobes: Lobes
    halo: RGB
    halo_alpha: float
    ring: RGB
    eschar: RGB


@dataclass(frozen=True, kw_only=True)
class Blotch(Element):
    """A flat, lobed red measles patch, mottled by a field shared by the whole rash."""

    kind: str = field(default="lesion", init=False)
    shape: str = field(default="blotch", init=False)
    lobes: Lobes
    colour: RGB
    strength: float
    mottle: tuple[float, ...] = field(repr=False)   # 16 x 16 coarse grid, row-major


@dataclass(frozen=True, kw_only=True)
class Bite(Element):
    """An insect bite: a small raised red papule in a pink wheal, maybe a dark punctum."""

    kind: str = field(default="distractor", init=False)
    shape: str = field(default="bite", init=False)
    red: RGB
    red_alpha: float
    wheal: RGB
    wheal_alpha: float
    wheal_radius: float
    punctum: float           # strength of the dark central dot, 0 for none
    punctum_colour: RGB


@dataclass(frozen=True, kw_only=True)
class Scratch(Element):
    """A thin curved red line (an arc of a circle), sometimes with a parallel twin."""

    kind: str = field(default="distractor", init=False)
    shape: str = field(default="scratch", init=False)
    angle: float             # direction of the line at its midpoint (radians)
    bend: float              # signed curvature, 1 / (radius of the arc) in 1/pixels
    width: float
    colour: RGB
    alpha: float
    twin: float              # offset of a parallel second scratch in pixels, 0 for none


@dataclass(frozen=True, kw_only=True)
class Birthmark(Element):
    """A small flat red birthmark with a sharp, irregular border."""

    kind: str = field(default="distractor", init=False)
    shape: str = field(default="birthmark", init=False)
    lobes: Lobes
    colour: RGB
    alpha: float


@dataclass(frozen=True, kw_only=True)
class PressureMark(Element):
    """Redness from a strap or pressure: a straight band with parallel soft edges."""

    kind: str = field(default="distractor", init=False)
    shape: str = field(default="pressure", init=False)
    angle: float             # direction of the band (radians)
    width: float             # half-width in pixels
    softness: float          # width of the soft edges in pixels
    colour: RGB
    alpha: float


@dataclass(frozen=True, kw_only=True)
class InkDot(Element):
    """The planted shortcut: a pen dot."""

    kind: str = field(default="marker", init=False)
    shape: str = field(default="ink", init=False)
    colour: RGB
    alpha: float


@dataclass(frozen=True, kw_only=True)
class Ruler(Element):
    """The planted shortcut: a ruler along one edge (``size`` is its width)."""

    kind: str = field(default="marker", init=False)
    shape: str = field(default="ruler", init=False)
    side: str                # "top", "bottom", "left" or "right"
    colour: RGB
    tick_colour: RGB
    tick_period: float


@dataclass(frozen=True)
class Spot:
    """A freckle or a mole (part of the skin, not an element)."""

    cy: float
    cx: float
    r: float
    colour: RGB
    strength: float


@dataclass(frozen=True)
class Hair:
    """A hair: a quadratic Bezier curve through three (y, x) points."""

    points: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
    alpha: float
    colour: RGB


@dataclass(frozen=True)
class Skin:
    """The skin and its benign, class-free details."""

    tone: RGB
    pigment: tuple[float, ...] = field(repr=False)   # 8 x 8 coarse grid, row-major
    spots: tuple[Spot, ...] = ()
    hairs: tuple[Hair, ...] = ()


@dataclass(frozen=True)
class Lighting:
    """Lighting and camera: applied to the whole image after everything is painted."""

    angle: float             # the light comes from this direction; lights raised lesions too
    gain: float              # exposure
    gradient: float          # strength of the brightness gradient along ``angle``
    vignette: float          # darkening towards the corners
    variation: tuple[float, ...] = field(repr=False)  # 4 x 4 coarse grid: slow unevenness
    cast: RGB = (1.0, 1.0, 1.0)                      # colour cast
    noise: float = 0.0       # standard deviation of the sensor noise
    noise_seed: int = 0      # seed that re-creates the sensor noise


@dataclass(frozen=True)
class Scene:
    """Everything about one image, as plain data. :func:`render` draws it.

    ``elements`` are ordered lesions, distractors, marker. ``hidden`` holds the indices
    of elements that interventions removed: they are not drawn but keep their index,
    so element ``k`` always has instance label ``k + 1``.
    """

    label: int
    size: int
    skin: Skin
    lighting: Lighting
    elements: tuple[Element, ...] = ()
    hidden: frozenset[int] = frozenset()

    @property
    def visible(self) -> tuple[int, ...]:
        """Indices of the elements that are drawn."""
        return tuple(k for k in range(len(self.elements)) if k not in self.hidden)

    def indices(self, kind: str, visible_only: bool = True) -> tuple[int, ...]:
        """Indices of the elements of one kind (``"lesion"``, ``"distractor"``, ``"marker"``)."""
        if kind not in ELEMENT_KINDS:
            raise ValueError(f"unknown element kind {kind!r}; expected one of {ELEMENT_KINDS}")
        return tuple(k for k, e in enumerate(self.elements)
                     if e.kind == kind and not (visible_only and k in self.hidden))

    def _check(self, indices) -> frozenset[int]:
        n = len(self.elements)
        valid = f"this scene has {n} elements (0..{n - 1})" if n else "this scene has no elements"
        for k in indices:
            if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
                raise ValueError(f"element index must be an int, got {k!r}: {valid}")
            if not 0 <= k < n:
                raise ValueError(f"element {k} out of range: {valid}")
        return frozenset(int(k) for k in indices)

    def without(self, *indices: int) -> "Scene":
        """The same scene with these elements removed (the skin beneath shows)."""
        return replace(self, hidden=self.hidden | self._check(indices))

    def only(self, *indices: int) -> "Scene":
        """The same scene with only these elements drawn (skin, lighting unchanged)."""
        return replace(self, hidden=frozenset(range(len(self.elements))) - self._check(indices))

    def empty(self) -> "Scene":
        """The bare skin: no lesion, distractor or marker."""
        return replace(self, hidden=frozenset(range(len(self.elements))))

    def summary(self) -> str:
        """One line: the class and the visible elements, e.g. for a figure title."""
        parts = []
        for kind in ELEMENT_KINDS:
            shapes = [self.elements[k].shape for k in self.indices(kind)]
            counts = {sh: shapes.count(sh) for sh in dict.fromkeys(shapes)}
            listed = ", ".join(f"{sh} x{c}" if c > 1 else sh for sh, c in counts.items())
            parts.append(f"{len(shapes)} {kind}{'s' if len(shapes) != 1 else ''}"
                         + (f" ({listed})" if listed else ""))
        hidden = f", {len(self.hidden)} hidden" if self.hidden else ""
        return f"{CLASS_NAMES[self.label]}, {self.size} px: " + "; ".join(parts) + hidden

    def footprint(self, k: int) -> np.ndarray:
        """Bool (size, size): the pixels element ``k`` paints (whether hidden or not).

        Removing the element can change these pixels and no other.
        """
        (k,) = self._check([k])
        e, cv = self.elements[k], _canvas(self.size)
        out = np.zeros((self.size, self.size), bool)
        light = (math.cos(self.lighting.angle), math.sin(self.lighting.angle))
        painted = _PAINTERS[type(e)](cv, np.zeros((3, self.size, self.size), np.float32), e, light)
        if painted is not None:
            out[painted[0]] = painted[1]
        return out

    def render(self) -> "Rendering":
        """Shortcut for :func:`render`."""
        return render(self)


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------

def generate(
    n_per_class: int | Sequence[int],
    seed: int,
    *,
    size: int = IMAGE_SIZE,
    marker_class: str | int | None = None,
    marker_fraction: float = 0.0,
    marker_kind: str = "ink",
) -> Dataset:
    """Draw a deterministic synthetic dataset.

    Args:
        n_per_class: images per class, one int for all classes or one per class (in
            :data:`CLASS_NAMES` order), e.g. :data:`SEED_LIKE_COUNTS` for imbalance.
        seed: the split's seed. Image ``i`` of class ``c`` depends only on
            ``(seed, c, i)``: asking for more images extends a set without changing
            the images already in it.
        size: side length in pixels (at least 64).
        marker_class: plant a shortcut in this class (name or index): a small
            artificial marker that has nothing to do with the disease.
        marker_fraction: share of that class's images that get the marker.
        marker_kind: ``"ink"`` (a pen dot) or ``"ruler"`` (a ruler along one edge).

    Returns:
        A :class:`Dataset`, ordered by class, with masks, instance maps and scenes.
    """
    counts = _check_counts(n_per_class)
    _check_seed_and_size(seed, size)
    marker_label = None
    if marker_class is not None:
        marker_label = class_index(marker_class)
        if not 0.0 <= marker_fraction <= 1.0:
            raise ValueError(f"marker_fraction must be in [0, 1], got {marker_fraction}")
        if marker_kind not in MARKER_KINDS:
            raise ValueError(f"marker_kind must be one of {MARKER_KINDS}, got {marker_kind!r}")

    scenes = [sample_scene(seed, label, i, size=size,
                           marker_kind=marker_kind if label == marker_label else None,
                           marker_fraction=marker_fraction)
              for label, count in enumerate(counts) for i in range(count)]
    ds = render_many(scenes)
    ds.info = dict(seed=int(seed), size=int(size), n_per_class=list(map(int, counts)),
                   marker_class=None if marker_label is None else CLASS_NAMES[marker_label],
                   marker_fraction=float(marker_fraction) if marker_label is not None else 0.0,
                   marker_kind=marker_kind if marker_label is not None else None)
    return ds


def load_split(name: str, n_per_class: int | None = None, **options) -> Dataset:
    """One of the book's splits, ``"train"``, ``"val"`` or ``"test"``.

    ``n_per_class`` defaults to :data:`SPLIT_SIZES`; a smaller number gives the first
    images of the same split. Extra keyword options go to :func:`generate`.
    """
    if name not in SPLIT_SEEDS:
        raise ValueError(f"unknown split {name!r}; expected one of {sorted(SPLIT_SEEDS)}")
    n = SPLIT_SIZES[name] if n_per_class is None else n_per_class
    ds = generate(n, SPLIT_SEEDS[name], **options)
    ds.info["split"] = name
    return ds


def class_index(name_or_index: str | int) -> int:
    """The label of a class given by name (case-insensitive) or index."""
    if isinstance(name_or_index, (int, np.integer)) and not isinstance(name_or_index, bool):
        if 0 <= name_or_index < len(CLASS_NAMES):
            return int(name_or_index)
        raise ValueError(f"class index {name_or_index} out of range 0..{len(CLASS_NAMES) - 1}")
    lookup = {c.lower(): i for i, c in enumerate(CLASS_NAMES)}
    if isinstance(name_or_index, str) and name_or_index.lower() in lookup:
        return lookup[name_or_index.lower()]
    raise ValueError(f"unknown class {name_or_index!r}; expected one of {list(CLASS_NAMES)}")


def sample_scene(seed: int, label: str | int, index: int, *, size: int = IMAGE_SIZE,
                 marker_kind: str | None = None, marker_fraction: float = 1.0) -> Scene:
    """Draw everything random about image ``index`` of class ``label`` in split ``seed``.

    Three independent random streams keep the parts apart:

    * ``(seed, label, index)``: skin, lesions, hairs, lighting, the noise seed;
    * ``(seed, label, index, 1)``: whether the marker is planted (first draw below
      ``marker_fraction``) and where, only when ``marker_kind`` is given;
    * ``(seed, label, index, 2)``: the red distractors (number, shapes, sizes,
      positions), drawn the same way for every class.
    """
    label = class_index(label)
    _check_seed_and_size(seed, size)
    if not isinstance(index, (int, np.integer)) or isinstance(index, bool) or index < 0:
        raise ValueError(f"index must be a non-negative int, got {index!r}")
    sc = size / IMAGE_SIZE                       # shapes are defined at 224 px
    rng = np.random.default_rng([int(seed), label, int(index)])

    # Skin tone anywhere between the reference tones, slightly tinted.
    t = rng.uniform(0, len(_SKIN_TONES) - 1)
    lo = int(min(t, len(_SKIN_TONES) - 2))
    tone = _SKIN_TONES[lo] * (lo + 1 - t) + _SKIN_TONES[lo + 1] * (t - lo)
    tone = tone * rng.uniform(0.96, 1.04, 3)
    pigment = _floats(rng.standard_normal((8, 8)))

    lesions = _LESION_SAMPLERS[label](rng, tone, size, sc)

    n = rng.poisson(rng.choice([2, 12]))                     # freckles
    freckle = _rgb(tone * [0.72, 0.6, 0.55])
    spots = [Spot(cy, cx, r * sc, freckle, a) for (cy, cx), r, a in zip(
        rng.uniform(0, size, (n, 2)).tolist(), rng.uniform(0.8, 2.0, n).tolist(),
        rng.uniform(0.25, 0.5, n).tolist())]
    n = rng.choice([0, 0, 1, 1, 2, 3])                         # moles
    spots += [Spot(cy, cx, r * sc, _rgb(np.array([0.22, 0.13, 0.09]) * dark), a)
              for (cy, cx), r, dark, a in zip(
                  rng.uniform(0, size, (n, 2)).tolist(), rng.uniform(2.0, 4.5, n).tolist(),
                  rng.uniform(0.6, 1.3, n), rng.uniform(0.7, 0.95, n).tolist())]
    n = rng.choice([0, 0, 2, 5, 10])
    hairs = [Hair(tuple(map(tuple, p)), a, _rgb(np.array([0.12, 0.08, 0.05]) * dark))
             for p, a, dark in zip((rng.uniform(-0.2, 1.2, (n, 3, 2)) * size).tolist(),
                                   rng.uniform(0.35, 0.8, n).tolist(), rng.uniform(0.5, 1.5, n))]

    lighting = Lighting(
        angle=float(rng.uniform(0, 2 * np.pi)), gain=float(rng.uniform(0.8, 1.12)),
        gradient=float(rng.uniform(0, 0.35)), vignette=float(rng.uniform(0, 0.18)),
        variation=_floats(rng.standard_normal((4, 4))), cast=_rgb(rng.uniform(0.95, 1.05, 3)),
        noise=float(rng.uniform(0.008, 0.03)), noise_seed=int(rng.integers(2 ** 63)))

    distractors = _sample_distractors(np.random.default_rng([int(seed), label, int(index), 2]),
                                      tone, size, sc)
    markers = []
    if marker_kind is not None:
        if marker_kind not in MARKER_KINDS:
            raise ValueError(f"marker_kind must be one of {MARKER_KINDS}, got {marker_kind!r}")
        if not 0.0 <= marker_fraction <= 1.0:
            raise ValueError(f"marker_fraction must be in [0, 1], got {marker_fraction}")
        marker_rng = np.random.default_rng([int(seed), label, int(index), 1])
        if marker_rng.random() < marker_fraction:
            markers.append(_sample_marker(marker_rng, marker_kind, size, sc))

    skin = Skin(_rgb(tone), pigment, tuple(spots), tuple(hairs))
    return Scene(label, int(size), skin, lighting, tuple(lesions + distractors + markers))


class Rendering(NamedTuple):
    """What :func:`render` returns for one scene."""

    image: np.ndarray            # float32 (H, W, 3), 8-bit values k / 255
    lesion_mask: np.ndarray      # bool (H, W): pixels a lesion painted
    distractor_mask: np.ndarray  # bool (H, W): pixels a distractor painted, no lesion on top
    marker_mask: np.ndarray      # bool (H, W): pixels the marker painted
    instances: np.ndarray        # int16 (H, W): k + 1 where element k is on top, else 0


def render(scene: Scene) -> Rendering:
    """Draw one scene (deterministic: no randomness besides the stored noise seed)."""
    s = scene.size
    out = Rendering(np.empty((s, s, 3), np.float32), np.zeros((s, s), bool),
                    np.zeros((s, s), bool), np.zeros((s, s), bool), np.zeros((s, s), np.int16))
    _render_into(scene, *out)
    return out


def render_many(scenes: Sequence[Scene]) -> Dataset:
    """Render a list of scenes (all of one size) into a :class:`Dataset`.

    The arrays are allocated once and every image is drawn in place, which makes this
    the fast way to render many interventions. At 224 px a rendered image with its masks
    takes about 0.85 MB: render tens of thousands with :func:`render_batches`.
    """
    scenes = list(scenes)
    if not scenes:
        raise ValueError("render_many needs at least one scene")
    sizes = {sc.size for sc in scenes}
    if len(sizes) != 1:
        raise ValueError(f"all scenes must have the same size, got sizes {sorted(sizes)}")
    n, s = len(scenes), sizes.pop()
    images = np.empty((n, s, s, 3), np.float32)
    masks, dmasks, mmasks = (np.zeros((n, s, s), bool) for _ in range(3))
    instances = np.zeros((n, s, s), np.int16)
    for k, scene in enumerate(scenes):
        _render_into(scene, images[k], masks[k], dmasks[k], mmasks[k], instances[k])
    labels = np.array([sc.label for sc in scenes], np.int64)
    return Dataset(images, labels, masks, mmasks, CLASS_NAMES, {}, dmasks, instances, scenes)


def render_batches(scenes: Sequence[Scene], batch_size: int = 256) -> Iterator[Dataset]:
    """Render scenes in consecutive batches (a :class:`Dataset` each), e.g. to feed a
    model thousands of interventions without holding them all in memory."""
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    scenes = list(scenes)
    for start in range(0, len(scenes), batch_size):
        yield render_many(scenes[start:start + batch_size])


def _check_seed_and_size(seed, size) -> None:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 64:
        raise ValueError(f"size must be an int >= 64, got {size!r}")


def _check_counts(n_per_class) -> list[int]:
    if isinstance(n_per_class, (int, np.integer)):
        counts = [int(n_per_class)] * len(CLASS_NAMES)
    else:
        counts = [int(c) for c in n_per_class]
        if len(counts) != len(CLASS_NAMES):
            raise ValueError(f"n_per_class needs one count per class ({len(CLASS_NAMES)}), "
                             f"got {len(counts)}")
    if any(c < 0 for c in counts) or sum(counts) == 0:
        raise ValueError(f"n_per_class must be non-negative with at least one image, got {counts}")
    return counts


# --------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------

# Skin tones from light to dark (sRGB in [0, 1]); a tone is drawn anywhere between them.
_SKIN_TONES = np.array([
    [0.96, 0.82, 0.72],
    [0.92, 0.73, 0.60],
    [0.82, 0.60, 0.46],
    [0.67, 0.47, 0.34],
    [0.52, 0.35, 0.24],
    [0.37, 0.24, 0.17],
])


def _rgb(a) -> RGB:
    return tuple(float(v) for v in a)


def _floats(a) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(a, np.float32).ravel())


def _lobes(rng, amplitudes, random_amplitude: bool = False) -> Lobes:
    """Harmonics (k, amplitude) with random phases; amplitudes drawn up to the given
    ones when ``random_amplitude``."""
    return tuple((k, float(rng.uniform(0, a)) if random_amplitude else float(a),
                  float(rng.uniform(0, 2 * np.pi))) for k, a in amplitudes)


def _red(tone, deep: float = 0.45, extra: float = 0.08) -> RGB:
    """Inflamed skin: the tone with green and blue taken away and some red added."""
    return _rgb(tone * [1.0, 1.0 - deep, 1.0 - deep] + [extra, 0.0, 0.0])


def _positions(rng, n, min_dist, margin, size) -> list[tuple[float, float]]:
    """Up to n lesion centres with a minimum spacing (dart throwing)."""
    pts: list[tuple[float, float]] = []
    min_d2 = min_dist ** 2
    for y, x in rng.uniform(margin, size - margin, (n * 20, 2)).tolist():
        if all((y - py) ** 2 + (x - px) ** 2 >= min_d2 for py, px in pts):
            pts.append((y, x))
            if len(pts) == n:
                break
    return pts


def _pocks(rng, tone, pts, radii, stages, depths, dimples) -> list[Pock]:
    """Pocks at the given centres; each gets its own outline and macule strength."""
    n = len(pts)
    phases = rng.uniform(0, 2 * np.pi, (n, 2)).tolist()
    macule = rng.uniform(0.45, 0.75, n).tolist()
    red = _red(tone)
    centre = {"vesicle": _rgb(0.55 * tone + [0.42, 0.40, 0.38]),
              "pustule": _rgb(0.3 * tone + [0.66, 0.60, 0.40]),
              "crust": _rgb(0.35 * tone + [0.06, 0.03, 0.01])}
    dimple_colour = _rgb(tone * 0.45)
    alpha = {"crust": 0.5, "papule": 0.75, "vesicle": 0.75, "pustule": 0.75}
    return [Pock(shape=stage, cy=cy, cx=cx, size=r, lobes=((2, 0.12, p2), (3, 0.06, p3)),
                 red=red, red_alpha=alpha.get(stage, m), centre=centre.get(stage, red),
                 depth=depth, dimple=dimple, dimple_colour=dimple_colour)
            for (cy, cx), r, stage, depth, dimple, (p2, p3), m
            in zip(pts, radii, stages, depths, dimples, phases, macule)]


def _sample_chickenpox(rng, tone, size, sc):
    n = int(rng.integers(8, 31))
    stages = ["macule", "papule", "vesicle", "pustule", "crust"]
    # mixed stages: at least three different ones, in random proportions
    chosen = rng.choice(stages, size=int(rng.integers(3, 6)), replace=False)
    weights = rng.dirichlet(np.ones(len(chosen)))
    pts = _positions(rng, n, 7 * sc, 8 * sc, size)
    n = len(pts)
    return _pocks(rng, tone, pts, (rng.uniform(2.5, 6.0, n) * sc).tolist(),
                  rng.choice(chosen, size=n, p=weights).tolist(),
                  rng.uniform(0, 0.3, n).tolist(), [0.0] * n)


def _sample_cowpox(rng, tone, size, sc):
    n = int(rng.choice([1, 1, 2, 3]))
    small = rng.random() < 0.15
    out = []
    for cy, cx in _positions(rng, n, 40 * sc, 26 * sc, size):
        r = (rng.uniform(7, 10) if small else rng.uniform(11, 22)) * sc
        out.append(Eschar(cy=float(cy), cx=float(cx), size=float(r),
                          lobes=_lobes(rng, [(3, 0.1)]),
                          halo=_red(tone, 0.5, 0.1), halo_alpha=float(rng.uniform(0.55, 0.8)),
                          ring=_rgb(0.4 * tone + [0.5, 0.45, 0.45]),
                          eschar=_rgb(np.array([0.12, 0.07, 0.05]) * rng.uniform(0.7, 1.4))))
    return out


def _sample_measles(rng, tone, size, sc):
    faint = rng.random() < 0.25
    strength = rng.uniform(0.22, 0.4) if faint else rng.uniform(0.45, 0.75)
    mottle = _floats(rng.standard_normal((16, 16)))
    colour = _rgb(tone * [1.0, 0.55, 0.58] + [0.07, 0.0, 0.0])
    centre = rng.uniform(0.3, 0.7, 2) * size
    out = []
    for _ in range(int(rng.integers(3, 9))):
        # blotches cluster around one area, so they run together
        cy, cx = centre + rng.normal(0, 0.18 * size, 2)
        r = rng.uniform(10, 26) * sc
        lobes = _lobes(rng, [(2, 0.22), (3, 0.22), (5, 0.22)], random_amplitude=True)
        reach = r * (1 + sum(a for _, a, _ in lobes))
        if -reach < cy < size + reach and -reach < cx < size + reach:   # visible at all
            out.append(Blotch(cy=float(cy), cx=float(cx), size=float(r), lobes=lobes,
                              colour=colour, strength=float(strength), mottle=mottle))
    return out


def _sample_monkeypox(rng, tone, size, sc):
    n = int(rng.integers(4, 17))
    stage = str(rng.choice(["pustule", "pustule", "pustule", "vesicle"]))
    dimpled = rng.uniform(0.5, 1.0)  # most lesions carry the dimple
    pts = _positions(rng, n, 14 * sc, 10 * sc, size)
    n = len(pts)
    dimples = np.where(rng.random(n) < dimpled, rng.uniform(0.5, 0.8, n), 0.0)
    return _pocks(rng, tone, pts, (rng.uniform(4.5, 8.5, n) * sc).tolist(), [stage] * n,
                  rng.uniform(0.1, 0.5, n).tolist(), dimples.tolist())


def _sample_smallpox(rng, tone, size, sc):
    n = int(rng.integers(16, 41))
    stage = str(rng.choice(["pustule", "pustule", "papule", "crust"]))
    pts = _positions(rng, n, 7 * sc, 8 * sc, size)
    n = len(pts)
    dimples = np.where(rng.random(n) < 0.15, rng.uniform(0.3, 0.6, n), 0.0)
    return _pocks(rng, tone, pts, (rng.uniform(3.0, 6.5, n) * sc).tolist(), [stage] * n,
                  rng.uniform(0.6, 1.0, n).tolist(), dimples.tolist())


_LESION_SAMPLERS = {
    0: _sample_chickenpox,
    1: _sample_cowpox,
    2: lambda rng, tone, size, sc: [],   # healthy skin: no lesion
    3: _sample_measles,
    4: _sample_monkeypox,
    5: _sample_smallpox,
}

# How many red distractors an image carries (0..4) and which shapes, for every class.
_DISTRACTOR_COUNTS = (0.12, 0.30, 0.30, 0.18, 0.10)
_DISTRACTOR_SHARES = (0.40, 0.25, 0.20, 0.15)      # in DISTRACTOR_SHAPES order


def _sample_distractors(rng, tone, size, sc) -> list[Element]:
    """Benign red marks: one distribution for every class, positions uniform."""
    out = []
    for _ in range(rng.choice(len(_DISTRACTOR_COUNTS), p=_DISTRACTOR_COUNTS)):
        shape = DISTRACTOR_SHAPES[rng.choice(len(DISTRACTOR_SHAPES), p=_DISTRACTOR_SHARES)]
        cy, cx = (float(v) for v in rng.uniform(4 * sc, size - 4 * sc, 2))
        deep = rng.uniform(0.33, 0.72)                # how red (lesions use 0.45)
        if shape == "bite":
            r = rng.uniform(2.0, 4.5) * sc
            out.append(Bite(cy=cy, cx=cx, size=float(r), red=_red(tone, deep, 0.1),
                            red_alpha=float(rng.uniform(0.7, 0.95)),
                            wheal=_red(tone, 0.25, 0.05), wheal_alpha=float(rng.uniform(0.15, 0.4)),
                            wheal_radius=float(r * rng.uniform(2.0, 3.5)),
                            punctum=float(rng.uniform(0.5, 0.85)) if rng.random() < 0.4 else 0.0,
                            punctum_colour=_rgb(tone * [0.45, 0.2, 0.2])))
        elif shape == "scratch":
            out.append(Scratch(cy=cy, cx=cx, size=float(rng.uniform(7.5, 30) * sc),
                               angle=float(rng.uniform(0, np.pi)),
                               bend=float(rng.choice([-1, 1]) / (rng.uniform(35, 250) * sc)),
                               width=float(rng.uniform(1.0, 2.5) * sc),
                               colour=_red(tone, deep, 0.1),
                               alpha=float(rng.uniform(0.6, 0.95)),
                               twin=float(rng.uniform(2.5, 5) * sc)
                               if rng.random() < 0.35 else 0.0))
        elif shape == "birthmark":
            out.append(Birthmark(cy=cy, cx=cx, size=float(rng.uniform(2.5, 7) * sc),
                                 lobes=_lobes(rng, [(2, 0.2), (3, 0.15), (5, 0.1)],
                                              random_amplitude=True),
                                 colour=_red(tone, deep, 0.12), alpha=float(rng.uniform(0.6, 0.9))))
        else:
            width = rng.uniform(5, 12) * sc
            out.append(PressureMark(cy=cy, cx=cx, size=float(rng.uniform(40, 110) * sc),
                                    angle=float(rng.uniform(0, np.pi)), width=float(width),
                                    softness=float(rng.uniform(0.4, 0.8) * width),
                                    colour=_red(tone, deep, 0.06),
                                    alpha=float(rng.uniform(0.25, 0.5))))
    return out


def _sample_marker(rng, kind, size, sc) -> Element:
    if kind == "ink":
        m = 0.1 * size
        cy, cx = rng.uniform(m, size - m, 2)
        return InkDot(cy=float(cy), cx=float(cx), size=float(rng.uniform(3.5, 5.5) * sc),
                      colour=(0.16, 0.12, 0.45), alpha=0.9)
    w = max(int(round(rng.uniform(9, 13) * sc)), 4)
    side = ("top", "bottom", "left", "right")[rng.integers(4)]
    cy = {"top": w / 2, "bottom": size - w / 2}.get(side, size / 2)
    cx = {"left": w / 2, "right": size - w / 2}.get(side, size / 2)
    return Ruler(cy=float(cy), cx=float(cx), size=float(w), side=side, colour=(0.93, 0.9, 0.78),
                 tick_colour=(0.1, 0.1, 0.1), tick_period=float(6 * sc))


# --------------------------------------------------------------------------------------
# Rendering: only exactly rounded array operations, so every CPU draws the same pixels
# --------------------------------------------------------------------------------------
# The image is drawn channel-first, img[channel, y, x], so that per-pixel factors and
# opacities broadcast over the channels cheaply; it is written out as (H, W, 3) at the end.

_NOISE_STD = math.sqrt(2 * (256 ** 2 - 1) / 12)   # std of the sum of two random bytes


class _Canvas:
    """Size-dependent precomputations shared by all renders of one size."""

    def __init__(self, size: int):
        self.size = size
        self.coord = np.arange(size, dtype=np.float32)
        centred = (self.coord - np.float32(size / 2)) / np.float32(size)
        self.centred = centred                             # (x - size/2) / size
        self.r2 = 4 * (centred[:, None] ** 2 + centred[None, :] ** 2)   # 1 at edge middles
        # Bilinear interpolation of g x g grids onto the pixel grid: pixel i lies
        # between grid nodes lo[i] and lo[i] + 1 with weights w0[i], w1[i].
        self.lerp = {}
        for g in (4, 8, 16):
            pos = np.arange(size, dtype=np.float64) * (g - 1) / (size - 1)
            lo = np.minimum(np.floor(pos).astype(np.intp), g - 2)
            w1 = (pos - lo).astype(np.float32)
            self.lerp[g] = (lo, 1 - w1, w1, np.bincount(lo, minlength=g - 1))
        # Bernstein weights of the points sampled along a hair (a quadratic Bezier curve)
        t = np.linspace(0, 1, int(2.5 * size))
        self.bezier = ((1 - t) ** 2, 2 * (1 - t) * t, t ** 2)

    def field(self, grid: tuple[float, ...], ys: slice = slice(None), xs: slice = slice(None)):
        """A smooth field: the coarse grid interpolated onto pixels ys, xs."""
        g = math.isqrt(len(grid))
        grid = np.asarray(grid, np.float32).reshape(g, g)
        lo, w0, w1, counts = self.lerp[g]
        rows = grid[lo[ys]] * w0[ys, None] + grid[lo[ys] + 1] * w1[ys, None]
        if xs == slice(None):       # whole rows: repeating columns is faster than indexing
            return (np.repeat(rows[:, :-1], counts, axis=1) * w0
                    + np.repeat(rows[:, 1:], counts, axis=1) * w1)
        return rows[:, lo[xs]] * w0[xs] + rows[:, lo[xs] + 1] * w1[xs]

    def patch(self, cy, cx, ry, rx=None):
        """A box around (cy, cx) clipped to the image: its slices and the offsets of
        its pixel rows (column vector) and columns (row vector) from the centre."""
        rx = ry if rx is None else rx
        y0, y1 = max(math.floor(cy - ry) - 1, 0), min(math.ceil(cy + ry) + 2, self.size)
        x0, x1 = max(math.floor(cx - rx) - 1, 0), min(math.ceil(cx + rx) + 2, self.size)
        if y0 >= y1 or x0 >= x1:
            return None
        dy = (self.coord[y0:y1] - np.float32(cy))[:, None]
        dx = (self.coord[x0:x1] - np.float32(cx))[None, :]
        return (slice(y0, y1), slice(x0, x1)), dy, dx


@lru_cache(maxsize=4)
def _canvas(size: int) -> _Canvas:
    return _Canvas(size)


def _smoothstep(edge0, edge1, x):
    """0 below edge0, 1 above edge1, a smooth cubic in between."""
    t = (x - np.float32(edge0)) * np.float32(1 / (edge1 - edge0))
    np.minimum(np.maximum(t, 0, out=t), 1, out=t)
    return t * t * (3 - 2 * t)


_MIN_ALPHA = 0.04
"""Painted opacities below this are dropped, so that (nearly) every pixel an element
paints changes by at least one 8-bit level: masks are what visibly changed."""


def _cut(profile, strength: float = 1.0):
    """Set ``profile`` (in place) to 0 where ``strength * profile`` < :data:`_MIN_ALPHA`."""
    profile[profile * np.float32(strength) < np.float32(_MIN_ALPHA)] = 0
    return profile


def _blend(region, colour, alpha):
    """Paint ``colour`` over ``region`` (3, h, w), in place, with opacity ``alpha`` (h, w)."""
    region += alpha * (np.asarray(colour, np.float32)[:, None, None] - region)


def _radius(dy, dx):
    return np.sqrt(dy * dy + dx * dx)


def _outline(dy, dx, r, lobes: Lobes):
    """Normalised distance: 0 at the centre, 1 on the (irregular) outline.

    sin(k t + phase) is expanded with cos t = dx / rho and sin t = dy / rho, so no
    transcendental function is evaluated per pixel.
    """
    rho = _radius(dy, dx)
    if not lobes:
        return rho * np.float32(1 / r)
    inv = 1 / np.maximum(rho, np.float32(1e-3))
    c1, s1 = dx * inv, dy * inv
    powers = {1: (c1, s1)}                             # (cos k t, sin k t)
    for k in range(2, max(k for k, _, _ in lobes) + 1):
        c, s = powers[k - 1]
        powers[k] = (c * c1 - s * s1, s * c1 + c * s1)
    wobble = None
    for k, amp, phase in lobes:
        c, s = powers[k]
        term = s * np.float32(amp * math.cos(phase)) + c * np.float32(amp * math.sin(phase))
        wobble = term if wobble is None else wobble + term
    return rho / (np.float32(r) * (1 + wobble))


def _reach(e) -> float:
    """Largest distance from the centre that an element with lobes can paint."""
    return e.size * (1 + sum(abs(a) for _, a, _ in e.lobes))


def _paint_pock(cv, img, e: Pock, light):
    p = cv.patch(e.cy, e.cx, _reach(e))
    if p is None:
        return None
    sl, dy, dx = p
    d = _outline(dy, dx, e.size, e.lobes)
    region = img[:, sl[0], sl[1]]
    outer = _cut(1 - _smoothstep(0.7, 1.0, d), e.red_alpha)   # compact: 0 for d >= 1
    _blend(region, e.red, e.red_alpha * outer)
    if e.shape == "crust":
        _blend(region, e.centre, 0.9 * (1 - _smoothstep(0.45, 0.8, d)))
    elif e.shape == "vesicle":
        _blend(region, e.centre, 0.75 * (1 - _smoothstep(0.4, 0.7, d)))
    elif e.shape == "pustule":
        _blend(region, e.centre, 0.85 * (1 - _smoothstep(0.45, 0.72, d)))
    if e.shape in ("papule", "vesicle", "pustule"):
        # raised: lit on the side facing the light, shaded on the other
        k = (0.18 + 0.25 * e.depth) / e.size
        shade = 1 + (dx * np.float32(k * light[0]) + dy * np.float32(k * light[1])) * outer
        if e.depth > 0:                                # deep-seated: a dark firm rim
            rim = np.maximum(1 - ((d - np.float32(0.85)) * np.float32(1 / 0.17)) ** 2, 0)
            shade *= 1 - np.float32(0.45 * e.depth) * (rim * rim * outer)
        region *= shade
        if e.dimple > 0:                               # umbilication: a dark central dimple
            _blend(region, e.dimple_colour, e.dimple * (1 - _smoothstep(0.12, 0.28, d)))
    return sl, outer > 0


def _paint_eschar(cv, img, e: Eschar, light):
    p = cv.patch(e.cy, e.cx, _reach(e))
    if p is None:
        return None
    sl, dy, dx = p
    d = _outline(dy, dx, e.size, e.lobes)
    region = img[:, sl[0], sl[1]]
    halo = _cut(1 - _smoothstep(0.55, 1.0, d), e.halo_alpha)
    _blend(region, e.halo, e.halo_alpha * halo)
    _blend(region, e.ring, 0.8 * (1 - _smoothstep(0.45, 0.62, d)))
    _blend(region, e.eschar, 0.95 * (1 - _smoothstep(0.28, 0.42, d)))
    return sl, halo > 0


def _paint_blotch(cv, img, e: Blotch, light):
    p = cv.patch(e.cy, e.cx, _reach(e))
    if p is None:
        return None
    sl, dy, dx = p
    d = _outline(dy, dx, e.size, e.lobes)
    f = cv.field(e.mottle, *sl)
    mottle = 0.75 + 0.25 * f / np.sqrt(1 + f * f)       # in (0.5, 1)
    a = _cut(e.strength * (1 - _smoothstep(0.6, 1.0, d)) * mottle)
    _blend(img[:, sl[0], sl[1]], e.colour, a)
    return sl, a > 0


def _paint_bite(cv, img, e: Bite, light):
    p = cv.patch(e.cy, e.cx, e.wheal_radius)
    if p is None:
        return None
    sl, dy, dx = p
    rho = _radius(dy, dx)
    region = img[:, sl[0], sl[1]]
    wheal = _cut(1 - _smoothstep(0.3, 1.0, rho * np.float32(1 / e.wheal_radius)), e.wheal_alpha)
    _blend(region, e.wheal, e.wheal_alpha * wheal)
    d = rho * np.float32(1 / e.size)
    core = 1 - _smoothstep(0.5, 1.0, d)
    _blend(region, e.red, e.red_alpha * core)
    k = 0.2 / e.size                                   # raised: lit on one side
    region *= 1 + (dx * np.float32(k * light[0]) + dy * np.float32(k * light[1])) * core
    if e.punctum > 0:
        _blend(region, e.punctum_colour, e.punctum * (1 - _smoothstep(0.12, 0.3, d)))
    return sl, (wheal > 0) | (core > 0)


def _paint_scratch(cv, img, e: Scratch, light):
    halo_w = e.width / 2 + 2.5
    p = cv.patch(e.cy, e.cx, e.size + e.twin + halo_w + 1)
    if p is None:
        return None
    sl, dy, dx = p
    radius = 1 / abs(e.bend)
    side = math.copysign(1.0, e.bend)
    tx, ty = math.cos(e.angle), math.sin(e.angle)        # tangent at the midpoint
    nx, ny = -ty * side, tx * side                       # towards the centre of the arc
    # pixel positions relative to the arc's centre of curvature
    vx, vy = dx - np.float32(nx * radius), dy - np.float32(ny * radius)
    rho = _radius(vy, vx)
    # sine of the angle from the midpoint, along the arc; the arc ends at +-half_angle
    along = (vx * np.float32(tx) + vy * np.float32(ty)) / rho
    near = (vx * np.float32(-nx) + vy * np.float32(-ny)) > 0    # the arc's half of the circle
    half_angle = min(e.size / radius, 1.4)
    taper = (1 - _smoothstep(0.6, 1.0, np.abs(along) * np.float32(1 / math.sin(half_angle)))) * near
    dist = np.abs(rho - np.float32(radius))
    if e.twin > 0:                                       # a parallel second scratch
        dist = np.minimum(dist, np.abs(rho - np.float32(radius + e.twin)))
    w = e.width / 2
    line = e.alpha * (1 - _smoothstep(w - 0.6, w + 0.6, dist)) * taper
    halo = _cut(0.25 * e.alpha * (1 - _smoothstep(w, halo_w, dist)) * taper)
    line *= halo > 0
    region = img[:, sl[0], sl[1]]
    _blend(region, e.colour, halo)
    _blend(region, e.colour, line)
    return sl, halo > 0


def _paint_birthmark(cv, img, e: Birthmark, light):
    p = cv.patch(e.cy, e.cx, _reach(e))
    if p is None:
        return None
    sl, dy, dx = p
    a = _cut(e.alpha * (1 - _smoothstep(0.85, 1.0, _outline(dy, dx, e.size, e.lobes))))
    _blend(img[:, sl[0], sl[1]], e.colour, a)
    return sl, a > 0


def _paint_pressure(cv, img, e: PressureMark, light):
    tx, ty = math.cos(e.angle), math.sin(e.angle)
    edge = e.width + e.softness
    p = cv.patch(e.cy, e.cx, e.size * abs(ty) + edge * abs(tx), e.size * abs(tx) + edge * abs(ty))
    if p is None:
        return None
    sl, dy, dx = p
    along = np.abs(dx * np.float32(tx) + dy * np.float32(ty))
    across = np.abs(dy * np.float32(tx) - dx * np.float32(ty))
    fade = 0.35 * e.size                              # the band fades out at its ends
    a = _cut(e.alpha * (1 - _smoothstep(e.width - e.softness, edge, across))
             * (1 - _smoothstep(e.size - fade, e.size, along)))
    _blend(img[:, sl[0], sl[1]], e.colour, a)
    return sl, a > 0


def _paint_ink(cv, img, e: InkDot, light):
    sl, dy, dx = cv.patch(e.cy, e.cx, e.size)
    a = _cut(e.alpha * (1 - _smoothstep(0.75, 1.0, _radius(dy, dx) * np.float32(1 / e.size))))
    _blend(img[:, sl[0], sl[1]], e.colour, a)
    return sl, a > 0


def _paint_ruler(cv, img, e: Ruler, light):
    w, size = int(e.size), cv.size
    sl = {"top": (slice(0, w), slice(None)), "bottom": (slice(size - w, size), slice(None)),
          "left": (slice(None), slice(0, w)), "right": (slice(None), slice(size - w, size))}[e.side]
    region = img[:, sl[0], sl[1]]
    _blend(region, e.colour, np.full(region.shape[1:], 0.95, np.float32))
    horizontal = e.side in ("top", "bottom")
    along = np.mod(cv.coord, np.float32(e.tick_period)) < 1.2
    across = np.abs(cv.coord[:w] - np.float32(0 if e.side in ("top", "left") else w - 1)) < 0.55 * w
    ticks = across[:, None] & along[None, :] if horizontal else along[:, None] & across[None, :]
    _blend(region, e.tick_colour, np.float32(0.9) * ticks)
    return sl, np.ones(region.shape[1:], bool)


_PAINTERS = {Pock: _paint_pock, Eschar: _paint_eschar, Blotch: _paint_blotch,
             Bite: _paint_bite, Scratch: _paint_scratch, Birthmark: _paint_birthmark,
             PressureMark: _paint_pressure, InkDot: _paint_ink, Ruler: _paint_ruler}


def _paint_spot(cv, img, s: Spot):
    p = cv.patch(s.cy, s.cx, s.r)
    if p is not None:
        sl, dy, dx = p
        a = s.strength * (1 - _smoothstep(0.6, 1.0, _radius(dy, dx) * np.float32(1 / s.r)))
        _blend(img[:, sl[0], sl[1]], s.colour, a)


def _paint_hair(cv, img, h: Hair):
    size = cv.size
    (y0, x0), (y1, x1), (y2, x2) = h.points
    b0, b1, b2 = cv.bezier
    ys = np.rint(b0 * y0 + b1 * y1 + b2 * y2).astype(np.intp)
    xs = np.rint(b0 * x0 + b1 * x1 + b2 * x2).astype(np.intp)
    inside = (ys >= 0) & (ys < size) & (xs >= 0) & (xs < size)
    at = ys[inside] * size + xs[inside]
    flat = img.reshape(3, -1)
    under = flat[:, at]
    flat[:, at] = under + np.float32(h.alpha) * (np.asarray(h.colour, np.float32)[:, None] - under)


def _render_into(scene: Scene, image, lesion_mask, distractor_mask, marker_mask, instances):
    """Draw ``scene`` into ``image`` (H, W, 3) and the masks (zeroed beforehand)."""
    cv = _canvas(scene.size)
    skin, lighting = scene.skin, scene.lighting
    # 1. Skin: tone times a slow pigment variation; freckles and moles.
    pigment = 1 + np.float32(0.05) * cv.field(skin.pigment)
    img = pigment * np.asarray(skin.tone, np.float32)[:, None, None]      # (3, H, W)
    for spot in skin.spots:
        _paint_spot(cv, img, spot)

    # 2. Elements: distractors under lesions, the marker on top of everything.
    light = (math.cos(lighting.angle), math.sin(lighting.angle))
    masks = {"lesion": lesion_mask, "distractor": distractor_mask, "marker": marker_mask}
    layers = {kind: [k for k in scene.visible if scene.elements[k].kind == kind]
              for kind in ELEMENT_KINDS}

    def paint(k):
        e = scene.elements[k]
        painted = _PAINTERS[type(e)](cv, img, e, light)
        if painted is not None:
            sl, footprint = painted
            instances[sl][footprint] = k + 1
            masks[e.kind][sl] |= footprint

    for k in layers["distractor"] + layers["lesion"]:
        paint(k)
    for hair in skin.hairs:                            # hairs lie over the lesions
        _paint_hair(cv, img, hair)
    for k in layers["marker"]:
        paint(k)
    distractor_mask &= ~lesion_mask

    # 3. Lighting (direction, vignette, exposure, slow variation, colour cast), then
    #    sensor noise (grey, a triangular distribution from two random bytes per pixel)
    #    and rounding to 8 bits. Values are in 0..255 from here on.
    c, s = light
    g = np.float32(lighting.gradient)
    gradient = ((1 + (g * np.float32(s)) * cv.centred[:, None])
                + (g * np.float32(c)) * cv.centred[None, :])
    gradient *= 1 - np.float32(lighting.vignette) * cv.r2
    gradient *= 1 + cv.field(tuple(0.04 * v for v in lighting.variation))
    img *= gradient
    img *= (np.asarray(lighting.cast, np.float32) * np.float32(255 * lighting.gain))[:, None, None]
    size = scene.size
    noise = np.frombuffer(np.random.default_rng(lighting.noise_seed).bytes(2 * size * size),
                          np.uint8).reshape(2, size, size)
    grain = np.add(noise[0], noise[1], dtype=np.uint16).astype(np.float32)   # 0..510
    grain -= np.float32(255)
    grain *= np.float32(lighting.noise * 255 / _NOISE_STD)
    img += grain
    np.minimum(np.maximum(img, 0, out=img), 255, out=img)
    np.round(img, out=img)
    for ch in range(3):
        np.divide(img[ch], np.float32(255), out=image[..., ch])


# --------------------------------------------------------------------------------------
# Real images
# --------------------------------------------------------------------------------------

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def load_folder(root: str | Path, size: int = IMAGE_SIZE) -> Dataset:
    """Load real images laid out one folder per class.

    Expected layout (class folder names as in :data:`CLASS_NAMES`, case-insensitive;
    a class folder may be missing or empty)::

        root/
          Chickenpox/  img001.jpg ...
          Cowpox/      ...
          Healthy/ Measles/ Monkeypox/ Smallpox/

    Every image is converted to RGB, resized to ``size`` x ``size`` and scaled to [0, 1].
    There is no ground truth for real images: ``masks``, ``distractor_masks``,
    ``instances`` and ``scenes`` are ``None``.

    Raises:
        FileNotFoundError: ``root`` does not exist.
        ValueError: the layout is wrong (a file or unknown folder at the top, no class
            folder, no image), or a file is not a readable image (the message names it).
    """
    from PIL import Image, UnidentifiedImageError

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {str(root)!r} does not exist")
    expected = "expected one sub-folder per class named " + ", ".join(CLASS_NAMES)
    lookup = {c.lower(): i for i, c in enumerate(CLASS_NAMES)}
    files: list[tuple[Path, int]] = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir() or entry.name.lower() not in lookup:
            raise ValueError(f"unexpected {'folder' if entry.is_dir() else 'file'} "
                             f"{str(entry)!r} in {str(root)!r}: {expected}")
        for f in sorted(entry.rglob("*")):
            if f.is_file() and not f.name.startswith("."):
                files.append((f, lookup[entry.name.lower()]))
    if not files:
        raise ValueError(f"no images found in {str(root)!r}: {expected}")

    images = np.empty((len(files), size, size, 3), np.float32)
    for k, (f, _) in enumerate(files):
        if f.suffix.lower() not in _IMAGE_SUFFIXES:
            raise ValueError(f"{str(f)!r} is not an image file (suffix {f.suffix!r}); "
                             f"allowed: {sorted(_IMAGE_SUFFIXES)}")
        try:
            with Image.open(f) as im:
                im = im.convert("RGB").resize((size, size), Image.BILINEAR)
                images[k] = np.asarray(im, np.float32) / 255.0
        except (UnidentifiedImageError, OSError, SyntaxError) as e:
            raise ValueError(f"cannot read image {str(f)!r}: {e}") from e
    labels = np.array([lab for _, lab in files], np.int64)
    return Dataset(images, labels, None, None, CLASS_NAMES,
                   dict(source=str(root), size=size, files=[str(f) for f, _ in files]),
                   distractor_masks=None, instances=None, scenes=None)
