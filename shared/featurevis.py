"""Feature visualisation: images optimised to excite a class, a channel or a layer.

Attribution methods explain one prediction; the methods here explain the network from
inside: they *make* an input that a part of the network responds to strongly. Both are
the same loop, gradient ascent on the input:

* **activation maximisation** (Erhan et al. 2009; Simonyan, Vedaldi & Zisserman 2014;
  Olah, Mordvintsev & Schubert 2017, "Feature Visualization", Distill): start from
  grey noise and climb an :class:`Objective`, e.g. a class logit or one channel's mean
  activation (:func:`optimize`);
* **Deep Dream** (Mordvintsev, Olah & Tyka 2015, "Inceptionism", Google Research blog):
  start from a real image and raise a whole layer's activation, at several scales
  (:func:`deep_dream`).

The parts, each replaceable:

* **objectives** (:func:`class_logit`, :func:`channel`, :func:`layer_activation`),
  combined by weighted sums (``class_logit(2) + 0.5 * channel("block4_sepconv2_act", 7)``).
  A list of objectives gives one image each, optimised together in one batch by one
  compiled function per (model, objective structure);
* the **parametrization**: raw ``"pixels"`` (kept in [0, 1] by clipping after each
  step), or lucid's ``"fourier"`` basis (spectrum scaled by 1/frequency, colours
  decorrelated, mapped to [0, 1] by a sigmoid);
* **regularizers**: random transformations every step (lucid's
  ``standard_transforms``), a Gaussian blur every few steps, a total-variation penalty,
  an L2 penalty; each one off when its weight or period is 0.

Where each default comes from is in :data:`SOURCES` (print them with :func:`defaults`).
Measurements for the chapters: :func:`evaluate` (an objective's value, without
transformations), :func:`high_frequency_share`, :func:`shift_gap`,
:func:`strongest_channels` and the sanity check :func:`randomization_check`.
"""

from __future__ import annotations

import dataclasses
import inspect
import math

import keras
import numpy as np
import tensorflow as tf

from shared.methods import engine
from shared.methods.engine import network, non_negative, non_negative_int, one_of, positive_int

# --------------------------------------------------------------------------------------
# Objectives: what the image should excite
# --------------------------------------------------------------------------------------

KINDS = ("class_logit", "channel", "layer_activation")
"""The kinds of objective term (see :func:`class_logit`, :func:`channel`,
:func:`layer_activation`)."""


@dataclasses.dataclass(frozen=True)
class Term:
    """One weighted term of an objective: ``weight * value(kind, layer, index)``."""
    kind: str             # one of KINDS
    layer: str | None     # None for a class logit; a feature layer otherwise
    index: int            # the class or the channel; 0 (unused) for a whole layer
    weight: float = 1.0

    def __str__(self) -> str:
        call = {"class_logit": f"class_logit({self.index})",
                "channel": f"channel({self.layer!r}, {self.index})",
                "layer_activation": f"layer_activation({self.layer!r})"}[self.kind]
        return call if self.weight == 1 else f"{self.weight:g} * {call}"


@dataclasses.dataclass(frozen=True)
class Objective:
    """A weighted sum of terms, to be maximised. Build with :func:`class_logit`,
    :func:`channel` and :func:`layer_activation`, combine with ``+``, ``-`` and ``*``
    by a number."""
    terms: tuple[Term, ...]

    def __add__(self, other):
        if isinstance(other, (int, float)) and other == 0:   # sum([...]) starts at 0
            return self
        if not isinstance(other, Objective):
            return NotImplemented
        return Objective(self.terms + other.terms)

    __radd__ = __add__

    def __mul__(self, factor):
        if isinstance(factor, bool) or not isinstance(factor, (int, float, np.number)):
            return NotImplemented
        return Objective(tuple(dataclasses.replace(t, weight=t.weight * float(factor))
                               for t in self.terms))

    __rmul__ = __mul__

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other)

    def __str__(self) -> str:
        return " + ".join(str(t) for t in self.terms)


def class_logit(c: int) -> Objective:
    """The logit of class ``c``: the score before the softmax (a softmax probability can
    also rise by lowering the other classes, so it is never the objective here)."""
    return Objective((Term("class_logit", None, non_negative_int("class index", c)),))


def channel(layer: str | None, k: int) -> Objective:
    """The mean activation of channel ``k`` of ``layer`` over all positions (lucid's
    ``channel`` objective). ``layer=None``: the last convolutional feature map."""
    return Objective((Term("channel", layer, non_negative_int("channel index", k)),))


def layer_activation(layer: str | None) -> Objective:
    """The mean of the squared activations of ``layer`` (all positions and channels):
    Deep Dream's objective, as in Mordvintsev's original notebook (its gradient is the
    activation itself: ``objective_L2``) and the Keras Deep Dream example."""
    return Objective((Term("layer_activation", layer, 0),))


def _as_objectives(objective, n_images) -> list[Objective]:
    """One objective per image: a list is taken as it is; one objective is repeated
    ``n_images`` times (default 1)."""
    if isinstance(objective, Objective):
        n = 1 if n_images is None else positive_int("n_images", n_images)
        return [objective] * n
    objectives = list(objective) if isinstance(objective, (list, tuple)) else None
    if not objectives or not all(isinstance(o, Objective) for o in objectives):
        raise ValueError("objective must be an Objective (class_logit, channel, "
                         "layer_activation or a weighted sum of them) or a non-empty list of "
                         f"them, got {objective!r}")
    if n_images is not None and n_images != len(objectives):
        raise ValueError(f"n_images={n_images!r} but {len(objectives)} objectives were given "
                         "(one image each): leave n_images out")
    return objectives


@dataclasses.dataclass(frozen=True)
class _Plan:
    """Objectives of a batch as arrays: ``slots`` is the structure (one (kind, layer)
    per column), ``weights`` and ``indices`` (N, slots) say each image's terms; a term an
    image does not have has weight 0."""
    slots: tuple[tuple[str, str | None], ...]
    weights: np.ndarray
    indices: np.ndarray

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(layer for _, layer in self.slots if layer is not None))

    def rows(self, s: slice) -> "_Plan":
        return _Plan(self.slots, self.weights[s], self.indices[s])


def _plan(net, objectives: list[Objective]) -> _Plan:
    """Check every term against the model and lay the objectives out as arrays."""
    per_image = []
    for objective in objectives:
        terms = []
        for t in objective.terms:
            if t.kind not in KINDS:
                raise ValueError(f"unknown objective kind {t.kind!r}; kinds: {list(KINDS)}")
            layer = None if t.kind == "class_logit" else net.layer(t.layer)
            if t.kind == "class_logit" and t.index >= net.num_classes:
                raise ValueError(f"class index {t.index} out of range: the model has "
                                 f"{net.num_classes} classes (0..{net.num_classes - 1})")
            if t.kind == "channel":
                n_channels = int(net.tensor(layer).shape[-1])
                if t.index >= n_channels:
                    raise ValueError(f"channel index {t.index} out of range: layer {layer!r} "
                                     f"has {n_channels} channels (0..{n_channels - 1})")
            terms.append(((t.kind, layer), t.index, t.weight))
        per_image.append(terms)
    slots: list = []
    for terms in per_image:                       # a key used twice by one objective
        for key in dict.fromkeys(k for k, _, _ in terms):   # needs two slots
            need = sum(k == key for k, _, _ in terms)
            while slots.count(key) < need:
                slots.append(key)
    weights = np.zeros((len(per_image), len(slots)), np.float32)
    indices = np.zeros((len(per_image), len(slots)), np.int32)
    for i, terms in enumerate(per_image):
        free = list(range(len(slots)))
        for key, index, weight in terms:
            s = next(j for j in free if slots[j] == key)
            free.remove(s)
            weights[i, s], indices[i, s] = weight, index
    return _Plan(tuple(slots), weights, indices)


def _objective_values(plan_slots, outputs, weights, indices):
    """The objective of each image (N,) from the model's outputs (a dict layer ->
    activation, and ``"logits"``), inside a compiled function."""
    total = 0.0
    for s, (kind, layer) in enumerate(plan_slots):
        if kind == "class_logit":
            value = tf.gather(outputs["logits"], indices[:, s], batch_dims=1)
        elif kind == "channel":
            means = tf.reduce_mean(outputs[layer], axis=[1, 2])          # (N, channels)
            value = tf.gather(means, indices[:, s], batch_dims=1)
        else:
            value = tf.reduce_mean(tf.square(outputs[layer]), axis=[1, 2, 3])
        total += weights[:, s] * value
    return total


def _feature_model(net, layers: tuple[str, ...], any_size: bool = False):
    """A keras model images -> {layer: activation, ..., "logits": logits}, sharing the
    model's layers. ``any_size``: the same graph on an input of any height and width
    (Deep Dream's octaves), or a ValueError if the model only takes its own size."""
    def build():
        inputs = net.logits_model.inputs
        outputs = {name: net.tensor(name) for name in layers}
        outputs["logits"] = net.logits_model.outputs[0]
        model = keras.Model(inputs, outputs)
        if not any_size:
            return model
        try:    # the same layers (clone_function returns each layer itself) on a new input
            return keras.models.clone_model(model, input_tensors=[keras.Input((None, None, 3))],
                                            clone_function=lambda layer: layer)
        except Exception as e:   # a Flatten/Dense on the feature map, a fixed reshape, ...
            raise ValueError(f"model {net.name!r} only accepts inputs of size "
                             f"{net.input_shape[:2]} ({type(e).__name__}: {e}); Deep Dream's "
                             "octaves need a model that accepts any size: use octaves=1") from e
    return net.cached(("featurevis.model", layers, any_size), build)


# --------------------------------------------------------------------------------------
# Parametrizations: the numbers the optimiser changes, and the image they make
# --------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------
# Transformation robustness
# --------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------
# Regularizers measured on the image
# --------------------------------------------------------------------------------------

def total_variation(images):
    """Mean absolute difference between neighbouring pixels, per image (N,): TensorFlow's
    ``total_variation`` divided by the number of values, as tf-keras-vis does."""
    tv = tf.image.total_variation(images)
    return tv / tf.cast(tf.reduce_prod(tf.shape(images)[1:]), tf.float32)


def l2_penalty(images):
    """Mean squared distance from mid grey, per image (N,). The model maps 0.5 to 0, so
    this is Simonyan et al.'s ||I||^2 on the model's own input (up to a factor 4)."""
    return tf.reduce_mean(tf.square(images - 0.5), axis=[1, 2, 3])


# --------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------

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
        return tf.function(lambda x, w, i: _objective_values(
            plan.slots, model(x, training=False), w, i), reduce_retracing=True)
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
    engine.boolean("decorrelate", decorrelate)
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
        start = engine.check_images(start)
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
    engine.record_passes(forward=n * ((2 if transforms else 1) * steps + 1), backward=n * steps)

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
    with engine.quiet_retracing():
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
    x = engine.check_images(images, net)
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
    engine.record_passes(forward=len(x))
    return np.concatenate(out)


# --------------------------------------------------------------------------------------
# Deep Dream
# --------------------------------------------------------------------------------------

def _dream_function(net, plan: _Plan, any_size: bool):
    """One compiled Deep Dream step: gradient ascent on the pixels, the step normalised
    by the gradient's mean absolute value, per image."""
    def build():
        model = _feature_model(net, plan.layers, any_size)

        def step(images, weights, indices, step_size, shift):
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
    images = engine.check_images(np.asarray(image)[None] if single else image, net)
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
    fn = _dream_function(net, plan, any_size=octaves > 1)
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
    with engine.quiet_retracing():
        for k, size in enumerate(sizes):
            if k > 0:     # upscale, and put back the detail lost by shrinking
                lost = (tf.image.resize(original, size)
                        - tf.image.resize(tf.image.resize(original, sizes[k - 1]), size))
                x = tf.clip_by_value(tf.image.resize(x, size) + lost, 0.0, 1.0)
            for _ in range(steps_per_octave):
                shift = rng.integers(-jitter, jitter + 1, 2) if jitter else np.zeros(2, int)
                x, _ = fn(x, w, idx, tf.constant(step_size), tf.constant(shift, tf.int32))
            engine.record_passes(forward=len(images) * steps_per_octave,
                          backward=len(images) * steps_per_octave)
    out = np.asarray(x, np.float32)
    return out[0] if single else out


# --------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------

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
    x = engine.check_images(images)
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
    images = engine.check_images(images, model)
    acts = engine.activations(model, images, network(model).layer(layer))
    return [int(c) for c in np.argsort(-acts.mean(axis=(0, 1, 2)))[:positive_int("k", k)]]


def rank_correlation(a, b) -> np.ndarray:
    """Spearman rank correlation between paired images (N,), over all their values."""
    def ranks(x):
        x = np.asarray(x, np.float64).reshape(len(x), -1)
        return np.argsort(np.argsort(x, axis=1), axis=1).astype(np.float64)
    ra, rb = ranks(a), ranks(b)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    return ((ra * rb).sum(1) / np.sqrt((ra ** 2).sum(1) * (rb ** 2).sum(1))).astype(np.float32)


def spectral_distance(a, b) -> np.ndarray:
    """Mean absolute difference of the log10 radial power spectra of paired images (N,):
    1.0 means the spectra differ by a factor of 10 on average (0: same texture scale)."""
    pa, pb = radial_power(a), radial_power(b)
    return np.abs(np.log10(pa + 1e-12) - np.log10(pb + 1e-12)).mean(1).astype(np.float32)


@dataclasses.dataclass(eq=False)
class RandomizationCheck:
    """What :func:`randomization_check` returns: both visualisations and how much they
    differ (per image: ``rank_correlation`` near 1 = the trained weights did not matter)."""
    trained: Visualization
    randomized: Visualization
    rank_correlation: np.ndarray
    spectral_distance: np.ndarray


def randomization_check(model, objective, *, randomized=None, **kwargs) -> RandomizationCheck:
    """Adebayo et al.'s (2018) sanity check, for feature visualisation: the same
    visualisations (same seed, same settings ``kwargs`` of :func:`optimize`) on the model
    and on a copy whose weights are all re-initialised (``randomized``; default
    ``models.randomized_copy(model, models.cascade_blocks(model))``). If the images hardly
    differ, they show the method (parametrization, regularizers), not what the network
    learned."""
    from shared import models
    if randomized is None:
        randomized = models.randomized_copy(model, models.cascade_blocks(model))
    trained = optimize(model, objective, **kwargs)
    control = optimize(randomized, objective, **kwargs)
    return RandomizationCheck(trained, control, rank_correlation(trained.images, control.images),
                              spectral_distance(trained.images, control.images))


# --------------------------------------------------------------------------------------
# Registry and where the defaults come from
# --------------------------------------------------------------------------------------

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


__all__ = ["ADAM", "COLOR_CORRELATION_SQRT", "Fourier", "KINDS", "LEARNING_RATES", "Objective",
           "PARAMETRIZATIONS", "Pixels", "RandomizationCheck", "SOURCES", "Term", "Transforms",
           "VISUALIZATIONS", "Visualization", "channel", "class_logit", "deep_dream", "defaults",
           "evaluate", "high_frequency_share", "l2_penalty", "layer_activation", "octave_sizes",
           "optimize", "radial_power", "randomization_check", "rank_correlation",
           "shift_gap", "spectral_distance", "strongest_channels", "total_variation"]
