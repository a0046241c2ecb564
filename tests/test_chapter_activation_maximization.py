"""What the activation-maximization chapter states but no longer asserts in its text
(book/chapters/activation_maximization.md): the ten-line naive ascent of its exercise 2
and tf-keras-vis's ActivationMaximization (same start, same Adam, no modifiers or
regularizers) take the package's first step, up to round-off where a gradient is almost
exactly 0; after five steps the eager loop and the compiled one have drifted apart
pixel by pixel while their logits agree (the chaos the chapter names); and the
chapter's randomized control, run with the copy's weights loaded into the model itself
(to reuse its compiled step), is the copy's ascent, with the trained weights back
afterwards. The chapter's
channel arithmetic (Grad-CAM weights = dense weights / Z at the last layer, the logit as
a sum of channel contributions plus the bias) is in test_chapter_gradcam.py and
test_cam.py. The structure the chapter must keep is checked without a model."""

import re
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from shared import data, models, randomization
from shared import featurevis as fv

CHAPTER = (Path(__file__).resolve().parents[1] / "book" / "chapters"
           / "activation_maximization.md")
PIXELS = dict(parametrization="pixels", transforms=False)


@pytest.fixture(scope="module")
def setting(shared_model):
    """Two class objectives (Cowpox, Measles) and a grey start as the chapter's
    (which uses the Cowpox logit alone)."""
    names = list(data.CLASS_NAMES)
    pair = [names.index("Cowpox"), names.index("Measles")]
    start = (0.5 + np.random.default_rng(0).normal(0, 0.01, (2, 224, 224, 3))
             ).astype(np.float32)
    return pair, [fv.class_logit(c) for c in pair], start


def ascend(logits_model, classes, start, steps, lr=0.01):
    """The chapter's exercise 2: naive ascent on class logits, Adam written out."""
    x, m, v = tf.constant(start), 0.0, 0.0
    onehot = tf.one_hot(classes, logits_model.outputs[0].shape[-1])
    for t in range(1, steps + 1):
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = tf.reduce_sum(logits_model(x) * onehot)
        g = tape.gradient(score, x)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g ** 2
        step = m / (1 - 0.9 ** t) / (tf.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        x = tf.clip_by_value(x + lr * step, 0.0, 1.0)
    return x.numpy()


def test_naive_ascent_from_scratch_takes_the_packages_first_step(shared_model, setting):
    pair, objectives, start = setting
    logits_model = models.logits_model(shared_model)
    ours = fv.optimize(shared_model, objectives, steps=1, start=start, **PIXELS)
    scratch = ascend(logits_model, pair, start, 1)
    gap = np.abs(scratch - ours.images)
    moved = np.abs(ours.images - start)
    assert np.median(moved) > 5e-3                  # the step is ~lr = 0.01 per value
    assert np.mean(gap > 1e-4) < 1e-4               # all but < 0.01 % to round-off
    np.testing.assert_allclose(fv.evaluate(shared_model, objectives, scratch), ours.end,
                               atol=1e-2)
    # a wrong sign or step size would not pass: ascent the other way differs everywhere
    descent = np.clip(2 * start - scratch, 0, 1)
    assert np.mean(np.abs(descent - ours.images) > 1e-4) > 0.9


def test_the_ascent_is_chaotic_but_its_logits_agree(shared_model, setting):
    """After five steps the eager loop and the compiled function differ by more than
    1000 times their first step's difference, and reach logits within 2 %."""
    pair, objectives, start = setting
    logits_model = models.logits_model(shared_model)
    gaps, reached = {}, {}
    for steps in (1, 5):
        ours = fv.optimize(shared_model, objectives, steps=steps, start=start, **PIXELS)
        scratch = ascend(logits_model, pair, start, steps)
        gaps[steps] = np.abs(scratch - ours.images).mean()
        reached[steps] = fv.evaluate(shared_model, objectives, scratch) / ours.end
    assert gaps[5] > 1000 * gaps[1]
    np.testing.assert_allclose(reached[5], 1, atol=0.02)


@pytest.mark.filterwarnings("ignore:The structure of `inputs`")   # tf-keras-vis passes a list
def test_tf_keras_vis_takes_the_packages_first_step(shared_model, setting):
    """Same start, Adam(0.01, epsilon=1e-8), no input modifiers and no regularizers:
    tf-keras-vis's first step is the package's, except where the gradient is below
    about 1e-6 (Keras adds epsilon to sqrt(v), the package to sqrt(v / (1 - beta2^t)))."""
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.utils.scores import CategoricalScore

    pair, objectives, start = setting
    library = ActivationMaximization(models.logits_model(shared_model), clone=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = np.asarray(library(
            CategoricalScore(pair), seed_input=start, input_range=(0.0, 1.0),
            input_modifiers=[], regularizers=[], steps=1,
            optimizer=keras.optimizers.Adam(0.01, epsilon=1e-8)), np.float32)
    ours = fv.optimize(shared_model, objectives, steps=1, start=start, **PIXELS)
    gap = np.abs(theirs - ours.images)
    assert np.median(np.abs(theirs - start)) > 5e-3
    assert np.mean(gap > 1e-3) < 5e-3 and np.mean(gap > 1e-4) < 0.1
    np.testing.assert_allclose(fv.evaluate(shared_model, objectives, theirs), ours.end,
                               atol=1e-2)


def test_randomized_weights_loaded_in_place_give_the_copys_ascent(shared_model,
                                                                   test_images):
    classes = [fv.class_logit(1), fv.class_logit(3)]
    randomized = randomization.randomized_copy(
        shared_model, randomization.cascade_blocks(shared_model))
    on_copy = fv.optimize(randomized, classes, steps=3)
    logits_model = models.logits_model(shared_model)
    before = models.predict(logits_model, test_images.images)
    on_trained = fv.optimize(shared_model, classes, steps=3)    # compiled first
    trained = shared_model.get_weights()
    try:
        shared_model.set_weights(randomized.get_weights())
        in_place = fv.optimize(shared_model, classes, steps=3)
    finally:
        shared_model.set_weights(trained)
    np.testing.assert_allclose(in_place.images, on_copy.images, atol=1e-4)
    np.testing.assert_allclose(in_place.history, on_copy.history, atol=1e-5)
    # stale (trained) weights would be seen: the trained ascent differs
    assert np.abs(on_trained.images - on_copy.images).max() > 0.05
    assert np.abs(on_trained.end).min() > 100 * np.abs(on_copy.end).max()
    np.testing.assert_array_equal(models.predict(logits_model, test_images.images),
                                  before)


def _code_cells(section: str) -> list[str]:
    return re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", section, re.S)


def _hidden(cell: str) -> bool:
    return cell.startswith(":tags: [hide-cell]") or "hide-cell" in cell.split("\n---\n")[0]


def test_chapter_specifics():
    """What the common check (``test_technique_chapter_fits_one_sitting`` in
    test_chapter_stats.py) leaves to this chapter: the learned-priors citation, the
    figure label other chapters cite, every code cell of the exercises hidden, and
    short code lines."""
    text = CHAPTER.read_text()
    assert "{cite}`nguyen2016synthesizing`" in text
    assert "name: fig-am-classes" in text                  # deep_dream.md cites it
    exercises = text.split("\n## Exercises", 1)[1]
    assert all(_hidden(cell) for cell in _code_cells(exercises))
    # the code a reader sees fits the page (the setup cell's install line excepted)
    for cell in _code_cells(text):
        body = cell.split("\n---\n", 1)[1] if cell.startswith("---\n") else cell
        for line in body.splitlines():
            if not line.lstrip().startswith((":", "#", "%")):
                assert len(line) <= 79, line
