"""Integrated Gradients and Expected Gradients: gradients along a path from a baseline.

* Integrated Gradients (Sundararajan, Taly & Yan 2017, ICML): for a baseline ``x'``,
  ``IG_i = (x_i - x'_i) * integral_0^1 dy_c/dx_i (x' + a (x - x')) da``, with
  completeness: ``sum_i IG_i = y_c(x) - y_c(x')``.
* Expected Gradients (Erion et al. 2021, Nature Machine Intelligence): Integrated
  Gradients averaged over baselines drawn from a distribution ``D`` (the data, in the
  paper), estimated by sampling a baseline and a point on its path together:
  ``EG_i = E_{x' ~ D, a ~ U(0, 1)} [(x_i - x'_i) dy_c/dx_i (x' + a (x - x'))]``.

The baseline is part of the question: "what raised the score compared with *this*?"
(Sturmfels, Lundberg & Lee 2020, Distill).
"""

from __future__ import annotations

import numpy as np

from . import primitives
from .postprocess import substitute
from .registry import attribution

_IG = {
    "steps": "our measurement: completeness within a few % at 32 steps on this model "
             "(Sundararajan et al. 2017 report 20 to 300 steps)",
    "baseline": "black (zeros), the paper's choice for images",
}


@attribution(register=False, sources=_IG)
def ig_attributions(model, images, targets, *, steps=32, baseline=None, batch_size=32):
    """Integrated Gradients per pixel and channel, (N, H, W, 3).

    The path integral is a Riemann sum at the ``steps`` midpoints ``a = (k + 1/2) / steps``;
    all (image, step) pairs are batched together. ``baseline``: ``None`` (black) or
    what :func:`shared.methods.substitute` accepts (an array in [0, 1] that broadcasts to
    the images, a grey level or a named fill).
    """
    base = substitute(images, "black" if baseline is None else baseline, name="baseline")
    alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)
    delta = images - base

    def path(image, step):
        return base[image] + alphas[step, None, None, None] * delta[image]

    return delta * primitives.mean_input_gradients(model, targets, path, steps,
                                                   batch_size=batch_size)


@attribution(sources=_IG)
def integrated_gradients(model, images, targets, *, steps=32, baseline=None, batch_size=32):
    """Integrated Gradients maps (N, H, W): attributions summed over the colour channels
    (signed, so the map of an image still sums to ``y_c(x) - y_c(x')``)."""
    return ig_attributions.unchecked(model, images, targets, steps=steps, baseline=baseline,
                                     batch_size=batch_size).sum(axis=-1)


def _references(baseline, images: np.ndarray):
    """Expected Gradients' baseline distribution: ``None`` (uniform noise) or (M, H, W, 3)."""
    if baseline is None:
        return None
    refs = np.asarray(baseline, np.float32)
    if refs.ndim != 4 or refs.shape[1:] != images.shape[1:] or len(refs) == 0:
        raise ValueError(f"baseline must be reference images (M, H, W, 3) of the images' size "
                         f"{images.shape[1:]}, got shape {refs.shape}")
    if not np.isfinite(refs).all() or refs.min() < 0 or refs.max() > 1:
        raise ValueError("baseline values must be finite and in [0, 1], like the images")
    return refs


@attribution(
    sources={"n_samples": "shap's GradientExplainer default (nsamples=200)",
             "baseline": "uniform noise, one of the baseline distributions of Sturmfels et "
                         "al. 2020; pass data images for Erion et al.'s version",
             "seed": "any: sample s of image i depends only on (seed, i, s)"})
def expected_gradients(model, images, targets, *, n_samples=200, baseline=None, seed=0,
                       batch_size=32):
    """Expected Gradients maps (N, H, W), summed over the colour channels (signed).

    Each of the ``n_samples`` samples of image ``i`` draws, from ``(seed, i, s)`` alone, a
    reference ``x'`` (a random image of ``baseline``, (M, H, W, 3), or uniform noise when
    ``baseline`` is None) and a point ``a ~ U(0, 1)`` on the path from ``x'`` to ``x``.
    """
    refs = _references(baseline, images)

    def draw(i, s):
        rng = np.random.default_rng([seed, int(i), int(s)])
        ref = (rng.random(images.shape[1:], dtype=np.float32) if refs is None
               else refs[rng.integers(len(refs))])
        return ref, np.float32(rng.random())

    def inputs_and_weights(image, sample):
        refs_, alphas = zip(*[draw(i, s) for i, s in zip(image, sample)])
        delta = images[image] - np.stack(refs_)
        return images[image] - (1 - np.array(alphas)[:, None, None, None]) * delta, delta

    grads = primitives.mean_input_gradients(model, targets, inputs_and_weights, n_samples,
                                            batch_size=batch_size)
    return grads.sum(axis=-1)
