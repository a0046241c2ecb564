"""Attribution methods: one API for every way of explaining a prediction.

Every method is called the same way::

    maps = method(model, images, targets=None, **params)

``model`` is the probability model (:func:`shared.models.load_model`), ``images`` are
float32 (N, H, W, 3) in [0, 1], ``targets`` the class to explain (one int, one per
image, or ``None`` for each image's predicted class), and ``maps`` are float32
(N, H, W) at input resolution, not normalised (see :func:`normalize`).
:data:`ATTRIBUTIONS` maps each method's name to its function.
"""

from ._core import check_images, check_layer, feature_layers, normalize, resolve_targets, upsample
from .gradcam import cam, gradcam, gradcam_rule, hirescam, hirescam_rule
from .guided_backprop import (guided_backprop, guided_gradcam, guided_gradients, guided_model,
                              guided_relu, relu_backward)
from .saliency import (ig_attributions, input_gradients, integrated_gradients, reduce_channels,
                       saliency, smooth_gradients, smoothgrad)

ATTRIBUTIONS = {
    "gradcam": gradcam,
    "hirescam": hirescam,
    "saliency": saliency,
    "smoothgrad": smoothgrad,
    "integrated_gradients": integrated_gradients,
    "guided_backprop": guided_backprop,
    "guided_gradcam": guided_gradcam,
}
"""Method name -> function ``f(model, images, targets=None, **params) -> (N, H, W)``."""

__all__ = ["ATTRIBUTIONS", "cam", "gradcam_rule", "hirescam_rule", "check_images", "check_layer", "feature_layers", "gradcam",
           "guided_backprop", "guided_gradcam", "guided_gradients", "guided_model",
           "guided_relu", "hirescam", "ig_attributions", "input_gradients",
           "integrated_gradients", "normalize", "reduce_channels", "relu_backward",
           "resolve_targets", "saliency", "smooth_gradients", "smoothgrad", "upsample"]
