"""Input checks: images and target classes. Each raises a ``ValueError`` that names the
problem, before any work is done."""

from __future__ import annotations

import numpy as np

from .graph import Network, network


def check_images(images, model=None) -> np.ndarray:
    """Check a batch of images and return it as float32 (N, H, W, 3) in [0, 1].

    With a model, the size must be one the model accepts.
    """
    a = np.asarray(images)
    if a.ndim != 4:
        hint = " (a single image? pass images[None])" if a.ndim == 3 else ""
        raise ValueError(f"images must have rank 4 (N, H, W, 3), got rank {a.ndim} "
                         f"with shape {a.shape}{hint}")
    if a.shape[-1] != 3:
        raise ValueError(f"images must have 3 channels (RGB, last axis), got {a.shape[-1]} "
                         f"channels in shape {a.shape}")
    if len(a) == 0:
        raise ValueError("images is empty (N = 0)")
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"images must have a float dtype with values in [0, 1], got dtype "
                         f"{a.dtype} (for 0-255 integers use images / 255)")
    if np.isnan(a).any():
        raise ValueError(f"images contain NaN values ({int(np.isnan(a).sum())} of them)")
    lo, hi = float(a.min()), float(a.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"image values must be in [0, 1], got values in [{lo:g}, {hi:g}]"
                         + (" (0-255 images? divide by 255)" if hi > 1.0 else ""))
    if model is not None:
        check_size(a, network(model))
    return a.astype(np.float32, copy=False)


def check_size(a: np.ndarray, net: Network) -> None:
    """Check that images (N, H, W, 3) have a size the network takes."""
    expected = net.input_shape
    if any(e is not None and e != s for e, s in zip(expected, a.shape[1:])):
        raise ValueError(f"images have shape (H, W, C) = {a.shape[1:]}, but the model "
                         f"expects {expected}")


def as_batch(images, net: Network) -> np.ndarray:
    """float32 (N, H, W, 3) of a size the model takes (a cheap structural check only:
    the primitives trust :func:`check_images`, or the method, for the values)."""
    a = np.asarray(images, np.float32)
    if a.ndim != 4 or a.shape[-1] != 3:
        raise ValueError(f"images must have shape (N, H, W, 3), got {a.shape}")
    check_size(a, net)
    return a


def check_targets(targets, n: int, num_classes: int) -> np.ndarray:
    """Class indices as int32 (N,): an int (that class for each of the ``n`` images) or a
    sequence of one class index per image, each in ``0..num_classes - 1``.
    (:func:`shared.methods.resolve_targets` also takes ``None``: the predicted classes.)"""
    t = np.asarray(targets)
    if t.dtype == bool or not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"targets must be class indices (integers), got {targets!r}")
    if t.ndim == 0:
        t = np.full(n, int(t))
    if t.ndim != 1 or len(t) != n:
        raise ValueError(f"targets must be one int or a sequence of one int per image "
                         f"({n} images), got shape {t.shape}")
    bad = t[(t < 0) | (t >= num_classes)]
    if len(bad):
        raise ValueError(f"target class index {int(bad[0])} out of range: valid class "
                         f"indices are 0..{num_classes - 1}")
    return t.astype(np.int32)
