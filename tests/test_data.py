"""The synthetic dataset: determinism, splits, masks, markers, no colour shortcut, loader."""

import numpy as np
import pytest
from PIL import Image

from shared import data


@pytest.fixture(scope="module")
def small():
    return data.generate(3, 42)


def test_class_names_and_order():
    assert data.CLASS_NAMES == ("Chickenpox", "Cowpox", "Healthy", "Measles", "Monkeypox", "Smallpox")


def test_generate_shapes_types_and_range(small):
    n = 3 * len(data.CLASS_NAMES)
    assert small.images.shape == (n, 224, 224, 3) and small.images.dtype == np.float32
    assert small.labels.shape == (n,) and np.issubdtype(small.labels.dtype, np.integer)
    assert small.masks.shape == (n, 224, 224) and small.masks.dtype == bool
    assert 0.0 <= small.images.min() and small.images.max() <= 1.0
    assert np.array_equal(small.counts(), [3] * 6)


def test_same_seed_same_images_and_prefix_is_stable(small):
    again = data.generate(3, 42)
    assert again.fingerprint() == small.fingerprint()
    longer = data.generate(5, 42)
    first3 = np.concatenate([np.arange(c * 5, c * 5 + 3) for c in range(6)])
    assert longer[first3].fingerprint() == small.fingerprint()
    assert data.generate(3, 43).fingerprint() != small.fingerprint()


def test_splits_are_disjoint():
    hashes = {}
    for name in data.SPLIT_SEEDS:
        ds = data.load_split(name, 4)
        hashes[name] = {hash(im.tobytes()) for im in ds.images}
        assert len(hashes[name]) == len(ds)  # no duplicate inside a split either
    assert not hashes["train"] & hashes["val"]
    assert not hashes["train"] & hashes["test"]
    assert not hashes["val"] & hashes["test"]


def test_masks_empty_exactly_for_healthy(small):
    has_lesion = small.masks.any(axis=(1, 2))
    assert np.array_equal(has_lesion, small.labels != data.class_index("Healthy"))


def test_mask_is_exactly_what_the_lesions_changed(monkeypatch):
    """Every pixel a lesion painter changes is in the mask, and almost every mask pixel
    was changed (the rest are changed below float precision at a soft edge)."""
    seen = []

    def recording(paint):
        def wrapper(painter, ctx):
            before = ctx["img"].copy()
            paint(painter, ctx)
            seen.append((np.abs(ctx["img"] - before).max(-1) > 0, ctx["mask"].copy()))
        return wrapper

    for label, paint in list(data._CLASS_PAINTERS.items()):
        monkeypatch.setitem(data._CLASS_PAINTERS, label, recording(paint))
    data.generate(4, 7)
    assert len(seen) == 24
    for changed, mask in seen:
        assert not (changed & ~mask).any()
        if mask.any():
            assert changed[mask].mean() > 0.97


def test_class_is_not_in_background_colour_statistics():
    """A colour-histogram classifier on background pixels only stays near chance (1/6),
    while the same classifier on whole images does much better: lesion colour is part
    of the morphology, skin tone and lighting are not."""
    from sklearn.ensemble import RandomForestClassifier

    def features(ds, background_only):
        out = []
        for im, m in zip(ds.images, ds.masks):
            px = im[~m] if background_only else im.reshape(-1, 3)
            hist = [np.histogram(px[:, c], bins=12, range=(0, 1))[0] / len(px) for c in range(3)]
            out.append(np.concatenate(hist + [px.mean(0), px.std(0)]))
        return np.array(out)

    train, test = data.generate(60, 101), data.generate(40, 102)
    scores = {}
    for background_only in (True, False):
        clf = RandomForestClassifier(200, random_state=0)
        clf.fit(features(train, background_only), train.labels)
        pred = clf.predict(features(test, background_only))
        scores[background_only] = np.mean([np.mean(pred[test.labels == c] == c) for c in range(6)])
    assert scores[True] < 0.3, scores
    assert scores[False] > 0.4, scores


@pytest.mark.parametrize("kind", ["ink", "ruler"])
def test_marker_is_planted_in_one_class_with_its_own_mask(kind):
    plain = data.generate(8, 5)
    marked = data.generate(8, 5, marker_class="Monkeypox", marker_fraction=0.5, marker_kind=kind)
    has_marker = marked.marker_masks.any(axis=(1, 2))
    monkeypox = marked.labels == data.class_index("Monkeypox")
    assert not has_marker[~monkeypox].any()
    assert 1 <= has_marker[monkeypox].sum() <= 7          # a share, not all or none
    changed = np.abs(marked.images - plain.images).max(-1) > 0
    assert not (changed & ~marked.marker_masks).any()      # nothing else changed
    assert changed[marked.marker_masks].mean() > 0.9       # the marker is visible
    assert np.array_equal(marked.masks, plain.masks)       # lesion masks unaffected


def test_imbalanced_counts():
    ds = data.generate([2, 1, 3, 0, 4, 1], 9)
    assert np.array_equal(ds.counts(), [2, 1, 3, 0, 4, 1])


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_per_class=[1, 2]), "one count per class"),
    (dict(n_per_class=-1), "non-negative"),
    (dict(n_per_class=1, seed=-3), "seed"),
    (dict(n_per_class=1, size=32), "size"),
    (dict(n_per_class=1, marker_class="Flu", marker_fraction=0.5), "unknown class 'Flu'"),
    (dict(n_per_class=1, marker_class=9, marker_fraction=0.5), "out of range"),
    (dict(n_per_class=1, marker_class=0, marker_fraction=1.5), "marker_fraction"),
    (dict(n_per_class=1, marker_class=0, marker_kind="sticker"), "marker_kind"),
])
def test_generate_rejects_bad_arguments(kwargs, message):
    kwargs.setdefault("seed", 0)
    with pytest.raises(ValueError, match=message):
        data.generate(**kwargs)


def test_unknown_split():
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        data.load_split("dev")


# ------------------------------------------------------------------ real-image loader

def _write_png(path, colour, size=(40, 30)):
    Image.new("RGB", size, colour).save(path)


def test_load_folder_reads_class_per_folder(tmp_path):
    (tmp_path / "Measles").mkdir()
    (tmp_path / "healthy").mkdir()                       # case-insensitive
    _write_png(tmp_path / "Measles" / "a.png", (255, 0, 0))
    _write_png(tmp_path / "healthy" / "b.jpg", (0, 0, 255))
    ds = data.load_folder(tmp_path, size=32)
    assert ds.images.shape == (2, 32, 32, 3) and ds.masks is None
    assert sorted(ds.labels.tolist()) == [data.class_index("Healthy"), data.class_index("Measles")]
    red = ds.images[ds.labels == data.class_index("Measles")][0]
    assert np.allclose(red[..., 0], 1.0) and np.allclose(red[..., 2], 0.0)


def test_load_folder_names_an_unreadable_file(tmp_path):
    (tmp_path / "Cowpox").mkdir()
    (tmp_path / "Cowpox" / "broken.jpg").write_bytes(b"not really a jpeg")
    with pytest.raises(ValueError, match="broken.jpg"):
        data.load_folder(tmp_path)


def test_load_folder_names_a_non_image_file(tmp_path):
    (tmp_path / "Cowpox").mkdir()
    (tmp_path / "Cowpox" / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="notes.txt.*not an image"):
        data.load_folder(tmp_path)


def test_load_folder_explains_the_expected_layout(tmp_path):
    (tmp_path / "cats").mkdir()
    with pytest.raises(ValueError, match="one sub-folder per class named Chickenpox"):
        data.load_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.load_folder(tmp_path / "missing")
    empty = tmp_path / "empty"
    (empty / "Smallpox").mkdir(parents=True)
    with pytest.raises(ValueError, match="no images found"):
        data.load_folder(empty)
