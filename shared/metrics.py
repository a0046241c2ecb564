"""Numbers for explanations measured against the ground-truth lesion masks."""

from __future__ import annotations

import numpy as np


def _check(maps: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    maps, masks = np.asarray(maps), np.asarray(masks, bool)
    if maps.ndim != 3 or maps.shape != masks.shape:
        raise ValueError(f"maps and masks must both be (N, H, W) with equal shapes, "
                         f"got {maps.shape} and {masks.shape}")
    return maps, masks


def pointing_game(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """For each map, whether its peak (argmax pixel) lies inside the mask (Zhang et al. 2018).

    Returns a bool array (N,). Images with an empty mask (healthy skin) cannot be scored:
    leave them out before calling (a ValueError names them otherwise). A map with
    several tied maxima counts the first in row-major order, so a constant map (no
    information) is judged by the top-left pixel, not rewarded.
    """
    maps, masks = _check(maps, masks)
    empty = np.flatnonzero(~masks.any(axis=(1, 2)))
    if len(empty):
        raise ValueError(f"images {empty.tolist()} have an empty mask: the pointing game "
                         "needs a lesion to point at (drop healthy images first)")
    flat = maps.reshape(len(maps), -1).argmax(1)
    return masks.reshape(len(masks), -1)[np.arange(len(masks)), flat]


def random_pointing_baseline(masks: np.ndarray) -> float:
    """Expected pointing-game hit rate of a uniformly random pixel: the mean mask area."""
    return float(np.asarray(masks, bool).mean(axis=(1, 2)).mean())


def hit_rates_by_class(hits: np.ndarray, labels: np.ndarray, class_names) -> dict:
    """Mean hit rate per class (classes without scored images are left out)."""
    return {c: float(hits[labels == k].mean()) for k, c in enumerate(class_names)
            if (labels == k).any()}
