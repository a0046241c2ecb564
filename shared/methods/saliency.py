"""Input-gradient methods: saliency, SmoothGrad and Integrated Gradients.

All three differentiate the target class's logit ``y_c`` with respect to the input
pixels ``x`` (never the softmax probability, whose gradient also depends on the
other classes).

* Saliency (Simonyan, Vedaldi & Zisserman 2014, "Deep inside convolutional networks:
  visualising image classification models and saliency maps", ICLR workshop):
  ``M_ij = max_channel |dy_c/dx_ij|``.
* SmoothGrad (Smilkov et al. 2017, "SmoothGrad: removing noise by adding noise",
  arXiv:1706.03825): ``M = 1/n sum_s dy_c/dx (x + eps_s)``, ``eps_s ~ N(0, sigma^2)``.
* Integrated Gradients (Sundararajan, Taly & Yan 2017, "Axiomatic attribution for deep
  networks", ICML): ``IG_i = (x_i - x'_i) * integral_0^1 dy_c/dx_i (x' + a (x - x')) da``
  for a baseline ``x'``; completeness: ``sum_i IG_i = y_c(x) - y_c(x')``.
"""

from __future__ import annotations

import numpy as np

from . import _core

REDUCTIONS = ("max_abs", "abs_sum", "signed_sum")


def reduce_channels(grads, reduce: str = "max_abs") -> np.ndarray:
    """(N, H, W, 3) -> (N, H, W): ``max_abs`` (the paper's max over channels of |g|),
    ``abs_sum`` (sum of |g|) or ``signed_sum`` (sum of g, sign kept)."""
    if reduce == "max_abs":
        return np.abs(grads).max(axis=-1)
    if reduce == "abs_sum":
        return np.abs(grads).sum(axis=-1)
    if reduce == "signed_sum":
        return grads.sum(axis=-1)
    raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")


def input_gradients(model, images, targets=None, *, batch_size: int = 32) -> np.ndarray:
    """Raw gradients d y_c / d x of the target logits, (N, H, W, 3)."""
    images = _core.check_images(images, model)
    targets = _core.resolve_targets(model, images, targets, batch_size)
    return _core.batched(_core.input_gradient_fn(model), images, targets, batch_size)


def saliency(model, images, targets=None, *, reduce: str = "max_abs",
             batch_size: int = 32) -> np.ndarray:
    """Saliency maps (N, H, W): the input gradient reduced over channels."""
    reduce_channels(np.zeros((1, 1, 1, 3)), reduce)  # check `reduce` before any work
    return reduce_channels(input_gradients(model, images, targets, batch_size=batch_size),
                           reduce)


def smooth_gradients(model, images, targets=None, *, n_samples: int = 25,
                     noise: float = 0.15, seed: int = 0, batch_size: int = 32) -> np.ndarray:
    """SmoothGrad's mean gradient over noisy copies, (N, H, W, 3).

    ``noise`` is sigma as a fraction of the input range (1 here: images are in [0, 1]).
    The noise of sample ``s`` of image ``i`` depends only on ``(seed, i, s)``.
    """
    images = _core.check_images(images, model)
    targets = _core.resolve_targets(model, images, targets, batch_size)
    n_samples = _core.check_positive_int("n_samples", n_samples)
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    sigma = np.float32(noise * (1.0 - 0.0))  # fraction of the input range [0, 1]

    def noisy(image, sample):
        eps = [np.random.default_rng([seed, i, s]).standard_normal(images.shape[1:],
                                                                   np.float32)
               for i, s in zip(image, sample)]
        return images[image] + sigma * np.stack(eps)

    return _core.mean_input_gradients(model, targets, noisy, n_samples, batch_size)


def smoothgrad(model, images, targets=None, *, n_samples: int = 25, noise: float = 0.15,
               seed: int = 0, reduce: str = "max_abs", batch_size: int = 32) -> np.ndarray:
    """SmoothGrad maps (N, H, W): the mean noisy gradient, reduced over channels."""
    reduce_channels(np.zeros((1, 1, 1, 3)), reduce)
    grads = smooth_gradients(model, images, targets, n_samples=n_samples, noise=noise,
                             seed=seed, batch_size=batch_size)
    return reduce_channels(grads, reduce)


def ig_attributions(model, images, targets=None, *, steps: int = 32, baseline=None,
                    batch_size: int = 32) -> np.ndarray:
    """Integrated Gradients per pixel and channel, (N, H, W, 3).

    The path integral is a Riemann sum at the ``steps`` midpoints
    ``a = (k + 1/2) / steps``; all (image, step) pairs are batched together.
    ``baseline``: ``None`` (black, zeros) or an array broadcastable to the images.
    """
    images = _core.check_images(images, model)
    targets = _core.resolve_targets(model, images, targets, batch_size)
    steps = _core.check_positive_int("steps", steps)
    base = np.zeros_like(images) if baseline is None else np.asarray(baseline, np.float32)
    try:
        base = np.broadcast_to(base, images.shape)
    except ValueError:
        raise ValueError(f"baseline of shape {base.shape} does not broadcast to the images' "
                         f"shape {images.shape}") from None
    if not np.isfinite(base).all():
        raise ValueError("baseline contains NaN or infinite values")
    alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)
    delta = images - base

    def path(image, step):
        return base[image] + alphas[step, None, None, None] * delta[image]

    return delta * _core.mean_input_gradients(model, targets, path, steps, batch_size)


def integrated_gradients(model, images, targets=None, *, steps: int = 32, baseline=None,
                         batch_size: int = 32) -> np.ndarray:
    """Integrated Gradients maps (N, H, W): attributions summed over channels (signed)."""
    return ig_attributions(model, images, targets, steps=steps, baseline=baseline,
                           batch_size=batch_size).sum(axis=-1)
