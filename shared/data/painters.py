"""Painters: how each scene element, freckle and hair is drawn on a canvas.

Only exactly rounded array operations (+, -, x, /, sqrt, comparisons) are used per
pixel, so every CPU draws the same pixels. The image is drawn channel-first,
img[channel, y, x], so that per-pixel factors and opacities broadcast over the
channels cheaply. Every element painter returns ``(slices, footprint)``, the box it
painted and the bool pixels inside it, or ``None`` when the element is off the image.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .scenes import (Birthmark, Bite, Blotch, Eschar, Hair, InkDot, Lobes, Pock, PressureMark,
                     Ruler, Scratch, Spot)


class _Canvas:
    """Size-dependent precomputations shared by all renders of one size."""

    def __init__(self, size: int):
        self.size = size
        self.coord = np.arange(size, dtype=np.float32)
        centred = (self.coord - np.float32(size / 2)) / np.float32(size)
        self.centred = centred                             # (x - size/2) / size
        self.r2 = 4 * (centred[:, None] ** 2 + centred[None, :] ** 2)   # 1 at edge middles
        # Bilinear interpolation of g x g grids onto the pixel grid: pixel i lies
        # between grid nodes lo[i] and lo[i] + 1 with weights w0[i], w1[i].
        self.lerp = {}
        for g in (4, 8, 16):
            pos = np.arange(size, dtype=np.float64) * (g - 1) / (size - 1)
            lo = np.minimum(np.floor(pos).astype(np.intp), g - 2)
            w1 = (pos - lo).astype(np.float32)
            self.lerp[g] = (lo, 1 - w1, w1, np.bincount(lo, minlength=g - 1))
        # Bernstein weights of the points sampled along a hair (a quadratic Bezier curve)
        t = np.linspace(0, 1, int(2.5 * size))
        self.bezier = ((1 - t) ** 2, 2 * (1 - t) * t, t ** 2)

    def field(self, grid: tuple[float, ...], ys: slice = slice(None), xs: slice = slice(None)):
        """A smooth field: the coarse grid interpolated onto pixels ys, xs."""
        g = math.isqrt(len(grid))
        grid = np.asarray(grid, np.float32).reshape(g, g)
        lo, w0, w1, counts = self.lerp[g]
        rows = grid[lo[ys]] * w0[ys, None] + grid[lo[ys] + 1] * w1[ys, None]
        if xs == slice(None):       # whole rows: repeating columns is faster than indexing
            return (np.repeat(rows[:, :-1], counts, axis=1) * w0
                    + np.repeat(rows[:, 1:], counts, axis=1) * w1)
        return rows[:, lo[xs]] * w0[xs] + rows[:, lo[xs] + 1] * w1[xs]

    def patch(self, cy, cx, ry, rx=None):
        """A box around (cy, cx) clipped to the image: its slices and the offsets of
        its pixel rows (column vector) and columns (row vector) from the centre."""
        rx = ry if rx is None else rx
        y0, y1 = max(math.floor(cy - ry) - 1, 0), min(math.ceil(cy + ry) + 2, self.size)
        x0, x1 = max(math.floor(cx - rx) - 1, 0), min(math.ceil(cx + rx) + 2, self.size)
        if y0 >= y1 or x0 >= x1:
            return None
        dy = (self.coord[y0:y1] - np.float32(cy))[:, None]
        dx = (self.coord[x0:x1] - np.float32(cx))[None, :]
        return (slice(y0, y1), slice(x0, x1)), dy, dx


@lru_cache(maxsize=4)
def _canvas(size: int) -> _Canvas:
    return _Canvas(size)


def _smoothstep(edge0, edge1, x):
    """0 below edge0, 1 above edge1, a smooth cubic in between."""
    t = (x - np.float32(edge0)) * np.float32(1 / (edge1 - edge0))
    np.minimum(np.maximum(t, 0, out=t), 1, out=t)
    return t * t * (3 - 2 * t)


_MIN_ALPHA = 0.04
"""Painted opacities below this are dropped, so that (nearly) every pixel an element
paints changes by at least one 8-bit level: masks are what visibly changed."""


def _cut(profile, strength: float = 1.0):
    """Set ``profile`` (in place) to 0 where ``strength * profile`` < :data:`_MIN_ALPHA`."""
    profile[profile * np.float32(strength) < np.float32(_MIN_ALPHA)] = 0
    return profile


def _blend(region, colour, alpha):
    """Paint ``colour`` over ``region`` (3, h, w), in place, with opacity ``alpha`` (h, w)."""
    region += alpha * (np.asarray(colour, np.float32)[:, None, None] - region)


def _radius(dy, dx):
    return np.sqrt(dy * dy + dx * dx)


def _outline(dy, dx, r, lobes: Lobes):
    """Normalised distance: 0 at the centre, 1 on the (irregular) outline.

    sin(k t + phase) is expanded with cos t = dx / rho and sin t = dy / rho, so no
    transcendental function is evaluated per pixel.
    """
    rho = _radius(dy, dx)
    if not lobes:
        return rho * np.float32(1 / r)
    inv = 1 / np.maximum(rho, np.float32(1e-3))
    c1, s1 = dx * inv, dy * inv
    powers = {1: (c1, s1)}                             # (cos k t, sin k t)
    for k in range(2, max(k for k, _, _ in lobes) + 1):
        c, s = powers[k - 1]
        powers[k] = (c * c1 - s * s1, s * c1 + c * s1)
    wobble = None
    for k, amp, phase in lobes:
        c, s = powers[k]
        term = s * np.float32(amp * math.cos(phase)) + c * np.float32(amp * math.sin(phase))
        wobble = term if wobble is None else wobble + term
    return rho / (np.float32(r) * (1 + wobble))


def _lobed_patch(cv, e):
    """The patch of an element with an irregular outline (``e.lobes``): its slices, the
    offsets ``dy, dx`` and the normalised distance ``d`` of its pixels (1 on the
    outline); ``None`` when the element is off the image."""
    reach = e.size * (1 + sum(abs(a) for _, a, _ in e.lobes))   # farthest painted pixel
    p = cv.patch(e.cy, e.cx, reach)
    if p is None:
        return None
    sl, dy, dx = p
    return sl, dy, dx, _outline(dy, dx, e.size, e.lobes)


def _paint_pock(cv, img, e: Pock, light):
    p = _lobed_patch(cv, e)
    if p is None:
        return None
    sl, dy, dx, d = p
    region = img[:, sl[0], sl[1]]
    outer = _cut(1 - _smoothstep(0.7, 1.0, d), e.red_alpha)   # compact: 0 for d >= 1
    _blend(region, e.red, e.red_alpha * outer)
    if e.shape == "crust":
        _blend(region, e.centre, 0.9 * (1 - _smoothstep(0.45, 0.8, d)))
    elif e.shape == "vesicle":
        _blend(region, e.centre, 0.75 * (1 - _smoothstep(0.4, 0.7, d)))
    elif e.shape == "pustule":
        _blend(region, e.centre, 0.85 * (1 - _smoothstep(0.45, 0.72, d)))
    if e.shape in ("papule", "vesicle", "pustule"):
        # raised: lit on the side facing the light, shaded on the other
        k = (0.18 + 0.25 * e.depth) / e.size
        shade = 1 + (dx * np.float32(k * light[0]) + dy * np.float32(k * light[1])) * outer
        if e.depth > 0:                                # deep-seated: a dark firm rim
            rim = np.maximum(1 - ((d - np.float32(0.85)) * np.float32(1 / 0.17)) ** 2, 0)
            shade *= 1 - np.float32(0.45 * e.depth) * (rim * rim * outer)
        region *= shade
        if e.dimple > 0:                               # umbilication: a dark central dimple
            _blend(region, e.dimple_colour, e.dimple * (1 - _smoothstep(0.12, 0.28, d)))
    return sl, outer > 0


def _paint_eschar(cv, img, e: Eschar, light):
    p = _lobed_patch(cv, e)
    if p is None:
        return None
    sl, _, _, d = p
    region = img[:, sl[0], sl[1]]
    halo = _cut(1 - _smoothstep(0.55, 1.0, d), e.halo_alpha)
    _blend(region, e.halo, e.halo_alpha * halo)
    _blend(region, e.ring, 0.8 * (1 - _smoothstep(0.45, 0.62, d)))
    _blend(region, e.eschar, 0.95 * (1 - _smoothstep(0.28, 0.42, d)))
    return sl, halo > 0


def _paint_blotch(cv, img, e: Blotch, light):
    p = _lobed_patch(cv, e)
    if p is None:
        return None
    sl, _, _, d = p
    f = cv.field(e.mottle, *sl)
    mottle = 0.75 + 0.25 * f / np.sqrt(1 + f * f)       # in (0.5, 1)
    a = _cut(e.strength * (1 - _smoothstep(0.6, 1.0, d)) * mottle)
    _blend(img[:, sl[0], sl[1]], e.colour, a)
    return sl, a > 0


def _paint_bite(cv, img, e: Bite, light):
    p = cv.patch(e.cy, e.cx, e.wheal_radius)
    if p is None:
        return None
    sl, dy, dx = p
    rho = _radius(dy, dx)
    region = img[:, sl[0], sl[1]]
    wheal = _cut(1 - _smoothstep(0.3, 1.0, rho * np.float32(1 / e.wheal_radius)), e.wheal_alpha)
    _blend(region, e.wheal, e.wheal_alpha * wheal)
    d = rho * np.float32(1 / e.size)
    core = 1 - _smoothstep(0.5, 1.0, d)
    _blend(region, e.red, e.red_alpha * core)
    k = 0.2 / e.size                                   # raised: lit on one side
    region *= 1 + (dx * np.float32(k * light[0]) + dy * np.float32(k * light[1])) * core
    if e.punctum > 0:
        _blend(region, e.punctum_colour, e.punctum * (1 - _smoothstep(0.12, 0.3, d)))
    return sl, (wheal > 0) | (core > 0)


def _paint_scratch(cv, img, e: Scratch, light):
    halo_w = e.width / 2 + 2.5
    p = cv.patch(e.cy, e.cx, e.size + e.twin + halo_w + 1)
    if p is None:
        return None
    sl, dy, dx = p
    radius = 1 / abs(e.bend)
    side = math.copysign(1.0, e.bend)
    tx, ty = math.cos(e.angle), math.sin(e.angle)        # tangent at the midpoint
    nx, ny = -ty * side, tx * side                       # towards the centre of the arc
    # pixel positions relative to the arc's centre of curvature
    vx, vy = dx - np.float32(nx * radius), dy - np.float32(ny * radius)
    rho = _radius(vy, vx)
    # sine of the angle from the midpoint, along the arc; the arc ends at +-half_angle
    along = (vx * np.float32(tx) + vy * np.float32(ty)) / rho
    near = (vx * np.float32(-nx) + vy * np.float32(-ny)) > 0    # the arc's half of the circle
    half_angle = min(e.size / radius, 1.4)
    taper = (1 - _smoothstep(0.6, 1.0, np.abs(along) * np.float32(1 / math.sin(half_angle)))) * near
    dist = np.abs(rho - np.float32(radius))
    if e.twin > 0:                                       # a parallel second scratch
        dist = np.minimum(dist, np.abs(rho - np.float32(radius + e.twin)))
    w = e.width / 2
    line = e.alpha * (1 - _smoothstep(w - 0.6, w + 0.6, dist)) * taper
    halo = _cut(0.25 * e.alpha * (1 - _smoothstep(w, halo_w, dist)) * taper)
    line *= halo > 0
    region = img[:, sl[0], sl[1]]
    _blend(region, e.colour, halo)
    _blend(region, e.colour, line)
    return sl, halo > 0


def _paint_birthmark(cv, img, e: Birthmark, light):
    p = _lobed_patch(cv, e)
    if p is None:
        return None
    sl, _, _, d = p
    a = _cut(e.alpha * (1 - _smoothstep(0.85, 1.0, d)))
    _blend(img[:, sl[0], sl[1]], e.colour, a)
    return sl, a > 0


def _paint_pressure(cv, img, e: PressureMark, light):
    tx, ty = math.cos(e.angle), math.sin(e.angle)
    edge = e.width + e.softness
    p = cv.patch(e.cy, e.cx, e.size * abs(ty) + edge * abs(tx), e.size * abs(tx) + edge * abs(ty))
    if p is None:
        return None
    sl, dy, dx = p
    along = np.abs(dx * np.float32(tx) + dy * np.float32(ty))
    across = np.abs(dy * np.float32(tx) - dx * np.float32(ty))
    fade = 0.35 * e.size                              # the band fades out at its ends
    a = _cut(e.alpha * (1 - _smoothstep(e.width - e.softness, edge, across))
             * (1 - _smoothstep(e.size - fade, e.size, along)))
    _blend(img[:, sl[0], sl[1]], e.colour, a)
    return sl, a > 0


def _paint_ink(cv, img, e: InkDot, light):
    sl, dy, dx = cv.patch(e.cy, e.cx, e.size)
    a = _cut(e.alpha * (1 - _smoothstep(0.75, 1.0, _radius(dy, dx) * np.float32(1 / e.size))))
    _blend(img[:, sl[0], sl[1]], e.colour, a)
    return sl, a > 0


def _paint_ruler(cv, img, e: Ruler, light):
    w, size = int(e.size), cv.size
    sl = {"top": (slice(0, w), slice(None)), "bottom": (slice(size - w, size), slice(None)),
          "left": (slice(None), slice(0, w)), "right": (slice(None), slice(size - w, size))}[e.side]
    region = img[:, sl[0], sl[1]]
    _blend(region, e.colour, np.full(region.shape[1:], 0.95, np.float32))
    horizontal = e.side in ("top", "bottom")
    along = np.mod(cv.coord, np.float32(e.tick_period)) < 1.2
    across = np.abs(cv.coord[:w] - np.float32(0 if e.side in ("top", "left") else w - 1)) < 0.55 * w
    ticks = across[:, None] & along[None, :] if horizontal else along[:, None] & across[None, :]
    _blend(region, e.tick_colour, np.float32(0.9) * ticks)
    return sl, np.ones(region.shape[1:], bool)


_PAINTERS = {Pock: _paint_pock, Eschar: _paint_eschar, Blotch: _paint_blotch,
             Bite: _paint_bite, Scratch: _paint_scratch, Birthmark: _paint_birthmark,
             PressureMark: _paint_pressure, InkDot: _paint_ink, Ruler: _paint_ruler}


def _paint_spot(cv, img, s: Spot):
    p = cv.patch(s.cy, s.cx, s.r)
    if p is not None:
        sl, dy, dx = p
        a = s.strength * (1 - _smoothstep(0.6, 1.0, _radius(dy, dx) * np.float32(1 / s.r)))
        _blend(img[:, sl[0], sl[1]], s.colour, a)


def _paint_hair(cv, img, h: Hair):
    size = cv.size
    (y0, x0), (y1, x1), (y2, x2) = h.points
    b0, b1, b2 = cv.bezier
    ys = np.rint(b0 * y0 + b1 * y1 + b2 * y2).astype(np.intp)
    xs = np.rint(b0 * x0 + b1 * x1 + b2 * x2).astype(np.intp)
    inside = (ys >= 0) & (ys < size) & (xs >= 0) & (xs < size)
    at = ys[inside] * size + xs[inside]
    flat = img.reshape(3, -1)
    under = flat[:, at]
    flat[:, at] = under + np.float32(h.alpha) * (np.asarray(h.colour, np.float32)[:, None] - under)
