"""The Xception builder, the shared checkpoint, and the ImageNet / transfer-learning paths."""

import json
import urllib.error

import keras
import numpy as np
import pytest

from shared import data, models, randomization


def test_default_xception_has_keras_parameter_count():
    ours = models.xception()
    reference = keras.applications.Xception(weights=None)
    assert ours.count_params() == reference.count_params() == 22_910_480


def test_same_architecture_as_keras_xception():
    """With keras' weights copied in, our builder computes exactly keras' function
    (our model takes [0, 1] images; keras takes [-1, 1])."""
    shape = (96, 96, 3)
    ours = models.xception(shape, classes=5, width=1.0, middle_blocks=8)
    reference = keras.applications.Xception(weights=None, input_shape=shape, classes=5)
    rng = np.random.default_rng(0)
    for w in reference.weights:     # random BN statistics too, so nothing is trivial
        w.assign(rng.normal(0, 0.05, w.shape).astype("float32") +
                 (1.0 if "variance" in w.path or "gamma" in w.path else 0.0))
    ours.set_weights(reference.get_weights())
    x = rng.random((2,) + shape, dtype=np.float32)
    np.testing.assert_allclose(ours.predict(x, verbose=0),
                               reference.predict(2 * x - 1, verbose=0), rtol=1e-4, atol=1e-6)
    named = {layer.name for layer in reference.layers if layer.name.startswith("block")}
    assert named <= {layer.name for layer in ours.layers}


def test_width_and_depth_options():
    small = models.xception((224, 224, 3), 6, width=0.25, middle_blocks=2)
    assert small.get_layer("block14_sepconv2_act").output.shape[1:] == (7, 7, 512)
    assert "block6_sepconv3" in [layer.name for layer in small.layers]
    assert "block7_sepconv1" not in [layer.name for layer in small.layers]
    with pytest.raises(ValueError, match="input_shape"):
        models.xception((64, 64, 3))
    with pytest.raises(ValueError, match="input_shape"):
        models.xception((128, 128, 1))


# ------------------------------------------------------------------ the shared checkpoint

def test_checkpoint_file_is_small():
    assert models.CHECKPOINT.stat().st_size <= 8 * 1024 * 1024


def test_checkpoint_meets_the_targets_on_a_fresh_test_split(shared_model):
    """Recompute the model card's test numbers from scratch: the card does not lie, and
    the targets (balanced accuracy >= 0.95, every recall >= 0.90) hold."""
    from shared.train import report

    card = models.model_card()
    test = data.load_split("test")
    assert len(test) >= 600
    predicted = models.predict(shared_model, test.images).argmax(1)
    measured = report(test.labels, predicted)
    assert measured["confusion_matrix"] == card["test"]["confusion_matrix"]
    assert measured["balanced_accuracy"] >= 0.95
    assert min(measured["recall"].values()) >= 0.90
    last = shared_model.get_layer(models.LAST_CONV_LAYER).output.shape
    assert last[1] >= 7 and last[2] >= 7
    assert card["forward_speed"]["ratio"] <= 0.2


def test_logits_and_probabilities_agree(shared_model, test_images):
    logits = models.predict(models.logits_model(shared_model), test_images.images)
    probs = models.predict(shared_model, test_images.images)
    softmax = np.exp(logits - logits.max(1, keepdims=True))
    softmax /= softmax.sum(1, keepdims=True)
    np.testing.assert_allclose(softmax, probs, atol=1e-5)
    assert models.logits_model(shared_model) is models.logits_model(shared_model)  # cached
    np.testing.assert_allclose(
        models.predict(models.load_model(logits=True), test_images.images), logits, atol=1e-5)


def test_predict_matches_direct_call(shared_model, test_images):
    direct = shared_model(test_images.images[:5], training=False).numpy()
    np.testing.assert_allclose(models.predict(shared_model, test_images.images[:5], batch_size=2),
                               direct, atol=1e-5)


def test_missing_checkpoint_says_which_file_and_what_to_do(tmp_path):
    with pytest.raises(models.CheckpointError, match=r"nothere\.keras.*python -m shared\.train"):
        models.load_model(tmp_path / "nothere.keras")


def test_a_missing_variant_names_its_preset(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "CHECKPOINT_DIR", tmp_path)
    with pytest.raises(models.CheckpointError,
                       match=r"shortcut.*python -m shared\.train --preset shortcut"):
        models.load_model(variant="shortcut")
    with pytest.raises(models.CheckpointError, match=r"imbalanced.*--preset imbalanced"):
        models.model_card(variant="imbalanced")


def test_unknown_variant_or_both_sources_are_refused():
    with pytest.raises(ValueError, match=r"unknown checkpoint variant 'nope'.*shortcut"):
        models.load_model(variant="nope")
    with pytest.raises(ValueError, match="a path or a variant, not both"):
        models.model_card(models.MODEL_CARD, variant="default")


@pytest.mark.parametrize("content", [b"garbage" * 100, "truncated"])
def test_corrupt_checkpoint_says_which_file_and_what_to_do(tmp_path, content):
    path = tmp_path / "bad.keras"
    if content == "truncated":
        path.write_bytes(models.CHECKPOINT.read_bytes()[:50_000])
    else:
        path.write_bytes(content)
    with pytest.raises(models.CheckpointError, match=r"bad\.keras.*python -m shared\.train"):
        models.load_model(path)


def test_fixed_test_images_follow_the_rule(shared_model):
    from shared.examples import test_examples

    ex = test_examples(shared_model)
    assert list(ex.labels) == list(range(6))
    assert (models.predict(shared_model, ex.images).argmax(1) == ex.labels).all()
    full = data.load_split("test")
    predicted = models.predict(shared_model, full.images).argmax(1)
    for c, i in enumerate(ex.info["indices"]):
        k = c * data.SPLIT_SIZES["test"] + i
        assert np.array_equal(full.images[k], ex.images[c])
        earlier = np.arange(c * data.SPLIT_SIZES["test"], k)
        assert (predicted[earlier] != c).all()       # it is the *first* correct one


# ------------------------------------------------------------------ ImageNet path

def test_imagenet_path_offline_says_why_and_what_instead(monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no network")
    monkeypatch.setattr(keras.applications, "Xception", no_network)
    with pytest.raises(RuntimeError, match=r"network.*load_model\(\)"):
        models.imagenet_xception()


def test_transfer_learning_recipe_builds_offline():
    model = models.transfer_model((96, 96, 3), classes=6, weights=None)
    assert model.output.shape[-1] == 6
    trainable = {w.path.split("/")[0] for w in model.trainable_weights}
    assert trainable == {"logits"}                        # the base is frozen
    x = np.random.default_rng(0).random((3, 96, 96, 3), dtype=np.float32)
    probs = model.predict(x, verbose=0)
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    logits = models.logits_model(model).predict(x, verbose=0)
    np.testing.assert_allclose(np.argmax(logits, 1), np.argmax(probs, 1))


def test_logits_of_a_keras_applications_model():
    reference = keras.applications.Xception(weights=None, input_shape=(96, 96, 3), classes=4)
    x = np.random.default_rng(1).random((2, 96, 96, 3), dtype=np.float32)
    logits = models.logits_model(reference).predict(x, verbose=0)
    probs = reference.predict(x, verbose=0)
    np.testing.assert_allclose(np.exp(logits) / np.exp(logits).sum(1, keepdims=True), probs,
                               atol=1e-5)


def test_model_card_is_complete():
    card = models.model_card()
    for key in ("config", "training_seconds", "history", "test", "validation", "forward_speed"):
        assert key in card
    assert card["training_seconds"] <= 30 * 60
    assert len(card["history"]["val_accuracy"]) == card["config"]["epochs"]
    text = (models.CHECKPOINT_DIR / "model_card.md").read_text()
    assert f"{card['test']['balanced_accuracy']:.3f}" in text
    json.dumps(card)


def test_randomized_copy_changes_exactly_the_named_blocks(shared_model):
    assert randomization.cascade_blocks(shared_model)[:3] == ["logits", "block14", "block13"]
    before = [w.numpy().copy() for w in shared_model.weights]
    copy = randomization.randomized_copy(shared_model, ["logits", "block14"], seed=0)
    again = randomization.randomized_copy(shared_model, ["logits", "block14"], seed=0)
    for w, w0 in zip(shared_model.weights, before):
        assert np.array_equal(w.numpy(), w0)                 # the original is untouched
    for a, b, c in zip(shared_model.layers, copy.layers, again.layers):
        for wa, wb, wc in zip(a.get_weights(), b.get_weights(), c.get_weights()):
            assert np.array_equal(wb, wc)                    # deterministic
            changed = not np.array_equal(wa, wb)
            if randomization.block_of(a.name) in ("logits", "block14"):
                assert changed or wa.ndim == 1               # every kernel is redrawn
            else:
                assert not changed
    with pytest.raises(ValueError, match="unknown blocks \\['block99'\\]"):
        randomization.randomized_copy(shared_model, ["block99"])
