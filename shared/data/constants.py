"""Constants of the dataset, the class lookup and the argument checks shared by
:mod:`shared.data`'s modules. Every constant is defined here once and re-exported by
:mod:`shared.data`."""

from __future__ import annotations

import numpy as np

CLASS_NAMES: tuple[str, ...] = (
    "Chickenpox",
    "Cowpox",
    "Healthy",
    "Measles",
    "Monkeypox",
    "Smallpox",
)
"""The six classes, in label order."""

IMAGE_SIZE = 224
"""Default side length in pixels (the shared model's input is 224 x 224)."""

SPLIT_SEEDS = {"train": 1, "val": 2, "test": 3}
"""Seeds of the three splits. Each image's random stream is derived from
``(seed, class, index)``, so different seeds give disjoint, independent images."""

SPLIT_SIZES = {"train": 800, "val": 100, "test": 100}
"""Images per class in the splits used to train and evaluate the shared checkpoint."""

SEED_LIKE_COUNTS = (107, 69, 114, 91, 279, 58)
"""An imbalanced count per class, monkeypox-heavy like the small public pox datasets
the original write-up used. Pass it as ``n_per_class`` to study imbalance."""

MARKER_KINDS = ("ink", "ruler")
"""Shapes of the planted shortcut marker."""

ELEMENT_KINDS = ("lesion", "distractor", "marker")
"""The kinds of scene elements, in the order they appear in ``Scene.elements``."""

DISTRACTOR_SHAPES = ("bite", "scratch", "birthmark", "pressure")
"""The benign red marks that every class carries."""

_CLASS_LOOKUP = {c.lower(): i for i, c in enumerate(CLASS_NAMES)}


def _is_int(value) -> bool:
    """An int or numpy integer, but not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def class_index(name_or_index: str | int) -> int:
    """The label of a class given by name (case-insensitive) or index."""
    if _is_int(name_or_index):
        if 0 <= name_or_index < len(CLASS_NAMES):
            return int(name_or_index)
        raise ValueError(f"class index {name_or_index} out of range 0..{len(CLASS_NAMES) - 1}")
    if isinstance(name_or_index, str) and name_or_index.lower() in _CLASS_LOOKUP:
        return _CLASS_LOOKUP[name_or_index.lower()]
    raise ValueError(f"unknown class {name_or_index!r}; expected one of {list(CLASS_NAMES)}")


def _check_seed_and_size(seed, size) -> None:
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if not _is_int(size) or size < 64:
        raise ValueError(f"size must be an int >= 64, got {size!r}")


def _check_marker(fraction, kind) -> None:
    """Validate the shortcut-marker options of :func:`generate` and :func:`sample_scene`."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"marker_fraction must be in [0, 1], got {fraction}")
    if kind not in MARKER_KINDS:
        raise ValueError(f"marker_kind must be one of {MARKER_KINDS}, got {kind!r}")
