"""Turning raw attributions into maps: channel reduction, upsampling, normalisation.

Methods return raw maps (not normalised); these are the only post-processing steps, in
one place, so no method imports another method to reuse them.
"""

from __future__ import annotations

import numpy as np

REDUCTIONS = ("max_abs", "abs_sum", "signed_sum")
"""How an (N, H, W, 3) attribution becomes an (N, H, W) map: ``max_abs`` (the largest
absolute value over the colour channels, Simonyan et al. 2014), ``abs_sum`` (sum of
absolute values) or ``signed_sum`` (sum, sign kept)."""


def reduce_channels(attributions, reduce: str = "max_abs") -> np.ndarray:
    """(N, H, W, 3) -> (N, H, W), as named by ``reduce`` (see :data:`REDUCTIONS`)."""
    a = np.asarray(attributions)
    if reduce == "max_abs":
        return np.abs(a).max(axis=-1)
    if reduce == "abs_sum":
        return np.abs(a).sum(axis=-1)
    if reduce == "signed_sum":
        return a.sum(axis=-1)
    raise ValueError(f"reduce must be one of {list(REDUCTIONS)}, got {reduce!r}")


def upsample(maps, size) -> np.ndarray:
    """Bilinear resize of maps (N, h, w) to (N, *size), pixel centres aligned
    (``tf.image.resize``, half-pixel centres)."""
    import tensorflow as tf
    maps = tf.convert_to_tensor(np.asarray(maps, np.float32)[..., None])
    return tf.image.resize(maps, tuple(size), method="bilinear").numpy()[..., 0]


def normalize(maps) -> np.ndarray:
    """Scale each map by its largest absolute value, to [-1, 1] (all-zero maps stay zero).

    Zero stays zero and signs are kept, so a map's values remain comparable to each other;
    only the unit changes.
    """
    maps = np.asarray(maps, np.float32)
    peak = np.abs(maps).max(axis=tuple(range(1, maps.ndim)), keepdims=True)
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)
