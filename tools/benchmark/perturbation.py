"""Speed of the perturbation methods (occlusion, RISE) against bare forward passes.

All measured in this one run: each method at its defaults is timed in alternation with
the same number of bare batched forward passes through ``methods.scores`` (one block of
``batch_size`` images sent again and again, same score, same batch size), after a
warm-up of both; the ratio is the median of the per-pair ratios (target <= 1.3 each).
Occlusion needs ``positions + 1`` forward passes per image, RISE ``n_samples``.
"""

from __future__ import annotations

import numpy as np

from .timing import paired, verdict, warn_if_busy

TARGET = 1.3


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
    from shared import methods
    rows = methods.patch_positions(size[0], d["patch"], d["stride"])
    cols = methods.patch_positions(size[1], d["patch"], d["stride"])
    return len(rows) * len(cols) + 1


def run(model, images, *, repeats: int = 3, n_images: int = 1) -> dict:
    """Print and return, for occlusion and RISE at their defaults: ms per explanation,
    forward passes per image, and the ratio to as many bare batched forward passes."""
    from shared import methods

    warn_if_busy()
    x = methods.check_images(images, model)[:n_images]
    targets = methods.resolve_targets(model, x)
    out = {}
    print(f"perturbation methods at their defaults, {len(x)} image(s) of "
          f"{x.shape[1]} x {x.shape[2]} px, medians of {repeats} interleaved pairs:")
    for name, method, cheap in (
            ("occlusion", methods.occlusion, dict(patch=x.shape[1], stride=1)),
            ("rise", methods.rise, dict(n_samples=64))):
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
        t_method, t_ref, ratio = paired(explain, reference, repeats, warm_up=warm)
        assert set(counted) == {n}, f"{name}: counted {counted} passes per image, expected {n}"
        ms = 1000 * t_method / len(x)
        out[name] = dict(ms=ms, reference_ms=1000 * t_ref / len(x), passes=n, ratio=ratio,
                         met=ratio <= TARGET)
        params = ", ".join(f"{k}={v!r}" for k, v in d.items())
        print(f"  {name}({params})")
        print(f"    {ms:9.1f} ms per explanation, {n:.0f} forward passes per image; the same "
              f"passes bare: {1000 * t_ref / len(x):.1f} ms")
        print(f"    ratio {ratio:.3f} {verdict(ratio, TARGET)}")
    print("  (ratios: medians of per-pair ratios, each pair timed back to back)")
    return out
