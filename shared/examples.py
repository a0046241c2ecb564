"""The fixed test images that every chapter explains.

The rule, in code: for each class, the first image of the test split (in generation
order) that the shared checkpoint classifies correctly. Because the test split is
generated image by image from ``(seed, class, index)``, the rule only ever needs the
first few images of each class.
"""

from __future__ import annotations

import numpy as np

from . import data


def test_examples(model=None) -> data.Dataset:
    """One correctly classified test image per class, in class order, with its mask.

    ``info["indices"]`` holds each image's index within its class in the test split
    (the split as :func:`shared.data.load_split` returns it: class ``c`` image ``i`` is
    at position ``c * n_per_class + i``).
    """
    from . import models
    model = models.load_model() if model is None else model
    n = 8
    while True:
        ds = data.load_split("test", n)
        predicted = models.predict(model, ds.images).argmax(1)
        picks = []
        for c in range(len(data.CLASS_NAMES)):
            correct = np.flatnonzero((ds.labels == c) & (predicted == c))
            if len(correct) == 0:
                break
            picks.append(int(correct[0]))
        if len(picks) == len(data.CLASS_NAMES):
            out = ds[np.array(picks)]
            out.info["indices"] = [p - c * n for c, p in enumerate(picks)]
            out.info["rule"] = "first correctly classified test image of each class"
            return out
        if n >= data.SPLIT_SIZES["test"]:
            raise RuntimeError("the model classifies no test image of some class correctly")
        n = min(4 * n, data.SPLIT_SIZES["test"])
