"""Speed of the gradient methods, as ratios to the model's own passes (a report, not a test).

    python -m tools.benchmark_methods [--steps 32] [--batch-size 32] [--repeats 3]

Per image, at one batch of ``batch_size`` images, all measured in this one run (medians
of ``repeats`` interleaved timings after a warm-up): one compiled forward pass, Grad-CAM and the
vanilla input gradient, with their ratios to the forward pass (target <= 4); and
Integrated Gradients with ``steps`` steps against ``steps`` forward + backward passes of
the same batch (target <= 1.3: the batching over steps should cost almost nothing).
Ratios compare timings taken side by side, but a busy machine still makes them noisy.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _paired(fn, reference, repeats: int) -> tuple[float, float, float]:
    """Time ``fn`` and ``reference`` in alternation; medians of each and of their ratio.

    Interleaving makes the ratio robust to the slow drifts in load that a shared 2-core
    machine has: each ratio compares two timings taken seconds apart.
    """
    fn(), reference()  # warm-up (tracing, caches)
    pairs = [(_seconds(fn), _seconds(reference)) for _ in range(repeats)]
    a, b = np.array(pairs).T
    return float(np.median(a)), float(np.median(b)), float(np.median(a / b))


def _verdict(ratio: float, target: float) -> str:
    met = "met" if ratio <= target else "NOT met"
    return f"measured ratio {ratio:.2f} (target <= {target:g}): {met}"


def run(model, images, *, batch_size: int = 32, steps: int = 32, repeats: int = 3) -> dict:
    """Time the gradient methods on one batch of ``images`` and print the ratios."""
    import tensorflow as tf

    from shared import methods
    from shared.methods import _core
    from shared.models import logits_model

    x = _core.check_images(images, model)[:batch_size]
    if len(x) < batch_size:  # repeat images to fill one batch
        x = np.resize(x, (batch_size,) + x.shape[1:])
    targets = _core.resolve_targets(model, x)
    n = len(x)
    xt, tt = tf.constant(x), tf.constant(targets)
    net = logits_model(model)
    forward = tf.function(lambda v: net(v, training=False))
    gradient = _core.input_gradient_fn(model)  # one forward + backward pass of the batch

    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    if load > 0.5:
        print(f"warning: the machine is busy (load {load:.1f} per core): timings are noisy")
    fwd = lambda: forward(xt).numpy()  # noqa: E731
    t, ratio = {}, {}
    t["gradcam"], t["forward"], ratio["gradcam"] = _paired(
        lambda: methods.gradcam(model, x, targets, batch_size=batch_size), fwd, repeats)
    t["gradient"], _, ratio["gradient"] = _paired(
        lambda: methods.input_gradients(model, x, targets, batch_size=batch_size), fwd, repeats)
    t["ig"], passes, ratio["ig"] = _paired(
        lambda: methods.ig_attributions(model, x, targets, steps=steps, batch_size=batch_size),
        lambda: [gradient(xt, tt).numpy() for _ in range(steps)], repeats)
    t["backward"] = passes / steps
    ms = {k: 1000 * v / n for k, v in t.items()}
    print(f"gradient methods, {n} images of {x.shape[1]} x {x.shape[2]} px, batch {batch_size}, "
          f"medians of {repeats} (ms per image):")
    print(f"  forward pass (compiled): {ms['forward']:.2f} ms")
    for key, label in (("gradcam", "Grad-CAM"), ("gradient", "vanilla gradient")):
        print(f"  {label}: {ms[key]:.2f} ms, {_verdict(ratio[key], 4)}")
    print(f"  Integrated Gradients, {steps} steps: {ms['ig']:.1f} ms; {steps} forward + backward "
          f"passes: {steps * ms['backward']:.1f} ms; {_verdict(ratio['ig'], 1.3)}")
    print("  (ratios: medians of per-pair ratios, each pair timed back to back)")
    return dict(ms_per_image=ms, ratios=dict(gradcam=ratio["gradcam"],
                                             gradient=ratio["gradient"],
                                             integrated_gradients=ratio["ig"]))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--steps", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    from shared import data, models
    images = data.load_split("test", -(-args.batch_size // len(data.CLASS_NAMES))).images
    run(models.load_model(), images, batch_size=args.batch_size, steps=args.steps,
        repeats=args.repeats)


if __name__ == "__main__":
    main()
