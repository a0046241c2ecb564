"""Activation maximisation: the ascent loop (:func:`optimize`, Adam written out as one
compiled step per model and objective structure), its result (:class:`Visualization`)
and :func:`evaluate` (an objective's value on images as they are)."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from shared.methods import check_images, network, quiet_retracing
from shared.methods.parameters import (boolean, non_negative, non_negative_int, one_of,
                                       positive_int)
from shared.methods.passes import record_passes

from .objectives import (TRACES, Objective, _as_objectives, _feature_model, _objective_values,
                         _Plan, _plan)
from .parametrizations import PARAMETRIZATIONS, Fourier, Pixels
from .regularizers import l2_penalty, total_variation
from .transforms import Transforms, _identity_maps, _warp

ADAM = dict(beta_1=0.9, beta_2=0.999, epsilon=1e-8)
"""Adam's constants (Kingma & Ba 2015; TensorFlow's AdamOptimizer, which lucid uses)."""


def _step_function(net, plan: _Plan, param, transforms):
    """One compiled ascent step for this (model, objective structure, parametrization,
    transforms on/off): Adam on the parameters, written out so that the step is a pure
    function (no optimiser state outside it) and deterministic.

    Returns the new parameters and Adam moments, and the objective of the image as it
    was before the step, measured on the plain image (no transformation).
    """
    key = ("featurevis.step", plan.slots, param.name, getattr(param, "decorrelate", None),
           getattr(param, "decay_power", None), param.size,
           transforms.fill if transforms else None)

    def build():
        model = _feature_model(net, plan.layers)

        def step(params, m, v, t, weights, indices, maps, lr, tv, l2):
            TRACES["step"] += 1                 # runs once per trace, not per call
            with tf.GradientTape() as tape:
                tape.watch(params)
                images = param.to_images(params)
                seen = _warp(images, maps, transforms.fill) if transforms else images
                value = _objective_values(plan.slots, model(seen, training=False),
                                          weights, indices)
                if transforms:      # the objective of the image itself, for the history
                    with tape.stop_recording():
                        plain = _objective_values(plan.slots, model(images, training=False),
                                                  weights, indices)
                else:
                    plain = value
                score = value - tv * total_variation(images) - l2 * l2_penalty(images)
                total = tf.reduce_sum(score)         # images are independent: one gradient
            g = tape.gradient(total, params)
            m = ADAM["beta_1"] * m + (1 - ADAM["beta_1"]) * g
            v = ADAM["beta_2"] * v + (1 - ADAM["beta_2"]) * tf.square(g)
            m_hat = m / (1 - ADAM["beta_1"] ** t)
            v_hat = v / (1 - ADAM["beta_2"] ** t)
            params = param.project(params + lr * m_hat / (tf.sqrt(v_hat) + ADAM["epsilon"]))
            return params, m, v, plain

        return tf.function(step, reduce_retracing=True)
    return net.cached(key, build)


def _evaluate_function(net, plan: _Plan, any_size: bool = False):
    def build():
        model = _feature_model(net, plan.layers, any_size)

        def values(x, w, i):
            TRACES["evaluate"] += 1
            return _objective_values(plan.slots, model(x, training=False), w, i)

        return tf.function(values, reduce_retracing=True)
    return net.cached(("featurevis.evaluate", plan.slots, any_size), build)


@dataclasses.dataclass(eq=False)
class Visualization:
    """What :func:`optimize` returns.

    Attributes:
        images: float32 (N, H, W, 3) in [0, 1], one per objective.
        history: float32 (N, steps + 1): each image's objective before the first step,
            after each step (measured on the image itself, never on a transformed copy,
            so the values are comparable), and after the last.
        objectives: the objective of each image.
        parameters: every setting used (steps, learning rate, parametrization, ...).
    """
    images: np.ndarray
    history: np.ndarray
    objectives: list
    parameters: dict

    @property
    def start(self) -> np.ndarray:
        return self.history[:, 0]

    @property
    def end(self) -> np.ndarray:
        return self.history[:, -1]


def _image_size(net, size):
    if size is not None:
        h, w = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        return positive_int("size", h), positive_int("size", w)
    if None in net.input_shape[:2]:
        raise ValueError(f"model {net.name!r} accepts any input size: pass size=(H, W)")
    return tuple(net.input_shape[:2])


def _learning_rate(name, value) -> float:
    value = non_negative(name, value)
    if value == 0:
        raise ValueError(f"{name} must be > 0, got 0")
    return value


LEARNING_RATES = {"fourier": 0.05, "pixels": 0.01}
"""Adam's default step size per parametrization (see :data:`SOURCES`)."""


def optimize(model, objective, *, steps=512, learning_rate=None, parametrization="fourier",
             decorrelate=True, decay_power=1.0, transforms=True, blur_every=0,
             blur_sigma=0.5, tv=0.0, l2=0.0, n_images=None, batch_size=16, seed=0,
             start=None, size=None) -> Visualization:
    """Activation maximisation: images that maximise ``objective``, by gradient ascent.

    Args:
        model: a Keras image classifier (see :func:`shared.methods.network`).
        objective: an :class:`Objective`, or a list of them (one image each).
        steps: Adam steps.
        learning_rate: Adam's step size, in parameter units (pixels: [0, 1]); ``None``:
            :data:`LEARNING_RATES` for the parametrization.
        parametrization: ``"fourier"`` or ``"pixels"`` (see :class:`Fourier`, :class:`Pixels`).
        decorrelate, decay_power: Fourier only: decorrelated colours; the spectrum's
            1/frequency^decay_power scaling.
        transforms: ``True`` for :class:`Transforms` (lucid's standard ones), a
            :class:`Transforms` of your own, or ``False``.
        blur_every, blur_sigma: a Gaussian blur of ``blur_sigma`` pixels every
            ``blur_every`` steps (0: never).
        tv, l2: weights of the total-variation and L2 penalties (0: off).
        n_images: images for one objective (each from its own random start).
        batch_size: images optimised together (speed only: image i's start and
            transformations depend on (seed, i) alone).
        seed: every random draw derives from it: same seed, same images.
        start: images (N, H, W, 3) in [0, 1] to start from instead of grey noise.
        size: (H, W) for a model that accepts any size.

    Returns:
        A :class:`Visualization` (images, objective history, parameters).
    """
    net = network(model)
    objectives = _as_objectives(objective, n_images)
    n = len(objectives)
    steps = positive_int("steps", steps)
    one_of(*PARAMETRIZATIONS)("parametrization", parametrization)
    if learning_rate is None:
        learning_rate = LEARNING_RATES[parametrization]
    learning_rate = _learning_rate("learning_rate", learning_rate)
    boolean("decorrelate", decorrelate)
    decay_power = non_negative("decay_power", decay_power)
    blur_every = non_negative_int("blur_every", blur_every)
    blur_sigma = non_negative("blur_sigma", blur_sigma)
    tv, l2 = non_negative("tv", tv), non_negative("l2", l2)
    batch_size = positive_int("batch_size", batch_size)
    seed = non_negative_int("seed", seed)
    if transforms is True:
        transforms = Transforms()
    elif transforms is not False and not isinstance(transforms, Transforms):
        raise ValueError(f"transforms must be True, False or a Transforms, got {transforms!r}")
    size = _image_size(net, size)
    plan = _plan(net, objectives)

    param = (Pixels(size) if parametrization == "pixels"
             else Fourier(size, decorrelate=decorrelate, decay_power=decay_power))
    if start is None:
        init = param.initial([np.random.default_rng([seed, i, 0]) for i in range(n)])
    else:
        start = check_images(start)
        if start.shape[1:3] != size or len(start) != n:
            raise ValueError(f"start must have shape {(n,) + size + (3,)} (one image per "
                             f"objective, at the model's size), got {start.shape}")
        init = param.from_images(start)

    if transforms:                                                       # (steps, N, 6)
        maps = np.stack([transforms.sample(np.random.default_rng([seed, i, 1]), steps, size)
                         for i in range(n)], axis=1)
    else:
        maps = np.broadcast_to(_identity_maps(n), (steps, n, 6))
    fn = _step_function(net, plan, param, transforms)
    settings = [tf.constant(value, tf.float32) for value in (learning_rate, tv, l2)]
    blur = (blur_every, blur_sigma) if blur_every and blur_sigma > 0 else None
    batches = [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
    parts = [_ascend(net, fn, param, plan.rows(rows), init[rows], maps[:, rows], settings, blur)
             for rows in batches]
    record_passes(forward=n * ((2 if transforms else 1) * steps + 1), backward=n * steps)

    images, history = (np.concatenate(p) for p in zip(*parts))
    parameters = dict(steps=steps, learning_rate=learning_rate, parametrization=parametrization,
                      decorrelate=decorrelate, decay_power=decay_power, transforms=transforms,
                      blur_every=blur_every, blur_sigma=blur_sigma, tv=tv, l2=l2, seed=seed,
                      start=start is not None, size=size, optimizer=("adam", ADAM))
    return Visualization(images, history.astype(np.float32), objectives, parameters)


def _ascend(net, fn, param, plan, init, maps, settings, blur):
    """The steps for one batch: returns its images and objective history (N, steps + 1)."""
    p = tf.constant(init)
    m, v = tf.zeros_like(p), tf.zeros_like(p)                  # Adam's moments
    w, idx = tf.constant(plan.weights), tf.constant(plan.indices)
    history = []
    with quiet_retracing():
        for t in range(1, len(maps) + 1):
            p, m, v, value = fn(p, m, v, tf.constant(float(t)), w, idx,
                                tf.constant(maps[t - 1]), *settings)
            history.append(value)                              # before step t
            if blur and t % blur[0] == 0:
                p = param.blur(p, blur[1])
        images = param.to_images(p)
        history.append(_evaluate_function(net, plan)(images, w, idx))
    return np.asarray(images), np.stack([np.asarray(h) for h in history], axis=1)


def evaluate(model, objective, images, *, batch_size: int = 32) -> np.ndarray:
    """Each image's objective (N,), on the image as it is (no transformation). One
    objective is applied to every image; a list gives one per image."""
    net = network(model)
    x = check_images(images, net)
    objectives = _as_objectives(objective, len(x) if isinstance(objective, Objective) else None)
    if len(objectives) != len(x):
        raise ValueError(f"{len(objectives)} objectives for {len(x)} images: give one per image")
    plan = _plan(net, objectives)
    fn = _evaluate_function(net, plan)
    batch_size = positive_int("batch_size", batch_size)
    out = []
    for s in [slice(i, i + batch_size) for i in range(0, len(x), batch_size)]:
        part = plan.rows(s)
        out.append(np.asarray(fn(tf.constant(x[s]), tf.constant(part.weights),
                                 tf.constant(part.indices))))
    record_passes(forward=len(x))
    return np.concatenate(out)

