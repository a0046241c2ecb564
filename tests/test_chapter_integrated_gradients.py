"""What the Integrated Gradients chapter states and no longer re-checks in its cells
(book/chapters/integrated_gradients.md): Integrated Gradients written from scratch
(exercise 3) equals the package's, with a baseline other than black too; on the
saturated function min(1, x1 + x2) the gradient is 0 while IG gives each input 1/2
(exercise 1); the skin-without-lesions baseline differs from the image only inside the
painted elements, so IG attributes exactly nothing outside them. The equivalences the
chapter relies on beside these are in test_methods_gradient.py (completeness converging
with the steps, a linear model exact at any step count, one step = the gradient at the
midpoint, Expected Gradients with one reference approaching IG, Expected Gradients
agreeing with shap within its sampling noise) and test_metrics.py (IG's map unrelated to
the trained model's with every weight random). The structure the chapter must keep is
checked without a model."""

import re
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from scipy import ndimage

from shared import data, methods
from shared.models import logits_model

CHAPTER = (Path(__file__).resolve().parents[1] / "book" / "chapters"
           / "integrated_gradients.md")


def ig_from_scratch(model, images, classes, baseline, steps):
    """The chapter's exercise 3: a Riemann sum at the midpoints with GradientTape."""
    logits = logits_model(model)

    @tf.function
    def class_gradient(x, c):
        with tf.GradientTape() as tape:
            tape.watch(x)
            scores = tf.gather(logits(x), c, batch_dims=1)
        return tape.gradient(scores, x)

    total = np.zeros_like(images)
    for k in range(steps):
        x = baseline + (k + 0.5) / steps * (images - baseline)
        total += class_gradient(tf.constant(x), tf.constant(classes)).numpy()
    return (images - baseline) * total / steps


def test_ig_from_scratch_matches_the_package_with_a_blurred_baseline(shared_model,
                                                                      test_images):
    x = test_images.images[1::4][:3]
    targets = methods.resolve_targets(shared_model, x)
    base = ndimage.gaussian_filter(x, sigma=(0, 10, 10, 0))   # the chapter's blur
    ours = methods.ig_attributions(shared_model, x, targets, steps=4, baseline=base)
    scratch = ig_from_scratch(shared_model, x, targets, base, steps=4)
    scale = np.abs(ours).max()
    assert scale > 1e-3
    np.testing.assert_allclose(scratch, ours, atol=1e-4 * scale)
    # the test would see a wrong class or a wrong (black) baseline
    other = methods.ig_attributions(shared_model, x, (targets + 1) % len(data.CLASS_NAMES),
                                    steps=4, baseline=base)
    black = methods.ig_attributions(shared_model, x, targets, steps=4)
    for wrong in (other, black):
        assert np.abs(wrong - ours).max() > 0.01 * scale


def saturated_min_model():
    """Class 1's logit is min(1, x1 + x2) = relu(s) - relu(s - 1) for s = x1 + x2 >= 0,
    x1 and x2 the red and green values of pixel (0, 0) of an 8 x 8 image."""
    inputs = keras.Input((8, 8, 3))
    hidden = keras.layers.Dense(2, activation="relu", name="sum")(
        keras.layers.Flatten()(inputs))
    logit = keras.layers.Dense(2, name="logits")(hidden)
    model = keras.Model(inputs, keras.layers.Activation("softmax")(logit))
    w = np.zeros((8 * 8 * 3, 2), np.float32)
    w[:2] = 1
    model.get_layer("sum").set_weights([w, np.array([0, -1], np.float32)])
    model.get_layer("logits").set_weights([np.array([[0, 1], [0, -1]], np.float32),
                                           np.zeros(2, np.float32)])
    return model


def test_saturated_min_gets_half_each_and_a_zero_gradient():
    """Exercise 1: at x = (1, 1) the function is flat (gradient 0, so saliency and
    gradient times input give nothing) while f(x) - f(0) = 1; IG gives 1/2 to each
    input (an even number of midpoints puts exactly half of them before the kink)."""
    model = saturated_min_model()
    point = np.zeros((1, 8, 8, 3), np.float32)
    point[0, 0, 0, :2] = 1
    assert methods.scores(model, point, 1)[0] == 1.0
    assert methods.scores(model, np.zeros_like(point), 1)[0] == 0.0
    grad = methods.input_gradients(model, point, 1)
    assert np.all(grad == 0)
    for steps in (2, 32):
        ig = methods.ig_attributions(model, point, 1, steps=steps)
        np.testing.assert_allclose(ig[0, 0, 0, :2], 0.5, atol=1e-6)
        assert np.count_nonzero(ig) == 2
        assert abs(ig.sum() - 1.0) < 1e-6                      # completeness
    # halfway along the path the function is not yet saturated: slope 1 per input
    np.testing.assert_allclose(methods.input_gradients(model, point / 4, 1)[0, 0, 0, :2], 1)


def test_skin_baseline_attributes_nothing_outside_the_painted_elements(shared_model,
                                                                        test_images):
    """The chapter's claim 'by construction': the empty scene equals the image outside
    the elements' footprints, so every attribution there is exactly zero."""
    i = int(np.flatnonzero(test_images.labels == data.class_index("Measles"))[0])
    image = test_images.images[i:i + 1]
    empty = data.render_many([test_images.scene(i).empty()]).images
    outside = test_images.instances[i] == 0
    assert outside.any() and (~outside).any()
    np.testing.assert_array_equal(image[0][outside], empty[0][outside])
    ig = methods.integrated_gradients(shared_model, image, None, steps=2, baseline=empty)
    assert np.all(ig[0][outside] == 0)
    assert np.abs(ig[0][~outside]).max() > 0


def test_chapter_specifics():
    """What the common check (``test_technique_chapter_fits_one_sitting`` in
    test_chapter_stats.py) leaves to this chapter: Aumann and Shapley cited, every code
    cell of a "Going further" section hidden in one form, a leading ``:tags: [hide-cell]``
    line (the common check also accepts remove-cell and a YAML option block), no
    from-scratch or library check left on the main path."""
    text = CHAPTER.read_text()
    assert "{cite}`aumann1974values`" in text
    sections = re.split(r"(?m)^(?=#{2,3} )", text)
    further = [s for s in sections if re.match(r"#{2,3} Going further", s)]
    for section in further:
        for cell in re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", section, re.S):
            assert cell.startswith(":tags: [hide-cell]"), cell[:80]
    # the code cells a reader sees call neither shap nor a hand-written GradientTape:
    # those live in folded cells and in the tests
    for cell in re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, re.S):
        if not re.match(r":tags: \[(hide|remove)-cell\]", cell):
            assert not re.search(r"GradientTape|\bshap\b", cell), cell[:80]
