"""Scenes: everything random about one image, as plain frozen dataclasses.

A :class:`Scene` holds the label, the size, the :class:`Skin`, the :class:`Lighting` and
a tuple of elements (:class:`Element` subclasses: lesions, distractors, the marker).
:mod:`.sampling` draws scenes; :mod:`.rendering` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .constants import CLASS_NAMES, ELEMENT_KINDS, _is_int

RGB = tuple[float, float, float]
Lobes = tuple[tuple[int, float, float], ...]
"""An irregular outline: harmonics ``(k, amplitude, phase)``; the radius at angle t is
``size * (1 + sum(amplitude * sin(k * t + phase)))``."""


@dataclass(frozen=True, kw_only=True)
class Element:
    """Something painted on the skin. Subclasses add what painting them needs.

    ``size`` is a radius in pixels (round elements), half the length (scratches and
    pressure marks) or the width (a ruler).
    """

    kind: str
    shape: str
    cy: float
    cx: float
    size: float


@dataclass(frozen=True, kw_only=True)
class Pock(Element):
    """A round lesion in one stage (chickenpox, monkeypox, smallpox).

    ``shape`` is the stage: ``"macule"`` (flat red spot), ``"papule"`` (raised),
    ``"vesicle"`` (clear blister), ``"pustule"`` (yellowish pus) or ``"crust"``.
    """

    kind: str = field(default="lesion", init=False)
    lobes: Lobes
    red: RGB                 # colour of the inflamed base
    red_alpha: float
    centre: RGB              # blister fluid, pus or crust colour (unused by macules, papules)
    depth: float             # 0 superficial .. 1 deep-seated: dark firm rim, more relief
    dimple: float            # strength of a dark central umbilication, 0 for none
    dimple_colour: RGB


@dataclass(frozen=True, kw_only=True)
class Eschar(Element):
    """A cowpox lesion: dark eschar, pale ring, red halo."""

    kind: str = field(default="lesion", init=False)
    shape: str = field(default="eschar", init=False)
    lobes: Lobes
    halo: RGB
    halo_alpha: float
    ring: RGB
    eschar: RGB


@dataclass(frozen=True, kw_only=True)
class Blotch(Element):
    """A flat, lobed red measles patch, mottled by a field shared by the whole rash."""

    kind: str = field(default="lesion", init=False)
    shape: str = field(default="blotch", init=False)
    lobes: Lobes
    colour: RGB
    strength: float
    mottle: tuple[float, ...] = field(repr=False)   # 16 x 16 coarse grid, row-major


@dataclass(frozen=True, kw_only=True)
class Bite(Element):
    """An insect bite: a small raised red papule in a pink wheal, maybe a dark punctum."""

    kind: str = field(default="distractor", init=False)
    shape: str = field(default="bite", init=False)
    red: RGB
    red_alpha: float
    wheal: RGB
    wheal_alpha: float
    wheal_radius: float
    punctum: float           # strength of the dark central dot, 0 for none
    punctum_colour: RGB


@dataclass(frozen=True, kw_only=True)
class Scratch(Element):
    """A thin curved red line (an arc of a circle), sometimes with a parallel twin."""

    kind: str = field(default="distractor", init=False)
    shape: str = field(default="scratch", init=False)
    angle: float             # direction of the line at its midpoint (radians)
    bend: float              # signed curvature, 1 / (radius of the arc) in 1/pixels
    width: float
    colour: RGB
    alpha: float
    twin: float              # offset of a parallel second scratch in pixels, 0 for none


@dataclass(frozen=True, kw_only=True)
class Birthmark(Element):
    """A small flat red birthmark with a sharp, irregular border."""

    kind: str = field(default="distractor", init=False)
    shape: str = field(default="birthmark", init=False)
    lobes: Lobes
    colour: RGB
    alpha: float


@dataclass(frozen=True, kw_only=True)
class PressureMark(Element):
    """Redness from a strap or pressure: a straight band with parallel soft edges."""

    kind: str = field(default="distractor", init=False)
    shape: str = field(default="pressure", init=False)
    angle: float             # direction of the band (radians)
    width: float             # half-width in pixels
    softness: float          # width of the soft edges in pixels
    colour: RGB
    alpha: float


@dataclass(frozen=True, kw_only=True)
class InkDot(Element):
    """The planted shortcut: a pen dot."""

    kind: str = field(default="marker", init=False)
    shape: str = field(default="ink", init=False)
    colour: RGB
    alpha: float


@dataclass(frozen=True, kw_only=True)
class Ruler(Element):
    """The planted shortcut: a ruler along one edge (``size`` is its width)."""

    kind: str = field(default="marker", init=False)
    shape: str = field(default="ruler", init=False)
    side: str                # "top", "bottom", "left" or "right"
    colour: RGB
    tick_colour: RGB
    tick_period: float


@dataclass(frozen=True)
class Spot:
    """A freckle or a mole (part of the skin, not an element)."""

    cy: float
    cx: float
    r: float
    colour: RGB
    strength: float


@dataclass(frozen=True)
class Hair:
    """A hair: a quadratic Bezier curve through three (y, x) points."""

    points: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
    alpha: float
    colour: RGB


@dataclass(frozen=True)
class Skin:
    """The skin and its benign, class-free details."""

    tone: RGB
    pigment: tuple[float, ...] = field(repr=False)   # 8 x 8 coarse grid, row-major
    spots: tuple[Spot, ...] = ()
    hairs: tuple[Hair, ...] = ()


@dataclass(frozen=True)
class Lighting:
    """Lighting and camera: applied to the whole image after everything is painted."""

    angle: float             # the light comes from this direction; lights raised lesions too
    gain: float              # exposure
    gradient: float          # strength of the brightness gradient along ``angle``
    vignette: float          # darkening towards the corners
    variation: tuple[float, ...] = field(repr=False)  # 4 x 4 coarse grid: slow unevenness
    cast: RGB = (1.0, 1.0, 1.0)                      # colour cast
    noise: float = 0.0       # standard deviation of the sensor noise
    noise_seed: int = 0      # seed that re-creates the sensor noise


@dataclass(frozen=True)
class Scene:
    """Everything about one image, as plain data. :func:`render` draws it.

    ``elements`` are ordered lesions, distractors, marker. ``hidden`` holds the indices
    of elements that interventions removed: they are not drawn but keep their index,
    so element ``k`` always has instance label ``k + 1``.
    """

    label: int
    size: int
    skin: Skin
    lighting: Lighting
    elements: tuple[Element, ...] = ()
    hidden: frozenset[int] = frozenset()

    @property
    def visible(self) -> tuple[int, ...]:
        """Indices of the elements that are drawn."""
        return tuple(k for k in range(len(self.elements)) if k not in self.hidden)

    def indices(self, kind: str, visible_only: bool = True) -> tuple[int, ...]:
        """Indices of the elements of one kind (``"lesion"``, ``"distractor"``, ``"marker"``)."""
        if kind not in ELEMENT_KINDS:
            raise ValueError(f"unknown element kind {kind!r}; expected one of {ELEMENT_KINDS}")
        return tuple(k for k, e in enumerate(self.elements)
                     if e.kind == kind and not (visible_only and k in self.hidden))

    def _check(self, indices) -> frozenset[int]:
        n = len(self.elements)
        valid = f"this scene has {n} elements (0..{n - 1})" if n else "this scene has no elements"
        for k in indices:
            if not _is_int(k):
                raise ValueError(f"element index must be an int, got {k!r}: {valid}")
            if not 0 <= k < n:
                raise ValueError(f"element {k} out of range: {valid}")
        return frozenset(int(k) for k in indices)

    def without(self, *indices: int) -> "Scene":
        """The same scene with these elements removed (the skin beneath shows)."""
        return replace(self, hidden=self.hidden | self._check(indices))

    def only(self, *indices: int) -> "Scene":
        """The same scene with only these elements drawn (skin, lighting unchanged)."""
        return replace(self, hidden=frozenset(range(len(self.elements))) - self._check(indices))

    def empty(self) -> "Scene":
        """The bare skin: no lesion, distractor or marker."""
        return replace(self, hidden=frozenset(range(len(self.elements))))

    def summary(self) -> str:
        """One line: the class and the visible elements, e.g. for a figure title."""
        parts = []
        for kind in ELEMENT_KINDS:
            shapes = [self.elements[k].shape for k in self.indices(kind)]
            counts = {sh: shapes.count(sh) for sh in dict.fromkeys(shapes)}
            listed = ", ".join(f"{sh} x{c}" if c > 1 else sh for sh, c in counts.items())
            parts.append(f"{len(shapes)} {kind}{'s' if len(shapes) != 1 else ''}"
                         + (f" ({listed})" if listed else ""))
        hidden = f", {len(self.hidden)} hidden" if self.hidden else ""
        return f"{CLASS_NAMES[self.label]}, {self.size} px: " + "; ".join(parts) + hidden

    def footprint(self, k: int) -> np.ndarray:
        """Bool (size, size): the pixels element ``k`` paints (whether hidden or not).

        Removing the element can change these pixels and no other.
        """
        from .rendering import _footprint      # imported here: rendering imports scenes

        (k,) = self._check([k])
        return _footprint(self, k)

    def render(self) -> "Rendering":
        """Shortcut for :func:`render`."""
        from .rendering import render

        return render(self)

