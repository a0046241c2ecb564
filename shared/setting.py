"""One setting points the chapters at a reader's own model and images: ``BOOK_MODEL``.

    python -m shared.train --data-dir photos --out my_model   # writes the folder
    BOOK_MODEL=my_model make lab                               # the chapters run on it

``BOOK_MODEL`` names a folder written by ``python -m shared.train --data-dir`` (the
checkpoint ``xception_pox.keras``, ``model_card.json`` and ``splits.json``, which records
the image folder and its split). While it is set:

* :func:`shared.models.load_model` and :func:`shared.models.model_card` called without a
  path or variant read that folder's checkpoint and card instead of the book's;
* :func:`shared.examples.test_examples` returns that folder's test images (one per class,
  chosen by the book's rule), with the folder's class names and no masks or scenes;
* a chapter's :func:`shared.notebook.setup` says so in one line, or, for a chapter whose
  subject is the book's generated scenes, refuses with the reason
  (:data:`shared.notebook.CHAPTERS`); a cell that needs the book's own data (lesion masks,
  scenes, the scorecard's results, the book's class names) starts with the comment
  ``# needs the book's data: ...`` and prints that it is skipped, and why
  (:data:`shared.notebook.BOOK_DATA`).

Unset (or empty), everything is the book's: the shipped checkpoint and generated images.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

ENV = "BOOK_MODEL"
"""The environment variable: the folder of a model trained on a reader's images."""

FILES = ("xception_pox.keras", "model_card.json", "splits.json")
"""What the folder must hold (what ``python -m shared.train --data-dir`` writes)."""


class SettingError(ValueError):
    """``BOOK_MODEL`` names something that is not a usable model folder."""


@dataclass(frozen=True)
class OwnModel:
    """The folder ``BOOK_MODEL`` names, checked."""
    folder: Path
    class_names: tuple[str, ...]
    image_folder: Path            # where the split's images are read from
    size: int                     # the side the model was trained at

    @property
    def checkpoint(self) -> Path:
        return self.folder / FILES[0]

    @property
    def card_file(self) -> Path:
        return self.folder / FILES[1]

    @property
    def split_file(self) -> Path:
        return self.folder / FILES[2]

    def describe(self) -> str:
        """One line for a chapter's first output."""
        return (f"{ENV}={str(self.folder)!r}: this chapter runs on that model and on the test "
                f"images of {str(self.image_folder)!r} ({len(self.class_names)} classes: "
                f"{', '.join(self.class_names)}). The prose describes the book's model; "
                f"cells that need the book's own data (lesion masks, scenes, its scorecard) "
                f"say so and are skipped.")


def own_model(environ=None) -> OwnModel | None:
    """The model folder ``BOOK_MODEL`` names, or ``None`` when it is unset or empty.

    Raises:
        SettingError: the folder does not exist, lacks one of :data:`FILES`, or its
            ``splits.json`` is unreadable or names an image folder that does not exist;
            the message names the variable, the folder and what is wrong.
    """
    value = (os.environ if environ is None else environ).get(ENV, "").strip()
    if not value:
        return None
    folder = Path(value).expanduser()
    where = f"{ENV}={value!r}"
    if not folder.is_dir():
        raise SettingError(f"{where}: no such folder; it should name the --out folder of "
                           f"`python -m shared.train --data-dir ...` (unset {ENV} to use the "
                           f"book's model)")
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise SettingError(f"{where}: the folder lacks {', '.join(missing)}; it should be the "
                           f"--out folder of `python -m shared.train --data-dir ...`, which "
                           f"writes {', '.join(FILES)}")
    try:
        record = json.loads((folder / FILES[2]).read_text())
        names, root, size = tuple(record["class_names"]), Path(record["root"]), int(record["size"])
    except (ValueError, KeyError, TypeError) as e:
        raise SettingError(f"{where}: {FILES[2]} cannot be read ({type(e).__name__}: {e}); "
                           f"train again to rewrite it") from e
    if not root.is_dir():
        raise SettingError(f"{where}: the image folder {str(root)!r} recorded in {FILES[2]} "
                           f"does not exist (moved?); put it back, or edit 'root' in "
                           f"{str(folder / FILES[2])!r}")
    return OwnModel(folder.resolve(), names, root, size)
