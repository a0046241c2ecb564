"""Measurements for the chapters: spectra (:func:`high_frequency_share`,
:func:`radial_power`, :func:`spectral_distance`), robustness (:func:`shift_gap`), the
strongest channels of a layer, and the randomization sanity check
(:func:`randomization_check`, with :func:`rank_correlation`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from shared import metrics
from shared.methods import activations, check_images, network
from shared.methods.parameters import positive_int

from .ascent import Visualization, evaluate, optimize
from .transforms import _warp

def high_frequency_share(images, cutoff: float = 0.5) -> np.ndarray:
    """Share of each image's spectral power (N,) above ``cutoff`` times the Nyquist
    frequency (radially; the mean of each colour channel removed). White noise has
    about 80 % above half the Nyquist frequency, natural images a few percent."""
    x = np.asarray(images, np.float64)
    x = x - x.mean(axis=(1, 2), keepdims=True)
    power = (np.abs(np.fft.fft2(x, axes=(1, 2))) ** 2).sum(-1)          # (N, H, W)
    fy = np.fft.fftfreq(x.shape[1])[:, None]
    fx = np.fft.fftfreq(x.shape[2])[None, :]
    high = np.sqrt(fx ** 2 + fy ** 2) > cutoff * 0.5                      # Nyquist: 0.5
    return (power[:, high].sum(-1) / np.maximum(power.sum((1, 2)), 1e-30)).astype(np.float32)


def radial_power(images) -> np.ndarray:
    """Each image's power spectrum averaged over rings of equal frequency, (N, H // 2)
    (colour channels summed, means removed)."""
    x = np.asarray(images, np.float64)
    x = x - x.mean(axis=(1, 2), keepdims=True)
    power = (np.abs(np.fft.fft2(x, axes=(1, 2))) ** 2).sum(-1)
    h, w = x.shape[1:3]
    fy, fx = np.meshgrid(np.fft.fftfreq(h) * h, np.fft.fftfreq(w) * w, indexing="ij")
    ring = np.minimum(np.round(np.sqrt(fx ** 2 + fy ** 2)).astype(int), h // 2)
    counts = np.bincount(ring.ravel(), minlength=h // 2 + 1)
    rings = np.stack([np.bincount(ring.ravel(), p.ravel(), h // 2 + 1) / counts for p in power])
    return rings[:, 1:h // 2 + 1]


def shift_gap(model, objective, images, shift: int = 4) -> np.ndarray:
    """How much of its objective an image loses when shifted by ``shift`` pixels (N,):
    the mean over the four directions of (f(x) - f(shifted x)) / |f(x)|, the uncovered
    edge filled with grey. Transformation robustness should make it small."""
    x = check_images(images)
    base = evaluate(model, objective, x)
    gaps = []
    for dy, dx in [(shift, 0), (-shift, 0), (0, shift), (0, -shift)]:
        maps = np.tile(np.array([1, 0, dy, 0, 1, dx], np.float32), (len(x), 1))
        shifted = np.asarray(_warp(tf.constant(x), tf.constant(maps)))
        gaps.append((base - evaluate(model, objective, shifted)) / np.maximum(np.abs(base), 1e-12))
    return np.mean(gaps, axis=0).astype(np.float32)


def strongest_channels(model, layer, images, k: int = 8) -> list[int]:
    """The ``k`` channels of ``layer`` with the largest mean activation over ``images``,
    strongest first (for ``[channel(layer, c) for c in strongest_channels(...)]``)."""
    images = check_images(images, model)
    acts = activations(model, images, network(model).layer(layer))
    return [int(c) for c in np.argsort(-acts.mean(axis=(0, 1, 2)))[:positive_int("k", k)]]


def rank_correlation(a, b) -> np.ndarray:
    """Spearman's rank correlation between paired images (N, ...), over all their values,
    one per pair (float64 (N,)): :func:`shared.metrics.rank_correlation` (scipy's
    Spearman; tied values share their mean rank; 0 where an image is constant, since it
    has no order to compare), each image's values laid out as one map."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim < 1 or a.shape != b.shape:
        raise ValueError(f"a and b must be paired images (N, ...) with equal shapes, got "
                         f"{a.shape} and {b.shape}")
    return metrics.rank_correlation(a.reshape(len(a), 1, -1), b.reshape(len(b), 1, -1))


def spectral_distance(a, b) -> np.ndarray:
    """Mean absolute difference of the log10 radial power spectra of paired images (N,):
    1.0 means the spectra differ by a factor of 10 on average (0: same texture scale)."""
    pa, pb = radial_power(a), radial_power(b)
    return np.abs(np.log10(pa + 1e-12) - np.log10(pb + 1e-12)).mean(1).astype(np.float32)


@dataclasses.dataclass(eq=False)
class RandomizationCheck:
    """What :func:`randomization_check` returns: both visualisations and how much they
    differ, per image.

    ``rank_correlation`` (:func:`rank_correlation` of the pixel values): near 1, the
    visualization did not change when the weights were randomized, i.e. it does not
    depend on what the network learned (it shows the parametrization and the
    regularizers); near 0, it does. A constant image has no order to compare and gets 0,
    not 1: look at such an image (and at ``spectral_distance``) before reading its 0 as
    a pass. ``spectral_distance`` (:func:`spectral_distance`, log10 units): how far apart
    the two images' texture scales are (0: the same)."""
    trained: Visualization
    randomized: Visualization
    rank_correlation: np.ndarray
    spectral_distance: np.ndarray


def randomization_check(model, objective, *, randomized=None, **kwargs) -> RandomizationCheck:
    """Adebayo et al.'s (2018) sanity check, for feature visualisation: the same
    visualisations (same seed, same settings ``kwargs`` of :func:`optimize`) on the model
    and on a copy whose weights are all re-initialised (``randomized``; default
    ``randomization.randomized_copy(model, randomization.cascade_blocks(model))``). A rank correlation
    near 1 means the images did not change when the weights were randomized: they show
    the method (parametrization, regularizers), not what the network learned; see
    :class:`RandomizationCheck` for reading the numbers (a constant image gets 0)."""
    from shared import randomization
    if randomized is None:
        randomized = randomization.randomized_copy(model, randomization.cascade_blocks(model))
    trained = optimize(model, objective, **kwargs)
    control = optimize(randomized, objective, **kwargs)
    return RandomizationCheck(trained, control, rank_correlation(trained.images, control.images),
                              spectral_distance(trained.images, control.images))

