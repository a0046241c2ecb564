"""The registry (:data:`VISUALIZATIONS`) and where each default comes from
(:data:`SOURCES`, :func:`defaults`)."""

from __future__ import annotations

import inspect

from .ascent import optimize
from .dream import deep_dream

VISUALIZATIONS = {"activation_maximization": optimize, "deep_dream": deep_dream}
"""Name -> function. ``activation_maximization(model, objective, **params)`` returns a
:class:`Visualization`; ``deep_dream(model, image, layers, **params)`` an image."""

_LUCID = "lucid (Olah, Mordvintsev & Schubert 2017, Distill)"
SOURCES = {
    "activation_maximization": {
        "steps": f"{_LUCID}: render_vis thresholds=(512,)",
        "learning_rate": f"fourier: {_LUCID}, Adam(0.05) in render_vis; pixels: 0.01, about "
                         "lucid's 0.05 times its sigmoid's slope at grey (1/4); measured on "
                         "the book's model, 0.05 saturates most pixels within 10 steps",
        "parametrization": f"{_LUCID}: param.image(fft=True)",
        "decorrelate": f"{_LUCID}: param.image(decorrelate=True)",
        "decay_power": f"{_LUCID}: fft_image(decay_power=1), the 1/f spectrum of natural images",
        "transforms": f"{_LUCID}: transform.standard_transforms",
        "blur_every": "off; Yosinski et al. 2015 (Deep Visualization) blur every 4 steps",
        "blur_sigma": "Yosinski et al. 2015: blur widths of 0.5 to 1 pixel",
        "tv": "off (lucid: none; tf-keras-vis: TotalVariation2D(weight=1) on 0-255 images); "
              "measured on the book's model (pixels, 30 steps): 300 lowers the power above "
              "half Nyquist from about 50 % to about 30 % (Cowpox, Measles) for 12-14 % of "
              "the logit; 1000 to 8-21 % (Chickenpox, Measles)",
        "l2": "off (Simonyan et al. 2014 penalise ||I||^2 without a published weight); "
              "measured on the book's model: 3000 brings the mean squared distance from "
              "grey to 0.5-0.8 of the unpenalised one for up to 15 % of the logit; 10000 "
              "to 0.1-0.35",
        "n_images": "one image per objective",
        "batch_size": "speed only (image i depends only on the seed and i)",
        "seed": "any: every random draw derives from it",
        "start": f"{_LUCID}: grey plus N(0, 0.01) noise in parameter space",
        "size": "the model's input size",
    },
    "deep_dream": {
        "octaves": "Keras Deep Dream example (Chollet): num_octave = 3",
        "octave_scale": "Keras example and Mordvintsev's notebook: 1.4 (TF tutorial: 1.3)",
        "steps_per_octave": "Keras example: iterations = 20 (Mordvintsev: 10, TF tutorial: 100)",
        "step_size": "Keras example: 0.01 on [-1, 1] inputs = 0.005 on [0, 1] "
                     "(Mordvintsev: 1.5 on 0-255 = 0.006)",
        "class_logit": "none: the layer objective alone",
        "class_weight": "1: logit and layer objective added as they are",
        "jitter": "off, as the Keras example; Mordvintsev's notebook rolls by up to 32 pixels",
        "seed": "any: only the jitter is random",
    },
}
"""Parameter -> where its default comes from, for each visualisation."""


def defaults(name: str) -> list[tuple[str, object, str]]:
    """A visualisation's keyword parameters as (name, default, where it comes from)."""
    fn = VISUALIZATIONS[name]
    return [(p.name, p.default, SOURCES[name].get(p.name, ""))
            for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY]
