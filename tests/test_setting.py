"""``BOOK_MODEL`` (:mod:`shared.setting`): one setting that points the chapters at a
reader's model folder. What it accepts and refuses, the chapters that run on it, and the
cells that skip themselves. The end-to-end run of a chapter on a trained folder is in
``tests/test_own_images.py``."""

import json
import re
from pathlib import Path

import pytest

from shared import notebook, setting

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "book" / "chapters"


def _folder(tmp_path, *, files=setting.FILES, root=None, record=None) -> Path:
    """A model folder as `python -m shared.train --data-dir` leaves it (the checkpoint's
    bytes do not matter here: nothing is loaded)."""
    images = tmp_path / "photos"
    images.mkdir(exist_ok=True)
    folder = tmp_path / "model"
    folder.mkdir()
    for name in files:
        (folder / name).write_text("{}")
    if "splits.json" in files:
        record = record if record is not None else dict(
            root=str(root if root is not None else images), size=96,
            class_names=["cat", "grade 2"], train=[], val=[], test=[])
        (folder / "splits.json").write_text(json.dumps(record))
    return folder


def test_unset_or_empty_means_the_book():
    assert setting.own_model({}) is None
    assert setting.own_model({setting.ENV: "  "}) is None




def test_a_good_folder(tmp_path):
    folder = _folder(tmp_path)
    own = setting.own_model({setting.ENV: str(folder)})
    assert own.folder == folder.resolve() and own.size == 96
    assert own.class_names == ("cat", "grade 2") and own.image_folder == tmp_path / "photos"
    assert own.checkpoint == folder.resolve() / "xception_pox.keras"
    assert "2 classes: cat, grade 2" in own.describe()


@pytest.mark.parametrize("make, message", [
    (lambda t: t / "nowhere", r"no such folder"),
    (lambda t: _folder(t, files=("xception_pox.keras", "splits.json")),
     r"lacks model_card\.json"),
    (lambda t: _folder(t, root=t / "moved"), r"image folder '.*moved' recorded in splits\.json "
                                              r"does not exist"),
    (lambda t: _folder(t, record={"root": str(t)}), r"splits\.json cannot be read \(KeyError"),
])
def test_a_bad_folder_is_refused_by_name(tmp_path, make, message):
    value = str(make(tmp_path))
    with pytest.raises(setting.SettingError, match=message) as refused:
        setting.own_model({setting.ENV: value})
    assert f"BOOK_MODEL={value!r}" in str(refused.value)


def test_loading_the_model_names_the_setting(tmp_path, monkeypatch):
    """load_model and model_card follow the setting unless a path or variant is given."""
    from shared import data, models
    folder = _folder(tmp_path)
    (folder / "model_card.json").write_text('{"class_names": ["cat", "grade 2"]}')
    monkeypatch.setenv(setting.ENV, str(folder))
    assert models.model_card()["class_names"] == ["cat", "grade 2"]
    assert models.model_card(variant="default")["class_names"] == list(data.CLASS_NAMES)
    with pytest.raises(models.CheckpointError, match=r"model/xception_pox\.keras' is not a "
                                                     r"Keras archive.*--data-dir"):
        models.load_model()


def test_every_chapter_is_listed_and_names_itself():
    """Each chapter's setup cell passes its own name, and CHAPTERS says for each whether
    it runs on a reader's model."""
    stems = {p.stem for p in CHAPTERS.glob("*.md")}
    assert set(notebook.CHAPTERS) == stems
    for stem in stems:
        text = (CHAPTERS / f"{stem}.md").read_text()
        assert re.search(rf'^setup\("{stem}"\)', text, re.M), stem
    runs = [c for c, why in notebook.CHAPTERS.items() if why is None]
    assert runs, "no chapter runs on a reader's model"


def test_a_chapter_on_the_books_scenes_refuses_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.setenv(setting.ENV, str(_folder(tmp_path)))
    with pytest.raises(setting.SettingError, match=r"runs on the book's model only: its "
                                                   r"subject is the book's generated scenes"):
        notebook.setup("concepts")
    with pytest.raises(ValueError, match="unknown chapter 'grad_cam'"):
        notebook.setup("grad_cam")


def test_marked_cells_print_why_they_are_skipped(capsys):
    """The input transformer in a real IPython shell: a marked cell prints its reason and
    runs nothing; an unmarked one runs."""
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    shell.input_transformers_post.append(notebook.skip_if_needs_books_data)
    try:
        shell.run_cell("# needs the book's data: the lesion masks\nran = 1 / 0\n")
        shell.run_cell("\n# needs the book's data\nother = 1\n")     # no reason: not a mark
        shell.run_cell("x = 1  # needs the book's data: not the first line\n")
    finally:
        shell.input_transformers_post.remove(notebook.skip_if_needs_books_data)
    out = capsys.readouterr().out
    assert out == ("Skipped on your images: this cell needs the book's data "
                   "(the lesion masks).\n")
    assert "ran" not in shell.user_ns and shell.user_ns["other"] == 1 and shell.user_ns["x"] == 1


def test_marked_cells_need_the_setting_to_skip():
    """Without BOOK_MODEL a chapter's marked cells run: setup registers nothing."""
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    notebook.setup("saliency")
    assert notebook.skip_if_needs_books_data not in shell.input_transformers_post
