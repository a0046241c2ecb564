"""Mechanics shared by every attribution method: input checks, sub-models, batching.

Every method in :mod:`shared.methods` has the same shape::

    maps = method(model, images, targets=None, **params)   # float32 (N, H, W)

* ``model``: the probability model (as from :func:`shared.models.load_model`);
  gradient methods differentiate its *logits* (:func:`shared.models.logits_model`).
* ``images``: float32 (N, H, W, 3) in [0, 1], checked by :func:`check_images`.
* ``targets``: the class to explain, one int for all images or one per image;
  ``None`` explains each image's predicted class (:func:`resolve_targets`).

The model is run in batches of ``batch_size`` images through one compiled
``tf.function`` per model (and layer), built once and cached.
"""

from __future__ import annotations

import weakref

import keras
import numpy as np
import tensorflow as tf

from shared.models import logits_model, predict


# --------------------------------------------------------------------------------------
# Input checks (each raises ValueError that names the problem)
# --------------------------------------------------------------------------------------

def check_images(images, model=None) -> np.ndarray:
    """Check a batch of images and return it as a float32 array (N, H, W, 3) in [0, 1]."""
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
        expected = tuple(model.inputs[0].shape[1:])
        if any(e is not None and e != s for e, s in zip(expected, a.shape[1:])):
            raise ValueError(f"images have shape (H, W, C) = {a.shape[1:]}, but the model "
                             f"expects {expected}")
    return a.astype(np.float32, copy=False)


def num_classes(model) -> int:
    """The number of classes (the width of the model's logits)."""
    return int(logits_model(model).outputs[0].shape[-1])


def resolve_targets(model, images, targets=None, batch_size: int = 32) -> np.ndarray:
    """The class to explain for each image, as an int32 array (N,).

    ``None``: each image's predicted class; an int: that class for every image; a
    sequence: one class index per image.
    """
    n, c = len(images), num_classes(model)
    if targets is None:
        return np.argmax(predict(model, images, batch_size), axis=-1).astype(np.int32)
    t = np.asarray(targets)
    if t.dtype == bool or not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"targets must be class indices (integers), got {targets!r}")
    if t.ndim == 0:
        t = np.full(n, int(t))
    if t.ndim != 1 or len(t) != n:
        raise ValueError(f"targets must be one int or a sequence of one int per image "
                         f"({n} images), got shape {t.shape}")
    bad = t[(t < 0) | (t >= c)]
    if len(bad):
        raise ValueError(f"target class index {int(bad[0])} out of range: valid class "
                         f"indices are 0..{c - 1}")
    return t.astype(np.int32)


def feature_layers(model) -> list[str]:
    """Names of the layers whose 4-D output (N, h, w, channels) a CAM can use."""
    layers = keras.layers
    kinds = (layers.Conv2D, layers.SeparableConv2D, layers.DepthwiseConv2D,
             layers.Activation, layers.ReLU)
    return [layer.name for layer in logits_model(model).layers
            if isinstance(layer, kinds) and len(layer.output.shape) == 4]


def check_layer(model, layer: str) -> str:
    """Check that ``layer`` names a 4-D convolution or activation output of the model."""
    usable = feature_layers(model)
    if layer not in usable:
        names = [lay.name for lay in logits_model(model).layers]
        problem = ("has no 4-D (N, h, w, channels) conv/activation output" if layer in names
                   else "not found in the model")
        raise ValueError(f"layer {layer!r} {problem}; usable layers: {', '.join(usable)}")
    return layer


def check_positive_int(name: str, value) -> int:
    """Check a count parameter (batch_size, steps, n_samples, ...)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def normalize(maps) -> np.ndarray:
    """Scale each map to [0, 1] by its maximum absolute value (all-zero maps stay zero)."""
    maps = np.asarray(maps, np.float32)
    peak = np.abs(maps).max(axis=tuple(range(1, maps.ndim)), keepdims=True)
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)


def upsample(maps, size) -> np.ndarray:
    """Bilinear resize of maps (N, h, w) to (N, *size), pixel centres aligned."""
    maps = tf.convert_to_tensor(np.asarray(maps, np.float32)[..., None])
    return tf.image.resize(maps, tuple(size), method="bilinear").numpy()[..., 0]


# --------------------------------------------------------------------------------------
# Sub-models and compiled functions (cached per model)
# --------------------------------------------------------------------------------------

_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _cached(model, key, build):
    per_model = _CACHE.setdefault(model, {})
    if key not in per_model:
        per_model[key] = build()
    return per_model[key]


def layer_logits_model(model, layer: str):
    """A flat model from the input to ``[activation of layer, logits]`` (weights shared)."""
    check_layer(model, layer)
    return _cached(model, ("submodel", layer), lambda: keras.Model(
        model.inputs, [model.get_layer(layer).output, logits_model(model).outputs[0]]))


def _signature(model):
    return [tf.TensorSpec((None,) + tuple(model.inputs[0].shape[1:]), tf.float32),
            tf.TensorSpec((None,), tf.int32)]


def input_gradient_fn(model):
    """Compiled ``f(x, t) -> d logit_t / d x`` for a batch (N, H, W, 3), ``t`` (N,)."""
    net = logits_model(model)

    def grad(x, t):
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = tf.gather(net(x, training=False), t, batch_dims=1)
        return tape.gradient(score, x)  # images are independent: d sum / d x_i = d y_i / d x_i

    return _cached(model, "input_gradient",
                   lambda: tf.function(grad, input_signature=_signature(model)))


def layer_gradient_fn(model, layer: str):
    """Compiled ``f(x, t) -> (A, d logit_t / d A)`` with A the activation of ``layer``."""
    net = layer_logits_model(model, layer)

    def grad(x, t):
        with tf.GradientTape() as tape:
            acts, logits = net(x, training=False)
            score = tf.gather(logits, t, batch_dims=1)
        return acts, tape.gradient(score, acts)

    return _cached(model, ("layer_gradient", layer),
                   lambda: tf.function(grad, input_signature=_signature(model)))


# --------------------------------------------------------------------------------------
# Batching
# --------------------------------------------------------------------------------------

def batched(fn, images, targets, batch_size: int = 32) -> np.ndarray:
    """``fn(x, t)`` on consecutive batches of (images, targets), concatenated as numpy."""
    batch_size = check_positive_int("batch_size", batch_size)
    outs = [np.asarray(fn(tf.constant(images[i:i + batch_size]),
                          tf.constant(targets[i:i + batch_size])))
            for i in range(0, len(images), batch_size)]
    return np.concatenate(outs).astype(np.float32, copy=False)


def mean_input_gradients(model, targets, inputs, n: int, batch_size: int = 32) -> np.ndarray:
    """Mean over ``j < n`` of the input gradient at ``inputs(i, j)``, for each image i.

    ``inputs(i, j)`` takes index arrays (image, sample) and returns that batch of
    inputs. All ``N * n`` (image, sample) pairs go through the model ``batch_size`` at
    a time, so SmoothGrad's samples and Integrated Gradients' steps are batched.
    """
    grad = input_gradient_fn(model)
    batch_size = check_positive_int("batch_size", batch_size)
    pairs = np.arange(len(targets) * n)
    total = None
    for start in range(0, len(pairs), batch_size):
        image, sample = np.divmod(pairs[start:start + batch_size], n)
        g = grad(tf.constant(inputs(image, sample), tf.float32), tf.constant(targets[image]))
        if total is None:
            total = np.zeros((len(targets),) + tuple(g.shape[1:]), np.float32)
        rows, first = np.unique(image, return_index=True)  # image indices are sorted
        total[rows] += np.add.reduceat(g.numpy(), first, axis=0)
    return total / n
