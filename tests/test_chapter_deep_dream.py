"""What the Deep Dream chapter states but no longer asserts on its main path
(book/chapters/deep_dream.md): a ten-line GradientTape loop and tf-keras-vis's
ActivationMaximization, set up as one octave of Deep Dream, take the package's step; one
octave raises the layer's objective at every step; a normalized step moves the pixels
by the step size on average, whatever the layer's scale. (Shape, dtype and range of a
dream, its class term and the octaves' size check are in test_featurevis.py.) The
structure the chapter must keep is checked without a model."""

import re
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from shared import data
from shared import featurevis as fv

CHAPTER = Path(__file__).resolve().parents[1] / "book" / "chapters" / "deep_dream.md"
MIDDLE, LAST = "block6_sepconv3_act", "block14_sepconv2_act"
STEP = 0.005


def dream_from_scratch(model, image, layer, steps, step_size=STEP):
    """The chapter's exercise 5: one octave, no jitter; the image and the objective
    before each step."""
    sub = keras.Model(model.inputs[0], model.get_layer(layer).output)
    x, history = tf.constant(image[None]), []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_mean(tf.square(sub(x)))
        g = tape.gradient(loss, x)
        g /= tf.maximum(tf.reduce_mean(tf.abs(g)), 1e-8)
        x = tf.clip_by_value(x + step_size * g, 0.0, 1.0)
        history.append(float(loss))
    return x.numpy()[0], np.array(history)


def tf_keras_vis_step(model, image, layer, step_size=STEP):
    """One step of tf-keras-vis's ActivationMaximization set up as Deep Dream."""
    from tf_keras_vis.activation_maximization import ActivationMaximization
    sub = keras.Model(model.inputs[0], model.get_layer(layer).output)
    with warnings.catch_warnings():          # it passes the input as a list
        warnings.simplefilter("ignore")
        out = ActivationMaximization(sub, clone=False)(
            lambda a: tf.reduce_mean(tf.square(a), axis=[1, 2, 3]),
            seed_input=image[None], input_range=(0.0, 1.0), input_modifiers=[],
            regularizers=[], steps=1, optimizer=keras.optimizers.SGD(step_size),
            gradient_modifier=lambda g: g / tf.maximum(tf.reduce_mean(tf.abs(g)), 1e-8))
    return np.asarray(out)[0]


@pytest.fixture(scope="module")
def measles(test_images):
    """A Measles test image (with lesions and, in the book's data, red marks)."""
    return test_images.images[list(test_images.labels).index(data.class_index("Measles"))]


def test_one_step_from_scratch_and_tf_keras_vis_match_the_package(shared_model, measles):
    for layer in (MIDDLE, LAST):
        package = fv.deep_dream(shared_model, measles, layer, octaves=1, steps_per_octave=1)
        moved = np.abs(package - measles)
        assert moved.max() > 1e-3                     # the step is not a no-op
        for other in (dream_from_scratch(shared_model, measles, layer, 1)[0],
                      tf_keras_vis_step(shared_model, measles, layer)):
            assert other.shape == package.shape
            assert np.abs(other - package).max() < 1e-5
    # a step of another size is another image: the comparison would see a wrong step
    half = fv.deep_dream(shared_model, measles, LAST, octaves=1, steps_per_octave=1,
                         step_size=STEP / 2)
    assert np.abs(half - package).max() > 1e-3


def test_one_octave_rises_at_every_step_and_ends_near_the_package(shared_model, measles):
    scratch, history = dream_from_scratch(shared_model, measles, MIDDLE, 20)
    package = fv.deep_dream(shared_model, measles, MIDDLE, octaves=1)      # 20 steps
    start, after_scratch, after_package = fv.evaluate(
        shared_model, fv.layer_activation(MIDDLE), np.stack([measles, scratch, package]))
    np.testing.assert_allclose(history[0], start, rtol=1e-4)
    assert np.all(np.diff(history) > 0)
    assert after_scratch > history[-1] and after_package > 100 * start
    assert abs(after_scratch / after_package - 1) < 0.1


def scalable_model(scale=1.0):
    """[0, 1] images -> conv -> relu -> conv -> relu ("act") -> GAP -> logits, fixed
    random weights; the second conv's kernel and bias times ``scale`` multiply every
    activation of "act" by ``scale`` (a ReLU is positively homogeneous)."""
    L = keras.layers
    inputs = keras.Input((None, None, 3))
    x = L.Conv2D(6, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = L.Conv2D(8, 3, strides=2, padding="same", name="conv2")(x)
    x = L.Activation("relu", name="act")(x)
    x = L.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, L.Dense(3, name="logits")(x))
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, w.shape) if w.ndim > 1
                       else np.full(w.shape, 0.05) for w in model.get_weights()])
    kernel, bias = model.get_layer("conv2").get_weights()
    model.get_layer("conv2").set_weights([scale * kernel, scale * bias])
    return model


def test_a_normalized_step_moves_the_pixels_by_the_step_size_at_any_scale():
    """Exercise 2: the mean |change| of one step is the step size (no pixel clipped),
    and multiplying the layer's activations by s (its gradient by s**2) changes
    nothing; an unnormalized step would change by s**2."""
    image = np.random.default_rng(1).uniform(0.3, 0.7, (32, 32, 3)).astype(np.float32)
    steps, grads = {}, {}
    for s in (1.0, 10.0):
        model = scalable_model(s)
        steps[s] = fv.deep_dream(model, image, "act", octaves=1, steps_per_octave=1,
                                 step_size=0.01)
        sub = keras.Model(model.inputs, model.get_layer("act").output)
        x = tf.constant(image[None])
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_mean(tf.square(sub(x)))
        grads[s] = float(tf.reduce_mean(tf.abs(tape.gradient(loss, x))))
    np.testing.assert_allclose(grads[10.0] / grads[1.0], 100, rtol=1e-3)
    for s, x in steps.items():
        assert 0 < x.min() and x.max() < 1                      # nothing clipped
        np.testing.assert_allclose(np.abs(x - image).mean(), 0.01, rtol=1e-4)
    np.testing.assert_allclose(steps[10.0], steps[1.0], atol=1e-5)


def test_chapter_specifics():
    """What the common check (``test_technique_chapter_fits_one_sitting`` in
    test_chapter_stats.py, which asks this chapter for one "Going further" section, not
    two) leaves to this chapter: the one library comparison and the package's source on
    the main path and no from-scratch dream there, three exercises at least, and every
    solution stating its answer (no "the cell prints" in place of one)."""
    text = CHAPTER.read_text()
    main = text.split("\n## Going further", 1)[0]
    assert "viz.show_source(fv.deep_dream" in main
    assert main.count("ActivationMaximization(") == 1
    assert "def dream(" not in main                   # from scratch: exercise 5 only
    exercises = text.split("\n## Exercises", 1)[1]
    numbered = re.findall(r"(?m)^\d+\. ", exercises)
    assert len(numbered) >= 3
    solutions = re.findall(r"```\{admonition\} Solution\n:class: dropdown\n(.*?)```",
                           exercises, re.S)
    assert len(solutions) == len(numbered)
    for solution in solutions:
        assert not re.search(r"see the output|the cell (prints|shows)|if the model",
                             solution, re.I), solution[:80]
