"""Grad-CAM, HiResCAM and CAM: class activation maps at one convolutional layer.

With ``A`` the activation of a layer (h x w x K channels) and ``y_c`` the logit of class
``c``:

* Grad-CAM (Selvaraju et al. 2017, ICCV): ``alpha_k = mean_ij dy_c/dA_ij^k`` and
  ``L = ReLU(sum_k alpha_k A^k)``;
* HiResCAM (Draelos & Carin 2020, arXiv:2011.08891): ``L = ReLU(sum_k dy_c/dA^k * A^k)``,
  element-wise, with no averaging over positions;
* CAM (Zhou et al. 2016, CVPR): ``M_c = sum_k w_k^c A^k`` with the weights of a dense
  layer that follows global average pooling directly; defined only for that head.

The h x w map is resized bilinearly to the input size (``upsample=False`` keeps it).
Maps are raw, not normalised (see :func:`shared.methods.normalize`).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from . import postprocess, primitives
from .graph import network
from .registry import attribution

_SOURCES = {
    "layer": "the last convolutional feature map, as in Selvaraju et al. 2017",
    "upsample": "bilinear resizing to the input, as in Selvaraju et al. 2017",
}


def gradcam_rule(acts, grads):
    """Grad-CAM: ReLU(sum_k alpha_k A^k) with alpha_k the spatial mean of dy/dA^k."""
    alpha = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)   # (N, 1, 1, K)
    return tf.nn.relu(tf.reduce_sum(alpha * acts, axis=-1))      # (N, h, w)


def hirescam_rule(acts, grads):
    """HiResCAM: ReLU(sum_k dy/dA^k * A^k), the gradient kept at every position."""
    return tf.nn.relu(tf.reduce_sum(grads * acts, axis=-1))


def _finish(maps, images, upsample: bool):
    return postprocess.upsample(maps, images.shape[1:3]) if upsample else maps


@attribution(sources=_SOURCES)
def gradcam(model, images, targets, *, layer=None, upsample=True, batch_size=32):
    """Grad-CAM maps (N, H, W) of the target logits at ``layer`` (None: the last
    convolutional feature map); (N, h, w) with ``upsample=False``."""
    maps = primitives.layer_gradients(model, images, targets, layer, batch_size=batch_size,
                                      combine=gradcam_rule)
    return _finish(maps, images, upsample)


@attribution(sources=_SOURCES)
def hirescam(model, images, targets, *, layer=None, upsample=True, batch_size=32):
    """HiResCAM maps (N, H, W) of the target logits at ``layer`` (None: the last
    convolutional feature map); (N, h, w) with ``upsample=False``."""
    maps = primitives.layer_gradients(model, images, targets, layer, batch_size=batch_size,
                                      combine=hirescam_rule)
    return _finish(maps, images, upsample)


@attribution(sources=_SOURCES, register=False)
def cam(model, images, targets, *, layer=None, upsample=True, batch_size=32):
    """CAM maps ``sum_k w_k^c A^k`` (N, H, W), read from the classifier's weights.

    Defined only for a CAM architecture: ``layer`` followed directly by global average
    pooling and the dense logits layer (as in the book's Xception). Other models raise
    a ``ValueError`` that says so: use :func:`gradcam`, which needs no such head. Not
    rectified, so the map sums over positions to ``Z * (y_c - b_c)``.
    """
    dense = network(model).cam_head(layer)
    kernel = keras.ops.convert_to_numpy(dense.kernel)               # (K, classes)
    acts = primitives.activations(model, images, layer, batch_size=batch_size)
    maps = np.einsum("nhwk,kn->nhw", acts, kernel[:, targets]).astype(np.float32)
    return _finish(maps, images, upsample)
