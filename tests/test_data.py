"""The synthetic dataset: determinism, 8-bit values, scenes and interventions, masks,
red distractors, markers, no shortcut in colour or distractors, the real-image loader."""

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from shared import data


@pytest.fixture(scope="module")
def small():
    return data.generate(3, 42)


@pytest.fixture(scope="module")
def fresh():
    """Fresh images, 100 per class, as the book measures them."""
    return data.generate(100, 77)


@pytest.fixture(scope="module")
def train_and_held_out():
    return data.generate(60, 101), data.generate(40, 102)


def _balanced_accuracy(predicted, labels):
    return np.mean([np.mean(predicted[labels == c] == c) for c in np.unique(labels)])


def test_class_names_and_order():
    assert data.CLASS_NAMES == ("Chickenpox", "Cowpox", "Healthy", "Measles", "Monkeypox", "Smallpox")


def test_generate_shapes_types_and_range(small):
    n = 3 * len(data.CLASS_NAMES)
    assert small.images.shape == (n, 224, 224, 3) and small.images.dtype == np.float32
    assert small.labels.shape == (n,) and np.issubdtype(small.labels.dtype, np.integer)
    for masks in (small.masks, small.distractor_masks, small.marker_masks):
        assert masks.shape == (n, 224, 224) and masks.dtype == bool
    assert small.instances.shape == (n, 224, 224) and small.instances.dtype == np.int16
    assert len(small.scenes) == n and all(isinstance(s, data.Scene) for s in small.scenes)
    assert [s.label for s in small.scenes] == small.labels.tolist()
    assert 0.0 <= small.images.min() and small.images.max() <= 1.0
    assert np.array_equal(small.counts(), [3] * 6)


def test_images_hold_8bit_values(small):
    as_bytes = np.round(small.images * 255).astype(np.uint8)
    assert np.array_equal(small.images, as_bytes.astype(np.float32) / np.float32(255))
    assert len(np.unique(as_bytes)) > 200                  # and they use the range


def test_fingerprint_hashes_the_8bit_values(small):
    ds = small[:4]
    nudged = dataclasses.replace(ds, images=np.nextafter(ds.images, np.float32(0.5)))
    assert not np.array_equal(nudged.images, ds.images)
    assert nudged.fingerprint() == ds.fingerprint()        # last-bit noise does not count
    changed = dataclasses.replace(ds, images=ds.images.copy())
    level = np.round(ds.images[0, 0, 0, 0] * 255)
    changed.images[0, 0, 0, 0] = (level + (1 if level < 255 else -1)) / 255
    assert changed.fingerprint() != ds.fingerprint()       # one 8-bit level does
    other_mask = dataclasses.replace(ds, masks=~ds.masks)
    assert other_mask.fingerprint() != ds.fingerprint()


def test_same_seed_same_images_and_prefix_is_stable(small):
    again = data.generate(3, 42)
    assert again.fingerprint() == small.fingerprint()
    assert again.scenes == small.scenes
    longer = data.generate(5, 42)
    first3 = np.concatenate([np.arange(c * 5, c * 5 + 3) for c in range(6)])
    assert longer[first3].fingerprint() == small.fingerprint()
    assert longer[first3].scenes == small.scenes
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


# ------------------------------------------------------------------ scenes and rendering

def test_render_equals_generate(small):
    """generate = sample the scenes, then render them: pixels and every mask agree."""
    for i, scene in enumerate(small.scenes):
        r = data.render(scene)
        assert np.array_equal(r.image, small.images[i])
        assert np.array_equal(r.lesion_mask, small.masks[i])
        assert np.array_equal(r.distractor_mask, small.distractor_masks[i])
        assert np.array_equal(r.marker_mask, small.marker_masks[i])
        assert np.array_equal(r.instances, small.instances[i])
    assert data.render_many(small.scenes).fingerprint() == small.fingerprint()
    assert small.scene(4) == data.sample_scene(42, small.labels[4], 1)


def test_scene_is_frozen_plain_data(small):
    scene = small.scene(0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        scene.label = 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        scene.elements[0].cy = 0.0
    assert hash(scene) == hash(data.sample_scene(42, 0, 0))
    kinds = [e.kind for e in scene.elements]
    assert kinds == sorted(kinds, key=data.ELEMENT_KINDS.index)      # lesions, distractors, marker
    assert "Chickenpox, 224 px:" in scene.summary()


def test_instance_map_labels_the_topmost_element(small):
    for i, scene in enumerate(small.scenes):
        inst = small.instances[i]
        labels = lambda kind: [k + 1 for k in scene.indices(kind)]  # noqa: E731
        assert set(np.unique(inst)) <= {0, *range(1, len(scene.elements) + 1)}
        assert np.array_equal(np.isin(inst, labels("lesion")), small.masks[i])
        assert np.array_equal(np.isin(inst, labels("distractor")), small.distractor_masks[i])
        for k in range(len(scene.elements)):                  # topmost: inside the footprint
            assert not ((inst == k + 1) & ~scene.footprint(k)).any()


def _changed(a, b):
    return (a.image != b.image).any(-1)


def test_removing_nothing_changes_nothing(small):
    for scene in small.scenes[:: 4]:
        full = data.render(scene)
        for same in (scene.without(), scene.only(*range(len(scene.elements)))):
            again = data.render(same)
            assert all(np.array_equal(a, b) for a, b in zip(full, again))


def test_removing_a_lesion_changes_only_its_footprint(small):
    """Margin 0 px: hiding element k changes no pixel outside scene.footprint(k); its
    instance label disappears and every other label keeps its meaning."""
    checked = 0
    for i in np.flatnonzero(small.labels != data.class_index("Healthy"))[::2]:
        scene = small.scene(i)
        full = data.render(scene)
        for k in scene.indices("lesion")[:4] + scene.indices("distractor")[:2]:
            footprint = scene.footprint(k)
            assert np.array_equal(footprint, data.render(scene.only(k)).instances == k + 1)
            removed = data.render(scene.without(k))
            changed = _changed(full, removed)
            assert not (changed & ~footprint).any()
            # (a distractor may lie hidden under a lesion)
            assert changed.any() or scene.elements[k].kind == "distractor"
            assert not (removed.instances == k + 1).any()
            assert np.array_equal(removed.instances[~footprint], full.instances[~footprint])
            kept = set(np.unique(full.instances)) - {k + 1}
            assert kept <= set(np.unique(removed.instances))
            checked += 1
    assert checked >= 20


def test_removing_several_elements_at_once(small):
    scene = small.scene(int(np.flatnonzero(small.labels == data.class_index("Smallpox"))[0]))
    ks = scene.indices("lesion")[:5]
    full, removed = data.render(scene), data.render(scene.without(*ks))
    union = np.any([scene.footprint(k) for k in ks], axis=0)
    changed = _changed(full, removed)
    assert changed.any() and not (changed & ~union).any()
    assert not np.isin(removed.instances, [k + 1 for k in ks]).any()
    one_by_one = scene
    for k in ks:
        one_by_one = one_by_one.without(k)
    assert one_by_one == scene.without(*ks)
    assert scene.without(*ks).visible == tuple(k for k in range(len(scene.elements)) if k not in ks)


def test_empty_scene_is_bare_skin(small):
    for i in range(0, len(small), 3):
        scene = small.scene(i)
        bare = data.render(scene.empty())
        assert not bare.lesion_mask.any() and not bare.distractor_mask.any()
        assert not bare.marker_mask.any() and not bare.instances.any()
        painted = small.masks[i] | small.distractor_masks[i] | small.marker_masks[i]
        changed = _changed(bare, data.render(scene))
        assert not (changed & ~painted).any()
        assert scene.empty() == scene.only()


def test_mask_is_exactly_what_the_lesions_changed():
    """Rendering without the lesions differs from the image only inside the lesion mask,
    and almost every mask pixel differs (opacities below 4 % are not painted)."""
    ds = data.generate(4, 7)
    for i, scene in enumerate(ds.scenes):
        bare = data.render(scene.without(*scene.indices("lesion")))
        changed = (bare.image != ds.images[i]).any(-1)
        mask = ds.masks[i]
        assert not (changed & ~mask).any()
        if mask.any():
            assert changed[mask].mean() > 0.99
        distractor_labels = [k + 1 for k in scene.indices("distractor")]
        assert np.array_equal(bare.distractor_mask, np.isin(bare.instances, distractor_labels))


def test_rendering_does_not_depend_on_the_cpus_vector_unit():
    """The float pixels (before rounding to 8 bits) are bit-identical with numpy's SIMD
    code paths switched off: rendering uses only exactly rounded array operations."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    script = ("import hashlib, numpy as np\n"
              "np.round = lambda a, out=None, decimals=0: a   # keep the raw floats\n"
              "from shared import data\n"
              "ds = data.generate(2, 3)\n"
              "print(hashlib.sha256(ds.images.tobytes() + ds.instances.tobytes()).hexdigest())\n")
    off = " ".join(f for f in __cpu_dispatch__ if __cpu_features__.get(f))
    runs = []
    for disable in ("", off):
        env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=disable)
        runs.append(subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                                   text=True, check=True).stdout.strip())
    assert len(runs[0]) == 64 and runs[0] == runs[1]


# ------------------------------------------------------------------ red distractors

def test_distractors_in_every_class_including_healthy(fresh):
    ds = fresh
    for c in range(len(data.CLASS_NAMES)):
        scenes = [s for s in ds.scenes if s.label == c]
        n = np.array([len(s.indices("distractor")) for s in scenes])
        assert n.max() <= 4 and 0.75 <= np.mean(n > 0) < 1.0, (c, np.bincount(n))
        assert 1.3 < n.mean() < 2.4, (c, n.mean())
        shapes = {s.elements[k].shape for s in scenes for k in s.indices("distractor")}
        assert shapes == set(data.DISTRACTOR_SHAPES)
        masks = ds.distractor_masks[ds.labels == c]
        assert masks.any(axis=(1, 2)).mean() > 0.7


def test_redness_does_not_find_the_lesions(fresh):
    """The reddest pixel (max of R - G) lands on a lesion at most half of the time: red
    distractors are about as red as the lesions."""
    ds = fresh[fresh.labels != data.class_index("Healthy")]
    redness = ds.images[..., 0] - ds.images[..., 1]
    peak = redness.reshape(len(ds), -1).argmax(1)
    hit = ds.masks.reshape(len(ds), -1)[np.arange(len(ds)), peak]
    per_class = {data.CLASS_NAMES[c]: hit[ds.labels == c].mean() for c in np.unique(ds.labels)}
    assert 0.2 < hit.mean() <= 0.5, per_class
    assert max(per_class.values()) < 0.75, per_class
    on_distractor = ds.distractor_masks.reshape(len(ds), -1)[np.arange(len(ds)), peak]
    assert on_distractor.mean() > 0.4


def test_class_is_not_in_background_colour_statistics(train_and_held_out):
    """A colour-histogram classifier on background pixels only (lesions removed with the
    mask, distractors kept) stays near chance (1/6), while the same classifier on whole
    images does much better: lesion colour is part of the morphology, skin tone,
    lighting and distractors are not."""
    from sklearn.ensemble import RandomForestClassifier

    def features(ds, background_only):
        out = []
        for im, m in zip(ds.images, ds.masks):
            px = im[~m] if background_only else im.reshape(-1, 3)
            hist = [np.histogram(px[:, c], bins=12, range=(0, 1))[0] / len(px) for c in range(3)]
            out.append(np.concatenate(hist + [px.mean(0), px.std(0)]))
        return np.array(out)

    train, test = train_and_held_out
    scores = {}
    for background_only in (True, False):
        clf = RandomForestClassifier(200, random_state=0)
        clf.fit(features(train, background_only), train.labels)
        predicted = clf.predict(features(test, background_only))
        scores[background_only] = _balanced_accuracy(predicted, test.labels)
    assert scores[True] < 0.3, scores
    assert scores[False] > 0.4, scores


def test_distractors_do_not_predict_the_class(train_and_held_out):
    """A classifier on distractor features (count, shapes, sizes, positions, redness,
    visible area) stays at chance: the distractors come from one distribution."""
    from sklearn.ensemble import RandomForestClassifier

    def features(ds):
        rows = []
        for scene, visible in zip(ds.scenes, ds.distractor_masks):
            el = [scene.elements[k] for k in scene.indices("distractor")]
            shapes = [sum(e.shape == s for e in el) for s in data.DISTRACTOR_SHAPES]
            size = [e.size for e in el] or [0.0]
            ys, xs = [e.cy for e in el] or [112.0], [e.cx for e in el] or [112.0]
            red = [getattr(e, "red", getattr(e, "colour", (0, 0, 0))) for e in el] or [(0, 0, 0)]
            redness = [r - g for r, g, _ in red]
            rows.append([len(el), *shapes, np.mean(size), np.max(size), np.mean(ys), np.mean(xs),
                         np.max(redness), visible.sum()])
        return np.array(rows)

    train, test = train_and_held_out
    clf = RandomForestClassifier(200, random_state=0).fit(features(train), train.labels)
    assert _balanced_accuracy(clf.predict(features(test)), test.labels) < 0.3


# ------------------------------------------------------------------ markers, arguments

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
    for i in np.flatnonzero(has_marker):                   # the marker is the last element
        scene = marked.scene(i)
        assert scene.elements[-1].kind == "marker" and scene.elements[-1].shape == kind
        assert scene.elements[:-1] == plain.scene(i).elements
        assert np.array_equal(marked.instances[i] == len(scene.elements), marked.marker_masks[i])
        unmarked = data.render(scene.without(len(scene.elements) - 1))
        assert np.array_equal(unmarked.image, plain.images[i])


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


def test_bad_element_index_is_a_clear_error(small):
    scene = small.scene(0)
    n = len(scene.elements)
    for bad in (n, n + 3, -1):
        message = rf"element {bad} out of range: this scene has {n} elements \(0\.\.{n - 1}\)"
        with pytest.raises(ValueError, match=message):
            scene.without(bad)
    with pytest.raises(ValueError, match="out of range"):
        scene.only(0, n)
    with pytest.raises(ValueError, match="element index must be an int"):
        scene.without("2")
    with pytest.raises(ValueError, match="out of range: this scene has no elements"):
        data.Scene(0, 224, scene.skin, scene.lighting).without(0)
    with pytest.raises(ValueError, match="unknown element kind 'lesions'"):
        scene.indices("lesions")
    n = len(small)
    with pytest.raises(ValueError, match=rf"image {n} out of range: this dataset has {n} images"):
        small.scene(len(small))


def test_getitem_keeps_scenes_and_masks(small):
    sub = small[np.array([1, 4])]
    assert sub.scenes == [small.scenes[1], small.scenes[4]]
    assert np.array_equal(sub.instances, small.instances[[1, 4]])
    assert np.array_equal(sub.distractor_masks, small.distractor_masks[[1, 4]])
    assert small[3].scene(0) == small.scene(3)


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
    assert ds.distractor_masks is None and ds.instances is None and ds.scenes is None
    assert sorted(ds.labels.tolist()) == [data.class_index("Healthy"), data.class_index("Measles")]
    red = ds.images[ds.labels == data.class_index("Measles")][0]
    assert np.allclose(red[..., 0], 1.0) and np.allclose(red[..., 2], 0.0)
    assert ds[1].scenes is None and len(ds.fingerprint()) == 16


def test_real_image_has_no_scene(tmp_path):
    (tmp_path / "Cowpox").mkdir()
    for k in range(4):
        _write_png(tmp_path / "Cowpox" / f"{k}.png", (200, 150, 120))
    ds = data.load_folder(tmp_path, size=32)
    with pytest.raises(ValueError, match="image 3 was loaded from a folder and has no scene: "
                                         "interventions need a generated image"):
        ds.scene(3)


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
