"""Transformation robustness: the random affine maps applied to the image before every
step (:class:`Transforms`, lucid's ``standard_transforms``) and the differentiable warp
that applies them."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Transforms:
    """Random transformations applied to the image before every step, so that the image
    must excite the objective robustly (lucid's ``transform.standard_transforms``):

    ``pad(12, constant 0.5), jitter(8), scale(0.90 ... 1.10), rotate(-10 ... 10 deg,
    0 deg five extra times), jitter(4)``.

    Lucid's model takes any size; ours a fixed one, so the chain is applied as one
    affine map that keeps the input size: each output pixel is sampled (bilinearly) from
    where the chain would take it, and a pixel that comes from outside the image gets
    the padding's grey (0.5). A ``jitter(d)`` is lucid's random crop of d pixels: a
    shift of 0..d pixels, here centred (-d/2 .. d/2).
    """
    jitter: int = 8
    scales: tuple[float, ...] = tuple(1 + (i - 5) / 50 for i in range(11))
    angles: tuple[float, ...] = tuple(range(-10, 11)) + 5 * (0,)
    jitter_after: int = 4
    fill: float = 0.5

    def sample(self, rng, steps: int, size) -> np.ndarray:
        """Affine maps (steps, 6) from output to input pixel coordinates, one per step:
        (a, b, c, d, e, f) takes output (row, col) to (a row + b col + c, d row + e col + f)."""
        j1 = rng.integers(0, self.jitter + 1, (steps, 2)) - self.jitter / 2
        j2 = rng.integers(0, self.jitter_after + 1, (steps, 2)) - self.jitter_after / 2
        s = rng.choice(np.asarray(self.scales, float), steps)
        angle = np.deg2rad(rng.choice(np.asarray(self.angles, float), steps))
        centre = (np.asarray(size, float) - 1) / 2
        maps = np.zeros((steps, 6))
        for t in range(steps):
            cos, sin = np.cos(angle[t]) / s[t], np.sin(angle[t]) / s[t]
            a = np.array([[cos, sin], [-sin, cos]])     # undo the rotation, then the scale
            offset = centre - a @ centre + a @ j2[t] + j1[t]
            maps[t] = [a[0, 0], a[0, 1], offset[0], a[1, 0], a[1, 1], offset[1]]
        return maps.astype(np.float32)


def _identity_maps(n: int) -> np.ndarray:
    return np.tile(np.array([1, 0, 0, 0, 1, 0], np.float32), (n, 1))


def _warp(images, maps, fill: float = 0.5):
    """Sample each image at its affine map (N, 6) with bilinear interpolation; points
    outside the image get ``fill``. Written with gathers so that the gradient is exact."""
    n, h, w = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=fill)
    rows, cols = tf.meshgrid(tf.range(h, dtype=tf.float32), tf.range(w, dtype=tf.float32),
                             indexing="ij")
    m = maps[:, :, None, None]
    y = m[:, 0] * rows + m[:, 1] * cols + m[:, 2] + 1.0        # +1: the padding
    x = m[:, 3] * rows + m[:, 4] * cols + m[:, 5] + 1.0
    y = tf.clip_by_value(y, 0.0, tf.cast(h + 1, tf.float32))   # far outside = the padding
    x = tf.clip_by_value(x, 0.0, tf.cast(w + 1, tf.float32))
    y0, x0 = tf.floor(y), tf.floor(x)
    wy, wx = (y - y0)[..., None], (x - x0)[..., None]
    flat = tf.reshape(padded, [-1, 3])
    base = tf.range(n)[:, None, None] * (h + 2) * (w + 2)

    def at(yy, xx):
        yy = tf.minimum(tf.cast(yy, tf.int32), h + 1)
        xx = tf.minimum(tf.cast(xx, tf.int32), w + 1)
        return tf.gather(flat, base + yy * (w + 2) + xx)

    top = at(y0, x0) * (1 - wx) + at(y0, x0 + 1) * wx
    bottom = at(y0 + 1, x0) * (1 - wx) + at(y0 + 1, x0 + 1) * wx
    return top * (1 - wy) + bottom * wy

