"""What the saliency chapter states and no longer re-checks in its cells: the
probability gradient it computes from the logit gradients is the softmax output's
gradient; SmoothGrad of a linear model is its saliency map at any noise; tf-keras-vis's
SmoothGrad, asked for the same thing, agrees with ours as well as our own map at another
seed does (the chapter compares with tf-keras-vis once, on saliency). The equivalences
the chapter relies on beside these are in test_methods_gradient.py
(``test_saliency_matches_tf_keras_vis``, ``test_smoothgrad_without_noise_is_saliency``,
``test_smoothgrad_is_deterministic_given_the_seed``)."""

import numpy as np
import pytest
import tensorflow as tf

from shared import methods
from shared.models import logits_model
from toy_models import N_CLASSES, linear_model, rand_images


@pytest.fixture(scope="module")
def lesion_images(test_images):
    """One test image each of cowpox and monkeypox (lesions, and confidently
    classified), the first of each class in the test split."""
    from shared import data
    keep = [int(np.flatnonzero(test_images.labels == data.class_index(c))[0])
            for c in ("Cowpox", "Monkeypox")]
    return test_images.images[keep]


def test_smoothgrad_of_a_linear_model_is_its_saliency_at_any_noise():
    model = linear_model()
    x = rand_images(3, 8)
    w = model.get_layer("logits").get_weights()[0][:, 2].reshape(8, 8, 3)
    expected = np.abs(w).max(-1)
    for noise in (0.0, 0.15, 1.0):
        maps = methods.smoothgrad(model, x, 2, n_samples=4, noise=noise)
        np.testing.assert_allclose(maps, np.broadcast_to(expected, maps.shape),
                                   rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(methods.saliency(model, x, 2),
                               np.broadcast_to(expected, (3, 8, 8)), rtol=1e-5,
                               atol=1e-6)


def test_probability_gradient_follows_the_softmax_identity(shared_model, test_images):
    """dp_c/dx = p_c (dS_c/dx - sum_k p_k dS_k/dx): the chapter builds the probability
    gradient from the six logit gradients; here autodiff through the softmax output."""
    x = test_images.images[1::2][:3]
    targets = methods.resolve_targets(shared_model, x)
    logits = methods.scores(shared_model, x).astype(np.float64)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    g = np.stack([methods.input_gradients(shared_model, x, k)
                  for k in range(N_CLASSES)], axis=1).astype(np.float64)
    xt = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        probs = tf.gather(shared_model(xt), targets, batch_dims=1)
    autodiff = tape.gradient(probs, xt).numpy()
    for i, c in enumerate(targets):
        identity = p[i, c] * (g[i, c] - np.tensordot(p[i], g[i], 1))
        error = np.linalg.norm(autodiff[i] - identity) / np.linalg.norm(identity)
        assert error < 0.01, (i, error)
        # the probability gradient is not the logit gradient rescaled by 1
        assert np.linalg.norm(identity) < np.linalg.norm(g[i, c])


def pearson(a, b):
    return np.array([np.corrcoef(u.ravel(), v.ravel())[0, 1] for u, v in zip(a, b)])


@pytest.mark.filterwarnings("ignore:The structure of `inputs`")
def test_smoothgrad_matches_tf_keras_vis_within_its_sampling_noise(shared_model,
                                                                   lesion_images):
    """Same noise (tf-keras-vis scales it by the image's range, so it is divided
    out), the signed gradient averaged (gradient_modifier=None), then max |.| over
    channels: the library's map is another Monte-Carlo estimate of ours. It must agree
    with ours about as well as our map at seed 0 agrees with ours at seed 1, and better
    than the maps of another noise level (0, which is saliency, and 0.15) do. Pearson
    correlation: the rank correlation is dominated by the many near-zero pixels."""
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.utils.scores import CategoricalScore
    targets = methods.resolve_targets(shared_model, lesion_images)
    samples, noise = 16, 0.05
    np.random.seed(0)                       # tf-keras-vis draws from numpy's global RNG
    theirs = []
    for image, target in zip(lesion_images, targets):
        image = image[None]
        g = Saliency(logits_model(shared_model), clone=False)(
            CategoricalScore([int(target)]), image, smooth_samples=samples,
            smooth_noise=noise / float(image.max() - image.min()),
            gradient_modifier=None, keepdims=True, normalize_map=False)
        theirs.append(methods.reduce_channels(g, "max_abs")[0])
    theirs = np.stack(theirs)
    ours, again = (methods.smoothgrad(shared_model, lesion_images, targets,
                                      n_samples=samples, noise=noise, seed=s)
                   for s in (0, 1))
    with_theirs, with_ours = pearson(ours, theirs), pearson(ours, again)
    assert np.all(with_theirs > with_ours - 0.05), (with_theirs, with_ours)
    for other_noise in (0.0, 0.15):
        other = methods.smoothgrad(shared_model, lesion_images, targets,
                                   n_samples=samples, noise=other_noise)
        assert np.all(with_theirs > pearson(ours, other)), other_noise
    assert not np.allclose(ours, theirs, rtol=1e-2)          # other random draws
