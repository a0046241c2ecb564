"""Tests that every registered attribution method must pass. A method added to
ATTRIBUTIONS is tested here with no list to update: shape, determinism, the planted
region, documented defaults, and one test id per kind of bad input."""

import inspect

import numpy as np
import pytest

from shared import methods
from toy_models import (FAST, REGION_LAYER, fast_parameters, planted_setting, rand_images,
                        region_mask, region_model)

NAMES = sorted(methods.ATTRIBUTIONS)


def fast(name, **extra):
    method = methods.ATTRIBUTIONS[name]
    params = dict(fast_parameters(name), **extra)
    if "layer" in method.defaults:
        params.setdefault("layer", REGION_LAYER)
    return method, params


@pytest.fixture(scope="module")
def region():
    return region_model()


@pytest.fixture(scope="module")
def x():
    return rand_images(6, 32, seed=4)


@pytest.mark.parametrize("name", NAMES)
def test_shape_dtype_finite_and_deterministic(name):
    method, params = fast(name)
    model, images, targets = planted_setting(method)
    maps = method(model, images, targets, **params)
    assert maps.shape == (6, 32, 32) and maps.dtype == np.float32
    assert np.isfinite(maps).all() and np.abs(maps).max() > 0
    np.testing.assert_array_equal(maps, method(model, images, targets, **params))


@pytest.mark.parametrize("name", NAMES)
def test_peak_falls_in_the_only_region_the_model_sees(name):
    method, params = fast(name)
    model, images, targets = planted_setting(method)
    maps = method(model, images, targets, **params)
    inside = region_mask()
    for m in maps:
        assert m.max() > 0
        assert inside.flat[np.argmax(m)], f"{name}: peak outside the region"


@pytest.mark.parametrize("name", NAMES)
def test_batching_does_not_change_the_maps(name):
    method, params = fast(name)
    model, images, targets = planted_setting(method)
    small = method(model, images, targets, **dict(params, batch_size=2))
    large = method(model, images, targets, **dict(params, batch_size=64))
    np.testing.assert_allclose(small, large, rtol=1e-4, atol=1e-5 * np.abs(large).max())


@pytest.mark.parametrize("name", NAMES)
def test_every_default_says_where_it_comes_from(name):
    method = methods.ATTRIBUTIONS[name]
    params = inspect.signature(method.unchecked).parameters
    keyword = [p for p in params.values() if p.kind is p.KEYWORD_ONLY]
    assert keyword, name
    for p in keyword:
        assert p.default is not inspect.Parameter.empty, f"{name}: {p.name} has no default"
        assert method.sources.get(p.name), f"{name}: the default of {p.name} has no source"
    assert [row[0] for row in methods.defaults(name)] == [p.name for p in keyword]


def test_the_fast_parameters_are_parameters_of_registered_methods():
    for name, params in FAST.items():
        assert name in methods.ATTRIBUTIONS, f"FAST names {name!r}, which is not registered"
        unknown = set(params) - set(methods.ATTRIBUTIONS[name].defaults)
        assert not unknown, f"FAST gives {name} parameters it does not have: {unknown}"


def _bad_inputs():
    image = rand_images(1, 32, seed=9)
    nan = image.copy()
    nan[0, 5, 5, 1] = np.nan
    return {
        "rank 3": (image[..., 0], None, "rank 4"),
        "one image without N": (image[0], None, r"rank 4.*images\[None\]"),
        "one channel": (image[..., :1], None, "3 channels"),
        "empty batch": (image[:0], None, "empty"),
        "uint8": ((image * 255).astype(np.uint8), None, "float dtype"),
        "0-255 floats": (image * 255, None, r"\[0, 1\].*divide by 255"),
        "NaN": (nan, None, "NaN"),
        "wrong size": (rand_images(1, 16), None, "expects"),
        "target 6": (image, 6, r"out of range.*0\.\.5"),
        "target -1": (image, [-1], r"out of range.*0\.\.5"),
        "two targets, one image": (image, [0, 1], "one int per image"),
        "float target": (image, 1.5, "integers"),
    }


BAD = _bad_inputs()


@pytest.mark.parametrize("case", sorted(BAD))
@pytest.mark.parametrize("name", NAMES)
def test_bad_input_raises_a_clear_error(region, name, case):
    images, targets, match = BAD[case]
    method, params = fast(name)
    with pytest.raises(ValueError, match=match):
        method(region, images, targets, **params)


@pytest.mark.parametrize("name", NAMES)
def test_bad_parameters_are_refused_before_any_work(name):
    method, params = fast(name)
    region, x, _ = planted_setting(method)
    with pytest.raises(TypeError, match="unknown parameter.*'colour'"):
        method(region, x, None, colour="red", **params)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        method(region, x, None, **dict(params, batch_size=0))
    vocabulary = {"steps": 0, "n_samples": 0, "seed": -1, "noise": -0.1, "reduce": "mean",
                  "upsample": "yes", "score": "softmax"}
    for param, bad in vocabulary.items():
        if param in method.defaults:
            with methods.count_passes() as passes, pytest.raises(ValueError, match=param):
                method(region, x, None, **dict(params, **{param: bad}))
            assert passes.forward == 0, f"{name}: work done before refusing {param}={bad!r}"
    if "layer" in method.defaults:
        with pytest.raises(ValueError, match=f"'block99' not found.*{REGION_LAYER}"):
            method(region, x, None, **dict(params, layer="block99"))


def test_a_decision_only_method_refuses_another_class():
    decision_only = [n for n in NAMES if methods.ATTRIBUTIONS[n].decision_only]
    for name in decision_only:
        method, params = fast(name)
        model, images, _ = planted_setting(method)
        with pytest.raises(ValueError, match="explains the model's decision.*not 3"):
            method(model, images, 3, **params)
