"""The class activation map (CAM) family: maps built from one convolutional layer.

With ``A`` the activation of a layer (h x w x K channels), ``y_c`` the logit of class
``c`` and ``g = dy_c/dA`` its gradient:

* Grad-CAM (Selvaraju et al. 2017, ICCV): ``alpha_k = mean_ij dy_c/dA_ij^k`` and
  ``L = ReLU(sum_k alpha_k A^k)``;
* HiResCAM (Draelos & Carin 2020, arXiv:2011.08891): ``L = ReLU(sum_k dy_c/dA^k * A^k)``,
  element-wise, with no averaging over positions;
* CAM (Zhou et al. 2016, CVPR): ``M_c = sum_k w_k^c A^k`` with the weights of a dense
  layer that follows global average pooling directly; defined only for that head;
* LayerCAM (Jiang et al. 2021, IEEE TIP): ``L = ReLU(sum_k ReLU(g^k) * A^k)``,
  element-wise: HiResCAM with the negative gradients dropped, meant for earlier layers
  as well as the last;
* Grad-CAM++ (Chattopadhay et al. 2018, WACV, eq. 19, the exponential score):
  ``alpha_ij^k = g_ij^2 / (2 g_ij^2 + sum_ab A_ab^k g_ij^3)`` (0 where the denominator
  is 0), ``w_k = sum_ij alpha_ij^k ReLU(g_ij^k)`` (the paper's factor ``exp(y_c)``
  dropped: it only scales each map) and ``L = ReLU(sum_k w_k A^k)``;
* Score-CAM (Wang et al. 2020, CVPR workshops): ``w_k = s_c(x * M_k)``, the score of
  the input masked by channel ``k`` upsampled to the input and min-max scaled to
  [0, 1], and ``L = ReLU(sum_k w_k A^k)``; one forward pass per channel.

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


def layercam_rule(acts, grads):
    """LayerCAM: ReLU(sum_k ReLU(dy/dA^k) * A^k), the positive gradient kept at every
    position."""
    return tf.nn.relu(tf.reduce_sum(tf.nn.relu(grads) * acts, axis=-1))


def gradcam_plus_plus_rule(acts, grads):
    """Grad-CAM++: ReLU(sum_k w_k A^k), ``w_k = sum_ij alpha_ij^k ReLU(g_ij^k)`` with
    ``alpha = g^2 / (2 g^2 + sum_ab A_ab^k g^3)`` (0 where the denominator is 0)."""
    g2 = tf.square(grads)
    total = tf.reduce_sum(acts, axis=(1, 2), keepdims=True)            # (N, 1, 1, K)
    alpha = tf.math.divide_no_nan(g2, 2.0 * g2 + total * g2 * grads)   # (N, h, w, K)
    w = tf.reduce_sum(alpha * tf.nn.relu(grads), axis=(1, 2), keepdims=True)
    return tf.nn.relu(tf.reduce_sum(w * acts, axis=-1))


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


_LAYERCAM_SOURCES = {
    "layer": "the last convolutional feature map, as for Grad-CAM; Jiang et al. 2021 "
             "apply LayerCAM to earlier layers too (any of feature_layers(model))",
    "upsample": "resizing to the input, as in Jiang et al. 2021 (bilinear, as for Grad-CAM)",
}


@attribution(sources=_LAYERCAM_SOURCES)
def layercam(model, images, targets, *, layer=None, upsample=True, batch_size=32):
    """LayerCAM maps (N, H, W) of the target logits at ``layer`` (None: the last
    convolutional feature map; any of :func:`shared.methods.feature_layers` works);
    (N, h, w) with ``upsample=False``.

    One layer's map: the paper's fusion of several layers (shallow maps scaled by a
    tanh first) is left to the caller.
    """
    maps = primitives.layer_gradients(model, images, targets, layer, batch_size=batch_size,
                                      combine=layercam_rule)
    return _finish(maps, images, upsample)


_GRADCAM_PP_SOURCES = {
    "layer": "the last convolutional feature map, as in Chattopadhay et al. 2018",
    "upsample": "resizing to the input, as in Chattopadhay et al. 2018 (bilinear, as for "
                "Grad-CAM)",
}


@attribution(sources=_GRADCAM_PP_SOURCES)
def gradcam_plus_plus(model, images, targets, *, layer=None, upsample=True, batch_size=32):
    """Grad-CAM++ maps (N, H, W) of the target logits at ``layer`` (None: the last
    convolutional feature map); (N, h, w) with ``upsample=False``.

    The paper's eq. 19 differentiates ``exp(y_c)``, so its second and third derivatives
    are powers of ``g = dy_c/dA`` times ``exp(y_c)``, which cancels in ``alpha``; its
    weights keep a factor ``exp(y_c)``, a positive constant per image that only scales
    the map and overflows float32 for logits above 88: it is dropped. tf-keras-vis's
    ``GradcamPlusPlus`` keeps it and also divides ``alpha^k`` by its sum over
    positions, which the paper does not: its maps differ from these.
    """
    maps = primitives.layer_gradients(model, images, targets, layer, batch_size=batch_size,
                                      combine=gradcam_plus_plus_rule)
    return _finish(maps, images, upsample)


_SCORECAM_SOURCES = {
    "layer": "the last convolutional feature map, as in Wang et al. 2020",
    "upsample": "bilinear resizing to the input, as Wang et al. 2020 resize the "
                "activation maps into masks",
    "score": "Wang et al. 2020 weigh each channel by the post-softmax score ('Normalization "
             "on Score'), as the authors' code (haofanwang/Score-CAM) does",
}


def _channel_masks(acts, size) -> np.ndarray:
    """Channels (h, w, B) of one image as masks (B, H, W): upsampled bilinearly, then
    min-max scaled to [0, 1]; a channel constant over positions gives a zero mask."""
    up = postprocess.upsample(np.moveaxis(acts, -1, 0), size)
    lo = up.min(axis=(1, 2), keepdims=True)
    span = up.max(axis=(1, 2), keepdims=True) - lo
    varies = (acts.max(axis=(0, 1)) > acts.min(axis=(0, 1)))[:, None, None]
    # constancy is judged before upsampling, whose rounding could make a constant vary
    return np.divide(up - lo, span, out=np.zeros_like(up), where=varies & (span > 0))


@attribution(sources=_SCORECAM_SOURCES)
def scorecam(model, images, targets, *, layer=None, score="probability", upsample=True,
             batch_size=32):
    """Score-CAM maps (N, H, W) of the target class at ``layer`` (None: the last
    convolutional feature map); (N, h, w) with ``upsample=False``.

    Channel ``k`` of the activation, upsampled bilinearly to the input and min-max
    scaled to [0, 1] (a constant channel gives a zero mask), masks the input, ``x *
    M_k``; its weight is the target's ``score`` (``"probability"``, as in the paper, or
    ``"logit"``) of that masked input, and ``L = ReLU(sum_k w_k A^k)``. Cost: ``K + 1``
    forward passes per image (K channels, 512 at the last layer of the book's model, and
    one for ``A``), through :func:`shared.methods.scores`; no backward pass.

    The paper defines a channel's weight as its "increase of confidence": the masked
    input's post-softmax score minus that of a baseline image. The authors' code and
    tf-keras-vis take the baseline's score as 0 (a black baseline), as here; a constant
    ``b`` subtracted from every weight would add ``-b sum_k A^k`` to the map before the
    ReLU.
    """
    acts = primitives.activations(model, images, layer, batch_size=batch_size)
    n, size, channels = len(images), images.shape[1:3], acts.shape[-1]
    weights = np.zeros((n, channels), np.float32)
    for i in range(n):
        for start in range(0, channels, batch_size):
            stop = min(start + batch_size, channels)
            masks = _channel_masks(acts[i, ..., start:stop], size)
            weights[i, start:stop] = primitives.scores(
                model, images[i] * masks[..., None], np.full(stop - start, targets[i]),
                score=score, batch_size=batch_size)
    maps = np.maximum(np.einsum("nhwk,nk->nhw", acts, weights), 0).astype(np.float32)
    return _finish(maps, images, upsample)
