"""The top-level entry points: :func:`generate` (sample, then render) and
:func:`load_split` (the book's train, val and test splits)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .constants import (CLASS_NAMES, IMAGE_SIZE, SPLIT_SEEDS, SPLIT_SIZES, _check_marker,
                        _check_seed_and_size, class_index)
from .dataset import Dataset
from .rendering import render_many
from .sampling import sample_scene


def generate(
    n_per_class: int | Sequence[int],
    seed: int,
    *,
    size: int = IMAGE_SIZE,
    marker_class: str | int | None = None,
    marker_fraction: float = 0.0,
    marker_kind: str = "ink",
) -> Dataset:
    """Draw a deterministic synthetic dataset.

    Args:
        n_per_class: images per class, one int for all classes or one per class (in
            :data:`CLASS_NAMES` order), e.g. :data:`SEED_LIKE_COUNTS` for imbalance.
        seed: the split's seed. Image ``i`` of class ``c`` depends only on
            ``(seed, c, i)``: asking for more images extends a set without changing
            the images already in it.
        size: side length in pixels (at least 64).
        marker_class: plant a shortcut in this class (name or index): a small
            artificial marker that has nothing to do with the disease.
        marker_fraction: share of that class's images that get the marker.
        marker_kind: ``"ink"`` (a pen dot) or ``"ruler"`` (a ruler along one edge).

    Returns:
        A :class:`Dataset`, ordered by class, with masks, instance maps and scenes.
    """
    counts = _check_counts(n_per_class)
    _check_seed_and_size(seed, size)
    marker_label = None
    if marker_class is not None:
        marker_label = class_index(marker_class)
        _check_marker(marker_fraction, marker_kind)

    scenes = [sample_scene(seed, label, i, size=size,
                           marker_kind=marker_kind if label == marker_label else None,
                           marker_fraction=marker_fraction)
              for label, count in enumerate(counts) for i in range(count)]
    ds = render_many(scenes)
    ds.info = dict(seed=int(seed), size=int(size), n_per_class=list(map(int, counts)),
                   marker_class=None if marker_label is None else CLASS_NAMES[marker_label],
                   marker_fraction=float(marker_fraction) if marker_label is not None else 0.0,
                   marker_kind=marker_kind if marker_label is not None else None)
    return ds


def load_split(name: str, n_per_class: int | None = None, **options) -> Dataset:
    """One of the book's splits, ``"train"``, ``"val"`` or ``"test"``.

    ``n_per_class`` defaults to :data:`SPLIT_SIZES`; a smaller number gives the first
    images of the same split. Extra keyword options go to :func:`generate`.
    """
    if name not in SPLIT_SEEDS:
        raise ValueError(f"unknown split {name!r}; expected one of {sorted(SPLIT_SEEDS)}")
    n = SPLIT_SIZES[name] if n_per_class is None else n_per_class
    ds = generate(n, SPLIT_SEEDS[name], **options)
    ds.info["split"] = name
    return ds


def _check_counts(n_per_class) -> list[int]:
    if isinstance(n_per_class, (int, np.integer)):
        counts = [int(n_per_class)] * len(CLASS_NAMES)
    else:
        counts = [int(c) for c in n_per_class]
        if len(counts) != len(CLASS_NAMES):
            raise ValueError(f"n_per_class needs one count per class ({len(CLASS_NAMES)}), "
                             f"got {len(counts)}")
    if any(c < 0 for c in counts) or sum(counts) == 0:
        raise ValueError(f"n_per_class must be non-negative with at least one image, got {counts}")
    return counts
