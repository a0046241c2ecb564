"""What the concepts chapter (book/chapters/concepts.md) argues in its exercise 1 and
shows on the book's checkpoint at block14: at a layer followed only by global average
pooling and a dense layer, the gradient of a logit with respect to the layer is the same
for every image, so every CAV's TCAV score is 0 or 1; one convolution more after the
layer and the scores take other values. On toy models, seconds."""

import keras
import numpy as np

from shared import concepts

L = keras.layers


def head_model(extra_conv: bool):
    inputs = keras.Input((12, 12, 3))
    x = L.Conv2D(4, 3, padding="same", activation="relu", name="features")(inputs)
    if extra_conv:
        x = L.Conv2D(4, 3, padding="same", activation="relu", name="after")(x)
    x = L.GlobalAveragePooling2D()(x)
    outputs = L.Dense(3, name="logits")(x)
    keras.utils.set_random_seed(0)
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32)
                               for w in layer.get_weights()])
    return model


def images(n, seed):
    return np.random.default_rng(seed).random((n, 12, 12, 3), dtype=np.float32)


def test_scores_are_0_or_1_when_only_pooling_and_a_dense_layer_follow():
    model = head_model(extra_conv=False)
    x = images(16, 0)
    randoms = [images(10, 10 + i) for i in range(4)]
    for seed in range(3):
        vector = np.random.default_rng(seed).normal(size=12 * 12 * 4)
        d = concepts.directional_derivatives(model, "features", x, 0, vector)
        assert np.allclose(d, d[0], rtol=1e-5, atol=1e-8)   # one number for every image
    r = concepts.tcav(model, "features", images(10, 5), randoms, x, 0)
    assert set(np.unique(r.scores)) <= {0.0, 1.0}
    assert set(np.unique(r.null_scores)) <= {0.0, 1.0}


def test_one_more_convolution_and_the_scores_vary():
    model = head_model(extra_conv=True)
    x = images(16, 0)
    vector = np.random.default_rng(0).normal(size=12 * 12 * 4)
    d = concepts.directional_derivatives(model, "features", x, 0, vector)
    assert np.ptp(d) > 1e-3 * np.abs(d).max()
    randoms = [images(10, 10 + i) for i in range(4)]
    r = concepts.tcav(model, "features", images(10, 5), randoms, x, 0)
    assert not set(np.unique(np.r_[r.scores, r.null_scores])) <= {0.0, 1.0}
