"""Occlusion and RISE: what they compute, checked against plain loops, the papers' masks
and a model whose right answer is known (one planted region, see toy_models)."""

import inspect

import numpy as np
import pytest
from skimage.transform import resize

from shared import methods
from shared.methods import MaskSampler, occlusion, patch_positions, rise
from toy_models import INPUT_COLS, INPUT_ROWS, rand_images, region_mask, region_model

SIZE = 32


@pytest.fixture(scope="module")
def region():
    return region_model()


@pytest.fixture(scope="module")
def x():
    return rand_images(3, SIZE, seed=4)


def pearson(a, b):
    return np.corrcoef(np.ravel(a), np.ravel(b))[0, 1]


def test_both_methods_are_registered_with_their_defaults():
    assert methods.ATTRIBUTIONS["occlusion"] is occlusion
    assert methods.ATTRIBUTIONS["rise"] is rise
    assert occlusion.defaults == dict(patch=15, stride=8, fill="grey", score="probability",
                                      batch_size=64)
    assert rise.defaults == dict(n_samples=4000, cell=7, p_keep=0.5, fill="black",
                                 score="probability", seed=0, first=0, batch_size=64)


# ------------------------------------------------------------------------ occlusion

@pytest.mark.parametrize("size, patch, stride, expected", [
    (32, 8, 8, [0, 8, 16, 24]),
    (32, 8, 5, [0, 5, 10, 15, 20, 24]),        # the last square flush with the border
    (32, 32, 1, [0]),
    (224, 15, 8, list(range(0, 210, 8)) + [209]),
])
def test_positions_cover_the_last_rows_and_columns(size, patch, stride, expected):
    starts = patch_positions(size, patch, stride)
    assert starts.tolist() == expected
    covered = np.zeros(size, int)
    for s in starts:
        covered[s:s + patch] += 1
    assert covered.min() >= 1


def _square_touches_region(y, x, ph, pw):
    return (y < INPUT_ROWS.stop and y + ph > INPUT_ROWS.start
            and x < INPUT_COLS.stop and x + pw > INPUT_COLS.start)


def test_occlusion_peaks_in_the_region_and_is_exactly_zero_where_no_square_touches_it(region, x):
    """At the defaults' score, for the predicted class (whose probability grows with the
    region on this model), with the paper's kind of fill hiding the region's pixels."""
    patch, stride = 6, 4
    maps = occlusion(region, x, patch=patch, stride=stride, fill="black")
    rows, cols = patch_positions(SIZE, patch, stride), patch_positions(SIZE, patch, stride)
    touched = np.zeros((SIZE, SIZE), bool)      # pixels under a square that touches the region
    for y in rows:
        for c in cols:
            if _square_touches_region(y, c, patch, patch):
                touched[y:y + patch, c:c + patch] = True
    assert (~touched).sum() > 300               # a large part of the image is never touched
    inside = region_mask()
    for m in maps:
        assert np.all(m[~touched] == 0.0)       # exactly: the model does not see those pixels
        assert m.max() > 0 and inside.flat[np.argmax(m)]


def _plain_occlusion(model, images, targets, patch, stride, fill):
    """One image and one square at a time, the model called directly."""
    (ph, pw), (sh, sw) = patch, stride
    subs = methods.substitute(images, fill)
    maps = []
    for image, sub, t in zip(images, subs, targets):
        base = model(image[None], training=False).numpy()[0, t]
        total, count = np.zeros(image.shape[:2]), np.zeros(image.shape[:2])
        ys = list(range(0, SIZE - ph + 1, sh))
        xs = list(range(0, SIZE - pw + 1, sw))
        ys += [SIZE - ph] if ys[-1] != SIZE - ph else []
        xs += [SIZE - pw] if xs[-1] != SIZE - pw else []
        for y in ys:
            for c in xs:
                hidden = image.copy()
                hidden[y:y + ph, c:c + pw] = sub[y:y + ph, c:c + pw]
                drop = base - model(hidden[None], training=False).numpy()[0, t]
                total[y:y + ph, c:c + pw] += drop
                count[y:y + ph, c:c + pw] += 1
        maps.append(total / count)
    return np.array(maps)


@pytest.mark.parametrize("patch, stride, fill", [
    ((8, 8), (5, 5), 0.3),
    ((8, 6), (4, 6), "blur"),
])
def test_occlusion_equals_a_plain_loop_one_image_at_a_time(region, x, patch, stride, fill):
    images, targets = x[:2], np.array([4, 1])
    expected = _plain_occlusion(region, images, targets, patch, stride, fill)
    got = occlusion(region, images, targets, patch=patch, stride=stride, fill=fill,
                    batch_size=16)
    assert np.abs(expected).max() > 1e-4
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6 * np.abs(expected).max())


class Recorder:
    """Stands in for ``methods.scores`` where the methods look it up (the module that
    defines it), records every batch the method sends."""

    def __init__(self, monkeypatch):
        self.batches, self.real = [], methods.scores
        monkeypatch.setattr(inspect.getmodule(methods.scores), "scores", self)

    def __call__(self, model, images, targets=None, **kwargs):
        self.batches.append((np.array(images), np.array(targets), kwargs))
        return self.real(model, images, targets, **kwargs)


def test_occlusion_sends_positions_plus_one_images_in_full_batches(region, x, monkeypatch):
    recorder = Recorder(monkeypatch)
    with methods.count_passes() as passes:
        occlusion(region, x, 0, patch=8, stride=5, batch_size=16)
    per_image = 6 * 6 + 1
    assert passes.forward == len(x) * per_image
    sizes = [len(b) for b, _, _ in recorder.batches]
    assert sum(sizes) == len(x) * per_image and set(sizes[:-1]) == {16}
    assert all(kw == dict(score="probability", batch_size=16) for _, _, kw in recorder.batches)


FILL_OPTIONS = ["grey", "black", "mean", "blur", 0.3, "other images"]


@pytest.mark.parametrize("fill", FILL_OPTIONS)
def test_each_fill_is_what_the_hidden_pixels_become(region, x, monkeypatch, fill):
    images = x[:2]
    fill = images[::-1] if fill == "other images" else fill
    expected = methods.substitute(images, fill)
    recorder = Recorder(monkeypatch)
    occlusion(region, images, 0, patch=16, stride=16, fill=fill)
    sent = np.concatenate([b for b, _, _ in recorder.batches])
    corners = [(y, c) for y in (0, 16) for c in (0, 16)]
    assert len(sent) == 2 * (len(corners) + 1)
    for i in range(2):
        stream = sent[i * 5:(i + 1) * 5]
        np.testing.assert_array_equal(stream[0], images[i])        # the unoccluded image first
        for (y, c), hidden in zip(corners, stream[1:]):
            square = np.zeros((SIZE, SIZE), bool)
            square[y:y + 16, c:c + 16] = True
            np.testing.assert_array_equal(hidden[square], expected[i][square])
            np.testing.assert_array_equal(hidden[~square], images[i][~square])
            assert not np.array_equal(hidden[square], images[i][square])


def test_fills_give_different_maps(region, x):
    maps = [occlusion(region, x, 4, patch=8, stride=4, fill=f)
            for f in ["grey", "black", "mean", "blur", 0.3]]
    for a in range(len(maps)):
        for b in range(a):
            assert not np.allclose(maps[a], maps[b])


def test_with_the_image_itself_as_fill_nothing_is_hidden(region, x):
    """Occlusion is then exactly zero everywhere; RISE is the unmasked score times the
    masks' mean, divided by p."""
    np.testing.assert_array_equal(occlusion(region, x, fill=x), np.zeros(x.shape[:3]))
    n, p = 300, 0.5
    maps = rise(region, x, [0, 1, 2], n_samples=n, p_keep=p, fill=x)
    score = methods.scores(region, x, [0, 1, 2], score="probability")
    masks = MaskSampler((SIZE, SIZE), 7, p, 0).masks(0, n)
    np.testing.assert_allclose(maps, score[:, None, None] * masks.sum(0) / (n * p), rtol=1e-5)


# ------------------------------------------------------------------------ RISE

def test_rise_masks_follow_the_paper():
    """A binary s x s grid kept with probability p, upsampled bilinearly to
    (s + 1) * ceil(H / s) and cropped at a random shift: the authors' generate_masks."""
    s, p = 7, 0.5
    sampler = MaskSampler((SIZE, SIZE), s, p, seed=0)
    cell = -(-SIZE // s)
    assert sampler.cell_px == (cell, cell) and sampler.up_size == ((s + 1) * cell,) * 2
    masks = sampler.masks(0, 2000)
    assert masks.shape == (2000, SIZE, SIZE) and masks.dtype == np.float32
    assert masks.min() >= 0 and masks.max() <= 1
    assert abs(masks.mean() - p) < 0.02
    assert ((masks > 0.01) & (masks < 0.99)).mean() > 0.3       # smooth, not binary
    step = s / ((s + 1) * cell)                                   # bilinear: <= 1 per grid cell
    assert np.abs(np.diff(masks, axis=1)).max() <= step + 1e-5
    assert np.abs(np.diff(masks, axis=2)).max() <= step + 1e-5
    shifts = np.array([sampler.draw(i)[1:] for i in range(2000)])
    assert set(shifts[:, 0]) == set(shifts[:, 1]) == set(range(cell))     # shifted grids
    for i in range(20):
        grid, dy, dx = sampler.draw(i)
        up = resize(grid.astype(float), sampler.up_size, order=1, mode="reflect",
                    anti_aliasing=False)                           # the authors' upsampling
        np.testing.assert_allclose(masks[i], up[dy:dy + SIZE, dx:dx + SIZE], atol=1e-6)
        # away from the upsampled border, the same as any bilinear resize
        tf_up = methods.upsample(grid[None].astype(np.float32), sampler.up_size)[0]
        half = cell // 2 + 1
        np.testing.assert_allclose(up[half:-half, half:-half], tf_up[half:-half, half:-half],
                                   atol=1e-6)


def test_rise_masks_at_the_papers_size():
    sampler = MaskSampler((224, 224), 7, 0.5, seed=3)
    assert sampler.cell_px == (32, 32) and sampler.up_size == (256, 256)
    masks = sampler.masks(10, 14)
    for m, i in zip(masks, range(10, 14)):
        grid, dy, dx = sampler.draw(i)
        up = resize(grid.astype(float), (256, 256), order=1, mode="reflect", anti_aliasing=False)
        np.testing.assert_allclose(m, up[dy:dy + 224, dx:dx + 224], atol=1e-6)


def test_mask_i_depends_only_on_the_seed_and_i():
    a = MaskSampler((SIZE, SIZE), 7, 0.5, seed=0)
    np.testing.assert_array_equal(a.masks(0, 10)[5:], a.masks(5, 10))
    np.testing.assert_array_equal(a.masks(0, 10), MaskSampler((SIZE, SIZE), 7, 0.5, 0).masks(0, 10))
    other = MaskSampler((SIZE, SIZE), 7, 0.5, seed=1).masks(0, 10)
    assert all(not np.array_equal(m, o) for m, o in zip(a.masks(0, 10), other))


def test_rise_same_seed_same_map_other_seed_other_map(region, x):
    first = rise(region, x, 4, n_samples=200)
    np.testing.assert_array_equal(first, rise(region, x, 4, n_samples=200))
    assert not np.allclose(first, rise(region, x, 4, n_samples=200, seed=1))


def test_rise_disjoint_mask_ranges_average_to_the_map_of_their_union(region, x):
    whole = rise(region, x, 4, n_samples=200)
    halves = [rise(region, x, 4, n_samples=100, first=f) for f in (0, 100)]
    np.testing.assert_allclose((halves[0] + halves[1]) / 2, whole, rtol=1e-5, atol=1e-7)
    assert not np.allclose(halves[0], halves[1])
    with pytest.raises(ValueError, match="first"):
        rise(region, x, 4, n_samples=10, first=-1)


def test_rise_peaks_in_the_region_and_converges(region, x):
    """For the predicted class (every image: class 4, whose logit grows with the region)."""
    inside = region_mask()
    reference = rise(region, x, n_samples=20000, score="logit", seed=1)
    for m in reference:
        assert inside.flat[np.argmax(m)]
        assert m[inside].mean() > m[~inside].mean()
    r = [np.mean([pearson(a, b) for a, b in zip(rise(region, x, n_samples=n, score="logit"),
                                                  reference)])
         for n in (100, 400, 1600, 6400)]
    assert r[0] < r[1] < r[2] < r[3] and r[3] > 0.85, r      # measured: 0.49 .. 0.92


def test_rise_sends_n_samples_images_per_image_in_full_batches(region, x, monkeypatch):
    recorder = Recorder(monkeypatch)
    with methods.count_passes() as passes:
        rise(region, x, [0, 1, 2], n_samples=100, batch_size=32)
    assert passes.forward == 3 * 100
    sizes = [len(b) for b, _, _ in recorder.batches]
    assert sizes == [32, 32, 32] * 3 + [4, 4, 4]     # per mask chunk, one batch per image
    targets = [set(t.tolist()) for _, t, _ in recorder.batches]
    assert targets == [{0}, {1}, {2}] * 4


def test_rise_explains_the_predicted_or_the_given_class(region, x):
    predicted = np.argmax(methods.scores(region, x), axis=1)
    np.testing.assert_array_equal(rise(region, x, n_samples=100),
                                  rise(region, x, predicted, n_samples=100))
    assert not np.allclose(rise(region, x, 0, n_samples=100), rise(region, x, 4, n_samples=100))


def test_rise_fill_blends_towards_the_substitute(region, x, monkeypatch):
    recorder = Recorder(monkeypatch)
    rise(region, x[:1], 0, n_samples=5, fill=0.3)
    sent = recorder.batches[0][0]
    masks = MaskSampler((SIZE, SIZE), 7, 0.5, 0).masks(0, 5)[..., None]
    np.testing.assert_allclose(sent, x[0] * masks + 0.3 * (1 - masks), atol=1e-6)
    recorder.batches.clear()
    rise(region, x[:1], 0, n_samples=5)                              # black: x * M
    np.testing.assert_allclose(recorder.batches[0][0], x[0] * masks, atol=1e-7)


# ------------------------------------------------------------------------ clear errors

ERRORS = [
    (occlusion, dict(patch=40), r"patch of 40 x 40 px is larger than the images \(32 x 32"),
    (occlusion, dict(patch=(8, 33)), "larger than the images"),
    (occlusion, dict(stride=0), "stride must be a positive int"),
    (occlusion, dict(stride=-2), "stride must be a positive int"),
    (occlusion, dict(patch=0), "patch must be a positive int"),
    (occlusion, dict(patch=8, stride=9), r"stride \(9, 9\) is larger than the patch"),
    (occlusion, dict(fill="purple"), r"fill must be one of \['grey', 'black', 'mean', 'blur'\]"),
    (occlusion, dict(fill=1.5), "fill must be one of.*values must be finite and in"),
    (occlusion, dict(fill=np.zeros((5, 5, 3))), "fill of shape .* does not broadcast"),
    (occlusion, dict(score="softmax"), "score must be one of"),
    (rise, dict(p_keep=0), r"p_keep must be a number in the open interval \(0, 1\), got 0"),
    (rise, dict(p_keep=1.5), r"p_keep must be a number in the open interval \(0, 1\)"),
    (rise, dict(n_samples=0), "n_samples must be a positive int, got 0"),
    (rise, dict(cell=0), "cell must be a positive int, got 0"),
    (rise, dict(cell=33), "cell must be at most the image size"),
    (rise, dict(fill="purple"), "fill must be one of"),
    (rise, dict(fill=np.full((1, 32, 32, 3), 2.0)), "fill must be one of.*finite and in"),
    (rise, dict(seed=-1), "seed must be a non-negative int"),
]


def _error_id(method, params):
    return method.__name__ + "-" + ",".join(
        f"{k}=array{np.shape(v)}" if isinstance(v, np.ndarray) else f"{k}={v!r}"
        for k, v in params.items())


@pytest.mark.parametrize("method, params, match", ERRORS,
                         ids=[_error_id(m, p) for m, p, _ in ERRORS])
def test_bad_parameters_raise_a_clear_error_before_any_work(region, x, method, params, match):
    with methods.count_passes() as passes, pytest.raises(ValueError, match=match):
        method(region, x, 0, **params)
    assert passes.forward == 0


@pytest.mark.parametrize("method, params", [(occlusion, dict(fill="purple")),
                                            (occlusion, dict(stride=0)),
                                            (rise, dict(p_keep=1.0)),
                                            (rise, dict(n_samples=0))])
def test_bad_values_are_refused_before_the_predicted_class_is_computed(region, x, method, params):
    with methods.count_passes() as passes, pytest.raises(ValueError, match=next(iter(params))):
        method(region, x, **params)
    assert passes.forward == 0
