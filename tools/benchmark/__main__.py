"""``python -m tools.benchmark``: see the package's docstring."""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SUBJECTS = ["generation", "forward", "methods", "perturbation", "lime", "featurevis", "scorecard",
            "startup", "book"]
"""In the order they run (``startup`` times fresh interpreters; ``book`` only reads the
recorded chapter times)."""


def main(argv=None) -> None:
    import tools.benchmark as package
    p = argparse.ArgumentParser(prog="python -m tools.benchmark",
                                description=package.__doc__.split("\n")[0])
    p.add_argument("subjects", nargs="*", metavar="subject",
                   help=f"what to measure (default: all): {', '.join(SUBJECTS)}")
    p.add_argument("--repeats", type=int, help="interleaved timings per median (default: "
                   "3, and 1 for LIME)")
    p.add_argument("--images", type=int, default=1,
                   help="images explained by LIME, occlusion and RISE (default: 1)")
    p.add_argument("--anchors", type=int, default=3,
                   help="images explained by anchors (default: 3)")
    p.add_argument("--batch-size", type=int, default=32,
                   help="batch of the gradient ratios (default: 32)")
    p.add_argument("--steps", type=int, default=32,
                   help="Integrated Gradients steps (default: 32)")
    args = p.parse_args(argv)
    unknown = sorted(set(args.subjects) - set(SUBJECTS))
    if unknown:
        p.error(f"unknown subject(s) {unknown}; choose from {', '.join(SUBJECTS)}")
    subjects = [s for s in SUBJECTS if s in (args.subjects or SUBJECTS)]
    repeats = {} if args.repeats is None else dict(repeats=args.repeats)

    from .book import chapter_times, startup
    if set(subjects) <= {"startup", "book"}:    # no model needed
        for subject in subjects:
            {"startup": startup, "book": chapter_times}[subject]()
        return

    from shared import data, models
    from shared.notebook import quiet_tensorflow

    from . import featurevis, generation, lime_anchors, methods, perturbation, scorecard
    quiet_tensorflow()
    model = models.load_model(variant="default")
    n = max(-(-args.batch_size // len(data.CLASS_NAMES)), args.images, args.anchors)
    images = data.load_split("test", n).images
    run = {
        "generation": lambda: generation.data_generation(),
        "forward": lambda: generation.forward_pass(model),
        "methods": lambda: methods.run(model, images, batch_size=args.batch_size,
                                       steps=args.steps, **repeats),
        "perturbation": lambda: perturbation.run(model, images, n_images=args.images,
                                                 **repeats),
        "lime": lambda: lime_anchors.run(model, images, n_images=args.images,
                                         n_anchors=args.anchors, **repeats),
        "featurevis": lambda: featurevis.run(model, **repeats),
        "scorecard": lambda: scorecard.run(model),
        "startup": startup,
        "book": chapter_times,
    }
    for subject in subjects:
        run[subject]()


if __name__ == "__main__":
    main()
