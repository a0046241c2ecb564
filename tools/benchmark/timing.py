"""The one copy of the benchmarks' timing helpers.

Every ratio the benchmarks print compares two timings taken side by side in one run
(:func:`paired`), so it means something even on a busy or slow machine: the book's
machine is a shared 2-core CPU whose load drifts.
"""

from __future__ import annotations

import os
import time

import numpy as np


def timed(fn):
    """Call ``fn()``: (seconds it took, what it returned)."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def seconds(fn) -> float:
    """Seconds one call of ``fn()`` takes."""
    return timed(fn)[0]


def median_ms(fn, repeats: int) -> float:
    """Median milliseconds of ``repeats`` calls of ``fn()``, after one warm-up call (tracing)."""
    fn()
    return 1000 * float(np.median([seconds(fn) for _ in range(repeats)]))


def paired(fn, reference, repeats: int, warm_up=None) -> tuple[float, float, float]:
    """Time ``fn`` and ``reference`` in alternation, after calling each of ``warm_up``
    (default: both once): median seconds of each, and the median of their per-pair ratios.

    Interleaving makes the ratio robust to the slow drifts in load of a shared machine:
    each ratio compares two timings taken seconds apart.
    """
    for call in (fn, reference) if warm_up is None else warm_up:
        call()
    a, b = np.array([(seconds(fn), seconds(reference)) for _ in range(repeats)]).T
    return float(np.median(a)), float(np.median(b)), float(np.median(a / b))


def verdict(value: float, target: float, *, at_least: bool = False) -> str:
    """``(target <= 1.3): met`` or ``NOT met`` (``at_least``: the target is a minimum)."""
    ok = value >= target if at_least else value <= target
    return f"(target {'>=' if at_least else '<='} {target:g}): {'met' if ok else 'NOT met'}"


def warn_if_busy(limit: float = 0.5) -> None:
    """Print a warning when the load per core is over ``limit``: the timings are noisy."""
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    if load > limit:
        print(f"warning: the machine is busy (load {load:.1f} per core): timings are noisy")
