"""Figures of the scorecard, for the comparison of methods (and any chapter).

* :func:`forest`: one metric, every entry's mean with its 95 % interval, the controls as
  bands, the chance level as a line, the methods the paired tests cannot tell from the
  best in bold;
* :func:`mean_ranks` and :func:`critical_difference`: per-image ranks of the methods on
  one metric, the Friedman test, and Demšar's (2006) critical-difference diagram
  (Nemenyi's test: methods joined by a bar are not told apart);
* :func:`scatter`: two metrics against each other (or one against the cost), one point
  per method with both intervals;
* :func:`class_curves`: the pixel deletion or insertion curve per class, each method's
  mean against the random order's band.
"""

from __future__ import annotations

import numpy as np

from .measures import METRICS
from .run import entries
from .tables import _keys, _names, chance, load, mean_curves, scorecard, versus_best

CONTROL_STYLE = dict(color="0.5", alpha=0.18)


def _methods(names):
    every = entries()
    names = _names(names)
    return ([n for n in names if not every[n].is_control],
            [n for n in names if every[n].is_control])


def forest(metric: str, names=None, *, ax=None):
    """Means with 95 % intervals of one metric, best on top; the controls' intervals as
    grey bands, chance as a dotted line; methods tied with the best (Holm-corrected
    paired tests, :func:`~shared.scorecard.tables.versus_best`) in bold."""
    import matplotlib.pyplot as plt
    (key,) = _keys([metric])
    methods, controls = _methods(names)
    card = scorecard(methods + controls, metrics_=[key])
    sign = 1 if METRICS[key].higher_is_better else -1
    order = sorted(methods, key=lambda n: sign * card.loc[n, (key, "mean")])
    tied = set(versus_best(methods, [key]).query("tied").entry)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.3 * len(order) + 1.2))
    for control in controls:
        low, high = card.loc[control, (key, "low")], card.loc[control, (key, "high")]
        if np.isfinite(low):
            ax.axvspan(low, high, **CONTROL_STYLE)
            ax.text(card.loc[control, (key, "mean")], len(order) - 0.4, control,
                    rotation=90, va="top", ha="center", fontsize=7, color="0.35")
    level = chance()[key]
    if np.isfinite(level):
        ax.axvline(level, color="0.3", linestyle=":", linewidth=1)
    for y, name in enumerate(order):
        m, lo, hi = (card.loc[name, (key, s)] for s in ("mean", "low", "high"))
        ax.errorbar(m, y, xerr=[[m - lo], [hi - m]], fmt="o", color="C0", capsize=3)
    ax.set_yticks(range(len(order)), order)
    for label in ax.get_yticklabels():
        label.set_fontweight("bold" if label.get_text() in tied else "normal")
    better = "higher" if sign > 0 else "lower"
    ax.set_xlabel(f"{key} ({better} is better)")
    ax.set_ylim(-0.6, len(order) - 0.4)
    return ax


def mean_ranks(metric: str, names=None) -> dict:
    """Per-image ranks of the methods on one metric (1 = best; ties share their mean
    rank), on the images where every method has a value: ``{"ranks": {name: mean rank},
    "n": images, "friedman_p": p-value, "cd": Nemenyi's critical difference at 0.05}``."""
    from scipy import stats
    (key,) = _keys([metric])
    methods, _ = _methods(names)
    values = np.stack([load(n)["per_image"][key] for n in methods], axis=1)
    values = values[np.isfinite(values).all(axis=1)]
    sign = 1 if METRICS[key].higher_is_better else -1
    ranks = stats.rankdata(-sign * values, axis=1)
    n, k = values.shape
    p = stats.friedmanchisquare(*values.T).pvalue if k >= 3 else np.nan
    q = stats.studentized_range.ppf(0.95, k, np.inf) / np.sqrt(2)
    return dict(ranks=dict(zip(methods, ranks.mean(axis=0))), n=n, friedman_p=float(p),
                cd=float(q * np.sqrt(k * (k + 1) / (6 * n))))


def critical_difference(metric: str, names=None, *, ax=None):
    """Demšar's critical-difference diagram of :func:`mean_ranks`: the methods on an axis
    of mean rank (best on the left), a bar joining each group of methods whose mean ranks
    differ by less than the critical difference (Nemenyi's test at 0.05)."""
    import matplotlib.pyplot as plt
    found = mean_ranks(metric, names)
    ranks = sorted(found["ranks"].items(), key=lambda kv: kv[1])
    k, cd = len(ranks), found["cd"]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.28 * k + 1.4))
    ax.set_xlim(0.5, k + 0.5)
    ax.set_ylim(-(k // 2 + 2), 1.5)
    ax.axhline(0, color="black", linewidth=1)
    for r in range(1, k + 1):
        ax.plot([r, r], [0, 0.15], color="black", linewidth=1)
        ax.text(r, 0.3, str(r), ha="center", fontsize=8)
    half = (k + 1) // 2
    for i, (name, rank) in enumerate(ranks):
        left = i < half
        depth = -(i + 1) if left else -(k - i)
        x_text = 0.6 if left else k + 0.4
        ax.plot([rank, rank, x_text], [0, depth, depth], color="C0", linewidth=0.8)
        ax.text(x_text, depth, f"{name} ({rank:.1f})", ha="left" if left else "right",
                va="bottom", fontsize=8)
    groups, bar = [], -0.4
    for i in range(k):
        j = max(j for j in range(i, k) if ranks[j][1] - ranks[i][1] < cd)
        if j > i and not any(a <= i and j <= b for a, b in groups):
            groups.append((i, j))
    for a, b in groups:
        ax.plot([ranks[a][1] - 0.05, ranks[b][1] + 0.05], [bar, bar], color="C3", linewidth=3)
        bar -= 0.35
    ax.plot([1, 1 + cd], [1.0, 1.0], color="black", linewidth=2)
    ax.text(1 + cd / 2, 1.1, f"CD = {cd:.2f}", ha="center", fontsize=8)
    ax.axis("off")
    ax.set_title(f"{metric}: mean rank over {found['n']} images "
                 f"(Friedman p = {found['friedman_p']:.1g})", fontsize=9)
    return ax


def scatter(x: str, y: str, names=None, *, ax=None, log_x: bool = False,
            size: str | None = None):
    """One point per method, ``x`` against ``y`` (metric names, or ``"passes"`` for the
    forward and backward passes per image), each with its 95 % intervals. ``size``: a
    third metric drawn as the area of each point (its mean; a legend gives the scale)."""
    import matplotlib.pyplot as plt
    methods, _ = _methods(names)
    keys = [k for k in (x, y, size) if k not in ("passes", None)]
    card = scorecard(methods, metrics_=keys)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))

    def column(key):
        if key == "passes":
            v = card[("passes", "")].to_numpy(float)
            return v, v, v
        return tuple(card[(key, s)].to_numpy(float) for s in ("mean", "low", "high"))
    (xm, xl, xh), (ym, yl, yh) = column(x), column(y)
    ax.errorbar(xm, ym, xerr=[xm - xl, xh - xm], yerr=[ym - yl, yh - ym], fmt="none",
                ecolor="0.6", capsize=2, zorder=1)
    if size is None:
        ax.scatter(xm, ym, s=25, color="C0", zorder=2)
    else:
        scale = 400.0
        values = np.nan_to_num(column(size)[0], nan=0.0)
        ax.scatter(xm, ym, s=10 + scale * values, color="C0", alpha=0.6,
                   edgecolor="C0", zorder=2)
        for v in (0.2, 0.5, 1.0):
            ax.scatter([], [], s=10 + scale * v, color="C0", alpha=0.6,
                       label=f"{size} = {v:g}")
        ax.legend(fontsize=7, loc="best", labelspacing=1.2, borderpad=0.9)
    for name, a, b in zip(methods, xm, ym):
        ax.annotate(name, (a, b), textcoords="offset points", xytext=(4, 3), fontsize=7)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(_label(x))
    ax.set_ylabel(_label(y))
    return ax


def _label(key: str) -> str:
    if key == "passes":
        return "passes per image"
    return f"{key} ({'higher' if METRICS[key].higher_is_better else 'lower'} is better)"


def class_curves(names=None, mode: str = "deletion"):
    """The normalised logit as pixels are deleted (or inserted) into the bare skin, one
    panel per class: each method's mean curve, the random order's 95 % band in grey."""
    import matplotlib.pyplot as plt
    methods, _ = _methods(names)
    frame = mean_curves(methods + ["random"], mode)
    classes = list(dict.fromkeys(frame["class"]))
    fig, axes = plt.subplots(1, len(classes), figsize=(2.2 * len(classes), 2.4),
                             sharey=True)
    for ax, c in zip(np.atleast_1d(axes), classes):
        part = frame[frame["class"] == c]
        base = part[part.entry == "random"]
        ax.fill_between(base.share, base.low, base.high, **CONTROL_STYLE)
        for i, name in enumerate(methods):
            curve = part[part.entry == name]
            ax.plot(curve.share, curve["mean"], color=f"C{i % 10}", linewidth=1,
                    label=name)
        ax.set_title(c, fontsize=9)
        ax.set_xlabel(f"share of pixels {'deleted' if mode == 'deletion' else 'inserted'}")
    np.atleast_1d(axes)[0].set_ylabel("normalised logit")
    np.atleast_1d(axes)[-1].legend(fontsize=6, loc="best")
    fig.tight_layout()
    return fig
