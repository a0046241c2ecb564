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


# --------------------------------------------------------------------------------------
# What hidden pixels become
# --------------------------------------------------------------------------------------

FILLS = ("grey", "black", "mean", "blur")
"""Named substitutes for hidden pixels (perturbation methods): ``grey`` (0.5, the zero of
the network's [-1, 1] input), ``black`` (0, RISE's masking), ``mean`` (each image's mean
colour, LIME's default is the mean of each superpixel instead), ``blur`` (the image
blurred by a Gaussian of :data:`BLUR_SIGMA` px, Fong & Vedaldi 2017)."""
BLUR_SIGMA = 10.0
"""Standard deviation (px) of the ``blur`` fill: Fong & Vedaldi's largest blur (sigma 10)."""


def substitute(images, fill, name: str = "fill") -> np.ndarray:
    """What each image's hidden pixels become, (N, H, W, 3) float32 in [0, 1].

    ``fill``: a name in :data:`FILLS`, a number in [0, 1] (a constant grey level), or
    an array of substitute images that broadcasts to the images (for instance the same
    scene rendered without its lesions: the skin as it would be). ``name``: the
    parameter named in error messages (Integrated Gradients' ``baseline`` is one too).
    """
    images = np.asarray(images, np.float32)
    if isinstance(fill, str):
        if fill == "grey":
            return np.full_like(images, 0.5)
        if fill == "black":
            return np.zeros_like(images)
        if fill == "mean":
            return np.broadcast_to(images.mean(axis=(1, 2), keepdims=True), images.shape).copy()
        if fill == "blur":
            from scipy import ndimage
            return ndimage.gaussian_filter(images, sigma=(0, BLUR_SIGMA, BLUR_SIGMA, 0),
                                           mode="nearest").astype(np.float32)
        raise ValueError(f"{name} must be one of {list(FILLS)}, a number in [0, 1] or an "
                         f"array of substitute images, got {fill!r}")
    value = np.asarray(fill, np.float32)
    try:
        out = np.broadcast_to(value, images.shape).astype(np.float32)
    except ValueError:
        raise ValueError(f"{name} of shape {value.shape} does not broadcast to the images' "
                         f"shape {images.shape}") from None
    if not np.isfinite(out).all() or out.min() < 0 or out.max() > 1:
        raise ValueError(f"{name} values must be finite and in [0, 1], like the images")
    return out


def check_fill(name: str, value):
    """Check a fill: a name in :data:`FILLS`, a grey level in [0, 1] or an
    array of substitute images in [0, 1] (its shape is checked against the images by
    :func:`substitute`)."""
    problem = (f"{name} must be one of {list(FILLS)}, a number in [0, 1] or an "
               f"array of substitute images in [0, 1]")
    if isinstance(value, str):
        if value not in FILLS:
            raise ValueError(f"{problem}, got {value!r}")
        return value
    if value is None or isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{problem}, got {value!r}")
    try:
        a = np.asarray(value, np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"{problem}, got {type(value).__name__}") from None
    if a.size == 0 or not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
        shown = repr(value) if a.ndim == 0 else f"an array of shape {a.shape}"
        raise ValueError(f"{problem}, got {shown} (values must be finite and in [0, 1])")
    return float(a) if a.ndim == 0 else a
