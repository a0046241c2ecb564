"""CAM is read from the weights; on a GAP + dense head Grad-CAM must equal ReLU(CAM) / Z."""

import keras
import numpy as np
import pytest

from shared import methods, models


def test_gradcam_equals_rectified_cam_over_z_on_the_shared_model(shared_model, test_images):
    c = methods.cam(shared_model, test_images.images, upsample=False)
    g = methods.gradcam(shared_model, test_images.images, upsample=False)
    z = c.shape[1] * c.shape[2]
    assert g.max() > 0.01
    np.testing.assert_allclose(g, np.maximum(c, 0) / z, atol=1e-5 * g.max())


def test_cam_sums_to_the_logit_minus_bias(shared_model, test_images):
    """y_c = (1/Z) sum_ij M_c(ij) + b_c: the map is the model's own decomposition."""
    x = test_images.images[:4]
    c = methods.cam(shared_model, x, targets=[0, 1, 3, 5], upsample=False)
    logits = models.predict(models.logits_model(shared_model), x)
    bias = shared_model.get_layer("logits").get_weights()[1]
    expected = logits[np.arange(4), [0, 1, 3, 5]] - bias[[0, 1, 3, 5]]
    np.testing.assert_allclose(c.mean(axis=(1, 2)), expected, rtol=1e-4, atol=1e-4)


def test_cam_refuses_a_head_that_is_not_gap_then_dense():
    inputs = keras.Input((32, 32, 3))
    a = keras.layers.Conv2D(4, 3, name="conv", activation="relu")(inputs)
    x = keras.layers.Flatten()(a)
    x = keras.layers.Dense(3, name="logits")(x)
    model = keras.Model(inputs, keras.layers.Activation("softmax", name="predictions")(x))
    with pytest.raises(ValueError, match="CAM needs 'conv'.*use gradcam"):
        methods.cam(model, np.zeros((1, 32, 32, 3), np.float32), layer="conv")
