"""Attribution methods: one API for every way of explaining a prediction.

Every registered method is called the same way::

    maps = method(model, images, targets=None, **params)

``model`` is a Keras classifier (the book's checkpoint, or your own: flat, nested or
Sequential; see :mod:`shared.methods.engine`), ``images`` are float32 (N, H, W, 3) in
[0, 1], ``targets`` the class to explain (one int, one per image, or ``None`` for each
image's predicted class), and ``maps`` are float32 (N, H, W) at input resolution, raw
(not normalised; see :func:`normalize`). :data:`ATTRIBUTIONS` maps each method's name to
its function; :func:`defaults` says where each parameter's default comes from.

Where each kind of output goes:

* attribution maps (N, H, W): the methods here, registered in :data:`ATTRIBUTIONS`;
  helpers that return something else (raw gradients (N, H, W, 3), CAM, which needs a
  particular head) share the same checks but are not registered;
* explanations with details (an anchor's precision and coverage): a result object whose
  binary map is what the registered method returns;
* feature visualisations (images out, not maps): a module and registry of their own.

The mechanics (checks, targets, batching, caching, counting passes) live in
:mod:`shared.methods.engine`; post-processing in :mod:`shared.methods.postprocess`.
"""

from . import engine
from .engine import (ATTRIBUTIONS, PARAMETERS, SCORES, ModelError, Passes, activations,
                     attribution, check_images, count_passes, defaults, network,
                     resolve_targets, scores)
from .postprocess import (FILLS, REDUCTIONS, check_fill, normalize, reduce_channels, substitute,
                          upsample)
from .superpixels import SEGMENTATIONS, grid_segmentation
from .gradcam import cam, gradcam, gradcam_rule, hirescam, hirescam_rule
from .saliency import input_gradients, saliency, smooth_gradients, smoothgrad
from .integrated_gradients import expected_gradients, ig_attributions, integrated_gradients
from .guided_backprop import (RELU_BACKWARD_RULES, guided_backprop, guided_gradcam,
                              guided_gradients, guided_model, guided_relu, relu_backward,
                              relu_with_backward)
from .occlusion import occlusion
from .rise import rise
from .lime import LimeExplanation, lime, lime_explanation
from .anchors import AnchorResult, anchor_explanation, anchor_explanations, anchors


def feature_layers(model) -> list[str]:
    """Names of the layers a CAM method can use (4-D outputs after the first convolution),
    in graph order; a nested model's layer by its own name if unique, else by path."""
    return network(model).feature_layers()


__all__ = ["ATTRIBUTIONS", "AnchorResult", "FILLS", "LimeExplanation", "PARAMETERS",
           "SEGMENTATIONS", "check_fill", "REDUCTIONS", "RELU_BACKWARD_RULES", "SCORES",
           "ModelError", "Passes", "activations", "anchor_explanation", "anchor_explanations",
           "anchors", "attribution", "cam", "check_images",
           "count_passes", "defaults", "engine", "expected_gradients", "feature_layers",
           "gradcam", "gradcam_rule", "grid_segmentation", "guided_backprop", "guided_gradcam",
           "guided_gradients", "guided_model", "guided_relu", "hirescam", "hirescam_rule",
           "ig_attributions", "input_gradients", "integrated_gradients", "lime",
           "lime_explanation", "network", "normalize", "occlusion", "reduce_channels", "relu_backward", "relu_with_backward",
           "resolve_targets", "rise", "saliency", "scores", "smooth_gradients", "smoothgrad",
           "substitute", "upsample"]
