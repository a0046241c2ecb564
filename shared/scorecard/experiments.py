"""The comparison chapter's two experiments, on the extra checkpoints of
:data:`shared.models.VARIANTS`.

    python -m shared.scorecard shortcut imbalance      # compute what is missing

**The shortcut.** The ``shortcut`` checkpoint saw an ink dot on 80 % of its Monkeypox
training images and on no other class. Its test images get the dot on *every* image of
every class (:func:`marked_test_set`: the test split's scenes with a marker added; the
same scenes without it are the clean images), so the behaviour columns say how much the
model uses the dot: accuracy on clean and on marked images, and how often a marked image
of another class is called Monkeypox. The explanation columns ask, per method, whether a
map of the Monkeypox logit shows the dot: its share of the map's positive mass, whether
the map's peak lies on it (what a reader's eye would find), and whether the map ranks it
first among the scene's elements where its Shapley value (by re-rendering, as in the
scorecard) does. Each is measured on the shortcut model and, as the control that a method
drawn to any dark dot fails, on the book's model, on the same images.

**The imbalance.** The ``imbalanced`` checkpoint was trained on the class counts of the
original write-up's data (Monkeypox-heavy), ``small`` on the same number of images,
balanced: they differ in their class counts only. The behaviour columns are their
predictions on the balanced test split and each class's logit on empty skin (the prior
the network learned). The explanation columns score each method's map of the predicted
class on both models (localisation on the lesions), paired, to see whether a map shows
anything of the imbalance.

Results go to :data:`~shared.scorecard.run.RESULTS` as ``shortcut.json`` and
``imbalance.json``; each method's part is saved when done, so a stopped run resumes.
"""

from __future__ import annotations

import json
import time

import numpy as np

from shared import metrics

from . import run
from .groundtruth import scene_truth

EXPERIMENTS = ("shortcut", "imbalance")
BEHAVIOUR_PER_CLASS = 100
"""Test images per class for the behaviour columns (forward passes only): all of them."""
MAPS_PER_CLASS = 8
"""Test images per class (the first ones, all six classes) that every method explains."""
SHORTCUT_MODELS = ("shortcut", "default")
IMBALANCE_MODELS = ("imbalanced", "small", "default")
IMBALANCE_MAP_MODELS = ("imbalanced", "small")
SIZE = None
"""Image side in pixels (``None``: :data:`shared.data.IMAGE_SIZE`, the checkpoints')."""
EMPTY_SCENES_PER_CLASS = 20
"""Scenes per class redrawn as empty skin to read each class's prior logit."""


def shortcut_class() -> str:
    """The class whose training images carried the marker."""
    from shared import train
    return train.PRESETS["shortcut"].marker_class


def marked_test_set(per_class: int, kind: str | None = None, size: int | None = None):
    """The first ``per_class`` test images of every class, each with the shortcut's marker
    added (its own random stream: the rest of the scene is the test image's), and the
    same scenes without it (``size``: the side in pixels, the model's by default).
    Returns ``(marked, clean)``; ``marked.info["marker"]`` holds
    each image's marker element index."""
    from shared import data, train
    kind = kind or train.PRESETS["shortcut"].marker_kind
    seed, size = data.SPLIT_SEEDS["test"], size or data.IMAGE_SIZE
    scenes = [data.sample_scene(seed, label, i, size=size, marker_kind=kind,
                                marker_fraction=1.0)
              for label in range(len(data.CLASS_NAMES)) for i in range(per_class)]
    markers = [s.indices("marker")[0] for s in scenes]
    marked = data.render_many(scenes)
    clean = data.render_many([s.without(m) for s, m in zip(scenes, markers)])
    marked.info = dict(marker=markers, kind=kind, per_class=per_class)
    return marked, clean


def _models(names) -> dict:
    from shared import models
    return {name: models.load_model(variant=name) for name in names}


def _predictions(model, images) -> tuple[np.ndarray, np.ndarray]:
    from shared import methods
    logits = methods.scores(model, images, None, score="logit")
    return logits.argmax(1), logits


def shortcut_behaviour(per_class: int = BEHAVIOUR_PER_CLASS) -> dict:
    """Per model and per image: correct on the clean and on the marked image, called
    the shortcut class, and the shortcut class's logit gain from the marker."""
    from shared import data
    marked, clean = marked_test_set(per_class, size=SIZE)
    target = data.class_index(shortcut_class())
    out = dict(labels=marked.labels.tolist(), shortcut_class=shortcut_class())
    for name, model in _models(SHORTCUT_MODELS).items():
        p_clean, l_clean = _predictions(model, clean.images)
        p_marked, l_marked = _predictions(model, marked.images)
        out[name] = dict(correct_clean=(p_clean == marked.labels).tolist(),
                         correct_marked=(p_marked == marked.labels).tolist(),
                         called_clean=(p_clean == target).tolist(),
                         called_marked=(p_marked == target).tolist(),
                         logit_gain=(l_marked[:, target] - l_clean[:, target]).tolist())
    return out


def marker_measures(maps, ds, truths) -> dict:
    """Per image: the marker's share of the map's positive mass, its share of the image's
    area (the share a map without information gives it), the pointing game on the marker
    (tied maxima shared), and the marker's rank among the scene's visible elements by the
    map's mass and by its Shapley value (1 = first alone; ties share their ranks)."""
    maps = np.asarray(maps, np.float64)
    masks = ds.marker_masks
    positive = np.maximum(maps, 0)
    total = positive.sum(axis=(1, 2))
    on_marker = (positive * masks).sum(axis=(1, 2))
    share = np.where(total > 0, on_marker / np.where(total > 0, total, 1), np.nan)
    ranks_map, ranks_truth = [], []
    masses = _element_mass(maps, ds.instances,
                           [len(ds.scene(i).elements) for i in range(len(ds))])
    for i, (mass, truth) in enumerate(zip(masses, truths)):
        players = truth["elements"]
        marker = players.index(ds.info["marker"][i])
        ranks_map.append(_rank(mass[players], marker))
        ranks_truth.append(_rank(truth["shapley"], marker))
    return dict(share=share.tolist(), area=masks.mean(axis=(1, 2)).tolist(),
                pointing=metrics.pointing_game(maps, masks, ties="share").tolist(),
                rank_map=ranks_map, rank_truth=ranks_truth)


def _element_mass(maps, instances, n_elements) -> list[np.ndarray]:
    """Per image, the map's positive part summed over each element's visible pixels: one
    value per element of the scene (element ``k`` has instance label ``k + 1``; an element
    hidden by others gets 0)."""
    return [np.bincount(labels.ravel(), weights=np.maximum(m, 0).ravel(),
                        minlength=k + 1)[1:k + 1]
            for m, labels, k in zip(maps, np.asarray(instances), n_elements)]


def _rank(values, i: int) -> float:
    """The rank of ``values[i]`` from the top (1 = the largest alone), ties averaged: a
    value tied with others for first is not first."""
    v = np.asarray(values, np.float64)
    return float(1 + (v > v[i]).sum() + 0.5 * ((v == v[i]).sum() - 1))


def imbalance_behaviour(per_class: int = BEHAVIOUR_PER_CLASS) -> dict:
    """Per model: the predicted class of every balanced test image, and every class's
    logit on empty skin (the first :data:`EMPTY_SCENES_PER_CLASS` test scenes of each
    class with all their elements removed)."""
    from shared import data
    test = data.load_split("test", per_class, size=SIZE or data.IMAGE_SIZE)
    empty = data.render_many([test.scene(i).empty() for i in range(len(test))
                              if i % per_class < EMPTY_SCENES_PER_CLASS])
    out = dict(labels=test.labels.tolist())
    for name, model in _models(IMBALANCE_MODELS).items():
        predicted, _ = _predictions(model, test.images)
        _, empty_logits = _predictions(model, empty.images)
        out[name] = dict(predicted=predicted.tolist(), empty_logits=empty_logits.tolist())
    return out


def maps_set(per_class: int = MAPS_PER_CLASS):
    """The images every method explains in the experiments: the first ``per_class``
    test images of every class, marked (the shortcut) and clean (the imbalance)."""
    return marked_test_set(per_class, size=SIZE)


def _batches(n: int) -> list[np.ndarray]:
    """Fixed batches of :data:`~shared.scorecard.run.BATCH` images: a seeded method draws
    its noise per position in a batch, so a recomputation gives the same maps."""
    return [np.arange(s, min(s + run.BATCH, n)) for s in range(0, n, run.BATCH)]


def _method_entries() -> dict:
    """The scorecard's methods (no controls: a map without information gives the marker
    its area share and a random rank, the columns' chance levels), cheapest first by the
    scorecard's measured cost, so that a run stopped early has the most methods."""
    def cost(name):
        path = run.RESULTS / f"{name}.json"
        if not path.is_file():
            return float("inf")
        return json.loads(path.read_text()).get("cost", {}).get("ms_per_image", float("inf"))
    methods = [name for name, e in run.entries().items() if not e.is_control]
    return {name: run.entries()[name] for name in sorted(methods, key=cost)}


def _load(name: str) -> dict:
    path = run.RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _save(name: str, payload: dict) -> None:
    import datetime
    payload.update(name=name, command=f"python -m shared.scorecard {name}",
                   date=datetime.date.today().isoformat(), versions=run.versions(),
                   maps_per_class=MAPS_PER_CLASS, behaviour_per_class=BEHAVIOUR_PER_CLASS)
    (run.RESULTS / f"{name}.json").write_text(
        json.dumps(run._rounded(payload), separators=(",", ":")) + "\n")


def compute_experiment(name: str, *, methods: list[str] | None = None, log=print) -> None:
    """Compute what is missing of one experiment (its behaviour, then every method or the
    named ``methods``), saving after each part."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; expected one of {EXPERIMENTS}")
    entries = _method_entries()
    unknown = sorted(set(methods or ()) - set(entries))
    if unknown:
        raise ValueError(f"unknown methods {unknown}; expected some of {list(entries)}")
    entries = {m: entries[m] for m in (methods or entries)}
    from shared import data
    from shared import methods as attribution
    done = _load(name)
    if "behaviour" not in done:
        tick = time.perf_counter()
        done["behaviour"] = (shortcut_behaviour if name == "shortcut"
                             else imbalance_behaviour)(BEHAVIOUR_PER_CLASS)
        log(f"{name}: behaviour in {time.perf_counter() - tick:.0f} s")
        _save(name, done)
    marked, clean = maps_set(MAPS_PER_CLASS)
    ds = marked if name == "shortcut" else clean
    names = SHORTCUT_MODELS if name == "shortcut" else IMBALANCE_MAP_MODELS
    loaded = _models(names)
    target = data.class_index(shortcut_class())
    if name == "shortcut":
        done.setdefault("truth", {})
        for model_name, model in loaded.items():
            if model_name not in done["truth"]:
                done["truth"][model_name] = [
                    scene_truth(model, ds.scene(i), target) for i in range(len(ds))]
                _save(name, done)
        targets = {m: np.full(len(ds), target, np.int32) for m in names}
    else:
        targets = {m: attribution.resolve_targets(model, ds.images)
                   for m, model in loaded.items()}
        done["targets"] = {m: t.tolist() for m, t in targets.items()}
    done.setdefault("methods", {})
    for entry_name, entry in entries.items():
        for model_name, model in loaded.items():
            slot = done["methods"].setdefault(entry_name, {})
            if model_name in slot:
                continue
            tick = time.perf_counter()
            # a method that explains the decision only (anchors) gets the images whose
            # predicted class is the target; the others are NaN in its columns
            rows = np.arange(len(ds))
            if getattr(attribution.ATTRIBUTIONS[entry.method], "decision_only", False):
                rows = np.flatnonzero(attribution.resolve_targets(model, ds.images)
                                      == targets[model_name])
            part = ds[rows]
            if "marker" in ds.info:
                part.info["marker"] = [ds.info["marker"][i] for i in rows]
            maps = np.concatenate([
                run._maps(entry, model, part[b], targets[model_name][rows][b], None)
                for b in _batches(len(part))]) if len(part) else None
            if name == "shortcut":
                truth = [done["truth"][model_name][i] for i in rows]
                found = marker_measures(maps, part, truth) if len(part) else {}
                keys = ("share", "area", "pointing", "rank_map", "rank_truth")
            else:
                found = dict(rank_accuracy=metrics.rank_accuracy(maps, part.masks).tolist()
                             ) if len(part) else {}
                keys = ("rank_accuracy",)
            values = {}
            for key in keys:
                column = np.full(len(ds), np.nan)
                column[rows] = found.get(key, [])
                values[key] = column.tolist()
            values["images"] = len(rows)
            values["seconds"] = time.perf_counter() - tick
            slot[model_name] = values
            _save(name, done)
            log(f"{name}: {entry_name} on {model_name} in {values['seconds']:.0f} s")


# --------------------------------------------------------------------------------------
# Reading the results
# --------------------------------------------------------------------------------------

def load_experiment(name: str) -> dict:
    """The committed results of one experiment (``shortcut`` or ``imbalance``)."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; expected one of {EXPERIMENTS}")
    done = _load(name)
    if not done:
        raise FileNotFoundError(f"no results for {name!r}: run `python -m shared.scorecard "
                                f"{name}`")
    return done


def _frame(rows: dict):
    """``{row: {column: (mean, low, high, n)}}`` -> a DataFrame with (column, statistic)
    columns, statistic one of mean, low, high, n."""
    import pandas as pd
    return pd.DataFrame({row: {(col, stat): value for col, v in cols.items()
                               for stat, value in zip(("mean", "low", "high", "n"), v)}
                         for row, cols in rows.items()}).T


def shortcut_behaviour_table():
    """Per model (rows): accuracy on clean and on marked test images, the share of the
    other classes' images called the shortcut class, clean and marked (Wilson intervals),
    and the mean gain of the shortcut class's logit from the marker (bootstrap)."""
    from shared import data
    from .tables import interval
    b = load_experiment("shortcut")["behaviour"]
    labels = np.asarray(b["labels"])
    other = labels != data.class_index(b["shortcut_class"])
    rows = {}
    for model in SHORTCUT_MODELS:
        r = {k: np.asarray(v, np.float64) for k, v in b[model].items()}
        rows[model] = {"accuracy, clean": interval(r["correct_clean"], hits=True),
                       "accuracy, marked": interval(r["correct_marked"], hits=True),
                       "others called it, clean": interval(r["called_clean"][other], hits=True),
                       "others called it, marked": interval(r["called_marked"][other],
                                                            hits=True),
                       "logit gain": interval(r["logit_gain"])}
    return _frame(rows)


def shortcut_methods_table():
    """Per method (rows), on the shortcut model and on the book's model (the control):
    the marker's mean share of the map's positive mass, the pointing game on the marker,
    and how often the map ranks the marker first where its Shapley value does; then the
    paired difference of the share between the two models (bootstrap intervals; Wilson
    for the proportions). The marker's mean area share is the share's chance level."""
    from .tables import interval
    done = load_experiment("shortcut")
    rows = {}
    for method, by_model in done["methods"].items():
        if not all(m in by_model for m in SHORTCUT_MODELS):
            continue
        cols = {}
        for model in SHORTCUT_MODELS:
            v = {k: np.asarray(x, np.float64) for k, x in by_model[model].items()
                 if k != "seconds"}
            first = v["rank_truth"] == 1
            cols[f"share ({model})"] = interval(v["share"])
            cols[f"pointing ({model})"] = interval(v["pointing"])
            cols[f"first when first ({model})"] = interval(
                (v["rank_map"][first] == 1).astype(np.float64), hits=True)
        a, b = (np.asarray(by_model[m]["share"], np.float64) for m in SHORTCUT_MODELS)
        cols["share difference"] = interval(a - b)
        rows[method] = cols
    area = np.asarray(next(iter(done["methods"].values()))[SHORTCUT_MODELS[0]]["area"])
    frame = _frame(rows)
    frame.attrs["marker_area"] = float(area.mean())
    return frame


def imbalance_behaviour_table():
    """Per model (rows) and class (columns): recall on the balanced test split (Wilson
    intervals) and the share of all test images predicted as that class; and each
    class's mean logit on empty skin minus the mean over classes (the learned prior)."""
    import pandas as pd

    from shared import data
    from .tables import interval
    b = load_experiment("imbalance")["behaviour"]
    labels = np.asarray(b["labels"])
    out = {}
    for model in IMBALANCE_MODELS:
        predicted = np.asarray(b[model]["predicted"])
        empty = np.asarray(b[model]["empty_logits"], np.float64)
        prior = empty.mean(axis=0) - empty.mean()
        for c, name in enumerate(data.CLASS_NAMES):
            mean, low, high, n = interval((predicted[labels == c] == c).astype(float), hits=True)
            out[(model, name)] = dict(recall=mean, recall_low=low, recall_high=high, n=n,
                                      predicted_share=float(np.mean(predicted == c)),
                                      empty_logit=float(prior[c]))
    return pd.DataFrame(out).T


def imbalance_methods_table():
    """Per method (rows): rank accuracy of the map of the predicted class on the lesions,
    on the imbalanced model and on its balanced control, and the paired difference."""
    from .tables import interval
    done = load_experiment("imbalance")
    rows = {}
    for method, by_model in done["methods"].items():
        if not all(m in by_model for m in IMBALANCE_MAP_MODELS):
            continue
        a, b = (np.asarray(by_model[m]["rank_accuracy"], np.float64)
                for m in IMBALANCE_MAP_MODELS)
        rows[method] = {f"rank accuracy ({m})": interval(v)
                        for m, v in zip(IMBALANCE_MAP_MODELS, (a, b))}
        rows[method]["difference"] = interval(a - b)
    return _frame(rows)
