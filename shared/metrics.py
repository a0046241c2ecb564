"""Numbers for explanations measured against the ground-truth lesion masks."""

from __future__ import annotations

import numpy as np


def _check(maps: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    maps, masks = np.asarray(maps), np.asarray(masks, bool)
    if maps.ndim != 3 or maps.shape != masks.shape:
        raise ValueError(f"maps and masks must both be (N, H, W) with equal shapes, "
                         f"got {maps.shape} and {masks.shape}")
    return maps, masks


def _within(masks: np.ndarray, tolerance: float) -> np.ndarray:
    """The masks grown by ``tolerance`` pixels (Euclidean distance)."""
    if tolerance <= 0:
        return masks
    from scipy import ndimage
    return np.stack([ndimage.distance_transform_edt(~m) <= tolerance for m in masks])


def pointing_game(maps: np.ndarray, masks: np.ndarray, tolerance: float = 0) -> np.ndarray:
    """For each map, whether its peak (argmax pixel) lies inside the mask (Zhang et al. 2018).

    ``tolerance``: count a peak within this many pixels of the mask as a hit (Zhang et
    al. use 15 px); 0 (the default) is the strict game. Returns a bool array (N,).
    Images with an empty mask (healthy skin) cannot be scored: leave them out before
    calling (a ValueError names them otherwise). A map with several tied maxima counts
    the first in row-major order, so a constant map (no information) is judged by the
    top-left pixel, not rewarded.
    """
    maps, masks = _check(maps, masks)
    empty = np.flatnonzero(~masks.any(axis=(1, 2)))
    if len(empty):
        raise ValueError(f"images {empty.tolist()} have an empty mask: the pointing game "
                         "needs a lesion to point at (drop healthy images first)")
    flat = maps.reshape(len(maps), -1).argmax(1)
    return _within(masks, tolerance).reshape(len(masks), -1)[np.arange(len(masks)), flat]


def random_pointing_baseline(masks: np.ndarray, tolerance: float = 0) -> float:
    """Expected pointing-game hit rate of a uniformly random pixel: the mean area of the
    masks (grown by ``tolerance`` pixels)."""
    return float(_within(np.asarray(masks, bool), tolerance).mean(axis=(1, 2)).mean())


def peak_distances(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Distance in pixels from each map's peak to the nearest mask pixel (0 = a hit)."""
    from scipy import ndimage
    maps, masks = _check(maps, masks)
    flat = maps.reshape(len(maps), -1).argmax(1)
    return np.array([ndimage.distance_transform_edt(~m).ravel()[f] for m, f in zip(masks, flat)])


def peaks_at_border(maps: np.ndarray, width: int = 4) -> np.ndarray:
    """Whether each map's peak lies within ``width`` pixels of the image border."""
    maps = np.asarray(maps)
    h, w = maps.shape[1:3]
    y, x = np.unravel_index(maps.reshape(len(maps), -1).argmax(1), (h, w))
    return np.minimum.reduce([y, x, h - 1 - y, w - 1 - x]) < width


def hit_rates_by_class(hits: np.ndarray, labels: np.ndarray, class_names) -> dict:
    """Mean hit rate per class (classes without scored images are left out)."""
    return {c: float(hits[labels == k].mean()) for k, c in enumerate(class_names)
            if (labels == k).any()}


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two maps (1: same pixel order); 0 if one is constant."""
    from scipy import stats
    a, b = np.asarray(a), np.asarray(b)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(stats.spearmanr(a.ravel(), b.ravel()).statistic)
