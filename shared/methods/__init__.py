"""Attribution methods: one API for every way of explaining a prediction.

Every registered method is called the same way::

    maps = method(model, images, targets=None, **params)

``model`` is a Keras classifier (the book's checkpoint, or your own: flat, nested or
Sequential; see :mod:`shared.methods.graph`), ``images`` are float32 (N, H, W, 3) in
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

The primitives a chapter may call directly (what the methods are built from; each
batched, compiled once per model, counted by :func:`count_passes`):

* :func:`scores`: the model's logits or probabilities, the one way the perturbation
  methods call the model;
* :func:`gradients`: the input gradient of each image's target logit, (N, H, W, 3);
* :func:`mean_input_gradients`: its mean over many inputs per image (SmoothGrad's noisy
  copies, Integrated Gradients' path);
* :func:`layer_gradients`: a layer's activation and the target logit's gradient with
  respect to it (Grad-CAM);
* :func:`activations`: a layer's activation;
* :func:`check_images` and :func:`resolve_targets`: the checks every method runs first.

The parts of the perturbation methods a chapter may reuse: :func:`patch_positions`
(where occlusion's squares go), :class:`MaskSampler` (RISE's masks), :func:`segment`,
:func:`segmentation_function`, :func:`relabel`, :class:`grid_segmentation`,
:data:`SEGMENTATION_PARAMETERS` and :data:`ALIBI_SEGMENTATION` (the superpixels of LIME
and anchors), and the result classes :class:`LimeExplanation` and :class:`AnchorResult`;
a model the methods cannot read raises :class:`ModelError`.

The mechanics live in submodules: the parameter vocabulary in
:mod:`~shared.methods.parameters`, pass counting in :mod:`~shared.methods.passes`, the
model as one flat graph in :mod:`~shared.methods.graph`, input checks in
:mod:`~shared.methods.inputs`, the primitives in :mod:`~shared.methods.primitives`, the
``attribution`` decorator and the registry in :mod:`~shared.methods.registry`, and
post-processing in :mod:`~shared.methods.postprocess`.
"""

from .registry import ATTRIBUTIONS, defaults
from .passes import count_passes, quiet_retracing
from .graph import ModelError, network
from .inputs import check_images
from .primitives import (activations, gradients, layer_gradients, mean_input_gradients,
                         resolve_targets, scores)
from .postprocess import REDUCTIONS, normalize, reduce_channels, substitute, upsample
from .superpixels import SEGMENTATIONS, grid_segmentation, relabel, segmentation_function
from .gradcam import (cam, gradcam, gradcam_plus_plus, gradcam_plus_plus_rule, gradcam_rule,
                      hirescam, layercam, layercam_rule, scorecam)
from .saliency import input_gradients, saliency, smooth_gradients, smoothgrad
from .integrated_gradients import expected_gradients, ig_attributions, integrated_gradients
from .guided_backprop import (RELU_BACKWARD_RULES, guided_backprop, guided_gradcam,
                              guided_gradients, guided_model, relu_backward, relu_with_backward)
from .occlusion import occlusion, patch_positions
from .rise import MaskSampler, rise
from .lime import SEGMENTATION_PARAMETERS, LimeExplanation, lime, lime_explanation, segment
from .anchors import (ALIBI_SEGMENTATION, AnchorResult, anchor_explanation, anchor_explanations,
                      anchors)
from .shap import (LINEAR_OPS, PARTITION_ROUND, KernelShapExplanation, deep_explainer_rules,
                   deep_shap, kernel_shap, kernel_shap_explanation, partition_shap,
                   shapley_kernel, superpixel_means)


def feature_layers(model) -> list[str]:
    """Names of the layers a CAM method can use (4-D outputs after the first convolution),
    in graph order; a nested model's layer by its own name if unique, else by path."""
    return network(model).feature_layers()


__all__ = [
    # the registry
    "ATTRIBUTIONS", "defaults",
    # the methods and their helpers
    "cam", "gradcam", "gradcam_rule", "hirescam", "layercam", "layercam_rule",
    "gradcam_plus_plus", "gradcam_plus_plus_rule", "scorecam",
    "input_gradients", "saliency", "smooth_gradients", "smoothgrad",
    "expected_gradients", "ig_attributions", "integrated_gradients",
    "RELU_BACKWARD_RULES", "guided_backprop", "guided_gradcam", "guided_gradients",
    "guided_model", "relu_backward", "relu_with_backward",
    "occlusion", "patch_positions", "rise", "MaskSampler",
    "lime", "lime_explanation", "LimeExplanation", "segment", "SEGMENTATION_PARAMETERS",
    "anchor_explanation", "anchor_explanations", "anchors", "AnchorResult", "ALIBI_SEGMENTATION",
    "kernel_shap", "kernel_shap_explanation", "KernelShapExplanation", "shapley_kernel",
    "superpixel_means", "partition_shap", "PARTITION_ROUND", "deep_shap",
    "deep_explainer_rules", "LINEAR_OPS",
    # the primitives and checks
    "activations", "check_images", "gradients", "layer_gradients", "mean_input_gradients",
    "resolve_targets", "scores",
    # the model, counting
    "feature_layers", "network", "ModelError", "count_passes", "quiet_retracing",
    # post-processing
    "REDUCTIONS", "normalize", "reduce_channels", "substitute", "upsample",
    # superpixels (LIME, anchors)
    "SEGMENTATIONS", "grid_segmentation", "relabel", "segmentation_function",
]
