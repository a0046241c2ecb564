"""Sampling: :func:`sample_scene` draws everything random about one image into a
:class:`~shared.data.scenes.Scene` (lesions per class, red distractors, the marker)."""

from __future__ import annotations

import numpy as np

from .constants import (DISTRACTOR_SHAPES, IMAGE_SIZE, _check_marker, _check_seed_and_size,
                        _is_int, class_index)
from .scenes import (RGB, Birthmark, Bite, Blotch, Element, Eschar, Hair, InkDot, Lighting,
                     Lobes, Pock, PressureMark, Ruler, Scene, Scratch, Skin, Spot)


def sample_scene(seed: int, label: str | int, index: int, *, size: int = IMAGE_SIZE,
                 marker_kind: str | None = None, marker_fraction: float = 1.0) -> Scene:
    """Draw everything random about image ``index`` of class ``label`` in split ``seed``.

    Three independent random streams keep the parts apart:

    * ``(seed, label, index)``: skin, lesions, hairs, lighting, the noise seed;
    * ``(seed, label, index, 1)``: whether the marker is planted (first draw below
      ``marker_fraction``) and where, only when ``marker_kind`` is given;
    * ``(seed, label, index, 2)``: the red distractors (number, shapes, sizes,
      positions), drawn the same way for every class.
    """
    label = class_index(label)
    _check_seed_and_size(seed, size)
    if not _is_int(index) or index < 0:
        raise ValueError(f"index must be a non-negative int, got {index!r}")
    sc = size / IMAGE_SIZE                       # shapes are defined at 224 px
    rng = np.random.default_rng([int(seed), label, int(index)])

    # Skin tone anywhere between the reference tones, slightly tinted.
    t = rng.uniform(0, len(_SKIN_TONES) - 1)
    lo = int(min(t, len(_SKIN_TONES) - 2))
    tone = _SKIN_TONES[lo] * (lo + 1 - t) + _SKIN_TONES[lo + 1] * (t - lo)
    tone = tone * rng.uniform(0.96, 1.04, 3)
    pigment = _floats(rng.standard_normal((8, 8)))

    lesions = _LESION_SAMPLERS[label](rng, tone, size, sc)

    n = rng.poisson(rng.choice([2, 12]))                     # freckles
    freckle = _rgb(tone * [0.72, 0.6, 0.55])
    spots = [Spot(cy, cx, r * sc, freckle, a) for (cy, cx), r, a in zip(
        rng.uniform(0, size, (n, 2)).tolist(), rng.uniform(0.8, 2.0, n).tolist(),
        rng.uniform(0.25, 0.5, n).tolist())]
    n = rng.choice([0, 0, 1, 1, 2, 3])                         # moles
    spots += [Spot(cy, cx, r * sc, _rgb(np.array([0.22, 0.13, 0.09]) * dark), a)
              for (cy, cx), r, dark, a in zip(
                  rng.uniform(0, size, (n, 2)).tolist(), rng.uniform(2.0, 4.5, n).tolist(),
                  rng.uniform(0.6, 1.3, n), rng.uniform(0.7, 0.95, n).tolist())]
    n = rng.choice([0, 0, 2, 5, 10])
    hairs = [Hair(tuple(map(tuple, p)), a, _rgb(np.array([0.12, 0.08, 0.05]) * dark))
             for p, a, dark in zip((rng.uniform(-0.2, 1.2, (n, 3, 2)) * size).tolist(),
                                   rng.uniform(0.35, 0.8, n).tolist(), rng.uniform(0.5, 1.5, n))]

    lighting = Lighting(
        angle=float(rng.uniform(0, 2 * np.pi)), gain=float(rng.uniform(0.8, 1.12)),
        gradient=float(rng.uniform(0, 0.35)), vignette=float(rng.uniform(0, 0.18)),
        variation=_floats(rng.standard_normal((4, 4))), cast=_rgb(rng.uniform(0.95, 1.05, 3)),
        noise=float(rng.uniform(0.008, 0.03)), noise_seed=int(rng.integers(2 ** 63)))

    distractors = _sample_distractors(np.random.default_rng([int(seed), label, int(index), 2]),
                                      tone, size, sc)
    markers = []
    if marker_kind is not None:
        _check_marker(marker_fraction, marker_kind)
        marker_rng = np.random.default_rng([int(seed), label, int(index), 1])
        if marker_rng.random() < marker_fraction:
            markers.append(_sample_marker(marker_rng, marker_kind, size, sc))

    skin = Skin(_rgb(tone), pigment, tuple(spots), tuple(hairs))
    return Scene(label, int(size), skin, lighting, tuple(lesions + distractors + markers))


# Skin tones from light to dark (sRGB in [0, 1]); a tone is drawn anywhere between them.
_SKIN_TONES = np.array([
    [0.96, 0.82, 0.72],
    [0.92, 0.73, 0.60],
    [0.82, 0.60, 0.46],
    [0.67, 0.47, 0.34],
    [0.52, 0.35, 0.24],
    [0.37, 0.24, 0.17],
])


def _rgb(a) -> RGB:
    return tuple(float(v) for v in a)


def _floats(a) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(a, np.float32).ravel())


def _lobes(rng, amplitudes, random_amplitude: bool = False) -> Lobes:
    """Harmonics (k, amplitude) with random phases; amplitudes drawn up to the given
    ones when ``random_amplitude``."""
    return tuple((k, float(rng.uniform(0, a)) if random_amplitude else float(a),
                  float(rng.uniform(0, 2 * np.pi))) for k, a in amplitudes)


def _red(tone, deep: float = 0.45, extra: float = 0.08) -> RGB:
    """Inflamed skin: the tone with green and blue taken away and some red added."""
    return _rgb(tone * [1.0, 1.0 - deep, 1.0 - deep] + [extra, 0.0, 0.0])


def _positions(rng, n, min_dist, margin, size) -> list[tuple[float, float]]:
    """Up to n lesion centres with a minimum spacing (dart throwing)."""
    pts: list[tuple[float, float]] = []
    min_d2 = min_dist ** 2
    for y, x in rng.uniform(margin, size - margin, (n * 20, 2)).tolist():
        if all((y - py) ** 2 + (x - px) ** 2 >= min_d2 for py, px in pts):
            pts.append((y, x))
            if len(pts) == n:
                break
    return pts


def _pocks(rng, tone, pts, radii, stages, depths, dimples) -> list[Pock]:
    """Pocks at the given centres; each gets its own outline and macule strength."""
    n = len(pts)
    phases = rng.uniform(0, 2 * np.pi, (n, 2)).tolist()
    macule = rng.uniform(0.45, 0.75, n).tolist()
    red = _red(tone)
    centre = {"vesicle": _rgb(0.55 * tone + [0.42, 0.40, 0.38]),
              "pustule": _rgb(0.3 * tone + [0.66, 0.60, 0.40]),
              "crust": _rgb(0.35 * tone + [0.06, 0.03, 0.01])}
    dimple_colour = _rgb(tone * 0.45)
    alpha = {"crust": 0.5, "papule": 0.75, "vesicle": 0.75, "pustule": 0.75}
    return [Pock(shape=stage, cy=cy, cx=cx, size=r, lobes=((2, 0.12, p2), (3, 0.06, p3)),
                 red=red, red_alpha=alpha.get(stage, m), centre=centre.get(stage, red),
                 depth=depth, dimple=dimple, dimple_colour=dimple_colour)
            for (cy, cx), r, stage, depth, dimple, (p2, p3), m
            in zip(pts, radii, stages, depths, dimples, phases, macule)]


def _sample_chickenpox(rng, tone, size, sc):
    n = int(rng.integers(8, 31))
    stages = ["macule", "papule", "vesicle", "pustule", "crust"]
    # mixed stages: at least three different ones, in random proportions
    chosen = rng.choice(stages, size=int(rng.integers(3, 6)), replace=False)
    weights = rng.dirichlet(np.ones(len(chosen)))
    pts = _positions(rng, n, 7 * sc, 8 * sc, size)
    n = len(pts)
    return _pocks(rng, tone, pts, (rng.uniform(2.5, 6.0, n) * sc).tolist(),
                  rng.choice(chosen, size=n, p=weights).tolist(),
                  rng.uniform(0, 0.3, n).tolist(), [0.0] * n)


def _sample_cowpox(rng, tone, size, sc):
    n = int(rng.choice([1, 1, 2, 3]))
    small = rng.random() < 0.15
    out = []
    for cy, cx in _positions(rng, n, 40 * sc, 26 * sc, size):
        r = (rng.uniform(7, 10) if small else rng.uniform(11, 22)) * sc
        out.append(Eschar(cy=float(cy), cx=float(cx), size=float(r),
                          lobes=_lobes(rng, [(3, 0.1)]),
                          halo=_red(tone, 0.5, 0.1), halo_alpha=float(rng.uniform(0.55, 0.8)),
                          ring=_rgb(0.4 * tone + [0.5, 0.45, 0.45]),
                          eschar=_rgb(np.array([0.12, 0.07, 0.05]) * rng.uniform(0.7, 1.4))))
    return out


def _sample_measles(rng, tone, size, sc):
    faint = rng.random() < 0.25
    strength = rng.uniform(0.22, 0.4) if faint else rng.uniform(0.45, 0.75)
    mottle = _floats(rng.standard_normal((16, 16)))
    colour = _rgb(tone * [1.0, 0.55, 0.58] + [0.07, 0.0, 0.0])
    centre = rng.uniform(0.3, 0.7, 2) * size
    out = []
    for _ in range(int(rng.integers(3, 9))):
        # blotches cluster around one area, so they run together
        cy, cx = centre + rng.normal(0, 0.18 * size, 2)
        r = rng.uniform(10, 26) * sc
        lobes = _lobes(rng, [(2, 0.22), (3, 0.22), (5, 0.22)], random_amplitude=True)
        reach = r * (1 + sum(a for _, a, _ in lobes))
        if -reach < cy < size + reach and -reach < cx < size + reach:   # visible at all
            out.append(Blotch(cy=float(cy), cx=float(cx), size=float(r), lobes=lobes,
                              colour=colour, strength=float(strength), mottle=mottle))
    return out


def _sample_monkeypox(rng, tone, size, sc):
    n = int(rng.integers(4, 17))
    stage = str(rng.choice(["pustule", "pustule", "pustule", "vesicle"]))
    dimpled = rng.uniform(0.5, 1.0)  # most lesions carry the dimple
    pts = _positions(rng, n, 14 * sc, 10 * sc, size)
    n = len(pts)
    dimples = np.where(rng.random(n) < dimpled, rng.uniform(0.5, 0.8, n), 0.0)
    return _pocks(rng, tone, pts, (rng.uniform(4.5, 8.5, n) * sc).tolist(), [stage] * n,
                  rng.uniform(0.1, 0.5, n).tolist(), dimples.tolist())


def _sample_smallpox(rng, tone, size, sc):
    n = int(rng.integers(16, 41))
    stage = str(rng.choice(["pustule", "pustule", "papule", "crust"]))
    pts = _positions(rng, n, 7 * sc, 8 * sc, size)
    n = len(pts)
    dimples = np.where(rng.random(n) < 0.15, rng.uniform(0.3, 0.6, n), 0.0)
    return _pocks(rng, tone, pts, (rng.uniform(3.0, 6.5, n) * sc).tolist(), [stage] * n,
                  rng.uniform(0.6, 1.0, n).tolist(), dimples.tolist())


_LESION_SAMPLERS = {
    0: _sample_chickenpox,
    1: _sample_cowpox,
    2: lambda rng, tone, size, sc: [],   # healthy skin: no lesion
    3: _sample_measles,
    4: _sample_monkeypox,
    5: _sample_smallpox,
}

# How many red distractors an image carries (0..4) and which shapes, for every class.
_DISTRACTOR_COUNTS = (0.12, 0.30, 0.30, 0.18, 0.10)
_DISTRACTOR_SHARES = (0.40, 0.25, 0.20, 0.15)      # in DISTRACTOR_SHAPES order


def _sample_distractors(rng, tone, size, sc) -> list[Element]:
    """Benign red marks: one distribution for every class, positions uniform."""
    out = []
    for _ in range(rng.choice(len(_DISTRACTOR_COUNTS), p=_DISTRACTOR_COUNTS)):
        shape = DISTRACTOR_SHAPES[rng.choice(len(DISTRACTOR_SHAPES), p=_DISTRACTOR_SHARES)]
        cy, cx = (float(v) for v in rng.uniform(4 * sc, size - 4 * sc, 2))
        deep = rng.uniform(0.33, 0.72)                # how red (lesions use 0.45)
        if shape == "bite":
            r = rng.uniform(2.0, 4.5) * sc
            out.append(Bite(cy=cy, cx=cx, size=float(r), red=_red(tone, deep, 0.1),
                            red_alpha=float(rng.uniform(0.7, 0.95)),
                            wheal=_red(tone, 0.25, 0.05), wheal_alpha=float(rng.uniform(0.15, 0.4)),
                            wheal_radius=float(r * rng.uniform(2.0, 3.5)),
                            punctum=float(rng.uniform(0.5, 0.85)) if rng.random() < 0.4 else 0.0,
                            punctum_colour=_rgb(tone * [0.45, 0.2, 0.2])))
        elif shape == "scratch":
            out.append(Scratch(cy=cy, cx=cx, size=float(rng.uniform(7.5, 30) * sc),
                               angle=float(rng.uniform(0, np.pi)),
                               bend=float(rng.choice([-1, 1]) / (rng.uniform(35, 250) * sc)),
                               width=float(rng.uniform(1.0, 2.5) * sc),
                               colour=_red(tone, deep, 0.1),
                               alpha=float(rng.uniform(0.6, 0.95)),
                               twin=float(rng.uniform(2.5, 5) * sc)
                               if rng.random() < 0.35 else 0.0))
        elif shape == "birthmark":
            out.append(Birthmark(cy=cy, cx=cx, size=float(rng.uniform(2.5, 7) * sc),
                                 lobes=_lobes(rng, [(2, 0.2), (3, 0.15), (5, 0.1)],
                                              random_amplitude=True),
                                 colour=_red(tone, deep, 0.12), alpha=float(rng.uniform(0.6, 0.9))))
        else:
            width = rng.uniform(5, 12) * sc
            out.append(PressureMark(cy=cy, cx=cx, size=float(rng.uniform(40, 110) * sc),
                                    angle=float(rng.uniform(0, np.pi)), width=float(width),
                                    softness=float(rng.uniform(0.4, 0.8) * width),
                                    colour=_red(tone, deep, 0.06),
                                    alpha=float(rng.uniform(0.25, 0.5))))
    return out


def _sample_marker(rng, kind, size, sc) -> Element:
    if kind == "ink":
        m = 0.1 * size
        cy, cx = rng.uniform(m, size - m, 2)
        return InkDot(cy=float(cy), cx=float(cx), size=float(rng.uniform(3.5, 5.5) * sc),
                      colour=(0.16, 0.12, 0.45), alpha=0.9)
    w = max(int(round(rng.uniform(9, 13) * sc)), 4)
    side = ("top", "bottom", "left", "right")[rng.integers(4)]
    cy = {"top": w / 2, "bottom": size - w / 2}.get(side, size / 2)
    cx = {"left": w / 2, "right": size - w / 2}.get(side, size / 2)
    return Ruler(cy=float(cy), cx=float(cx), size=float(w), side=side, colour=(0.93, 0.9, 0.78),
                 tick_colour=(0.1, 0.1, 0.1), tick_period=float(6 * sc))
