"""A reader's own images, any classes: `python -m shared.train --data-dir`, the loader
`data.load_image_folder`, the split file and the near-duplicate check.

The end-to-end test writes a small folder of drawn shapes (three classes with new names,
one of them not a Python identifier, one RGBA and one grayscale image, and one photograph
copied into another class), is refused for the copy, trains one short epoch with
``--allow-duplicates``, and explains the checkpoint's test images with three methods.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from shared import data, notebook, train, train_folder

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--epochs", "1", "--width", "0.125", "--middle-blocks", "1", "--size", "96",
        "--batch-size", "6", "--no-speed"]
CLASSES = ("Circles", "monkey pox", "squares")     # sorted; "monkey pox" is no identifier
SHAPES = dict(zip(CLASSES, ("circle", "cross", "square")))
OUTPUTS = {"xception_pox.keras", "model_card.json", "model_card.md", "splits.json"}


def _shape_image(shape: str, rng: np.random.Generator) -> Image.Image:
    """A dark shape on a noisy light background, of a random size (64-99 px a side)."""
    w, h = (int(v) for v in rng.integers(64, 100, 2))
    im = Image.fromarray((rng.integers(0, 64, (h, w, 3)) + 96).astype(np.uint8))
    d = ImageDraw.Draw(im)
    r = int(rng.integers(14, 22))
    cx, cy = int(rng.integers(r, w - r)), int(rng.integers(r, h - r))
    colour = tuple(int(v) for v in rng.integers(0, 60, 3))
    if shape == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif shape == "square":
        d.rectangle([cx - r, cy - r, cx + r, cy + r], fill=colour)
    else:
        d.rectangle([cx - r, cy - 4, cx + r, cy + 4], fill=colour)
        d.rectangle([cx - 4, cy - r, cx + 4, cy + r], fill=colour)
    return im


def write_photos(root: Path, n: int = 6, seed: int = 0) -> list[str]:
    """``n`` images per class in ``CLASSES``; ``Circles/0.png`` is RGBA and
    ``squares/1.png`` grayscale. Returns the relative paths."""
    rng = np.random.default_rng(seed)
    written = []
    for name in CLASSES:
        (root / name).mkdir(parents=True)
        for k in range(n):
            im = _shape_image(SHAPES[name], rng)
            if (name, k) == ("Circles", 0):
                im = im.convert("RGBA")
            elif (name, k) == ("squares", 1):
                im = im.convert("L")
            im.save(root / name / f"{k}.png")
            written.append(f"{name}/{k}.png")
    return written


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """The folder, with ``Circles/3.png`` copied to ``squares/copy.png``, and a seed that
    puts the two in different splits."""
    root = tmp_path_factory.mktemp("photos")
    write_photos(root)
    pair = ("Circles/3.png", "squares/copy.png")
    (root / pair[1]).write_bytes((root / pair[0]).read_bytes())
    ds = data.load_image_folder(root, size=96)
    i, j = (ds.info["relative_files"].index(f) for f in pair)
    for seed in range(50):
        splits = train_folder.stratified_split(ds.labels, (0.7, 0.15, 0.15), seed)
        where = {name: set(idx.tolist()) for name, idx in splits.items()}
        if not any(i in s and j in s for s in where.values()):
            return root, seed, pair
    raise AssertionError("no seed puts the copy in another split")


def _run(*args, env=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2", **(env or {}))
    return subprocess.run([sys.executable, "-m", "shared.train", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def _args(photos, out):
    root, seed, _ = photos
    return ["--data-dir", str(root), "--out", str(out), "--seed", str(seed), *TINY]


@pytest.fixture(scope="module")
def trained(photos, tmp_path_factory):
    """The folder's model, trained for one short epoch with ``--allow-duplicates``."""
    out = tmp_path_factory.mktemp("trained") / "model"
    result = _run(*_args(photos, out), "--allow-duplicates")
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.mark.book      # trains a model: `make test`, not `make check`
def test_own_images_end_to_end(photos, trained, tmp_path, capsys):
    from shared import methods, models
    root, seed, pair = photos
    refused_out = tmp_path / "model"

    # the copy crosses splits: refused before anything is written, naming both files
    with pytest.raises(SystemExit) as refused:
        train.main(_args(photos, refused_out))
    err = capsys.readouterr().err
    assert refused.value.code == 2 and "1 near-duplicate image pair(s)" in err
    assert str(root / pair[0]) in err and str(root / pair[1]) in err
    assert "--allow-duplicates" in err and not refused_out.exists()

    out = trained
    assert {p.name for p in out.iterdir()} == OUTPUTS

    card = models.model_card(out / "model_card.json")
    assert card["class_names"] == list(CLASSES) and card["model"] == "xception_pox"
    assert card["device"] == "CPU" or card["device"].startswith("GPU: ")
    assert card["config"]["epochs"] == 1 and card["config"]["seed"] == seed
    assert "--allow-duplicates" in card["command"]
    # the split: per class, seeded, written out file by file
    split = json.loads((out / "splits.json").read_text())
    assert split["class_names"] == list(CLASSES) and split["seed"] == seed
    assert split["shares"] == card["data"]["shares"] == {"train": 0.7, "val": 0.15, "test": 0.15}
    files = {f.relative_to(root).as_posix() for f in root.rglob("*.png")}
    lists = [split[name] for name in ("train", "val", "test")]
    assert sorted(sum(lists, [])) == sorted(files)                  # disjoint and complete
    for name in ("train", "val", "test"):
        counts = [sum(f.startswith(c + "/") for f in split[name]) for c in CLASSES]
        assert counts == card["data"][name]["n_per_class"] and min(counts) >= 1
    assert card["data"]["train"]["n_per_class"] == [4, 4, 5]        # 6, 6 and 7 images
    assert card["data"]["image_modes"] == {"L": 1, "RGB": 17, "RGBA": 1}
    # balanced class weights n / (k * n_c) on the training split
    weights = card["class_weights"]
    assert weights["method"] == "balanced"
    assert weights["weights"] == pytest.approx({"Circles": 13 / 12, "monkey pox": 13 / 12,
                                                "squares": 13 / 15})
    # the duplicate, allowed and listed
    dup = card["duplicates"]
    assert dup["cross_split"] == 1 and dup["within_split"] == 0 and dup["allowed"]
    assert (dup["pairs"][0]["a"], dup["pairs"][0]["b"], dup["pairs"][0]["distance"]) == (*pair, 0)
    assert dup["pairs"][0]["split_a"] != dup["pairs"][0]["split_b"]
    text = (out / "model_card.md").read_text()
    for line in ["3 classes (the sub-folders, sorted); split per class 70/15/15",
                 "Class weights in the loss: balanced, n / (k * n_c)",
                 "1 pair(s) across splits (allowed by --allow-duplicates)",
                 f"`{pair[0]}`", f"`{pair[1]}`", "Converted to RGB (transparency over white): 1 L, 1 RGBA",
                 f"images (seed {seed}) on {card['device']}", "| monkey pox |"]:
        assert line in text
    unweighted = dict(card, class_weights=dict(method="none"))
    assert "Class weights in the loss: none" in train.card_text(unweighted)

    # the checkpoint on the same test images: the card's numbers, and three methods
    model = models.load_model(out / "xception_pox.keras")
    test = data.load_image_split(out / "splits.json", "test")
    assert test.class_names == CLASSES and test.images.shape == (3, 96, 96, 3)
    assert test.info["relative_files"] == split["test"]
    probs = models.predict(model, test.images)
    assert probs.shape == (3, 3)
    measured = train.report(test.labels, probs.argmax(1), 3, CLASSES)
    assert measured["confusion_matrix"] == card["test"]["confusion_matrix"]
    maps = {"gradcam": methods.gradcam(model, test.images, test.labels),
            "occlusion": methods.occlusion(model, test.images, test.labels, patch=16, stride=8),
            "lime": methods.lime(model, test.images, test.labels, n_samples=40,
                                 segmentation="slic")}
    for name, m in maps.items():
        assert m.shape == (3, 96, 96) and np.isfinite(m).all(), name
        assert np.ptp(m) > 0, name


@pytest.mark.book
def test_book_model_points_the_package_at_the_folder(trained, monkeypatch):
    """With BOOK_MODEL set, the package's defaults are the folder's model and test images,
    chosen by the book's rule."""
    from shared import examples, models
    monkeypatch.setenv("BOOK_MODEL", str(trained))
    model = models.load_model()
    assert model.output_shape == (None, 3)
    test = data.load_image_split(trained / "splits.json", "test")
    predicted = models.predict(model, test.images).argmax(1)
    chosen = examples.test_examples(model)
    assert chosen.class_names == CLASSES and chosen.masks is None and chosen.scenes is None
    for c, i in enumerate(chosen.info["indices"]):           # one test image per class
        correct = np.flatnonzero((test.labels == c) & (predicted == c))
        first = correct[0] if len(correct) else np.flatnonzero(test.labels == c)[0]
        assert i == first and (CLASSES[c] in chosen.info["misclassified"]) == (not len(correct))
    np.testing.assert_array_equal(chosen.images, test.images[chosen.info["indices"]])
    # references for SHAP and the like: the first training images of each class
    train_split = data.load_image_split(trained / "splits.json", "train")
    refs = examples.training_images(2)
    assert refs.class_names == CLASSES and list(refs.counts()) == [2, 2, 2]
    first_two = np.concatenate([np.flatnonzero(train_split.labels == c)[:2] for c in range(3)])
    np.testing.assert_array_equal(refs.images, train_split.images[first_two])
    assert refs.info["relative_files"] == [train_split.info["relative_files"][i]
                                           for i in first_two]
    monkeypatch.delenv("BOOK_MODEL")
    assert examples.training_images(2).class_names == data.CLASS_NAMES
    with pytest.raises(ValueError, match="per_class must be a positive int, got 0"):
        examples.training_images(0)


@pytest.mark.book
@pytest.mark.parametrize("name", [c for c, why in notebook.CHAPTERS.items() if why is None])
def test_a_chapter_runs_on_the_folder(name, trained, monkeypatch):
    """Each chapter listed as following BOOK_MODEL runs on the folder's model from start to
    end, and each cell that needs the book's data prints that it is skipped, and why."""
    import jupytext
    from nbclient import NotebookClient
    monkeypatch.setenv("BOOK_MODEL", str(trained))
    chapter = ROOT / "book" / "chapters" / f"{name}.md"
    nb = jupytext.read(chapter)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(chapter.parent)}}).execute()
    cells = [c for c in nb.cells if c.cell_type == "code"]
    text = ["".join(o.get("text", "") for o in c.outputs) for c in cells]
    assert text[0].startswith(f"BOOK_MODEL={str(trained)!r}: this chapter runs on that model")
    marked = [c.source.lstrip().startswith("# needs the book's data:") for c in cells]
    for source, out, skipped in zip((c.source for c in cells), text, marked):
        assert out.startswith("Skipped on your images: this cell needs the book's data (") \
            == skipped, source[:200]
    assert 0 < sum(marked) < len(cells)
    figures = sum("image/png" in o.get("data", {}) for c in cells for o in c.outputs)
    assert figures >= 1, "the chapter's maps of the folder's images"


# ------------------------------------------------------------------ bad input


def _classes(root: Path, counts: dict) -> None:
    rng = np.random.default_rng(1)
    for name, n in counts.items():
        (root / name).mkdir(parents=True)
        for k in range(n):
            _shape_image("circle", rng).save(root / name / f"{k}.png")


def _empty_class(root):
    _classes(root, {"cats": 3, "dogs": 0})
    return "class folder '.*dogs' has no images"


def _single_class(root):
    _classes(root, {"cats": 3})
    return "only one class folder .*cats.*at least two classes"


def _unreadable(root):
    _classes(root, {"cats": 3, "dogs": 3})
    (root / "dogs" / "broken.jpg").write_bytes(b"not really a jpeg")
    return "cannot read image '.*dogs/broken.jpg'"


def _tiny(root):
    _classes(root, {"cats": 3, "dogs": 3})
    Image.new("RGB", (20, 40), (9, 9, 9)).save(root / "cats" / "small.png")
    return "'.*cats/small.png' is 20 x 40 pixels: too small.*at least 32 pixels"


def _not_an_image(root):
    _classes(root, {"cats": 3, "dogs": 3})
    (root / "dogs" / "notes.txt").write_text("hello")
    return "'.*dogs/notes.txt' is not an image file"


def _file_beside_classes(root):
    _classes(root, {"cats": 3, "dogs": 3})
    Image.new("RGB", (40, 40)).save(root / "unsorted.png")
    return "unexpected file '.*unsorted.png'.*belongs to no class"


def _names_differing_in_case(root):
    (root / "Cats").mkdir()
    if (root / "cats").exists():
        pytest.skip("a case-insensitive file system cannot hold both folders")
    (root / "Cats").rmdir()
    _classes(root, {"Cats": 3, "cats": 3})
    return "'Cats' and 'cats'.*differ only in case"


BAD = [_empty_class, _single_class, _unreadable, _tiny, _not_an_image, _file_beside_classes,
       _names_differing_in_case]


@pytest.mark.parametrize("make", BAD, ids=[f.__name__.strip("_") for f in BAD])
def test_bad_folders_are_refused_by_name_and_nothing_is_written(make, tmp_path, capsys):
    root = tmp_path / "photos"
    root.mkdir()
    match = make(root)
    with pytest.raises(ValueError, match=match):
        data.load_image_folder(root, size=64)
    out = tmp_path / "model"
    with pytest.raises(SystemExit) as refused:
        train.main(["--data-dir", str(root), "--out", str(out), *TINY])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert re.search(match, err), err
    assert not out.exists()


def test_a_missing_folder_and_a_class_too_small_to_split(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.load_image_folder(tmp_path / "missing")
    _classes(tmp_path / "photos", {"cats": 5, "dogs": 2})
    with pytest.raises(SystemExit):
        train.main(["--data-dir", str(tmp_path / "photos"), "--out", str(tmp_path / "m")])
    assert "class 'dogs' has 2 image(s): every split (train, val, test) needs at least one" \
        in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_image_modes_become_rgb(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    Image.new("L", (40, 40), 100).save(tmp_path / "a" / "gray.png")
    Image.new("RGBA", (40, 40), (255, 0, 0, 0)).save(tmp_path / "a" / "clear.png")
    Image.new("RGBA", (40, 40), (255, 0, 0, 255)).save(tmp_path / "a" / "opaque.png")
    Image.new("LA", (40, 40), (50, 0)).save(tmp_path / "a" / "gray_clear.png")
    palette = Image.new("P", (40, 40), 1)
    palette.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    palette.save(tmp_path / "b" / "palette.png")
    Image.new("CMYK", (40, 40), (0, 255, 255, 0)).save(tmp_path / "b" / "print.tif")
    Image.fromarray(np.full((40, 40), 32896, np.uint16)).save(tmp_path / "b" / "deep.png")
    # a phone photo stored sideways: EXIF orientation 6 says "turn 90 degrees clockwise"
    sideways = Image.new("RGB", (64, 32), (255, 255, 255))
    sideways.paste((0, 0, 0), (0, 0, 32, 32))                    # left half black
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways.save(tmp_path / "b" / "sideways.png", exif=exif)
    ds = data.load_image_folder(tmp_path, size=32)
    px = {Path(f).name: ds.images[k, 16, 16] * 255 for k, f in enumerate(ds.info["files"])}
    assert np.allclose(px["gray.png"], 100)
    assert np.allclose(px["clear.png"], 255)                      # transparent: white
    assert np.allclose(px["opaque.png"], (255, 0, 0))
    assert np.allclose(px["gray_clear.png"], 255)
    assert np.allclose(px["palette.png"], (10, 200, 30))
    assert np.allclose(px["print.tif"], (255, 0, 0))
    assert np.allclose(px["deep.png"], 128)                       # 16 bits scaled to 8
    turned = ds.images[ds.info["files"].index(str(tmp_path / "b" / "sideways.png"))]
    assert turned[:12].max() == 0 and turned[-12:].min() == 1     # now the top is black
    assert ds.info["modes"]["RGBA"] == 2 and ds.info["modes"]["CMYK"] == 1


def test_class_names_are_the_sorted_folders_or_a_given_list(tmp_path):
    _classes(tmp_path, {"Zebra": 1, "apple": 1, "grade 2": 1, "kéloïde": 1})
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "Thumbs.db").write_bytes(b"")
    ds = data.load_image_folder(tmp_path, size=32)
    assert ds.class_names == ("Zebra", "apple", "grade 2", "kéloïde")
    assert ds.labels.tolist() == [0, 1, 2, 3] and np.array_equal(ds.counts(), [1, 1, 1, 1])
    given = ("kéloïde", "unused", "apple", "grade 2", "Zebra")   # e.g. a model card's
    ds = data.load_image_folder(tmp_path, size=32, class_names=given)
    assert ds.class_names == given and ds.labels.tolist() == [0, 2, 3, 4]   # label order
    assert [given[k] for k in ds.labels] == [f.split("/")[0] for f in ds.info["relative_files"]]
    with pytest.raises(ValueError, match="folder '.*Zebra' is not one of the classes"):
        data.load_image_folder(tmp_path, size=32, class_names=["apple", "grade 2", "kéloïde"])


# ------------------------------------------------------------------ the split, weights, duplicates


def test_stratified_split_is_per_class_and_seeded():
    labels = np.repeat([0, 1, 2], [20, 40, 7])
    a = train_folder.stratified_split(labels, (0.7, 0.15, 0.15), seed=0)
    assert sorted(np.concatenate(list(a.values())).tolist()) == list(range(len(labels)))
    assert [np.bincount(labels[a[s]], minlength=3).tolist() for s in ("train", "val", "test")] \
        == [[14, 28, 5], [3, 6, 1], [3, 6, 1]]
    b = train_folder.stratified_split(labels, (70, 15, 15), seed=0)
    c = train_folder.stratified_split(labels, (0.7, 0.15, 0.15), seed=1)
    assert all(np.array_equal(a[s], b[s]) for s in a)
    assert not all(np.array_equal(a[s], c[s]) for s in a)
    assert train_folder.class_weights(labels[a["train"]], 3) == pytest.approx(
        {0: 47 / 42, 1: 47 / 84, 2: 47 / 15})


def test_near_duplicates_find_the_same_photograph_turned_or_resized():
    photos = data.generate(2, seed=5, size=96).images             # skin: textured like photos
    original = Image.fromarray((photos[4] * 255).astype(np.uint8))
    variants = [np.rot90(photos[4]), photos[4][:, ::-1] * 0.8,
                np.asarray(original.resize((57, 57)).resize((96, 96)), np.float32) / 255]
    pairs = data.near_duplicates(np.concatenate([photos, variants]))
    assert {(i, j) for i, j, _ in pairs} == {(4, 12), (4, 13), (4, 14), (12, 13), (12, 14),
                                             (13, 14)}
    assert max(d for *_, d in pairs) <= 6                        # of 144; the default is 12
    assert data.near_duplicates(np.stack([photos[4], variants[0]]), transforms=False) == []
    assert data.perceptual_hashes(photos).shape == (12, 144)


# ------------------------------------------------------------------ the command line


@pytest.mark.parametrize("argv, message", [
    (["--class-weights", "none"], "--class-weights applies to --data-dir only"),
    (["--data-dir", "x", "--n-per-class", "5"], "--n-per-class describes the synthetic data"),
    (["--data-dir", "x", "--preset", "shortcut"], "--preset describes the synthetic data"),
    (["--data-dir", "x", "--split", "70,30"], "expected three positive shares"),
    (["--data-dir", "x", "--fine-tune-epochs", "2"], "--fine-tune-epochs applies to --transfer"),
    (["--data-dir", "x", "--transfer", "resnet"], "expected 'imagenet' or the path"),
    (["--data-dir", "x", "--size", "64"], "--size must be at least 71"),
])
def test_options_that_do_not_fit_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        train.main([*argv, "--out", "/nonexistent/never-written"])
    assert message in capsys.readouterr().err


@pytest.mark.book      # trains a model: `make test`, not `make check`
def test_transfer_offline_names_the_problem_and_writes_nothing(tmp_path):
    root = tmp_path / "photos"
    _classes(root, {"cats": 3, "dogs": 3})
    out = tmp_path / "model"
    # no cached weights, and every download refused at once (as on a machine offline)
    offline = dict(KERAS_HOME=str(tmp_path / "keras"), HTTPS_PROXY="http://127.0.0.1:9",
                   https_proxy="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9",
                   http_proxy="http://127.0.0.1:9", NO_PROXY="", no_proxy="")
    result = _run("--data-dir", str(root), "--out", str(out), "--transfer", "imagenet", *TINY,
                  env=offline)
    assert result.returncode == 2, result.stderr[-3000:]
    err = result.stderr
    assert "--transfer imagenet: could not download the ImageNet weights of Xception" in err
    assert "no network connection?" in err
    assert "xception_weights_tf_dim_ordering_tf_kernels_notop.h5" in err
    assert "copy it into Keras' cache" in err and "leave out --transfer" in err
    assert f"Nothing was written to {str(out)!r}" in err and not out.exists()


@pytest.mark.book      # trains a model: `make test`, not `make check`
def test_transfer_recipe_from_a_weights_file(tmp_path):
    """The offline path of --transfer: the weights from a file. Phase one trains the head
    on the frozen base, phase two fine-tunes the exit flow (blocks 13-14) as well."""
    import keras

    from shared import models
    weights = tmp_path / "xception_notop.weights.h5"    # random weights stand in for ImageNet's
    keras.applications.Xception(include_top=False, weights=None,
                                input_shape=(96, 96, 3)).save_weights(weights)
    root, out = tmp_path / "photos", tmp_path / "model"
    _classes(root, {"cats": 3, "dogs": 3})
    result = _run("--data-dir", str(root), "--out", str(out), "--transfer", str(weights),
                  "--fine-tune-epochs", "1", *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    assert {p.name for p in out.iterdir()} == OUTPUTS
    card = models.model_card(out / "model_card.json")
    assert card["model"] == "xception_transfer" and "width" not in card["config"]
    t = card["transfer"]
    assert (t["head_epochs"], t["fine_tune_epochs"]) == (1, 1)
    assert t["fine_tune_learning_rate"] == pytest.approx(card["config"]["learning_rate"] / 10)
    assert t["fine_tuned_layers"].endswith("from block13_sepconv1 to logits (batch "
                                           "normalisation frozen)")
    assert len(card["history"]["loss"]) == 2
    assert "Transfer from" in (out / "model_card.md").read_text()
    model = models.load_model(out / "xception_pox.keras")
    assert model.output_shape == (None, 2)
    start = models.transfer_model((96, 96, 3), 2, weights=str(weights))
    tuned = {layer.name for layer in train_folder.fine_tune_layers(start)}
    assert {"block13_sepconv1", "block14_sepconv2", "logits"} <= tuned
    assert not any(n.endswith("_bn") or n.startswith("block12") for n in tuned)
    for before, after in zip(start.layers, model.layers):
        if before.weights and not isinstance(before, keras.layers.BatchNormalization):
            same = all(np.array_equal(a, b) for a, b in zip(before.get_weights(),
                                                               after.get_weights()))
            assert same == (before.name not in tuned), before.name

