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

Where things live
-----------------
Everything below is importable from :mod:`shared.data` itself; the modules are:

* :mod:`shared.data.constants`: :data:`CLASS_NAMES`, :data:`IMAGE_SIZE`, the split
  seeds and sizes and the other constants, and :func:`class_index`;
* :mod:`shared.data.dataset`: the :class:`Dataset` container;
* :mod:`shared.data.scenes`: the scene dataclasses (:class:`Scene`, :class:`Skin`,
  :class:`Lighting`, :class:`Element` and its subclasses);
* :mod:`shared.data.sampling`: :func:`sample_scene` and the per-class samplers;
* :mod:`shared.data.painters`: how each element is painted on the canvas;
* :mod:`shared.data.rendering`: :func:`render`, :func:`render_many`, :func:`render_batches`;
* :mod:`shared.data.api`: :func:`generate` and :func:`load_split`;
* :mod:`shared.data.folder`: :func:`load_folder` for real images of the six classes,
  :func:`load_image_folder` for any classes (and :func:`load_image_split` for a split
  written by ``python -m shared.train --data-dir``), :func:`near_duplicates` and
  :func:`perceptual_hashes` to find the same photograph twice.
"""

from .api import generate, load_split
from .constants import (CLASS_NAMES, DISTRACTOR_SHAPES, ELEMENT_KINDS, IMAGE_SIZE, MARKER_KINDS,
                        SEED_LIKE_COUNTS, SPLIT_SEEDS, SPLIT_SIZES, class_index)
from .dataset import Dataset
from .folder import (MIN_IMAGE_SIDE, load_folder, load_image_folder, load_image_split,
                     near_duplicates, perceptual_hashes)
from .rendering import Rendering, render, render_batches, render_many
from .sampling import sample_scene
from .scenes import (RGB, Birthmark, Bite, Blotch, Element, Eschar, Hair, InkDot, Lighting, Lobes,
                     Pock, PressureMark, Ruler, Scene, Scratch, Skin, Spot)

__all__ = [
    "CLASS_NAMES", "DISTRACTOR_SHAPES", "ELEMENT_KINDS", "IMAGE_SIZE", "MARKER_KINDS",
    "SEED_LIKE_COUNTS", "SPLIT_SEEDS", "SPLIT_SIZES",
    "Dataset", "Rendering", "Scene", "Skin", "Lighting", "Spot", "Hair", "RGB", "Lobes",
    "Element", "Pock", "Eschar", "Blotch", "Bite", "Scratch", "Birthmark", "PressureMark",
    "InkDot", "Ruler",
    "class_index", "generate", "load_split", "load_folder", "sample_scene",
    "MIN_IMAGE_SIDE", "load_image_folder", "load_image_split", "near_duplicates",
    "perceptual_hashes",
    "render", "render_many", "render_batches",
]
