"""The scorecard's columns: each metric declared once, and what it is computed from.

A :class:`Metric` turns the :class:`Evidence` of one batch of images (the maps, the
scenes, their ground truth, the maps again on randomized models and on re-noised
images) into one value per image, NaN where it does not apply (an image with no
distractor has no lesion-versus-distractor value; the randomization columns are measured
on the first :data:`~shared.scorecard.run.SANITY_PER_CLASS` images of each class only).
:data:`METRICS` lists them in the scorecard's order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cached_property

import numpy as np

from shared import metrics

from . import groundtruth

STEPS = 28
"""Points along the pixel deletion and insertion curves after the start (8 rows of 224
pixels each). The benchmark compares the areas with those at 224 steps."""


@dataclasses.dataclass(frozen=True)
class Metric:
    """One column of the scorecard."""
    name: str
    group: str
    """``localisation``, ``faithfulness``, ``ground truth``, ``sanity`` or ``complexity``."""
    description: str
    higher_is_better: bool
    chance: float | str | None
    """The value of a map without information: a number, ``"area"`` (the mask's area
    share, per image), or ``None`` where no single value applies (a random map's sum over
    an element grows with the element's area, and larger elements matter more: compare
    the element columns with the ``elements`` control, whose sums *are* the areas)."""
    compute: Callable[["Evidence"], np.ndarray]
    hits: bool = False
    """One value per image is (mostly) a hit or a miss: the interval is Wilson's."""


class Evidence:
    """What the metrics of one batch are computed from. The costly parts (the
    perturbation curves, the redrawn removal curves) are computed on first use."""

    def __init__(self, model, data, targets, truth, maps, *, empty, randomized=None,
                 second_seed=None, renoised=None, steps: int = STEPS):
        self.model, self.data, self.truth = model, data, truth
        self.targets = np.asarray(targets, np.int32)
        self.maps = np.asarray(maps, np.float64)
        self.empty = empty
        """The batch's scenes re-rendered without their elements (the fill)."""
        self.randomized = randomized or {}
        """``{"top" | "full": maps}`` on randomized copies, when measured for this batch."""
        self.second_seed, self.renoised, self.steps = second_seed, renoised, steps

    def _missing(self) -> np.ndarray:
        return np.full(len(self.maps), np.nan)

    @cached_property
    def gaps(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.array([t["logit"] for t in self.truth]),
                np.array([t["logit_empty"] for t in self.truth]))

    def pixel_curves(self, mode: str) -> np.ndarray:
        """The normalised target logit (full scene 1, empty skin 0) as pixels are deleted
        or inserted in the map's order, the empty skin as fill: (N, steps + 1)."""
        key = f"_curves_{mode}"
        if key not in self.__dict__:
            raw = metrics.perturbation_curves(
                self.model, self.data.images, self.maps, self.targets, mode=mode,
                steps=self.steps, score="logit", fill=self.empty.images)
            full, empty = self.gaps
            self.__dict__[key] = np.stack([groundtruth.normalised(c, f, e)
                                           for c, f, e in zip(raw, full, empty)])
        return self.__dict__[key]

    def pixel_area(self, mode: str) -> np.ndarray:
        return np.array([groundtruth.curve_area(c) for c in self.pixel_curves(mode)])

    @cached_property
    def element_sums(self) -> list[np.ndarray]:
        """Per image, the map's sum over each element's visible pixels (signed)."""
        out = []
        for m, lab, t in zip(self.maps, self.data.instances, self.truth):
            sums = np.bincount(lab.ravel(), weights=m.ravel(),
                               minlength=int(lab.max()) + 1)
            out.append(np.array([sums[e + 1] if e + 1 < len(sums) else 0.0
                                 for e in t["elements"]]))
        return out

    @cached_property
    def removal_areas(self) -> dict[str, np.ndarray]:
        """Areas under the redrawn removal curves, elements removed in the order of the
        map's sums: ``morf`` (most relevant first) and ``lerf`` (least first)."""
        from shared import data, methods
        requests, where = [], []
        for i, (scene, t, sums) in enumerate(zip(self.data.scenes, self.truth,
                                                 self.element_sums)):
            players = t["elements"]
            for key, most in (("morf", True), ("lerf", False)):
                order = groundtruth.order_by(sums, most)
                for j in range(1, len(players)):   # the full and empty ends are known
                    requests.append((scene.only(*[players[p] for p in order[j:]]),
                                     self.targets[i]))
                where.append((i, key, len(players)))
        logits = (methods.scores(self.model, data.render_many([s for s, _ in requests]).images,
                                 np.array([t for _, t in requests], np.int32), score="logit")
                  if requests else np.zeros(0))
        out = {"morf": self._missing(), "lerf": self._missing()}
        at = 0
        for i, key, k in where:
            t = self.truth[i]
            inner = logits[at:at + k - 1] if k > 1 else np.zeros(0)
            at += max(k - 1, 0)
            if k == 0:
                continue
            curve = np.concatenate([[t["logit"]], inner, [t["logit_empty"]]])
            out[key][i] = groundtruth.curve_area(
                groundtruth.normalised(curve, t["logit"], t["logit_empty"]))
        return out

    def element_rank(self, key: str) -> np.ndarray:
        """Spearman's correlation between the map's element sums and ``truth[key]`` (NaN
        below 3 elements or where either is constant)."""
        from scipy import stats
        out = self._missing()
        for i, (sums, t) in enumerate(zip(self.element_sums, self.truth)):
            truth = np.asarray(t[key], np.float64)
            if len(truth) >= 3 and np.ptp(truth) > 0 and np.ptp(sums) > 0:
                out[i] = stats.spearmanr(sums, truth).statistic
        return out

    def agreement(self, other, absolute: bool = False, signed: bool = True) -> np.ndarray:
        """Spearman's correlation of each map with ``other`` (NaN when not measured);
        ``absolute``: of the maps' absolute values; ``signed=False``: its magnitude."""
        if other is None:
            return self._missing()
        a, b = (np.abs(self.maps), np.abs(other)) if absolute else (self.maps, other)
        rho = metrics.rank_correlation(a, b)
        return rho if signed else np.abs(rho)


def _random_order(ev: Evidence, key: str) -> np.ndarray:
    return np.array([t[key] for t in ev.truth], np.float64)


METRICS = {m.name: m for m in [
    Metric("pointing", "localisation",
           "pointing game: the share of the map's tied maxima that lie on a lesion "
           "(Zhang et al. 2018)", True, "area",
           lambda ev: metrics.pointing_game(ev.maps, ev.data.masks, ties="share"), hits=True),
    Metric("pointing_7px", "localisation",
           "pointing game with Zhang et al.'s 15 px tolerance scaled to 224 px (7 px)",
           True, "area",
           lambda ev: metrics.pointing_game(ev.maps, ev.data.masks, 7, ties="share"),
           hits=True),
    Metric("rank_accuracy", "localisation",
           "share of the K highest pixels on the lesions, K their area (Arras et al. 2022)",
           True, "area", lambda ev: metrics.rank_accuracy(ev.maps, ev.data.masks)),
    Metric("lesion_vs_distractor", "localisation",
           "probability that a lesion pixel outranks a red-distractor pixel",
           True, 0.5,
           lambda ev: metrics.outranks_distractors(ev.maps, ev.data.masks,
                                                   ev.data.distractor_masks)),
    Metric("deletion", "faithfulness",
           "pixel deletion, most relevant first, into the empty skin: area under the "
           "normalised logit, a random order's minus the map's", True, 0.0,
           lambda ev: _random_order(ev, "random_deletion") - ev.pixel_area("deletion")),
    Metric("insertion", "faithfulness",
           "pixel insertion, most relevant first, into the empty skin: area under the "
           "normalised logit, the map's minus a random order's", True, 0.0,
           lambda ev: ev.pixel_area("insertion") - _random_order(ev, "random_insertion")),
    Metric("rerender_morf", "faithfulness",
           "elements removed most relevant first, scene redrawn each time: a random "
           "order's area minus the map's", True, None,
           lambda ev: _random_order(ev, "random_order") - ev.removal_areas["morf"]),
    Metric("rerender_lerf", "faithfulness",
           "elements removed least relevant first, scene redrawn each time: the map's "
           "area minus a random order's", True, None,
           lambda ev: ev.removal_areas["lerf"] - _random_order(ev, "random_order")),
    Metric("shapley_rank", "ground truth",
           "rank correlation of the map's sum on each element with the element's "
           "Shapley value", True, None, lambda ev: ev.element_rank("shapley")),
    Metric("drop_rank", "ground truth",
           "rank correlation of the map's sum on each element with the drop when it "
           "alone is removed", True, None, lambda ev: ev.element_rank("drop")),
    Metric("randomized_top", "sanity",
           "|rank correlation| with the map after re-initialising the logits layer "
           "(Adebayo et al. 2018)", False, None,
           lambda ev: ev.agreement(ev.randomized.get("top"), signed=False)),
    Metric("randomized_full", "sanity",
           "|rank correlation| with the map after re-initialising every layer",
           False, None, lambda ev: ev.agreement(ev.randomized.get("full"), signed=False)),
    Metric("randomized_top_abs", "sanity",
           "as randomized_top, on the maps' absolute values", False, None,
           lambda ev: ev.agreement(ev.randomized.get("top"), absolute=True, signed=False)),
    Metric("randomized_full_abs", "sanity",
           "as randomized_full, on the maps' absolute values", False, None,
           lambda ev: ev.agreement(ev.randomized.get("full"), absolute=True, signed=False)),
    Metric("seed_agreement", "sanity",
           "rank correlation with the same method under another seed, same model "
           "(the noise floor of a sampling method)", True, None,
           lambda ev: ev.agreement(ev.second_seed)),
    Metric("robustness", "sanity",
           "rank correlation with the map of the same scene redrawn with new sensor noise",
           True, None, lambda ev: ev.agreement(ev.renoised)),
    Metric("sparseness", "complexity",
           "Gini index of the map's absolute values (Chalasani et al. 2020)", True, 0.0,
           lambda ev: metrics.sparseness(ev.maps)),
]}
"""Every column of the scorecard in its order: name -> :class:`Metric`."""
