"""What each scene's elements are worth to the model, measured by redrawing the scene.

A photograph cannot be redrawn without a lesion; a generated scene can. The model's
target logit on the scene drawn with a *coalition* of its elements (the rest removed,
the skin and lighting unchanged) is a cooperative game, and its Shapley values are each
element's fair share of the gap between the full scene and the empty skin
(Shapley 1953; the same game Lundberg & Lee 2017 play on features):

* :func:`shapley_values` estimates them for any game: exactly by enumeration for a few
  players, else by sampling permutations in antithetic pairs (each permutation and its
  reverse; Mitchell et al. 2022), with a standard error and a split-half agreement;
* :func:`scene_game` is the game of one scene: coalitions rendered and scored in one
  batch, each coalition once;
* :func:`removal_curve` and :func:`curve_area` score an order of removing elements
  (most relevant first, least relevant first) on the normalised logit, where 1 is the
  full scene and 0 the empty skin: every image on the way is a scene the generator could
  have drawn, so no fill falls outside the training distribution;
* :func:`scene_truth` puts it together for one image: the Shapley values, the single-
  removal drops, and the curves of the oracle order and of a random order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import combinations

import numpy as np

PERMUTATIONS = 32
"""Permutations sampled per scene (16 antithetic pairs). The scorecard states the
split-half agreement of the estimates this gives (:func:`shapley_values`)."""
EXACT_UP_TO = 7
"""Scenes with at most this many elements get exact Shapley values (2**7 = 128 coalitions,
about what 32 permutations cost at 4 elements)."""
MIN_GAP = 1.0
"""The normalised logit divides by the full-versus-empty gap; an image whose gap is
smaller than this (logits) has no normalised curve (NaN): its elements barely move the
target, and the ratio would be noise."""

Game = Callable[[Sequence[frozenset]], np.ndarray]
"""A cooperative game: coalitions (frozensets of player indices) -> their values."""


def antithetic_permutations(k: int, n: int, seed: int) -> np.ndarray:
    """``n`` permutations of ``range(k)`` in antithetic pairs: each one then its reverse."""
    if n < 2 or n % 2:
        raise ValueError(f"the number of permutations must be even and >= 2, got {n}")
    rng = np.random.default_rng(seed)
    half = np.stack([rng.permutation(k) for _ in range(n // 2)])
    return np.stack([half, half[:, ::-1]], axis=1).reshape(n, k)


def _evaluate(game: Game, coalitions) -> dict[frozenset, float]:
    unique = list(dict.fromkeys(coalitions))
    if not unique:
        return {}
    return dict(zip(unique, np.asarray(game(unique), np.float64).tolist()))


def shapley_values(game: Game, k: int, *, permutations: int = PERMUTATIONS,
                   exact_up_to: int = EXACT_UP_TO, seed: int = 0) -> dict:
    """Shapley values of a ``k``-player game.

    Exact (every coalition) when ``k <= exact_up_to``; otherwise estimated from
    ``permutations`` random orders in antithetic pairs: each order adds the players one
    by one, and each player is credited with the change in value when it joins. Every
    order's credits add up to v(all) - v(none), so the estimates are efficient exactly.

    Returns a dict:
        values (k,): the Shapley values; ``stderr`` (k,): their standard errors (0 when
        exact), from the spread of the pairs' means; ``split_half``: Spearman's rank
        correlation between the estimates from the first and second halves of the pairs
        (1.0 when exact; NaN below 3 players); ``exact``: bool; ``evaluations``: distinct
        coalitions evaluated; ``full``, ``empty``: v(all), v(none); ``by_size`` (k+1,):
        the mean value of a random coalition of each size 0..k (the curve of a random
        order of removal, read backwards); ``value``: coalition -> value, every
        coalition evaluated.
    """
    from scipy import stats
    everyone = frozenset(range(k))
    if k <= exact_up_to:
        table = _evaluate(game, [frozenset(c) for s in range(k + 1)
                                 for c in combinations(range(k), s)])
        values = np.zeros(k)
        for coalition, v in table.items():
            s = len(coalition)
            for i in range(k):
                if i not in coalition:
                    weight = math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k)
                    values[i] += weight * (table[coalition | {i}] - v)
        by_size = np.array([np.mean([v for c, v in table.items() if len(c) == s])
                            for s in range(k + 1)])
        return dict(values=values, stderr=np.zeros(k), split_half=1.0 if k >= 3 else np.nan,
                    exact=True, evaluations=len(table), full=table[everyone],
                    empty=table[frozenset()], by_size=by_size, value=table)
    orders = antithetic_permutations(k, permutations, seed)
    prefixes = [[frozenset(order[:j]) for j in range(k + 1)] for order in orders]
    table = _evaluate(game, [c for p in prefixes for c in p])
    credit = np.zeros((len(orders), k))
    curve = np.zeros((len(orders), k + 1))
    for r, (order, prefix) in enumerate(zip(orders, prefixes)):
        v = np.array([table[c] for c in prefix])
        credit[r, order] = np.diff(v)
        curve[r] = v
    pairs = credit.reshape(-1, 2, k).mean(axis=1)
    half = len(pairs) // 2
    split = (stats.spearmanr(pairs[:half].mean(0), pairs[half:].mean(0)).statistic
             if k >= 3 and half >= 1 else np.nan)
    return dict(values=credit.mean(axis=0),
                stderr=pairs.std(axis=0, ddof=1) / np.sqrt(len(pairs)),
                split_half=float(split), exact=False, evaluations=len(table),
                full=table[everyone], empty=table[frozenset()], by_size=curve.mean(axis=0),
                value=table)


def scene_game(model, scene, target: int, *, batch_size: int = 64) -> Game:
    """The game of one scene, whose players are its visible elements
    (``scene.visible``; player ``j`` is element ``scene.visible[j]``): a coalition of
    players -> the model's ``target`` logit on the scene redrawn with only those elements
    (the rest removed)."""
    from shared import data, methods
    players = scene.visible

    def game(coalitions):
        scenes = [scene.only(*sorted(players[j] for j in c)) if c else scene.empty()
                  for c in coalitions]
        images = data.render_many(scenes).images
        return methods.scores(model, images, int(target), score="logit",
                              batch_size=batch_size)
    return game


def removal_curve(value: Callable[[frozenset], float], k: int, order) -> np.ndarray:
    """The value as elements are removed in ``order`` (k+1 points: all of them, ..., none)."""
    order = [int(i) for i in order]
    if sorted(order) != list(range(k)):
        raise ValueError(f"order must be a permutation of range({k}), got {order}")
    return np.array([value(frozenset(order[j:])) for j in range(k + 1)])


def normalised(curve, full: float, empty: float) -> np.ndarray:
    """A logit curve on the scale where the full scene is 1 and the empty skin 0 (NaN when
    the gap is below :data:`MIN_GAP`)."""
    gap = full - empty
    if not gap >= MIN_GAP:
        return np.full(np.shape(curve), np.nan)
    return (np.asarray(curve, np.float64) - empty) / gap


def curve_area(curve) -> float:
    """Trapezoidal area under a curve whose points are equally spaced on [0, 1]."""
    c = np.asarray(curve, np.float64)
    if len(c) < 2:
        return np.nan
    return float((c[1:] + c[:-1]).sum() / (2 * (len(c) - 1)))


def order_by(weights, most_first: bool = True, seed: int = 0) -> np.ndarray:
    """Element indices by ``weights``, largest first (or smallest first); ties in a
    seeded random order, so equal weights do not fall back on the drawing order."""
    w = np.asarray(weights, np.float64)
    key = np.random.default_rng(seed).random(len(w))
    return np.lexsort((key, -w if most_first else w))


def scene_truth(model, scene, target: int, *, permutations: int = PERMUTATIONS,
                seed: int = 0, batch_size: int = 64) -> dict:
    """Everything the scorecard knows about one image's elements, by redrawing it.

    The players are the visible elements, ``elements`` (their indices in the scene; the
    instance map labels element ``e`` with ``e + 1``).

    Returns lists (JSON-ready), one value per player: ``elements``, ``shapley``,
    ``shapley_stderr``, ``drop`` (the fall of the logit when the element alone is
    removed), ``area`` (its visible pixels), ``kind``; and numbers:
    ``logit``, ``logit_empty``, ``exact``, ``evaluations``, ``split_half``, the oracle's
    removal areas ``oracle_morf`` (most important first, by Shapley value) and
    ``oracle_lerf`` (least important first) and those of a random order,
    ``random_order`` (expected over orders), all on the normalised logit.
    """
    players = list(scene.visible)
    k = len(players)
    game = scene_game(model, scene, target, batch_size=batch_size)
    found = shapley_values(game, k, permutations=permutations, seed=seed)
    table = found["value"]
    everyone = frozenset(range(k))
    extra = [everyone - {i} for i in range(k)]
    phi = found["values"]
    morf, lerf = order_by(phi, True, seed), order_by(phi, False, seed)
    extra += [frozenset(o[j:].tolist()) for o in (morf, lerf) for j in range(k + 1)]
    table.update(_evaluate(game, [c for c in extra if c not in table]))
    full, empty = found["full"], found["empty"]

    def area(order):
        return curve_area(normalised(removal_curve(table.__getitem__, k, order), full, empty))
    random = curve_area(normalised(found["by_size"][::-1], full, empty))
    pixels = np.bincount(scene.render().instances.ravel(), minlength=len(scene.elements) + 1)
    return dict(elements=players, kind=[scene.elements[e].kind for e in players],
                shapley=phi.tolist(), shapley_stderr=found["stderr"].tolist(),
                drop=[full - table[everyone - {i}] for i in range(k)],
                area=[int(pixels[e + 1]) for e in players], logit=full, logit_empty=empty,
                exact=found["exact"], evaluations=found["evaluations"],
                split_half=found["split_half"], oracle_morf=area(morf) if k else np.nan,
                oracle_lerf=area(lerf) if k else np.nan, random_order=random if k else np.nan)
