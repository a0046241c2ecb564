"""Computing the scorecard: the images, their ground truth, every entry, the files.

Every method and control is scored on the same :data:`PER_CLASS` x 5 lesion images of
the test split (the first of each lesion class), paired. The sanity columns
(randomization, the seed's noise floor, robustness to sensor noise) cost several more
maps per image and are measured on the first :data:`SANITY_PER_CLASS` of each class.

Results go to :data:`RESULTS`, one file per entry, written batch by batch to a partial
file that a stopped run resumes from, and moved into place when the entry is done.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import platform
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from shared import metrics

from . import groundtruth
from .measures import METRICS, STEPS, Evidence

RESULTS = Path(__file__).parent / "results"
"""Where the committed results live (package data)."""
PER_CLASS = 40
"""Lesion images per class: 200 in all, the same for every entry."""
SANITY_PER_CLASS = 10
"""Images per class (the first ones) for the sanity columns: 50 in all."""
DRAWS = 3
"""Random re-initialisations for the randomization columns; image ``j`` of the sanity
set uses draw ``j mod DRAWS`` (seeds ``SEED`` .. ``SEED + DRAWS - 1``), so every draw is
measured on about a third of the images."""
SEED = 0
BATCH = 10
"""Images per call of a method. A seeded method draws its noise per position in the
batch, so a recomputation places each image at the same position (batches start at
multiples of ``BATCH`` within a class, and ``PER_CLASS`` is a multiple of ``BATCH``)."""
NOISE_SEED_SHIFT = 7919
"""Robustness redraws a scene with sensor-noise seed ``noise_seed + NOISE_SEED_SHIFT``."""


# --------------------------------------------------------------------------------------
# What is scored
# --------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Entry:
    """One row of the scorecard: a registered method at given parameters, or a control."""
    name: str
    method: str | None
    """The registered method (``None`` for a control)."""
    params: dict = dataclasses.field(default_factory=dict)
    note: str = ""

    @property
    def is_control(self) -> bool:
        return self.method is None

    @property
    def stochastic(self) -> bool:
        from shared import methods
        return (not self.is_control
                and any(p == "seed" for p, _, _ in methods.defaults(self.method)))


TRAINING_BASELINES = 20
"""Training images per class (all six classes) that Expected Gradients draws its
references from in the scorecard (Erion et al. 2021 use the training data)."""


def training_references(n_per_class: int = TRAINING_BASELINES) -> np.ndarray:
    """The first ``n_per_class`` training images of each class, (6 n, H, W, 3)."""
    from shared import data
    return data.load_split("train", n_per_class).images


def entries() -> dict[str, Entry]:
    """Every row of the scorecard, in order: the registered methods (HiResCAM left out:
    with global average pooling before one dense layer it equals Grad-CAM, which
    ``tests/test_methods_gradient.py`` checks), Expected Gradients also with the uniform
    noise baseline as a labelled variant, then the controls."""
    from shared import methods
    out = {}
    for name in methods.ATTRIBUTIONS:
        if name == "hirescam":
            continue
        if name == "expected_gradients":
            out[name] = Entry(name, name, {"baseline": "training"},
                              f"baseline: {TRAINING_BASELINES} training images per class "
                              "(Erion et al. 2021)")
            out["expected_gradients_uniform"] = Entry(
                "expected_gradients_uniform", name, {},
                "baseline: uniform noise, a variant (the model calls noise Smallpox)")
            continue
        if name == "deep_shap":
            out[name] = Entry(name, name, {"baseline": "training"},
                              f"references: {TRAINING_BASELINES} training images per class "
                              "(a background data set, as Lundberg & Lee 2017 use)")
            continue
        out[name] = Entry(name, name)
    for name, note in CONTROL_NOTES.items():
        out[name] = Entry(name, None, note=note)
    return out


CONTROL_NOTES = {
    "random": "uniform noise: no information",
    "redness": "red minus green: needs no model",
    "lesion_mask": "the lesion mask as a map: needs no model, knows the answer to "
                   "localisation",
    "elements": "every element's pixels, 1: an element's sum is its area",
    "oracle": "each element painted with its Shapley value over its area: knows the "
              "ground truth",
}


def control_maps(name: str, ds, truth) -> np.ndarray:
    """The maps of a control on a batch: model-free, the same for every model."""
    if name == "random":     # seeded per image, so a map does not depend on its batch
        return np.concatenate([metrics.random_map(ds.images[i:i + 1], seed=[SEED, t["index"]])
                               for i, t in enumerate(truth)])
    if name == "redness":
        return metrics.redness_map(ds.images)
    if name == "lesion_mask":
        return ds.masks.astype(np.float32)
    if name == "elements":
        return (ds.instances > 0).astype(np.float32)
    if name == "oracle":
        out = np.zeros(ds.instances.shape, np.float32)
        for i, t in enumerate(truth):
            for e, phi, area in zip(t["elements"], t["shapley"], t["area"]):
                if area:
                    out[i][ds.instances[i] == e + 1] = phi / area
        return out
    raise ValueError(f"unknown control {name!r}; controls: {list(CONTROL_NOTES)}")


def _maps(entry: Entry, model, ds, targets, truth, **extra) -> np.ndarray:
    from shared import methods
    if entry.is_control:
        return control_maps(entry.name, ds, truth)
    params = dict(entry.params, **extra)
    if params.get("baseline") == "training":
        params["baseline"] = _references()
    method = methods.ATTRIBUTIONS[entry.method]
    if getattr(method, "decision_only", False) and extra.get("_decision"):
        targets = None
    params.pop("_decision", None)
    return method(model, ds.images, targets, **params)


_REFERENCES = {}


def _references():
    if "train" not in _REFERENCES:
        _REFERENCES["train"] = training_references()
    return _REFERENCES["train"]


# --------------------------------------------------------------------------------------
# The images and their ground truth
# --------------------------------------------------------------------------------------

def evaluation_set(model=None, per_class: int = PER_CLASS):
    """The first ``per_class`` lesion images of each lesion class of the test split,
    with the model's predicted class in ``info["targets"]`` and each image's index in the
    split in ``info["indices"]``."""
    from shared import data, methods, models
    model = models.load_model(variant="default") if model is None else model
    test = data.load_split("test", per_class)
    keep = np.flatnonzero(test.labels != data.class_index("Healthy"))
    ds = test[keep]
    n = data.SPLIT_SIZES["test"]
    ds.info["indices"] = [int(ds.labels[i]) * n + int(k % per_class)
                          for i, k in enumerate(keep)]
    ds.info["targets"] = methods.resolve_targets(model, ds.images).tolist()
    return ds


def in_sanity_set(ds) -> np.ndarray:
    """Which images of an evaluation set get the sanity columns (bool (N,))."""
    from shared import data
    return np.array([k % data.SPLIT_SIZES["test"] < SANITY_PER_CLASS
                     for k in ds.info["indices"]])


def empty_scenes(ds):
    """The images' scenes redrawn without their elements (the deletion fill)."""
    from shared import data
    return data.render_many([s.empty() for s in ds.scenes])


def renoised(ds):
    """The images' scenes redrawn with new sensor noise and nothing else changed."""
    from shared import data
    return data.render_many([
        dataclasses.replace(s, lighting=dataclasses.replace(
            s.lighting, noise_seed=s.lighting.noise_seed + NOISE_SEED_SHIFT))
        for s in ds.scenes])


def image_truth(model, ds, targets, *, permutations: int = groundtruth.PERMUTATIONS,
                steps: int = STEPS, progress=None) -> list[dict]:
    """Per image, :func:`~shared.scorecard.groundtruth.scene_truth` plus the chance
    levels of the localisation metrics and a random pixel order's deletion and insertion
    areas (two orders, averaged) on the normalised logit."""
    out = []
    for start in range(0, len(ds), BATCH):
        part = ds[np.arange(start, min(start + BATCH, len(ds)))]
        t = np.asarray(targets[start:start + len(part)], np.int32)
        truths = [groundtruth.scene_truth(model, scene, int(target), permutations=permutations,
                                          seed=SEED)
                  for scene, target in zip(part.scenes, t)]
        fill = empty_scenes(part)
        for mode in ("deletion", "insertion"):
            areas = []
            for seed in (1, 2):
                raw = metrics.perturbation_curves(
                    model, part.images, metrics.random_map(part.images, seed=seed), t,
                    mode=mode, steps=steps, score="logit", fill=fill.images)
                areas.append([groundtruth.curve_area(groundtruth.normalised(
                    c, tr["logit"], tr["logit_empty"])) for c, tr in zip(raw, truths)])
            for tr, a in zip(truths, np.mean(areas, axis=0)):
                tr[f"random_{mode}"] = float(a)
        chance = {"pointing": metrics.random_pointing_baseline(part.masks),
                  "pointing_7px": metrics.random_pointing_baseline(part.masks, 7),
                  "rank_accuracy": metrics.random_pointing_baseline(part.masks)}
        for i, tr in enumerate(truths):
            tr["chance"] = {k: float(v[i]) for k, v in chance.items()}
            tr["index"] = int(ds.info["indices"][start + i])
        out += truths
        if progress:
            progress(len(part))
    return out


# --------------------------------------------------------------------------------------
# One entry
# --------------------------------------------------------------------------------------

def randomized_models(model) -> dict:
    """The copies the randomization columns explain: ``{(scope, draw): model}``, scope
    ``"top"`` (the logits layer re-initialised) or ``"full"`` (every block with weights,
    the end of Adebayo et al.'s cascade), draws ``0 .. DRAWS - 1`` (seed ``SEED + draw``)."""
    from shared import randomization
    every = randomization.cascade_blocks(model)
    return {(scope, d): randomization.randomized_copy(
                model, ["logits"] if scope == "top" else every, seed=SEED + d)
            for scope in ("top", "full") for d in range(DRAWS)}


def evaluate_batch(entry: Entry, model, part, targets, truth, *, sanity_positions=None,
                   randomized=None, steps: int = STEPS, cost=None) -> dict:
    """Every metric on one batch: ``{"per_image": {metric: list}, "curves": {...}}``.

    ``sanity_positions``: for the images in the sanity set, their positions in it (the
    draw is ``position mod DRAWS``), ``None`` elsewhere; ``randomized``:
    :func:`randomized_models` of the model; ``cost``: a :class:`Cost` that times the
    maps on the trained model.
    """
    from shared import methods
    targets = np.asarray(targets, np.int32)
    if cost is not None:
        maps = cost.maps(lambda: _maps(entry, model, part, targets, truth))
    else:
        maps = _maps(entry, model, part, targets, truth)
    extra = {}
    sanity = [] if sanity_positions is None else [
        i for i, p in enumerate(sanity_positions) if p is not None]
    if sanity:
        rand = {"top": np.full(maps.shape, np.nan), "full": np.full(maps.shape, np.nan)}
        with methods.quiet_retracing():
            for scope in rand:
                for d in range(DRAWS):
                    rows = [i for i in sanity if sanity_positions[i] % DRAWS == d]
                    if rows:
                        sub = part[np.array(rows)]
                        rand[scope][rows] = _maps(entry, randomized[(scope, d)], sub,
                                                  targets[rows], [truth[i] for i in rows],
                                                  _decision=True)
        if len(sanity) != len(part):
            raise ValueError("a batch is either all in the sanity set or not at all")
        extra["randomized"] = rand
        if entry.stochastic:
            extra["second_seed"] = _maps(entry, model, part, targets, truth,
                                         seed=entry.params.get("seed", SEED) + 1)
        noisy = renoised(part)
        extra["renoised"] = _maps(entry, model, noisy, targets, truth)
    ev = Evidence(model, part, targets, truth, maps, empty=empty_scenes(part), steps=steps,
                  **extra)
    values = {key: np.asarray(m.compute(ev), np.float64).tolist()
              for key, m in METRICS.items()}
    curves = {mode: np.round(ev.pixel_curves(mode), 4).tolist()
              for mode in ("deletion", "insertion")}
    return dict(per_image=values, curves=curves)


class Cost:
    """Times and counts the passes of the maps on the trained model (the first call is a
    warm-up on the same batch, untimed: it compiles)."""

    def __init__(self):
        self.seconds, self.forward, self.backward, self.images, self.warm = 0.0, 0, 0, 0, False

    def maps(self, make):
        from shared import methods
        if not self.warm:
            make()
            self.warm = True
        with methods.count_passes() as counted:
            tick = time.perf_counter()
            out = make()
            self.seconds += time.perf_counter() - tick
        self.forward += counted.forward
        self.backward += counted.backward
        self.images += len(out)
        return out

    def as_dict(self) -> dict:
        n = max(self.images, 1)
        return dict(ms_per_image=1000 * self.seconds / n, forward_per_image=self.forward / n,
                    backward_per_image=self.backward / n, timed_on_images=self.images)


def evaluate_entry(entry: Entry, model, ds, truth, *, partial: Path | None = None,
                   progress=None, timed: bool = True, steps: int = STEPS) -> dict:
    """Every metric for one entry on the evaluation set, batch by batch. With
    ``partial``, each finished batch is saved there and a rerun resumes after it.
    ``seconds`` in the result is the time spent on every batch, over all the runs."""
    targets = np.asarray(ds.info["targets"], np.int32)
    sanity = in_sanity_set(ds)
    position = np.cumsum(sanity) - 1
    done = json.loads(partial.read_text()) if partial and partial.is_file() else {"batches": {}}
    if done["batches"] and done.get("seconds") is None:
        done["seconds"] = float("nan")      # a partial file that did not keep its time
    cost = Cost() if timed else None
    randomized = None                        # made when the first sanity batch needs them
    for start in range(0, len(ds), BATCH):
        rows = np.arange(start, min(start + BATCH, len(ds)))
        if str(start) in done["batches"]:
            if progress:
                progress(len(rows))
            continue
        positions = [int(position[i]) if sanity[i] else None for i in rows]
        tick = time.perf_counter()
        if randomized is None and sanity[rows].any():
            randomized = randomized_models(model)
        result = evaluate_batch(entry, model, ds[rows], targets[rows],
                                [truth[i] for i in rows], sanity_positions=positions,
                                randomized=randomized, steps=steps, cost=cost)
        done["batches"][str(start)] = result
        done["seconds"] = done.get("seconds") or 0.0
        done["seconds"] += time.perf_counter() - tick
        if cost is not None:
            done["cost"] = _merge_cost(done.get("cost"), cost)
            cost = Cost()
            cost.warm = True
        if partial:
            partial.write_text(json.dumps(_rounded(done)))
        if progress:
            progress(len(rows))
    ordered = [done["batches"][str(s)] for s in range(0, len(ds), BATCH)]
    out = dict(per_image={k: [np.nan if v is None else v
                              for b in ordered for v in b["per_image"][k]] for k in METRICS},
               curves={m: sum((b["curves"][m] for b in ordered), [])
                       for m in ("deletion", "insertion")},
               seconds=done.get("seconds", 0.0))
    if timed:
        out["cost"] = _finish_cost(done["cost"])
    return out


def _merge_cost(total, cost: Cost) -> dict:
    total = dict(total or {"seconds": 0.0, "forward": 0, "backward": 0, "images": 0})
    total["seconds"] += cost.seconds
    total["forward"] += cost.forward
    total["backward"] += cost.backward
    total["images"] += cost.images
    return total


def _finish_cost(total: dict) -> dict:
    n = max(total["images"], 1)
    return dict(ms_per_image=1000 * total["seconds"] / n,
                forward_per_image=total["forward"] / n,
                backward_per_image=total["backward"] / n, timed_on_images=total["images"])


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------

def versions() -> dict:
    out = {"python": platform.python_version()}
    for package in ("tensorflow-cpu", "tensorflow", "keras", "numpy", "scipy", "lime",
                    "alibi"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            pass
    return out


def _rounded(x):
    """Floats to 6 significant digits (NaN as null), so files stay small and readable."""
    if isinstance(x, (float, np.floating)):
        return None if np.isnan(x) else float(f"{float(x):.6g}")
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_rounded(v) for v in x]
    return x


def write(name: str, payload: dict, ds, **about) -> Path:
    """Save one entry's results (or ``truth``) with how they were made."""
    RESULTS.mkdir(exist_ok=True)
    payload = dict(name=name, command=f"python -m shared.scorecard {name}",
                   date=datetime.date.today().isoformat(), versions=versions(),
                   split="test", per_class=PER_CLASS, sanity_per_class=SANITY_PER_CLASS,
                   draws=DRAWS, steps=STEPS, indices=ds.info["indices"],
                   labels=ds.labels.tolist(), targets=ds.info["targets"], **about, **payload)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(_rounded(payload), separators=(",", ":")) + "\n")
    return path
