"""Evaluate every method on the test split and keep the results: the book's scorecard.

    python -m shared.evaluate                 # what is missing: importance, then each method
    python -m shared.evaluate gradcam rise    # these (recomputed if --force)
    python -m shared.evaluate --list          # what is committed

For each registered attribution method and each control (:data:`shared.metrics.CONTROLS`),
on the first :data:`IMAGES_PER_CLASS` lesion images of each class of the test split,
explaining the predicted class with the method's default parameters, it records one
value per image of every metric in :data:`METRICS`, and the cost (milliseconds and
forward/backward passes per image). Each method's results go to its own file in
:data:`RESULTS` (committed with the package, so chapters and Colab read them), written
when the method is done: a run that stops loses no finished method.

``importance`` comes first: the ground-truth importance of every lesion and distractor
(the drop in the target logit when it alone is removed and the image re-rendered, and
the rise when it alone is kept), which the element metrics compare maps with.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import platform
import sys
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from shared import metrics

RESULTS = Path(__file__).parent / "results"
"""Where the committed results live (package data)."""
IMAGES_PER_CLASS = 20
"""Lesion images per class evaluated (the first ones of the test split): 100 in all."""
IMAGES_PER_CLASS_FOR = {"expected_gradients": 10, "occlusion": 4, "lime": 4,
                        "rise": 4, "anchors": 4}
"""Fewer images for the methods whose maps cost hundreds or thousands of passes each,
made twice (on the trained and on the randomized model): 50 for Expected Gradients, 20
for the perturbation methods (RISE makes 8000 forward passes per image at its
defaults). On two CPU cores the full 100 would take hours; the scorecard's ``n``
column and its wider intervals show the smaller sample."""
SEED = 0
BATCH = 10
"""Images per call of a method. A seeded method draws its noise per position in the batch
(SmoothGrad's sample s of image i depends on (seed, i, s)), so a recomputation must
place each image at the same position: the first image of a batch is always position 0."""
UNIMPORTANT = 0.1
"""An element whose removal moves the target logit by less than this does not matter
to the model (:func:`shared.metrics.unimportant_share`)."""


@dataclasses.dataclass(frozen=True)
class Batch:
    """What a metric is computed from: one batch of the evaluation set and its maps."""
    model: object
    """The trained model (the maps explain it)."""
    data: object
    """The batch of the evaluation set: images, masks, distractor masks, instances."""
    targets: np.ndarray
    """The class explained in each image (int32, (N,))."""
    maps: np.ndarray
    """The method's maps (N, H, W) on :attr:`model`."""
    randomized_maps: np.ndarray
    """The method's maps on a copy of :attr:`model` with its ``logits`` layer
    re-initialised (:func:`shared.randomization.randomized_copy`, seed :data:`SEED`)."""
    drops: list
    """Per image, each element's importance: the drop in the target logit when it alone
    is removed (``drop_when_removed`` of :func:`element_importance`)."""


@dataclasses.dataclass(frozen=True)
class Metric:
    """One column of the scorecard: what it measures, which way is better, and how one
    value per image is computed from a :class:`Batch`."""
    name: str
    description: str
    lower_is_better: bool
    compute: Callable[[Batch], np.ndarray]


METRICS = {m.name: m for m in [
    Metric("pointing", "strict pointing game: the map's peak on a lesion (1) or not (0)",
           False, lambda b: metrics.pointing_game(b.maps, b.data.masks)),
    Metric("pointing_7px", "pointing game with Zhang et al.'s 15 px tolerance scaled to 224 px",
           False, lambda b: metrics.pointing_game(b.maps, b.data.masks, 7)),
    Metric("energy", "share of positive attribution on the lesions",
           False, lambda b: metrics.energy(b.maps, b.data.masks)),
    Metric("distractors", "share of positive attribution on the red distractors",
           True, lambda b: metrics.energy(b.maps, b.data.distractor_masks)),
    Metric("deletion", "deletion AUC, probability",
           True, lambda b: metrics.deletion(b.model, b.data.images, b.maps, b.targets)),
    Metric("insertion", "insertion AUC, probability",
           False, lambda b: metrics.insertion(b.model, b.data.images, b.maps, b.targets)),
    Metric("randomized", "rank correlation with the map after randomizing the logits layer "
                         "(low: the map depends on the classifier)",
           True, lambda b: metrics.rank_correlation(b.maps, b.randomized_maps)),
    Metric("element_rank", "rank correlation between each element's attribution and its "
                           "measured importance",
           False, lambda b: metrics.element_rank_correlation(b.maps, b.data.instances, b.drops)),
    Metric("unimportant", "share of positive attribution on elements whose removal does not "
                          "change the score",
           True, lambda b: metrics.unimportant_share(b.maps, b.data.instances, b.drops,
                                                     UNIMPORTANT)),
]}
"""What the scorecard reports, one value per image, in its order: name -> :class:`Metric`,
the one place each metric is declared."""

LOWER_IS_BETTER = {name for name, m in METRICS.items() if m.lower_is_better}
"""The metrics whose lower values are better (read from :data:`METRICS`)."""


# --------------------------------------------------------------------------------------
# The evaluation set
# --------------------------------------------------------------------------------------

def evaluation_set(model=None, n_per_class: int = IMAGES_PER_CLASS):
    """The first ``n_per_class`` lesion images of each class of the test split, with the
    model's predicted class in ``info["targets"]`` and each image's index in the split in
    ``info["indices"]``."""
    from shared import data, methods, models
    model = models.load_model() if model is None else model
    test = data.load_split("test", n_per_class)
    keep = np.flatnonzero(test.labels != data.class_index("Healthy"))
    ds = test[keep]
    per_class = data.SPLIT_SIZES["test"]
    ds.info["indices"] = [int(ds.labels[i]) * per_class + int(k % n_per_class)
                          for i, k in enumerate(keep)]
    ds.info["targets"] = methods.resolve_targets(model, ds.images).tolist()
    return ds


def images_per_class(name: str) -> int:
    """How many lesion images per class a method is evaluated on."""
    return IMAGES_PER_CLASS_FOR.get(name, IMAGES_PER_CLASS)


def subset(ds, importance: dict, n_per_class: int):
    """The first ``n_per_class`` images of each class of an evaluation set, with their
    slice of the importance results."""
    from shared import data
    per_class = data.SPLIT_SIZES["test"]
    keep = np.array([i for i, k in enumerate(ds.info["indices"]) if k % per_class < n_per_class])
    out = ds[keep]
    out.info = dict(ds.info, indices=[ds.info["indices"][i] for i in keep],
                    targets=[ds.info["targets"][i] for i in keep])
    return out, {key: [v[i] for i in keep] for key, v in importance.items()}


# --------------------------------------------------------------------------------------
# Ground-truth importance of every element
# --------------------------------------------------------------------------------------

def element_importance(model, ds, targets, batch_size: int = 64) -> dict:
    """For each image and each element (lesion, distractor, marker) of its scene: the drop
    in the target logit when the element alone is removed, and the rise over the empty
    scene (skin only) when it alone is kept. Returns lists per image."""
    from shared import data, methods
    removed, kept, full, empty = [], [], [], []
    for i in range(len(ds)):
        scene = ds.scene(i)
        k = len(scene.elements)
        variants = ([scene, scene.empty()] + [scene.without(e) for e in range(k)]
                    + [scene.only(e) for e in range(k)])
        images = data.render_many(variants).images
        logits = methods.scores(model, images, int(targets[i]), batch_size=batch_size)
        full.append(float(logits[0]))
        empty.append(float(logits[1]))
        removed.append((logits[0] - logits[2:2 + k]).tolist())
        kept.append((logits[2 + k:] - logits[1]).tolist())
    return dict(drop_when_removed=removed, rise_when_kept_alone=kept, logit=full,
                logit_empty=empty)


# --------------------------------------------------------------------------------------
# One method
# --------------------------------------------------------------------------------------

def _maps(name, model, images, targets):
    from shared import methods
    if name in metrics.CONTROLS:
        return metrics.CONTROLS[name](images, seed=SEED)
    return methods.ATTRIBUTIONS[name](model, images, targets)


class _Cost:
    """The maps of one method, timed and counted: the first call warms up (compiles) on
    one image before the clock starts; :meth:`per_image` sums every timed call."""

    def __init__(self, name: str, model):
        self.name, self.model, self.warm = name, model, False
        self.seconds, self.forward, self.backward, self.images = 0.0, 0, 0, 0

    def maps(self, images, targets):
        from shared import methods
        if not self.warm:
            _maps(self.name, self.model, images[:1], targets[:1])
            self.warm = True
        with methods.count_passes() as counted:
            tick = time.perf_counter()
            out = _maps(self.name, self.model, images, targets)
            self.seconds += time.perf_counter() - tick
        self.forward += counted.forward
        self.backward += counted.backward
        self.images += len(images)
        return out

    def per_image(self) -> dict:
        n = self.images
        return dict(ms_per_image=1000 * self.seconds / n, forward_per_image=self.forward / n,
                    backward_per_image=self.backward / n)


def evaluate_method(name: str, model, ds, importance: dict, batch: int = BATCH,
                    progress=None, timed: bool = True) -> dict:
    """Every metric of :data:`METRICS` for one method on the evaluation set:
    ``{"per_image": {metric: values}, "cost": {...}}``.

    ``timed=False``: no warm-up, no timing and no ``cost`` (the values are the same).
    """
    from shared import methods, randomization
    targets = np.asarray(ds.info["targets"], np.int32)
    values = {key: [] for key in METRICS}
    cost = _Cost(name, model) if timed else None
    random_top = randomization.randomized_copy(model, ["logits"], seed=SEED)
    # A decision-only method (anchors) explains what the randomized model decides.
    decision_only = getattr(methods.ATTRIBUTIONS.get(name), "decision_only", False)
    for start in range(0, len(ds), batch):
        part = ds[np.arange(start, min(start + batch, len(ds)))]
        t = targets[start:start + len(part)]
        maps = cost.maps(part.images, t) if timed else _maps(name, model, part.images, t)
        with methods.quiet_retracing():
            again = _maps(name, random_top, part.images, None if decision_only else t)
        b = Batch(model, part, t, maps, again,
                  importance["drop_when_removed"][start:start + len(part)])
        for key, metric in METRICS.items():
            values[key] += metric.compute(b).tolist()
        if progress:
            progress(len(part))
    return dict(per_image=values, cost=cost.per_image()) if timed else dict(per_image=values)


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------

def _versions() -> dict:
    out = {"python": platform.python_version()}
    for package in ("tensorflow-cpu", "tensorflow", "keras", "numpy", "lime", "alibi"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            pass
    return out


def _write(name: str, payload: dict, ds) -> Path:
    RESULTS.mkdir(exist_ok=True)
    payload = dict(name=name, command="python -m shared.evaluate " + name,
                   date=datetime.date.today().isoformat(), versions=_versions(),
                   split="test", images_per_class=images_per_class(name),
                   indices=ds.info["indices"], labels=ds.labels.tolist(),
                   targets=ds.info["targets"], **payload)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(_rounded(payload), indent=None, separators=(",", ":")) + "\n")
    return path


def _rounded(x):
    """Floats to 6 significant digits (NaN as null), so files stay small and readable."""
    if isinstance(x, float):
        return None if np.isnan(x) else float(f"{x:.6g}")
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_rounded(v) for v in x]
    return x


def measure_cost(name: str, model, ds, n_images: int = 10) -> dict:
    """Milliseconds and passes per image of one method on the first ``n_images`` images
    (after a warm-up), for a machine that was busy when the metrics were computed."""
    cost = _Cost(name, model)
    cost.maps(ds.images[:n_images], np.asarray(ds.info["targets"], np.int32)[:n_images])
    return dict(cost.per_image(), timed_on_images=cost.images)


def load_results(name: str) -> dict:
    """The committed results of one method (or of ``importance``)."""
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no committed results for {name!r} ({path}): run "
                                f"`python -m shared.evaluate {name}`")
    out = json.loads(path.read_text())
    if "per_image" in out:
        out["per_image"] = {k: np.array([np.nan if v is None else v for v in vals])
                            for k, vals in out["per_image"].items()}
    return out


def on_images_of(name: str, other: str) -> dict:
    """The committed results of ``other`` restricted to the images ``name`` was evaluated
    on, in ``name``'s order (per-image values, labels and indices), for paired comparisons.
    Raises when ``other`` lacks some of those images."""
    mine, theirs = load_results(name), load_results(other)
    row = {k: j for j, k in enumerate(theirs["indices"])}
    missing = [k for k in mine["indices"] if k not in row]
    if missing:
        raise ValueError(f"{other!r} was not evaluated on {len(missing)} of the images of "
                         f"{name!r} (test-split indices {missing[:5]}...)")
    at = np.array([row[k] for k in mine["indices"]], dtype=int)
    return dict(theirs, indices=mine["indices"], labels=mine["labels"],
                per_image={key: v[at] for key, v in theirs["per_image"].items()})


def paired_comparison(name: str, controls=("random", "redness"), metrics_=None):
    """``name`` against each control on the same images: per metric, the mean of the
    per-image differences (name minus control) with a bootstrap 95 % interval, and a
    verdict, ``"better"`` or ``"worse"`` when the interval excludes 0 (in the metric's
    direction, :data:`METRICS`), ``""`` when it cannot tell.

    Returns a pandas DataFrame indexed by metric, columns ``(name, "mean")`` and
    ``(control, "difference" | "low" | "high" | "verdict")``.
    """
    import pandas as pd
    keys = list(METRICS) if metrics_ is None else list(metrics_)
    mine = load_results(name)["per_image"]
    rows = []
    for key in keys:
        row = {(name, "mean"): float(np.nanmean(mine[key]))}
        for control in controls:
            theirs = on_images_of(name, control)["per_image"]
            m, low, high, _ = metrics.bootstrap_ci(mine[key] - theirs[key], seed=SEED)
            sign = 1 if low > 0 else -1 if high < 0 else 0
            sign = -sign if METRICS[key].lower_is_better else sign
            row.update({(control, "difference"): m, (control, "low"): low,
                        (control, "high"): high,
                        (control, "verdict"): {1: "better", -1: "worse", 0: ""}[sign]})
        rows.append(row)
    frame = pd.DataFrame(rows, index=pd.Index(keys, name="metric"))
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


def format_comparison(frame, digits: int = 2):
    """:func:`paired_comparison` as text cells: the method's mean, then per control
    ``difference [low, high]`` and the verdict."""
    import pandas as pd
    out = pd.DataFrame(index=frame.index)
    for who, column in dict.fromkeys(frame.columns):
        if column == "mean":
            out[who] = [f"{v:.{digits}f}" for v in frame[(who, "mean")]]
        elif column == "difference":
            m, lo, hi = (frame[(who, s)] for s in ("difference", "low", "high"))
            out[f"minus {who}"] = [f"{a:+.{digits}f} [{b:+.{digits}f}, {c:+.{digits}f}]"
                                   for a, b, c in zip(m, lo, hi)]
            out[f"vs {who}"] = frame[(who, "verdict")]
    return out


def verdicts(frame, control: str) -> dict[str, list[str]]:
    """The metrics of a :func:`paired_comparison` grouped by verdict against ``control``:
    ``{"better": [...], "worse": [...], "": [...]}`` (the last: cannot tell)."""
    column = frame[(control, "verdict")]
    return {v: [k for k in frame.index if column[k] == v] for v in ("better", "worse", "")}


def available() -> list[str]:
    """Methods and controls with committed results, in registry order."""
    from shared import methods
    names = list(methods.ATTRIBUTIONS) + list(metrics.CONTROLS)
    return [n for n in names if (RESULTS / f"{n}.json").is_file()]


# --------------------------------------------------------------------------------------
# The scorecard
# --------------------------------------------------------------------------------------

def scorecard(names=None, *, by_class: bool = False, metrics_=None,
              images_of: str | None = None):
    """One row per method: each metric's mean with its bootstrap 95 % interval, and the
    cost per image. ``by_class=True``: one row per (method, class). ``images_of``: every
    row on the images that method was evaluated on (:func:`on_images_of`), so that rows
    from methods evaluated on more images compare on the same ones.

    Returns a pandas DataFrame with columns ``(metric, "mean" | "low" | "high")`` plus
    ``n`` and the costs; :func:`format_scorecard` prints it.
    """
    import pandas as pd

    from shared import data
    names = available() if names is None else list(names)
    keys = list(METRICS) if metrics_ is None else list(metrics_)
    rows, index = [], []
    for name in names:
        r = load_results(name) if images_of is None else on_images_of(images_of, name)
        labels = np.asarray(r["labels"])
        groups = [(None, np.ones(len(labels), bool))]
        if by_class:
            groups = [(data.CLASS_NAMES[c], labels == c) for c in np.unique(labels)]
        for group, keep in groups:
            row = {("n", ""): int(keep.sum())}
            for key in keys:
                mean, lo, hi, _ = metrics.bootstrap_ci(r["per_image"][key][keep], seed=SEED)
                row.update({(key, "mean"): mean, (key, "low"): lo, (key, "high"): hi})
            cost = r.get("cost", {})
            row[("ms", "")] = cost.get("ms_per_image", np.nan)
            row[("passes", "")] = cost.get("forward_per_image", 0) + cost.get(
                "backward_per_image", 0)
            rows.append(row)
            index.append(name if group is None else (name, group))
    frame = pd.DataFrame(rows)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index = (pd.MultiIndex.from_tuples(index, names=["method", "class"]) if by_class
                   else pd.Index(index, name="method"))
    return frame


def format_scorecard(frame, digits: int = 2):
    """The scorecard as text cells: ``mean [low, high]`` per metric, cost rounded."""
    import pandas as pd
    out = pd.DataFrame(index=frame.index)
    out["n"] = frame[("n", "")]
    for key in dict.fromkeys(k for k, _ in frame.columns if k in METRICS):
        m, lo, hi = (frame[(key, s)] for s in ("mean", "low", "high"))
        out[key] = [("n/a" if np.isnan(a) else f"{a:.{digits}f} [{b:.{digits}f}, {c:.{digits}f}]")
                    for a, b, c in zip(m, lo, hi)]
    if ("ms", "") in frame.columns:
        out["ms/image"] = [("-" if np.isnan(v) or v == 0 else f"{v:.2g}") for v in frame[("ms", "")]]
        out["passes/image"] = [f"{v:.0f}" for v in frame[("passes", "")]]
    return out


# --------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------

class _Progress:
    """A one-line progress bar on stderr (quiet when stderr is not a terminal)."""

    def __init__(self, label: str, total: int):
        self.label, self.total, self.done, self.start = label, total, 0, time.time()

    def __call__(self, n: int):
        self.done += n
        rate = (time.time() - self.start) / max(self.done, 1)
        print(f"\r{self.label}: {self.done}/{self.total} images, "
              f"~{rate * (self.total - self.done):.0f} s left   ", end="", file=sys.stderr,
              flush=True)

    def close(self):
        print(f"\r{self.label}: {self.total} images in {time.time() - self.start:.0f} s" + " " * 20,
              file=sys.stderr, flush=True)


def main(argv=None) -> None:
    from shared import methods, models
    from shared.notebook import quiet_tensorflow
    quiet_tensorflow()
    everything = list(methods.ATTRIBUTIONS) + list(metrics.CONTROLS)
    p = argparse.ArgumentParser(prog="python -m shared.evaluate",
                                description=__doc__.split("\n")[0])
    p.add_argument("names", nargs="*", help=f"importance and/or methods: {', '.join(everything)}")
    p.add_argument("--force", action="store_true", help="recompute results that exist")
    p.add_argument("--list", action="store_true", help="list the committed results")
    p.add_argument("--cost", action="store_true",
                   help="only time the methods again (on a quiet machine) and update the "
                        "cost in their committed results")
    args = p.parse_args(argv)
    if args.list:
        for name in ["importance"] + everything:
            path = RESULTS / f"{name}.json"
            print(f"{name:22s} {json.loads(path.read_text())['date'] if path.exists() else '-'}")
        return
    unknown = sorted(set(args.names) - set(everything) - {"importance"})
    if unknown:
        p.error(f"unknown {unknown}; choose from importance, {', '.join(everything)}")
    names = args.names or ["importance"] + everything
    if not args.force:
        names = [n for n in names if not (RESULTS / f"{n}.json").exists()]
    model = models.load_model()
    ds = evaluation_set(model)
    targets = np.asarray(ds.info["targets"])
    if args.cost:
        for name in [n for n in (args.names or everything) if n in available()]:
            path = RESULTS / f"{name}.json"
            result = json.loads(path.read_text())
            result["cost"] = _rounded(measure_cost(name, model, ds))
            path.write_text(json.dumps(result, separators=(",", ":")) + "\n")
            print(f"{name}: {result['cost']['ms_per_image']:.0f} ms/image")
        return
    if "importance" in names:
        bar = _Progress("importance", len(ds))
        result = element_importance(model, ds, targets)
        bar(len(ds))
        bar.close()
        _write("importance", dict(importance=result), ds)
    importance = load_results("importance")["importance"]
    for name in names:
        if name == "importance":
            continue
        part, part_importance = subset(ds, importance, images_per_class(name))
        bar = _Progress(name, len(part))
        result = evaluate_method(name, model, part, part_importance, progress=bar)
        bar.close()
        print(f"wrote {_write(name, result, part)}")


if __name__ == "__main__":
    main()
