"""Superpixels: the regions that LIME and anchors keep or hide.

Both explain an image in terms of superpixels, groups of neighbouring pixels of similar
colour found by an over-segmentation algorithm of scikit-image. Each method keeps the
parameters of its own library (:mod:`shared.methods.lime`, :mod:`shared.methods.anchors`);
the names, the checks and the labelling convention live here once.
"""

from __future__ import annotations

import numpy as np

from . import engine

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


class grid_segmentation:
    """Square superpixels of ``cell`` x ``cell`` pixels, numbered in raster order: a
    segmentation that follows no edge (the squares of occlusion), for models and images
    where colour edges mean nothing, as the tests' noise images."""

    def __init__(self, cell: int = 4):
        self.cell = engine.positive_int("cell", cell)

    def __call__(self, image) -> np.ndarray:
        h, w = np.shape(image)[:2]
        rows, cols = np.arange(h)[:, None] // self.cell, np.arange(w)[None, :] // self.cell
        return rows * -(-w // self.cell) + cols

    def __repr__(self) -> str:
        return f"grid_segmentation({self.cell})"
