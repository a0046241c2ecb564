"""LIME (Ribeiro, Singh & Guestrin 2016, KDD): a weighted linear model over superpixels.

The image is cut into superpixels; ``n_samples`` binary vectors ``z`` say which
superpixels are kept (1) and which are hidden (0, replaced by the ``fill``); the model
scores every perturbed image; a ridge regression of the target's score on ``z``,
each sample weighted by ``sqrt(exp(-d(z, 1)^2 / kernel_width^2))`` with ``d`` the cosine
distance to the unperturbed image, gives one weight per superpixel. The map paints each
superpixel's weight (raw and signed, in units of the score) onto its pixels.

Everything but the construction of the perturbed images is the ``lime`` package
(``lime.lime_image.LimeImageExplainer.explain_instance``: its random draws, kernel,
feature selection and ridge regression). The perturbed images are built by
:class:`_Explainer`, a subclass that replaces ``data_labels`` (a Python loop over the
samples that copies the image once per sample, behind a progress bar that cannot be
turned off, scored 10 at a time by default) by whole batches built with one
``np.where``, sent to the model through :func:`shared.methods.scores`. It draws the same
binary vectors from the same random state, so with the same ``seed`` it gives the same
explanation as the unmodified package (``python -m tools.benchmark lime`` checks this).

What hidden superpixels become (``fill``):

* ``None`` (the default, lime's ``hide_color=None``): each superpixel's own mean colour;
* anything :func:`shared.methods.substitute` accepts: a number in [0, 1] (lime's
  ``hide_color`` is that one value), a name in :data:`shared.methods.FILLS` or an array
  of substitute images. lime's ``hide_color`` is a single value; a substitute image
  (the image blurred, the skin without its lesions) is one value per pixel, so the
  subclass takes the hidden pixels from the substitute image instead.

``import lime`` happens inside the functions: the rest of the package works without it.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from . import postprocess, primitives
from .inputs import check_images
from .parameters import PARAMETERS, optional, positive_number
from .primitives import resolve_targets
from .registry import attribution
from .superpixels import check_segmentation, segmentation_function

LIME_QUICKSHIFT = dict(kernel_size=4, max_dist=200, ratio=0.2)
"""lime's own quickshift parameters (``LimeImageExplainer.explain_instance``, used when no
``segmentation_fn`` is given); scikit-image's defaults are ``kernel_size=5, max_dist=10,
ratio=1.0``. lime passes its ``random_seed`` to quickshift too, which scikit-image 0.22 no
longer takes (it is called ``rng``) and lime silently drops: here ``seed`` reaches it."""

SEGMENTATION_PARAMETERS = {
    "quickshift": LIME_QUICKSHIFT,
    "slic": dict(start_label=0),
    "felzenszwalb": {},
}
"""Keyword arguments per algorithm, on top of scikit-image's defaults. SLIC numbers its
superpixels from 1 unless ``start_label=0``; lime (and alibi, issue 748) assume labels
``0..K-1``, and would otherwise never hide the last superpixel."""

_SOURCES = {
    "n_samples": "lime 0.2.0.1: explain_instance(num_samples=1000)",
    "segmentation": "lime 0.2.0.1: quickshift with kernel_size=4, max_dist=200, ratio=0.2 "
                    "(explain_instance's own segmentation); slic and felzenszwalb use "
                    "scikit-image's defaults (slic with start_label=0)",
    "kernel_width": "lime 0.2.0.1: LimeImageExplainer(kernel_width=0.25) on cosine distances",
    "fill": "lime 0.2.0.1: hide_color=None, each superpixel's own mean colour",
    "score": "Ribeiro et al. 2016: the local model fits the classifier's probability "
             "(lime's classifier_fn returns probabilities)",
    "seed": "any: lime's random_state and quickshift's rng are both set from it",
}

_CHECKS = {"segmentation": check_segmentation, "kernel_width": positive_number,
           "fill": optional(postprocess.check_fill)}
"""``fill=None`` is lime's default: each superpixel's own mean colour."""


def segment(image, segmentation="quickshift", seed: int = 0) -> np.ndarray:
    """Superpixels of one image (H, W, 3) in [0, 1]: int (H, W), labels ``0..K-1``."""
    image = check_images(np.asarray(image)[None])[0]
    return segmentation_function(segmentation, SEGMENTATION_PARAMETERS, seed)(image)


# --------------------------------------------------------------------------------------
# The explainer: lime's, with batched perturbations
# --------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _explainer_class():
    from lime import lime_image

    class _Explainer(lime_image.LimeImageExplainer):
        """lime's image explainer with ``data_labels`` built in batches.

        Same random draws as lime (``random_state.randint(0, 2, n * K)``, first row all
        ones), same images (kept superpixels from the image, hidden ones from the
        ``fudged_image`` lime made, or from ``substitute`` when set); no per-sample loop.
        """
        substitute: np.ndarray | None = None

        def data_labels(self, image, fudged_image, segments, classifier_fn, num_samples,
                        batch_size=10):
            n_features = np.unique(segments).shape[0]
            data = self.random_state.randint(0, 2, num_samples * n_features) \
                .reshape((num_samples, n_features))
            data[0, :] = 1
            hidden = fudged_image if self.substitute is None else self.substitute
            kept = data.astype(bool)
            buffer = np.empty((min(batch_size, num_samples),) + image.shape, image.dtype)
            labels = []
            for start in range(0, num_samples, batch_size):
                keep = kept[start:start + batch_size][:, segments][..., None]
                batch = buffer[:len(keep)]           # reused: scored before the next one
                np.copyto(batch, hidden)
                np.copyto(batch, image, where=keep)
                labels.append(np.array(classifier_fn(batch)))
            return data, np.concatenate(labels)

    return _Explainer


@dataclasses.dataclass(eq=False)
class LimeExplanation:
    """LIME's explanation of one image, with what a chapter needs to show it.

    Attributes:
        target: the class explained.
        map: float32 (H, W), each superpixel's weight painted onto its pixels.
        segments: int (H, W), superpixel labels ``0..K-1``.
        weights: float (K,), the local linear model's weight of each superpixel.
        intercept: the local model's intercept (its score with every superpixel hidden).
        r2: the local model's weighted R^2 on the samples (lime's ``score``).
        local_prediction: the local model's prediction for the unperturbed image
            (``intercept + sum(weights)``).
        prediction: the model's own score of ``target`` for the unperturbed image.
        score: ``"probability"`` or ``"logit"``, what the local model fits.
        raw: lime's ``ImageExplanation`` (``get_image_and_mask`` and the rest).
    """
    target: int
    map: np.ndarray
    segments: np.ndarray
    weights: np.ndarray
    intercept: float
    r2: float
    local_prediction: float
    prediction: float
    score: str
    raw: object

    @property
    def n_segments(self) -> int:
        return len(self.weights)

    def top(self, k: int = 5) -> np.ndarray:
        """The ``k`` superpixels with the largest weights, largest first."""
        return np.argsort(-self.weights, kind="stable")[:k]


def _explain(model, image, target: int, *, n_samples, segmentation, kernel_width, hidden,
             score, seed, batch_size) -> LimeExplanation:
    """One image, checked. ``hidden``: None (superpixel means) or a substitute image."""
    explainer = _explainer_class()(kernel_width=kernel_width, random_state=seed)
    explainer.substitute = hidden
    labels_seen = []

    def classifier_fn(batch):
        out = primitives.scores(model, batch, score=score, batch_size=batch_size)
        if not labels_seen:
            labels_seen.append(out[0, target])
        return out

    raw = explainer.explain_instance(
        image, classifier_fn, labels=(int(target),), hide_color=None, top_labels=None,
        num_samples=n_samples, batch_size=batch_size,
        segmentation_fn=segmentation_function(segmentation, SEGMENTATION_PARAMETERS, seed),
        random_seed=seed)
    segments = raw.segments
    weights = np.zeros(int(segments.max()) + 1)
    for feature, weight in raw.local_exp[int(target)]:
        weights[feature] = weight
    return LimeExplanation(
        target=int(target), map=weights[segments].astype(np.float32), segments=segments,
        weights=weights, intercept=float(raw.intercept[int(target)]), r2=float(raw.score),
        local_prediction=float(np.ravel(raw.local_pred)[0]), prediction=float(labels_seen[0]),
        score=score, raw=raw)


def _hidden(images, fill):
    return None if fill is None else postprocess.substitute(images, fill)


@attribution(sources=_SOURCES, checks=_CHECKS)
def lime(model, images, targets, *, n_samples=1000, segmentation="quickshift",
         kernel_width=0.25, fill=None, score="probability", seed=0, batch_size=64):
    """LIME maps (N, H, W): each superpixel's weight in the local linear model of the
    target's ``score``, painted onto its pixels (raw, signed).

    Each image gets ``n_samples`` perturbations (the first one the image itself, as in
    lime), drawn from ``seed`` alone: an image's map does not depend on the other images.
    :func:`lime_explanation` returns the segments, weights and local model of one image.
    """
    hidden = _hidden(images, fill)
    maps = [_explain(model, image, t, n_samples=n_samples, segmentation=segmentation,
                     kernel_width=kernel_width, hidden=None if hidden is None else hidden[i],
                     score=score, seed=seed, batch_size=batch_size).map
            for i, (image, t) in enumerate(zip(images, targets))]
    return np.stack(maps)


def lime_explanation(model, image, target=None, *, n_samples=1000, segmentation="quickshift",
                     kernel_width=0.25, fill=None, score="probability", seed=0,
                     batch_size=64) -> LimeExplanation:
    """LIME's explanation of one image (H, W, 3) in [0, 1]: the map, the superpixels, their
    weights and the local model (see :class:`LimeExplanation`). Parameters as :func:`lime`;
    ``target=None`` explains the predicted class."""
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"image must be one image of rank 3 (H, W, 3), got shape {image.shape}"
                         + (" (a batch? use lime() or pass images[i])" if image.ndim == 4 else ""))
    values = dict(n_samples=n_samples, segmentation=segmentation, kernel_width=kernel_width,
                  fill=fill, score=score, seed=seed, batch_size=batch_size)
    checks = {**PARAMETERS, **_CHECKS}
    values = {k: checks[k](k, v) for k, v in values.items()}
    images = check_images(image[None], model)
    t = int(resolve_targets(model, images, None if target is None else [target])[0])
    hidden = _hidden(images, values.pop("fill"))
    return _explain(model, images[0], t, hidden=None if hidden is None else hidden[0], **values)
