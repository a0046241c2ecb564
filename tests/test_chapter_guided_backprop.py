"""What the guided-backpropagation chapter relies on but no longer asserts in its text:
the package's guided backpropagation equals an independent from-scratch version (a
custom-gradient ReLU in a clone of the network: the chapter's "write it yourself"
exercise), and the chapter's cascade, which gives ONE reused copy each step's weights,
gets the maps of a freshly randomized copy (what `metrics.cascading_randomization`
builds) and never keeps a stale compiled function."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from shared import methods, models, randomization


@pytest.fixture(scope="module")
def four(test_images):
    """Four test images of four different classes."""
    return test_images.images[::3][:4]


def scratch_guided_backprop(model, images, targets):
    """Guided backpropagation from scratch, sharing no code with shared.methods: a clone
    of the logits model with a custom-gradient ReLU wherever a layer's activation is
    the ReLU; the largest absolute value over the colour channels."""

    @tf.custom_gradient
    def guided_relu(x):
        def backward(g):
            return g * tf.cast((x > 0) & (g > 0), g.dtype)
        return tf.nn.relu(x), backward

    def swap(layer):
        copy = layer.__class__.from_config(layer.get_config())
        if getattr(copy, "activation", None) is keras.activations.relu:
            copy.activation = guided_relu
        return copy

    logits = models.logits_model(model)
    clone = keras.models.clone_model(logits, clone_function=swap)
    clone.set_weights(logits.get_weights())
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = tf.gather(clone(x), np.asarray(targets), batch_dims=1)
    grads = tape.gradient(score, x)
    replaced = sum(getattr(layer, "activation", None) is guided_relu
                   for layer in clone.layers)
    return tf.reduce_max(tf.abs(grads), -1).numpy(), replaced


def test_guided_backprop_equals_an_independent_from_scratch_version(shared_model, four):
    targets = methods.resolve_targets(shared_model, four)
    other = (targets + 1) % 6                 # and a class that is not predicted
    package = methods.guided_backprop(shared_model, four, targets)
    scratch, replaced = scratch_guided_backprop(shared_model, four, targets)
    assert replaced == methods.guided_model(shared_model).replaced_relus > 20
    assert not any(isinstance(layer, keras.layers.ReLU) for layer in shared_model.layers)
    np.testing.assert_allclose(scratch, package, rtol=0, atol=1e-5 * package.max())
    scratch_other, _ = scratch_guided_backprop(shared_model, four, other)
    np.testing.assert_allclose(scratch_other, methods.guided_backprop(shared_model, four, other),
                               rtol=0, atol=1e-5 * scratch_other.max())
    # not the plain gradient under another name
    plain = methods.saliency(shared_model, four, targets)
    assert np.abs(plain - package).max() > 0.1 * package.max()


def test_the_chapters_reused_copy_gets_the_maps_of_a_fresh_randomized_copy(shared_model,
                                                                         test_images):
    x = test_images.images[:2]
    targets = methods.resolve_targets(shared_model, x)
    blocks = randomization.cascade_blocks(shared_model)
    step = blocks[:2]                                        # logits and block14
    all_random = randomization.randomized_copy(shared_model, blocks, seed=0)
    net = randomization.randomized_copy(shared_model, [])

    def randomize(randomized):                               # as the chapter does
        for layer, trained, random in zip(net.layers, shared_model.layers,
                                          all_random.layers):
            source = random if randomization.block_of(layer.name) in randomized else trained
            layer.set_weights(source.get_weights())

    def maps(model):
        return (methods.guided_backprop(model, x, targets),
                methods.gradcam(model, x, targets))

    trained = maps(shared_model)
    randomize([])
    for a, b in zip(maps(net), trained):                     # compiles on the trained weights
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * np.abs(b).max())
    randomize(step)
    fresh = maps(randomization.randomized_copy(shared_model, step, seed=0))
    reused = maps(net)
    for a, b in zip(reused, fresh):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * np.abs(b).max())
    assert not np.allclose(reused[1], trained[1], atol=0.05 * trained[1].max())  # it did change
    randomize([])                                            # and back: nothing stale
    for a, b in zip(maps(net), trained):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * np.abs(b).max())
