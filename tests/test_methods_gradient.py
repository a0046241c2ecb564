"""The gradient attribution methods: analytic cases, known regions, a reference
implementation (tf-keras-vis), the guided ReLU, IG completeness, input checks."""

import numpy as np
import pytest

import keras

from shared import methods, models
from shared.methods import _core
from shared.models import LAST_CONV_LAYER, logits_model, predict

N_CLASSES = 6


# --------------------------------------------------------------------- hand-built models

def linear_model(seed=0, shape=(8, 8, 3)):
    """Flatten -> Dense(logits) -> softmax: the input gradient is a Dense column."""
    inputs = keras.Input(shape)
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(N_CLASSES, name="logits")(x)
    model = keras.Model(inputs, keras.layers.Activation("softmax", name="predictions")(x))
    rng = np.random.default_rng(seed)
    model.get_layer("logits").set_weights([rng.normal(size=(int(np.prod(shape)), N_CLASSES)),
                                           rng.normal(size=N_CLASSES)])
    return model


class SpatialMask(keras.layers.Layer):
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


def region_model(seed=0):
    """conv -> fixed spatial mask -> ReLU ("features") -> GAP -> logits -> softmax,
    weights set by hand (positive, so every class responds to the region)."""
    mask = np.zeros((16, 16), np.float32)
    mask[FEATURE_ROWS, FEATURE_COLS] = 1.0
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="conv")(inputs)
    x = SpatialMask(mask, name="mask")(x)
    x = keras.layers.Activation("relu", name="features")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(N_CLASSES, name="logits")(x)
    model = keras.Model(inputs, keras.layers.Activation("softmax", name="predictions")(x))
    rng = np.random.default_rng(seed)
    model.get_layer("conv").set_weights([rng.uniform(0.1, 1.0, (3, 3, 3, 4)), np.full(4, 0.1)])
    model.get_layer("logits").set_weights([rng.uniform(0.1, 1.0, (4, N_CLASSES)),
                                           rng.normal(size=N_CLASSES)])
    return model


def rand_images(n, size, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, size, size, 3)).astype(np.float32)


def assert_close(actual, expected, rel=1e-4):
    """Equal up to float rounding, relative to the largest expected value."""
    np.testing.assert_allclose(actual, expected, rtol=rel, atol=rel * np.abs(expected).max())


def pearson(a, b):
    return np.corrcoef(np.ravel(a), np.ravel(b))[0, 1]


@pytest.fixture(scope="module")
def images(test_images):
    """Four test images of four different classes."""
    return test_images.images[::3][:4]


@pytest.fixture(scope="module")
def logits_of(shared_model):
    return lambda x: predict(logits_model(shared_model), x)


# ----------------------------------------------------------------------- 1. analytic

def test_input_gradient_of_a_linear_model_is_the_dense_column():
    model = linear_model()
    x = rand_images(5, 8)
    targets = np.array([0, 5, 2, 2, 3])
    kernel = model.get_layer("logits").get_weights()[0]
    grads = methods.input_gradients(model, x, targets)
    assert grads.shape == x.shape and grads.dtype == np.float32
    np.testing.assert_allclose(grads, kernel[:, targets].T.reshape(x.shape), atol=1e-5)


def test_default_targets_are_the_predicted_classes():
    model = linear_model(seed=1)
    x = rand_images(6, 8, seed=1)
    predicted = predict(model, x).argmax(1)
    np.testing.assert_array_equal(_core.resolve_targets(model, x), predicted)
    np.testing.assert_allclose(methods.input_gradients(model, x),
                               methods.input_gradients(model, x, predicted), atol=1e-6)


def test_integrated_gradients_of_a_linear_model_are_exact():
    """For y = w.x + b, IG_i = (x_i - x'_i) w_i at any number of steps."""
    model = linear_model(seed=2)
    x, base = rand_images(3, 8, seed=2), rand_images(1, 8, seed=3)
    kernel = model.get_layer("logits").get_weights()[0]
    for steps in (1, 7):
        ig = methods.ig_attributions(model, x, 4, steps=steps, baseline=base)
        np.testing.assert_allclose(ig, (x - base) * kernel[:, 4].reshape(x.shape[1:]),
                                   atol=1e-5)


# ----------------------------------------------------------- 2. a known, planted region

@pytest.mark.parametrize("name", ["gradcam", "hirescam", "saliency", "smoothgrad",
                                  "integrated_gradients", "guided_backprop", "guided_gradcam"])
def test_peak_falls_in_the_only_region_the_model_sees(name):
    model = region_model()
    x = rand_images(6, 32, seed=4)
    params = {"gradcam": dict(layer="features"), "hirescam": dict(layer="features"),
              "guided_gradcam": dict(layer="features"), "smoothgrad": dict(n_samples=4),
              "integrated_gradients": dict(steps=8)}.get(name, {})
    maps = methods.ATTRIBUTIONS[name](model, x, np.arange(6), **params)
    assert maps.shape == (6, 32, 32) and maps.dtype == np.float32
    inside = np.zeros((32, 32), bool)
    inside[INPUT_ROWS, INPUT_COLS] = True
    for m in maps:
        assert m.max() > 0
        assert inside.flat[np.argmax(m)], f"{name}: peak outside the region"


def test_low_resolution_cam_marks_exactly_the_feature_cells():
    model = region_model()
    cams = methods.gradcam(model, rand_images(3, 32, seed=5), layer="features", upsample=False)
    assert cams.shape == (3, 16, 16)
    cells = np.zeros((16, 16), bool)
    cells[FEATURE_ROWS, FEATURE_COLS] = True
    assert (cams[:, cells] > 0).all() and (cams[:, ~cells] == 0).all()


def test_batches_give_the_same_maps_and_one_compiled_function():
    model = region_model(seed=1)
    x = rand_images(5, 32, seed=6)
    for f in (methods.saliency, methods.gradcam):
        kwargs = {"layer": "features"} if f is methods.gradcam else {}
        assert_close(f(model, x, batch_size=2, **kwargs), f(model, x, batch_size=32, **kwargs))
    assert _core.input_gradient_fn(model).experimental_get_tracing_count() == 1
    assert _core.layer_gradient_fn(model, "features").experimental_get_tracing_count() == 1


# ----------------------------------------------- 3. against tf-keras-vis, shared model

def test_gradcam_matches_tf_keras_vis(shared_model, images):
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.utils.scores import CategoricalScore
    targets = _core.resolve_targets(shared_model, images)
    ours = methods.gradcam(shared_model, images, targets, upsample=False)
    # tf-keras-vis sees the logits; its automatic layer search skips SeparableConv2D,
    # so the layer is given and the search is switched off.
    theirs = Gradcam(logits_model(shared_model), clone=False)(
        CategoricalScore(list(targets)), images, penultimate_layer=LAST_CONV_LAYER,
        seek_penultimate_conv_layer=False, expand_cam=False, normalize_cam=False)
    assert ours.shape == theirs.shape == (len(images), 7, 7)
    # It upsamples with scipy.ndimage.zoom (corner-aligned): compare the 7 x 7 maps,
    # and both maps upsampled the same way.
    full = methods.gradcam(shared_model, images, targets)
    theirs_full = methods.upsample(np.asarray(theirs), images.shape[1:3])
    for a, b, a_full, b_full in zip(methods.normalize(ours), methods.normalize(theirs),
                                    full, theirs_full):
        assert pearson(a, b) >= 0.99
        assert pearson(a_full, b_full) >= 0.99


def test_saliency_matches_tf_keras_vis(shared_model, images):
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.utils.scores import CategoricalScore
    targets = _core.resolve_targets(shared_model, images)
    ours = methods.saliency(shared_model, images, targets)  # max over channels of |g|
    theirs = Saliency(logits_model(shared_model), clone=False)(
        CategoricalScore(list(targets)), images, normalize_map=False)
    for a, b in zip(methods.normalize(ours), methods.normalize(theirs)):
        assert pearson(a, b) >= 0.99


def test_hirescam_equals_gradcam_before_global_pooling_only(shared_model, images):
    """Before GAP + Dense, dy/dA is the same at every position, so the two coincide
    (Draelos & Carin 2020); at an earlier layer they differ."""
    x = images[:2]
    assert_close(methods.hirescam(shared_model, x, upsample=False),
                 methods.gradcam(shared_model, x, upsample=False))
    early = dict(layer="block13_sepconv2", upsample=False)
    assert not np.allclose(methods.hirescam(shared_model, x, **early),
                           methods.gradcam(shared_model, x, **early), rtol=1e-2)


# ----------------------------------------------------------------- 4. guided backprop

@pytest.mark.parametrize("rule", ["gradient", "deconvnet", "guided"])
def test_relu_backward_rules_follow_their_definition(rule):
    rng = np.random.default_rng(7)
    x, g = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    passes = {"gradient": x > 0, "deconvnet": g > 0, "guided": (x > 0) & (g > 0)}[rule]
    out = methods.relu_backward(rule, x, g)
    np.testing.assert_allclose(out[passes], g[passes], rtol=1e-6)
    assert (out[~passes] == 0).all()
    if rule == "guided":
        assert (out >= 0).all() and (out[x <= 0] == 0).all()


def test_guided_model_has_the_same_forward_pass(shared_model, images, logits_of):
    guided = methods.guided_model(shared_model)
    assert guided is methods.guided_model(shared_model)  # cached
    np.testing.assert_allclose(predict(guided, images), logits_of(images), rtol=1e-4,
                               atol=1e-4)


def test_guided_gradient_differs_and_leaves_the_plain_one_alone(shared_model, images):
    x = images[:2]
    plain = methods.input_gradients(shared_model, x)
    guided = methods.guided_gradients(shared_model, x)
    assert guided.shape == plain.shape
    assert np.linalg.norm(guided - plain) > 0.1 * np.linalg.norm(plain)
    np.testing.assert_array_equal(methods.input_gradients(shared_model, x), plain)
    assert_close(methods.guided_gradcam(shared_model, x),
                 methods.guided_backprop(shared_model, x) * methods.gradcam(shared_model, x))


# ------------------------------------------------------- 5. IG completeness, SmoothGrad

def test_integrated_gradients_completeness(shared_model, images, logits_of):
    x = images[:2]
    targets = _core.resolve_targets(shared_model, x)
    rows = np.arange(len(x))
    gap = logits_of(x)[rows, targets] - logits_of(np.zeros_like(x))[rows, targets]
    errors = {}
    for steps in (1, 64):
        ig = methods.ig_attributions(shared_model, x, targets, steps=steps)
        errors[steps] = np.abs(ig.sum(axis=(1, 2, 3)) - gap) / np.abs(gap)
    assert (errors[64] <= 0.05).all(), errors
    assert errors[64].mean() < errors[1].mean(), errors


def test_one_step_integrated_gradients_is_the_midpoint_gradient(shared_model, images):
    x = images[:2]
    base = np.full_like(x, 0.5)
    ig = methods.ig_attributions(shared_model, x, 1, steps=1, baseline=base)
    grad = methods.input_gradients(shared_model, (x + base) / 2, 1)
    assert_close(ig, (x - base) * grad)
    assert_close(methods.integrated_gradients(shared_model, x, 1, steps=1, baseline=base),
                 ig.sum(-1))


def test_smoothgrad_without_noise_is_saliency(shared_model, images):
    x = images[:2]
    for reduce in ("max_abs", "abs_sum", "signed_sum"):
        assert_close(methods.smoothgrad(shared_model, x, n_samples=1, noise=0.0, reduce=reduce),
                     methods.saliency(shared_model, x, reduce=reduce))


# ----------------------------------------------------------------------- 7. determinism

def test_smoothgrad_is_deterministic_given_the_seed(shared_model, images):
    x = images[:2]
    a = methods.smoothgrad(shared_model, x, n_samples=3, seed=3)
    np.testing.assert_array_equal(a, methods.smoothgrad(shared_model, x, n_samples=3, seed=3))
    # the noise does not depend on the batching (the arithmetic may, by rounding)
    assert_close(methods.smoothgrad(shared_model, x, n_samples=3, seed=3, batch_size=2), a)
    assert not np.allclose(a, methods.smoothgrad(shared_model, x, n_samples=3, seed=4),
                           rtol=1e-2)


# ----------------------------------------------------------------------- 6. bad inputs

def _bad(image):
    """(description, images, targets, match) for one good 224 x 224 image."""
    nan = image.copy()
    nan[0, 5, 5, 1] = np.nan
    return [
        ("N x H x W", image[..., 0], None, "rank 4"),
        ("one image without N", image[0], None, "rank 4"),
        ("one channel", image[..., :1], None, "3 channels"),
        ("int dtype", (image * 255).astype(np.uint8), None, "float dtype"),
        ("0-255 floats", image * 255, None, r"\[0, 1\]"),
        ("NaN", nan, None, "NaN"),
        ("wrong size", image[:, :128, :128], None, "expects"),
        ("target 6", image, 6, r"out of range.*0\.\.5"),
        ("target -1", image, [-1], r"out of range.*0\.\.5"),
        ("two targets, one image", image, [0, 1], "one int per image"),
        ("float target", image, 1.5, "integers"),
    ]


@pytest.mark.parametrize("name", sorted(methods.ATTRIBUTIONS))
def test_bad_inputs_raise_a_clear_error(shared_model, test_images, name):
    method = methods.ATTRIBUTIONS[name]
    for what, x, targets, match in _bad(test_images.images[:1]):
        with pytest.raises(ValueError, match=match):
            method(shared_model, x, targets)


@pytest.mark.parametrize("name", ["gradcam", "hirescam", "guided_gradcam"])
def test_unknown_layer_lists_the_usable_layers(shared_model, test_images, name):
    x = test_images.images[:1]
    with pytest.raises(ValueError, match="'block99'.*block14_sepconv2_act"):
        methods.ATTRIBUTIONS[name](shared_model, x, 0, layer="block99")
    with pytest.raises(ValueError, match="'avg_pool'.*4-D"):
        methods.ATTRIBUTIONS[name](shared_model, x, 0, layer="avg_pool")


@pytest.mark.parametrize("call, match", [
    (lambda m, x: methods.saliency(m, x, 0, reduce="mean"), "reduce must be one of"),
    (lambda m, x: methods.smoothgrad(m, x, 0, n_samples=0), "n_samples"),
    (lambda m, x: methods.smoothgrad(m, x, 0, noise=-0.1), "noise"),
    (lambda m, x: methods.integrated_gradients(m, x, 0, steps=0), "steps"),
    (lambda m, x: methods.integrated_gradients(m, x, 0, baseline=np.zeros((5, 5, 3))),
     "baseline"),
    (lambda m, x: methods.gradcam(m, x, 0, batch_size=0), "batch_size"),
])
def test_bad_parameters_raise_a_clear_error(shared_model, test_images, call, match):
    with pytest.raises(ValueError, match=match):
        call(shared_model, test_images.images[:1])


def test_normalize_scales_each_map_and_keeps_zero_maps():
    maps = np.stack([np.zeros((3, 3)), np.arange(9.0).reshape(3, 3)]).astype(np.float32)
    out = methods.normalize(maps)
    assert np.isfinite(out).all() and (out[0] == 0).all()
    assert out[1].max() == 1.0 and out[1].min() == 0.0


def test_guided_model_follows_in_place_weight_changes(test_images):
    """The guided copy shares the model's layers: re-initialising weights in place (as
    the sanity check does) changes the guided map instead of leaving it stale."""
    model = models.load_model()          # a private instance: the session model stays intact
    x = test_images.images[:2]
    before = methods.guided_backprop(model, x)
    layer = model.get_layer("block14_sepconv2")
    rng = np.random.default_rng(0)
    layer.set_weights([rng.normal(0, 0.05, w.shape).astype("float32") for w in layer.get_weights()])
    after = methods.guided_backprop(model, x)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(models.predict(methods.guided_model(model), x),
                               models.predict(models.logits_model(model), x), rtol=1e-4, atol=1e-4)
