"""SHAP (shared.methods.shap): KernelSHAP on LIME's superpixels against exact Shapley values,
LIME with the Shapley kernel against KernelSHAP, Partition SHAP (Owen values), and what
Deep SHAP does on Keras 3. Partition SHAP and Deep SHAP are registered (the registry's
tests run on them too); KernelSHAP is not yet, and the registry's contract is checked here
for it.

Two toy models from toy_models (they see only input rows 4-12, columns 18-28):
``region_model`` (every logit grows with the region; with a black fill and the logit,
the game is additive) and ``decision_model`` (class 0 when the region is bright: its
probability is far from additive in the superpixels, so the kernel matters).
"""

import inspect
import warnings

import keras
import numpy as np
import pytest

from shared import data, methods, scorecard
from shared.methods import (PARTITION_ROUND, KernelShapExplanation, deep_shap,
                            grid_segmentation, kernel_shap, kernel_shap_explanation,
                            lime_explanation, partition_shap, shapley_kernel,
                            superpixel_means)
from toy_models import (decision_model, linear_model, planted, planted_setting, rand_images,
                        region_mask, region_model)

# white box: the modules whose internals two tests patch or read, found through public
# functions rather than imported by path
primitives = inspect.getmodule(methods.scores)
shap_methods = inspect.getmodule(methods.kernel_shap)

INSIDE = region_mask()
NINE = grid_segmentation(11)      # 3 x 3 superpixels of a 32 x 32 image: 2^9 coalitions
METHODS = {"kernel_shap": kernel_shap, "partition_shap": partition_shap,
           "deep_shap": deep_shap}
L = keras.layers


@pytest.fixture(scope="module")
def decision():
    return decision_model()


@pytest.fixture(scope="module")
def region():
    return region_model()


def recording(monkeypatch):
    """Record every batch the methods send to the model (the engine's ``scores``)."""
    seen, scores = [], primitives.scores

    def spy(model, batch, *args, **kwargs):
        seen.append(np.array(batch))
        return scores(model, batch, *args, **kwargs)
    monkeypatch.setattr(primitives, "scores", spy)
    return seen


def superpixel_game(model, image, segments, target, fill, score):
    """The game KernelSHAP plays: a coalition of superpixels -> the target's score with
    only those shown (the rest from ``fill``), for shared.scorecard.shapley_values."""
    k = int(segments.max()) + 1

    def game(coalitions):
        shown = np.zeros((len(coalitions), k), bool)
        for row, c in enumerate(coalitions):
            shown[row, sorted(c)] = True
        x = np.where(shown[:, segments][..., None], image, fill)
        return methods.scores(model, x, target, score=score)
    return game


# ------------------------------------------------------------------------- the module

def test_the_module_does_not_hide_the_shap_library():
    """shared/methods/shap.py is this package's module; ``import shap`` inside it (and
    anywhere) is the library."""
    import shap
    assert "site-packages" in shap.__file__ and hasattr(shap, "KernelExplainer")
    assert shap_methods.__name__ == "shared.methods.shap"
    assert methods.shap is shap_methods


UNREGISTERED = ()
"""Registered with its scorecard row, when that row is committed."""


@pytest.mark.parametrize("name", sorted(METHODS))
def test_registered_with_a_scorecard_row_and_every_default_says_where_it_comes_from(name):
    method = METHODS[name]
    if name in UNREGISTERED:
        assert name not in methods.ATTRIBUTIONS, f"{name} is registered: update UNREGISTERED"
        assert "registered with its scorecard row" in " ".join(method.__doc__.split())
    else:
        assert methods.ATTRIBUTIONS[name] is method
        assert name in scorecard.entries(), f"{name} has no scorecard entry"
    keyword = [p for p in inspect.signature(method.unchecked).parameters.values()
               if p.kind is p.KEYWORD_ONLY]
    for p in keyword:
        assert method.sources.get(p.name), f"{name}: the default of {p.name} has no source"
    assert [row[0] for row in methods.defaults(method)] == [p.name for p in keyword]


def test_kernel_shap_has_limes_defaults():
    lime = methods.ATTRIBUTIONS["lime"].defaults
    for name in ("segmentation", "fill", "score", "n_samples", "seed"):
        assert kernel_shap.defaults[name] == lime[name], name


# ------------------------------------------------------------------- the Shapley kernel

def test_shapley_kernel_values():
    w = shapley_kernel(4)
    assert w.shape == (5,) and np.isinf(w[[0, 4]]).all()
    # (M - 1) / (C(M, s) s (M - s)) for M = 4: s = 1: 3 / (4 * 3), s = 2: 3 / (6 * 4)
    np.testing.assert_allclose(w[1:4], [0.25, 0.125, 0.25])
    np.testing.assert_array_equal(shapley_kernel(4, ends=1e6)[[0, 4]], [1e6, 1e6])
    np.testing.assert_allclose(shapley_kernel(9)[1:9], shapley_kernel(9)[8:0:-1])  # symmetric
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="n_features"):
            shapley_kernel(bad)
    with pytest.raises(ValueError, match="ends"):
        shapley_kernel(4, ends=0)


# ---------------------------------------------------------------------------- KernelSHAP

def test_kernel_shap_with_every_coalition_is_the_exact_shapley_value(decision):
    """With n_samples >= 2^K - 2 KernelSHAP scores every coalition: its values are the
    Shapley values computed by enumeration (shared.scorecard.shapley_values) on the same
    game, and add up to v(all shown) - v(all hidden)."""
    image = planted(0)
    e = kernel_shap_explanation(decision, image, 0, n_samples=600, segmentation=NINE,
                                fill="black", score="probability")
    assert isinstance(e, KernelShapExplanation) and e.n_segments == 9
    assert e.exact and e.evaluations == 2 ** 9 and len(e.coalitions) == 2 ** 9 - 2
    game = superpixel_game(decision, image, e.segments, 0, 0.0, "probability")
    truth = scorecard.shapley_values(game, 9, exact_up_to=9)
    assert truth["exact"]
    np.testing.assert_allclose(e.values, truth["values"], rtol=0,
                               atol=1e-6 * np.abs(truth["values"]).max())
    assert e.base_value == pytest.approx(truth["empty"], abs=1e-7)
    assert e.prediction == pytest.approx(truth["full"], abs=1e-7)
    assert e.values.sum() == pytest.approx(e.prediction - e.base_value, abs=1e-9)
    # the region's four superpixels take (almost) everything
    region_ids = np.unique(e.segments[INSIDE])
    assert e.values[region_ids].sum() > 0.95 * e.values.sum()


def test_kernel_shap_sampled_is_still_efficient_and_paints_its_values(decision):
    """16 superpixels, 200 coalitions of 65534: an estimate, but KernelSHAP enforces
    efficiency as a constraint; the map paints each value onto its superpixel."""
    image = planted(1)
    e = kernel_shap_explanation(decision, image, n_samples=200, segmentation=grid_segmentation(8),
                                fill="black")
    assert e.target == 0 and not e.exact and e.n_segments == 16
    assert e.evaluations == 202 and len(e.coalitions) == 200
    assert e.values.sum() == pytest.approx(e.prediction - e.base_value, abs=1e-9)
    assert e.map.dtype == np.float32 and e.map.shape == (32, 32)
    np.testing.assert_array_equal(e.map, e.values[e.segments].astype(np.float32))
    assert e.prediction == pytest.approx(
        float(methods.scores(decision, image[None], 0, score="probability")[0]), abs=1e-6)
    maps = kernel_shap(decision, image[None], n_samples=200, segmentation=grid_segmentation(8),
                       fill="black")
    np.testing.assert_array_equal(maps[0], e.map)


def test_kernel_shap_top_superpixel_is_in_the_region():
    """The registry's planted setting (region model, every class, noise images) with
    LIME's registry parameters: 4 x 4 squares, black fill, logit."""
    model, images, targets = planted_setting(kernel_shap)
    maps = kernel_shap(model, images, targets, n_samples=200, segmentation=grid_segmentation(4),
                       fill="black", score="logit")
    assert maps.shape == (6, 32, 32) and maps.dtype == np.float32
    segments = grid_segmentation(4)(images[0])
    touching = np.isin(segments, np.unique(segments[INSIDE]))
    for m in maps:
        assert m.max() > 0
        assert INSIDE.flat[np.argmax(m)], "top superpixel outside the region"
        # an additive game: a superpixel the model cannot see gets 0
        assert np.abs(m[~touching]).max() < 1e-6 * m.max()


def test_kernel_shap_uses_limes_superpixels_and_fill(decision, monkeypatch):
    """Same segmentation, and a hidden superpixel becomes what LIME puts there (its own
    mean colour, lime's default): every pixel of every image either LIME or KernelSHAP
    scores is the image's or the superpixel mean's, and both hide with the same values."""
    image = planted(2)
    seen = recording(monkeypatch)
    ours = kernel_shap_explanation(decision, image, 0, n_samples=60, segmentation="slic")
    n_ours = len(seen)
    theirs = lime_explanation(decision, image, 0, n_samples=60, segmentation="slic")
    np.testing.assert_array_equal(ours.segments, theirs.segments)
    means = superpixel_means(image, ours.segments)
    for batches in (seen[:n_ours], seen[n_ours:]):
        x = np.concatenate(batches)
        hidden = ~np.isclose(x, image, atol=1e-7)
        assert hidden.any()
        np.testing.assert_allclose(x[hidden], np.broadcast_to(means, x.shape)[hidden], atol=1e-6)


def test_kernel_shap_is_seeded_and_leaves_numpys_random_state_alone(decision):
    image = planted(1)[None]
    params = dict(n_samples=100, segmentation=grid_segmentation(8), fill="black")
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    first = kernel_shap(decision, image, **params)
    assert np.random.random() == expected       # the caller's stream goes on unchanged
    np.testing.assert_array_equal(first, kernel_shap(decision, image, **params))
    assert not np.array_equal(first, kernel_shap(decision, image, seed=1, **params))


def test_kernel_shap_batching_does_not_change_the_maps(decision):
    images = np.stack([planted(s) for s in range(2)])
    params = dict(n_samples=100, segmentation=grid_segmentation(8), fill="black")
    np.testing.assert_allclose(kernel_shap(decision, images, batch_size=3, **params),
                               kernel_shap(decision, images, batch_size=64, **params),
                               rtol=1e-5, atol=1e-7)


# ------------------------------------------------------- LIME with the Shapley kernel

def test_lime_with_the_shapley_kernel_is_kernel_shap_and_limes_kernel_is_not(decision):
    """Lundberg & Lee 2017, Theorem 2. LIME's own regression (lime's LimeBase, the code
    behind LimeImageExplainer) on KernelSHAP's coalitions, with LIME's cosine distance
    to the unperturbed image and only the kernel changed: the Shapley kernel (the empty
    and the full coalition weighted 1e6, KernelSHAP's constraints) and no ridge penalty
    give KernelSHAP's values; LIME's default kernel (exp of the squared distance, width
    0.25) on the same samples gives other values, which do not add up to the gap."""
    from lime import lime_image
    from lime.lime_base import LimeBase
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import pairwise_distances

    e = kernel_shap_explanation(decision, planted(0), 0, n_samples=600, segmentation=NINE,
                                fill="black")
    m = e.n_segments
    z = np.vstack([np.ones((1, m)), e.coalitions, np.zeros((1, m))])   # lime: image first
    y = np.concatenate([[e.prediction], e.outputs, [e.base_value]])[:, None]
    distances = pairwise_distances(z, z[:1], metric="cosine").ravel()
    # the cosine distance to the image says how many superpixels are shown:
    # d = 1 - sqrt(|z| / M), so the Shapley kernel is a kernel of LIME's distance
    size = np.rint(m * (1 - distances) ** 2).astype(int)
    np.testing.assert_array_equal(size, z.sum(1))
    weights = shapley_kernel(m, ends=1e6)

    def weights_of(explanation):
        w = np.zeros(m)
        for feature, value in explanation[1]:
            w[feature] = value
        return w

    shapley = LimeBase(lambda d: weights[np.rint(m * (1 - d) ** 2).astype(int)], random_state=0)
    fit = shapley.explain_instance_with_data(z, y, distances, 0, m, feature_selection="none",
                                             model_regressor=LinearRegression())
    np.testing.assert_allclose(weights_of(fit), e.values, rtol=0,
                               atol=1e-6 * np.abs(e.values).max())
    assert fit[0] == pytest.approx(e.base_value, abs=1e-6)

    gap = e.prediction - e.base_value
    limes = lime_image.LimeImageExplainer(kernel_width=0.25, random_state=0).base
    default = weights_of(limes.explain_instance_with_data(z, y, distances, 0, 100000))
    kernel_only = weights_of(limes.explain_instance_with_data(
        z, y, distances, 0, 100000, model_regressor=LinearRegression()))
    relative = lambda w: np.linalg.norm(w - e.values) / np.linalg.norm(e.values)  # noqa: E731
    # measured: 0.043 (LIME as it is) and 0.059 (its kernel alone, no ridge)
    assert relative(default) > 0.03 and relative(kernel_only) > 0.03
    # measured: LIME's weights sum to 0.85 and 0.87 for a gap of 0.81
    assert abs(default.sum() - gap) > 0.03 * gap and abs(kernel_only.sum() - gap) > 0.05 * gap
    # the same story, though: the region's superpixels first
    assert set(np.argsort(-default)[:4]) == set(np.argsort(-e.values)[:4])


# -------------------------------------------------------------------------- Partition SHAP

@pytest.fixture(scope="module")
def partition_setting():
    model, images, targets = planted_setting(partition_shap)
    return model, images, targets


def test_partition_shap_peaks_in_the_region_and_adds_up(partition_setting):
    """Black fill and logit (an additive game, as for LIME's registry parameters), shap's
    default budget of 500 evaluations: the peak is in the region for every class
    (measured: 6/6; 1/6 at 100 evaluations, where the rectangles are still coarse); the
    Owen values add up to v(image) - v(black image)."""
    model, images, targets = partition_setting
    maps = partition_shap(model, images, targets, masker="black", score="logit")
    assert maps.shape == (6, 32, 32) and maps.dtype == np.float32
    for m in maps:
        assert INSIDE.flat[np.argmax(m)], "peak outside the region"
    gap = (methods.scores(model, images, targets)
           - methods.scores(model, np.zeros_like(images), targets))
    np.testing.assert_allclose(maps.sum((1, 2)), gap, rtol=1e-4, atol=1e-5)


def test_partition_shap_scores_max_evals_images_per_image(partition_setting, monkeypatch):
    """The cost: max_evals images per image, in rounds of at most PARTITION_ROUND."""
    model, images, targets = partition_setting
    seen = recording(monkeypatch)
    partition_shap(model, images[:2], targets[:2], masker="black", max_evals=120,
                   score="logit")
    assert sum(len(b) for b in seen) == 2 * 120
    assert max(len(b) for b in seen) <= PARTITION_ROUND


def test_partition_shap_is_deterministic_and_batching_changes_nothing(partition_setting):
    """The explainer breaks ties with numpy's global random state: seeded, and the
    caller's state restored; the model's batch size changes speed only (the round size
    is PARTITION_ROUND)."""
    model, images, targets = partition_setting
    params = dict(masker="blur(16,16)", max_evals=150, score="logit")
    np.random.seed(7)
    expected = np.random.random()
    np.random.seed(7)
    first = partition_shap(model, images[:3], targets[:3], **params)
    assert np.random.random() == expected
    np.testing.assert_array_equal(first, partition_shap(model, images[:3], targets[:3], **params))
    np.testing.assert_allclose(
        first, partition_shap(model, images[:3], targets[:3], batch_size=2, **params),
        rtol=1e-5, atol=1e-7)
    assert PARTITION_ROUND == 50


def test_partition_shap_inpainting_on_images_in_0_1(partition_setting):
    """shap's inpainting casts to uint8: the images reach it as 0-255 values. Its Owen
    values add up to v(image rounded down to 256 levels) - v(its mean colour)."""
    model, images, targets = partition_setting
    maps = partition_shap(model, images[:2], targets[:2], masker="inpaint_telea",
                          max_evals=60, score="logit")
    rounded = (images[:2] * np.float32(255)).astype(np.uint8).astype(np.float32) / 255
    mean = np.broadcast_to(images[:2].mean((1, 2), keepdims=True), rounded.shape)
    gap = methods.scores(model, rounded, targets[:2]) - methods.scores(model, mean, targets[:2])
    np.testing.assert_allclose(maps.sum((1, 2)), gap, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("masker, match", [
    ("blur(0,3)", "kx, ky >= 1"), ("inpaint", "inpaint_telea"), ("fog", "shap's image maskers"),
    (1.5, r"\[0, 1\]")])
def test_partition_shap_bad_masker_is_a_clear_error(region, masker, match):
    with pytest.raises(ValueError, match=match):
        partition_shap(region, rand_images(1, 32), masker=masker)


def test_partition_shap_max_evals_below_two_is_a_clear_error(region):
    with pytest.raises(ValueError, match="max_evals must be at least 2"):
        partition_shap(region, rand_images(1, 32), max_evals=1)


# ------------------------------------------------------------------------------- Deep SHAP

def separable_model(relu=False):
    """SeparableConv2D (DepthwiseConv2dNative, as in the book's Xception) -> GAP -> logits."""
    inputs = keras.Input((16, 16, 3))
    x = L.SeparableConv2D(4, 3, padding="same", name="separable")(inputs)
    if relu:
        x = L.Activation("relu")(x)
    x = L.Dense(3, name="logits")(L.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, L.Activation("softmax", name="predictions")(x))
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    return model


@pytest.fixture
def restore_tensorflow():
    """Puts back what a failing shap.DeepExplainer leaves patched."""
    from tensorflow.python.eager import execute
    record_gradient = execute.record_gradient
    yield record_gradient
    execute.record_gradient = record_gradient


def test_stock_deep_explainer_fails_on_separable_convolutions_as_documented(restore_tensorflow):
    """The documented failure (module docstring, "Deep SHAP on Keras 3"): if shap gains a
    rule for depthwise convolutions, this fails and the docstring must change."""
    import shap
    from tensorflow.python.eager import execute
    model = methods.network(separable_model()).logits_model
    background = rand_images(4, 16, seed=1)
    with pytest.raises(Exception) as caught, warnings.catch_warnings():
        warnings.simplefilter("ignore")          # shap's "TensorFlow newer than 2.4"
        shap.DeepExplainer(model, background).shap_values(background[:1])
    assert type(caught.value).__name__ == "StagingError"
    last = str(caught.value).strip().splitlines()[-1].strip()
    assert last == "LookupError: gradient registry has no entry for: shap_DepthwiseConv2dNative"
    assert last in shap_methods.__doc__
    # ... and leaves TensorFlow's record_gradient patched (the fixture puts it back)
    assert execute.record_gradient is not restore_tensorflow


def test_deep_explainer_rules_without_rules_puts_tensorflow_back_after_the_failure(region):
    """The SHAP chapter shows the stock failure inside deep_explainer_rules(ops=()): the
    error still comes (no rule added), and afterwards TensorFlow records gradients again."""
    import shap
    from shap.explainers._deep import deep_tf
    from tensorflow.python.eager import execute
    before = execute.record_gradient
    model = methods.network(separable_model()).logits_model
    background = rand_images(4, 16, seed=1)
    with pytest.raises(Exception, match="shap_DepthwiseConv2dNative"), \
            methods.deep_explainer_rules(ops=()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shap.DeepExplainer(model, background).shap_values(background[:1])
    assert execute.record_gradient is before
    assert "DepthwiseConv2dNative" not in deep_tf.op_handlers
    grads = methods.gradients(region, rand_images(1, 32), [0])
    assert np.isfinite(grads).all() and np.abs(grads).max() > 0


@pytest.mark.parametrize("ops", ["DepthwiseConv2dNative", [3]])
def test_deep_explainer_rules_wants_op_names(ops):
    with pytest.raises(ValueError, match="ops must be a sequence of TensorFlow op names"):
        with methods.deep_explainer_rules(ops=ops):
            pass


@pytest.mark.parametrize("kind", ["dense", "separable"])
def test_deep_shap_of_a_linear_model_is_integrated_gradients_from_the_mean_reference(kind):
    """DeepLIFT is exact on a linear network: phi = w (x - mean(references)), which is
    Integrated Gradients from the mean reference. The separable model needs the rule
    deep_shap adds (a depthwise convolution is linear); shap's table is left as it was."""
    from shap.explainers._deep import deep_tf
    model = linear_model(seed=2) if kind == "dense" else separable_model()
    size = model.input_shape[1]
    x, refs = rand_images(3, size, seed=2), rand_images(5, size, seed=3)
    targets = [0, 2, 1]
    ours = deep_shap(model, x, targets, baseline=refs, batch_size=2)
    ig = methods.integrated_gradients(model, x, targets, baseline=refs.mean(0), steps=2)
    assert ours.shape == x.shape[:3] and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ig, rtol=0, atol=1e-5 * np.abs(ig).max())
    assert "DepthwiseConv2dNative" not in deep_tf.op_handlers


def test_deep_shap_counts_the_passes_shap_makes(region, monkeypatch):
    """shap runs the model itself; deep_shap counts its passes as count_passes counts the
    engine's: per group of references (M) and target (n images), M forward for the
    expected value, 2 M n forward and backward (each image tiled beside the references)
    and n forward for the additivity check. The joint batches are checked against what
    shap's graph function receives."""
    from shap.explainers._deep import deep_tf
    sent, run = [], deep_tf.TFDeep.run

    def spy(self, out, model_inputs, X):
        sent.append(len(X[0]))
        return run(self, out, model_inputs, X)
    monkeypatch.setattr(deep_tf.TFDeep, "run", spy)
    x = rand_images(3, 32, seed=5)
    with methods.count_passes() as counted:
        deep_shap(region, x, [0, 0, 1], n_samples=5, batch_size=3)
    # groups of 3 and 2 references; targets 0 (2 images) and 1 (1 image)
    expected_forward = sum(m + n * (2 * m + 1) for m in (3, 2) for n in (2, 1))
    assert counted.forward == expected_forward
    assert counted.backward == sum(2 * m * n for m in (3, 2) for n in (2, 1))
    # what shap's run() saw: every image with its references (the eager expected value
    # and additivity check call the model directly)
    assert sum(sent) == sum(2 * m * n for m in (3, 2) for n in (2, 1))


def test_deep_shap_adds_up_on_a_relu_network():
    """Each map adds up to the target's logit minus its mean over the references (the
    noise references drawn from the seed)."""
    model = separable_model(relu=True)
    x = rand_images(2, 16, seed=4)
    maps = deep_shap(model, x, [0, 1], n_samples=6, seed=3)
    refs = np.random.default_rng(3).random((6, 16, 16, 3), dtype=np.float32)
    expected = methods.scores(model, x, [0, 1]) - methods.scores(model, refs)[:, [0, 1]].mean(0)
    np.testing.assert_allclose(maps.sum((1, 2)), expected, rtol=1e-4, atol=1e-5)


def test_deep_shap_without_a_rule_is_a_clear_error_and_gradients_still_work(region):
    inputs = keras.Input((8, 8, 3))
    x = L.LeakyReLU(0.1)(L.Flatten()(inputs))      # TensorFlow's LeakyRelu: no rule in shap
    model = keras.Model(inputs, L.Dense(3)(x))
    with pytest.raises(NotImplementedError, match="no DeepLIFT rule for the TensorFlow op "
                                                   "LeakyRelu.*expected_gradients") as caught:
        deep_shap(model, rand_images(1, 8), n_samples=2)
    assert "shap_LeakyRelu" in str(caught.value.__cause__)
    grads = methods.gradients(region, rand_images(1, 32), [0])   # TensorFlow put back
    assert np.isfinite(grads).all() and np.abs(grads).max() > 0


def test_deep_shap_runs_on_the_checkpoint_and_adds_up(shared_model, test_images):
    """The book's Xception, one image, a background of 5 validation images: the maps add
    up to the logit minus its mean over the background (shap's additivity check)."""
    image = test_images.images[:1]
    background = data.load_split("val", 1).images[:5]
    maps = deep_shap(shared_model, image, None, baseline=background)
    target = methods.resolve_targets(shared_model, image)
    gap = (methods.scores(shared_model, image, target)
           - methods.scores(shared_model, background)[:, target[0]].mean())
    assert maps.shape == (1, 224, 224)
    np.testing.assert_allclose(maps.sum(), gap, rtol=1e-3)
