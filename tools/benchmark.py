"""Print measured speeds and their ratios to the book's targets (a report, not a test).

    python -m tools.benchmark            # everything, including executing the whole book
    python -m tools.benchmark --no-book  # skip the book execution (15+ minutes)

All numbers are measured in this one run on this machine: a ratio compares two timings
taken side by side, so it means something even on a busy or slow machine.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def verdict(value: float, target: float, *, at_least: bool = False) -> str:
    ok = value >= target if at_least else value <= target
    return f"(target {'>=' if at_least else '<='} {target:g}): {'met' if ok else 'NOT met'}"


def bench_generation(n_per_class: int = 50) -> None:
    from shared import data
    data.generate(1, 0)  # warm-up
    t = time.perf_counter()
    ds = data.generate(n_per_class, 12345)
    rate = len(ds) / (time.perf_counter() - t)
    print(f"data generation: {rate:.0f} images/s at {data.IMAGE_SIZE} px "
          f"({len(ds)} images) {verdict(rate, 100, at_least=True)}")


def bench_forward() -> None:
    import keras

    from shared import models
    from shared.train import forward_ms_per_image
    model = models.load_model()
    size = model.inputs[0].shape[1]
    reference = keras.applications.Xception(weights=None, input_shape=(size, size, 3))
    ours = forward_ms_per_image(model, size, repeats=5)
    ref = forward_ms_per_image(reference, size, repeats=5)
    print(f"forward, batch 64, {size} px: shared model {ours:.2f} ms/image, "
          f"keras Xception {ref:.2f} ms/image")
    print(f"  ratio {ours / ref:.3f} {verdict(ours / ref, 0.2)}")


def bench_methods() -> None:
    """Every method (ms and passes per image), the gradient and faithfulness ratios, the
    perturbation methods against their bare forward passes, LIME against the lime
    package's own usage, and feature visualisation's ms per optimisation step."""
    from shared import data, models
    from tools import (benchmark_featurevis, benchmark_lime, benchmark_methods,
                       benchmark_perturbation)
    model, images = models.load_model(), data.load_split("test", 6).images
    benchmark_methods.run(model, images)
    benchmark_perturbation.run(model, images)
    benchmark_lime.run(model, images)
    benchmark_featurevis.run(model)


def bench_book() -> None:
    from tools.execute_chapters import chapter_sources, execute, sync
    total = 0.0
    for md in chapter_sources():
        seconds = execute(sync(md), md.parent)
        total += seconds
        print(f"  {md.stem}: {seconds:.0f} s")
    print(f"executing the whole book: {total:.0f} s ({total / 60:.1f} min)")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--no-book", action="store_true", help="do not execute the book")
    args = p.parse_args(argv)
    bench_generation()
    bench_forward()
    bench_methods()
    if not args.no_book:
        bench_book()


if __name__ == "__main__":
    main()
