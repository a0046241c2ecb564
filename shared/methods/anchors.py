"""Anchors (Ribeiro, Singh & Guestrin 2018, AAAI): a set of superpixels that suffices.

An anchor ``A`` is a set of superpixels such that, whatever happens to the others, the
model almost always makes the same decision: its *precision*
``prec(A) = P(f(z) = f(x) | z keeps A)`` is at least ``threshold`` (with confidence
``1 - delta``), where ``z`` keeps the superpixels of ``A``, keeps every other one with
probability 1/2 and hides the rest. Among such sets the search (a beam search with a
multi-armed bandit, KL-LUCB) prefers the one with the largest *coverage*, the share of
perturbed images to which the anchor applies (for an image anchor, the share of samples
that keep all of ``A``: a smaller anchor covers more). An anchor explains the model's
*decision* (its predicted class), not a score.

This runs alibi's ``AnchorImage`` (``alibi==0.9.6``) with the model called through
:func:`shared.methods.scores` in large batches (the decision is the class with the
largest probability). ``import alibi`` happens only inside the functions.

What hidden superpixels become (``background``)
-----------------------------------------------
alibi's default (``images_background=None``) replaces a hidden superpixel by its *own*
mean colour. A superpixel that is mostly lesion then stays lesion-coloured: the lesion is
still visible when it is "hidden", the decision does not change, and the anchor can come
back empty. Here hidden superpixels are always taken from background images (alibi's
``images_background``: each perturbed image copies its hidden superpixels from one
background image drawn at random):

* ``"mean"`` (the default): the image's own mean colour, one flat colour over the whole
  image (see :func:`shared.methods.substitute`). On skin images that colour is
  essentially the skin's (the lesions cover a small part of the image), so a hidden
  lesion becomes plain skin colour, without the blurred smear that ``"blur"`` leaves
  (Fong & Vedaldi's sigma 10 px keeps part of a large lesion's contrast), and without
  ``"grey"``'s colour, which no image of the data set has. Measured on the book's test
  images with the shared checkpoint: filling the lesion pixels with the mean colour
  changed the decision exactly as often as rendering the same scenes without their
  lesions (``Scene.empty``), the ideal substitute; blur and grey changed it less often;
* any other fill: ``"grey"``, ``"black"``, ``"blur"``, a number in [0, 1];
* an array: one substitute image (H, W, 3), for instance the same scene rendered without
  its lesions (``shared.data``: ``Scene.empty``), or for :func:`anchor_explanation` a
  set of K background images (K, H, W, 3) that alibi draws from (the paper's anchors are
  shown pasted onto other images).
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import threading

import numpy as np

from . import postprocess, primitives
from .parameters import probability
from .registry import attribution
from .superpixels import check_segmentation, segmentation_function

_ALIBI = "alibi 0.9.6: AnchorImage.explain"
_SOURCES = {
    "threshold": f"{_ALIBI}(threshold=0.95)",
    "delta": f"{_ALIBI}(delta=0.1)",
    "tau": f"{_ALIBI}(tau=0.15)",
    "segmentation": "alibi 0.9.6: AnchorImage(segmentation_fn='slic') with its "
                    "DEFAULT_SEGMENTATION_KWARGS (n_segments=10, compactness=10, sigma=0.5, "
                    "start_label=0)",
    "background": "our measurement: the image's mean colour hides a lesion as skin colour "
                  "(on the book's test images, filling the lesion pixels with it changes the "
                  "decision as often as rendering the scene without its lesions); alibi's "
                  "default, each superpixel's own mean, can leave the lesion visible and the "
                  "anchor empty. See the module docstring",
    "seed": "any: alibi's AnchorImage(seed=...) seeds every draw of the search",
}

ALIBI_SEGMENTATION = {
    "slic": dict(n_segments=10, compactness=10, sigma=0.5, start_label=0),
    "quickshift": {},
    "felzenszwalb": {},
}
"""alibi 0.9.6's ``DEFAULT_SEGMENTATION_KWARGS`` (scikit-image's defaults otherwise)."""


def check_threshold(name: str, value) -> float:
    """A precision threshold in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not 0 < value <= 1:
        raise ValueError(f"{name} must be a precision in (0, 1], got {value!r}")
    return float(value)


_CHECKS = {"threshold": check_threshold, "delta": probability,
           "tau": probability, "segmentation": check_segmentation,
           "background": postprocess.check_fill}


@dataclasses.dataclass(eq=False)
class AnchorResult:
    """An anchor for one image.

    Attributes:
        target: the class explained (the model's decision for the image).
        map: float32 (H, W), 1 on the anchor's superpixels, 0 elsewhere.
        superpixels: the anchor's superpixel labels, in the order the search added them.
        precision: share of perturbed images that keep the anchor and get the same
            decision (a float; alibi may return it as an array).
        coverage: share of perturbed images that keep the anchor (a float).
        segments: int (H, W), superpixel labels ``0..K-1``.
        threshold: the precision asked for; ``precision < threshold`` means the search
            found no set that reaches it and returned its best one.
        backgrounds: float32 (K, H, W, 3), what hidden superpixels were taken from.
        raw: alibi's ``Explanation``.
    """
    target: int
    map: np.ndarray
    superpixels: tuple
    precision: float
    coverage: float
    segments: np.ndarray
    threshold: float
    backgrounds: np.ndarray
    raw: object

    @property
    def empty(self) -> bool:
        """True when the anchor has no superpixel: the decision holds whatever is hidden
        (an empty anchor has precision 1 only if hiding anything never changes it)."""
        return len(self.superpixels) == 0


def _as_float(value) -> float:
    return float(np.ravel(np.asarray(value, dtype=float))[0])


def _backgrounds(image: np.ndarray, background) -> np.ndarray:
    """(K, H, W, 3) background images for one image (H, W, 3)."""
    b = background
    if isinstance(b, np.ndarray) and b.ndim == 4 and b.shape[1:] == image.shape:
        return postprocess.substitute(b, b)        # a set of K images: checked as is
    return postprocess.substitute(image[None], b)


def _anchor_image():
    """alibi's ``AnchorImage``, first imported on a thread of its own.

    On import, alibi keeps the exception of every optional dependency it misses (ray,
    ...), and with its traceback every frame that was on the stack: imported from inside
    :func:`anchors`, those frames hold the model, which then lives as long as the
    process. A new thread's stack holds nothing of the caller's.
    """
    if "alibi.explainers" not in sys.modules:
        thread = threading.Thread(target=importlib.import_module, args=("alibi.explainers",))
        thread.start()
        thread.join()
    from alibi.explainers import AnchorImage     # raises here if the import failed
    return AnchorImage


def _explain(model, image, target, *, threshold, delta, tau, segmentation, backgrounds, seed,
             batch_size) -> AnchorResult:
    AnchorImage = _anchor_image()

    def predictor(batch):
        probs = primitives.scores(model, batch, score="probability", batch_size=batch_size)
        return np.argmax(probs, axis=1)

    state = np.random.get_state()         # alibi seeds numpy's global generator
    try:
        explainer = AnchorImage(predictor, image.shape, segmentation_fn=segmentation_function(
            segmentation, ALIBI_SEGMENTATION), images_background=backgrounds, seed=seed)
        raw = explainer.explain(image, threshold=threshold, delta=delta, tau=tau)
    finally:
        np.random.set_state(state)
    label = int(np.ravel(raw.data["raw"]["prediction"])[0])
    if label != target:                    # cannot happen: checked before
        raise RuntimeError(f"alibi explained class {label}, expected {target}")
    segments = np.asarray(raw.data["segments"])
    superpixels = tuple(int(f) for f in raw.data["raw"]["feature"])
    return AnchorResult(
        target=int(target), map=np.isin(segments, superpixels).astype(np.float32),
        superpixels=superpixels, precision=_as_float(raw.data["precision"]),
        coverage=_as_float(raw.data["coverage"]), segments=segments, threshold=threshold,
        backgrounds=backgrounds, raw=raw)


@attribution(sources=_SOURCES, checks=_CHECKS, register=False, decision_only=True)
def anchor_explanations(model, images, targets, *, threshold=0.95, delta=0.1, tau=0.15,
                        segmentation="slic", background="mean", seed=0, batch_size=64):
    """The anchor of each image for the model's decision: a list of :class:`AnchorResult`
    (map, superpixels, precision and coverage as floats, segments, ``empty``).

    An anchor is defined for the predicted class only (its precision is
    P(f(z) = f(x) | anchor), Ribeiro et al. 2018): other targets are refused.
    ``background``: what hidden superpixels become (the module docstring): a fill, one
    substitute image per image (N, H, W, 3), or K background images (K, H, W, 3), K not N,
    that alibi draws from for every image.
    """
    per_image = isinstance(background, np.ndarray) and background.ndim == 4 \
        and len(background) == len(images)
    return [_explain(model, image, int(t), threshold=threshold, delta=delta, tau=tau,
                     segmentation=segmentation, seed=seed, batch_size=batch_size,
                     backgrounds=_backgrounds(image, background[i] if per_image else background))
            for i, (image, t) in enumerate(zip(images, targets))]


def anchor_explanation(model, image, target=None, **params) -> AnchorResult:
    """The anchor of one image (H, W, 3) for the model's decision (see
    :func:`anchor_explanations` for the parameters)."""
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"image must be one image of rank 3 (H, W, 3), got shape {image.shape}"
                         + (" (a batch? use anchor_explanations() or pass images[i])"
                            if image.ndim == 4 else ""))
    return anchor_explanations(model, image[None], None if target is None else [target],
                               **params)[0]


@attribution(sources=_SOURCES, checks=_CHECKS, decision_only=True)
def anchors(model, images, targets, *, threshold=0.95, delta=0.1, tau=0.15,
            segmentation="slic", background="mean", seed=0, batch_size=64):
    """Anchor maps (N, H, W), float32: 1 on each image's anchor, 0 elsewhere (an empty
    anchor gives a map of zeros), for the predicted class (other targets are refused)."""
    return np.stack([r.map for r in anchor_explanations.unchecked(
        model, images, targets, threshold=threshold, delta=delta, tau=tau,
        segmentation=segmentation, background=background, seed=seed, batch_size=batch_size)])


__all__ = ["ALIBI_SEGMENTATION", "AnchorResult", "anchor_explanation", "anchor_explanations",
           "anchors", "check_threshold"]
