"""Real images: :func:`load_folder` reads photographs laid out one folder per class."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .constants import CLASS_NAMES, IMAGE_SIZE, class_index
from .dataset import Dataset

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def load_folder(root: str | Path, size: int = IMAGE_SIZE) -> Dataset:
    """Load real images laid out one folder per class.

    Expected layout (class folder names as in :data:`CLASS_NAMES`, case-insensitive;
    a class folder may be missing or empty)::

        root/
          Chickenpox/  img001.jpg ...
          Cowpox/      ...
          Healthy/ Measles/ Monkeypox/ Smallpox/

    Every image is converted to RGB, resized to ``size`` x ``size`` and scaled to [0, 1].
    There is no ground truth for real images: ``masks``, ``distractor_masks``,
    ``instances`` and ``scenes`` are ``None``.

    Raises:
        FileNotFoundError: ``root`` does not exist.
        ValueError: the layout is wrong (a file or unknown folder at the top, no class
            folder, no image), or a file is not a readable image (the message names it).
    """
    from PIL import Image, UnidentifiedImageError

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {str(root)!r} does not exist")
    expected = "expected one sub-folder per class named " + ", ".join(CLASS_NAMES)
    files: list[tuple[Path, int]] = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        label = _folder_label(entry)
        if label is None:
            raise ValueError(f"unexpected {'folder' if entry.is_dir() else 'file'} "
                             f"{str(entry)!r} in {str(root)!r}: {expected}")
        for f in sorted(entry.rglob("*")):
            if f.is_file() and not f.name.startswith("."):
                files.append((f, label))
    if not files:
        raise ValueError(f"no images found in {str(root)!r}: {expected}")

    images = np.empty((len(files), size, size, 3), np.float32)
    for k, (f, _) in enumerate(files):
        if f.suffix.lower() not in _IMAGE_SUFFIXES:
            raise ValueError(f"{str(f)!r} is not an image file (suffix {f.suffix!r}); "
                             f"allowed: {sorted(_IMAGE_SUFFIXES)}")
        try:
            with Image.open(f) as im:
                im = im.convert("RGB").resize((size, size), Image.BILINEAR)
                images[k] = np.asarray(im, np.float32) / 255.0
        except (UnidentifiedImageError, OSError, SyntaxError) as e:
            raise ValueError(f"cannot read image {str(f)!r}: {e}") from e
    labels = np.array([lab for _, lab in files], np.int64)
    return Dataset(images, labels, None, None, CLASS_NAMES,
                   dict(source=str(root), size=size, files=[str(f) for f, _ in files]),
                   distractor_masks=None, instances=None, scenes=None)


def _folder_label(entry: Path) -> int | None:
    """The label of a class folder (named as in :data:`CLASS_NAMES`, case-insensitive),
    or ``None`` for a file or any other folder."""
    if not entry.is_dir():
        return None
    try:
        return class_index(entry.name)
    except ValueError:
        return None
