"""Counterfactual explanations: the smallest change to an image that changes the decision.

An attribution map says where the model looked; a counterfactual says what would have
to be different for it to decide otherwise. Two kinds, both numpy in and out:

1. **Semantic counterfactuals** (:func:`scene_counterfactuals`). The book's images are
   drawn from scenes (:mod:`shared.data`), so an image can be changed the way a reader
   thinks about it, one element at a time, and re-rendered exactly, with nothing but
   that element's pixels changing. An **edit** is one of

   * ``"remove"``: hide one visible element (a lesion, a red distractor or the
     marker; :meth:`Scene.without <shared.data.Scene.without>`);
   * ``"stage"``: paint one pock lesion (chickenpox, monkeypox, smallpox: the
     :class:`~shared.data.Pock` elements) in another of the five stages, e.g. a pustule
     as a crust (:func:`restage`).

   A counterfactual is a set of edits, at most one per element, after which the model
   decides otherwise: with ``target=None``, any class but the scene's predicted class
   ``c0 = argmax z(x)``; with a target class ``t``, ``argmax z(x') = t``. The search
   is **exhaustive by size**: every set of one edit, then of two, ..., rendered and
   scored in batches, stopping at the first size that has solutions and returning
   *all* of them, so each is minimal (no smaller set of edits changes the decision)
   and none is left out. This is Martens & Provost's "evidence counterfactual"
   (2014, MIS Quarterly 38(1), "Explaining data-driven document classifications"): an
   irreducible set of removals that changes the class, here with re-rendering in place
   of deleting words or greying superpixels (Vermeire et al. 2022, "Explainable image
   classification with evidence counterfactual", Pattern Anal. Appl.).

   The number of edit sets of size ``k`` grows like ``n^k / k!``, so the exhaustive
   search may render at most ``limit`` edited scenes: before a size is started, its
   count is added up exactly (the ``k``-th elementary symmetric polynomial of the
   number of edits each element allows), and a size that would pass the limit is not
   started. The search then turns **greedy**, as Martens & Provost's SEDC and Goyal et
   al.'s sequential search do (2019, ICML, "Counterfactual visual explanations"): from
   no edits, add at each step the single edit that lowers the decision's margin most,

   * ``target=None``:   ``m(z) = z_c0 - max_{c != c0} z_c``,
   * target ``t``:      ``m(z) = max_{c != t} z_c - z_t``,

   (both positive while the decision has not changed) until the decision changes or
   ``max_edits`` edits are used. Every set that changes it at that step is returned.
   Such a result is marked ``minimal=False`` unless every smaller size was searched
   exhaustively before the cap (then it is minimal, but the list need not hold every
   minimal counterfactual: :attr:`Counterfactuals.capped` says so). The greedy steps
   render at most ``max_edits`` times the number of single edits; they do not count
   against ``limit``.

2. **Pixel counterfactuals** (:func:`pixel_counterfactual`; Wachter, Mittelstadt &
   Russell 2018, Harvard J. Law & Technology 31(2), "Counterfactual explanations
   without opening the black box: automated decisions and the GDPR"). The paper
   minimises ``lambda (f_t(x') - y')^2 + d(x, x')`` with the L1 distance
   ``d = sum_k |x_k - x'_k| / MAD_k``, which it chooses because it changes few
   features. Here::

       x* = argmin_{x' in [0, 1]^n}  CE_t(x') + weight * D(x', x),
       CE_t(x') = -log softmax(z(x'))_t = logsumexp(z(x')) - z_t(x'),
       D = sum_k |x'_k - x_k|  ("l1": the paper's distance, MAD_k = 1, as every value
           is a colour in [0, 1])  or  sum_k (x'_k - x_k)^2  ("l2", squared Euclidean).

   Choices:

   * **cross-entropy, not** ``(p_t - 1)^2``: the squared loss on a probability has the
     gradient ``2 (p_t - 1) dp_t/dx`` with ``dp_t/dz_t = p_t (1 - p_t)``, which vanishes
     when the model is sure of another class (``p_t`` near 0), exactly where a
     counterfactual starts; the cross-entropy's gradient in the logits is
     ``softmax(z) - onehot(t)``, bounded away from 0 until ``t`` is likely. The softmax
     is taken over the logits for every model (also a sigmoid one), since the decision
     is their argmax. The paper's outer loop, raising ``lambda`` until the target is
     reached, is replaced by stopping at the first step where ``t`` is predicted.
   * **proximal gradient steps** (ISTA; Beck & Teboulle 2009, SIAM J. Imaging Sci.
     2(1), "A fast iterative shrinkage-thresholding algorithm for linear inverse
     problems"; the recipe of Chen et al.'s elastic-net attack, AAAI 2018, "EAD"): a
     gradient step on the cross-entropy, then the exact proximal step of the distance
     on ``delta = x' - x``: soft-thresholding ``sign(delta) max(|delta| - lr weight, 0)``
     for L1, shrinking ``delta / (1 + 2 lr weight)`` for L2. Plain (sub)gradient steps
     on ``|delta|`` oscillate around 0 and leave every value slightly changed; the
     proximal step sets a value back to exactly ``x_k`` whenever its cross-entropy
     gradient stays below ``weight`` (the L1 optimality condition), so the L1 result
     is sparse and the changed pixels (:func:`changed_pixels`) mean something.
   * **clipping, not a tanh parametrisation** (Carlini & Wagner 2017): the box
     ``[0, 1]`` is separable, so projecting after the proximal step is the exact
     proximal step of "distance + box"; ``x = (tanh(w) + 1) / 2`` never reaches 0 or 1
     and its round trip does not give back ``x`` exactly, so no value would be
     exactly unchanged.
   * ``region`` (bool (H, W)): the cross-entropy's gradient is set to 0 outside it, so
     every pixel outside keeps its value exactly.

   ``weight`` trades the two terms: under L1 a value changes only where the
   cross-entropy's gradient exceeds it, so it is on the scale of the model's input
   gradients (for the book's checkpoint about 0.01-0.05 per value on average, up to a
   few units). The gradient steps use ``learning_rate`` as it is (no normalisation),
   so the step size depends on the model too. The defaults (``weight=0.1``,
   ``learning_rate=1e-3``) suit the checkpoint: on five test images, each sent to
   another class, L1 reached the target in 2-70 steps changing 4-39 % of the pixels
   (0.8-4 % by half an 8-bit level or more), L2 in 2-45 steps changing 99 %; no value
   moved by more than 0.1: an adversarial-sized change, not a new lesion. The result
   is deterministic (it starts at ``x' = x``; there is no seed).

3. :func:`changed_pixels`: which pixels a counterfactual changed, to compare with an
   attribution map.

Every function checks its arguments before any work, and before calling the model, with
a ``ValueError`` that names the problem.
"""

from __future__ import annotations

import dataclasses
import itertools
import numbers
from typing import Iterable, Sequence

import numpy as np
import tensorflow as tf

from . import data, methods
from .methods.passes import record_passes

EDIT_KINDS = ("remove", "stage")
"""The kinds of scene edits :func:`scene_counterfactuals` can search."""

POCK_STAGES = ("macule", "papule", "vesicle", "pustule", "crust")
"""The stages a :class:`~shared.data.Pock` lesion can be painted in (its ``shape``)."""

DISTANCES = ("l1", "l2")
"""The distances :func:`pixel_counterfactual` can penalise."""

# How the sampler paints each stage (shared.data.sampling._pocks): the opacity of the
# inflamed base and the colour of the centre, as functions of the skin tone. A macule's
# opacity is drawn per lesion (0.45-0.75); a lesion restaged as a macule keeps its own.
# tests/test_counterfactuals.py checks that restaging every pock of generated scenes to
# its own stage gives back the very same element, so these stay in step with the sampler.
_STAGE_ALPHA = {"crust": 0.5, "papule": 0.75, "vesicle": 0.75, "pustule": 0.75}


def _stage_centre(tone: np.ndarray, stage: str):
    centre = {"vesicle": lambda: 0.55 * tone + [0.42, 0.40, 0.38],
              "pustule": lambda: 0.3 * tone + [0.66, 0.60, 0.40],
              "crust": lambda: 0.35 * tone + [0.06, 0.03, 0.01]}.get(stage)
    return None if centre is None else tuple(float(v) for v in centre())


# --------------------------------------------------------------------------------------
# Edits
# --------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Edit:
    """One change to one scene element.

    Attributes:
        kind: ``"remove"`` or ``"stage"``.
        index: the element's index in ``scene.elements``.
        shape: the element's shape before the edit (``"pustule"``, ``"bite"``, ...).
        element: the element's kind (``"lesion"``, ``"distractor"``, ``"marker"``).
        stage: the new stage of a ``"stage"`` edit, ``None`` for a removal.

    ``str(edit)`` says it in words: ``"remove element 3 (pustule lesion)"``,
    ``"change element 3 (pustule lesion) to crust"``.
    """
    kind: str
    index: int
    shape: str
    element: str
    stage: str | None = None

    def __str__(self) -> str:
        what = f"element {self.index} ({self.shape} {self.element})"
        return f"remove {what}" if self.kind == "remove" else f"change {what} to {self.stage}"


def describe_edit(edit: Edit) -> str:
    """An edit in words, e.g. ``"remove element 3 (pustule lesion)"`` (``str(edit)``)."""
    if not isinstance(edit, Edit):
        raise ValueError(f"expected an Edit, got {type(edit).__name__}")
    return str(edit)


def _restaged(e, tone: np.ndarray, stage: str):
    centre = _stage_centre(tone, stage)
    return dataclasses.replace(e, shape=stage, centre=e.red if centre is None else centre,
                               red_alpha=_STAGE_ALPHA.get(stage, e.red_alpha))


def _check_scene_type(scene) -> None:
    if not isinstance(scene, data.Scene):
        raise ValueError(f"scene must be a shared.data.Scene (e.g. dataset.scene(0)), got "
                         f"{type(scene).__name__}")


def _element_index(scene, index) -> int:
    n = len(scene.elements)
    if isinstance(index, bool) or not isinstance(index, numbers.Integral) \
            or not 0 <= index < n:
        raise ValueError(f"element index {index!r} is not one of this scene's {n} elements "
                         f"(0..{n - 1})")
    return int(index)


def restage(scene, index: int, stage: str):
    """The scene with pock lesion ``index`` painted in another stage.

    The element's centre colour and the opacity of its inflamed base are set as the
    sampler sets them for that stage (from the scene's skin tone); its position, size,
    outline, depth and dimple stay (a dimple and depth show on raised stages only:
    papule, vesicle, pustule). A lesion made a macule keeps its base's opacity (the
    sampler draws a macule's between 0.45 and 0.75; every other stage's lies in that
    range). Only :class:`~shared.data.Pock` elements have stages: a cowpox eschar, a
    measles blotch, a distractor or a marker has one look only.
    """
    _check_scene_type(scene)
    k = _element_index(scene, index)
    e = scene.elements[k]
    if not isinstance(e, data.Pock):
        raise ValueError(f"element {k} is a {e.shape} {e.kind}: only pock lesions "
                         f"({', '.join(POCK_STAGES)}) have stages")
    if stage not in POCK_STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {POCK_STAGES}")
    elements = list(scene.elements)
    elements[k] = _restaged(e, np.asarray(scene.skin.tone, np.float64), stage)
    return dataclasses.replace(scene, elements=tuple(elements))


def _apply(scene, edits: Sequence[Edit]):
    """The scene after ``edits`` (checked by the caller)."""
    staged = [e for e in edits if e.kind == "stage"]
    if staged:
        tone = np.asarray(scene.skin.tone, np.float64)
        elements = list(scene.elements)
        for e in staged:
            elements[e.index] = _restaged(elements[e.index], tone, e.stage)
        scene = dataclasses.replace(scene, elements=tuple(elements))
    removed = [e.index for e in edits if e.kind == "remove"]
    return scene.without(*removed) if removed else scene


def apply_edits(scene, edits: Iterable[Edit]):
    """The scene after a set of edits (at most one per element, each on a visible one)."""
    _check_scene_type(scene)
    edits = tuple(edits)
    seen = set()
    for e in edits:
        if not isinstance(e, Edit):
            raise ValueError(f"edits must be Edit objects, got {type(e).__name__}")
        k = _element_index(scene, e.index)
        if k in scene.hidden:
            raise ValueError(f"element {k} is hidden in this scene: it cannot be edited")
        if k in seen:
            raise ValueError(f"element {k} is edited twice: at most one edit per element")
        seen.add(k)
        if e.kind == "stage":
            restage(scene, k, e.stage)          # checks the element and the stage
        elif e.kind != "remove":
            raise ValueError(f"unknown edit kind {e.kind!r}; expected one of {EDIT_KINDS}")
    return _apply(scene, edits)


def _options(scene, kinds: tuple[str, ...]) -> list[tuple[Edit, ...]]:
    """For each visible element that allows an edit, its edits (removal first, then the
    other stages in :data:`POCK_STAGES` order), in element order."""
    out = []
    for k in scene.visible:
        e = scene.elements[k]
        edits = []
        if "remove" in kinds:
            edits.append(Edit("remove", k, e.shape, e.kind))
        if "stage" in kinds and isinstance(e, data.Pock):
            edits += [Edit("stage", k, e.shape, e.kind, s) for s in POCK_STAGES if s != e.shape]
        if edits:
            out.append(tuple(edits))
    return out


def _count(options: list[tuple[Edit, ...]], k: int) -> int:
    """How many edit sets of size k: the k-th elementary symmetric polynomial of the
    numbers of edits per element (one edit per element at most)."""
    e = [1] + [0] * k
    for opts in options:
        for j in range(k, 0, -1):
            e[j] += e[j - 1] * len(opts)
    return e[k]


def _edit_sets(options, k: int):
    """Every edit set of size k, at most one edit per element, in a fixed order."""
    for group in itertools.combinations(options, k):
        yield from itertools.product(*group)


def _chunks(iterable, size: int):
    it = iter(iterable)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------

def _class_name(c: int, n_classes: int) -> str:
    return data.CLASS_NAMES[c] if n_classes == len(data.CLASS_NAMES) else f"class {c}"


@dataclasses.dataclass(frozen=True, eq=False)
class Counterfactual:
    """A set of scene edits that changes the model's decision.

    Attributes:
        edits: the :class:`Edit` objects, in element order.
        scene: the edited scene (render it with :func:`shared.data.render`).
        prediction: the class the model predicts for the edited scene.
        logits_before, logits_after: float32 (classes,), the model's logits for the
            scene and for the edited scene.
        minimal: True when every smaller set of edits was tried and none changed the
            decision (always, from the exhaustive search; from the greedy fallback only
            when the cap came after every smaller size).
    """
    edits: tuple
    scene: object
    prediction: int
    logits_before: np.ndarray
    logits_after: np.ndarray
    minimal: bool

    @property
    def original(self) -> int:
        """The class the model predicted before the edits."""
        return int(np.argmax(self.logits_before))

    @property
    def logit_change(self) -> np.ndarray:
        """``logits_after - logits_before``, float32 (classes,)."""
        return self.logits_after - self.logits_before

    def describe(self) -> str:
        """In words, e.g. ``"remove element 3 (blotch lesion): Measles -> Healthy"``."""
        n = len(self.logits_before)
        edits = "; ".join(map(str, self.edits))
        note = "" if self.minimal else " (not proven minimal)"
        return (f"{edits}: {_class_name(self.original, n)} -> "
                f"{_class_name(self.prediction, n)}{note}")


class Counterfactuals(list):
    """The list of :class:`Counterfactual` that :func:`scene_counterfactuals` returns,
    with how the search went.

    Attributes:
        prediction: the class the model predicts for the unedited scene.
        logits: float32 (classes,), its logits.
        target: the class asked for, or ``None`` (any other class).
        capped: True when ``limit`` stopped the exhaustive search and the greedy search
            took over: the list need not hold every minimal counterfactual, and an
            empty list proves nothing.
        searched: every edit set of up to this many edits was tried (0 when the cap
            came before the single edits). Without the cap and with no counterfactual,
            this is ``max_edits`` (or the number of editable elements) and the empty
            list is a proof that no such set changes the decision.
        evaluated: how many edited scenes were rendered and scored.
    """

    def __init__(self, items=(), *, prediction: int, logits: np.ndarray, target,
                 capped: bool, searched: int, evaluated: int):
        super().__init__(items)
        self.prediction = prediction
        self.logits = logits
        self.target = target
        self.capped = capped
        self.searched = searched
        self.evaluated = evaluated

    def describe(self) -> str:
        """One line per counterfactual, and a line on the search."""
        how = (f"exhaustive up to {self.searched} edit{'s' * (self.searched != 1)}"
               + (", then greedy (limit reached)" if self.capped else "")
               + f"; {self.evaluated} edited scenes scored")
        lines = [cf.describe() for cf in self] or ["no counterfactual found"]
        return "\n".join(lines + [how])


@dataclasses.dataclass(frozen=True, eq=False)
class PixelCounterfactual:
    """The result of :func:`pixel_counterfactual`.

    Attributes:
        image: float32 (H, W, 3) in [0, 1], the counterfactual image ``x'``.
        prediction: the class the model predicts for it.
        distance: ``D(x', x)``, the penalised distance (see ``metric``).
        steps_taken: the gradient steps made (0 when the target was already predicted).
        reached: whether the target class is predicted for ``image``.
        metric: ``"l1"`` (sum of absolute changes) or ``"l2"`` (sum of squared changes).
        target: the class asked for.
        logits: float32 (classes,), the model's logits for ``image``.
    """
    image: np.ndarray
    prediction: int
    distance: float
    steps_taken: int
    reached: bool
    metric: str = "l1"
    target: int = 0
    logits: np.ndarray | None = None


# --------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------

def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _non_negative(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _target(target, n_classes: int, allow_none: bool) -> int | None:
    """A class index of the model from an int, a class name or (if allowed) None."""
    if target is None:
        if allow_none:
            return None
        raise ValueError("target must be a class index or a class name, got None")
    if isinstance(target, str):
        c = data.class_index(target)                 # ValueError for an unknown name
        if c >= n_classes:
            raise ValueError(f"target class {target!r} is class {c}, but the model has only "
                             f"{n_classes} classes (0..{n_classes - 1})")
        return c
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise ValueError(f"target must be a class index or a class name, got {target!r}")
    if not 0 <= target < n_classes:
        raise ValueError(f"target class index {target} out of range: the model has "
                         f"{n_classes} classes (0..{n_classes - 1})")
    return int(target)


def _edit_kinds(edits) -> tuple[str, ...]:
    if isinstance(edits, str):
        edits = (edits,)
    try:
        kinds = tuple(edits)
    except TypeError:
        raise ValueError(f"edits must be a sequence of edit kinds from {EDIT_KINDS}, got "
                         f"{edits!r}") from None
    if not kinds:
        raise ValueError(f"edits is empty: name at least one of {EDIT_KINDS}")
    for kind in kinds:
        if kind not in EDIT_KINDS:
            raise ValueError(f"unknown edit kind {kind!r}; expected one of {EDIT_KINDS}")
    if len(set(kinds)) != len(kinds):
        raise ValueError(f"edits names a kind twice: {kinds}")
    return kinds


def _input_size(net) -> tuple:
    return tuple(net.input_shape[:2])


def _check_scene(scene, net) -> None:
    _check_scene_type(scene)
    h, w = _input_size(net)
    if (h is not None and h != scene.size) or (w is not None and w != scene.size):
        raise ValueError(f"the scene is {scene.size} x {scene.size} px, but the model takes "
                         f"{h} x {w} images (draw the scene at size={h})")


# --------------------------------------------------------------------------------------
# Semantic counterfactuals
# --------------------------------------------------------------------------------------

def _margin(z: np.ndarray, original: int, target: int | None) -> np.ndarray:
    """How far each row of logits is from a changed decision (> 0: not changed yet)."""
    z = np.asarray(z, np.float64)
    c = original if target is None else target
    others = np.delete(z, c, axis=-1).max(axis=-1)
    return z[:, c] - others if target is None else others - z[:, c]


def _changed(z: np.ndarray, original: int, target: int | None) -> np.ndarray:
    pred = np.argmax(z, axis=-1)
    return pred != original if target is None else pred == target


def scene_counterfactuals(model, scene, *, target=None, max_edits: int = 3,
                          edits=("remove",), batch_size: int = 64,
                          limit: int = 5000) -> Counterfactuals:
    """The smallest sets of scene edits that change the model's decision.

    Args:
        model: a Keras image classifier (see :func:`shared.methods.network`) that takes
            images of the scene's size.
        scene: a :class:`shared.data.Scene` (e.g. ``dataset.scene(i)``).
        target: ``None``: any class other than the scene's predicted class; a class
            index or name: that class must become the prediction.
        max_edits: the largest edit set tried.
        edits: the kinds of edits: ``"remove"`` (hide one visible element) and
            ``"stage"`` (paint a pock lesion in another stage, :func:`restage`).
        batch_size: edited scenes rendered and scored together.
        limit: the most edited scenes the exhaustive search may render (see the
            module's docstring: a size that would pass it is not started, and a greedy
            search takes over). Rendering a 224 px scene takes about 4 ms; on a busy
            2-core CPU the book's checkpoint scored about 40 edited scenes a second, so
            the default costs at most about two minutes there.

    Returns:
        A :class:`Counterfactuals` list: every minimal counterfactual, in the search's
        order (elements in index order, removal before stage changes), or, when the cap
        was hit, those the greedy search found (``minimal`` says whether each is proven
        minimal). Empty when no set of at most ``max_edits`` edits changes the decision.
        With a target the model already predicts, a ``ValueError`` (nothing to change).
    """
    max_edits = _positive_int("max_edits", max_edits)
    kinds = _edit_kinds(edits)
    batch_size = _positive_int("batch_size", batch_size)
    limit = _positive_int("limit", limit)
    net = methods.network(model)
    _check_scene(scene, net)
    target = _target(target, net.num_classes, allow_none=True)
    options = _options(scene, kinds)
    if not options:
        raise ValueError(f"the scene has no visible element that allows the edits {kinds}: "
                         f"nothing to change ({scene.summary()})")

    def evaluate(edit_sets: list) -> np.ndarray:
        images = data.render_many([_apply(scene, es) for es in edit_sets]).images
        return methods.scores(model, images, batch_size=batch_size)

    logits0 = methods.scores(model, data.render(scene).image[None])[0]
    original = int(np.argmax(logits0))
    if target is not None and original == target:
        raise ValueError(f"the model already predicts {_class_name(target, net.num_classes)} "
                         "for this scene: there is no decision to change")

    def result(sets, z, minimal, **how):
        items = [Counterfactual(tuple(sorted(es, key=lambda e: e.index)), _apply(scene, es),
                                int(np.argmax(zi)), logits0, zi, minimal)
                 for es, zi in zip(sets, z)]
        return Counterfactuals(items, prediction=original, logits=logits0, target=target, **how)

    largest = min(max_edits, len(options))
    evaluated, searched = 0, 0
    for k in range(1, largest + 1):
        if evaluated + _count(options, k) > limit:
            break
        found, found_z = [], []
        for chunk in _chunks(_edit_sets(options, k), batch_size):
            z = evaluate(chunk)
            evaluated += len(chunk)
            hit = _changed(z, original, target)
            found += [es for es, h in zip(chunk, hit) if h]
            found_z += list(z[hit])
        searched = k
        if found:
            return result(found, found_z, True, capped=False, searched=k, evaluated=evaluated)
    else:                                         # every size searched: no counterfactual
        return result([], [], True, capped=False, searched=searched, evaluated=evaluated)

    # The cap: greedy search from no edits, one edit more per step.
    path: tuple = ()
    for step in range(1, largest + 1):
        used = {e.index for e in path}
        candidates = [path + (e,) for opts in options if opts[0].index not in used
                      for e in opts]
        z = np.concatenate([evaluate(c) for c in _chunks(candidates, batch_size)])
        evaluated += len(candidates)
        hit = _changed(z, original, target)
        if hit.any():
            return result([c for c, h in zip(candidates, hit) if h], list(z[hit]),
                          step - 1 <= searched, capped=True, searched=searched,
                          evaluated=evaluated)
        path = candidates[int(np.argmin(_margin(z, original, target)))]
    return result([], [], False, capped=True, searched=searched, evaluated=evaluated)


# --------------------------------------------------------------------------------------
# Pixel counterfactuals
# --------------------------------------------------------------------------------------

def _cross_entropy_gradient_fn(net):
    """Compiled: (x, t) -> (logits, d CE_t / d x), cached on the network."""
    def build():
        logits_model = net.logits_model

        def fn(x, t):
            with tf.GradientTape() as tape:
                tape.watch(x)
                z = logits_model(x, training=False)
                loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(t, z))
            return z, tape.gradient(loss, x)   # images are independent: the sum is per image
        return tf.function(fn, input_signature=net.signature(True))
    return net.cached(("counterfactual_cross_entropy", None), build)


def _region(region, shape) -> np.ndarray | None:
    if region is None:
        return None
    r = np.asarray(region)
    if r.shape != tuple(shape):
        raise ValueError(f"region must be a bool (H, W) mask of the image's size {tuple(shape)}, "
                         f"got shape {r.shape}")
    if r.dtype != bool:
        raise ValueError(f"region must be a bool mask, got dtype {r.dtype}")
    if not r.any():
        raise ValueError("region selects no pixel: nothing could change")
    return r


def pixel_counterfactual(model, image, target, *, distance: str = "l1",
                         weight: float = 0.1, steps: int = 300, learning_rate: float = 1e-3,
                         region=None) -> PixelCounterfactual:
    """A nearby image that the model classifies as ``target`` (Wachter et al. 2018).

    Minimises ``CE_t(x') + weight * D(x', x)`` over ``x'`` in ``[0, 1]`` by proximal
    gradient steps from ``x' = x`` (see the module's docstring for the formula and the
    choices), stopping at the first iterate the model classifies as ``target``.

    Args:
        model: a Keras image classifier (see :func:`shared.methods.network`).
        image: float32 (H, W, 3) in [0, 1], one image.
        target: the class to reach, an index or a class name.
        distance: ``"l1"`` (sum of absolute changes: sparse) or ``"l2"`` (sum of
            squared changes: small and spread out).
        weight: the distance's weight, on the scale of the cross-entropy's gradient per
            value (under L1 a value changes only where that gradient exceeds it).
        steps: the most gradient steps.
        learning_rate: the gradient step size (no normalisation).
        region: optional bool (H, W): only these pixels may change.

    Returns:
        A :class:`PixelCounterfactual`; ``reached`` is False when ``steps`` ran out.
        Costs ``steps_taken + 1`` forward and backward passes (each step's gradient
        comes with the logits that decide whether to stop).
    """
    if distance not in DISTANCES:
        raise ValueError(f"distance must be one of {DISTANCES}, got {distance!r}")
    weight = _non_negative("weight", weight)
    steps = _positive_int("steps", steps)
    learning_rate = _positive("learning_rate", learning_rate)
    a = np.asarray(image)
    if a.ndim != 3:
        hint = " (a batch? pass one image, images[i])" if a.ndim == 4 else ""
        raise ValueError(f"image must be one image (H, W, 3), got shape {a.shape}{hint}")
    net = methods.network(model)
    x = methods.check_images(a[None], model)[0]
    t = _target(target, net.num_classes, allow_none=False)
    mask = _region(region, x.shape[:2])

    fn = _cross_entropy_gradient_fn(net)
    lr_weight = learning_rate * weight
    t_batch = tf.constant([t], tf.int32)
    current = x.copy()
    taken = 0
    while True:
        z, g = fn(tf.constant(current[None]), t_batch)
        record_passes(forward=1, backward=1)
        z = z.numpy()[0]
        if int(np.argmax(z)) == t or taken == steps:
            break
        g = g.numpy()[0]
        if mask is not None:
            g = g * mask[..., None]
        delta = current - learning_rate * g - x
        if distance == "l1":              # soft-thresholding: the proximal step of |.|
            delta = np.sign(delta) * np.maximum(np.abs(delta) - lr_weight, 0)
        else:                             # the proximal step of (.)^2
            delta = delta / (1 + 2 * lr_weight)
        current = np.clip(x + delta, 0, 1).astype(np.float32)
        taken += 1
    change = current.astype(np.float64) - x
    dist = float(np.abs(change).sum() if distance == "l1" else (change ** 2).sum())
    prediction = int(np.argmax(z))
    return PixelCounterfactual(current, prediction, dist, taken, prediction == t,
                               distance, t, z.astype(np.float32))


def changed_pixels(before, after, threshold: float = 0.0) -> np.ndarray:
    """Bool (H, W) (or (N, H, W) for batches): the pixels where some channel changed by
    more than ``threshold``, ``max_c |after - before| > threshold``.

    ``threshold=0`` counts every change; ``0.5 / 255`` ignores changes below half an
    8-bit level (a rendered scene's images hold 8-bit values).
    """
    b, a = np.asarray(before), np.asarray(after)
    if b.shape != a.shape:
        raise ValueError(f"before and after must have the same shape, got {b.shape} and "
                         f"{a.shape}")
    if b.ndim not in (3, 4) or b.shape[-1] != 3:
        raise ValueError(f"images must be (H, W, 3) or (N, H, W, 3), got shape {b.shape}")
    for name, v in (("before", b), ("after", a)):
        if not np.issubdtype(v.dtype, np.number) or not np.isfinite(v).all():
            raise ValueError(f"{name} must be finite numbers")
    threshold = _non_negative("threshold", threshold)
    return (np.abs(a.astype(np.float64) - b).max(axis=-1) > threshold)
