"""Speed of the methods and metrics, as ratios to the model's own passes.

All measured in this one run, medians of ``repeats`` interleaved timings after a warm-up:

* every registered method at its defaults: milliseconds and forward + backward passes per
  image (costly methods are timed on fewer images: the count is printed);
* Grad-CAM and the vanilla gradient against one batched forward pass (target <= 4);
* Integrated Gradients with 32 steps against 32 forward + backward passes (target <= 1.3);
* deletion plus insertion of one map at the default number of steps against the same
  number of batched forward passes (target <= 1.3), and how much the AUCs move between
  that number of steps and Petsiuk et al.'s one step per 224 pixels.
"""

from __future__ import annotations

import numpy as np

from .timing import paired, seconds, verdict, warn_if_busy


def every_method(model, images, *, batch_size: int = 32, budget_s: float = 20.0) -> dict:
    """ms and passes per image of every registered method at its defaults. A method is
    first timed on one image; it gets as many images as fit in ``budget_s``."""
    from shared import methods
    print(f"every registered method at its defaults ({images.shape[1]} px, batch {batch_size}):")
    out = {}
    for name, method in methods.ATTRIBUTIONS.items():
        method(model, images[:1])                                  # warm-up, tracing
        one = seconds(lambda: method(model, images[:1]))
        n = int(np.clip(budget_s / max(one, 1e-3), 1, len(images)))
        targets = methods.resolve_targets(model, images[:n])
        with methods.count_passes() as passes:
            took = seconds(lambda: method(model, images[:n], targets))
        per = passes.per_image(n)
        out[name] = dict(ms=1000 * took / n, forward=per.forward, backward=per.backward)
        print(f"  {name:22s} {1000 * took / n:9.1f} ms/image  {per.forward:6.0f} forward "
              f"+ {per.backward:6.0f} backward passes/image  ({n} images)")
    return out


def gradient_ratios(model, images, *, batch_size: int = 32, steps: int = 32,
                    repeats: int = 3) -> dict:
    """Grad-CAM and the vanilla gradient against one batched forward pass, and Integrated
    Gradients against ``steps`` forward + backward passes."""
    from shared import methods
    x = methods.check_images(images, model)[:batch_size]
    targets = methods.resolve_targets(model, x)
    n = len(x)
    fwd = lambda: methods.scores(model, x, batch_size=batch_size)  # noqa: E731
    grad = lambda: methods.input_gradients(model, x, targets, batch_size=batch_size)  # noqa: E731
    t, ratio = {}, {}
    t["gradcam"], t["forward"], ratio["gradcam"] = paired(
        lambda: methods.gradcam(model, x, targets, batch_size=batch_size), fwd, repeats)
    t["gradient"], _, ratio["gradient"] = paired(grad, fwd, repeats)
    t["ig"], passes, ratio["ig"] = paired(
        lambda: methods.ig_attributions(model, x, targets, steps=steps, batch_size=batch_size),
        lambda: [grad() for _ in range(steps)], repeats)
    ms = {k: 1000 * v / n for k, v in t.items()}
    print(f"gradient methods, {n} images, batch {batch_size}, medians of {repeats}:")
    print(f"  one batched forward pass (methods.scores): {ms['forward']:.2f} ms/image")
    for key, label in (("gradcam", "Grad-CAM"), ("gradient", "vanilla gradient")):
        print(f"  {label}: {ms[key]:.2f} ms/image, ratio {ratio[key]:.2f} "
              f"{verdict(ratio[key], 4)}")
    print(f"  Integrated Gradients, {steps} steps: {ms['ig']:.1f} ms/image; {steps} forward + "
          f"backward passes: {1000 * passes / n:.1f} ms/image; ratio {ratio['ig']:.2f} "
          f"{verdict(ratio['ig'], 1.3)}")
    return ratio


def faithfulness(model, images, *, repeats: int = 3) -> dict:
    """Deletion + insertion of one map against the same number of forward passes, and
    the AUCs at the default steps against one step per 224 pixels."""
    import inspect

    from shared import methods, metrics
    steps = inspect.signature(metrics.perturbation_curves).parameters["steps"].default
    x = methods.check_images(images, model)[:1]
    t = methods.resolve_targets(model, x)
    m = methods.gradcam(model, x, t)
    blank = np.repeat(x, steps + 1, axis=0)
    both = lambda: (metrics.deletion(model, x, m, t), metrics.insertion(model, x, m, t))  # noqa: E731
    forward = lambda: [methods.scores(model, blank, np.repeat(t, steps + 1)) for _ in range(2)]  # noqa: E731
    _, _, ratio = paired(both, forward, repeats)
    print(f"deletion + insertion of one map, {steps} steps each: ratio {ratio:.2f} "
          f"{verdict(ratio, 1.3)} (against 2 x {steps + 1} batched forward passes)")
    fine = x.shape[1] * x.shape[2] // 224
    sample = methods.check_images(images, model)[:6]
    ts = methods.resolve_targets(model, sample)
    maps = methods.gradcam(model, sample, ts)
    diffs = []
    for f in (metrics.deletion, metrics.insertion):
        diffs.append(np.abs(f(model, sample, maps, ts) - f(model, sample, maps, ts, steps=fine)))
    print(f"  AUC at {steps} steps vs {fine} steps (Petsiuk et al.: 224 pixels per step), "
          f"{len(sample)} images, Grad-CAM maps: largest difference {np.max(diffs):.4f}")
    return dict(ratio=ratio, auc_difference=float(np.max(diffs)))


def run(model, images, *, batch_size: int = 32, steps: int = 32, repeats: int = 3) -> dict:
    """Print and return every number above."""
    warn_if_busy()
    out = dict(methods=every_method(model, images, batch_size=batch_size))
    out["ratios"] = gradient_ratios(model, images, batch_size=batch_size, steps=steps,
                                    repeats=repeats)
    out["faithfulness"] = faithfulness(model, images, repeats=repeats)
    print("  (ratios: medians of per-pair ratios, each pair timed back to back)")
    return out
