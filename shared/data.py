"""The book's dataset: synthetic skin-lesion images with pixel-exact lesion masks.

Real photographs of pox-like rashes cannot be shipped with the book, so every chapter
uses images drawn here, offline and deterministically. Each image is a patch of skin
(a skin tone, shading, texture, lighting and benign distractors: hairs, freckles,
moles) with the lesions of one of six classes painted on it. The class is decided by
the lesions' morphology only:

=========== ======================================================================
Chickenpox  many small lesions in *mixed* stages (flat spots, papules, blisters,
            pustules and crusts side by side)
Cowpox      one to three large lesions, each a dark eschar with a pale ring and a
            red halo
Healthy     no lesion (the distractors are still there)
Measles     flat, blotchy red patches that run together (sometimes faint)
Monkeypox   fewer, larger pustules all in the *same* stage, most with a dimple
            (umbilication) in the centre
Smallpox    dense, same-stage, deep-seated pustules
=========== ======================================================================

The neighbours overlap on purpose (lesion counts and sizes are shared between
chickenpox, monkeypox and smallpox; a measles rash can be faint; a cowpox lesion can
be small), so a good model still makes a few honest mistakes.

Because the lesions are painted, every image comes with a boolean mask of exactly the
pixels that a lesion changed. Nothing else in the image (skin, lighting, hairs,
freckles, moles) depends on the class. That is what lets the book *measure*
explanations against ground truth.

Images are float32 in [0, 1], shape (N, H, W, 3): the input convention of every model
in :mod:`shared.models`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

CLASS_NAMES: tuple[str, ...] = (
    "Chickenpox",
    "Cowpox",
    "Healthy",
    "Measles",
    "Monkeypox",
    "Smallpox",
)
"""The six classes, in label order."""

IMAGE_SIZE = 224
"""Default side length in pixels (the shared model's input is 224 x 224)."""

SPLIT_SEEDS = {"train": 1, "val": 2, "test": 3}
"""Seeds of the three splits. Each image's random stream is derived from
``(seed, class, index)``, so different seeds give disjoint, independent images."""

SPLIT_SIZES = {"train": 800, "val": 100, "test": 100}
"""Images per class in the splits used to train and evaluate the shared checkpoint."""

SEED_LIKE_COUNTS = (107, 69, 114, 91, 279, 58)
"""An imbalanced count per class, monkeypox-heavy like the small public pox datasets
the original write-up used. Pass it as ``n_per_class`` to study imbalance."""

MARKER_KINDS = ("ink", "ruler")


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
    """

    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray | None
    marker_masks: np.ndarray | None = None
    class_names: tuple[str, ...] = CLASS_NAMES
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index) -> "Dataset":
        """Select images with an index, a slice, a boolean mask or an index array."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        take = lambda a: None if a is None else a[index]  # noqa: E731
        return Dataset(take(self.images), take(self.labels), take(self.masks),
                       take(self.marker_masks), self.class_names, dict(self.info))

    def counts(self) -> np.ndarray:
        """Number of images per class."""
        return np.bincount(self.labels, minlength=len(self.class_names))

    def fingerprint(self) -> str:
        """A short SHA-256 of the images, labels and masks (provenance checks)."""
        h = hashlib.sha256()
        for a in (self.images, self.labels, self.masks, self.marker_masks):
            if a is not None:
                h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]


# --------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------

# Skin tones from light to dark (sRGB in [0, 1]); a tone is drawn anywhere between them.
_SKIN_TONES = np.array([
    [0.96, 0.82, 0.72],
    [0.92, 0.73, 0.60],
    [0.82, 0.60, 0.46],
    [0.67, 0.47, 0.34],
    [0.52, 0.35, 0.24],
    [0.37, 0.24, 0.17],
], dtype=np.float32)


def generate(
    n_per_class: int | Sequence[int],
    seed: int,
    *,
    size: int = IMAGE_SIZE,
    marker_class: str | int | None = None,
    marker_fraction: float = 0.0,
    marker_kind: str = "ink",
) -> Dataset:
    """Draw a deterministic synthetic dataset.

    Args:
        n_per_class: images per class, one int for all classes or one per class (in
            :data:`CLASS_NAMES` order), e.g. :data:`SEED_LIKE_COUNTS` for imbalance.
        seed: the split's seed. Image ``i`` of class ``c`` depends only on
            ``(seed, c, i)``: asking for more images extends a set without changing
            the images already in it.
        size: side length in pixels (at least 64).
        marker_class: plant a shortcut in this class (name or index): a small
            artificial marker that has nothing to do with the disease.
        marker_fraction: share of that class's images that get the marker.
        marker_kind: ``"ink"`` (a pen dot) or ``"ruler"`` (a ruler along one edge).

    Returns:
        A :class:`Dataset`, ordered by class. ``marker_masks`` marks the marker pixels.
    """
    counts = _check_counts(n_per_class)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if not isinstance(size, (int, np.integer)) or size < 64:
        raise ValueError(f"size must be an int >= 64, got {size!r}")
    marker_label = None
    if marker_class is not None:
        marker_label = class_index(marker_class)
        if not 0.0 <= marker_fraction <= 1.0:
            raise ValueError(f"marker_fraction must be in [0, 1], got {marker_fraction}")
        if marker_kind not in MARKER_KINDS:
            raise ValueError(f"marker_kind must be one of {MARKER_KINDS}, got {marker_kind!r}")

    n = int(sum(counts))
    images = np.empty((n, size, size, 3), np.float32)
    masks = np.zeros((n, size, size), bool)
    marker_masks = np.zeros((n, size, size), bool)
    labels = np.repeat(np.arange(len(CLASS_NAMES)), counts).astype(np.int64)
    painter = _Painter(size)
    k = 0
    for label, count in enumerate(counts):
        for i in range(count):
            rng = np.random.default_rng([int(seed), label, i])
            # The marker has its own random stream: a marked image equals its unmarked
            # twin everywhere outside the marker.
            marker_rng = np.random.default_rng([int(seed), label, i, 1])
            marked = label == marker_label and marker_rng.random() < marker_fraction
            images[k], masks[k], marker_masks[k] = painter.draw(
                rng, label, marker_kind if marked else None, marker_rng)
            k += 1
    info = dict(seed=int(seed), size=int(size), n_per_class=list(map(int, counts)),
                marker_class=None if marker_label is None else CLASS_NAMES[marker_label],
                marker_fraction=float(marker_fraction) if marker_label is not None else 0.0,
                marker_kind=marker_kind if marker_label is not None else None)
    return Dataset(images, labels, masks, marker_masks, CLASS_NAMES, info)


def load_split(name: str, n_per_class: int | None = None, **options) -> Dataset:
    """One of the book's splits, ``"train"``, ``"val"`` or ``"test"``.

    ``n_per_class`` defaults to :data:`SPLIT_SIZES`; a smaller number gives the first
    images of the same split. Extra keyword options go to :func:`generate`.
    """
    if name not in SPLIT_SEEDS:
        raise ValueError(f"unknown split {name!r}; expected one of {sorted(SPLIT_SEEDS)}")
    n = SPLIT_SIZES[name] if n_per_class is None else n_per_class
    ds = generate(n, SPLIT_SEEDS[name], **options)
    ds.info["split"] = name
    return ds


def class_index(name_or_index: str | int) -> int:
    """The label of a class given by name (case-insensitive) or index."""
    if isinstance(name_or_index, (int, np.integer)) and not isinstance(name_or_index, bool):
        if 0 <= name_or_index < len(CLASS_NAMES):
            return int(name_or_index)
        raise ValueError(f"class index {name_or_index} out of range 0..{len(CLASS_NAMES) - 1}")
    lookup = {c.lower(): i for i, c in enumerate(CLASS_NAMES)}
    if isinstance(name_or_index, str) and name_or_index.lower() in lookup:
        return lookup[name_or_index.lower()]
    raise ValueError(f"unknown class {name_or_index!r}; expected one of {list(CLASS_NAMES)}")


def _check_counts(n_per_class) -> list[int]:
    if isinstance(n_per_class, (int, np.integer)):
        counts = [int(n_per_class)] * len(CLASS_NAMES)
    else:
        counts = [int(c) for c in n_per_class]
        if len(counts) != len(CLASS_NAMES):
            raise ValueError(f"n_per_class needs one count per class ({len(CLASS_NAMES)}), "
                             f"got {len(counts)}")
    if any(c < 0 for c in counts) or sum(counts) == 0:
        raise ValueError(f"n_per_class must be non-negative with at least one image, got {counts}")
    return counts


def _smoothstep(edge0, edge1, x):
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class _Painter:
    """Draws one image at a time; holds the size-dependent precomputations."""

    def __init__(self, size: int):
        self.size = size
        s = np.arange(size, dtype=np.float32)
        self.yy, self.xx = np.meshgrid(s, s, indexing="ij")
        self.scale = size / IMAGE_SIZE  # lesion sizes are defined at 224 px
        # Bilinear upsampling matrices for smooth random fields from coarse grids.
        self._up = {g: self._upsampler(g) for g in (4, 8, 16)}

    def _upsampler(self, g: int) -> np.ndarray:
        pos = np.linspace(0, g - 1, self.size, dtype=np.float32)
        lo = np.minimum(np.floor(pos).astype(int), g - 2)
        frac = pos - lo
        m = np.zeros((self.size, g), np.float32)
        m[np.arange(self.size), lo] = 1 - frac
        m[np.arange(self.size), lo + 1] = frac
        return m

    def smooth_field(self, rng, g: int) -> np.ndarray:
        """A smooth random field, zero mean and unit-ish amplitude."""
        u = self._up[g]
        return u @ rng.standard_normal((g, g), dtype=np.float32) @ u.T

    # ----------------------------------------------------------------------------------
    def draw(self, rng, label: int, marker: str | None = None, marker_rng=None):
        size, sc = self.size, self.scale
        # 1. Skin: tone, slow pigment variation, fine texture.
        t = rng.uniform(0, len(_SKIN_TONES) - 1)
        lo = int(min(t, len(_SKIN_TONES) - 2))
        skin = _SKIN_TONES[lo] * (lo + 1 - t) + _SKIN_TONES[lo + 1] * (t - lo)
        skin = skin * rng.uniform(0.96, 1.04, 3).astype(np.float32)
        pigment = 1 + 0.05 * self.smooth_field(rng, 8)
        img = skin[None, None, :] * pigment[..., None]
        mask = np.zeros((size, size), bool)

        # 2. Lesions, which set the class.
        ctx = dict(rng=rng, img=img, mask=mask, skin=skin, light=rng.uniform(0, 2 * np.pi))
        _CLASS_PAINTERS[label](self, ctx)

        # 3. Benign distractors, independent of the class: freckles, moles, hairs.
        for _ in range(rng.poisson(rng.choice([2, 12]))):
            self._spot(img, rng, rng.uniform(0.8, 2.0) * sc, skin * [0.72, 0.6, 0.55],
                       rng.uniform(0.25, 0.5))
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            self._spot(img, rng, rng.uniform(2.0, 4.5) * sc,
                       np.array([0.22, 0.13, 0.09]) * rng.uniform(0.6, 1.3),
                       rng.uniform(0.7, 0.95))
        for _ in range(rng.choice([0, 0, 2, 5, 10])):
            self._hair(img, rng)

        # 4. The shortcut marker (only when asked), with its own mask.
        marker_mask = np.zeros((size, size), bool)
        if marker == "ink":
            self._ink_dot(img, marker_mask, marker_rng)
        elif marker == "ruler":
            self._ruler(img, marker_mask, marker_rng)

        # 5. Lighting (direction, vignette, exposure, colour cast) and sensor noise.
        th = rng.uniform(0, 2 * np.pi)
        grad = ((self.xx - size / 2) * np.cos(th) + (self.yy - size / 2) * np.sin(th)) / size
        r2 = ((self.xx - size / 2) ** 2 + (self.yy - size / 2) ** 2) / (size / 2) ** 2
        light = (rng.uniform(0.8, 1.12) * (1 + rng.uniform(0, 0.35) * grad)
                 * (1 - rng.uniform(0, 0.18) * r2) * (1 + 0.04 * self.smooth_field(rng, 4)))
        img *= light[..., None] * rng.uniform(0.95, 1.05, 3).astype(np.float32)
        img += rng.uniform(0.008, 0.03) * rng.standard_normal((size, size, 1), np.float32)
        np.clip(img, 0.0, 1.0, out=img)
        return img, mask, marker_mask

    # ---------------------------------------------------------------- primitives
    def _patch(self, cy, cx, r):
        """Bounds of a square patch around (cy, cx) and the local grids, or None."""
        size = self.size
        y0, y1 = max(int(cy - r - 2), 0), min(int(cy + r + 3), size)
        x0, x1 = max(int(cx - r - 2), 0), min(int(cx + r + 3), size)
        if y0 >= y1 or x0 >= x1:
            return None
        return (slice(y0, y1), slice(x0, x1)), self.yy[y0:y1, x0:x1] - cy, self.xx[y0:y1, x0:x1] - cx

    @staticmethod
    def _blend(region, colour, alpha):
        region += alpha[..., None] * (np.asarray(colour, np.float32) - region)

    def _spot(self, img, rng, r, colour, strength):
        cy, cx = rng.uniform(0, self.size, 2)
        p = self._patch(cy, cx, r)
        if p is None:
            return
        sl, dy, dx = p
        a = strength * (1 - _smoothstep(0.6, 1.0, np.hypot(dy, dx) / r))
        self._blend(img[sl], colour, a)

    def _hair(self, img, rng):
        size = self.size
        p0, p1, p2 = rng.uniform(-0.2, 1.2, (3, 2)) * size
        t = np.linspace(0, 1, int(2.5 * size))[:, None]
        pts = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2
        ys, xs = np.round(pts).astype(int).T
        keep = (ys >= 0) & (ys < size) & (xs >= 0) & (xs < size)
        ys, xs = ys[keep], xs[keep]
        a = rng.uniform(0.35, 0.8)
        colour = np.array([0.12, 0.08, 0.05], np.float32) * rng.uniform(0.5, 1.5)
        img[ys, xs] += a * (colour - img[ys, xs])

    def _ink_dot(self, img, marker_mask, rng):
        r = rng.uniform(3.5, 5.5) * self.scale
        m = 0.1 * self.size
        cy, cx = rng.uniform(m, self.size - m, 2)
        sl, dy, dx = self._patch(cy, cx, r)
        a = 0.9 * (1 - _smoothstep(0.75, 1.0, np.hypot(dy, dx) / r))
        self._blend(img[sl], [0.16, 0.12, 0.45], a)
        marker_mask[sl] |= a > 0

    def _ruler(self, img, marker_mask, rng):
        size = self.size
        w = max(int(round(rng.uniform(9, 13) * self.scale)), 4)
        strip = np.zeros((size, size), np.float32)
        side = rng.integers(4)
        if side == 0:
            strip[:w] = 1
        elif side == 1:
            strip[-w:] = 1
        elif side == 2:
            strip[:, :w] = 1
        else:
            strip[:, -w:] = 1
        self._blend(img, [0.93, 0.9, 0.78], 0.95 * strip)
        along = self.xx if side < 2 else self.yy
        across = self.yy if side < 2 else self.xx
        edge = 0 if side in (0, 2) else size - 1
        tick = (np.mod(along, 6 * self.scale) < 1.2) & (np.abs(across - edge) < 0.55 * w)
        self._blend(img, [0.1, 0.1, 0.1], 0.9 * (tick & (strip > 0)))
        marker_mask |= strip > 0

    # ---------------------------------------------------------------- lesions
    def _positions(self, rng, n, min_dist, margin):
        """Up to n lesion centres with a minimum spacing (dart throwing)."""
        pts = []
        for _ in range(n * 20):
            p = rng.uniform(margin, self.size - margin, 2)
            if all((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 >= min_dist ** 2 for q in pts):
                pts.append(p)
                if len(pts) == n:
                    break
        return pts

    def _lesion(self, ctx, cy, cx, r, stage, depth=0.0, dimple=0.0):
        """Paint one round lesion of a given stage; update the mask."""
        rng, skin = ctx["rng"], ctx["skin"]
        p = self._patch(cy, cx, r)
        if p is None:
            return
        sl, dy, dx = p
        ang = np.arctan2(dy, dx)
        wobble = 1 + 0.12 * np.sin(2 * ang + rng.uniform(0, 6.3)) + 0.06 * np.sin(3 * ang + rng.uniform(0, 6.3))
        d = np.hypot(dy, dx) / (r * wobble)
        region = ctx["img"][sl]
        red = skin * np.array([1.0, 0.55, 0.55], np.float32) + np.array([0.08, 0, 0], np.float32)
        outer = 1 - _smoothstep(0.7, 1.0, d)            # compact: exactly 0 for d >= 1
        if stage == "macule":
            self._blend(region, red, rng.uniform(0.45, 0.75) * outer)
        elif stage == "crust":
            self._blend(region, red, 0.5 * outer)
            dark = skin * 0.35 + np.array([0.06, 0.03, 0.01], np.float32)
            self._blend(region, dark, 0.9 * (1 - _smoothstep(0.45, 0.8, d)))
        else:
            self._blend(region, red, 0.75 * outer)
            if stage == "vesicle":
                centre = 0.55 * skin + np.array([0.42, 0.40, 0.38], np.float32)
                self._blend(region, centre, 0.75 * (1 - _smoothstep(0.4, 0.7, d)))
            elif stage == "pustule":
                centre = 0.3 * skin + np.array([0.66, 0.60, 0.40], np.float32)
                self._blend(region, centre, 0.85 * (1 - _smoothstep(0.45, 0.72, d)))
            # papules, vesicles and pustules are raised: lit on one side, shaded on the other
            lx, ly = np.cos(ctx["light"]), np.sin(ctx["light"])
            relief = (dx * lx + dy * ly) / r
            region *= (1 + (0.18 + 0.25 * depth) * relief * outer)[..., None]
            if depth > 0:   # deep-seated: a dark firm rim
                rim = np.exp(-((d - 0.85) / 0.1) ** 2) * outer
                region *= (1 - 0.45 * depth * rim)[..., None]
            if dimple > 0:  # umbilication: a dark central dimple
                self._blend(region, skin * 0.45, dimple * (1 - _smoothstep(0.12, 0.28, d)))
        ctx["mask"][sl] |= outer > 0


def _paint_chickenpox(p: _Painter, ctx):
    rng = ctx["rng"]
    n = int(rng.integers(8, 31))
    stages = ["macule", "papule", "vesicle", "pustule", "crust"]
    # mixed stages: at least three different ones, in random proportions
    chosen = rng.choice(stages, size=int(rng.integers(3, 6)), replace=False)
    weights = rng.dirichlet(np.ones(len(chosen)))
    for cy, cx in p._positions(rng, n, 7 * p.scale, 8 * p.scale):
        r = rng.uniform(2.5, 6.0) * p.scale
        p._lesion(ctx, cy, cx, r, rng.choice(chosen, p=weights), depth=rng.uniform(0, 0.3))


def _paint_cowpox(p: _Painter, ctx):
    rng, skin = ctx["rng"], ctx["skin"]
    n = int(rng.choice([1, 1, 2, 3]))
    small = rng.random() < 0.15
    for cy, cx in p._positions(rng, n, 40 * p.scale, 26 * p.scale):
        r = (rng.uniform(7, 10) if small else rng.uniform(11, 22)) * p.scale
        patch = p._patch(cy, cx, r)
        sl, dy, dx = patch
        ang = np.arctan2(dy, dx)
        wob = 1 + 0.1 * np.sin(3 * ang + rng.uniform(0, 6.3))
        d = np.hypot(dy, dx) / (r * wob)
        region = ctx["img"][sl]
        halo = 1 - _smoothstep(0.55, 1.0, d)
        p._blend(region, skin * np.array([1.0, 0.5, 0.5], np.float32) + [0.1, 0, 0],
                 rng.uniform(0.55, 0.8) * halo)
        p._blend(region, 0.4 * skin + np.array([0.5, 0.45, 0.45], np.float32),
                 0.8 * (1 - _smoothstep(0.45, 0.62, d)))
        eschar = np.array([0.12, 0.07, 0.05], np.float32) * rng.uniform(0.7, 1.4)
        p._blend(region, eschar, 0.95 * (1 - _smoothstep(0.28, 0.42, d)))
        ctx["mask"][sl] |= halo > 0


def _paint_measles(p: _Painter, ctx):
    rng, skin = ctx["rng"], ctx["skin"]
    faint = rng.random() < 0.25
    strength = rng.uniform(0.22, 0.4) if faint else rng.uniform(0.45, 0.75)
    mottle = 0.75 + 0.25 * np.tanh(p.smooth_field(rng, 16))
    red = skin * np.array([1.0, 0.55, 0.58], np.float32) + np.array([0.07, 0, 0], np.float32)
    centre = rng.uniform(0.3, 0.7, 2) * p.size
    for _ in range(int(rng.integers(3, 9))):
        # blotches cluster around one area, so they run together
        cy, cx = centre + rng.normal(0, 0.18 * p.size, 2)
        r = rng.uniform(10, 26) * p.scale
        patch = p._patch(cy, cx, r * 1.3)
        if patch is None:
            continue
        sl, dy, dx = patch
        ang = np.arctan2(dy, dx)
        lobes = 1 + sum(rng.uniform(0, 0.22) * np.sin(k * ang + rng.uniform(0, 6.3)) for k in (2, 3, 5))
        d = np.hypot(dy, dx) / (r * lobes)
        a = strength * (1 - _smoothstep(0.6, 1.0, d)) * mottle[sl]
        p._blend(ctx["img"][sl], red, a)
        ctx["mask"][sl] |= a > 0


def _paint_monkeypox(p: _Painter, ctx):
    rng = ctx["rng"]
    n = int(rng.integers(4, 17))
    stage = rng.choice(["pustule", "pustule", "pustule", "vesicle"])
    dimpled = rng.uniform(0.5, 1.0)  # most lesions carry the dimple
    for cy, cx in p._positions(rng, n, 14 * p.scale, 10 * p.scale):
        r = rng.uniform(4.5, 8.5) * p.scale
        p._lesion(ctx, cy, cx, r, stage, depth=rng.uniform(0.1, 0.5),
                  dimple=rng.uniform(0.5, 0.8) if rng.random() < dimpled else 0.0)


def _paint_smallpox(p: _Painter, ctx):
    rng = ctx["rng"]
    n = int(rng.integers(16, 41))
    stage = rng.choice(["pustule", "pustule", "papule", "crust"])
    for cy, cx in p._positions(rng, n, 7 * p.scale, 8 * p.scale):
        r = rng.uniform(3.0, 6.5) * p.scale
        p._lesion(ctx, cy, cx, r, stage, depth=rng.uniform(0.6, 1.0),
                  dimple=rng.uniform(0.3, 0.6) if rng.random() < 0.15 else 0.0)


_CLASS_PAINTERS = {
    0: _paint_chickenpox,
    1: _paint_cowpox,
    2: lambda p, ctx: None,   # healthy skin: distractors only
    3: _paint_measles,
    4: _paint_monkeypox,
    5: _paint_smallpox,
}


# --------------------------------------------------------------------------------------
# Real images
# --------------------------------------------------------------------------------------

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
    There is no ground truth for real images: ``masks`` is ``None``.

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
    lookup = {c.lower(): i for i, c in enumerate(CLASS_NAMES)}
    files: list[tuple[Path, int]] = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir() or entry.name.lower() not in lookup:
            raise ValueError(f"unexpected {'folder' if entry.is_dir() else 'file'} "
                             f"{str(entry)!r} in {str(root)!r}: {expected}")
        for f in sorted(entry.rglob("*")):
            if f.is_file() and not f.name.startswith("."):
                files.append((f, lookup[entry.name.lower()]))
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
                   dict(source=str(root), size=size, files=[str(f) for f, _ in files]))
