"""Guided backpropagation and Guided Grad-CAM.

At a ReLU ``y = max(x, 0)`` the backward pass receives ``g = dL/dy`` and sends back
(Springenberg et al. 2015, "Striving for simplicity: the all convolutional net",
ICLR workshop, Fig. 1):

* the gradient:              ``g * [x > 0]``
* the deconvnet (Zeiler & Fergus 2014): ``g * [g > 0]``
* guided backpropagation:    ``g * [x > 0] * [g > 0]``

Guided backpropagation is the input gradient of a copy of the network whose ReLUs
use the guided rule on the way back (their forward pass is unchanged). Guided
Grad-CAM (Selvaraju et al. 2017) multiplies it point-wise with the upsampled Grad-CAM.
"""

from __future__ import annotations

import weakref

import keras
import numpy as np
import tensorflow as tf

from . import _core
from .gradcam import gradcam
from .saliency import reduce_channels
from shared.models import LAST_CONV_LAYER, logits_model


RELU_BACKWARD_RULES = {
    "gradient": lambda x, g: x > 0,
    "deconvnet": lambda x, g: g > 0,
    "guided": lambda x, g: (x > 0) & (g > 0),
}
"""What each backward rule lets through a ReLU, given its input ``x`` and the gradient
``g`` arriving from above."""


def relu_with_backward(rule: str):
    """A ReLU whose backward pass is ``g * RELU_BACKWARD_RULES[rule](x, g)``."""
    passes = RELU_BACKWARD_RULES[rule]

    @tf.custom_gradient
    def relu(x):
        def backward(g):
            return g * tf.cast(passes(x, g), g.dtype)
        return tf.nn.relu(x), backward

    return relu


guided_relu = relu_with_backward("guided")
"""ReLU forward; guided backward: ``g * [x > 0] * [g > 0]``."""


def relu_backward(rule: str, x, grad) -> np.ndarray:
    """What flows back through a ReLU with input ``x`` when ``grad`` arrives from above.

    Runs ``tf.GradientTape`` through a ReLU with the chosen backward ``rule``:
    ``"gradient"``, ``"deconvnet"`` or ``"guided"``.
    """
    if rule not in RELU_BACKWARD_RULES:
        raise ValueError(f"rule must be one of {sorted(RELU_BACKWARD_RULES)}, got {rule!r}")
    relu = relu_with_backward(rule)
    x = tf.constant(np.asarray(x, np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = relu(x)
    return tape.gradient(y, x, output_gradients=tf.constant(np.asarray(grad, np.float32))
                         ).numpy()


def _is_relu_layer(layer) -> bool:
    return isinstance(layer, keras.layers.ReLU) or (
        isinstance(layer, keras.layers.Activation) and layer.activation is keras.activations.relu)


def _guided_layer(layer):
    """For :func:`guided_model`: a guided ReLU in place of a ReLU layer, else the layer
    itself (shared, so the guided model always uses the model's current weights)."""
    if _is_relu_layer(layer):  # a ReLU layer is assumed plain: no max_value, no slope
        return keras.layers.Activation(guided_relu, name=layer.name)
    if getattr(layer, "activation", None) is keras.activations.relu:
        copy = layer.__class__.from_config(layer.get_config())  # fused, e.g. Conv2D(relu)
        copy.activation = guided_relu
        return copy
    return layer


_GUIDED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def guided_model(model):
    """The logits model with every ReLU replaced by :func:`guided_relu`.

    Same forward pass, guided backward pass. Every layer without a ReLU is *shared* with
    the model, so later changes to its weights are seen. (A layer with a fused ReLU, such
    as ``Conv2D(activation="relu")``, is copied with its weights at build time; the
    book's Xception has none.) Cached per model; built at run time, since a
    custom-gradient activation cannot be saved.
    """
    if model not in _GUIDED:
        net = logits_model(model)
        guided = keras.models.clone_model(net, clone_function=_guided_layer)
        for old, new in zip(net.layers, guided.layers):
            if new is not old and old.weights:
                new.set_weights(old.get_weights())
        _GUIDED[model] = guided
    return _GUIDED[model]


def guided_gradients(model, images, targets=None, *, batch_size: int = 32) -> np.ndarray:
    """Raw guided-backpropagation gradients of the target logits, (N, H, W, 3)."""
    images = _core.check_images(images, model)
    targets = _core.resolve_targets(model, images, targets, batch_size)
    grad = _core.input_gradient_fn(guided_model(model))
    return _core.batched(grad, images, targets, batch_size)


def guided_backprop(model, images, targets=None, *, batch_size: int = 32) -> np.ndarray:
    """Guided-backpropagation maps (N, H, W): max over channels of |guided gradient|
    (the same reduction as :func:`shared.methods.saliency`, for a like-for-like view)."""
    return reduce_channels(guided_gradients(model, images, targets, batch_size=batch_size))


def guided_gradcam(model, images, targets=None, *, layer: str = LAST_CONV_LAYER,
                   batch_size: int = 32) -> np.ndarray:
    """Guided Grad-CAM (N, H, W): guided-backprop map times the upsampled Grad-CAM map."""
    images = _core.check_images(images, model)
    targets = _core.resolve_targets(model, images, targets, batch_size)
    cam = gradcam(model, images, targets, layer=layer, batch_size=batch_size)
    return guided_backprop(model, images, targets, batch_size=batch_size) * cam
