"""Parametrizations: the numbers the optimiser changes, and the image they make (raw
:class:`Pixels`, or lucid's :class:`Fourier` basis with decorrelated colours)."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

COLOR_CORRELATION_SQRT = np.array([[0.26, 0.09, 0.02],
                                   [0.27, 0.00, -0.05],
                                   [0.27, -0.09, 0.03]], np.float32)
"""Square root of ImageNet's colour correlation matrix (lucid, ``param/color.py``): maps
decorrelated colour coordinates to RGB. Our skin images have their own correlations;
the matrix only needs to be roughly right to balance the step sizes of the colours."""

_COLOR = COLOR_CORRELATION_SQRT / np.max(np.linalg.norm(COLOR_CORRELATION_SQRT, axis=0))


class Pixels:
    """Raw pixels: the parameters are the image, kept in [0, 1] by clipping after each
    step (projected gradient ascent, as tf-keras-vis and the Deep Dream tutorials do), so
    a start image is reproduced exactly and a step size is in pixel units."""
    name = "pixels"

    def __init__(self, size):
        self.size = size

    def initial(self, rngs):
        """Mid grey plus N(0, 0.01) noise (lucid's ``sd=0.01``), one image per generator."""
        return np.stack([0.5 + r.normal(0, 0.01, self.size + (3,)) for r in rngs]
                        ).astype(np.float32)

    def from_images(self, images):
        return np.asarray(images, np.float32)

    def to_images(self, params):
        return params

    def project(self, params):
        return tf.clip_by_value(params, 0.0, 1.0)

    def blur(self, params, sigma):
        return _gaussian_blur(params, sigma)


class Fourier:
    """Lucid's ``fft_image`` + ``to_valid_rgb`` (Olah et al. 2017): the parameters are
    2-D Fourier coefficients of each colour channel, scaled by 1/frequency^decay_power
    so that all frequencies move at similar speeds under gradient ascent (plain pixels
    favour high frequencies); optionally in decorrelated colours; mapped to [0, 1] by a
    sigmoid (lucid's default: smooth, never saturates a gradient to exactly 0, and needs
    no clipping in Fourier space, where a pixel cannot be clipped)."""
    name = "fourier"

    def __init__(self, size, decorrelate=True, decay_power=1.0):
        self.size, self.decorrelate, self.decay_power = size, decorrelate, decay_power
        h, w = size
        fy = np.fft.fftfreq(h)[:, None]
        fx = np.fft.fftfreq(w)[: w // 2 + 1]          # irfft2d keeps w // 2 + 1 columns
        self.freqs = np.sqrt(fx * fx + fy * fy).astype(np.float32)   # cycles per pixel
        scale = 1.0 / np.maximum(self.freqs, 1.0 / max(h, w)) ** decay_power
        self.scale = (scale * np.sqrt(h * w)).astype(np.float32)

    def initial(self, rngs):
        """Coefficients drawn N(0, 0.01) (lucid's ``sd=0.01``): nearly uniform grey."""
        shape = (2, 3) + self.freqs.shape                        # (real/imag, colour, h, w')
        return np.stack([r.normal(0, 0.01, shape) for r in rngs]).astype(np.float32)

    def to_images(self, params):
        spectrum = tf.complex(params[:, 0], params[:, 1]) * tf.cast(self.scale, tf.complex64)
        x = tf.transpose(tf.signal.irfft2d(spectrum, fft_length=self.size), (0, 2, 3, 1))
        x = x / 4.0                                  # lucid's constant, kept for its step sizes
        if self.decorrelate:
            x = tf.tensordot(x, tf.constant(_COLOR.T), axes=1)
        return tf.sigmoid(x)

    def from_images(self, images):
        """The coefficients whose image is ``images`` (pixels 0 and 1 are moved 0.001
        inside, where the sigmoid can reach them)."""
        x = np.clip(np.asarray(images, np.float64), 1e-3, 1 - 1e-3)
        x = np.log(x / (1 - x))
        if self.decorrelate:
            x = x @ np.linalg.inv(_COLOR.T.astype(np.float64))
        spectrum = np.fft.rfft2(np.moveaxis(x * 4.0, -1, 1)) / self.scale   # (N, 3, h, w')
        return np.stack([spectrum.real, spectrum.imag], axis=1).astype(np.float32)

    def project(self, params):
        return params

    def blur(self, params, sigma):
        """Blurring the image = multiplying its spectrum by the Gaussian's transfer
        function exp(-2 pi^2 sigma^2 f^2) (before the colour mix and the sigmoid)."""
        gain = np.exp(-2 * np.pi ** 2 * sigma ** 2 * self.freqs ** 2).astype(np.float32)
        return params * gain


PARAMETRIZATIONS = {"pixels": Pixels, "fourier": Fourier}


def _gaussian_blur(images, sigma: float):
    """A Gaussian blur of standard deviation ``sigma`` pixels (edges reflected)."""
    radius = max(1, int(math.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k = (k / k.sum()).astype(np.float32)
    kernel = tf.constant(np.tile(np.outer(k, k)[:, :, None, None], (1, 1, 3, 1)))
    padded = tf.pad(images, [[0, 0], [radius, radius], [radius, radius], [0, 0]], "REFLECT")
    return tf.nn.depthwise_conv2d(padded, kernel, [1, 1, 1, 1], "VALID")
