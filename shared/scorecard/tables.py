"""Reading the committed scorecard: per-image values, rows with intervals, paired tests.

* :func:`load` reads one entry's file (or the ground truth, ``"truth"``);
* :func:`per_image` gives the values image by image (long format, for any figure);
* :func:`scorecard` gives one row per entry (or per entry and class): each metric's
  mean with a 95 % interval (Wilson's for a column of hits and misses, a percentile
  bootstrap otherwise) and the number of images it used;
* :func:`chance` gives each metric's value for a map without information;
* :func:`versus_best` runs the paired tests: per metric, every method against the best
  one on the same images (Wilcoxon's signed-rank test, Holm's correction over the
  methods), marking the methods the data cannot tell from the best;
* :func:`compare` sets one entry against others (the controls, say), metric by metric,
  with paired bootstrap intervals and a verdict.
"""

from __future__ import annotations

import json

import numpy as np

from shared import metrics

from .measures import METRICS
from .run import RESULTS, SEED, entries


def load(name: str) -> dict:
    """The committed results of one entry, or ``"truth"`` (the ground truth)."""
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no committed scorecard results for {name!r} ({path}): run "
                                f"`python -m shared.scorecard {name}`")
    out = json.loads(path.read_text())
    if "per_image" in out:
        out["per_image"] = {k: np.array([np.nan if v is None else v for v in vals], np.float64)
                            for k, vals in out["per_image"].items()}
    return out


def available() -> list[str]:
    """Entries with committed results, in the scorecard's order."""
    return [n for n in entries() if (RESULTS / f"{n}.json").is_file()]


def _names(names) -> list[str]:
    names = available() if names is None else list(names)
    unknown = [n for n in names if n not in entries()]
    if unknown:
        raise ValueError(f"unknown scorecard entries {unknown}; entries: {list(entries())}")
    return names


def _keys(metrics_) -> list[str]:
    keys = list(METRICS) if metrics_ is None else list(metrics_)
    unknown = [k for k in keys if k not in METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; metrics: {list(METRICS)}")
    return keys


def per_image(names=None, metrics_=None):
    """Every value image by image: a long pandas DataFrame with columns ``entry``,
    ``index`` (the image's index in the test split), ``class`` and one per metric."""
    import pandas as pd

    from shared import data
    frames = []
    for name in _names(names):
        r = load(name)
        frame = pd.DataFrame({k: r["per_image"][k] for k in _keys(metrics_)})
        frame.insert(0, "class", [data.CLASS_NAMES[c] for c in r["labels"]])
        frame.insert(0, "index", r["indices"])
        frame.insert(0, "entry", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def interval(values, hits: bool = False) -> tuple[float, float, float, int]:
    """Mean, 95 % interval and n of one column's values (NaN left out): Wilson's interval
    for ``hits`` (a column of hits and misses) when every value is 0 or 1, else a
    percentile bootstrap."""
    v = np.asarray(values, np.float64)
    v = v[~np.isnan(v)]
    if hits and len(v) and np.isin(v, (0.0, 1.0)).all():
        low, high = metrics.wilson_ci(v.sum(), len(v))
        return float(v.mean()), low, high, len(v)
    return metrics.bootstrap_ci(v, seed=SEED)


def chance(by_class: bool = False):
    """Each metric's value for a map without information: a number for most, the mean
    area share of the masks for the pointing game and rank accuracy (per class with
    ``by_class``), NaN where no single value applies. A pandas Series (or DataFrame)."""
    import pandas as pd

    from shared import data
    truth = load("truth")
    labels = np.asarray(truth["labels"])
    groups = {None: np.ones(len(labels), bool)}
    if by_class:
        groups = {data.CLASS_NAMES[c]: labels == c for c in np.unique(labels)}
    rows = {}
    for group, keep in groups.items():
        row = {}
        for key, m in METRICS.items():
            if m.chance == "area":
                row[key] = float(np.mean([t["chance"][key] for t, k in
                                          zip(truth["images"], keep) if k]))
            else:
                row[key] = np.nan if m.chance is None else float(m.chance)
        rows[group] = row
    frame = pd.DataFrame(rows).T
    return frame.iloc[0] if not by_class else frame


def scorecard(names=None, *, by_class: bool = False, metrics_=None):
    """One row per entry (``by_class``: per entry and class): per metric
    ``(metric, "mean" | "low" | "high" | "n")``, then the cost per image (``ms``,
    ``passes``). :func:`format_scorecard` prints it."""
    import pandas as pd

    from shared import data
    keys = _keys(metrics_)
    rows, index = [], []
    for name in _names(names):
        r = load(name)
        labels = np.asarray(r["labels"])
        groups = [(None, np.ones(len(labels), bool))]
        if by_class:
            groups = [(data.CLASS_NAMES[c], labels == c) for c in np.unique(labels)]
        for group, keep in groups:
            row = {}
            for key in keys:
                mean, low, high, n = interval(r["per_image"][key][keep], METRICS[key].hits)
                row.update({(key, "mean"): mean, (key, "low"): low, (key, "high"): high,
                            (key, "n"): n})
            cost = r.get("cost", {})
            row[("ms", "")] = cost.get("ms_per_image", np.nan)
            row[("passes", "")] = (cost.get("forward_per_image", 0)
                                   + cost.get("backward_per_image", 0))
            rows.append(row)
            index.append(name if group is None else (name, group))
    frame = pd.DataFrame(rows)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index = (pd.MultiIndex.from_tuples(index, names=["entry", "class"]) if by_class
                   else pd.Index(index, name="entry"))
    return frame


def format_intervals(frame, digits: int = 2):
    """A frame with ``(column, statistic)`` columns, the statistics ``mean``, ``low`` and
    ``high`` (others, such as ``n``, left out), as text cells ``mean [low, high]``, one
    column per column; ``n/a`` where the mean is NaN. For the scorecard and the
    experiments' tables alike."""
    import pandas as pd
    out = pd.DataFrame(index=frame.index)
    for key in dict.fromkeys(k for k, _ in frame.columns):
        m, lo, hi = (frame[(key, s)].astype(float) for s in ("mean", "low", "high"))
        out[key] = ["n/a" if np.isnan(a) else f"{a:.{digits}f} [{b:.{digits}f}, {c:.{digits}f}]"
                    for a, b, c in zip(m, lo, hi)]
    return out


def format_scorecard(frame, digits: int = 2, with_chance: bool = False):
    """The scorecard as text cells: ``mean [low, high]`` per metric, cost rounded.
    ``with_chance``: a last row, ``chance``, with each metric's value for a map without
    information (:func:`chance`; empty where none applies)."""
    import pandas as pd
    keys = list(dict.fromkeys(k for k, _ in frame.columns if k in METRICS))
    out = format_intervals(frame[keys], digits)
    if ("ms", "") in frame.columns:
        out["ms/image"] = ["-" if np.isnan(v) or v == 0 else f"{v:.2g}"
                           for v in frame[("ms", "")]]
        out["passes/image"] = [f"{v:.0f}" for v in frame[("passes", "")]]
    if with_chance:
        if isinstance(out.index, pd.MultiIndex):
            raise ValueError("with_chance needs one row per entry (not by_class)")
        levels = chance()
        row = {k: "" if np.isnan(levels[k]) else f"{levels[k]:.{digits}f}" for k in keys}
        out.loc["chance"] = pd.Series(row).reindex(out.columns).fillna("")
    return out


def versus_best(names=None, metrics_=None, level: float = 0.05):
    """Per metric, the best method (by mean, controls left out) and every method
    compared with it on the images both have: the mean paired difference (method minus
    best, in the metric's better direction negative), Wilcoxon's signed-rank p-value,
    Holm-adjusted over the methods of that metric, and ``tied``: the adjusted p-value is
    at least ``level`` (the data cannot tell it from the best).

    Returns a long pandas DataFrame: ``metric, entry, best, difference, p, p_holm, tied``.
    """
    import pandas as pd
    from scipy import stats
    every = entries()
    names = [n for n in _names(names) if not every[n].is_control]
    values = {n: load(n)["per_image"] for n in names}
    rows = []
    for key in _keys(metrics_):
        sign = 1 if METRICS[key].higher_is_better else -1
        means = {n: np.nanmean(values[n][key]) if np.isfinite(values[n][key]).any()
                 else np.nan for n in names}
        ranked = [n for n in names if np.isfinite(means[n])]
        if not ranked:
            continue
        best = max(ranked, key=lambda n: sign * means[n])
        part = []
        for n in ranked:
            a, b = values[n][key], values[best][key]
            both = np.isfinite(a) & np.isfinite(b)
            d = a[both] - b[both]
            p = (1.0 if n == best or not np.any(d) else
                 float(stats.wilcoxon(d, zero_method="zsplit").pvalue))
            part.append(dict(metric=key, entry=n, best=best,
                             difference=float(d.mean()) if len(d) else np.nan, p=p))
        adjusted = metrics.holm([r["p"] for r in part])
        for r, q in zip(part, adjusted):
            r.update(p_holm=float(q), tied=bool(q >= level))
        rows += part
    return pd.DataFrame(rows, columns=["metric", "entry", "best", "difference", "p", "p_holm",
                                       "tied"])


def compare(name: str, others=("random", "redness"), metrics_=None):
    """``name`` against each of ``others`` on the same images: per metric, the mean of
    ``name``, and per other entry the mean paired difference (name minus other) with a
    bootstrap 95 % interval and a verdict: ``"better"`` or ``"worse"`` when the interval
    excludes 0 (in the metric's direction), ``""`` when the data cannot tell.

    Returns a pandas DataFrame indexed by metric, columns ``(name, "mean")`` and
    ``(other, "difference" | "low" | "high" | "verdict")``.
    """
    import pandas as pd
    keys = _keys(metrics_)
    mine = load(name)["per_image"]
    theirs = {o: load(o)["per_image"] for o in _names(others)}
    rows = []
    for key in keys:
        row = {(name, "mean"): float(np.nanmean(mine[key])) if np.isfinite(mine[key]).any()
               else np.nan}
        for other, values in theirs.items():
            m, low, high, _ = metrics.bootstrap_ci(mine[key] - values[key], seed=SEED)
            sign = 1 if low > 0 else -1 if high < 0 else 0
            sign = sign if METRICS[key].higher_is_better else -sign
            row.update({(other, "difference"): m, (other, "low"): low, (other, "high"): high,
                        (other, "verdict"): {1: "better", -1: "worse", 0: ""}[sign]})
        rows.append(row)
    frame = pd.DataFrame(rows, index=pd.Index(keys, name="metric"))
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


def format_comparison(frame, digits: int = 2):
    """:func:`compare` as text cells: the mean, then per other entry
    ``difference [low, high]`` and the verdict."""
    import pandas as pd
    out = pd.DataFrame(index=frame.index)
    for who, column in dict.fromkeys(frame.columns):
        if column == "mean":
            out[who] = ["n/a" if np.isnan(v) else f"{v:.{digits}f}" for v in frame[(who, "mean")]]
        elif column == "difference":
            m, lo, hi = (frame[(who, s)] for s in ("difference", "low", "high"))
            out[f"minus {who}"] = ["n/a" if np.isnan(a) else
                                   f"{a:+.{digits}f} [{b:+.{digits}f}, {c:+.{digits}f}]"
                                   for a, b, c in zip(m, lo, hi)]
            out[f"vs {who}"] = frame[(who, "verdict")]
    return out


def truth_of(ds) -> list[dict]:
    """The committed ground truth of each image of ``ds``, a set made by
    :func:`~shared.scorecard.run.evaluation_set` (any ``per_class`` up to
    :data:`~shared.scorecard.run.PER_CLASS`), in its order."""
    truth = load("truth")
    row = {k: j for j, k in enumerate(truth["indices"])}
    indices = ds.info.get("indices")
    if indices is None or len(indices) != len(ds):
        raise ValueError("ds must come from scorecard.evaluation_set (it has no test-split "
                         "indices)")
    missing = [k for k in indices if k not in row]
    if missing:
        raise ValueError(f"{len(missing)} images of ds have no committed ground truth "
                         f"(test-split indices {missing[:5]}...): the scorecard covers the "
                         f"first {len(truth['indices']) // 5} lesion images of each class")
    return [truth["images"][row[k]] for k in indices]


def measure(model, ds, maps, metrics_=None, **extra) -> dict:
    """The scorecard's metrics for maps of your own (a method at other parameters, a
    layer the scorecard does not use) on images of the evaluation set, explaining the
    predicted class as the scorecard does: ``{metric: values (N,)}``.

    ``extra``: what the sanity columns compare with, as in
    :class:`~shared.scorecard.measures.Evidence` (``randomized={"top": maps, "full":
    maps}``, ``second_seed=maps``, ``renoised=maps``); the columns without it are NaN.
    """
    from .measures import Evidence
    from .run import empty_scenes
    truth = truth_of(ds)
    maps = np.asarray(maps)
    if maps.shape != ds.images.shape[:3]:
        raise ValueError(f"maps must be (N, H, W) = {ds.images.shape[:3]}, got {maps.shape}")
    ev = Evidence(model, ds, ds.info["targets"], truth, maps, empty=empty_scenes(ds),
                  **extra)
    return {key: np.asarray(METRICS[key].compute(ev), np.float64) for key in _keys(metrics_)}


def mean_curves(names=None, mode: str = "deletion", by_class: bool = True):
    """The committed pixel deletion (or insertion) curves averaged over images, with a
    pointwise bootstrap 95 % band: a long pandas DataFrame with columns ``entry``,
    ``class`` (``"all"`` without ``by_class``), ``share`` (of pixels changed), ``mean``,
    ``low``, ``high``. The ``random`` entry's band is the reference a map must leave."""
    import pandas as pd

    from shared import data
    if mode not in ("deletion", "insertion"):
        raise ValueError(f"mode must be 'deletion' or 'insertion', got {mode!r}")
    rows = []
    rng = np.random.default_rng(SEED)
    for name in _names(names):
        r = load(name)
        curves = np.array([[np.nan if v is None else v for v in c] for c in r["curves"][mode]],
                          np.float64)
        labels = np.asarray(r["labels"])
        groups = ({data.CLASS_NAMES[c]: labels == c for c in np.unique(labels)} if by_class
                  else {"all": np.ones(len(labels), bool)})
        share = np.linspace(0, 1, curves.shape[1])
        for group, keep in groups.items():
            c = curves[keep]
            c = c[np.isfinite(c).all(axis=1)]
            boot = c[rng.integers(0, len(c), (1000, len(c)))].mean(axis=1)
            low, high = np.percentile(boot, [2.5, 97.5], axis=0)
            rows += [dict(entry=name, **{"class": group}, share=s, mean=m, low=lo, high=hi)
                     for s, m, lo, hi in zip(share, c.mean(axis=0), low, high)]
    return pd.DataFrame(rows)
