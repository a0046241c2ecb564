"""Small hand-built models whose right answers are known, shared by the tests."""

import keras
import numpy as np

from shared import data
from shared.methods import grid_segmentation

L = keras.layers
N_CLASSES = 6


def rand_images(n, size, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, size, size, 3)).astype(np.float32)


def linear_model(seed=0, shape=(8, 8, 3)):
    """Flatten -> Dense(logits) -> softmax: the input gradient is a Dense column."""
    inputs = keras.Input(shape)
    x = L.Flatten()(inputs)
    x = L.Dense(N_CLASSES, name="logits")(x)
    model = keras.Model(inputs, L.Activation("softmax", name="predictions")(x))
    rng = np.random.default_rng(seed)
    model.get_layer("logits").set_weights([rng.normal(size=(int(np.prod(shape)), N_CLASSES)),
                                           rng.normal(size=N_CLASSES)])
    return model


class SpatialMask(L.Layer):
    """Multiplies its input by a fixed (h, w) mask."""

    def __init__(self, mask, **kwargs):
        super().__init__(**kwargs)
        self.mask = np.asarray(mask, np.float32).tolist()

    def call(self, x):
        return x * keras.ops.convert_to_tensor(self.mask)[None, :, :, None]

    def get_config(self):
        return {**super().get_config(), "mask": self.mask}


# The region model sees 32 x 32 images; its stride-2 3x3 convolution gives a 16 x 16
# map, of which only rows 2-5, columns 9-13 reach the classifier. Those feature cells
# see input rows 4-12, columns 18-28 (TF "same" padding at stride 2 pads at the end).
# The region is not symmetric, so a transposed or flipped map would miss it.
FEATURE_ROWS, FEATURE_COLS = slice(2, 6), slice(9, 14)
INPUT_ROWS, INPUT_COLS = slice(4, 13), slice(18, 29)
REGION_LAYER = "features"


def region_mask(size=32):
    inside = np.zeros((size, size), bool)
    inside[INPUT_ROWS, INPUT_COLS] = True
    return inside


def region_model(seed=0):
    """conv -> fixed spatial mask -> ReLU ("features") -> GAP -> logits -> softmax, with
    positive weights, so every class responds to the region and only to it."""
    mask = np.zeros((16, 16), np.float32)
    mask[FEATURE_ROWS, FEATURE_COLS] = 1.0
    inputs = keras.Input((32, 32, 3))
    x = L.Conv2D(4, 3, strides=2, padding="same", name="conv")(inputs)
    x = SpatialMask(mask, name="mask")(x)
    x = L.Activation("relu", name=REGION_LAYER)(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(N_CLASSES, name="logits")(x)
    model = keras.Model(inputs, L.Activation("softmax", name="predictions")(x))
    rng = np.random.default_rng(seed)
    model.get_layer("conv").set_weights([rng.uniform(0.1, 1.0, (3, 3, 3, 4)), np.full(4, 0.1)])
    model.get_layer("logits").set_weights([rng.uniform(0.1, 1.0, (4, N_CLASSES)),
                                           rng.normal(size=N_CLASSES)])
    return model


def planted(seed=0, size=32):
    """Dark noise with a bright noisy rectangle exactly on the region the models see."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 0.2, (size, size, 3)).astype(np.float32)
    x[INPUT_ROWS, INPUT_COLS] = rng.uniform(0.8, 1.0, x[INPUT_ROWS, INPUT_COLS].shape)
    return x


def decision_model():
    """region_model's convolution with a head that decides on the region's brightness:
    class 0 when the region is brighter than a uniform 0.5 would be, else class 1. (The
    region model's own decision never changes: class 4 wins for every input in [0, 1].)"""
    model = region_model()
    kernel, bias = model.get_layer("conv").get_weights()
    # every feature cell that reaches the head sees only region pixels, and its ReLU is
    # the identity (positive weights and bias): a_k = 20/256 (b_k + c sum(w_k)) at level c
    level = lambda c: 20 / 256 * (bias + c * kernel.sum(axis=(0, 1, 2)))  # noqa: E731
    w = np.zeros((4, N_CLASSES), np.float32)
    w[:, 0] = 1.0
    b = np.full(N_CLASSES, -10.0, np.float32)
    b[0], b[1] = -level(0.5).sum(), 0.0
    model.get_layer("logits").set_weights([w, b])
    return model


def planted_setting(method, n=6):
    """(model, images, targets) for a registry test of ``method``: the region model with
    every class asked for, or, for a method that explains only the decision (anchors),
    the decision model on images whose bright region decides it."""
    if getattr(method, "decision_only", False):
        return decision_model(), np.stack([planted(s) for s in range(n)]), None
    return region_model(), rand_images(n, 32, seed=4), np.arange(n) % N_CLASSES


# ------------------------------------------------- one network, many ways to build it

CONSTRUCTIONS = ("flat", "nested", "twice_nested", "sequential", "fused_relu", "relu_layer",
                 "logits_output", "sigmoid_output", "fused_softmax")
"""Ways a reader builds the same conv net: identical weights, identical logits."""


def _features(x, relu="activation"):
    for k, filters in ((1, 8), (2, 16)):
        fused = relu == "fused"
        x = L.Conv2D(filters, 3, padding="same", name=f"c{k}",
                     activation="relu" if fused else None)(x)
        if not fused:
            x = (L.ReLU(name=f"r{k}") if relu == "ReLU" else L.Activation("relu", name=f"r{k}"))(x)
        if k == 1:
            x = L.MaxPooling2D(2, name="p1")(x)
    return x


def _head(x, output="softmax"):
    x = L.GlobalAveragePooling2D(name="gap")(x)
    if output == "fused_softmax":
        return L.Dense(4, activation="softmax", name="dense")(x)
    x = L.Dense(4, name="dense")(x)
    return x if output == "logits" else L.Activation(output, name="probabilities")(x)


def construction(kind, size=32):
    """The same small network (two conv + ReLU, pooling, dense head) built as ``kind``."""
    shape = (size, size, 3)
    inputs = keras.Input(shape)
    if kind == "sequential":
        return keras.Sequential([keras.Input(shape)] + [
            L.Conv2D(8, 3, padding="same", name="c1"), L.Activation("relu", name="r1"),
            L.MaxPooling2D(2, name="p1"), L.Conv2D(16, 3, padding="same", name="c2"),
            L.Activation("relu", name="r2"), L.GlobalAveragePooling2D(name="gap"),
            L.Dense(4, name="dense"), L.Activation("softmax", name="probabilities")])
    if kind in ("nested", "twice_nested"):
        base_in = keras.Input(shape)
        base = keras.Model(base_in, _features(base_in), name="base")
        if kind == "twice_nested":
            mid_in = keras.Input(shape)
            base = keras.Model(mid_in, base(mid_in), name="middle")
        return keras.Model(inputs, _head(base(inputs, training=False)))
    relu = {"fused_relu": "fused", "relu_layer": "ReLU"}.get(kind, "activation")
    output = {"logits_output": "logits", "sigmoid_output": "sigmoid",
              "fused_softmax": "fused_softmax"}.get(kind, "softmax")
    return keras.Model(inputs, _head(_features(inputs, relu), output))


def constructions(seed=0, size=32):
    """Every construction with the same random weights: {kind: model}."""
    built = {kind: construction(kind, size) for kind in CONSTRUCTIONS}
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, 0.3, w.shape).astype("float32") for w in built["flat"].get_weights()]
    for model in built.values():
        model.set_weights(weights)
    return built


# ------------------------------------------------- cheap parameters for the registry tests

FAST = {
    "smoothgrad": {"n_samples": 4},
    "integrated_gradients": {"steps": 4},
    "expected_gradients": {"n_samples": 8},
    # Occlusion: fill="black" and score="logit" make the region model's response monotone:
    # every class logit grows with the pixels of the region, while a class probability (a
    # competition between classes) or a grey fill on uniform noise can move either way.
    "occlusion": {"patch": 4, "stride": 2, "fill": "black", "score": "logit"},
    # RISE: score="logit", because a class probability can fall when the region is kept;
    # p_keep=0.9, because two of the region model's classes have a bias of -1, so at
    # p_keep=0.5 their masked logits, and so their maps, are negative everywhere (though
    # highest in the region); 2000 masks, because at p_keep=0.9 few pixels are hidden per
    # mask and the estimate converges more slowly.
    "rise": {"n_samples": 2000, "p_keep": 0.9, "score": "logit"},
    # LIME: three of its defaults do not fit 32 x 32 noise images and a model that answers
    # to one region, for reasons that are findings, not defects
    # (test_methods_lime_anchors.py shows the last two):
    # * segmentation: lime's quickshift (max_dist=200) makes 1-3 superpixels of a 32 px
    #   noise image, and SLIC's or Felzenszwalb's superpixels are as large as the region
    #   and stick out of it; 4 x 4 squares are smaller than the region, so the top one
    #   lies inside;
    # * fill: a superpixel's own mean colour keeps the sum of its pixels, so hiding it
    #   barely changes a model that is linear in the pixels (the region model is): black
    #   hides it;
    # * score: every class's logit grows with the region, but a softmax probability is
    #   relative, and four of the region model's six classes *lose* probability when the
    #   region brightens (a correct, negative LIME weight); the logit responds as the
    #   tests assume, and is the same for every construction (a sigmoid model's
    #   probabilities are not the softmax model's).
    "lime": {"n_samples": 100, "segmentation": grid_segmentation(4), "fill": "black",
             "score": "logit"},
    "anchors": {"threshold": 0.9},
    # KernelSHAP: LIME's superpixels, fill and score, for LIME's reasons above; 200
    # samples, because with 100 of the 2^16 coalitions of 16 squares the estimate put
    # the peak outside the region (measured; tests/test_shap_methods.py uses 200 too)
    "kernel_shap": {"n_samples": 200, "segmentation": grid_segmentation(4), "fill": "black",
                    "score": "logit"},
    # Partition SHAP: a black fill and the logit make the game additive (as for LIME);
    # shap's default 500 evaluations, because at 100 the rectangles are still coarser than
    # the region (tests/test_shap_methods.py)
    "partition_shap": {"masker": "black", "score": "logit"},
    "deep_shap": {"n_samples": 8},
}
"""Registered method name -> parameters that make it cheap (fewer samples) and fit the
toy models above; a method not listed runs with its defaults."""


def fast_parameters(name):
    """A copy of the registry tests' parameters for the method ``name``."""
    return dict(FAST.get(name, {}))


# A generated scene and a model that sees one of its elements only (the scorecard's tests).

def isolated_element(size=64):
    """A generated scene with an element whose bounding box (grown by 4 px) touches no
    other element: (dataset of that one image, element index, box mask)."""
    for index in range(40):
        ds = data.generate([0, 0, 0, 1, 0, 0], seed=index, size=size)   # measles: blotches
        scene = ds.scene(0)
        prints = [scene.footprint(k) for k in range(len(scene.elements))]
        for k, fp in enumerate(prints):
            ys, xs = np.nonzero(fp)
            box = np.zeros_like(fp)
            box[max(ys.min() - 4, 0):ys.max() + 5, max(xs.min() - 4, 0):xs.max() + 5] = True
            if len(prints) >= 3 and not any((box & p).any() for j, p in enumerate(prints) if j != k):
                return ds, k, box
    raise AssertionError("no scene with an isolated element")


def model_seeing(box):
    """A model that responds to the pixels inside ``box`` only (positive weights)."""
    size = box.shape[0]
    inputs = keras.Input((size, size, 3))
    x = L.Conv2D(4, 3, padding="same", name="conv")(inputs)
    x = SpatialMask(box, name="mask")(x)
    x = L.Activation("relu", name="features")(x)
    x = L.Dense(2, name="logits")(L.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, L.Activation("softmax")(x))
    rng = np.random.default_rng(0)
    model.get_layer("conv").set_weights([rng.uniform(0.1, 1, (3, 3, 3, 4)), np.zeros(4)])
    model.get_layer("logits").set_weights([np.array([[1.0, -1.0]] * 4), np.zeros(2)])
    return model
