"""The gradient methods: analytic cases, a reference implementation (tf-keras-vis, shap),
the guided ReLU, IG completeness, Expected Gradients. (What every registered method must
pass, the planted region and bad inputs among it, is in test_methods.py.)"""

import numpy as np
import pytest


from shared import methods, models
from shared.models import LAST_CONV_LAYER, logits_model, predict
from toy_models import (FEATURE_COLS, FEATURE_ROWS, REGION_LAYER, linear_model, rand_images,
                        region_model)


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
    np.testing.assert_array_equal(methods.resolve_targets(model, x), predicted)
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

def test_low_resolution_cam_marks_exactly_the_feature_cells():
    model = region_model()
    cams = methods.gradcam(model, rand_images(3, 32, seed=5), layer=REGION_LAYER, upsample=False)
    assert cams.shape == (3, 16, 16)
    cells = np.zeros((16, 16), bool)
    cells[FEATURE_ROWS, FEATURE_COLS] = True
    assert (cams[:, cells] > 0).all() and (cams[:, ~cells] == 0).all()


# ----------------------------------------------- 3. against tf-keras-vis, shared model

def test_gradcam_matches_tf_keras_vis(shared_model, images):
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.utils.scores import CategoricalScore
    targets = methods.resolve_targets(shared_model, images)
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
    targets = methods.resolve_targets(shared_model, images)
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
    targets = methods.resolve_targets(shared_model, x)
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


# ----------------------------------------------------------------------- 6. others

@pytest.mark.parametrize("name", ["gradcam", "hirescam", "guided_gradcam"])
def test_unknown_layer_lists_the_usable_layers(shared_model, test_images, name):
    x = test_images.images[:1]
    with pytest.raises(ValueError, match="'block99'.*block14_sepconv2_act"):
        methods.ATTRIBUTIONS[name](shared_model, x, 0, layer="block99")
    with pytest.raises(ValueError, match="'avg_pool'.*4-D"):
        methods.ATTRIBUTIONS[name](shared_model, x, 0, layer="avg_pool")


def test_integrated_gradients_baseline_is_checked(shared_model, test_images):
    x = test_images.images[:1]
    with pytest.raises(ValueError, match="baseline of shape"):
        methods.integrated_gradients(shared_model, x, 0, baseline=np.zeros((5, 5, 3)))
    with pytest.raises(ValueError, match="baseline.*reference images"):
        methods.expected_gradients(shared_model, x, 0, baseline=np.zeros((224, 224, 3)))


def test_normalize_divides_by_the_largest_magnitude_and_keeps_zero_maps():
    maps = np.stack([np.zeros((3, 3)), np.arange(9.0).reshape(3, 3) - 2]).astype(np.float32)
    out = methods.normalize(maps)
    assert np.isfinite(out).all() and (out[0] == 0).all()
    assert out[1].max() == 1.0 and out[1].min() == pytest.approx(-2 / 6)


@pytest.mark.book
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


# ------------------------------------------------------------------- Expected Gradients

def test_expected_gradients_of_a_linear_model_with_one_reference_is_integrated_gradients():
    """For y = w.x + b and one reference x', every sample gives (x - x') w exactly."""
    model = linear_model(seed=5)
    x, ref = rand_images(2, 8, seed=6), rand_images(1, 8, seed=7)
    eg = methods.expected_gradients(model, x, 3, baseline=ref, n_samples=3)
    assert_close(eg, methods.integrated_gradients(model, x, 3, baseline=ref[0], steps=1))


def test_expected_gradients_with_one_reference_converges_to_integrated_gradients(
        shared_model, images, test_images):
    """With one reference, Expected Gradients is Integrated Gradients with the path
    integral estimated at random points: it approaches the quadrature as samples grow."""
    ref = test_images.images[[7]]
    x = images[:1]
    ig = methods.integrated_gradients(shared_model, x, None, baseline=ref[0], steps=128)
    few, many = (methods.expected_gradients(shared_model, x, None, baseline=ref, n_samples=n)
                 for n in (16, 128))
    assert pearson(many, ig) >= 0.97
    assert pearson(many, ig) > pearson(few, ig)


def test_expected_gradients_agrees_with_shap_within_its_sampling_noise(shared_model, images):
    """shap's GradientExplainer computes the same expectation (Lundberg & Lee 2017,
    Erion et al. 2021): our map agrees with it as well as with ours at another seed."""
    import warnings

    import shap
    from shared import data
    background = data.load_split("val", 2).images
    x = images[:1]
    target = methods.resolve_targets(shared_model, x)
    ours = methods.expected_gradients(shared_model, x, target, baseline=background, n_samples=200)
    again = methods.expected_gradients(shared_model, x, target, baseline=background,
                                       n_samples=200, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")    # shap calls the model with a list input
        explainer = shap.GradientExplainer(logits_model(shared_model), background)
        values, ranked = explainer.shap_values(x, nsamples=200, ranked_outputs=1, rseed=0)
    assert ranked.ravel().tolist() == target.tolist()
    theirs = np.asarray(values)[..., 0].sum(-1)
    noise = pearson(ours, again)
    assert noise > 0.9
    assert pearson(ours, theirs) >= noise - 0.05
