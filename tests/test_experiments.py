"""The comparison chapter's experiments: the marked test images are the test images
plus a marker and nothing else, and the marker measures find the marker exactly when a
model uses it. Toy models on 128-pixel scenes; no checkpoint."""

import inspect

import keras
import numpy as np
import pytest

from shared import data, methods, scorecard
from toy_models import SpatialMask

SIZE = 128


@pytest.fixture(scope="module")
def marked():
    return scorecard.marked_test_set(2, size=SIZE)


def dark_detector(region, threshold=0.3):
    """Class 0's logit: the mean darkness below ``threshold`` (mean of RGB) inside
    ``region``: a model that uses dark pixels there and nothing else."""
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(1, 1, name="conv")(inputs)
    x = keras.layers.Activation("relu", name="features")(SpatialMask(region)(x))
    x = keras.layers.Dense(2, name="logits")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, keras.layers.Activation("softmax")(x))
    model.get_layer("conv").set_weights([np.full((1, 1, 3, 1), -1 / 3), np.array([threshold])])
    model.get_layer("logits").set_weights([np.array([[1.0, -1.0]]), np.zeros(2)])
    return model


def test_marked_images_are_the_test_images_plus_a_marker(marked):
    marked_ds, clean = marked
    test = data.load_split("test", 2, size=SIZE)
    assert np.array_equal(clean.images, test.images)       # the rest of the scene is kept
    assert np.array_equal(clean.labels, test.labels)
    for i, k in enumerate(marked_ds.info["marker"]):
        scene = marked_ds.scene(i)
        assert scene.elements[k].kind == "marker"
        changed = (marked_ds.images[i] != clean.images[i]).any(axis=-1)
        assert changed.any() and not (changed & ~scene.footprint(k)).any()
        assert marked_ds.marker_masks[i].any() and not clean.marker_masks[i].any()


def _isolated_marker(ds):
    """An image whose marker's box, grown by 4 px, touches no other element."""
    for i, k in enumerate(ds.info["marker"]):
        scene = ds.scene(i)
        ys, xs = np.nonzero(scene.footprint(k))
        box = np.zeros_like(ds.marker_masks[i])
        box[max(ys.min() - 4, 0):ys.max() + 5, max(xs.min() - 4, 0):xs.max() + 5] = True
        others = [scene.footprint(j) for j in scene.visible if j != k]
        if len(others) >= 2 and not any((box & p).any() for p in others):
            return i, box
    raise AssertionError("no image with an isolated marker")


def test_marker_measures_find_the_marker_only_when_the_model_uses_it(marked):
    ds, _ = marked
    i, box = _isolated_marker(ds)
    one = ds[[i]]
    one.info["marker"] = [ds.info["marker"][i]]
    results = {}
    # one model uses the dark pixels in the marker's box; the other all the darkness
    # outside it (lesions are darker than skin, so they matter to it; the marker cannot)
    for name, region, threshold in (("marker", box, 0.3), ("elsewhere", ~box, 1.0)):
        model = dark_detector(region, threshold)
        truth = [scorecard.scene_truth(model, one.scene(0), 0)]
        maps = methods.ATTRIBUTIONS["saliency"](model, one.images, [0])
        results[name] = scorecard.marker_measures(maps, one, truth)
    uses, ignores = results["marker"], results["elsewhere"]
    assert uses["rank_truth"] == [1] and uses["rank_map"] == [1]
    assert uses["share"][0] > 0.9 and uses["pointing"] == [1.0]
    assert ignores["rank_truth"][0] > 1            # its Shapley value is 0: not first
    assert ignores["share"] == [0.0] and ignores["pointing"] == [0.0]
    assert uses["area"] == ignores["area"] == [float(one.marker_masks.mean())]


def test_a_constant_map_gets_the_chance_levels(marked):
    ds, _ = marked
    truth = [dict(elements=list(ds.scene(i).visible),
                  shapley=[1.0] * len(ds.scene(i).visible)) for i in range(len(ds))]
    out = scorecard.marker_measures(np.ones(ds.images.shape[:3]), ds, truth)
    np.testing.assert_allclose(out["share"], out["area"])
    np.testing.assert_allclose(out["pointing"], out["area"])
    for i, rank in enumerate(out["rank_truth"]):   # all tied: the middle rank, not first
        k = len(truth[i]["elements"])
        assert rank == (1 + k) / 2 and (rank > 1 or k == 1)


def test_unknown_experiment_is_refused_by_name():
    with pytest.raises(ValueError, match=r"unknown experiment 'shortcuts'.*imbalance"):
        scorecard.load_experiment("shortcuts")


# ------------------------------------------------------------------ the whole command

def darkness_model(weight):
    """Six classes; the Monkeypox logit is ``weight`` x the mean darkness below 0.3, the
    others constant (Chickenpox highest): with a large weight, a dark marker makes the
    image Monkeypox."""
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(1, 1, name="conv")(inputs)
    x = keras.layers.Activation("relu", name="features")(x)
    x = keras.layers.Dense(6, name="logits")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, keras.layers.Activation("softmax")(x))
    model.get_layer("conv").set_weights([np.full((1, 1, 3, 1), -1 / 3), np.array([0.3])])
    column = np.zeros((1, 6))
    column[0, data.class_index("Monkeypox")] = weight
    model.get_layer("logits").set_weights([column, np.array([0.01, 0, 0, 0, 0, 0])])
    return model


def test_the_evaluation_command_computes_resumes_and_tabulates(tmp_path, monkeypatch):
    # white box: the toy models, sizes and entries replace the modules' own (found
    # through public functions, not imported by path)
    experiments = inspect.getmodule(scorecard.compute_experiment)
    run = inspect.getmodule(scorecard.evaluate_entry)

    def decision_saliency(model, images, targets=None):
        """Saliency that, like anchors, explains the predicted class only."""
        predicted = methods.resolve_targets(model, images)
        assert targets is not None and (np.asarray(targets) == predicted).all()
        return methods.ATTRIBUTIONS["saliency"](model, images, targets)
    decision_saliency.decision_only = True

    toys = {"shortcut": darkness_model(1e4), "default": darkness_model(0.0),
            "imbalanced": darkness_model(1e4), "small": darkness_model(0.0)}
    monkeypatch.setattr(experiments, "_models", lambda names: {n: toys[n] for n in names})
    monkeypatch.setattr(experiments, "SIZE", SIZE)
    monkeypatch.setattr(experiments, "BEHAVIOUR_PER_CLASS", 2)
    monkeypatch.setattr(experiments, "MAPS_PER_CLASS", 1)
    monkeypatch.setattr(experiments, "EMPTY_SCENES_PER_CLASS", 1)
    monkeypatch.setattr(run, "RESULTS", tmp_path)
    monkeypatch.setitem(methods.ATTRIBUTIONS, "decision_saliency", decision_saliency)
    monkeypatch.setattr(experiments, "_method_entries", lambda: {
        "saliency": scorecard.Entry("saliency", "saliency"),
        "decision_saliency": scorecard.Entry("decision_saliency", "decision_saliency")})
    log = []
    scorecard.compute_experiment("shortcut", log=log.append)
    scorecard.compute_experiment("shortcut", log=log.append)             # resumes: nothing to do
    assert len(log) == 1 + 2 * 2                                # behaviour, 2 x 2 maps
    done = scorecard.load_experiment("shortcut")
    assert done["command"] == "python -m shared.scorecard shortcut"

    behaviour = scorecard.shortcut_behaviour_table()
    assert behaviour.loc["shortcut", ("accuracy, marked", "mean")] < \
        behaviour.loc["shortcut", ("accuracy, clean", "mean")]
    assert behaviour.loc["shortcut", ("others called it, marked", "mean")] == 1.0
    assert behaviour.loc["default", ("logit gain", "mean")] == 0.0

    table = scorecard.shortcut_methods_table()
    assert list(table.index) == ["saliency", "decision_saliency"]
    assert table.loc["saliency", ("share (shortcut)", "n")] == 6
    # the decision-only method explains the images the model calls Monkeypox only:
    # every marked image on the shortcut model, none on the book's
    decided = done["methods"]["decision_saliency"]
    assert decided["shortcut"]["images"] == 6 and decided["default"]["images"] == 0
    assert decided["default"]["share"] == [None] * 6          # NaN, stored as null

    scorecard.compute_experiment("imbalance", log=log.append)
    table = scorecard.imbalance_methods_table()
    assert ("difference", "mean") in table.columns
    rows = scorecard.imbalance_behaviour_table()
    assert rows.loc[("imbalanced", "Healthy"), "n"] == 2
