"""Real images laid out one folder per class: :func:`load_folder` for the book's six
classes, :func:`load_image_folder` for any classes (a reader's own photographs), with
:func:`near_duplicates` to find the same photograph twice."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
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


# --------------------------------------------------------------------------------------
# Any classes: a reader's own photographs
# --------------------------------------------------------------------------------------

MIN_IMAGE_SIDE = 32
"""Images smaller than this on either side are refused by :func:`load_image_folder`: at
most a thumbnail, and resizing it to the model's input would invent the detail."""

_IGNORED_FILES = {"thumbs.db", "desktop.ini"}   # written by file browsers, not images
_SIXTEEN_BIT = {"I;16", "I;16L", "I;16B", "I;16N"}


def load_image_folder(root: str | Path, size: int = IMAGE_SIZE,
                      class_names: Sequence[str] | None = None) -> Dataset:
    """Load photographs laid out one folder per class, for ANY classes.

    Layout (the class names are the sub-folders' names)::

        root/
          cat/            img001.jpg ...   (images may also sit in sub-folders)
          dog/            ...
          monkey pox/     ...

    Args:
        root: the folder of class folders.
        size: every image is resized to ``size`` x ``size`` (the whole image, without
            cropping, as :func:`load_folder` does) and scaled to [0, 1].
        class_names: ``None``: every sub-folder is a class, in sorted order (Python's
            string order, so ``"Zebra"`` comes before ``"apple"``): label ``k`` is the
            ``k``-th name. A list (for instance a model card's ``class_names``): the
            labels index this list, every folder must be one of its names, and a name
            may have no folder (a test set without that class).

    Returns:
        A :class:`Dataset` with the folder's ``class_names``, no masks or scenes, and in
        ``info``: ``source``, ``size``, ``files`` (the image paths, in label order, then
        path order), ``relative_files`` (the same, relative to ``root``, with ``/``) and
        ``modes`` (how many images of each Pillow mode were converted to RGB).

    Handling of what a real folder holds:

    * **class names**: any folder name is a class name, stored as it is (Unicode
      normalised to NFC), also one that is not a Python identifier such as
      ``"monkey pox"`` or ``"grade 2"``: the package uses class names only as text (plot
      titles, model-card keys, JSON), never as attributes or keyword arguments, so there
      is no reason to make a teacher rename folders. Names that differ only in case
      (``Cat`` and ``cat``) are refused: they are one folder on Windows and macOS.
    * **modes**: every image becomes 8-bit RGB. Grayscale (``L``), palette (``P``),
      ``CMYK`` and the others are converted by Pillow; transparency (``RGBA``, ``LA``,
      a ``P`` image with a transparent colour) is composited onto white, so hidden
      pixels do not show their arbitrary stored colour; 16-bit grayscale (``I;16``, or
      ``I`` with values above 255) is scaled to 8 bits. The EXIF orientation of phone
      photos is applied first.
    * files and folders whose names start with ``.`` and the file browsers'
      ``Thumbs.db`` and ``desktop.ini`` are skipped.

    Raises (nothing is returned half-loaded):
        FileNotFoundError: ``root`` does not exist.
        ValueError, its message naming the folder or the file: a file beside the class
            folders (it has no class); fewer than two classes (a classifier needs at
            least two); a class folder without images; a folder not in ``class_names``;
            a file that is not an image, cannot be read, or is smaller than
            :data:`MIN_IMAGE_SIDE` pixels on a side.
    """
    root = Path(root)
    names, files = _scan_class_folders(root, class_names)
    images, modes = _read_images([f for f, _ in files], size)
    return Dataset(images, np.array([lab for _, lab in files], np.int64), None, None,
                   tuple(names),
                   dict(source=str(root), size=size, files=[str(f) for f, _ in files],
                        relative_files=[f.relative_to(root).as_posix() for f, _ in files],
                        modes=modes),
                   distractor_masks=None, instances=None, scenes=None)


def load_image_split(split_file: str | Path, split: str = "test", size: int | None = None,
                     root: str | Path | None = None) -> Dataset:
    """The images of one split written by ``python -m shared.train --data-dir``
    (``splits.json`` beside the checkpoint), so a chapter explains the same test images
    the model card's numbers are measured on.

    Args:
        split_file: the ``splits.json`` file.
        split: ``"train"``, ``"val"`` or ``"test"``.
        size: the side to resize to (default: the size the model was trained at).
        root: the image folder, when it has moved since training (default: the one
            recorded in the file).
    """
    record = json.loads(Path(split_file).read_text())
    if split not in ("train", "val", "test"):
        raise ValueError(f"unknown split {split!r}; expected 'train', 'val' or 'test'")
    root = Path(root if root is not None else record["root"])
    size = int(size if size is not None else record["size"])
    names = list(record["class_names"])
    rel = list(record[split])
    labels = np.array([names.index(unicodedata.normalize("NFC", r.split("/")[0]))
                       for r in rel], np.int64)
    images, modes = _read_images([root / r for r in rel], size)
    return Dataset(images, labels, None, None, tuple(names),
                   dict(source=str(root), size=size, split=split,
                        files=[str(root / r) for r in rel], relative_files=rel, modes=modes),
                   distractor_masks=None, instances=None, scenes=None)


def _visible(entry: Path) -> bool:
    return not entry.name.startswith(".") and entry.name.lower() not in _IGNORED_FILES


def _scan_class_folders(root: Path, class_names) -> tuple[list[str], list[tuple[Path, int]]]:
    """The class names and the (file, label) pairs of a folder of class folders, checked."""
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {str(root)!r} does not exist")
    layout = "expected one sub-folder per class (any names), each holding that class's images"
    folders = {}
    for entry in sorted(root.iterdir()):
        if not _visible(entry):
            continue
        if not entry.is_dir():
            raise ValueError(f"unexpected file {str(entry)!r} in {str(root)!r}: it belongs to "
                             f"no class; {layout}")
        folders[unicodedata.normalize("NFC", entry.name)] = entry
    if class_names is None:
        names = sorted(folders)
    else:
        names = [unicodedata.normalize("NFC", str(c)) for c in class_names]
        if len(set(names)) != len(names):
            raise ValueError(f"class_names has a repeated name: {list(class_names)}")
        unknown = sorted(set(folders) - set(names))
        if unknown:
            raise ValueError(f"folder {str(folders[unknown[0]])!r} is not one of the classes "
                             f"{names}")
    if not folders:
        raise ValueError(f"no class folders in {str(root)!r}: {layout}")
    if len(names) < 2:
        where = (f"only one class folder ({str(folders[names[0]])!r}) in {str(root)!r}"
                 if class_names is None else f"class_names has one class ({names})")
        raise ValueError(f"{where}: a classifier needs at least two classes, one sub-folder "
                         "each")
    lower: dict[str, str] = {}
    for name in names:
        if name.casefold() in lower:
            raise ValueError(f"class folders {lower[name.casefold()]!r} and {name!r} in "
                             f"{str(root)!r} differ only in case: they would be one folder on "
                             "Windows and macOS; merge or rename them")
        lower[name.casefold()] = name
    files: list[tuple[Path, int]] = []
    for label, name in enumerate(names):
        if name not in folders:
            continue
        found = [f for f in sorted(folders[name].rglob("*"))
                 if f.is_file() and _visible(f)
                 and not any(p.startswith(".") for p in f.relative_to(root).parts)]
        if not found:
            raise ValueError(f"class folder {str(folders[name])!r} has no images: add some, or "
                             "remove the folder")
        files += [(f, label) for f in found]
    return names, files


def _read_images(paths: list[Path], size: int) -> tuple[np.ndarray, dict[str, int]]:
    """Every image as RGB in [0, 1] at ``size`` x ``size``, and the count of each original
    mode; a ValueError naming the first file that is not a readable image of at least
    :data:`MIN_IMAGE_SIDE` pixels on a side."""
    from PIL import Image

    images = np.empty((len(paths), size, size, 3), np.float32)
    modes: dict[str, int] = {}
    for k, f in enumerate(paths):
        if f.suffix.lower() not in _IMAGE_SUFFIXES:
            raise ValueError(f"{str(f)!r} is not an image file (suffix {f.suffix!r}); "
                             f"allowed: {sorted(_IMAGE_SUFFIXES)}")
        try:
            with Image.open(f) as im:
                w, h = im.size
                if min(w, h) < MIN_IMAGE_SIDE:
                    raise _TooSmall(f"image {str(f)!r} is {w} x {h} pixels: too small, every "
                                    f"image must be at least {MIN_IMAGE_SIDE} pixels on each "
                                    "side")
                modes[im.mode] = modes.get(im.mode, 0) + 1
                im = _to_rgb(im).resize((size, size), Image.BILINEAR)
                images[k] = np.asarray(im, np.float32) / 255.0
        except _TooSmall as e:
            raise ValueError(str(e)) from None
        except Exception as e:  # PIL raises many types for a damaged or exotic file
            raise ValueError(f"cannot read image {str(f)!r}: {type(e).__name__}: {e}") from e
    return images, dict(sorted(modes.items()))


class _TooSmall(Exception):
    pass


def _to_rgb(im):
    """8-bit RGB: EXIF orientation applied, transparency over white, 16 bits to 8."""
    from PIL import Image, ImageOps

    im = ImageOps.exif_transpose(im)
    if im.mode in _SIXTEEN_BIT or (im.mode == "I" and np.asarray(im).max() > 255):
        a = np.asarray(im, np.float64) / 257.0
        im = Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8), "L")
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (im.mode == "P"
                                                        and "transparency" in im.info):
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return im.convert("RGB")


# --------------------------------------------------------------------------------------
# Near-duplicates: the same photograph in two splits
# --------------------------------------------------------------------------------------

HASH_GRID = 9
"""The side of the grayscale thumbnail a perceptual hash is taken from."""


def perceptual_hashes(images: np.ndarray) -> np.ndarray:
    """A difference hash (dHash) of each image: bool (N, 2 * 9 * 8).

    Each image is reduced to a 9 x 9 grayscale thumbnail (the mean of each cell of a
    9 x 9 grid), and each bit says whether a cell is brighter than its right neighbour
    (72 bits) or than the one below (72 bits). Resizing, recompression, brightness and
    contrast changes keep most bits; different photographs differ in about half.
    numpy only.
    """
    thumbs = _thumbnails(np.asarray(images, np.float32))
    return _dhash(thumbs)


def near_duplicates(images: np.ndarray, max_distance: int = 12,
                    transforms: bool = True) -> list[tuple[int, int, int]]:
    """Pairs of near-identical images: ``(i, j, distance)`` with ``i < j``, where the
    distance is the number of differing bits of their :func:`perceptual_hashes` (of 144)
    and at most ``max_distance``.

    With ``transforms`` (the default), the distance of a pair is the smallest over the
    eight flips and quarter turns of the second image: public skin-lesion sets ship
    rotated and mirrored copies of the same photograph, which a model trained with flips
    and turns sees as the same image. The bits of nearly flat regions are unstable: two
    different pictures of a small object on a plain background can come out close, and a
    resized copy of an image that is plain apart from pixel noise further away (photographs
    of skin, with their shading and texture, are not like that: a resized copy stays
    within a few bits, different images are 30 or more apart). Adjust ``max_distance`` to
    the images at hand.
    """
    thumbs = _thumbnails(np.asarray(images, np.float32))
    bits = _dhash(thumbs).astype(np.float32)
    variants = [thumbs]
    if transforms:
        variants = [np.rot90(t, k, axes=(1, 2)) for t in (thumbs, thumbs[:, :, ::-1])
                    for k in range(4)]
    others = [_dhash(np.ascontiguousarray(v)).astype(np.float32) for v in variants]
    n = len(bits)
    pairs = []
    for start in range(0, n, 512):
        a = bits[start:start + 512]
        best = np.full((len(a), n), np.inf, np.float32)
        for b in others:
            best = np.minimum(best, a @ (1 - b).T + (1 - a) @ b.T)   # Hamming distances
        rows, cols = np.nonzero(best <= max_distance)
        for r, c in zip(rows, cols):
            i, j = start + int(r), int(c)
            if i < j:
                pairs.append((i, j, int(round(best[r, c]))))
    return sorted(pairs)     # each pair once, as (i, j, distance of i to j's nearest variant)


def _thumbnails(images: np.ndarray) -> np.ndarray:
    gray = images @ np.array([0.299, 0.587, 0.114], np.float32) if images.ndim == 4 else images
    n, h, w = gray.shape
    rows = np.linspace(0, h, HASH_GRID + 1).round().astype(int)
    cols = np.linspace(0, w, HASH_GRID + 1).round().astype(int)
    sums = np.add.reduceat(np.add.reduceat(gray, rows[:-1], axis=1), cols[:-1], axis=2)
    return sums / np.outer(np.diff(rows), np.diff(cols))[None]


def _dhash(thumbs: np.ndarray) -> np.ndarray:
    n = len(thumbs)
    across = thumbs[:, :, :-1] > thumbs[:, :, 1:]
    down = thumbs[:, :-1, :] > thumbs[:, 1:, :]
    return np.concatenate([across.reshape(n, -1), down.reshape(n, -1)], axis=1)
