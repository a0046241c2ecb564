"""LayerCAM, Grad-CAM++ and Score-CAM: the planted region, exact maps where the gradient
is constant in space, a loop reference for Score-CAM and its pass count, bad layers, and
tf-keras-vis on the shared model."""

import keras
import numpy as np
import pytest
from scipy.stats import spearmanr

from shared import methods
from shared.models import LAST_CONV_LAYER, logits_model
from toy_models import (N_CLASSES, REGION_LAYER, construction, planted_setting, rand_images,
                        region_mask, region_model)

L = keras.layers
FAMILY = {"layercam": methods.layercam, "gradcam_plus_plus": methods.gradcam_plus_plus,
          "scorecam": methods.scorecam}


def assert_close(actual, expected, rel=1e-5):
    """Equal up to float rounding, relative to the largest expected value."""
    np.testing.assert_allclose(actual, expected, rtol=rel, atol=rel * np.abs(expected).max())


def gap_model(seed=0, size=12, channels=5, constant_channel=False):
    """conv + ReLU ("features", 10 x 10) -> global average pooling -> dense logits ->
    softmax. At "features", dy_c/dA^k_ij = w_k^c / Z at every position (Z = 100). The
    weights of class 0 are all positive, the others of both signs; with
    ``constant_channel``, channel 0 is 0.5 everywhere (zero kernel, bias 0.5)."""
    inputs = keras.Input((size, size, 3))
    a = L.Conv2D(channels, 3, activation="relu", name="features")(inputs)
    x = L.Dense(N_CLASSES, name="logits")(L.GlobalAveragePooling2D()(a))
    model = keras.Model(inputs, L.Activation("softmax")(x))
    rng = np.random.default_rng(seed)
    kernel, bias = rng.normal(0, 0.5, (3, 3, 3, channels)), rng.uniform(0, 0.2, channels)
    if constant_channel:
        kernel[..., 0], bias[0] = 0.0, 0.5
    dense = rng.normal(size=(channels, N_CLASSES))
    dense[:, 0] = np.abs(dense[:, 0]) + 0.1
    model.get_layer("features").set_weights([kernel, bias])
    model.get_layer("logits").set_weights([dense, rng.normal(size=N_CLASSES)])
    return model


# ------------------------------------------------------------- 1. the planted region

@pytest.mark.parametrize("name", sorted(FAMILY))
def test_peak_falls_in_the_only_region_the_model_sees(name):
    method = FAMILY[name]
    model, images, targets = planted_setting(method)
    maps = method(model, images, targets, layer=REGION_LAYER)
    assert maps.shape == (len(images), 32, 32) and maps.dtype == np.float32
    inside = region_mask()
    for m in maps:
        assert m.max() > 0
        assert inside.flat[np.argmax(m)], f"{name}: peak outside the region"


# ------------------------------------- 2. analytic: the gradient is constant in space

@pytest.fixture(scope="module")
def gap_case():
    """The GAP model, four images, every class asked for, and what the maps are made of:
    A (N, 10, 10, K) and g = w^c / Z (N, K), the gradient at every position."""
    model = gap_model()
    x = rand_images(4, 12, seed=1)
    targets = np.array([0, 1, 2, 3])
    acts = methods.activations(model, x, "features").astype(np.float64)
    kernel = model.get_layer("logits").get_weights()[0]
    z = acts.shape[1] * acts.shape[2]
    return model, x, targets, acts, kernel[:, targets].T / z, z


def test_layercam_keeps_the_positive_dense_weights(gap_case):
    """LayerCAM = ReLU(sum_k ReLU(w_k^c) / Z A^k), and HiResCAM where every w_k^c >= 0."""
    model, x, targets, acts, g, _ = gap_case
    assert (g < 0).any() and (g[0] > 0).all()       # class 0 (image 0): positive weights
    expected = np.maximum(np.einsum("nhwk,nk->nhw", acts, np.maximum(g, 0)), 0)
    ours = methods.layercam(model, x, targets, layer="features", upsample=False)
    assert_close(ours, expected)
    assert_close(ours[:1], methods.hirescam(model, x[:1], 0, layer="features", upsample=False))


def test_gradcam_plus_plus_alpha_is_constant_per_channel(gap_case):
    """alpha_k = 1 / (2 + g_k sum_ab A_ab^k), so w_k = Z alpha_k ReLU(g_k)."""
    model, x, targets, acts, g, z = gap_case
    denominator = 2 + g * acts.sum(axis=(1, 2))
    alpha = np.divide(1.0, denominator, out=np.zeros_like(g), where=denominator != 0)
    expected = np.maximum(np.einsum("nhwk,nk->nhw", acts, z * alpha * np.maximum(g, 0)), 0)
    ours = methods.gradcam_plus_plus(model, x, targets, layer="features", upsample=False)
    assert expected.max() > 0
    assert_close(ours, expected)


def test_layercam_takes_every_feature_layer():
    """Its point is earlier layers: each feature layer gives ReLU(sum_k ReLU(g) A) there."""
    model = construction("flat")
    x = rand_images(2, 32, seed=2)
    for layer in methods.feature_layers(model):
        acts, grads = methods.layer_gradients(model, x, [1, 2], layer)
        ours = methods.layercam(model, x, [1, 2], layer=layer, upsample=False)
        assert ours.shape == acts.shape[:3], layer
        assert_close(ours, np.maximum((np.maximum(grads, 0) * acts).sum(-1), 0))
        assert methods.layercam(model, x, [1, 2], layer=layer).shape == (2, 32, 32)


# ------------------------------------------------------ 3. Score-CAM, by hand and cost

def scorecam_reference(model, x, targets, layer, score):
    """Score-CAM one channel and one image at a time."""
    acts = methods.activations(model, x, layer)
    maps = np.zeros(acts.shape[:3])
    for i, t in enumerate(targets):
        for k in range(acts.shape[-1]):
            a = acts[i, ..., k]
            mask = np.zeros(x.shape[1:3])
            if a.max() > a.min():
                up = methods.upsample(a[None], x.shape[1:3])[0]
                mask = (up - up.min()) / (up.max() - up.min())
            weight = methods.scores(model, x[i:i + 1] * mask[None, ..., None], [t], score=score)
            maps[i] += weight[0] * a
    return np.maximum(maps, 0)


@pytest.mark.parametrize("score", ["probability", "logit"])
def test_scorecam_matches_a_loop_over_channels(score):
    model = gap_model(seed=3, constant_channel=True)
    x = rand_images(3, 12, seed=3)
    targets = np.array([0, 4, 5])
    expected = scorecam_reference(model, x, targets, "features", score)
    ours = methods.scorecam(model, x, targets, layer="features", score=score, upsample=False,
                            batch_size=3)                 # 5 channels: a partial batch
    assert expected.max() > 0
    assert_close(ours, expected)


def test_scorecam_costs_one_forward_pass_per_channel_and_image():
    model = gap_model()
    x = rand_images(3, 12, seed=4)
    with methods.count_passes() as passes:
        methods.scorecam(model, x, [0, 1, 2], layer="features", batch_size=2)
    # 5 channels x 3 images, and one pass per image for the activations
    assert (passes.forward, passes.backward) == (5 * 3 + 3, 0)


# ------------------------------------------------------------------- 4. bad layers

@pytest.mark.parametrize("name", sorted(FAMILY))
def test_a_bad_layer_is_refused_by_name_before_any_work(name):
    model, x = region_model(), rand_images(1, 32)
    for layer, problem in (("block99", "not found in the model"),
                           ("logits", r"has no 4-D \(N, h, w, channels\) output")):
        with methods.count_passes() as passes, \
                pytest.raises(ValueError, match=f"layer '{layer}' {problem}.*{REGION_LAYER}"):
            FAMILY[name](model, x, 0, layer=layer)
        assert passes.forward == 0


# ------------------------------------------------- 5. against tf-keras-vis, shared model

TF_KERAS_VIS = dict(penultimate_layer=LAST_CONV_LAYER, seek_penultimate_conv_layer=False,
                    expand_cam=False, normalize_cam=False)
"""tf-keras-vis's 7 x 7 maps, raw, at the layer given (its search skips SeparableConv2D)."""


@pytest.fixture(scope="module")
def shared_case(shared_model, test_images):
    """Three test images of three classes, their predicted classes, the logits model
    (tf-keras-vis differentiates, and Score-CAM softmaxes, what it is given)."""
    x = test_images.images[::3][:3]
    return x, methods.resolve_targets(shared_model, x), logits_model(shared_model)


def test_layercam_matches_tf_keras_vis(shared_model, shared_case):
    from tf_keras_vis.layercam import Layercam
    from tf_keras_vis.utils.scores import CategoricalScore
    x, targets, logits = shared_case
    ours = methods.layercam(shared_model, x, targets, upsample=False)
    theirs = Layercam(logits, clone=False)(CategoricalScore(list(targets)), x, **TF_KERAS_VIS)
    assert ours.shape == (3, 7, 7) and ours.max() > 0
    assert_close(ours, np.asarray(theirs), rel=1e-4)    # measured: 1.4e-7


def test_gradcam_plus_plus_differs_from_tf_keras_vis_by_its_alpha_normalisation(
        shared_model, shared_case):
    from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
    from tf_keras_vis.utils.scores import CategoricalScore
    x, targets, logits = shared_case
    ours = methods.gradcam_plus_plus(shared_model, x, targets, upsample=False)
    theirs = np.asarray(GradcamPlusPlus(logits, clone=False)(
        CategoricalScore(list(targets)), x, **TF_KERAS_VIS))
    for a, b in zip(ours, theirs):       # measured: >= 0.9997 (6 images, 2 sets of 3)
        assert spearmanr(a.ravel(), b.ravel())[0] >= 0.99
    # Our alpha, from the public primitives, gives our map; divided by its sum over
    # positions, with the weights times exp(y_c), it gives theirs.
    acts, grads = [v.astype(np.float64) for v in
                   methods.layer_gradients(shared_model, x, targets, LAST_CONV_LAYER)]
    g2 = grads ** 2
    denominator = 2 * g2 + acts.sum(axis=(1, 2), keepdims=True) * g2 * grads
    alpha = np.divide(g2, denominator, out=np.zeros_like(g2), where=denominator != 0)

    def cam(alpha, scale=1.0):
        w = (alpha * np.maximum(grads, 0)).sum(axis=(1, 2), keepdims=True) * scale
        return np.maximum((w * acts).sum(-1), 0)
    assert_close(ours, cam(alpha), rel=1e-4)
    total = alpha.sum(axis=(1, 2), keepdims=True)
    exp_logit = np.exp(methods.scores(shared_model, x, targets).astype(np.float64))
    assert_close(theirs, cam(alpha / np.where(total == 0, 1, total),
                             exp_logit[:, None, None, None]), rel=1e-5)   # measured: 9e-7


SCORECAM_LAYER = "block4_sepconv1_act"
"""A 28 x 28 x 64 feature map: 65 passes per image instead of the last layer's 513, the
same code path (Score-CAM takes any feature layer)."""


@pytest.mark.filterwarnings("ignore:The structure of `inputs`:UserWarning")  # its predict
def test_scorecam_agrees_with_tf_keras_vis_in_rank(shared_model, shared_case):
    """tf-keras-vis resizes the masks with scipy's zoom (order=1, corner-aligned), ours
    bilinearly with half-pixel centres: the masks, so the weights, differ slightly. It
    takes the softmax of what the model outputs: given the logits model, the
    probability, our default. One forward pass per channel: a 64-channel layer."""
    from tf_keras_vis.scorecam import Scorecam
    from tf_keras_vis.utils.scores import CategoricalScore
    x, targets, logits = shared_case
    ours = methods.scorecam(shared_model, x, targets, layer=SCORECAM_LAYER, upsample=False)
    options = dict(TF_KERAS_VIS, penultimate_layer=SCORECAM_LAYER)
    theirs = np.asarray(Scorecam(logits, clone=False)(
        CategoricalScore(list(targets)), x, batch_size=32, **options))
    assert ours.shape == theirs.shape == (len(x), 28, 28) and ours.max() > 0
    for a, b in zip(ours, theirs):
        rho = spearmanr(a.ravel(), b.ravel())[0]
        print(f"Score-CAM vs tf-keras-vis at {SCORECAM_LAYER}: Spearman {rho:.4f}")
        assert rho >= 0.98          # measured: 0.998 to 1.000 on these 3 images
