"""Grad-CAM and HiResCAM: class activation maps from the gradients at one layer.

With ``A`` the activation of a convolutional layer (h x w x K channels) and ``y_c`` the
logit of class ``c``:

* Grad-CAM (Selvaraju et al. 2017, "Grad-CAM: Visual explanations from deep networks
  via gradient-based localization", ICCV):
  ``alpha_k = mean_ij dy_c/dA_ij^k`` and ``L = ReLU(sum_k alpha_k A^k)``.
* HiResCAM (Draelos & Carin 2020, "Use HiResCAM instead of Grad-CAM for faithful
  explanations of convolutional neural networks", arXiv:2011.08891):
  ``L = ReLU(sum_k dy_c/dA^k * A^k)``, element-wise: no averaging over positions.

The h x w map is resized bilinearly to the input size (``upsample=False`` keeps it).
Maps are not normalised: see :func:`shared.methods.normalize`.
"""

from __future__ import annotations

import tensorflow as tf

from . import _core
from shared.models import LAST_CONV_LAYER


def gradcam_rule(acts, grads):
    """Grad-CAM: ReLU(sum_k alpha_k A^k) with alpha_k the spatial mean of dy/dA^k."""
    alpha = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)  # (N, 1, 1, K)
    return tf.nn.relu(tf.reduce_sum(alpha * acts, axis=-1))     # (N, h, w)


def hirescam_rule(acts, grads):
    """HiResCAM: ReLU(sum_k dy/dA^k * A^k), the gradient kept at every position."""
    return tf.nn.relu(tf.reduce_sum(grads * acts, axis=-1))


def class_activation_maps(model, images, targets=None, *, rule=gradcam_rule,
                          layer: str = LAST_CONV_LAYER, upsample: bool = True,
                          batch_size: int = 32):
    """Maps ``rule(A, dy_c/dA)`` at ``layer``, (N, H, W) or (N, h, w) if not upsampled."""
    images = _core.check_images(images, model)
    targets = _core.resolve_targets(model, images, targets, batch_size)
    grad = _core.layer_gradient_fn(model, layer)
    maps = _core.batched(lambda x, t: rule(*grad(x, t)), images, targets, batch_size)
    return _core.upsample(maps, images.shape[1:3]) if upsample else maps


def gradcam(model, images, targets=None, *, layer: str = LAST_CONV_LAYER,
            upsample: bool = True, batch_size: int = 32):
    """Grad-CAM maps (N, H, W) of the target logits at ``layer`` (see the module doc)."""
    return class_activation_maps(model, images, targets, rule=gradcam_rule, layer=layer,
                                 upsample=upsample, batch_size=batch_size)


def hirescam(model, images, targets=None, *, layer: str = LAST_CONV_LAYER,
             upsample: bool = True, batch_size: int = 32):
    """HiResCAM maps (N, H, W) of the target logits at ``layer`` (see the module doc)."""
    return class_activation_maps(model, images, targets, rule=hirescam_rule, layer=layer,
                                 upsample=upsample, batch_size=batch_size)


def cam(model, images, targets=None, *, layer: str = LAST_CONV_LAYER, upsample: bool = True,
        batch_size: int = 32):
    """CAM (Zhou et al. 2016): ``M_c = sum_k w_k^c A^k``, read from the classifier weights.

    Defined only for a CAM architecture: ``layer`` followed directly by global average
    pooling and the dense ``logits`` layer (as in the book's Xception). Other models
    raise ``ValueError``: use :func:`gradcam`, which needs no such head. Not rectified.
    """
    keras = _core.keras
    images = _core.check_images(images, model)
    targets = _core.resolve_targets(model, images, targets, batch_size)
    net = _core.layer_logits_model(model, layer)
    dense = net.outputs[1]._keras_history.operation
    pool = dense.input._keras_history.operation
    while isinstance(pool, keras.layers.Dropout):             # identity at inference
        pool = pool.input._keras_history.operation
    if not (isinstance(dense, keras.layers.Dense)
            and isinstance(pool, keras.layers.GlobalAveragePooling2D)
            and pool.input is model.get_layer(layer).output):
        raise ValueError(f"CAM needs {layer!r} to feed global average pooling and then the "
                         "dense logits layer directly; this model has another head: use gradcam")
    kernel = _core.tf.constant(dense.get_weights()[0])            # (K, classes)
    maps = _core.batched(
        lambda x, t: _core.tf.einsum("nhwk,kn->nhw", net(x, training=False)[0],
                                  _core.tf.gather(kernel, t, axis=1)),
        images, targets, batch_size)
    return _core.upsample(maps, images.shape[1:3]) if upsample else maps
