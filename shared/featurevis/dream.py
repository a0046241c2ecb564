"""Deep Dream (Mordvintsev, Olah & Tyka 2015): gradient ascent on a real image's pixels
to raise a layer's activation, at several scales (:func:`deep_dream`,
:func:`octave_sizes`, and :func:`dream_step`, the compiled step it takes)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from shared.methods import check_images, network, quiet_retracing
from shared.methods.parameters import non_negative, non_negative_int, positive_int
from shared.methods.passes import record_passes

from .ascent import _learning_rate
from .objectives import (TRACES, Objective, Term, _feature_model, _objective_values, _Plan,
                         _plan, layer_activation)

def dream_step(net, plan: _Plan, any_size: bool):
    """One compiled Deep Dream step: gradient ascent on the pixels, the step normalised
    by the gradient's mean absolute value, per image."""
    def build():
        model = _feature_model(net, plan.layers, any_size)

        def step(images, weights, indices, step_size, shift):
            TRACES["dream"] += 1                # runs once per trace, not per call
            rolled = tf.roll(images, shift, axis=[1, 2])     # Mordvintsev's random jitter
            with tf.GradientTape() as tape:
                tape.watch(rolled)
                value = _objective_values(plan.slots, model(rolled, training=False),
                                          weights, indices)
                total = tf.reduce_sum(value)
            g = tf.roll(tape.gradient(total, rolled), -shift, axis=[1, 2])
            g /= tf.maximum(tf.reduce_mean(tf.abs(g), axis=[1, 2, 3], keepdims=True), 1e-8)
            return tf.clip_by_value(images + step_size * g, 0.0, 1.0), value

        return tf.function(step, reduce_retracing=True)
    return net.cached(("featurevis.dream", plan.slots, any_size), build)


def octave_sizes(size, octaves: int, octave_scale: float) -> list[tuple[int, int]]:
    """The image sizes Deep Dream works at, smallest first: ``size / octave_scale**i``
    for i = octaves - 1 ... 0 (the Keras example's rule)."""
    h, w = size
    return [(int(h / octave_scale ** i), int(w / octave_scale ** i))
            for i in reversed(range(octaves))]


def deep_dream(model, image, layers, *, octaves=3, octave_scale=1.4, steps_per_octave=20,
               step_size=0.005, class_logit=None, class_weight=1.0, jitter=0, seed=0):
    """Deep Dream (Mordvintsev et al. 2015): raise ``layers``' activations in ``image``.

    At each octave (smallest first) the image is upscaled, the detail that the smaller
    copy lost is put back (the difference between the original at this size and the
    original shrunk to the previous size and upscaled), and ``steps_per_octave`` steps
    of gradient ascent follow. A step adds ``step_size`` times the gradient divided by
    its mean absolute value, and keeps the pixels in [0, 1].

    Args:
        model: a Keras image classifier; octaves > 1 need one that accepts any size
            (convolutions and global pooling; the book's models do).
        image: float (H, W, 3) or (N, H, W, 3) in [0, 1], at the model's size.
        layers: a layer name, a list of names, or a dict name -> weight (the Keras
            example's ``layer_settings``); objective: the weighted sum of
            :func:`layer_activation` (mean squared activation) of each.
        octaves, octave_scale: how many scales and their ratio.
        steps_per_octave, step_size: gradient steps per scale, and their size in pixel
            units ([0, 1]) after the normalisation.
        class_logit, class_weight: add ``class_weight * logit[class_logit]`` to the
            objective (``None``: no class term).
        jitter: shift the image by up to this many pixels (random, rolled) at each step,
            Mordvintsev's trick against tiling artefacts (0: off).
        seed: for the jitter.

    Returns:
        The dreamed image(s): same shape as ``image``, float32 in [0, 1].
    """
    net = network(model)
    single = np.ndim(image) == 3
    images = check_images(np.asarray(image)[None] if single else image, net)
    if isinstance(layers, (str, type(None))):
        layers = {layers: 1.0}
    elif isinstance(layers, (list, tuple)):
        layers = {name: 1.0 for name in layers}
    elif not isinstance(layers, dict) or not layers:
        raise ValueError(f"layers must be a layer name, a list of names or a dict name -> "
                         f"weight, got {layers!r}")
    octaves = positive_int("octaves", octaves)
    octave_scale = non_negative("octave_scale", octave_scale)
    if octave_scale <= 1:
        raise ValueError(f"octave_scale must be > 1, got {octave_scale!r}")
    steps_per_octave = positive_int("steps_per_octave", steps_per_octave)
    step_size = _learning_rate("step_size", step_size)
    class_weight = float(class_weight)
    jitter, seed = non_negative_int("jitter", jitter), non_negative_int("seed", seed)

    objective = sum(w * layer_activation(name) for name, w in layers.items())
    if class_logit is not None:     # (the argument hides the function class_logit here)
        c = non_negative_int("class index", class_logit)
        objective = objective + Objective((Term("class_logit", None, c, class_weight),))
    plan = _plan(net, [objective] * len(images))
    sizes = octave_sizes(images.shape[1:3], octaves, octave_scale)
    fn = dream_step(net, plan, any_size=octaves > 1)
    w, idx = tf.constant(plan.weights), tf.constant(plan.indices)
    model = _feature_model(net, plan.layers, any_size=octaves > 1)
    try:   # the smallest octave must still go through the network
        if min(sizes[0]) < 1:
            raise ValueError("an image of less than one pixel")
        model(tf.zeros((1,) + sizes[0] + (3,)), training=False)
    except (tf.errors.InvalidArgumentError, ValueError) as e:
        raise ValueError(f"the model does not run on the smallest octave, {sizes[0]} pixels "
                         f"({type(e).__name__}): it is too small for the model, or the model "
                         "takes only its own size (a Flatten or Dense on a feature map): use "
                         "fewer octaves (octaves=1 keeps the model's size) or a smaller "
                         "octave_scale") from e

    rng = np.random.default_rng(seed)
    original = tf.constant(images)
    x = tf.image.resize(original, sizes[0])
    with quiet_retracing():
        for k, size in enumerate(sizes):
            if k > 0:     # upscale, and put back the detail lost by shrinking
                lost = (tf.image.resize(original, size)
                        - tf.image.resize(tf.image.resize(original, sizes[k - 1]), size))
                x = tf.clip_by_value(tf.image.resize(x, size) + lost, 0.0, 1.0)
            for _ in range(steps_per_octave):
                shift = rng.integers(-jitter, jitter + 1, 2) if jitter else np.zeros(2, int)
                x, _ = fn(x, w, idx, tf.constant(step_size), tf.constant(shift, tf.int32))
            record_passes(forward=len(images) * steps_per_octave,
                          backward=len(images) * steps_per_octave)
    out = np.asarray(x, np.float32)
    return out[0] if single else out
