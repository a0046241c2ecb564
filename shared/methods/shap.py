"""SHAP (Lundberg & Lee 2017, NeurIPS): a prediction shared out fairly among parts of the image.

A prediction is a cooperative game. The players are parts of the image (superpixels,
rectangles of pixels); the value ``v(S)`` of a coalition ``S`` is the model's score of the
target with the parts in ``S`` shown and the others hidden. Each part's Shapley value
(Shapley 1953) is its marginal contribution averaged over every order of arrival::

    phi_i = sum_{S subset of N \\ {i}} |S|! (M - |S| - 1)! / M!  (v(S + {i}) - v(S))

for ``M`` players. They add up to the whole gap (efficiency):
``sum_i phi_i = v(all shown) - v(all hidden)``. Computing them exactly takes all
``2^M`` coalitions; the methods here estimate them:

* :func:`kernel_shap`: KernelSHAP (Lundberg & Lee 2017, Theorem 2) on LIME's
  superpixels and LIME's fill. LIME fits a weighted linear model of the score on
  binary vectors ``z`` (which superpixels are shown); with the *Shapley kernel*
  (:func:`shapley_kernel`)::

      pi(z) = (M - 1) / (C(M, |z|) |z| (M - |z|))

  (infinite for the empty and the full coalition, which therefore fix the intercept and
  the sum) its coefficients are the Shapley values. LIME's own kernel (an exponential of
  a cosine distance) gives other numbers on the same samples, which do not add up to
  the gap. Runs the ``shap`` package's ``KernelExplainer`` on the binary vector.
* :func:`partition_shap`: the ``shap`` package's ``PartitionExplainer`` with a
  ``shap.maskers.Image``: Owen values (Owen 1977), Shapley values of a hierarchy of
  rectangles (the image halved along its longest side, recursively), refined where the
  score changes most until ``max_evals`` images have been scored. They add up to
  ``v(all shown) - v(all hidden)`` too.
* :func:`deep_shap`: the ``shap`` package's ``DeepExplainer`` (DeepLIFT's rescale rule
  averaged over reference images), with the one rule it lacks for the book's checkpoint
  (see below).

Exact Shapley values by enumeration, for a toy game or a few superpixels, are
:func:`shared.scorecard.shapley_values` (exact up to ``exact_up_to`` players, which
takes any game ``coalitions -> values``); they are not repeated here. The tests check
:func:`kernel_shap` against it.

Deep SHAP on Keras 3
--------------------
With shap 0.49.1, TensorFlow 2.21 and Keras 3, ``shap.DeepExplainer`` runs on Keras 3
models whose operations all have a DeepLIFT rule in shap's table
(``shap.explainers._deep.deep_tf.op_handlers``: Conv2D, MatMul, BiasAdd, Relu, MaxPool,
AvgPool, Mean, Softmax, element-wise products...): we ran it on every construction of
``tests/toy_models.py``'s small conv net (flat, nested, Sequential; ReLU layers or fused;
softmax, sigmoid or logits) and, on a linear model, it gives exactly ``w (x - mean(references))``, what Integrated Gradients gives
from the mean reference. On the book's checkpoint (an Xception: its ``SeparableConv2D``
layers run ``DepthwiseConv2dNative``) it fails at the first image::

    tensorflow.python.autograph.impl.api.StagingError: in user code:

        File ".../shap/explainers/_deep/deep_tf.py", line 265, in grad_graph  *
            x_grad = tape.gradient(out, shap_rAnD)

        LookupError: gradient registry has no entry for: shap_DepthwiseConv2dNative

shap's TensorFlow DeepExplainer replaces every gradient by its own rule: it renames the
ops ``shap_<op>`` through TensorFlow's private gradient registry and
``tensorflow.python.eager.execute.record_gradient``, and an op without a rule has no
``shap_`` gradient. Its code supports TensorFlow 1.4 and later: it warns that "graph
support has been removed" from 2.4 on, and from 2.16 (Keras 3) calls the model with
``training=False`` instead of the removed ``keras.backend.learning_phase``; the op table is
what limits it. Worse, the failure leaves ``record_gradient`` patched (shap puts it back
on success only), so every later gradient in the process fails with a ``LookupError``
(the book's saliency, Grad-CAM, Integrated Gradients...) until the kernel restarts.

:func:`deep_shap` adds the missing rule and cleans up after shap: a depthwise
convolution is linear in its input, so its DeepLIFT multiplier is its gradient, shap's
``linearity_1d(0)`` (its rule for Conv2D), added to shap's table for the call only. With
it Deep SHAP runs on the checkpoint (its maps add up to the logit minus its mean over the
references: shap's additivity check passes), and on a linear model with separable
convolutions it is exactly Integrated Gradients from the mean reference (the tests). An
op still without a rule raises ``NotImplementedError`` naming it, with shap's error as its
cause, and TensorFlow's state put back. :func:`deep_explainer_rules` is the context
manager that does both, public so that the SHAP chapter can show the stock failure
(``ops=()``) without breaking the gradients that follow. The path shap supports without a
private table is ``shap.GradientExplainer`` (expected gradients), which
:func:`shared.methods.expected_gradients` implements and the tests compare with shap's.

``import shap`` happens inside the functions: the rest of the package works without it.
This module's name does not hide the library: imports are absolute (``import shap`` is
the library, ``from . import shap`` this module).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import re

import numpy as np

# shap's Partition and Deep explainers ask whether the model is a Hugging Face model, which
# imports transformers when it is installed (alibi depends on it); transformers' TensorFlow
# side then refuses Keras 3 with a ValueError that shap does not catch. With USE_TF=0
# transformers skips its TensorFlow side, and the check answers "no" without the error
# (setdefault: a reader's own setting wins). Without its TensorFlow side transformers would
# advise, on stderr at import, that it found no deep-learning framework: true and harmless
# here (none of its models is used), so that advice is silenced too.
os.environ.setdefault("USE_TF", "0")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

from . import postprocess, primitives
from .inputs import check_images
from .integrated_gradients import _references
from .lime import SEGMENTATION_PARAMETERS
from .lime import _CHECKS as _LIME_CHECKS
from .lime import _SOURCES as _LIME_SOURCES
from .parameters import PARAMETERS, positive_int
from .passes import record_passes
from .primitives import resolve_targets
from .registry import attribution
from .superpixels import segmentation_function

# --------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------


def _shap_library():
    """The ``shap`` package, imported without tqdm's notice that ipywidgets is missing
    (shap imports ``tqdm.auto``, which warns "IProgress not found" on stderr in a
    notebook without ipywidgets; no progress bar is shown here anyway)."""
    import warnings
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        import shap
    return shap


@contextlib.contextmanager
def _numpy_seed(seed: int):
    """shap's KernelExplainer and PartitionExplainer draw from numpy's global random state
    (they take no seed): seed it for the call, then put the caller's state back."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def superpixel_means(image, segments) -> np.ndarray:
    """Each superpixel filled with its own mean colour, (H, W, 3) float32: what lime puts in
    place of a hidden superpixel by default (``hide_color=None``, its ``fudged_image``)."""
    image = np.asarray(image, np.float64)
    labels = np.asarray(segments).ravel()
    counts = np.bincount(labels)
    means = np.stack([np.bincount(labels, image[..., c].ravel()) for c in range(3)], -1)
    means /= np.maximum(counts, 1)[:, None]
    return means[segments].astype(np.float32)


def shapley_kernel(n_features: int, *, ends: float = math.inf) -> np.ndarray:
    """The Shapley kernel of Lundberg & Lee 2017 (Theorem 2), (M + 1,): the weight of a
    coalition of each size ``|z| = 0..M`` of ``M = n_features`` players::

        pi(z) = (M - 1) / (C(M, |z|) |z| (M - |z|))

    A sample's weight is ``shapley_kernel(M)[z.sum()]``. Weighting LIME's linear
    regression by it (instead of LIME's exponential kernel) makes its coefficients the
    Shapley values. ``pi`` is infinite at ``|z| = 0`` and ``|z| = M``: the empty and the
    full coalition must be fitted exactly, so the intercept is ``v(all hidden)`` and the
    coefficients add up to ``v(all shown) - v(all hidden)``. KernelSHAP enforces that as a
    constraint (shap drops one unknown, the last coefficient being the gap minus the
    others); a regression that takes weights (LIME's) gets it from a large finite
    ``ends`` (the default ``inf`` marks them).
    """
    m = positive_int("n_features", n_features)
    if not (isinstance(ends, (int, float, np.number)) and not isinstance(ends, bool)
            and ends > 0):
        raise ValueError(f"ends must be a positive number (or inf), got {ends!r}")
    size = np.arange(m + 1)
    weights = np.full(m + 1, float(ends))
    inner = size[1:m]
    weights[1:m] = (m - 1) / (np.array([math.comb(m, int(s)) for s in inner], float)
                              * inner * (m - inner))
    return weights


# --------------------------------------------------------------------------------------
# KernelSHAP on LIME's superpixels
# --------------------------------------------------------------------------------------

_KERNEL_SOURCES = {
    "n_samples": "lime 0.2.0.1: explain_instance(num_samples=1000), so that KernelSHAP "
                 "and LIME score the same number of images (shap's own default, "
                 "nsamples='auto', is 2M + 2048 for M superpixels)",
    "segmentation": "the same as LIME's: " + _LIME_SOURCES["segmentation"],
    "fill": "the same as LIME's: " + _LIME_SOURCES["fill"],
    "score": "the same as LIME's: " + _LIME_SOURCES["score"] + "; Lundberg & Lee 2017 "
             "explain the model's output",
    "seed": "any: numpy's global random state (which shap's KernelExplainer draws from) "
            "and quickshift's rng are both set from it, and the caller's state restored",
}

L1_REG = 0
"""KernelExplainer's ``l1_reg``: 0, no feature selection. shap's default since 0.47,
``"num_features(10)"``, first keeps 10 superpixels by a LARS path and gives every other
one exactly 0: a map of the 10 would be a choice of shap's, not a Shapley estimate, and
with quickshift's dozens of superpixels most of the image would read 0. LIME here keeps
every superpixel too (lime's ``num_features=100000``). The efficiency constraint holds
either way."""


@dataclasses.dataclass(eq=False)
class KernelShapExplanation:
    """KernelSHAP's explanation of one image, with what a chapter needs to show it.

    Attributes:
        target: the class explained.
        map: float32 (H, W), each superpixel's Shapley estimate painted onto its pixels.
        segments: int (H, W), superpixel labels ``0..K-1`` (LIME's).
        values: float (K,), the Shapley estimates; they add up to
            ``prediction - base_value``.
        base_value: ``v(all hidden)``, the score with every superpixel hidden.
        prediction: ``v(all shown)``, the model's score of the unperturbed image.
        score: ``"probability"`` or ``"logit"``, the game's value.
        coalitions: (S, K) 0/1, the coalitions KernelSHAP scored (shown superpixels),
            every size from 1 to K - 1 (the empty and the full one are the constraints).
        outputs: (S,), their scores.
        weights: (S,), KernelSHAP's regression weights (the Shapley kernel, or for sampled
            coalitions their share of it).
        evaluations: images scored for this explanation (S + 2).
        exact: every coalition was scored (``n_samples >= 2^K - 2``): ``values`` are the
            exact Shapley values.
    """
    target: int
    map: np.ndarray
    segments: np.ndarray
    values: np.ndarray
    base_value: float
    prediction: float
    score: str
    coalitions: np.ndarray
    outputs: np.ndarray
    weights: np.ndarray
    evaluations: int
    exact: bool

    @property
    def n_segments(self) -> int:
        return len(self.values)

    def top(self, k: int = 5) -> np.ndarray:
        """The ``k`` superpixels with the largest values, largest first."""
        return np.argsort(-self.values, kind="stable")[:k]


def _kernel_explain(model, image, target: int, *, n_samples, segmentation, hidden, score,
                    seed, batch_size) -> KernelShapExplanation:
    """One image, checked. ``hidden``: None (superpixel means, LIME's) or a substitute."""
    shap = _shap_library()

    segments = segmentation_function(segmentation, SEGMENTATION_PARAMETERS, seed)(image)
    k = int(segments.max()) + 1
    if hidden is None:
        hidden = superpixel_means(image, segments)
    scored = [0]

    def game(z):
        """Coalitions (n, K) of shown superpixels -> the target's score, (n,)."""
        z = np.asarray(z) > 0.5
        out = []
        for start in range(0, len(z), batch_size):
            keep = z[start:start + batch_size][:, segments][..., None]
            out.append(primitives.scores(model, np.where(keep, image, hidden), int(target),
                                         score=score, batch_size=batch_size))
        scored[0] += len(z)
        return np.concatenate(out).astype(np.float64)

    with _numpy_seed(seed):
        explainer = shap.KernelExplainer(game, np.zeros((1, k)))
        values = np.asarray(explainer.shap_values(np.ones(k), nsamples=n_samples,
                                                  l1_reg=L1_REG, silent=True), float)
    values = values.reshape(k)
    n = explainer.nsamplesAdded if k > 1 else 0
    return KernelShapExplanation(
        target=int(target), map=values[segments].astype(np.float32), segments=segments,
        values=values, base_value=float(np.ravel(explainer.fnull)[0]),
        prediction=float(np.ravel(explainer.fx)[0]), score=score,
        coalitions=explainer.maskMatrix[:n].astype(np.int8) if k > 1 else np.zeros((0, k), np.int8),
        outputs=explainer.y[:n, 0].copy() if k > 1 else np.zeros(0),
        weights=explainer.kernelWeights[:n].copy() if k > 1 else np.zeros(0),
        evaluations=scored[0], exact=k == 1 or n >= 2 ** k - 2)


def _hidden(images, fill):
    return None if fill is None else postprocess.substitute(images, fill)


_KERNEL_CHECKS = {name: _LIME_CHECKS[name] for name in ("segmentation", "fill")}


@attribution(sources=_KERNEL_SOURCES, checks=_KERNEL_CHECKS)
def kernel_shap(model, images, targets, *, n_samples=1000, segmentation="quickshift",
                fill=None, score="probability", seed=0, batch_size=64):
    """KernelSHAP maps (N, H, W) on LIME's superpixels: each superpixel's Shapley estimate
    of the target's ``score`` (raw, signed, in units of the score), painted onto its
    pixels; each image's map adds up, over superpixels, to ``v(all shown) - v(all hidden)``.

    The superpixels, the fill of hidden ones and the score are LIME's (same parameters,
    same defaults, see :func:`shared.methods.lime`); the estimate is the ``shap``
    package's ``KernelExplainer`` on the binary vector of shown superpixels (background:
    all hidden), ``nsamples=n_samples``, ``l1_reg=0`` (:data:`L1_REG`). It enumerates
    coalitions by size, the sizes the Shapley kernel weighs most first (1 and K - 1), and
    samples the rest; with ``n_samples >= 2^K - 2`` it scores every coalition and the
    values are exact. Each image costs ``min(n_samples, 2^K - 2) + 2`` scored images, drawn
    from ``seed`` alone: an image's map does not depend on the other images.
    :func:`kernel_shap_explanation` returns the values, coalitions and weights of one image.
    """
    hidden = _hidden(images, fill)
    return np.stack([
        _kernel_explain(model, image, t, n_samples=n_samples, segmentation=segmentation,
                        hidden=None if hidden is None else hidden[i], score=score, seed=seed,
                        batch_size=batch_size).map
        for i, (image, t) in enumerate(zip(images, targets))])


def kernel_shap_explanation(model, image, target=None, *, n_samples=1000,
                            segmentation="quickshift", fill=None, score="probability", seed=0,
                            batch_size=64) -> KernelShapExplanation:
    """KernelSHAP's explanation of one image (H, W, 3) in [0, 1]: the map, the superpixels,
    their Shapley estimates and the samples behind them (see :class:`KernelShapExplanation`).
    Parameters as :func:`kernel_shap`; ``target=None`` explains the predicted class."""
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"image must be one image of rank 3 (H, W, 3), got shape {image.shape}"
                         + (" (a batch? use kernel_shap() or pass images[i])"
                            if image.ndim == 4 else ""))
    values = dict(n_samples=n_samples, segmentation=segmentation, fill=fill, score=score,
                  seed=seed, batch_size=batch_size)
    checks = {**PARAMETERS, **_KERNEL_CHECKS}
    values = {k: checks[k](k, v) for k, v in values.items()}
    images = check_images(image[None], model)
    t = int(resolve_targets(model, images, None if target is None else [target])[0])
    hidden = _hidden(images, values.pop("fill"))
    return _kernel_explain(model, images[0], t, hidden=None if hidden is None else hidden[0],
                           **values)


# --------------------------------------------------------------------------------------
# Partition SHAP: Owen values over a hierarchy of rectangles
# --------------------------------------------------------------------------------------

SHAP_MASKERS = ("blur(kx,ky)", "inpaint_telea", "inpaint_ns")
"""What ``shap.maskers.Image`` puts in hidden pixels: the image blurred by a ``kx`` x ``ky``
box filter (OpenCV's ``cv2.blur``), or inpainted from the visible pixels (OpenCV's
Telea or Navier-Stokes method)."""

_BLUR = re.compile(r"^blur\(\s*(\d+)\s*,\s*(\d+)\s*\)$")


def check_masker(name: str, value):
    """A ``shap.maskers.Image`` mask value (:data:`SHAP_MASKERS`, ``"blur(16,16)"``...) or
    any fill :func:`shared.methods.substitute` accepts (a name in
    :data:`shared.methods.FILLS`, a grey level, substitute images)."""
    if isinstance(value, str):
        found = _BLUR.match(value)
        if found and min(int(found[1]), int(found[2])) >= 1:
            return value
        if value in ("inpaint_telea", "inpaint_ns"):
            return value
        if value.startswith(("blur(", "inpaint")):
            raise ValueError(f"{name} must be 'blur(kx,ky)' with kx, ky >= 1, 'inpaint_telea' "
                             f"or 'inpaint_ns' (shap.maskers.Image), got {value!r}")
    try:
        return postprocess.check_fill(name, value)
    except ValueError as e:
        raise ValueError(f"{e}; or one of shap's image maskers {list(SHAP_MASKERS)}") from None


def _at_least_two(name: str, value) -> int:
    value = positive_int(name, value)
    if value < 2:
        raise ValueError(f"{name} must be at least 2 (the full and the empty image), got {value}")
    return value


PARTITION_ROUND = 50
"""Images the Partition explainer scores per round (shap's ``batch_size``; 50 in shap's
image examples). It is part of the algorithm, not a speed setting: each round expands
the rectangles at the head of the queue before their children's scores can reorder it,
so another round size refines other rectangles when ``max_evals`` runs out. The model
sees each round in batches of the method's ``batch_size``, which changes speed only."""

_PARTITION_SOURCES = {
    "masker": "shap's ResNet50 example ('Image Multi Class', the 'longer run'): "
              "shap.maskers.Image('blur(128,128)') on 224 x 224 images, 'much faster than "
              "inpainting'",
    "max_evals": "shap 0.49.1: PartitionExplainer(max_evals=500), the default of its "
                 "__call__; shap's image examples recommend 300-500",
    "score": "the same as LIME's and KernelSHAP's: the classifier's probability "
             "(shap's image examples explain the softmax output)",
    "seed": "any: numpy's global random state (PartitionExplainer breaks ties between "
            "equally urgent rectangles with np.random.randn) is set from it, and the "
            "caller's state restored",
}


@attribution(sources=_PARTITION_SOURCES,
             checks={"masker": check_masker, "max_evals": _at_least_two})
def partition_shap(model, images, targets, *, masker="blur(128,128)", max_evals=500,
                   score="probability", seed=0, batch_size=64):
    """Partition SHAP maps (N, H, W): Owen values of the target's ``score`` over shap's
    hierarchy of image rectangles, summed over the colour channels (signed, so each map
    adds up to ``v(image) - v(every pixel hidden)``).

    The ``shap`` package's ``PartitionExplainer`` with ``shap.maskers.Image`` (Lundberg &
    Lee 2017's SHAP values under a partition: Owen values, Owen 1977): the image (pixels
    and channels) is halved along its longest side, recursively; starting from the whole
    image it scores the two halves shown on an empty and on a full background, credits
    each half with the average, and splits further the rectangles whose score changes
    most, until ``max_evals`` images (the full and the empty image included) have been
    scored. A rectangle not split further shares its credit evenly among its pixels: at
    500 evaluations the map is made of rectangles, finer where the score moves.

    ``masker``: what hidden pixels become, shap's ``"blur(kx,ky)"`` (a box blur),
    ``"inpaint_telea"``, ``"inpaint_ns"``, or any fill of :func:`shared.methods.substitute`
    (a name in :data:`shared.methods.FILLS`, a grey level, substitute images). shap's
    inpainting casts the image to uint8 (it expects 0-255 values; [0, 1] images would
    become black): the explainer is given the images times 255 and the model gets them
    back divided by 255. Even so, inpainting rounds every pixel down to one of 256 levels,
    shown or hidden: with it, ``v(all shown)`` is the score of the image so rounded, and
    ``v(all hidden)`` that of the image's mean colour (shap's rule for a fully hidden image).

    Each image costs ``max_evals`` scored images (fewer only if the hierarchy runs out),
    in rounds of at most :data:`PARTITION_ROUND` (each sent to the model in batches of
    ``batch_size``, which changes speed only).
    """
    shap = _shap_library()

    fixed = None if isinstance(masker, str) and masker not in postprocess.FILLS \
        else postprocess.substitute(images, masker, name="masker")
    maps = []
    for i, (image, t) in enumerate(zip(images, targets)):
        def f(x, t=int(t)):
            return primitives.scores(model, np.asarray(x, np.float32) / 255.0, t,
                                     score=score, batch_size=batch_size)
        value = masker if fixed is None else fixed[i] * 255.0
        # one masker per image: shap's blur caches the blurred image by id(x), which a
        # later image's array can reuse
        image_masker = shap.maskers.Image(value, image.shape)
        explainer = shap.PartitionExplainer(f, image_masker)
        with _numpy_seed(seed):
            out = explainer(image[None] * 255.0, max_evals=max_evals,
                            batch_size=PARTITION_ROUND, silent=True)
        maps.append(np.asarray(out.values[0], np.float64).reshape(image.shape).sum(-1))
    return np.stack(maps).astype(np.float32)


# --------------------------------------------------------------------------------------
# Deep SHAP
# --------------------------------------------------------------------------------------

_DEEP_SOURCES = {
    "n_samples": "shap's DeepExplainer MNIST example: a background of 100 images",
    "baseline": "uniform noise, as expected_gradients; pass data images for the "
                "background of Lundberg & Lee 2017",
    "seed": "any: the noise references are drawn from it",
    "batch_size": "speed and memory only: shap runs an image with all its references in "
                  "one call; here in groups of batch_size references, averaged (the "
                  "values are a mean over references)",
}

LINEAR_OPS = ("DepthwiseConv2dNative",)
"""TensorFlow ops, linear in their first input, that shap's DeepExplainer has no rule for
and :func:`deep_shap` gives its linear rule (``linearity_1d(0)``, the gradient)."""

_NO_RULE = re.compile(r"gradient registry has no entry for: shap_(\w+)")


@contextlib.contextmanager
def deep_explainer_rules(ops=LINEAR_OPS):
    """Run ``shap.DeepExplainer`` inside this block: the TensorFlow ops in ``ops`` get
    shap's linear rule (``linearity_1d(0)``: a depthwise convolution's DeepLIFT multiplier
    is its gradient) for the block only, and TensorFlow's ``record_gradient``, which shap
    leaves patched when it fails, is put back on the way out, error or not.
    ``ops=()`` adds no rule: the stock explainer, without its damage to later gradients
    (the SHAP chapter shows its failure this way). :func:`deep_shap` uses the default."""
    _shap_library()
    from shap.explainers._deep import deep_tf
    from tensorflow.python.eager import execute as tf_execute

    if isinstance(ops, str) or not all(isinstance(op, str) for op in ops):
        raise ValueError(f"ops must be a sequence of TensorFlow op names, got {ops!r}")
    added = [op for op in ops if op not in deep_tf.op_handlers]
    for op in added:
        deep_tf.op_handlers[op] = deep_tf.linearity_1d(0)
    record_gradient = tf_execute.record_gradient
    try:
        yield
    finally:
        tf_execute.record_gradient = record_gradient
        for op in added:
            deep_tf.op_handlers.pop(op, None)


@attribution(sources=_DEEP_SOURCES)
def deep_shap(model, images, targets, *, baseline=None, n_samples=100, seed=0,
              batch_size=32):
    """Deep SHAP maps (N, H, W): the ``shap`` package's ``DeepExplainer`` on the target's
    logit (Lundberg & Lee 2017: DeepLIFT's rescale rule, Shrikumar et al. 2017, averaged
    over reference images), summed over the colour channels (signed; each map adds up to
    the logit minus its mean over the references).

    For one reference ``x'``, DeepLIFT credits each input with ``(x_i - x'_i) m_i``, the
    multiplier ``m_i`` being the chain rule through every layer with each nonlinearity's
    derivative replaced by its secant ``(f(a) - f(a')) / (a - a')`` between the two
    inputs; Deep SHAP averages over the references.

    ``baseline``: reference images (M, H, W, 3) in [0, 1], or ``None`` for ``n_samples``
    uniform-noise images drawn from ``seed``. Adds the rule shap lacks for depthwise
    convolutions (:data:`LINEAR_OPS`; module docstring, "Deep SHAP on Keras 3"); a model
    with another op shap has no rule for raises ``NotImplementedError``.
    """
    import warnings

    import keras
    shap = _shap_library()

    from .graph import network

    refs = _references(baseline, images)
    if refs is None:
        refs = np.random.default_rng(seed).random((n_samples,) + images.shape[1:],
                                                  dtype=np.float32)
    logits = network(model).logits_model
    maps = np.zeros(images.shape[:3], np.float32)
    for t in np.unique(targets):
        which = np.flatnonzero(targets == t)
        # one output, from a layer: shap reads the output's shape from the last layer
        pick = keras.layers.Lambda(lambda y, t=int(t): y[:, t:t + 1], name=f"logit_{t}")
        one = keras.Model(logits.inputs, pick(logits.outputs[0]))
        total = np.zeros(images[which].shape, np.float64)
        for start in range(0, len(refs), batch_size):
            group = refs[start:start + batch_size]
            try:
                with deep_explainer_rules(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")   # shap's TF >= 2.4 warning, Keras's
                    explainer = shap.DeepExplainer(one, group)   # input-structure one
                    values = explainer.shap_values(images[which])
            except Exception as e:
                found = _NO_RULE.search(str(e))
                if found is None:
                    raise
                raise NotImplementedError(
                    f"shap.DeepExplainer (shap {shap.__version__}) has no DeepLIFT rule for "
                    f"the TensorFlow op {found[1]} in this model; use expected_gradients "
                    "(the estimate of shap's GradientExplainer)") from e
            # shap calls the model itself: its passes, counted as count_passes counts
            # ours (one image through the network = one pass): the references once for
            # the expected value, each image with every reference forward and backward
            # (image and references in one batch), the images again for the additivity check
            n = len(which)
            record_passes(forward=len(group) + n * (2 * len(group) + 1),
                          backward=2 * len(group) * n)
            total += np.asarray(values, np.float64).reshape(total.shape) * len(group)
        maps[which] = (total / len(refs)).sum(-1)
    return maps
