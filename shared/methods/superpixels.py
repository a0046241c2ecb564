"""Superpixels: the regions that LIME and anchors keep or hide.

Both explain an image in terms of superpixels, groups of neighbouring pixels of similar
colour found by an over-segmentation algorithm of scikit-image. Each method keeps the
parameters of its own library (:mod:`shared.methods.lime`, :mod:`shared.methods.anchors`);
the names, the checks, the labelling convention and the construction of the segmentation
function live here once.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from .parameters import non_negative_int, positive_int

SEGMENTATIONS = ("quickshift", "slic", "felzenszwalb")
"""The scikit-image algorithms both libraries use (``skimage.segmentation``)."""


def check_segmentation(name: str, value):
    """A name in :data:`SEGMENTATIONS` or a callable ``image (H, W, 3) -> labels (H, W)``."""
    if callable(value) or value in SEGMENTATIONS:
        return value
    raise ValueError(f"{name} must be one of {list(SEGMENTATIONS)} or a function "
                     f"image -> (H, W) integer labels, got {value!r}")


def relabel(labels, shape) -> np.ndarray:
    """Check a segmentation's output and number its superpixels ``0..K-1`` (what lime and
    alibi assume: SLIC starts at 1 unless ``start_label=0``, and a label K would never be
    hidden)."""
    labels = np.asarray(labels)
    if labels.shape != tuple(shape) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"segmentation must return integer labels of shape {tuple(shape)}, "
                         f"got {labels.dtype} {labels.shape}")
    return np.unique(labels, return_inverse=True)[1].reshape(labels.shape)


def segmentation_function(segmentation, parameters: dict, seed: int | None = None) -> Callable:
    """The segmentation as a function ``image (H, W, 3) in [0, 1] -> int (H, W)`` with
    labels ``0..K-1`` (see :func:`relabel`).

    ``segmentation``: a name in :data:`SEGMENTATIONS`, run as scikit-image's algorithm with
    ``parameters[segmentation]`` on top of its defaults (each library's own table), or a
    function of yours. ``seed``: quickshift's tie-breaking ``rng`` (``None`` leaves
    scikit-image's default). Images must be in [0, 1]: a 0-255 float image gives
    quickshift hundreds of superpixels. ``segment.algorithm`` is the function run.

    The named algorithms segment the image in float64: in float32, scikit-image's colour
    conversion and quickshift's densities round differently on different CPUs (numpy's
    vector code paths), and superpixel borders move; in float64 the superpixels of the
    book's test images are the same on every code path tried (tools/other_cpu.py).
    """
    check_segmentation("segmentation", segmentation)
    seed = None if seed is None else non_negative_int("seed", seed)
    if callable(segmentation):
        algorithm = segmentation
    else:
        from skimage import segmentation as skseg
        params = dict(parameters[segmentation])
        if seed is not None and segmentation == "quickshift":
            params["rng"] = seed
        algorithm = functools.partial(getattr(skseg, segmentation), **params)
    dtype = None if callable(segmentation) else np.float64

    def segment(image):
        return relabel(algorithm(np.asarray(image, dtype)), np.shape(image)[:2])
    segment.algorithm = algorithm
    return segment


class grid_segmentation:
    """Square superpixels of ``cell`` x ``cell`` pixels, numbered in raster order: a
    segmentation that follows no edge (the squares of occlusion), for models and images
    where colour edges mean nothing (noise images, for instance)."""

    def __init__(self, cell: int = 4):
        self.cell = positive_int("cell", cell)

    def __call__(self, image) -> np.ndarray:
        h, w = np.shape(image)[:2]
        rows, cols = np.arange(h)[:, None] // self.cell, np.arange(w)[None, :] // self.cell
        return rows * -(-w // self.cell) + cols

    def __repr__(self) -> str:
        return f"grid_segmentation({self.cell})"
