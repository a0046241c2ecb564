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

    While ``BOOK_MODEL`` is set (:mod:`shared.setting`), the same rule on that model's
    test split instead: see :func:`own_examples`.

    ``info["indices"]`` holds each image's index within its class in the test split
    (the split as :func:`shared.data.load_split` returns it: class ``c`` image ``i`` is
    at position ``c * n_per_class + i``).
    """
    from . import models
    from .setting import own_model
    model = models.load_model() if model is None else model
    own = own_model()
    if own is not None:
        return own_examples(own, model)
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


def own_examples(own, model) -> data.Dataset:
    """The book's rule on a reader's test split (``splits.json`` of ``own``, a
    :class:`shared.setting.OwnModel`): for each class, the first test image in the split's
    order that ``model`` classifies correctly; the first test image of the class where
    none is (``info["misclassified"]`` lists those classes, so a chapter can say so).
    Classes without test images are left out. No masks or scenes: images from a folder
    have none. ``info["indices"]`` holds each image's position in the test split.
    """
    from . import models
    test = data.load_image_split(own.split_file, "test")
    predicted = models.predict(model, test.images).argmax(1)
    picks, missed = [], []
    for c, name in enumerate(test.class_names):
        of_class = np.flatnonzero(test.labels == c)
        if len(of_class) == 0:
            continue
        correct = of_class[predicted[of_class] == c]
        picks.append(int(correct[0] if len(correct) else of_class[0]))
        if not len(correct):
            missed.append(name)
    out = _rows(test, picks)
    out.info.update(indices=picks, misclassified=missed,
                    rule="first correctly classified test image of each class")
    return out


def training_images(per_class: int) -> data.Dataset:
    """The first ``per_class`` training images of each class, for a method's references
    or baselines: the book's training split (:func:`shared.data.load_split`), or, while
    ``BOOK_MODEL`` is set, the first images of each class of that model's training split
    (fewer where a class has fewer)."""
    from .setting import own_model
    if not isinstance(per_class, (int, np.integer)) or per_class < 1:
        raise ValueError(f"per_class must be a positive int, got {per_class!r}")
    own = own_model()
    if own is None:
        return data.load_split("train", int(per_class))
    train = data.load_image_split(own.split_file, "train")
    keep = np.concatenate([np.flatnonzero(train.labels == c)[:per_class]
                           for c in range(len(train.class_names))])
    return _rows(train, keep)


def _rows(ds: data.Dataset, rows) -> data.Dataset:
    """``ds[rows]`` of a folder's images, with the image file lists of ``info`` cut to
    the same rows."""
    rows = np.asarray(rows, dtype=np.int64)
    out = ds[rows]
    for key in ("files", "relative_files"):
        out.info[key] = [ds.info[key][i] for i in rows]
    return out
