"""Speed of LIME and anchors, as ratios measured in one run.

* LIME through :func:`shared.methods.scores` (perturbations built and scored 64 at a
  time) against the lime package used the way its examples use it
  (``classifier_fn=model.predict``, ``explain_instance``'s default ``batch_size=10``),
  at the same number of samples, with the same seed and segmentation: the ratio (target:
  ours at least 2x faster) and whether the two explanations agree (the weights, and the
  top five superpixels);
* LIME at its defaults against the bare batched forward passes it needs (``n_samples``
  images per explained image through :func:`shared.methods.scores`; target <= 1.3);
* milliseconds (and forward passes) per anchor explanation at the defaults.

Timings alternate (ours, the lime package, the bare passes) so that each ratio compares
runs made seconds apart: the machine is shared and its load drifts.
"""

from __future__ import annotations

import contextlib
import functools
import io

import numpy as np

from .timing import timed, verdict, warn_if_busy


def _stock_lime(model, image, target, n_samples, seed):
    """The lime package as in its examples: model.predict as classifier_fn, the default
    batch_size=10. Only the segmentation is given (lime's own quickshift parameters, the
    same seeded function ours uses: lime's random_seed never reaches quickshift)."""
    from lime.lime_image import LimeImageExplainer

    from shared.methods import segmentation_function
    explainer = LimeImageExplainer(random_state=seed)
    with contextlib.redirect_stderr(io.StringIO()):        # lime's progress bar
        return explainer.explain_instance(
            image, functools.partial(model.predict, verbose=0), labels=(int(target),),
            hide_color=None, top_labels=None, num_samples=n_samples,
            segmentation_fn=segmentation_function("quickshift", seed), random_seed=seed)


def _bare_passes(model, image, n_samples, batch_size=64):
    """The forward passes LIME needs: n_samples images, batch_size at a time."""
    from shared import methods
    block = np.repeat(image[None], batch_size, axis=0)
    for start in range(0, n_samples, batch_size):
        methods.scores(model, block[:min(batch_size, n_samples - start)], score="probability",
                       batch_size=batch_size)


def lime_speed(model, images, *, repeats: int = 1, seed: int = 0) -> dict:
    """LIME at its defaults (n_samples, quickshift, superpixel means, probabilities) against
    the lime package's example usage and against the bare forward passes."""
    from shared import methods
    from shared.methods import lime_explanation
    n = lime_explanation.__kwdefaults__["n_samples"]
    x = methods.check_images(images, model)
    targets = methods.resolve_targets(model, x)
    lime_explanation(model, x[0], int(targets[0]), n_samples=64)      # warm-up, tracing
    model.predict(x[:10], verbose=0)
    rows = []
    for i, (image, t) in enumerate(zip(x, targets)):
        for _ in range(repeats):
            ours_s, ours = timed(lambda: lime_explanation(model, image, int(t), seed=seed))
            stock_s, stock = timed(lambda: _stock_lime(model, image, t, n, seed))
            bare_s, _ = timed(lambda: _bare_passes(model, image, n))
            weights = np.zeros(ours.n_segments)
            for k, w in stock.local_exp[int(t)]:
                weights[k] = w
            rows.append(dict(
                image=i, ours=ours_s, stock=stock_s, bare=bare_s,
                same_segments=bool(np.array_equal(ours.segments, stock.segments)),
                max_weight_difference=float(np.abs(ours.weights - weights).max()
                                            / max(np.abs(weights).max(), 1e-12)),
                same_top5=bool(np.array_equal(ours.top(5),
                                              np.argsort(-weights, kind="stable")[:5])),
                segments=ours.n_segments, r2=ours.r2))
    speedup = float(np.median([r["stock"] / r["ours"] for r in rows]))
    overhead = float(np.median([r["ours"] / r["bare"] for r in rows]))
    agree = all(r["same_segments"] and r["same_top5"] for r in rows)
    worst = max(r["max_weight_difference"] for r in rows)
    print(f"LIME at its defaults ({n} samples, quickshift, superpixel means), "
          f"{len(x)} image(s) x {repeats}, {x.shape[1]} px:")
    for r in rows:
        print(f"  image {r['image']}: ours {r['ours']:.1f} s, lime package {r['stock']:.1f} s, "
              f"bare forward passes {r['bare']:.1f} s ({r['segments']} superpixels, "
              f"local R^2 {r['r2']:.2f})")
    pairs = ", ".join(f"{r['stock'] / r['ours']:.2f}" for r in rows)
    print(f"  lime package (model.predict, batch_size=10) / ours: {speedup:.2f}x faster "
          f"{verdict(speedup, 2, at_least=True)} (each pair: {pairs})")
    print(f"  explanations agree: {'yes' if agree and worst < 1e-3 else 'NO'} (same superpixels "
          f"and top 5; largest weight difference {worst:.1e} of the largest weight)")
    print("  (medians of per-pair ratios; each pair timed back to back)")
    pairs = ", ".join(f"{r['ours'] / r['bare']:.2f}" for r in rows)
    print(f"  ours / the {n} bare forward passes it needs: {overhead:.2f} "
          f"{verdict(overhead, 1.3)} (each pair: {pairs})")
    return dict(rows=rows, speedup=speedup, overhead=overhead, agree=agree,
                max_weight_difference=worst)


def anchor_speed(model, images, *, n_images: int = 3) -> dict:
    """ms and forward passes per anchor explanation at the defaults."""
    from shared import methods
    from shared.methods import anchor_explanation
    x = methods.check_images(images, model)[:n_images]
    anchor_explanation(model, x[0])                      # warm-up: import alibi, tracing
    rows = []
    for i, image in enumerate(x):
        with methods.count_passes() as passes:
            took, r = timed(lambda: anchor_explanation(model, image))
        rows.append(dict(ms=1000 * took, forward=passes.forward, precision=r.precision,
                         coverage=r.coverage, size=len(r.superpixels), empty=r.empty,
                         segments=int(r.segments.max()) + 1))
        print(f"  anchor of image {i}: {1000 * took:.0f} ms, {passes.forward} forward "
              f"passes, {len(r.superpixels)} of {rows[-1]['segments']} superpixels, precision "
              f"{r.precision:.2f}, coverage {r.coverage:.2f}{' (empty)' if r.empty else ''}")
    ms = float(np.median([r["ms"] for r in rows]))
    print(f"  anchors at the defaults: {ms:.0f} ms per explanation (median of {len(rows)})")
    return dict(rows=rows, ms=ms)


def run(model, images, *, n_images: int = 1, repeats: int = 1, n_anchors: int = 3) -> dict:
    """Print and return every number above: LIME on ``n_images`` images (each timed
    ``repeats`` times), anchors on ``n_anchors``."""
    warn_if_busy()
    out = dict(lime=lime_speed(model, images[:n_images], repeats=repeats))
    print("anchors (alibi AnchorImage, slic with alibi's parameters, image-mean background):")
    out["anchors"] = anchor_speed(model, images, n_images=n_anchors)
    return out
