"""Guided backpropagation and Guided Grad-CAM.

At a ReLU ``y = max(x, 0)`` the backward pass receives ``g = dL/dy`` and sends back
(Springenberg et al. 2015, "Striving for simplicity: the all convolutional net",
ICLR workshop, Fig. 1):

* the gradient:              ``g * [x > 0]``
* the deconvnet (Zeiler & Fergus 2014): ``g * [g > 0]``
* guided backpropagation:    ``g * [x > 0] * [g > 0]``

Guided backpropagation is the input gradient of the network with every ReLU replaced by
one that uses the guided rule on the way back (the forward pass is unchanged). Guided
Grad-CAM (Selvaraju et al. 2017) multiplies it point-wise with the upsampled Grad-CAM.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from . import primitives
from .gradcam import gradcam
from .graph import network
from .postprocess import reduce_channels
from .registry import attribution

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

    relu.__name__ = f"relu_{rule}"
    return relu


RELUS = {rule: relu_with_backward(rule) for rule in RELU_BACKWARD_RULES}
"""One ReLU per backward rule (built once, so the networks built with them are cached)."""
guided_relu = RELUS["guided"]
"""ReLU forward; guided backward: ``g * [x > 0] * [g > 0]``."""


def _rule(rule: str) -> str:
    if rule not in RELU_BACKWARD_RULES:
        raise ValueError(f"rule must be one of {sorted(RELU_BACKWARD_RULES)}, got {rule!r}")
    return rule


def relu_backward(rule: str, x, grad) -> np.ndarray:
    """What flows back through a ReLU with input ``x`` when ``grad`` arrives from above,
    under the backward ``rule`` (``"gradient"``, ``"deconvnet"`` or ``"guided"``)."""
    relu = RELUS[_rule(rule)]
    x = tf.constant(np.asarray(x, np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = relu(x)
    return tape.gradient(y, x, output_gradients=tf.constant(np.asarray(grad, np.float32))
                         ).numpy()


def guided_model(model, rule: str = "guided"):
    """The model's logits network with every ReLU using the backward ``rule``.

    Same forward pass; every ReLU (an ``Activation`` or ``ReLU`` layer, or fused into a
    layer, in nested models too) is replaced, all other layers are *shared* with the
    model, so later changes to its weights are seen. A model whose activations the rules
    do not cover (no ReLU, a ReLU with ``max_value``, a sigmoid inside) raises an error
    that names them: never a plain gradient under another name. ``replaced_relus`` on
    the result says how many ReLUs were replaced.
    """
    return network(model).relu_replaced(RELUS[_rule(rule)])


@attribution(register=False, sources={"rule": "guided (Springenberg et al. 2015)"},
             checks={"rule": lambda name, value: _rule(value)})
def guided_gradients(model, images, targets, *, rule="guided", batch_size=32):
    """Raw gradients of the target logits with every ReLU using the backward ``rule``,
    (N, H, W, 3): guided backpropagation by default, ``"deconvnet"`` for Zeiler and
    Fergus' rule."""
    return primitives.gradients(model, images, targets, batch_size=batch_size,
                                relu=RELUS[rule])


@attribution(sources={"reduce": "the saliency map's reduction, for a like-for-like "
                                "comparison (Simonyan et al. 2014)"})
def guided_backprop(model, images, targets, *, reduce="max_abs", batch_size=32):
    """Guided-backpropagation maps (N, H, W): the guided gradient reduced over the colour
    channels like :func:`shared.methods.saliency`."""
    grads = primitives.gradients(model, images, targets, batch_size=batch_size,
                                 relu=RELUS["guided"])
    return reduce_channels(grads, reduce)


@attribution(sources={"layer": "the last convolutional feature map, as in "
                               "Selvaraju et al. 2017"})
def guided_gradcam(model, images, targets, *, layer=None, batch_size=32):
    """Guided Grad-CAM (N, H, W): the guided-backprop map times the upsampled Grad-CAM."""
    cam = gradcam.unchecked(model, images, targets, layer=layer, upsample=True,
                            batch_size=batch_size)
    guided = guided_backprop.unchecked(model, images, targets, reduce="max_abs",
                                       batch_size=batch_size)
    return guided * cam
