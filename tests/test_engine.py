"""The mechanics under every method (shared.methods.graph, primitives, passes): any
reader's Keras model, named layers, clear refusals, scores, counting,
and a cache that frees the models it has seen."""

import gc
import weakref

import keras
import numpy as np
import pytest

from shared import methods, models, randomization
from shared.methods import ModelError
from toy_models import CONSTRUCTIONS, constructions, fast_parameters, rand_images

L = keras.layers


def pearson(a, b):
    return np.corrcoef(np.ravel(a), np.ravel(b))[0, 1]


@pytest.fixture(scope="module")
def built():
    return constructions()


@pytest.fixture(scope="module")
def x():
    return rand_images(3, 32, seed=1)


# ------------------------------------------------ the same network, built nine ways

@pytest.mark.parametrize("kind", CONSTRUCTIONS[1:])
@pytest.mark.parametrize("name", sorted(methods.ATTRIBUTIONS))
def test_every_method_gives_the_flat_models_map_on_every_construction(built, x, kind, name):
    method = methods.ATTRIBUTIONS[name]
    target = None if method.decision_only else 1
    params = fast_parameters(name)
    if "score" in method.defaults:
        # the logits are what every construction shares: a sigmoid head's probabilities
        # are another function than a softmax head's, by design
        params["score"] = "logit"
    flat = method(built["flat"], x, target, **params)
    other = method(built[kind], x, target, **params)
    if np.ptp(flat) == 0:           # e.g. an empty anchor: then both must be empty
        np.testing.assert_array_equal(flat, other)
    else:
        assert pearson(flat, other) >= 0.999


@pytest.mark.parametrize("kind", CONSTRUCTIONS)
def test_guided_backprop_differs_from_the_plain_gradient_on_every_construction(built, x, kind):
    model = built[kind]
    assert methods.guided_model(model).replaced_relus == 2
    guided = methods.guided_backprop(model, x, 1)
    plain = methods.saliency(model, x, 1)
    assert pearson(guided, plain) < 0.9
    np.testing.assert_allclose(models.predict(methods.guided_model(model), x),
                               models.predict(models.logits_model(model), x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", CONSTRUCTIONS)
def test_logits_and_probabilities_on_every_construction(built, x, kind):
    logits = methods.scores(built[kind], x)
    np.testing.assert_allclose(logits, methods.scores(built["flat"], x), rtol=1e-5, atol=1e-5)
    probs = methods.scores(built[kind], x, score="probability")
    expected = 1 / (1 + np.exp(-logits)) if kind == "sigmoid_output" else (
        np.exp(logits) / np.exp(logits).sum(1, keepdims=True))
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-6)
    if kind != "logits_output":     # the model's own output is its probabilities
        np.testing.assert_allclose(models.predict(built[kind], x), probs, rtol=1e-5, atol=1e-6)


def test_nested_layers_are_reachable_by_name_and_by_path(built, x):
    nested, twice = built["nested"], built["twice_nested"]
    assert methods.feature_layers(nested) == ["c1", "r1", "p1", "c2", "r2"]
    by_name = methods.gradcam(twice, x, 1, layer="r1")
    by_path = methods.gradcam(twice, x, 1, layer="middle/base/r1")
    np.testing.assert_array_equal(by_name, by_path)
    assert pearson(by_name, methods.gradcam(built["flat"], x, 1, layer="r1")) >= 0.999
    with pytest.raises(ValueError, match="'base/r9' not found.*usable layers: c1, r1"):
        methods.gradcam(nested, x, 1, layer="base/r9")


def test_a_name_used_by_two_nested_models_needs_its_path():
    keras.utils.set_random_seed(0)      # unseeded, the two maps were both 0 in some draws
    inputs = keras.Input((16, 16, 3))
    branches = []
    for name in ("left", "right"):
        i = keras.Input((16, 16, 3))
        branches.append(keras.Model(i, L.Conv2D(4, 3, name="conv", activation="relu")(i),
                                    name=name)(inputs))
    x = L.GlobalAveragePooling2D()(L.Add()(branches))
    model = keras.Model(inputs, L.Dense(3, activation="softmax")(x))
    assert {"left/conv", "right/conv"} <= set(methods.feature_layers(model))
    images = rand_images(2, 16)
    with pytest.raises(ValueError, match="'conv' is ambiguous.*left/conv, right/conv"):
        methods.gradcam(model, images, 0, layer="conv")
    left = methods.gradcam(model, images, 0, layer="left/conv", upsample=False)
    right = methods.gradcam(model, images, 0, layer="right/conv", upsample=False)
    assert left.shape == (2, 14, 14) and not np.allclose(left, right)


def test_keras_xception_nested_as_a_layer_the_seeds_recipe():
    """The most reported Grad-CAM failure: a keras.applications base inside a new model."""
    base = keras.applications.Xception(weights=None, include_top=False)
    inputs = keras.Input((96, 96, 3))
    x = L.Rescaling(2.0, offset=-1.0)(inputs)
    x = L.GlobalAveragePooling2D()(base(x, training=False))
    model = keras.Model(inputs, L.Dense(3, activation="softmax")(x))
    images = rand_images(2, 96)
    assert methods.feature_layers(model)[-1] == "block14_sepconv2_act"
    cam = methods.gradcam(model, images, 0, upsample=False)
    assert cam.shape == (2, 3, 3)
    assert methods.guided_model(model).replaced_relus == 35   # Xception's 35 ReLUs
    guided = methods.guided_backprop(model, images, 0)
    assert pearson(guided, methods.saliency(model, images, 0)) < 0.9


# ---------------------------------------------------------------- clear refusals

def _conv_head(x, activation="relu"):
    x = L.Conv2D(4, 3, activation=activation)(x)
    return L.Dense(2, activation="softmax")(L.GlobalAveragePooling2D()(x))


def test_models_it_cannot_explain_get_an_error_that_says_why():
    x = rand_images(1, 16)
    a, b = keras.Input((16, 16, 3)), keras.Input((16, 16, 3))
    two_inputs = keras.Model([a, b], _conv_head(L.Add()([a, b])))
    with pytest.raises(ModelError, match="2 inputs"):
        methods.saliency(two_inputs, x, 0)
    v = keras.Input((10,))
    tabular = keras.Model(v, L.Dense(2, activation="softmax")(v))
    with pytest.raises(ModelError, match=r"input of shape \(None, 10\).*\(N, H, W, 3\)"):
        methods.saliency(tabular, x, 0)
    i = keras.Input((16, 16, 3))
    no_conv = keras.Model(i, L.Dense(2, activation="softmax")(L.Flatten()(i)))
    with pytest.raises(ModelError, match="no convolutional feature map.*CAM"):
        methods.gradcam(no_conv, x, 0)
    assert methods.saliency(no_conv, x, 0).shape == (1, 16, 16)   # gradients still work

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(2)

        def call(self, v):
            return self.dense(L.Flatten()(v))
    with pytest.raises(ModelError, match="subclassed"):
        methods.saliency(Subclassed(), x, 0)
    with pytest.raises(ModelError, match="build a Sequential model with keras.Input"):
        methods.saliency(keras.Sequential([L.Flatten(), L.Dense(2)]), x, 0)


@pytest.mark.parametrize("activation, match", [
    (L.ReLU(max_value=6.0), r"ReLU\(max_value=6.0\)"),
    (L.LeakyReLU(), "leaky"),
    (L.Activation("swish"), "silu"),
])
def test_guided_backprop_refuses_what_its_rules_do_not_cover(activation, match):
    i = keras.Input((16, 16, 3))
    model = keras.Model(i, _conv_head(activation(L.Conv2D(4, 3)(i)), activation=None))
    with pytest.raises(ModelError, match=match):
        methods.guided_backprop(model, rand_images(1, 16), 0)


def test_guided_backprop_refuses_a_model_without_relu():
    i = keras.Input((16, 16, 3))
    model = keras.Model(i, _conv_head(i, activation=None))
    with pytest.raises(ModelError, match="no ReLU"):
        methods.guided_backprop(model, rand_images(1, 16), 0)


def test_a_model_whose_logits_cannot_be_found():
    i = keras.Input((16, 16, 3))
    x = L.GlobalAveragePooling2D()(L.Conv2D(4, 3)(i))
    model = keras.Model(i, L.Activation("tanh")(L.Dense(2)(x)))
    with pytest.raises(ModelError, match="cannot find the logits.*tanh"):
        methods.scores(model, rand_images(1, 16))


# ---------------------------------------------------------------- scores and counting

def test_scores_of_one_class_and_bad_arguments(built, x):
    model = built["flat"]
    every = methods.scores(model, x)
    np.testing.assert_allclose(methods.scores(model, x, [0, 3, 1]), every[[0, 1, 2], [0, 3, 1]])
    np.testing.assert_allclose(methods.scores(model, x, batch_size=1), every, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="score must be one of"):
        methods.scores(model, x, score="softmax")
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        methods.scores(model, x, batch_size=0)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        models.predict(model, x, batch_size=0)
    with pytest.raises(ValueError, match="model expects"):
        methods.scores(model, rand_images(1, 16))


def test_count_passes_counts_forward_and_backward_image_passes(built, x):
    model = built["flat"]
    with methods.count_passes() as outer:
        with methods.count_passes() as inner:
            methods.smoothgrad(model, x, 1, n_samples=5)
        methods.scores(model, x)
    assert (inner.forward, inner.backward) == (15, 15)
    assert (outer.forward, outer.backward) == (18, 15)
    with methods.count_passes() as predicted_target:
        methods.saliency(model, x)          # None: one forward pass to find the class
    assert (predicted_target.forward, predicted_target.backward) == (6, 3)


# ---------------------------------------------------------------- the cache frees models

@pytest.mark.parametrize("kind", ["flat", "nested"])
def test_a_model_is_freed_after_every_method_and_predict_ran_on_it(kind):
    model = constructions(seed=3)[kind]
    x = rand_images(2, 32)
    for name, method in methods.ATTRIBUTIONS.items():
        method(model, x, **fast_parameters(name))
    models.predict(model, x)
    methods.guided_model(model)
    copy = randomization.randomized_copy(model, randomization.cascade_blocks(model)[:1])
    methods.gradcam(copy, x)
    refs = [weakref.ref(model), weakref.ref(copy)]
    del model, copy
    gc.collect()
    assert [r() for r in refs] == [None, None]
