"""The :class:`Dataset` container: images with labels, masks, instance maps and scenes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .constants import CLASS_NAMES, _is_int

if TYPE_CHECKING:
    from .scenes import Scene


@dataclass
class Dataset:
    """A set of images with labels and ground-truth masks.

    Attributes:
        images: float32 array (N, H, W, 3), values in [0, 1].
        labels: int64 array (N,), indices into :data:`CLASS_NAMES`.
        masks: bool array (N, H, W): True on lesion pixels. ``None`` for real images
            loaded with :func:`load_folder` (no ground truth is known).
        marker_masks: bool array (N, H, W): True on pixels of the planted shortcut
            marker (all False when no marker was requested), or ``None``.
        class_names: the class names, in label order.
        info: how the set was made (seed, sizes, options).
        distractor_masks: bool array (N, H, W): True where a red distractor was painted
            and no lesion covers it, or ``None``.
        instances: int16 array (N, H, W): the instance map of each image (0 background,
            ``k + 1`` where element ``k`` of the image's scene is on top), or ``None``.
        scenes: the :class:`Scene` of each image, or ``None`` for real images.
    """

    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray | None
    marker_masks: np.ndarray | None = None
    class_names: tuple[str, ...] = CLASS_NAMES
    info: dict = field(default_factory=dict)
    distractor_masks: np.ndarray | None = None
    instances: np.ndarray | None = None
    scenes: list | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index) -> "Dataset":
        """Select images with an index, a slice, a boolean mask or an index array."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        take = lambda a: None if a is None else a[index]  # noqa: E731
        scenes = (None if self.scenes is None
                  else [self.scenes[j] for j in np.arange(len(self))[index]])
        return Dataset(take(self.images), take(self.labels), take(self.masks),
                       take(self.marker_masks), self.class_names, dict(self.info),
                       take(self.distractor_masks), take(self.instances), scenes)

    def counts(self) -> np.ndarray:
        """Number of images per class."""
        return np.bincount(self.labels, minlength=len(self.class_names))

    def scene(self, i: int) -> "Scene":
        """The :class:`Scene` of image ``i``: the starting point of interventions."""
        n = len(self)
        if not _is_int(i):
            raise ValueError(f"image index must be an int, got {i!r}")
        if not 0 <= i < n:
            raise ValueError(f"image {i} out of range: this dataset has {n} images (0..{n - 1})")
        if self.scenes is None:
            where = "was loaded from a folder and " if "source" in self.info else ""
            raise ValueError(f"image {i} {where}has no scene: interventions need a "
                             f"generated image (generate, load_split or render_many)")
        return self.scenes[int(i)]

    def fingerprint(self) -> str:
        """A short SHA-256 of the 8-bit image values, the labels and all masks.

        Hashing the uint8 values (not the float32 bytes) keeps the fingerprint stable
        wherever the images hold the same 8-bit values.
        """
        h = hashlib.sha256()
        for start in range(0, len(self.images), 64):   # chunks: no big float copy
            chunk = self.images[start:start + 64]
            h.update(np.round(chunk * 255).astype(np.uint8).tobytes())
        h.update(np.asarray(self.labels, np.int64).tobytes())
        for a in (self.masks, self.marker_masks, self.distractor_masks, self.instances):
            if a is not None:
                h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]
