"""Defining a method: one decorator that checks, validates, resolves and registers.

A method is defined once with the :func:`attribution` decorator, which checks the
images, resolves the targets and validates every parameter *before* any work, and
registers the method in :data:`ATTRIBUTIONS`. Parameters share one vocabulary
(:data:`shared.methods.parameters.PARAMETERS`).
"""

from __future__ import annotations

import functools
import inspect
from typing import Callable

import numpy as np

from .graph import network
from .inputs import check_images
from .parameters import PARAMETERS, SOURCES
from .primitives import resolve_targets

ATTRIBUTIONS: dict[str, Callable] = {}
"""Method name -> ``f(model, images, targets=None, **params) -> (N, H, W)`` maps, in the
order the methods are defined. Filled by :func:`attribution`."""


def attribution(*, sources: dict[str, str] | None = None, checks: dict | None = None,
                register: bool = True, decision_only: bool = False):
    """Define an attribution method: check once, validate parameters, register.

    The decorated function ``body(model, images, targets, *, params...)`` receives
    images checked by :func:`shared.methods.check_images`, targets resolved by
    :func:`shared.methods.resolve_targets` (int32, one per image), every keyword
    parameter validated (by :data:`~shared.methods.parameters.PARAMETERS` or ``checks``)
    and ``layer`` resolved to a concrete name. The public method is called
    ``method(model, images, targets=None, **params)``.

    Args:
        sources: where each default comes from (parameter -> the paper, the library
            or our measurement); :func:`defaults` prints them. A parameter whose source is
            the same for every method (``batch_size``) gets it from
            :data:`shared.methods.parameters.SOURCES`.
        checks: checks for parameters outside the shared vocabulary (name -> check).
        register: add the method to :data:`ATTRIBUTIONS` (False for functions that
            return something else than (N, H, W) maps, or need a special model, as CAM).
        decision_only: the method explains the model's decision and nothing else (an
            anchor's precision is defined by the predicted class): targets other than
            the predicted classes are refused.

    The method keeps the unchecked body as ``method.unchecked``, for composite methods
    (Guided Grad-CAM multiplies two) that have already checked their inputs.
    """
    def define(body):
        signature = inspect.signature(body)
        params = {n: p.default for n, p in signature.parameters.items()
                  if p.kind is p.KEYWORD_ONLY}
        validators = {n: PARAMETERS[n] for n in params if n in PARAMETERS}
        validators.update(checks or {})

        @functools.wraps(body)
        def method(model, images, targets=None, **kwargs):
            unknown = sorted(set(kwargs) - set(params))
            if unknown:
                raise TypeError(f"{body.__name__}() got unknown parameter(s) {unknown}; its "
                                f"parameters are {list(params)}")
            values = {**params, **kwargs}
            for name, check in validators.items():
                values[name] = check(name, values[name])
            net = network(model)
            if "layer" in values:
                values["layer"] = net.layer(values["layer"])
            images = check_images(images, net)
            batch_size = values.get("batch_size", 64)
            asked = None if targets is None else resolve_targets(model, images, targets,
                                                                  batch_size)
            if decision_only or asked is None:
                targets = resolve_targets(model, images, None, batch_size)
                if asked is not None and (asked != targets).any():
                    i = int(np.flatnonzero(asked != targets)[0])
                    raise ValueError(f"{body.__name__} explains the model's decision: image {i} "
                                     f"is predicted as class {targets[i]}, not {asked[i]} "
                                     "(pass targets=None)")
            else:
                targets = asked
            return body(model, images, targets, **values)

        method.unchecked = body
        method.defaults = dict(params)
        method.sources = {**{n: s for n, s in SOURCES.items() if n in params},
                          **(sources or {})}
        method.decision_only = decision_only
        if register:
            ATTRIBUTIONS[body.__name__] = method
        return method
    return define


def defaults(method) -> list[tuple[str, object, str]]:
    """A method's parameters as (name, default, where the default comes from)."""
    method = ATTRIBUTIONS[method] if isinstance(method, str) else method
    return [(name, value, method.sources.get(name, ""))
            for name, value in method.defaults.items()]
