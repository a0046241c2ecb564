"""The parameter vocabulary: one name, one meaning, one check, across all methods.

A check is a function ``check(name, value) -> value`` that returns the value (converted,
e.g. a numpy int to an int) or raises a ``ValueError`` that names the parameter. The
:func:`shared.methods.registry.attribution` decorator runs the check of every keyword
parameter of a method before any work.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .postprocess import REDUCTIONS


def positive_int(name: str, value) -> int:
    """Check a count (``batch_size``, ``steps``, ``n_samples``, ...): an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def non_negative_int(name: str, value) -> int:
    """Check a seed or an index: an int >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


def non_negative(name: str, value) -> float:
    """Check a scale (``noise``, a kernel width, ...): a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def positive_number(name: str, value) -> float:
    """Check a width or a scale that must not be 0: a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def probability(name: str, value) -> float:
    """Check a probability strictly between 0 and 1 (RISE's keep probability, ...)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not 0 < value < 1:
        raise ValueError(f"{name} must be a number in the open interval (0, 1), got {value!r}")
    return float(value)


def boolean(name: str, value) -> bool:
    """Check a switch: True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def one_of(*choices: str) -> Callable:
    """A check that the value is one of ``choices``."""
    def check(name: str, value):
        if value not in choices:
            raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
        return value
    return check


def optional(check: Callable) -> Callable:
    """A check that lets ``None`` through and passes any other value to ``check``."""
    def check_optional(name: str, value):
        return None if value is None else check(name, value)
    return check_optional


SCORES = ("logit", "probability")
"""What a model's output means to a method: the pre-activation ``logit`` (white-box
methods differentiate it) or the ``probability`` the model outputs (the perturbation
methods LIME, RISE and anchors use it, as in their papers)."""

PARAMETERS: dict[str, Callable] = {
    "batch_size": positive_int,   # images per compiled call; changes speed, not results
    "steps": positive_int,        # points on a path (Integrated Gradients) or a curve
    "n_samples": positive_int,    # random samples (SmoothGrad noise, RISE masks, LIME)
    "seed": non_negative_int,     # every random draw derives from it
    "noise": non_negative,        # a standard deviation, as a fraction of the [0, 1] range
    "upsample": boolean,          # resize a layer's map to the input size
    "score": one_of(*SCORES),
    "reduce": one_of(*REDUCTIONS),   # colour channels -> one value (see postprocess)
}
"""The shared parameter vocabulary: name -> check. Two more names are shared but checked
where they are resolved: ``layer`` (a feature layer of the model, ``None`` for the last
one; checked against the model) and ``baseline`` (what "absent" means; checked against
the images)."""

SOURCES: dict[str, str] = {
    "batch_size": "speed only (results do not depend on it beyond float rounding)",
}
"""Where a shared parameter's default comes from when that is the same for every method
(a method's own ``sources`` can still say more); :func:`shared.methods.defaults` shows it
for every method that has the parameter."""
