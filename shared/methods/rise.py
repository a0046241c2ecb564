"""RISE: randomized input sampling (Petsiuk, Das & Saenko 2018, BMVC).

RISE probes the model with the image seen through random smooth masks and weighs each
mask by the score it leaves:

    ``S(lambda) = 1 / (N * p) * sum_i s(x * M_i + fill * (1 - M_i)) * M_i(lambda)``,

a Monte Carlo estimate of the expected score given that pixel ``lambda`` is kept. The
masks follow the paper (and the authors' code, eclique/RISE ``generate_masks``):

1. a binary grid of ``s x s`` cells (``cell = s``), each kept (1) with probability ``p``;
2. bilinear upsampling to ``(s + 1) * C_H`` x ``(s + 1) * C_W`` pixels, with
   ``C = ceil(size / s)`` the size of a cell in pixels (the grid mirrored at its border,
   as the authors' ``skimage.transform.resize(order=1, mode='reflect')`` does);
3. a random shift: the H x W crop at an offset drawn uniformly from ``[0, C_H) x [0, C_W)``.

So the masks take values in [0, 1], are smooth, and their cell borders fall anywhere.
The paper dims the hidden pixels to zero (``fill="black"``); other fills blend towards
what :func:`postprocess.substitute` gives.

Mask ``i`` is drawn from ``np.random.default_rng([seed, i])`` alone: every image of a call
sees the same ``n_samples`` masks, and the map does not depend on the batching. Masks are
made ``batch_size`` at a time (4000 masks at 224 px would take 800 MB), and the model is
called only through :func:`shared.methods.scores`: ``n_samples`` forward passes per
image.
"""

from __future__ import annotations

import math

import numpy as np

from . import postprocess, primitives
from .parameters import non_negative_int, positive_int, probability
from .registry import attribution

_XPLIQUE = "xplique's Rise (deel-ai/xplique, xplique/attributions/rise.py) default "
SOURCES = {
    "n_samples": _XPLIQUE + "nb_samples=4000 (the authors' code, eclique/RISE, runs "
                 "N=2000 in Easy_start.ipynb and N=6000 in Saliency.py)",
    "cell": _XPLIQUE + "grid_size=7: a 7 x 7 grid (eclique/RISE uses s=8)",
    "p_keep": _XPLIQUE + "preservation_probability=0.5 (eclique/RISE Easy_start.ipynb: "
              "p1=0.5)",
    "fill": "Petsiuk et al. 2018: masked pixels are dimmed 'down to zero' (x * M)",
    "score": "Petsiuk et al. 2018 explain the class probability (the authors' code "
             "appends a softmax to the model)",
    "seed": "any: mask i depends only on (seed, i)",
    "first": "any: masks first .. first + n_samples - 1 (0: the first n_samples masks)",
}


def _bilinear(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix of bilinear resizing along one axis, as the authors'
    ``skimage.transform.resize(order=1, mode='reflect', anti_aliasing=False)``: pixel
    centres aligned, and beyond the outer pixel centres the grid mirrored about them
    (``tf.image.resize`` clamps there instead; the two differ only within half a cell of
    the upsampled border)."""
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    if n_in == 1:
        src = np.zeros(n_out)
    else:                                        # mirror about the first and last centres
        src = np.abs(src)
        src = np.where(src > n_in - 1, 2 * (n_in - 1) - src, src)
    lo = np.minimum(np.floor(src).astype(int), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    w = src - lo
    m = np.zeros((n_out, n_in))
    np.add.at(m, (np.arange(n_out), lo), 1 - w)
    np.add.at(m, (np.arange(n_out), hi), w)
    return m


class MaskSampler:
    """The RISE masks of one size, cell count, keep probability and seed.

    ``sampler.draw(i)`` gives mask ``i``'s binary grid and shift; ``sampler.masks(start,
    stop)`` the float32 masks ``start..stop-1``, (stop - start, H, W), in [0, 1].
    """

    def __init__(self, size, cell: int, p_keep: float, seed: int):
        self.height, self.width = size
        self.cell, self.p_keep, self.seed = cell, p_keep, seed
        self.cell_px = (math.ceil(self.height / cell), math.ceil(self.width / cell))
        self.up_size = ((cell + 1) * self.cell_px[0], (cell + 1) * self.cell_px[1])
        self._rows = _bilinear(cell, self.up_size[0]).astype(np.float32)       # (up_h, s)
        self._cols_t = _bilinear(cell, self.up_size[1]).T.astype(np.float32)   # (s, up_w)

    def draw(self, i: int):
        """Mask ``i``'s binary grid (cell, cell) and its shift (dy, dx)."""
        rng = np.random.default_rng([self.seed, int(i)])
        grid = rng.random((self.cell, self.cell)) < self.p_keep
        dy, dx = rng.integers(0, self.cell_px[0]), rng.integers(0, self.cell_px[1])
        return grid, int(dy), int(dx)

    def masks(self, start: int, stop: int) -> np.ndarray:
        grids, dys, dxs = zip(*(self.draw(i) for i in range(start, stop)))
        rows = self._rows[np.add.outer(dys, np.arange(self.height))]          # (B, H, s)
        cols = self._cols_t[:, np.add.outer(dxs, np.arange(self.width))]      # (s, B, W)
        cols = np.ascontiguousarray(cols.transpose(1, 0, 2))                  # (B, s, W)
        m = (rows @ np.stack(grids).astype(np.float32)) @ cols
        return np.clip(m, 0.0, 1.0, out=m)


@attribution(sources=SOURCES,
             checks={"cell": positive_int, "p_keep": probability, "fill": postprocess.check_fill,
                     "first": non_negative_int})
def rise(model, images, targets, *, n_samples=4000, cell=7, p_keep=0.5, fill="black",
         score="probability", seed=0, first=0, batch_size=64):
    """RISE maps (N, H, W): ``sum_i s_i M_i / (N p)`` over ``n_samples`` random masks.

    Args:
        n_samples: the number of masks N (forward passes per image).
        cell: the grid's number of cells per side, ``s`` in the paper (each cell covers
            ``ceil(H / s)`` pixels).
        p_keep: the probability ``p`` that a cell is kept, in (0, 1).
        fill: what the hidden part of a pixel becomes: ``x * M + fill * (1 - M)``; a name
            in :data:`postprocess.FILLS`, a grey level or an array of substitute images.
        score: ``"probability"`` (the paper) or ``"logit"``.
        seed: mask ``i`` is drawn from ``default_rng([seed, i])``.
        first: the index of the first mask: the map of masks ``first .. first +
            n_samples - 1``. Maps of disjoint ranges average to the map of their union
            (with equal ``n_samples``: two halves of 250 masks give the map of 500), so a
            map can be split in parts, or extended, without drawing a mask twice.
    """
    n, height, width = images.shape[:3]
    if cell > min(height, width):
        raise ValueError(f"cell must be at most the image size ({height} x {width} px): a "
                         f"{cell} x {cell} grid would have cells under one pixel")
    sampler = MaskSampler((height, width), cell, p_keep, seed)
    base = postprocess.substitute(images, fill)
    delta = images - base                       # x * M + b * (1 - M) = b + (x - b) * M
    blend = [bool(b.any()) for b in base]       # black: x * M, nothing to add
    buffer = np.empty((min(batch_size, n_samples), height, width, 3), np.float32)
    totals = np.zeros((n, height * width))
    for start in range(first, first + n_samples, batch_size):
        masks = sampler.masks(start, min(start + batch_size, first + n_samples))
        flat, batch = masks.reshape(len(masks), -1), buffer[:len(masks)]
        for i in range(n):
            for c in range(3):                  # channel by channel: 2x faster than broadcasting
                np.multiply(masks, delta[i, ..., c], out=batch[..., c])
                if blend[i]:
                    batch[..., c] += base[i, ..., c]
            s = primitives.scores(model, batch, np.full(len(masks), targets[i]), score=score,
                                  batch_size=batch_size)
            totals[i] += s.astype(np.float32) @ flat
    maps = totals / (n_samples * p_keep)
    return maps.reshape(n, height, width).astype(np.float32)
