"""Occlusion: slide a square over the image, record how much the class score drops.

Zeiler & Fergus (2014, ECCV, "Visualizing and understanding convolutional networks",
Sec. 4.2 and Fig. 7) cover portions of the image with a grey square and plot the
probability of the correct class as a function of the square's position. Here, as in
Captum's ``Occlusion``, each position ``p`` of a ``patch`` x ``patch`` square gives the drop

    ``d_p = s(x) - s(x with the square at p replaced by the fill)``

and each pixel gets the **mean drop over the positions whose square covers it**. A
positive value: hiding the pixel (with its neighbours) lowers the score.

Positions step by ``stride`` from the top-left corner; when the stride does not divide
``size - patch``, one more position is added flush with the bottom/right border, so the
last rows and columns are covered too. A stride larger than the patch would leave
pixels that no square covers: it is refused. So every pixel is covered by at least one
square, and a pixel's value is exactly 0 when every square covering it leaves the score
unchanged (for instance when the model does not see that part of the image).

The model is called only through :func:`shared.methods.scores`, ``batch_size`` images
at a time: ``positions + 1`` forward passes per image (the unoccluded image goes through
the same stream of batches as its occluded copies).
"""

from __future__ import annotations

import numpy as np

from . import postprocess, primitives
from .parameters import positive_int
from .registry import attribution

_TUTORIAL = ("the PyTorch/Captum occlusion tutorial 'Model understanding with Captum' "
             "(pytorch/tutorials, beginner_source/introyt/captumyt.py) on 224 px images: ")

SOURCES = {
    "patch": _TUTORIAL + "sliding_window_shapes=(3, 15, 15), a 15 px square",
    "stride": _TUTORIAL + "strides=(3, 8, 8), 8 px",
    "fill": "Zeiler & Fergus 2014 cover the image with a grey square (grey = 0.5, the "
            "zero of the network's [-1, 1] input)",
    "score": "Zeiler & Fergus 2014, Fig. 7: the probability of the correct class",
}


def pair(name: str, value) -> tuple[int, int]:
    """Check a size in pixels: a positive int, or a pair (rows, columns) of them."""
    values = value if isinstance(value, (tuple, list)) else (value, value)
    if len(values) != 2:
        raise ValueError(f"{name} must be a positive int or a pair (rows, columns) of them, "
                         f"got {value!r}")
    try:
        return tuple(positive_int(name, v) for v in values)
    except ValueError:
        raise ValueError(f"{name} must be a positive int or a pair (rows, columns) of them, "
                         f"got {value!r}") from None


def patch_positions(size: int, patch: int, stride: int) -> np.ndarray:
    """Top (or left) coordinates of the squares along one axis: ``0, stride, ...`` and,
    when the stride does not divide ``size - patch``, one more flush with the border."""
    last = size - patch
    if last < 0:
        raise ValueError(f"patch of {patch} px is larger than the image ({size} px)")
    starts = list(range(0, last + 1, stride))
    if starts[-1] != last:
        starts.append(last)
    return np.array(starts)


def _coverage(starts: np.ndarray, patch: int, size: int) -> np.ndarray:
    """(positions, size) float64: 1 where the square at each position covers the pixel."""
    pixels = np.arange(size)
    return ((pixels >= starts[:, None]) & (pixels < starts[:, None] + patch)).astype(np.float64)


@attribution(sources=SOURCES,
             checks={"patch": pair, "stride": pair, "fill": postprocess.check_fill})
def occlusion(model, images, targets, *, patch=15, stride=8, fill="grey", score="probability",
              batch_size=64):
    """Occlusion maps (N, H, W): the mean drop of the target score over the squares that
    cover each pixel (see the module docstring).

    Args:
        patch: side of the square in pixels (an int, or (rows, columns)).
        stride: step between positions (an int, or (rows, columns)); at most ``patch``.
        fill: what the hidden pixels become: a name in :data:`postprocess.FILLS`, a grey
            level in [0, 1] or an array of substitute images that broadcasts to the images
            (for instance the same scene rendered without its lesions). With the images
            themselves as ``fill``, nothing changes and the map is exactly 0.
        score: ``"probability"`` (Zeiler & Fergus) or ``"logit"``.
    """
    n, height, width = images.shape[:3]
    (ph, pw), (sh, sw) = patch, stride
    if ph > height or pw > width:
        raise ValueError(f"patch of {ph} x {pw} px is larger than the images "
                         f"({height} x {width} px)")
    if sh > ph or sw > pw:
        raise ValueError(f"stride ({sh}, {sw}) is larger than the patch ({ph}, {pw}): it "
                         "would leave pixels that no square covers; use stride <= patch")
    rows, cols = patch_positions(height, ph, sh), patch_positions(width, pw, sw)
    substitutes = postprocess.substitute(images, fill)
    grid = [(y, x) for y in rows for x in cols]
    per_image = len(grid) + 1                  # the unoccluded image, then each position

    total = n * per_image
    out = np.empty(total, np.float32)
    buffer = np.empty((min(batch_size, total),) + images.shape[1:], np.float32)
    for start in range(0, total, batch_size):
        stream = np.arange(start, min(start + batch_size, total))
        image, k = np.divmod(stream, per_image)
        batch = np.take(images, image, axis=0, out=buffer[:len(stream)])
        for j in np.flatnonzero(k):
            y, x = grid[k[j] - 1]
            batch[j, y:y + ph, x:x + pw] = substitutes[image[j], y:y + ph, x:x + pw]
        out[stream] = primitives.scores(model, batch, targets[image], score=score,
                                        batch_size=batch_size)

    out = out.reshape(n, per_image)
    drops = (out[:, :1] - out[:, 1:]).astype(np.float64).reshape(n, len(rows), len(cols))
    cover_rows, cover_cols = _coverage(rows, ph, height), _coverage(cols, pw, width)
    sums = np.einsum("ph,npq,qw->nhw", cover_rows, drops, cover_cols, optimize=True)
    counts = np.outer(cover_rows.sum(0), cover_cols.sum(0))      # >= 1 everywhere
    maps = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    return maps.astype(np.float32)
