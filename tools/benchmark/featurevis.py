"""Speed of feature visualisation on the shared checkpoint.

Printed, all measured in this one run (medians of ``repeats`` interleaved timings after a
warm-up that also compiles):

* milliseconds per optimisation step for a batch of six class visualisations at
  224 x 224: raw pixels and the Fourier basis, each with lucid's transforms (the
  default: two forward passes and one backward pass per image and step, since the
  history is measured on the untransformed image) and without them (one and one);
* beside them, one batched forward + backward pass of the same six images through the
  logits model, the floor any gradient-ascent step pays;
* milliseconds for one Deep Dream step (one image) at each octave size of the defaults
  (3 octaves, scale 1.4: 114, 160 and 224 pixels), together.

A step's time is the difference between runs of ``long`` and ``short`` steps divided by
the difference in steps, so that set-up and the final evaluation are not counted.
"""

from __future__ import annotations

import numpy as np

from .timing import median_ms, seconds


def optimisation_steps(model, *, repeats: int = 3, short: int = 2, long: int = 8) -> dict:
    """ms per step of :func:`shared.featurevis.optimize` for six class logits."""
    import tensorflow as tf

    from shared import featurevis as fv
    from shared.methods import network

    objectives = [fv.class_logit(c) for c in range(6)]
    configs = {f"{p}, {'lucid transforms' if t else 'no transforms'}": dict(
        parametrization=p, transforms=t) for p in ("pixels", "fourier") for t in (True, False)}
    for kwargs in configs.values():                  # compile everything first
        fv.optimize(model, objectives, steps=short, **kwargs)
    times = {name: [] for name in configs}
    for _ in range(repeats):                         # interleaved: drifts in load cancel
        for name, kwargs in configs.items():
            a = seconds(lambda: fv.optimize(model, objectives, steps=short, **kwargs))
            b = seconds(lambda: fv.optimize(model, objectives, steps=long, **kwargs))
            times[name].append(1000 * (b - a) / (long - short))

    logits_model = network(model).logits_model
    x = tf.constant(np.random.default_rng(0).uniform(0, 1, (6, 224, 224, 3)), tf.float32)

    @tf.function
    def forward_backward(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(logits_model(x, training=False)[:, 0])
        return tape.gradient(total, x)

    floor = median_ms(lambda: forward_backward(x).numpy(), repeats)
    print("activation maximisation, 6 class visualisations at 224 x 224, ms per step:")
    out = {}
    for name, values in times.items():
        out[name] = float(np.median(values))
        print(f"  {name:32s} {out[name]:7.0f} ms  ({out[name] / floor:.1f} x one forward + "
              "backward pass of the batch)")
    print(f"  {'forward + backward of 6 images':32s} {floor:7.0f} ms")
    out["forward + backward"] = floor
    return out


def deep_dream_steps(model, *, repeats: int = 3, octaves: int = 3,
                     octave_scale: float = 1.4, short: int = 2, long: int = 8) -> dict:
    """ms per Deep Dream step (one image): one step at each octave size of
    :func:`deep_dream`'s defaults, from ``long`` against ``short`` steps per octave."""
    from shared import featurevis as fv
    from shared.models import LAST_CONV_LAYER

    size = tuple(model.inputs[0].shape[1:3])
    image = np.random.default_rng(0).uniform(0, 1, size + (3,)).astype(np.float32)
    sizes = fv.octave_sizes(size, octaves, octave_scale)

    def dream(steps):
        return fv.deep_dream(model, image, [LAST_CONV_LAYER], octaves=octaves,
                             octave_scale=octave_scale, steps_per_octave=steps)
    dream(short)                                     # compiles for every size
    per_step = []
    for _ in range(repeats):
        a, b = seconds(lambda: dream(short)), seconds(lambda: dream(long))
        per_step.append(1000 * (b - a) / (long - short))
    ms = float(np.median(per_step))
    shown = ", ".join(f"{h} x {w}" for h, w in sizes)
    print(f"Deep Dream at {LAST_CONV_LAYER}, one image: {ms:.0f} ms for one step at each "
          f"octave ({shown})")
    return {"ms_per_step_all_octaves": ms, "octaves": sizes}


def run(model, *, repeats: int = 3) -> dict:
    """Print and return every number above for ``model`` (224 x 224 input)."""
    return {"optimize": optimisation_steps(model, repeats=repeats),
            "deep_dream": deep_dream_steps(model, repeats=repeats)}
