"""What the Grad-CAM chapter states but no longer asserts in its text (book/chapters/
gradcam.md): a ten-line GradientTape Grad-CAM equals the package's; at the last layer
the gradient is the dense weight over Z at every position, so HiResCAM's terms add up to
the logit less its bias there and not at an earlier layer. (Grad-CAM == ReLU(CAM) / Z
and CAM's sum are in test_cam.py; tf-keras-vis and HiResCAM == Grad-CAM in
test_methods_gradient.py.) The structure the chapter must keep is checked without a
model, with the other technique chapters', in test_chapter_stats.py
(``test_technique_chapter_fits_one_sitting``); it has no check of its own."""

import numpy as np
import pytest
import tensorflow as tf

from shared import methods
from shared.models import LAST_CONV_LAYER, logits_model, predict

EARLIER = "block13_sepconv2_act"


@pytest.fixture(scope="module")
def images(test_images):
    """Six test images, one of each class."""
    return test_images.images[::2]


def gradcam_from_scratch(model, images, layer, targets):
    """The chapter's exercise 5, with explicit targets."""
    both = tf.keras.Model(model.inputs, [model.get_layer(layer).output,
                                         model.get_layer("logits").output])
    with tf.GradientTape() as tape:
        acts, logits = both(tf.constant(images), training=False)
        score = tf.gather(logits, targets, axis=1, batch_dims=1)
    grads = tape.gradient(score, acts)
    alpha = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    return tf.nn.relu(tf.reduce_sum(alpha * acts, axis=-1)).numpy()


def test_gradcam_from_scratch_matches_the_package(shared_model, images):
    # the predicted class and a class the model rejects, at two layers
    predicted = methods.resolve_targets(shared_model, images)
    rejected = predict(shared_model, images).argmin(axis=1)
    for layer in (LAST_CONV_LAYER, EARLIER):
        for targets in (predicted, rejected):
            ours = methods.gradcam(shared_model, images, targets, layer=layer,
                                   upsample=False)
            scratch = gradcam_from_scratch(shared_model, images, layer, targets)
            assert scratch.shape == ours.shape
            scale = np.abs(ours).max()
            assert scale > 0.01
            np.testing.assert_allclose(scratch, ours, atol=1e-5 * scale + 1e-7)
    # the maps of the two classes differ: the test would see a wrong target
    a = methods.gradcam(shared_model, images, predicted, upsample=False)
    b = methods.gradcam(shared_model, images, rejected, upsample=False)
    assert not np.allclose(a, b, atol=1e-3)


def test_last_layer_gradient_is_the_dense_weight_over_z_everywhere(shared_model, images):
    targets = methods.resolve_targets(shared_model, images)
    acts, grads = methods.layer_gradients(shared_model, images, targets, LAST_CONV_LAYER)
    z = grads.shape[1] * grads.shape[2]
    kernel = shared_model.get_layer("logits").kernel.numpy()        # (K, classes)
    expected = (kernel[:, targets].T / z)[:, None, None, :]          # (N, 1, 1, K)
    np.testing.assert_allclose(grads, np.broadcast_to(expected, grads.shape),
                               rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    # one layer earlier the gradient depends on the position
    _, early = methods.layer_gradients(shared_model, images, targets, EARLIER)
    spread = early.std(axis=(1, 2)) / (np.abs(early.mean(axis=(1, 2))) + 1e-12)
    assert np.median(spread) > 1


def test_hirescam_terms_sum_to_the_logit_minus_bias_at_the_last_layer_only(
        shared_model, images):
    """Draelos & Carin's guarantee, GAP as the special case: before the ReLU,
    sum_ij sum_k dy/dA * A = y - b at the last layer; at block 13 it is not."""
    targets = methods.resolve_targets(shared_model, images)
    rows = np.arange(len(images))
    logit = predict(logits_model(shared_model), images)[rows, targets]
    bias = shared_model.get_layer("logits").bias.numpy()[targets]
    ratios = {}
    for layer in (LAST_CONV_LAYER, EARLIER):
        acts, grads = methods.layer_gradients(shared_model, images, targets, layer)
        ratios[layer] = (acts * grads).sum(axis=(1, 2, 3)) / (logit - bias)
    np.testing.assert_allclose(ratios[LAST_CONV_LAYER], 1, atol=1e-4)
    assert np.abs(ratios[EARLIER] - 1).max() > 0.1
