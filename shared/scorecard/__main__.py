"""``python -m shared.scorecard``: compute what is missing, resumably."""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from . import experiments, run
from .tables import load


class Progress:
    """A one-line progress report on stderr."""

    def __init__(self, label: str, total: int):
        self.label, self.total, self.done, self.start = label, total, 0, time.time()

    def __call__(self, n: int):
        self.done += n
        rate = (time.time() - self.start) / max(self.done, 1)
        print(f"\r{self.label}: {self.done}/{self.total} images, "
              f"~{rate * (self.total - self.done):.0f} s left   ", end="", file=sys.stderr,
              flush=True)

    def close(self) -> float:
        seconds = time.time() - self.start
        print(f"\r{self.label}: {self.total} images in {seconds:.0f} s" + " " * 20,
              file=sys.stderr, flush=True)
        return seconds


def main(argv=None) -> None:
    from shared.notebook import quiet_tensorflow
    quiet_tensorflow()
    every = run.entries()
    p = argparse.ArgumentParser(prog="python -m shared.scorecard",
                                description=__doc__.split("\n")[0])
    p.add_argument("names", nargs="*", help=f"truth, entries ({', '.join(every)}) and/or "
                                            f"experiments ({', '.join(experiments.EXPERIMENTS)})")
    p.add_argument("--force", action="store_true", help="recompute results that exist")
    p.add_argument("--list", action="store_true", help="list the committed results")
    args = p.parse_args(argv)
    if args.list:
        for name in ["truth", *every, *experiments.EXPERIMENTS]:
            path = run.RESULTS / f"{name}.json"
            stamp = json.loads(path.read_text())["date"] if path.exists() else "-"
            print(f"{name:28s} {stamp}")
        return
    unknown = sorted(set(args.names) - set(every) - {"truth", *experiments.EXPERIMENTS})
    if unknown:
        p.error(f"unknown {unknown}; choose from truth, {', '.join(every)}, "
                f"{', '.join(experiments.EXPERIMENTS)}")
    names = args.names or ["truth", *every, *experiments.EXPERIMENTS]
    chosen = [n for n in names if n in experiments.EXPERIMENTS]
    names = [n for n in names if n not in experiments.EXPERIMENTS]
    if not args.force:
        names = [n for n in names if not (run.RESULTS / f"{n}.json").exists()]
    elif chosen:
        for name in chosen:               # an experiment resumes part by part; --force restarts
            (run.RESULTS / f"{name}.json").unlink(missing_ok=True)
    if names:
        scorecard(names, every)
    # method by method across the experiments, cheapest first: a run stopped early
    # leaves every experiment with the same, largest set of methods
    for method in experiments._method_entries() if chosen else ():
        for name in chosen:
            experiments.compute_experiment(name, methods=[method])


def scorecard(names, every) -> None:
    """Compute the scorecard's ``names`` (the truth first, then each entry)."""
    from shared import models
    model = models.load_model(variant="default")
    ds = run.evaluation_set(model)
    run.RESULTS.mkdir(exist_ok=True)
    if "truth" in names:
        bar = Progress("truth", len(ds))
        truth = run.image_truth(model, ds, ds.info["targets"], progress=bar)
        seconds = bar.close()
        run.write("truth", dict(images=truth, seconds=seconds), ds)
    truth = load("truth")["images"]
    for name in names:
        if name == "truth":
            continue
        entry = every[name]
        partial = run.RESULTS / f"{name}.partial.json"
        bar = Progress(name, len(ds))
        result = run.evaluate_entry(entry, model, ds, truth, partial=partial, progress=bar,
                                    timed=not entry.is_control)
        bar.close()
        seconds = result.pop("seconds")
        path = run.write(name, result, ds, method=entry.method, params=entry.params,
                         note=entry.note, seconds=seconds)
        partial.unlink(missing_ok=True)
        cost = result.get("cost", {})
        print(f"wrote {path.name}: {seconds:.0f} s in all; maps "
              f"{cost.get('ms_per_image', np.nan):.0f} ms/image, "
              f"{cost.get('forward_per_image', 0):.0f} forward + "
              f"{cost.get('backward_per_image', 0):.0f} backward passes/image")


if __name__ == "__main__":
    main()
