"""Speed of the perturbation methods (occlusion, RISE) against bare forward passes.

    python -m tools.benchmark_perturbation [--images 1] [--repeats 3]

All measured in this one run: each method at its defaults is timed in alternation with
the same number of bare batched forward passes through ``methods.scores`` (one block of
``batch_size`` images sent again and again, same score, same batch size), after a
warm-up of both; the ratio is the median of the per-pair ratios (target <= 1.3 each).
Occlusion needs ``positions + 1`` forward passes per image, RISE ``n_samples``.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

TARGET = 1.3


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _paired(fn, reference, repeats: int, warm_up=None) -> tuple[float, float, float]:
    """Median seconds of ``fn`` and ``reference`` timed in alternation, and the median of
    their per-pair ratios (robust to the slow drifts in load of a shared machine)."""
    for call in warm_up or (fn, reference):
        call()
    pairs = [(_seconds(fn), _seconds(reference)) for _ in range(repeats)]
    a, b = np.array(pairs).T
    return float(np.median(a)), float(np.median(b)), float(np.median(a / b))


def bare_forward(model, images, targets, n_per_image: int, *, score: str, batch_size: int):
    """A function that sends ``n_per_image`` images per explained image through
    ``methods.scores`` in batches of ``batch_size``: the passes a method needs, bare."""
    from shared import methods
    block = np.repeat(images[:1], batch_size, axis=0)
    labels = np.full(batch_size, targets[0], np.int32)
    total = n_per_image * len(images)

    def run():
        for start in range(0, total, batch_size):
            k = min(batch_size, total - start)
            methods.scores(model, block[:k], labels[:k], score=score, batch_size=batch_size)
    return run


def _needed_passes(name: str, method, size) -> int:
    """Forward passes per image at the defaults: occlusion's positions + 1, RISE's masks."""
    d = method.defaults
    if name == "rise":
        return d["n_samples"]
    from shared.methods.occlusion import positions
    rows = positions(size[0], d["patch"], d["stride"])
    cols = positions(size[1], d["patch"], d["stride"])
    return len(rows) * len(cols) + 1


def run(model, images, *, repeats: int = 3, n_images: int = 1) -> dict:
    """Print and return, for occlusion and RISE at their defaults: ms per explanation,
    forward passes per image, and the ratio to as many bare batched forward passes."""
    from shared import methods
    from shared.methods.occlusion import occlusion   # the functions, whether or not the
    from shared.methods.rise import rise             # package re-exports them

    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    if load > 0.5:
        print(f"warning: the machine is busy (load {load:.1f} per core): timings are noisy")
    x = methods.check_images(images, model)[:n_images]
    targets = methods.resolve_targets(model, x)
    out = {}
    print(f"perturbation methods at their defaults, {len(x)} image(s) of "
          f"{x.shape[1]} x {x.shape[2]} px, medians of {repeats} interleaved pairs:")
    for name, method, cheap in (
            ("occlusion", occlusion, dict(patch=x.shape[1], stride=1)),
            ("rise", rise, dict(n_samples=64))):
        d = method.defaults
        n = _needed_passes(name, method, x.shape[1:3])
        reference = bare_forward(model, x, targets, n, score=d["score"],
                                 batch_size=d["batch_size"])
        counted = []

        def explain():
            with methods.count_passes() as passes:
                method(model, x, targets)
            counted.append(passes.per_image(len(x)).forward)

        warm = (lambda: method(model, x, targets, **cheap), reference)
        t_method, t_ref, ratio = _paired(explain, reference, repeats, warm_up=warm)
        assert set(counted) == {n}, f"{name}: counted {counted} passes per image, expected {n}"
        ms = 1000 * t_method / len(x)
        verdict = "met" if ratio <= TARGET else "NOT met"
        out[name] = dict(ms=ms, reference_ms=1000 * t_ref / len(x), passes=n, ratio=ratio,
                         met=ratio <= TARGET)
        params = ", ".join(f"{k}={v!r}" for k, v in d.items())
        print(f"  {name}({params})")
        print(f"    {ms:9.1f} ms per explanation, {n:.0f} forward passes per image; the same "
              f"passes bare: {1000 * t_ref / len(x):.1f} ms")
        print(f"    ratio {ratio:.3f} (target <= {TARGET:g}): {verdict}")
    print("  (ratios: medians of per-pair ratios, each pair timed back to back)")
    return out


def _images(n: int) -> np.ndarray:
    """Test-split images, or uniform noise if the data module cannot give them."""
    try:
        from shared import data
        images = data.load_split("test", 1).images[:n]
        if len(images) >= n:
            return images
        raise ValueError(f"only {len(images)} test images")
    except Exception as error:   # another engineer may be rewriting shared/data.py
        print(f"warning: data.load_split failed ({type(error).__name__}: {error}); "
              "timing on uniform noise images instead")
        return np.random.default_rng(0).random((n, 224, 224, 3), dtype=np.float32)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", type=int, default=1, help="images explained per timing")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    from shared import models
    run(models.load_model(), _images(args.images), repeats=args.repeats, n_images=args.images)


if __name__ == "__main__":
    main()
