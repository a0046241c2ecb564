"""TCAV (shared.concepts) on a model that provably uses one concept and not another.

The model: 16 x 16 images -> a 1 x 1 convolution "features" with identity weights and a
ReLU (its three channels are the image's R, G, B) -> global average pooling -> dense
logits, class 0 = +mean(R), class 1 = -mean(R). The gradient of the class-0 logit with
respect to "features" is therefore +1/Z on the R channel at every position (Z = 256)
and 0 on G and B, for every image, so the directional derivative of a CAV v is exactly
sum(v's R entries) / Z, and the model uses red and ignores blue by construction.

The images hold 256 levels, (k + 1/2) / 256 (8-bit noise). Random images: uniform noise.
"Red": noise whose R channel is raised (x -> (1 + x) / 2) in a 6 x 6 square. "Blue": the
same in the B channel; each blue image's R channel holds every level once, in a random
order, so every pixel's R value has the random images' distribution but every blue
image has the same total red. That removes the blue *sample's* own chance excess or
lack of red, which the model reads and which all of the concept's CAVs would share (the
t-test treats them as independent): with plain noise in R, the blue concept came out
significant in 3 of 20 draws (see shared.concepts' docstring), a property of TCAV's
test, not of this implementation, that would make this test pass or fail by the seed.
"""

import keras
import numpy as np
import pytest

from shared import concepts, data, methods

L = keras.layers
SIZE = 16
Z = SIZE * SIZE
LEVELS = (np.arange(Z) + 0.5) / Z
SQUARE = (slice(4, 10), slice(5, 11))
N_SETS, N_IMAGES = 8, 24


def red_model(class_1_weight=-1.0, sequential=False):
    layers = [L.Conv2D(3, 1, activation="relu", name="features"),
              L.GlobalAveragePooling2D(name="gap"), L.Dense(2, name="logits"),
              L.Activation("softmax", name="probabilities")]
    if sequential:
        model = keras.Sequential([keras.Input((SIZE, SIZE, 3))] + layers)
    else:
        inputs = keras.Input((SIZE, SIZE, 3))
        x = inputs
        for layer in layers:
            x = layer(x)
        model = keras.Model(inputs, x)
    model.get_layer("features").set_weights([np.eye(3).reshape(1, 1, 3, 3), np.zeros(3)])
    model.get_layer("logits").set_weights(
        [np.array([[1.0, class_1_weight], [0.0, 0.0], [0.0, 0.0]]), np.zeros(2)])
    return model


def noise(n, seed):
    u = np.random.default_rng(seed).uniform(0, 1, (n, SIZE, SIZE, 3))
    return ((np.floor(u * Z) + 0.5) / Z).astype(np.float32)


def raised(n, channel, seed):
    x = noise(n, seed)
    if channel == 2:     # the same total red in every image (see the module docstring)
        rng = np.random.default_rng(seed + 1)
        x[..., 0] = np.stack([rng.permutation(LEVELS).reshape(SIZE, SIZE) for _ in range(n)])
    x[:, SQUARE[0], SQUARE[1], channel] = (1 + x[:, SQUARE[0], SQUARE[1], channel]) / 2
    return x


@pytest.fixture(scope="module")
def setting():
    return dict(model=red_model(), red=raised(N_IMAGES, 0, 100), blue=raised(N_IMAGES, 2, 200),
                randoms=[noise(N_IMAGES, 300 + i) for i in range(N_SETS)],
                images=noise(20, 400))


@pytest.fixture(scope="module")
def red_result(setting):
    s = setting
    return concepts.tcav(s["model"], "features", s["red"], s["randoms"], s["images"], 0)


# ----------------------------------------------------------------------- the test

def test_tcav_finds_the_concept_the_model_uses(red_result):
    r = red_result
    assert r.layer == "features" and r.scores.shape == (N_SETS,)
    assert r.null_scores.shape == (N_SETS * (N_SETS - 1),)
    np.testing.assert_array_equal(r.scores, 1.0)      # every CAV, every image
    assert r.mean == 1.0 and r.low == 1.0 and r.high == 1.0
    assert 0.3 < r.null_mean < 0.7
    assert r.significant                             # p = 0.009 at these seeds
    assert r.accuracy > 0.8                            # red is readable at the layer ...
    assert 0.3 < r.null_accuracy < 0.7                 # ... random sets are not
    np.testing.assert_array_equal(r.targets, 0)


def test_tcav_finds_no_use_of_a_concept_the_model_ignores(setting, red_result):
    s = setting
    r = concepts.tcav(s["model"], "features", s["blue"], s["randoms"], s["images"], 0)
    assert r.accuracy > 0.8          # blue is as separable as red: a CAV exists ...
    assert not r.significant         # ... but the model does not use it
    assert r.p_value > 0.05
    assert 0.2 < r.mean < 0.8 and abs(r.mean - r.null_mean) < 0.25
    # the same random sets and the same images: the null is shared with red's test
    np.testing.assert_allclose(r.null_scores, red_result.null_scores)


def test_a_concept_that_lowers_the_class_is_significant_below_the_null(setting):
    s = setting
    r = concepts.tcav(s["model"], "features", s["red"], s["randoms"], s["images"], 1)
    np.testing.assert_array_equal(r.scores, 0.0)
    assert r.significant and r.mean < r.null_mean
    np.testing.assert_array_equal(r.targets, 1)


def test_bonferroni_divides_the_level(setting, red_result):
    s = setting
    strict = concepts.tcav(s["model"], "features", s["red"], s["randoms"], s["images"], 0,
                           bonferroni=10**6)
    assert strict.p_value == red_result.p_value and strict.bonferroni == 10**6
    assert not strict.significant


# ----------------------------------------------------------------------- the parts

def test_directional_derivative_is_the_analytic_value(setting, red_result):
    s = setting
    x = s["images"][:5]
    for v in [red_result.cavs[0], np.random.default_rng(0).normal(size=Z * 3)]:
        vector = v.vector if isinstance(v, concepts.CAV) else v
        expected = vector.reshape(SIZE, SIZE, 3)[..., 0].sum() / Z
        d0 = concepts.directional_derivatives(s["model"], "features", x, 0, v)
        d1 = concepts.directional_derivatives(s["model"], "features", x, [1] * 5, v)
        assert d0.shape == (5,)
        np.testing.assert_allclose(d0, expected, rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(d1, -expected, rtol=1e-5, atol=1e-9)
    # targets=None: each image's predicted class
    predicted = np.argmax(methods.scores(s["model"], x), axis=-1)
    d = concepts.directional_derivatives(s["model"], "features", x, None, red_result.cavs[0])
    sign = np.where(predicted == 0, 1.0, -1.0)
    np.testing.assert_allclose(d, sign * red_result.cavs[0].vector.reshape(
        SIZE, SIZE, 3)[..., 0].sum() / Z, rtol=1e-5)


def test_tcav_score_is_the_share_of_positive_derivatives():
    assert concepts.tcav_score([0.5, -1.0, 0.0, 2.0]) == 0.5    # 0 is not positive
    assert concepts.tcav_score(np.array([-1e-9])) == 0.0


def test_cav_is_unit_norm_points_to_the_concept_and_is_deterministic(setting):
    s = setting
    model, red, random = s["model"], s["red"], s["randoms"][0]
    c = concepts.cav(model, "features", red, random, seed=3)
    assert c.layer == "features" and c.shape == (SIZE, SIZE, 3)
    assert (c.n_concept, c.n_random) == (N_IMAGES, N_IMAGES)
    assert c.vector.shape == (Z * 3,) and not c.vector.flags.writeable
    np.testing.assert_allclose(np.linalg.norm(c.vector), 1.0)
    gap = red.reshape(N_IMAGES, -1).mean(0) - random.reshape(N_IMAGES, -1).mean(0)
    assert gap @ c.vector > 0                           # toward the concept
    assert c.vector.reshape(SIZE, SIZE, 3)[SQUARE[0], SQUARE[1], 0].mean() > 0
    again = concepts.cav(model, "features", red, random, seed=3)
    np.testing.assert_array_equal(again.vector, c.vector)
    assert again.accuracy == c.accuracy
    other = concepts.cav(model, "features", red, random, seed=4)   # another split
    assert not np.array_equal(other.vector, c.vector)
    # the reference code's SGD classifier: also a unit vector toward the concept
    sgd = concepts.cav(model, "features", red, random, seed=3, classifier="sgd")
    np.testing.assert_allclose(np.linalg.norm(sgd.vector), 1.0)
    assert gap @ sgd.vector > 0
    np.testing.assert_array_equal(
        concepts.cav(model, "features", red, random, seed=3, classifier="sgd").vector,
        sgd.vector)


def test_tcav_is_deterministic(setting, red_result):
    s = setting
    again = concepts.tcav(s["model"], "features", s["red"], s["randoms"], s["images"], 0)
    for field in ("scores", "null_scores", "targets"):
        np.testing.assert_array_equal(getattr(again, field), getattr(red_result, field))
    assert (again.p_value, again.accuracy, again.null_accuracy) == (
        red_result.p_value, red_result.accuracy, red_result.null_accuracy)
    for a, b in zip(again.cavs, red_result.cavs):
        np.testing.assert_array_equal(a.vector, b.vector)


def test_a_reused_null_is_the_null_learnt_afresh(setting, red_result):
    """A second concept against the same random sets reuses the null CAVs of the first
    call; its null scores are those of the random-vs-random CAVs learnt one by one with
    :func:`concepts.cav` and the seeds :func:`concepts.tcav` documents."""
    s = setting
    images = s["images"][:12]
    r = concepts.tcav(s["model"], "features", s["blue"], s["randoms"], images, 0, seed=3)
    again = concepts.tcav(s["model"], "features", s["red"], s["randoms"], images, 0, seed=3)
    m = N_SETS
    children = np.random.SeedSequence(3).spawn(m * m)[m:]
    pairs = [(i, j) for i in range(m) for j in range(m) if i != j]
    for k in (0, 9, len(pairs) - 1):
        i, j = pairs[k]
        c = concepts.cav(s["model"], "features", s["randoms"][i], s["randoms"][j],
                         seed=int(children[k].generate_state(1)[0]))
        d = concepts.directional_derivatives(s["model"], "features", images, 0, c)
        assert again.null_scores[k] == r.null_scores[k] == concepts.tcav_score(d)
    assert not np.array_equal(again.scores, r.scores)


def test_unequal_sets_are_truncated_and_any_construction_gives_the_same_cav(setting):
    s = setting
    c = concepts.cav(s["model"], None, s["red"][:10], s["randoms"][0])   # None: last layer
    assert c.layer == "features" and (c.n_concept, c.n_random) == (10, 10)
    same = concepts.cav(red_model(sequential=True), "features", s["red"][:10],
                        s["randoms"][0][:10])
    np.testing.assert_allclose(same.vector, c.vector, atol=1e-6)


# ----------------------------------------------------------------------- bad inputs

def _bad_cases(s):
    m, red, randoms, images = s["model"], s["red"], s["randoms"], s["images"]
    return [
        (lambda: concepts.cav(m, "nope", red, randoms[0]), "layer 'nope' not found"),
        (lambda: concepts.cav(m, "gap", red, randoms[0]), "layer 'gap' has no 4-D"),
        (lambda: concepts.cav(m, "features", red[0], randoms[0]),
         "concept_images: images must have rank 4"),
        (lambda: concepts.cav(m, "features", red * 255, randoms[0]),
         r"concept_images: image values must be in \[0, 1\]"),
        (lambda: concepts.cav(m, "features", red, noise(4, 0)[:, :8, :8]),
         "random_images: images have shape"),
        (lambda: concepts.cav(m, "features", red[:1], randoms[0]),
         "concept_images has 1 image; at least 2"),
        (lambda: concepts.cav(m, "features", red, randoms[0], test_share=0.01),
         "test_share=0.01 splits"),
        (lambda: concepts.cav(m, "features", red, randoms[0], test_share=1.5),
         "test_share must be a number strictly between 0 and 1"),
        (lambda: concepts.cav(m, "features", red, randoms[0], classifier="svm"),
         "classifier must be one of"),
        (lambda: concepts.cav(m, "features", red, randoms[0], seed=-1), "seed must be"),
        (lambda: concepts.tcav(m, "features", red, randoms[:1], images, 0),
         "random_sets has 1 set; the test needs at least 2"),
        (lambda: concepts.tcav(m, "features", red, randoms[0], images, 0),
         "random_sets must be a sequence of image arrays"),
        (lambda: concepts.tcav(m, "features", red, [randoms[0], randoms[1][:1]], images, 0),
         r"random_sets\[1\] has 1 image"),
        (lambda: concepts.tcav(m, "features", red, randoms[:2], images, 2),
         "target class index 2 out of range"),
        (lambda: concepts.tcav(m, "features", red, randoms[:2], images[:0], 0),
         "images: images is empty"),
        (lambda: concepts.tcav(m, "features", red, randoms[:2], images, 0, bonferroni=0),
         "bonferroni must be a positive int"),
        (lambda: concepts.tcav(m, "features", red, randoms[:2], images, 0, alpha=5),
         "alpha must be a number strictly between 0 and 1"),
        (lambda: concepts.directional_derivatives(m, "features", images, 0, np.ones(7)),
         "vector has 7 entries, but layer 'features'"),
        (lambda: concepts.directional_derivatives(m, "features", images, 0, [np.nan] * Z * 3),
         "vector must be finite numbers"),
        (lambda: concepts.directional_derivatives(
            m, "features", images, 0,
            concepts.CAV(np.ones(3), "other", 1.0, 2, 2)), "learnt at layer 'other'"),
        (lambda: concepts.directional_derivatives(m, "features", images * 2, 0, np.ones(Z * 3)),
         r"images: image values must be in \[0, 1\]"),
        (lambda: concepts.tcav_score(np.ones((2, 2))), "derivatives must be a non-empty 1-D"),
        (lambda: concepts.tcav_score([]), "derivatives must be a non-empty 1-D"),
        (lambda: concepts.tcav_score([np.inf]), "derivatives must be finite"),
    ]


def test_bad_inputs_raise_before_any_work(setting):
    for call, match in _bad_cases(setting):
        with methods.count_passes() as passes, pytest.raises(ValueError, match=match):
            call()
        assert (passes.forward, passes.backward) == (0, 0), match


def test_a_dead_layer_has_no_cav(setting):
    model = red_model()
    model.get_layer("features").set_weights([-np.eye(3).reshape(1, 1, 3, 3), np.zeros(3)])
    with pytest.raises(ValueError, match="same activation at layer 'features'"):
        concepts.cav(model, "features", setting["red"], setting["randoms"][0])


def test_a_class_may_be_named(setting, red_result):
    """A class name is the book's class of that index (here index 0 of the toy model's
    two classes); an unknown name is refused, naming the classes, before the model runs."""
    s = setting
    name = data.CLASS_NAMES[0]
    d = concepts.directional_derivatives(s["model"], "features", s["images"], name,
                                         red_result.cavs[0])
    np.testing.assert_array_equal(d, concepts.directional_derivatives(
        s["model"], "features", s["images"], 0, red_result.cavs[0]))
    with methods.count_passes() as passes, pytest.raises(ValueError, match="Chickenpox"):
        concepts.tcav(s["model"], "features", s["red"], s["randoms"], s["images"], "Mumps")
    assert (passes.forward, passes.backward) == (0, 0)
