"""Schematic diagrams of the book's methods, one SVG per method, drawn by code.

    python -m tools.diagrams                     # every diagram
    python -m tools.diagrams gradcam lime        # some of them
    python -m tools.diagrams --out /tmp/d rise   # somewhere else

writes ``book/_static/diagrams/{name}.svg`` for each name in :data:`NAMES`; a chapter
embeds one with its :data:`ALT` text and :data:`CAPTIONS` line. Each diagram shows the
input, what is perturbed or differentiated, how the map is assembled and the output,
with the method's formula. Boxes and arrows keep one meaning everywhere: blue the
model's forward pass, vermillion (dashed arrows) gradients, orange sampling or
perturbation, purple how a map is assembled, green the output (the Okabe & Ito
colour-blind-safe palette).

The example image is the book's own synthetic data (:func:`shared.data.generate`), and
no model is ever run: every map drawn here is *schematic*, made from the image's lesion
mask (smoothed, pooled or painted onto superpixels), never an explanation of a model.

The output is byte-identical from run to run and from CPU to CPU: fixed seeds, a fixed
``svg.hashsalt``, no date, text drawn as paths (glyph outlines of the DejaVu fonts that
ship with matplotlib, so the diagrams look the same in every browser and need no font),
and images computed with element-wise arithmetic, exact sums and float64 superpixels
only (no array ``exp`` or ``sin`` and no float reductions, which numpy computes in other
orders on other CPUs). ``tests/test_diagrams.py`` checks that the committed files are
what the code draws.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "_static" / "diagrams"
"""Where :func:`main` writes the diagrams by default."""

NAMES = ("gradcam", "cam_family", "saliency", "integrated_gradients", "guided_backprop", "occlusion",
         "rise", "lime", "shap", "anchors", "activation_maximization", "deep_dream", "concepts",
         "counterfactuals")
"""Every diagram, in the book's order; each is ``book/_static/diagrams/{name}.svg``."""

ALT = {
    "gradcam": "Schematic of Grad-CAM. The input image goes through the convolutional "
               "layers to feature maps A^k and on to the class score y^c; the gradient of "
               "y^c with respect to each feature map is averaged over positions to a weight "
               "alpha_k, the weighted sum of the feature maps passes through a ReLU, and "
               "the coarse map is upsampled to the input size (the map shown is schematic).",
    "cam_family": "Schematic of the CAM family. The input goes through the convolutional "
                  "layers to feature maps A^k and on to the class score; each method then "
                  "weighs the feature maps its own way: Grad-CAM by the mean gradient, "
                  "Grad-CAM++ by a weighted sum of the positive gradients, LayerCAM by the "
                  "positive gradient at each position, and Score-CAM by the score of the "
                  "input masked with each feature map, without any gradient; the weighted "
                  "maps are summed, passed through a ReLU and upsampled (maps schematic).",
    "saliency": "Schematic of saliency and SmoothGrad. Top: the gradient of the class "
                "score with respect to the pixels, reduced to its largest absolute value "
                "over the colour channels. Bottom: the same gradient taken at n copies of "
                "the image with Gaussian noise added and averaged, which gives a less "
                "noisy map (the maps shown are schematic).",
    "integrated_gradients": "Schematic of Integrated Gradients: images on the straight "
                            "path from a black baseline to the input, the gradient of the "
                            "class score at each, their average (a Riemann sum of the path "
                            "integral) multiplied by the input minus the baseline. Below, "
                            "Expected Gradients draws the baselines from the data and one "
                            "random point on each path, and averages (maps schematic).",
    "guided_backprop": "Schematic of the backward rules at one ReLU: which incoming "
                       "gradient values pass for the plain gradient (where the forward "
                       "input was positive), the deconvnet (where the gradient is "
                       "positive) and guided backpropagation (where both are). Below, "
                       "Guided Grad-CAM multiplies the guided backpropagation map pixel by "
                       "pixel with the upsampled Grad-CAM map (maps schematic).",
    "occlusion": "Schematic of occlusion: a grey square slid over the image on a grid of "
                 "positions, each occluded copy scored by the model, the drop of the class "
                 "score recorded per position, and each pixel given the mean drop of the "
                 "squares that cover it (the map shown is schematic).",
    "rise": "Schematic of RISE: small random binary grids are upsampled and randomly "
            "shifted into smooth masks, the image is multiplied by each mask and scored, "
            "and the map is the sum of the masks weighted by their scores, divided by N "
            "times p (the map shown is schematic).",
    "lime": "Schematic of LIME: the image is cut into superpixels, random binary vectors "
            "switch superpixels on or off, the model scores each perturbed image, a linear "
            "model is fitted to the scores with each sample weighted by its proximity to "
            "the original, and its coefficients are painted onto the superpixels "
            "(the map shown is schematic).",
    "shap": "Schematic of SHAP: the image is cut into players (superpixels, or rectangles "
            "halved recursively for Partition SHAP), coalitions of players are shown and the "
            "rest hidden, the model scores each coalition, and each player's Shapley value "
            "is its marginal contribution averaged over coalitions with the Shapley "
            "weights; KernelSHAP estimates the values by a linear fit weighted by the "
            "Shapley kernel, and the values add up to the score of the full image minus "
            "that of the empty one (the map shown is schematic).",
    "anchors": "Schematic of anchors: the image is cut into superpixels, candidate sets of "
               "superpixels are grown one superpixel at a time by a beam search, each "
               "candidate's precision is estimated by sampling images that keep it and "
               "checking that the decision stays the same, and the chosen anchor is the "
               "precise candidate with the largest coverage, shown as its superpixels.",
    "activation_maximization": "Schematic of activation maximisation: parameters start "
                               "from noise, a Fourier parametrization with decorrelated "
                               "colours turns them into an image, random jitter, scaling "
                               "and rotation transform it, and gradient ascent on the "
                               "unit's activation minus a regularizer updates the "
                               "parameters (the result shown is schematic).",
    "deep_dream": "Schematic of Deep Dream: the image is shrunk to the smallest of several "
                  "scales (octaves); at each octave gradient ascent raises the mean squared "
                  "activation of a layer, then the image is upscaled to the next octave and "
                  "the detail lost by shrinking is added back (the result shown is "
                  "schematic).",
    "concepts": "Schematic of TCAV: images that show a concept and random images go "
                "through the network up to one layer; a linear classifier separates their "
                "activations, and the normal of its boundary is the concept activation "
                "vector. Images of the class go through the same layer; the gradient of "
                "the class logit with respect to the layer's activation, dotted with the "
                "vector, is the directional derivative, and the TCAV score is the share of "
                "images where it is positive, tested against vectors learnt between random "
                "sets.",
    "counterfactuals": "Schematic of counterfactuals. Top: the scene behind an image is "
                       "edited, one lesion removed or restaged at a time, then every set "
                       "of one edit, of two, and so on is rendered and classified; the "
                       "smallest sets that change the decision are the counterfactuals. "
                       "Bottom: the pixels are changed by gradient steps on the target "
                       "class's cross-entropy plus a distance to the image, until the "
                       "model predicts the target.",
}
"""One or two sentences per diagram for a screen reader (the ``alt`` of its image)."""

CAPTIONS = {
    "gradcam": "Grad-CAM: feature maps weighted by their average gradient, summed, ReLU, "
               "upsampled.",
    "cam_family": "The CAM family: one layer's feature maps, weighted by gradients (Grad-CAM, "
                  "Grad-CAM++, LayerCAM) or by masked scores (Score-CAM), summed, ReLU, "
                  "upsampled.",
    "saliency": "Saliency: the gradient of the class score with respect to the pixels; "
                "SmoothGrad averages it over noisy copies.",
    "integrated_gradients": "Integrated Gradients: gradients along a straight path from a "
                            "baseline, times the input minus the baseline.",
    "guided_backprop": "Guided backpropagation: the ReLU passes back only positive "
                       "gradients where its input was positive; Guided Grad-CAM multiplies "
                       "by Grad-CAM.",
    "occlusion": "Occlusion: slide a grey square over the image and map how much the score "
                 "drops.",
    "rise": "RISE: score the image through random smooth masks and sum the masks weighted "
            "by the scores.",
    "lime": "LIME: fit a proximity-weighted linear model to the scores of images with "
            "superpixels switched off.",
    "shap": "SHAP: each part's fair share of the score, its marginal contribution averaged "
            "over coalitions of the other parts.",
    "anchors": "Anchors: superpixels that keep the model's decision with high precision "
               "whatever the rest shows; of those, the set with the largest coverage.",
    "activation_maximization": "Activation maximisation: gradient ascent on a "
                               "parametrized, randomly transformed image from noise.",
    "deep_dream": "Deep Dream: gradient ascent on a layer's activation at several scales, "
                  "with the lost detail re-injected.",
    "concepts": "TCAV: a concept's direction in a layer, learnt from examples, and the "
                "share of a class's images whose logit rises along it.",
    "counterfactuals": "Counterfactuals: the smallest edit of the scene, or a nearby image, "
                       "that the model classifies otherwise.",
}
"""A one-line caption per diagram."""

# ---------------------------------------------------------------------------------------
# Style
# ---------------------------------------------------------------------------------------

WIDTH = 7.0
"""Width of every diagram in inches (the book's text column, :data:`shared.viz.PAGE_WIDTH`)."""

STYLE = {
    "svg.hashsalt": "interpreting-cnns-diagrams",
    "svg.fonttype": "path",
    "svg.image_inline": True,
    "font.family": "DejaVu Sans",
    "mathtext.fontset": "dejavusans",
    "font.size": 9,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "image.interpolation": "none",
}
"""Matplotlib settings of every diagram, on top of matplotlib's defaults (so a user's
matplotlibrc changes nothing)."""

INK, MUTED = "#222222", "#666666"
ROLES = {    # Okabe & Ito (2008): edge colour, and a light tint of it for the fill
    "data": ("#555555", "#f0f0f0"),
    "model": ("#0072B2", "#dbe9f5"),
    "grad": ("#D55E00", "#f9e2d2"),
    "sample": ("#E69F00", "#fcefd0"),
    "combine": ("#CC79A7", "#f6e4ee"),
    "output": ("#009E73", "#d6efe6"),
}
CMAP, DIVERGING_CMAP = "inferno", "RdBu_r"      # the book's (shared.viz)
FS, SMALL, MATH = 9, 8, 10


def _style():
    """The diagrams' rcParams as a context manager (matplotlib's defaults underneath)."""
    return mpl.rc_context(rc={**mpl.rcParamsDefault, **STYLE})


def _canvas(height: float):
    """A figure ``WIDTH`` x ``height`` inches with one invisible axis in inches."""
    fig = Figure(figsize=(WIDTH, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.set_autoscale_on(False)
    ax.axis("off")
    return fig, ax


def text(ax, x, y, s, size=FS, colour=INK, **kw):
    """Text centred at (x, y) unless ``ha``/``va`` say otherwise."""
    kw.setdefault("ha", "center")
    kw.setdefault("va", "center")
    return ax.text(x, y, s, fontsize=size, color=colour, **kw)


def box(ax, x, y, w, h, s="", role="model", size=FS, **kw):
    """A rounded box of ``role``'s colours centred at (x, y), with text ``s``."""
    edge, fill = ROLES[role]
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, linewidth=1.1,
                                boxstyle="round,pad=0,rounding_size=0.06",
                                edgecolor=edge, facecolor=fill))
    if s:
        text(ax, x, y, s, size=size, linespacing=1.25, **kw)


def arrow(ax, start, end, role="forward", label=None, rad=0.0, where=(0.0, 0.1),
          size=SMALL, **kw):
    """An arrow from ``start`` to ``end``: solid and dark for data flowing forward,
    dashed vermillion for a gradient (``role="grad"``). ``label`` is written at the
    arrow's midpoint moved by ``where`` (inches)."""
    colour = ROLES["grad"][0] if role == "grad" else INK
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10,
                                 linewidth=1.2, color=colour, shrinkA=1, shrinkB=1,
                                 linestyle=(0, (4, 2)) if role == "grad" else "-",
                                 connectionstyle=f"arc3,rad={rad}"))
    if label:
        mx, my = (start[0] + end[0]) / 2 + where[0], (start[1] + end[1]) / 2 + where[1]
        kw.setdefault("va", "bottom" if where[1] >= 0 else "top")
        text(ax, mx, my, label, size=size, colour=colour, **kw)


def thumb(ax, image, x, y, size, label=None, cmap=None, vmin=None, vmax=None,
          frame=INK, label_size=SMALL, gap=0.05):
    """An image ``size`` inches wide centred at (x, y), framed, ``label`` below it. An
    image with more than twice the pixels that the page shows (80 per inch) is shrunk."""
    image = np.asarray(image)
    while image.shape[1] % 2 == 0 and image.shape[1] / 2 >= size * 80:
        image = _shrink(image, 2)      # no more pixels than the page shows (a small SVG)
    h, w = image.shape[:2]
    half_w, half_h = size / 2, size * h / w / 2
    ax.imshow(image, extent=(x - half_w, x + half_w, y - half_h, y + half_h), cmap=cmap,
              vmin=vmin, vmax=vmax, interpolation="none", zorder=2)
    ax.add_patch(Rectangle((x - half_w, y - half_h), 2 * half_w, 2 * half_h, fill=False,
                           edgecolor=frame, linewidth=0.8, zorder=3))
    if label:
        text(ax, x, y - half_h - gap, label, size=label_size, va="top", linespacing=1.2)


def stack(ax, images, x, y, size, label=None, step=0.09, **kw):
    """A few images drawn as a pile (the first in front, centred at (x, y)): a set of
    samples, feature maps or masks."""
    n = len(images)
    for i in reversed(range(n)):
        thumb(ax, images[i], x + i * step, y + i * step, size, frame=INK, **kw)
    if label:
        text(ax, x + (n - 1) * step / 2, y - size / 2 - 0.05, label, size=SMALL, va="top",
             linespacing=1.2)


def title(ax, x, y, s, size=FS + 1):
    """A bold panel title, left-aligned at (x, y)."""
    text(ax, x, y, s, size=size, ha="left", weight="bold")


# ---------------------------------------------------------------------------------------
# The example image and the schematic maps (exact arithmetic only; see the docstring)
# ---------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _example():
    """The book's example image (a chickenpox image, 96 px) and its lesion mask."""
    from shared import data
    ds = data.generate([1, 0, 0, 0, 0, 0], seed=0, size=96)
    return ds.images[0].astype(np.float64), ds.masks[0]


@functools.lru_cache(maxsize=None)
def _others():
    """Three other images of the data (other classes): Expected Gradients' baselines."""
    from shared import data
    return data.generate([0, 1, 0, 1, 0, 1], seed=1, size=96).images.astype(np.float64)


def _smooth(a, passes: int) -> np.ndarray:
    """``a`` blurred by ``passes`` binomial [1, 2, 1] / 4 filters along each axis (a
    Gaussian of standard deviation sqrt(passes / 2) pixels), edges repeated."""
    a = np.asarray(a, np.float64)
    for _ in range(passes):
        p = np.pad(a, 1, mode="edge")
        a = (p[:-2, 1:-1] + 2 * p[1:-1, 1:-1] + p[2:, 1:-1]) / 4
        p = np.pad(a, 1, mode="edge")
        a = (p[1:-1, :-2] + 2 * p[1:-1, 1:-1] + p[1:-1, 2:]) / 4
    return a


def _unit(a) -> np.ndarray:
    """``a`` scaled to [0, 1] by its minimum and maximum."""
    a = np.asarray(a, np.float64)
    return (a - a.min()) / (a.max() - a.min())


@functools.lru_cache(maxsize=None)
def _heat() -> np.ndarray:
    """A schematic attribution map: the lesion mask blurred, in [0, 1]."""
    return _unit(_smooth(_example()[1], 12))


def _pool(a, k: int) -> np.ndarray:
    """Sum of ``a`` over k x k blocks; ``a`` must hold integers (then the sums are exact,
    in any order), as masks and :func:`_channels` do."""
    h, w = a.shape
    return np.asarray(a, np.int64).reshape(h // k, k, w // k, k).sum(axis=(1, 3)) + 0.0


@functools.lru_cache(maxsize=None)
def _channels() -> tuple:
    """Three integer-valued 'detectors' of the example image, schematic feature maps:
    its lesions, its dark pixels (hairs) and its redness."""
    image, mask = _example()
    rgb = np.round(image * 255).astype(np.int64)        # the image's own 8-bit values
    return (mask.astype(np.int64), 765 - rgb.sum(-1),
            np.maximum(2 * rgb[..., 0] - rgb[..., 1] - rgb[..., 2], 0))


def _bilinear(a, size: int) -> np.ndarray:
    """``a`` (n x n) resized to ``size`` x ``size`` by bilinear interpolation, the grid's
    cells centred as in ``skimage.transform.resize`` (edge values repeated)."""
    n = a.shape[0]
    c = np.clip((np.arange(size) + 0.5) * n / size - 0.5, 0, n - 1)
    i0 = np.minimum(c.astype(int), n - 2)
    t = c - i0
    rows = a[i0] * (1 - t)[:, None] + a[i0 + 1] * t[:, None]
    return rows[:, i0] * (1 - t)[None, :] + rows[:, i0 + 1] * t[None, :]


def _noise(shape, seed: int) -> np.ndarray:
    """Zero-mean noise of standard deviation about 1: the sum of four uniforms (exact
    arithmetic, unlike a normal generator's logarithms)."""
    u = np.random.default_rng(seed).random((4,) + tuple(shape))
    return (u[0] + u[1] + u[2] + u[3] - 2) * 1.7320508


def _grey(image) -> np.ndarray:
    """The mean of the colour channels."""
    return (image[..., 0] + image[..., 1] + image[..., 2]) / 3


@functools.lru_cache(maxsize=None)
def _superpixels() -> np.ndarray:
    """SLIC superpixels of the example image, cut in float64 (the same on every CPU,
    as :mod:`shared.methods.superpixels` does), labels 0..K-1."""
    from skimage.segmentation import slic
    return slic(_example()[0], n_segments=30, compactness=10, start_label=0)


def _outlined(image, labels, colour=(1.0, 1.0, 0.2)) -> np.ndarray:
    """``image`` with the borders between superpixels painted in ``colour``."""
    edge = np.zeros(labels.shape, bool)
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edge[:-1, :] |= labels[:-1, :] != labels[1:, :]
    out = np.array(image, np.float64)
    out[edge] = colour
    return out


def _lesion_share() -> np.ndarray:
    """For each superpixel, the share of its pixels that are lesion (exact counts)."""
    labels, mask = _superpixels(), _example()[1]
    return (np.bincount(labels.ravel(), weights=mask.ravel().astype(np.int64))
            / np.bincount(labels.ravel()))


def _hide(image, keep, fill=0.5) -> np.ndarray:
    """``image`` with the pixels where ``keep`` is False set to grey ``fill``."""
    return np.where(np.asarray(keep)[..., None], image, fill)


def _shrink(image, k: int) -> np.ndarray:
    """``image`` (H, W) or (H, W, C) shrunk by an integer factor ``k`` (the mean of k x k
    blocks, summed in a fixed order): noisy thumbnails at half size keep the SVG small."""
    h, w = image.shape[:2]
    blocks = image.reshape((h // k, k, w // k, k) + image.shape[2:])
    total = 0.0
    for i in range(k):
        for j in range(k):
            total = total + blocks[:, i, :, j]
    return total / (k * k)


def _gradient(seed: int, signal=1.0, noise=0.2) -> np.ndarray:
    """A schematic input gradient (H, W, 3): noise plus the blurred lesions."""
    g = _noise((96, 96, 3), seed) * noise
    return g + signal * _heat()[..., None] * np.array([1.0, -0.6, -0.4])


def _rgb(g) -> np.ndarray:
    """A signed (H, W, 3) array shown as an image at half size: 0 is mid-grey."""
    return _shrink(np.clip(0.5 + g / (2 * np.abs(g).max()), 0, 1), 2)


def _max_abs(g) -> np.ndarray:
    """The largest absolute value over the colour channels, scaled to [0, 1], at half
    size."""
    a = np.maximum(np.maximum(np.abs(g[..., 0]), np.abs(g[..., 1])), np.abs(g[..., 2]))
    return _shrink(_unit(a), 2)


# ---------------------------------------------------------------------------------------
# The diagrams
# ---------------------------------------------------------------------------------------

def _gradcam():
    """Grad-CAM: forward to the feature maps and the score, gradients back, weights, map."""
    fig, ax = _canvas(3.3)
    image, mask = _example()
    coarse = _unit(_smooth(_pool(mask, 16), 1))                       # 6 x 6
    fmaps = [_unit(_pool(a, 16)) for a in _channels()]
    grads = [_unit(_noise((6, 6), s) + 2 * coarse) for s in (1, 2, 3)]
    top, low = 2.45, 0.8

    title(ax, 0.1, 3.15, "Grad-CAM (Selvaraju et al. 2017)")
    thumb(ax, image, 0.55, top, 0.85, "input $x$")
    arrow(ax, (1.0, top), (1.35, top))
    box(ax, 1.85, top, 0.95, 0.55, "convolutional\nlayers")
    arrow(ax, (2.35, top), (2.7, top))
    stack(ax, fmaps, 3.0, top - 0.08, 0.55, "feature maps $A^k$\n($h{\\times}w$, $K$ of them)",
          cmap="gray")
    arrow(ax, (3.55, top), (3.95, top))
    box(ax, 4.5, top, 1.05, 0.55, "global pool\n+ dense")
    arrow(ax, (5.05, top), (5.45, top))
    box(ax, 5.95, top, 0.9, 0.55, "class score\n$y^c$ (logit)")

    arrow(ax, (5.95, top - 0.3), (5.95, low + 0.45), role="grad", label="backprop\nto $A$",
          where=(0.08, 0.0), ha="left", va="center")
    stack(ax, grads, 5.8, low, 0.55, "gradients $\\partial y^c / \\partial A^k_{ij}$",
          cmap=DIVERGING_CMAP)
    arrow(ax, (5.45, low), (5.1, low))
    box(ax, 4.3, low, 1.55, 0.6, "$\\alpha_k = \\mathrm{mean}_{ij}\\,"
        "\\partial y^c / \\partial A^k_{ij}$\n(one weight per map)", role="combine",
        size=SMALL)
    arrow(ax, (3.5, low), (3.35, low))
    box(ax, 2.55, low, 1.55, 0.6, "$L^c = \\mathrm{ReLU}(\\Sigma_k\\, \\alpha_k A^k)$\n"
        "(weighted sum)", role="combine", size=SMALL)
    arrow(ax, (3.05, top - 0.72), (2.75, low + 0.32), label="$A^k$", where=(-0.05, 0),
          ha="right", va="center")
    arrow(ax, (1.75, low), (1.55, low))
    thumb(ax, coarse, 1.3, low, 0.4, "$h{\\times}w$", cmap=CMAP)
    arrow(ax, (1.08, low), (0.98, low))
    thumb(ax, _bilinear(coarse, 96), 0.55, low, 0.85, "Grad-CAM map\n(schematic)", cmap=CMAP)
    text(ax, 1.3, low + 0.3, "bilinear\nupsample", size=SMALL - 1, colour=MUTED, va="bottom")
    return fig


def _cam_family():
    """The CAM family: one forward pass to A^k, four ways to weigh the maps, one sum."""
    fig, ax = _canvas(4.3)
    image, mask = _example()
    coarse = _unit(_smooth(_pool(mask, 16), 1))                       # 6 x 6
    fmaps = [_unit(_pool(a, 16)) for a in _channels()]
    grads = [_unit(_noise((6, 6), s) + 2 * coarse) for s in (1, 2, 3)]
    top, grad_y, mid, low = 3.55, 2.75, 1.6, 0.45

    title(ax, 0.1, 4.13, "The CAM family: one layer's maps $A^k$, four ways to weigh them")
    thumb(ax, image, 0.55, top, 0.75, "input $x$")
    arrow(ax, (0.95, top), (1.25, top))
    box(ax, 1.75, top, 0.9, 0.5, "convolutional\nlayers")
    arrow(ax, (2.2, top), (2.5, top))
    stack(ax, fmaps, 2.8, top - 0.06, 0.5, None, cmap="gray")
    text(ax, 3.05, top + 0.44, "feature maps $A^k$", size=SMALL, va="bottom")
    arrow(ax, (3.32, top), (3.62, top))
    box(ax, 4.1, top, 0.85, 0.5, "rest of the\nnetwork")
    arrow(ax, (4.53, top), (4.83, top))
    box(ax, 5.3, top, 0.85, 0.5, "class score\n$y^c$", size=SMALL)
    arrow(ax, (5.3, top - 0.26), (5.3, grad_y + 0.3), role="grad")
    stack(ax, grads, 5.2, grad_y - 0.02, 0.42, None, cmap=DIVERGING_CMAP)
    text(ax, 5.75, grad_y, "gradients\n$g^k_{ij} = \\partial y^c / \\partial A^k_{ij}$",
         size=SMALL, ha="left")

    # four ways to weigh the maps: Score-CAM (no gradient) on the left
    xs, w, h = (0.95, 2.65, 4.35, 6.05), 1.6, 0.95
    boxes = [("Score-CAM", "$w_k = s_c(x \\odot M_k)$\n$M_k$: $A^k$ upsampled,\n"
              "scaled to [0, 1]"),
             ("Grad-CAM", "$w_k = \\mathrm{mean}_{ij}\\, g^k_{ij}$\none weight per map"),
             ("Grad-CAM++", "$w_k = \\Sigma_{ij}\\, \\alpha^k_{ij}\\,"
              "\\mathrm{ReLU}(g^k_{ij})$\n$\\alpha$ from $g^2$ and $g^3$"),
             ("LayerCAM", "$w^k_{ij} = \\mathrm{ReLU}(g^k_{ij})$\none weight per\n"
              "position and map")]
    for x, (name, formula) in zip(xs, boxes):
        box(ax, x, mid, w, h, "", role="sample" if name == "Score-CAM" else "combine")
        text(ax, x, mid + h / 2 - 0.14, name, size=FS, weight="bold")
        text(ax, x, mid - 0.1, formula, size=SMALL, linespacing=1.3)
    for x in xs[1:]:
        arrow(ax, (5.1, grad_y - 0.28), (x + 0.2 * (5.1 - x) / 3, mid + h / 2), role="grad")
    arrow(ax, (2.6, top - 0.33), (1.2, mid + h / 2),
          label="one masked forward\npass per map, $K$ in all", where=(-0.12, 0.0),
          ha="right", va="center")

    for x in xs:
        arrow(ax, (x, mid - h / 2), (3.1 + (x - 3.5) * 0.3, low + 0.3))
    box(ax, 3.1, low, 2.9, 0.55, "$L^c = \\mathrm{ReLU}(\\Sigma_k\\, w \\odot A^k)$, "
        "upsampled bilinearly", role="combine", size=SMALL)
    arrow(ax, (4.55, low), (5.3, low))
    thumb(ax, _bilinear(coarse, 96), 5.7, low, 0.7, cmap=CMAP)
    text(ax, 6.1, low, "map\n(schematic)", size=SMALL, ha="left")
    return fig


def _gradient_row(ax, y, gx, grad_label):
    """The CNN and the score box of a gradient method, and the dashed gradient arrow
    from the score to an image centred at ``gx``."""
    arrow(ax, (0.92, y), (1.12, y))
    box(ax, 1.47, y, 0.7, 0.5, "CNN")
    arrow(ax, (1.82, y), (2.02, y))
    box(ax, 2.4, y, 0.75, 0.5, "class score\n$y_c$", size=SMALL)
    arrow(ax, (2.78, y), (gx - 0.42, y), role="grad", label=grad_label, where=(0, 0.06))


def _saliency():
    """Saliency (one gradient) above SmoothGrad (gradients of noisy copies averaged)."""
    fig, ax = _canvas(3.5)
    image = _example()[0]
    top, low = 2.5, 0.85
    title(ax, 0.1, 3.3, "Saliency (Simonyan et al. 2014)")
    thumb(ax, image, 0.5, top, 0.8, "input $x$")
    _gradient_row(ax, top, 3.75, "backprop")
    g = _gradient(10, noise=0.6)
    thumb(ax, _rgb(g), 3.75, top, 0.8, "gradient $\\partial y_c / \\partial x$\n"
          "($H{\\times}W{\\times}3$)")
    arrow(ax, (4.17, top), (4.32, top))
    box(ax, 5.1, top, 1.52, 0.6, "$M_{ij} = \\mathrm{max}_{ch}\\,|\\partial y_c / "
        "\\partial x_{ij,ch}|$\n(largest over colours)", role="combine", size=SMALL)
    arrow(ax, (5.88, top), (6.06, top))
    thumb(ax, _max_abs(g), 6.45, top, 0.8, "saliency map\n(schematic)", cmap=CMAP)

    title(ax, 0.1, 1.65, "SmoothGrad (Smilkov et al. 2017)")
    noisy = [np.clip(image + 0.15 * _noise(image.shape, s), 0, 1) for s in (1, 2, 3)]
    stack(ax, [_shrink(a, 2) for a in noisy], 0.42, low, 0.7,
          "$n$ copies $x + \\epsilon_s$\n$\\epsilon_s \\sim \\mathcal{N}(0, \\sigma^2)$",
          step=0.08)
    _gradient_row(ax, low, 3.75, "backprop")
    grads = [_gradient(20 + s, noise=0.6) for s in range(12)]
    stack(ax, [_rgb(a) for a in grads[:3]], 3.67, low, 0.7, "$n$ gradients", step=0.08)
    arrow(ax, (4.17, low), (4.32, low))
    box(ax, 5.1, low, 1.52, 0.6, "$\\frac{1}{n}\\Sigma_s\\,\\partial y_c / \\partial x\\,"
        "(x + \\epsilon_s)$\n(average), then $\\mathrm{max}_{ch}|\\cdot|$", role="combine",
        size=SMALL)
    arrow(ax, (5.88, low), (6.06, low))
    mean = sum(grads[1:], grads[0]) / len(grads)
    thumb(ax, _max_abs(mean), 6.45, low, 0.8, "SmoothGrad map\n(schematic)", cmap=CMAP)
    return fig


def _integrated_gradients():
    """Integrated Gradients along the path from a black baseline; Expected Gradients."""
    fig, ax = _canvas(4.4)
    image, others = _example()[0], _others()
    title(ax, 0.1, 4.2, "Integrated Gradients (Sundararajan et al. 2017)")
    xs = [0.5 + 0.78 * k for k in range(5)]
    top, mid = 3.35, 2.3
    for k, x in enumerate(xs):
        a = k / 4
        name = "baseline $x'$" if a == 0 else ("input $x$" if a == 1 else f"$\\alpha={a}$")
        thumb(ax, a * image, x, top, 0.6, name)
        arrow(ax, (x, top - 0.47), (x, mid + 0.31), role="grad")
        thumb(ax, _rgb(_gradient(30 + k, signal=0.3 + a, noise=0.3)), x, mid, 0.55)
    arrow(ax, (xs[0] + 0.32, top + 0.38), (xs[-1] - 0.32, top + 0.38),
          label="straight path $x' + \\alpha\\,(x - x')$, $\\alpha$ from 0 to 1",
          where=(0, 0.02))
    text(ax, xs[2], mid - 0.38, "gradients $\\nabla y_c$ at $m$ points of the path "
         "(backprop through the CNN)", size=SMALL, colour=ROLES["grad"][0])
    arrow(ax, (xs[-1] + 0.32, mid), (4.15, mid))
    box(ax, 4.63, mid, 0.95, 0.55, "average:\n$\\frac{1}{m}\\Sigma_{k=1}^{m}$",
        role="combine", size=SMALL)
    arrow(ax, (5.11, mid), (5.77, mid), label="$\\odot\\,(x - x')$", where=(0, 0.05))
    ig = _gradient(40, signal=1.2, noise=0.3) * image
    thumb(ax, _max_abs(ig), 6.2, mid, 0.8, "IG map\n(schematic)", cmap=CMAP)
    text(ax, 3.5, 1.45, "$IG_i = (x_i - x'_i)\\int_0^1 \\partial_i\\, y_c(x' + \\alpha(x - x'))"
         "\\,d\\alpha \\;\\approx\\; (x_i - x'_i)\\,\\frac{1}{m}\\,\\Sigma_{k=1}^{m}\\,"
         "\\partial_i\\, y_c(x' + \\frac{k}{m}(x - x'))$", size=MATH)
    text(ax, 3.5, 1.1, "completeness: $\\Sigma_i\\, IG_i = y_c(x) - y_c(x')$", size=SMALL,
         colour=MUTED)

    title(ax, 0.1, 0.8, "Expected Gradients (Erion et al. 2021)")
    stack(ax, list(others), 0.45, 0.3, 0.42, step=0.07)
    text(ax, 0.95, 0.48, "baselines $x' \\sim D$ drawn from the data, one random point "
         "$\\alpha \\sim U(0,1)$ on each path, averaged:", size=SMALL, ha="left")
    text(ax, 0.95, 0.17, "$EG = \\mathbb{E}_{x' \\sim D,\\ \\alpha \\sim U(0,1)}\\,"
         "[(x - x') \\odot \\nabla y_c(x' + \\alpha(x - x'))]$", size=MATH, ha="left")
    return fig


def _relu_grid(ax, x, y, values, caption, blocked=None, cell=0.2, role="data"):
    """A 3 x 3 grid of numbers centred at (x, y), the cells in ``blocked`` greyed out
    (and shown as 0), ``caption`` below."""
    edge, fill = ROLES[role]
    for (i, j), v in np.ndenumerate(values):
        off = blocked is not None and blocked[i, j]
        cx, cy = x + (j - 1) * cell, y - (i - 1) * cell
        ax.add_patch(Rectangle((cx - cell / 2, cy - cell / 2), cell, cell, linewidth=0.8,
                               edgecolor=edge, facecolor="#bbbbbb" if off else fill))
        text(ax, cx, cy, "0" if off else f"{v:d}", size=SMALL, colour=MUTED if off else INK)
    text(ax, x, y - 1.5 * cell - 0.06, caption, size=SMALL, va="top", linespacing=1.2)


def _guided_backprop():
    """The three backward rules at one ReLU; Guided Grad-CAM as a product of maps."""
    fig, ax = _canvas(4.1)
    image = _example()[0]
    f = np.array([[2, -1, 4], [-3, 1, -2], [5, -4, 3]])
    g = np.array([[-1, 3, 2], [4, -2, 1], [-3, 2, -1]])
    top = 2.95
    title(ax, 0.1, 3.9, "One ReLU, forward and backward (Springenberg et al. 2015)")
    _relu_grid(ax, 0.5, top, f, "input $f$")
    arrow(ax, (0.85, top), (1.25, top), label="ReLU", where=(0, 0.05))
    _relu_grid(ax, 1.6, top, np.maximum(f, 0), "$\\mathrm{max}(f, 0)$", blocked=f <= 0)
    ax.plot([2.15, 2.15], [2.3, 3.6], color="#cccccc", linewidth=1)
    _relu_grid(ax, 2.65, top, g, "gradient in,\n$g = \\partial y_c / \\partial\\, "
               "\\mathrm{out}$", role="grad")
    rules = (("plain gradient\n$g\\cdot[f > 0]$", f <= 0),
             ("deconvnet\n$g\\cdot[g > 0]$", g <= 0),
             ("guided backprop\n$g\\cdot[f > 0]\\cdot[g > 0]$", (f <= 0) | (g <= 0)))
    xs = [3.95 + 1.12 * k for k in range(3)]
    bus = top + 0.5
    edge = ROLES["grad"][0]
    ax.plot([2.65, 2.65, xs[-1]], [top + 0.32, bus, bus], color=edge, linewidth=1.2,
            linestyle=(0, (4, 2)))
    for x, (name, blocked) in zip(xs, rules):
        arrow(ax, (x, bus), (x, top + 0.32), role="grad")
        _relu_grid(ax, x, top, g, name, blocked=blocked, role="grad")
    text(ax, 4.45, 3.6, "sent back to $f$ by each rule (grey: blocked, 0)", size=SMALL,
         colour=edge, va="bottom")

    title(ax, 0.1, 1.95, "Guided Grad-CAM (Selvaraju et al. 2017)")
    low = 1.0
    thumb(ax, image, 0.5, low, 0.8, "input $x$")
    arrow(ax, (0.92, low), (1.75, low), role="grad", label="guided rule\nat every ReLU",
          where=(0, 0.06))
    grey = _grey(image)
    edges = np.abs(np.diff(grey, axis=0, append=0)) + np.abs(np.diff(grey, axis=1, append=0))
    gb = _unit(np.minimum(edges, 0.15) * (0.4 + _heat()))
    thumb(ax, gb, 2.2, low, 0.8, "guided backprop\n(fine, edge-like)", cmap=CMAP)
    text(ax, 2.9, low, "$\\odot$", size=14)
    cam = _unit(_bilinear(_unit(_smooth(_pool(_example()[1], 16), 1)), 96))
    thumb(ax, cam, 3.6, low, 0.8, "Grad-CAM,\nupsampled", cmap=CMAP)
    text(ax, 4.3, low, "=", size=14)
    product = gb * cam
    thumb(ax, _unit(np.minimum(product, 0.4 * product.max())), 5.0, low, 0.8,
          "Guided Grad-CAM\n(schematic)", cmap=CMAP)
    text(ax, 5.55, low, "fine detail\n(guided backprop),\nclass-specific\n(Grad-CAM)",
         size=SMALL, ha="left", colour=MUTED)
    return fig


def _occlusion():
    """Occlusion: squares on a grid of positions, score drops, the mean drop per pixel."""
    fig, ax = _canvas(3.4)
    image, mask = _example()
    patch, stride, n = 24, 12, 7                   # 7 x 7 positions on 96 px
    covered = np.zeros((n, n, 96, 96), bool)
    for i in range(n):
        for j in range(n):
            covered[i, j, i * stride:i * stride + patch, j * stride:j * stride + patch] = True
    # schematic drop of the score: the number of lesion pixels the square hides (exact)
    drops = (covered & mask).sum(axis=(2, 3))
    votes = (covered * drops[:, :, None, None]).sum(axis=(0, 1))
    heat = _unit(votes / covered.sum(axis=(0, 1)))
    title(ax, 0.1, 3.2, "Occlusion (Zeiler & Fergus 2014)")
    grid = image.copy()
    for k in range(0, 96, stride):
        grid[k, :] = grid[:, k] = (1.0, 1.0, 1.0)
    thumb(ax, grid, 0.6, 1.75, 0.95, "input $x$, positions\n$p$ (stride 12) of a\n"
          "$24{\\times}24$ square")
    shown = ((0, 3), (5, 6), (3, 4))
    ys = (2.6, 1.7, 0.8)
    for (i, j), y in zip(shown, ys):
        arrow(ax, (1.1, 1.75), (1.6, y))
        thumb(ax, _hide(image, ~covered[i, j]), 1.95, y, 0.62)
        arrow(ax, (2.3, y), (2.7, y))
        box(ax, 3.1, y, 0.75, 0.42, "CNN")
        arrow(ax, (3.48, y), (3.78, y))
        bar = 0.03 + 0.55 * drops[i, j] / drops.max()
        ax.add_patch(Rectangle((3.82, y - 0.09), bar, 0.18, facecolor=ROLES["sample"][0],
                               edgecolor="none"))
        text(ax, 3.82, y + 0.12, f"drop $d_p$, $p = ({i}, {j})$", size=SMALL - 1, ha="left",
             va="bottom", colour=MUTED)
    text(ax, 3.1, 0.22, "$d_p = s_c(x) - s_c(x \\mathrm{\\ with\\ square\\ } p "
         "\\mathrm{\\ grey})$,  $s_c$: the class's probability", size=MATH)
    arrow(ax, (4.5, 1.7), (4.75, 1.7))
    box(ax, 5.25, 1.7, 0.95, 1.0, "each pixel:\nmean $d_p$\nover the\nsquares\ncovering it",
        role="combine", size=SMALL)
    arrow(ax, (5.75, 1.7), (5.98, 1.7))
    thumb(ax, heat, 6.45, 1.7, 0.85, "occlusion map\n(schematic)", cmap=CMAP)
    return fig


def _rise():
    """RISE: random grids to smooth masks, masked images scored, the weighted sum of masks."""
    fig, ax = _canvas(3.5)
    image = _example()[0]
    s, p, cell = 6, 0.5, 16                             # 6 x 6 grid, 16-px cells on 96 px
    grids, masks = [], []
    for i in range(3):
        rng = np.random.default_rng([7, i])
        grid = (rng.random((s, s)) < p).astype(np.float64)
        dy, dx = rng.integers(0, cell, 2)
        grids.append(grid)
        masks.append(_bilinear(grid, (s + 1) * cell)[dy:dy + 96, dx:dx + 96])
    top, low = 2.45, 0.75
    title(ax, 0.1, 3.3, "RISE (Petsiuk et al. 2018)")
    stack(ax, grids, 0.45, top, 0.55, "$N$ random binary\n$s{\\times}s$ grids, $P(1) = p$",
          cmap="gray", vmin=-0.2, vmax=1)
    arrow(ax, (0.95, top), (1.55, top), label="upsample\n+ random\nshift", where=(0, 0.1))
    stack(ax, masks, 1.85, top, 0.55, "smooth masks $M_i$", cmap="gray", vmin=0, vmax=1)
    arrow(ax, (2.3, top), (3.1, top), label="$x \\odot M_i$", where=(0, -0.06))
    thumb(ax, image, 2.7, top + 0.62, 0.4)
    arrow(ax, (2.7, top + 0.4), (2.7, top + 0.12))
    stack(ax, [image * m[..., None] for m in masks], 3.4, top, 0.55, "masked images")
    arrow(ax, (3.85, top), (4.4, top))
    box(ax, 4.8, top, 0.7, 0.5, "CNN")
    arrow(ax, (5.15, top), (5.5, top))
    box(ax, 6.15, top, 1.2, 0.5, "scores\n$f(x \\odot M_i)$", role="sample", size=SMALL)

    arrow(ax, (6.15, top - 0.27), (5.5, low + 0.33))
    arrow(ax, (1.95, top - 0.6), (3.3, low + 0.33))
    box(ax, 4.45, low, 2.3, 0.62, "$S = \\frac{1}{N\\,p}\\,\\Sigma_{i=1}^{N}\\, f(x \\odot M_i)"
        "\\,M_i$\n(the masks weighted by their scores)", role="combine", size=SMALL)
    text(ax, 4.45, low - 0.45, "$E[M_i] = p$: each pixel is kept with probability $p$",
         size=SMALL, colour=MUTED)
    arrow(ax, (3.3, low), (1.0, low))
    thumb(ax, _unit(_smooth(_example()[1], 40)), 0.55, low, 0.8, "RISE map\n(schematic)",
          cmap=CMAP)
    return fig


def _samples(n: int, keep_share=0.5, always=()):
    """Random on/off vectors over the superpixels, and the images they give (hidden
    superpixels grey); superpixels in ``always`` are kept."""
    labels = _superpixels()
    image = _example()[0]
    out = []
    for i in range(n):
        z = np.random.default_rng([11, i]).random(labels.max() + 1) < keep_share
        z[list(always)] = True
        out.append((z, _hide(image, z[labels])))
    return out


def _perturbation_row(ax, top, players, samples_label, score_box):
    """The top row of LIME's and SHAP's diagrams: the input, its superpixels, images with
    some superpixels hidden, the CNN and the scores. Returns the samples drawn."""
    image = _example()[0]
    thumb(ax, image, 0.5, top, 0.75, "input $x$")
    arrow(ax, (0.9, top), (1.15, top))
    thumb(ax, _outlined(image, _superpixels()), 1.55, top, 0.75, players)
    arrow(ax, (1.95, top), (2.3, top))
    samples = _samples(3)
    stack(ax, [im for _, im in samples], 2.65, top - 0.05, 0.65, samples_label, step=0.08)
    arrow(ax, (3.15, top), (3.6, top))
    box(ax, 4.0, top, 0.75, 0.5, "CNN")
    arrow(ax, (4.38, top), (4.7, top))
    box(ax, *score_box, role="sample", size=SMALL)
    return samples


def _painted(ax, x, y, seed, label):
    """Schematic superpixel weights (larger on the lesion, plus noise), painted in the
    diverging colours."""
    labels = _superpixels()
    w = np.sqrt(_lesion_share() / _lesion_share().max()) + 0.15 * _noise((labels.max() + 1,),
                                                                       seed)
    lim = np.abs(w).max()
    painted = mpl.colormaps[DIVERGING_CMAP]((w[labels] / lim + 1) / 2)[..., :3]
    thumb(ax, _outlined(painted, labels, (0.6, 0.6, 0.6)), x, y, 0.8, label)


def _lime():
    """LIME: superpixels, random on/off samples, scores, a weighted linear fit, its weights."""
    fig, ax = _canvas(3.6)
    top, low = 2.55, 0.85
    title(ax, 0.1, 3.4, "LIME (Ribeiro et al. 2016)")
    samples = _perturbation_row(ax, top, "$d$ superpixels\n(quickshift)",
                                "random on/off $z' \\in \\{0,1\\}^d$\n(off: filled)",
                                (5.2, top, 0.9, 0.5, "scores\n$f(z)$"))
    text(ax, 2.73, top + 0.5, "$z' =$ " + "".join("1" if v else "0" for v in samples[0][0][:10])
         + "...", size=SMALL - 1, colour=MUTED)

    box(ax, 1.35, low, 1.55, 0.7, "proximity weight\n$\\pi_x(z) = e^{-D(x, z)^2 / "
        "\\sigma^2}$", role="sample", size=SMALL)
    arrow(ax, (2.5, top - 0.78), (1.6, low + 0.37))
    arrow(ax, (2.14, low), (2.36, low))
    box(ax, 3.85, low, 2.95, 0.9, "weighted linear fit $g(z') = w_0 + \\Sigma_j\\, w_j z'_j$:\n"
        "$\\xi(x) = \\mathrm{argmin}_{g}\\ \\mathcal{L}(f, g, \\pi_x) + \\Omega(g)$,\n"
        "$\\mathcal{L} = \\Sigma_z\\, \\pi_x(z)\\,(f(z) - g(z'))^2$,\n"
        "$\\Omega(g)$: few superpixels", role="combine", size=SMALL)
    arrow(ax, (5.2, top - 0.27), (4.9, low + 0.47))
    arrow(ax, (5.34, low), (5.92, low), label="$w_j$", where=(0, 0.05))
    _painted(ax, 6.4, low, 5, "$w_j$ on superpixel $j$\n(schematic;\nred +, blue $-$)")
    return fig


def _shap():
    """SHAP: players, coalitions, their values, the Shapley average and its estimators."""
    fig, ax = _canvas(3.9)
    top, low = 2.8, 0.8
    title(ax, 0.1, 3.7, "SHAP (Lundberg & Lee 2017): Shapley values of a game")
    _perturbation_row(ax, top, "$M$ players\n(superpixels)",
                      "coalitions $S$ shown,\nthe rest hidden",
                      (5.35, top, 1.2, 0.5, "value $v(S)$:\nscore of $x_S$"))

    box(ax, 2.05, low, 3.9, 1.3, role="combine")
    lines = [
        (low + 0.47, "Shapley value of player $j$ (exact: all $2^M$ coalitions):"),
        (low + 0.17, "$\\phi_j = \\Sigma_{S \\subseteq N \\setminus \\{j\\}}\\, "
                     "\\frac{|S|!\\,(M - |S| - 1)!}{M!}\\,(v(S \\cup \\{j\\}) - v(S))$"),
        (low - 0.17, "KernelSHAP: a linear fit weighted by $\\pi(z) = "
                     "\\frac{M - 1}{\\binom{M}{|z|}\\,|z|\\,(M - |z|)}$"),
        (low - 0.47, "Partition SHAP: rectangles halved recursively (Owen values)"),
    ]
    for y, line in lines:
        text(ax, 2.05, y, line, size=SMALL)
    arrow(ax, (5.35, top - 0.27), (4.05, low + 0.67))
    arrow(ax, (4.02, low + 0.2), (5.85, low + 0.2),
          label="$\\Sigma_j \\phi_j = v(N) - v(\\emptyset)$",
          where=(0, 0.06), size=SMALL - 1)
    _painted(ax, 6.35, low + 0.2, 7, "$\\phi_j$ on player $j$\n(schematic;\nred +, blue $-$)")
    return fig


def _anchors():
    """Anchors: superpixels, beam search over candidate sets, precision by sampling."""
    fig, ax = _canvas(4.1)
    image = _example()[0]
    labels = _superpixels()
    # the superpixels with the most lesion pixels, those inside the image first (whole)
    counts = np.bincount(labels.ravel(), weights=_example()[1].ravel().astype(np.int64))
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    counts[edge] -= labels.size
    order = np.argsort(-counts, kind="stable")
    names = dict(zip("abcd", order[:4]))
    anchor = (names["a"], names["b"])
    top = 2.75
    title(ax, 0.1, 3.9, "Anchors (Ribeiro et al. 2018)")
    thumb(ax, image, 0.5, top, 0.75, "input $x$,\ndecision $f(x)$")
    arrow(ax, (0.9, top), (1.15, top))
    thumb(ax, _outlined(image, labels), 1.65, top, 0.95, "superpixels")
    for letter, k in names.items():
        cy, cx = np.argwhere(labels == k).mean(axis=0)
        text(ax, 1.65 - 0.475 + (cx + 0.5) / 96 * 0.95, top + 0.475 - (cy + 0.5) / 96 * 0.95,
             letter, size=SMALL, weight="bold", colour="white", zorder=4,
             bbox=dict(boxstyle="circle,pad=0.1", facecolor=INK, edgecolor="none"))

    # beam search: each kept candidate grows by one superpixel, the best B (= 2) are kept
    text(ax, 3.4, 3.6, "beam search, best $B = 2$ kept", size=SMALL, colour=MUTED)
    levels = ((("{ }", True),), (("{a}", True), ("{b}", True), ("{c}", False)),
              (("{a, b}", True), ("{a, c}", False), ("{b, c}", True), ("{b, d}", False)))
    edges = (("{ }", "{a}"), ("{ }", "{b}"), ("{ }", "{c}"), ("{a}", "{a, b}"),
             ("{a}", "{a, c}"), ("{b}", "{b, c}"), ("{b}", "{b, d}"))
    pos = {}
    for lx, level in zip((2.62, 3.3, 4.02), levels):
        for k, (name, kept) in enumerate(level):
            y = top + 0.38 * (len(level) - 1) / 2 - 0.38 * k
            pos[name] = (lx, y)
            box(ax, lx, y, 0.5, 0.28, name, role="sample" if kept else "data", size=SMALL,
                colour=INK if kept else MUTED)
    for a, b in edges:
        arrow(ax, (pos[a][0] + 0.26, pos[a][1]), (pos[b][0] - 0.26, pos[b][1]))
    arrow(ax, (2.14, top), (2.36, top))

    samples = _samples(3, always=anchor)
    arrow(ax, (4.29, pos["{a, b}"][1]), (4.68, top + 0.1))
    stack(ax, [im for _, im in samples], 5.0, top - 0.05, 0.6,
          "samples $z$ that keep $A$,\nany other superpixel\nkept with prob. 1/2", step=0.08)
    arrow(ax, (5.45, top), (5.72, top))
    box(ax, 6.35, top, 1.1, 0.55, "CNN:\n$f(z) = f(x)$?", size=SMALL)

    low = 0.8
    arrow(ax, (6.35, top - 0.3), (6.1, low + 0.5))
    box(ax, 4.55, low, 3.7, 0.95,
        "precision $\\mathrm{prec}(A) = P(f(z) = f(x) \\mid z \\supseteq A) \\geq \\tau$,\n"
        "estimated by sampling (KL-LUCB bandit, confidence $1-\\delta$);\n"
        "coverage $\\mathrm{cov}(A) = P(z \\supseteq A)$: of the precise\n"
        "candidates, the one with the largest coverage wins", role="combine", size=SMALL)
    arrow(ax, (2.7, low), (1.35, low))
    keep = np.isin(labels, anchor)
    dimmed = np.where(keep[..., None], image, 0.35 * image + 0.55)
    thumb(ax, _outlined(dimmed, keep.astype(int), (0.0, 0.45, 0.7)), 0.75, low, 0.85,
          "anchor $A = \\{a, b\\}$: its\nsuperpixels (rest dimmed)")
    return fig


def _octave_noise(seed: int, size=96, scales=(3, 6, 12, 24)) -> np.ndarray:
    """Smooth coloured noise, strongest at low frequencies (a 1/f-like spectrum), from
    uniform noise at several resolutions upsampled and summed (exact arithmetic)."""
    rng = np.random.default_rng(seed)
    out = np.zeros((size, size, 3))
    for s in scales:
        layer = rng.random((s, s, 3)) - 0.5
        out += np.stack([_bilinear(layer[..., c], size) for c in range(3)], -1) * (6 / s)
    return np.clip(0.5 + out / (2 * np.abs(out).max()), 0, 1)


def _pattern(size=96, period=19) -> np.ndarray:
    """A schematic optimised image: lesion-like blobs (red centre, pale ring) repeated
    over a skin-toned field, slightly irregular."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.0
    yy = yy + 3 * _bilinear(np.random.default_rng(3).random((4, 4)), size)
    xx = xx + 3 * _bilinear(np.random.default_rng(4).random((4, 4)), size)
    dy = (yy % period) - period / 2
    dx = ((xx + (yy // period) * period / 2) % period) - period / 2
    r = np.sqrt(dx * dx + dy * dy) / (period / 2)
    core = np.clip(1 - r * 2.2, 0, 1)
    ring = np.clip(1 - np.abs(r - 0.6) * 6, 0, 1)
    skin = np.array([0.78, 0.55, 0.45])
    img = skin + core[..., None] * (np.array([0.7, 0.1, 0.15]) - skin)
    img = img + ring[..., None] * (np.array([0.95, 0.9, 0.75]) - img) * 0.8
    return np.clip(img + 0.15 * (_octave_noise(8) - 0.5), 0, 1)


def _activation_maximization():
    """Activation maximisation: the ascent loop on parametrized, transformed images."""
    fig, ax = _canvas(4.0)
    top, mid, low = 2.95, 1.75, 0.5
    title(ax, 0.1, 3.8, "Activation maximisation (Olah et al. 2017)")
    spectrum = np.random.default_rng(2).random((24, 24))
    thumb(ax, spectrum, 0.5, top, 0.55, cmap="gray")
    text(ax, 0.5, top + 0.32, "parameters $\\theta$\n(random)", size=SMALL, va="bottom")
    arrow(ax, (0.8, top), (1.0, top))
    box(ax, 1.6, top, 1.15, 0.75, "parametrization\n$x = P(\\theta)$: Fourier,\n"
        "$1/f$ scaled, colours\ndecorrelated", role="data", size=SMALL)
    arrow(ax, (2.19, top), (2.4, top))
    thumb(ax, _octave_noise(1), 2.75, top, 0.6, "image $x$")
    arrow(ax, (3.07, top), (3.27, top))
    box(ax, 3.82, top, 1.0, 0.75, "random\ntransform $T$:\njitter, scale,\nrotate",
        role="sample", size=SMALL)
    arrow(ax, (4.33, top), (4.53, top))
    box(ax, 4.9, top, 0.65, 0.5, "CNN")
    arrow(ax, (5.23, top), (5.5, top))
    box(ax, 6.22, top, 1.35, 0.75, "unit $h(T(x))$:\na class logit or a\nchannel's mean",
        size=SMALL)
    arrow(ax, (6.22, top - 0.39), (6.22, mid + 0.37))
    box(ax, 5.5, mid, 2.6, 0.7, "objective $h(T(P(\\theta))) - \\lambda R(P(\\theta))$\n"
        "$R$: total variation, L2, blur", role="combine", size=SMALL)
    arrow(ax, (4.18, mid), (2.7, mid), role="grad", label="$\\nabla_\\theta$ (backprop)",
          where=(0, 0.06))
    box(ax, 1.5, mid, 2.3, 0.62, "ascent step (Adam): $\\theta \\leftarrow \\theta + \\eta\\,"
        "\\nabla_\\theta$\nrepeat, a new $T$ each step", role="grad", size=SMALL)
    arrow(ax, (0.5, mid + 0.32), (0.5, top - 0.29), role="grad")
    arrow(ax, (1.5, mid - 0.32), (1.5, low + 0.38), label="after $n$ steps",
          where=(0.06, 0), ha="left", va="center")
    thumb(ax, _pattern(), 1.5, low, 0.6)
    text(ax, 1.88, low, "result $x^* = P(\\theta^*)$\n(schematic)", size=SMALL, ha="left")
    text(ax, 4.7, low, "$\\theta^* = \\mathrm{argmax}_\\theta\\ \\mathbb{E}_T\\,"
         "[h(T(P(\\theta)))] - \\lambda R(P(\\theta))$", size=MATH)
    return fig


def _dream(image, strength=1.0) -> np.ndarray:
    """A schematic dreamed image: the detail amplified and ring patterns grown around
    the lesions, more with ``strength``."""
    detail = image - np.stack([_smooth(image[..., c], 3) for c in range(3)], -1)
    rings = np.abs((_smooth(_example()[1], 12) * 400) % 2 - 1)
    return np.clip(image + strength * (2.5 * detail + 0.3 * (rings[..., None] - 0.5)
                                       * np.array([1.0, 0.2, 0.6])), 0, 1)


def _deep_dream():
    """Deep Dream: ascent at three octaves with the lost detail re-injected."""
    fig, ax = _canvas(3.6)
    image = _example()[0]
    top = 2.3
    title(ax, 0.1, 3.4, "Deep Dream (Mordvintsev et al. 2015)")
    thumb(ax, image, 0.5, top, 0.8, "input $x$")
    arrow(ax, (0.92, top), (1.3, top), label="shrink", where=(0, 0.05))
    sizes, xs = (0.46, 0.66, 0.92), (1.6, 3.0, 4.6)
    copies = (_shrink(_dream(image, 0.35), 2), _dream(image, 0.65), _dream(image))
    for k, (size, x, copy) in enumerate(zip(sizes, xs, copies)):
        thumb(ax, copy, x, top, size, f"octave {k + 1}\n({(48, 68, 96)[k]} px)")
        ax.add_patch(FancyArrowPatch((x - 0.15, top + size / 2 + 0.02),
                                     (x + 0.15, top + size / 2 + 0.02), arrowstyle="-|>",
                                     connectionstyle="arc3,rad=-1.6", mutation_scale=9,
                                     color=ROLES["grad"][0], linestyle=(0, (3, 2)),
                                     linewidth=1.1))
        text(ax, x, top + size / 2 + 0.33, "ascent", size=SMALL, colour=ROLES["grad"][0],
             va="bottom")
        if k < 2:
            arrow(ax, (x + size / 2 + 0.05, top), (xs[k + 1] - sizes[k + 1] / 2 - 0.05, top),
                  label="upscale $\\times 1.4$\n+ lost detail", where=(0, 0.06))
    arrow(ax, (5.1, top), (5.6, top))
    thumb(ax, _dream(image), 6.1, top, 0.92, "dreamed image\n(schematic)")

    low = 0.85
    text(ax, 0.1, low + 0.5, "each ascent step:", size=SMALL, ha="left",
         colour=ROLES["grad"][0])
    box(ax, 1.3, low, 1.8, 0.62, "CNN up to layer $l$:\n$h = \\mathrm{mean}\\ A_l(x)^2$",
        size=SMALL)
    arrow(ax, (2.25, low), (2.85, low), role="grad", label="$g = \\nabla_x h$",
          where=(0, 0.05))
    box(ax, 4.1, low, 2.4, 0.62, "$x \\leftarrow x + \\eta\\, g \\,/\\, \\mathrm{mean}|g|$\n"
        "($n$ steps per octave; random roll)", role="combine", size=SMALL)
    text(ax, 3.5, 0.2, "next octave: $x \\leftarrow \\mathrm{up}(x) + (x_0^{(k+1)} - "
         "\\mathrm{up}(x_0^{(k)}))$, with $x_0^{(k)}$ the input shrunk to octave $k$",
         size=SMALL)
    return fig


def _concepts():
    """TCAV: concept and random images to a linear classifier at a layer (the CAV), the
    class images' logit gradient at that layer dotted with it, the share positive."""
    fig, ax = _canvas(3.5)
    image, mask = _example()
    concept = np.where(mask[..., None], image, image[0, 0])   # the lesions on plain skin
    title(ax, 0.1, 3.3, "TCAV (Kim et al. 2018)")
    # the concept's direction
    stack(ax, [concept[::-1], concept, concept[:, ::-1]], 0.55, 2.55, 0.6,
          "concept images\n(lesions alone)")
    stack(ax, list(_others()), 0.55, 1.45, 0.6, "random images")
    for y in (2.6, 1.5):
        arrow(ax, (1.0, y), (1.45, y))
    box(ax, 2.0, 2.05, 1.0, 1.4, "CNN up to\nlayer $l$:\nactivations\n$f_l(x)$")
    arrow(ax, (2.5, 2.05), (2.9, 2.05))
    box(ax, 3.6, 2.05, 1.3, 0.8, "linear classifier,\nconcept vs random", role="combine",
        size=SMALL)
    arrow(ax, (3.6, 1.65), (3.6, 0.92), label="its unit normal:\nthe CAV $v_C^l$",
          where=(0.08, 0.0), ha="left", va="center")
    # the class images and their gradient
    thumb(ax, image, 0.55, 0.62, 0.5, "images of class $k$")
    arrow(ax, (0.85, 0.62), (1.45, 0.62))
    box(ax, 2.0, 0.62, 1.0, 0.55, "CNN to layer $l$,\nthen logit $h_k$", size=SMALL)
    arrow(ax, (2.5, 0.62), (2.95, 0.62), role="grad", label="$\\nabla_{f_l} h_k$",
          where=(0.0, 0.06))
    box(ax, 3.6, 0.62, 1.3, 0.55, "$S(x) = \\nabla_{f_l} h_k \\cdot v_C^l$",
        role="combine", size=SMALL)
    arrow(ax, (4.25, 0.62), (4.9, 0.62))
    box(ax, 5.8, 0.95, 1.7, 1.4, "TCAV score:\nshare of the images\nwith $S(x) > 0$,\n"
        "tested against CAVs\nlearnt between\nrandom sets", role="output", size=SMALL)
    return fig


def _counterfactuals():
    """Counterfactuals: edit sets of the scene by size, re-rendered and classified; and
    proximal gradient steps on the pixels toward a target class."""
    fig, ax = _canvas(3.6)
    image, mask = _example()
    skin = image[0, 0]
    title(ax, 0.1, 3.4, "Counterfactuals: scene edits (Martens & Provost 2014), "
          "pixels (Wachter et al. 2018)")
    thumb(ax, image, 0.6, 2.3, 0.8, "the scene's image,\nits lesions known")
    ys = (2.85, 2.3, 1.75)
    labels = ("remove lesion 1", "remove 1 and 2", "restage lesion 3")
    halves = (mask & (np.arange(96)[None, :] < 48), mask, mask & (np.arange(96)[:, None] < 48))
    for y, lab, hidden in zip(ys, labels, halves):
        arrow(ax, (1.05, 2.3), (1.55, y))
        thumb(ax, np.where(hidden[..., None], skin, image), 1.85, y, 0.46)
        text(ax, 2.15, y, lab, size=SMALL - 1, ha="left", colour=MUTED)
    box(ax, 3.75, 2.3, 0.95, 0.9, "render,\nCNN:\ndecision?")
    arrow(ax, (3.05, 2.3), (3.27, 2.3))
    box(ax, 5.4, 2.3, 1.9, 0.9, "the smallest edit sets\nthat change the decision\n"
        "(all sets of 1, then 2, ...)", role="output", size=SMALL)
    arrow(ax, (4.23, 2.3), (4.45, 2.3))
    # pixels
    thumb(ax, image, 0.6, 0.75, 0.8, "image $x$")
    arrow(ax, (1.05, 0.75), (1.55, 0.75))
    box(ax, 2.55, 0.75, 1.9, 0.8, "step on $\\mathrm{CE}_t(x')$,\nthen shrink $x' - x$\n"
        "(L1: soft threshold)", role="grad", size=SMALL)
    arrow(ax, (3.5, 0.75), (4.45, 0.75), label="until the CNN\npredicts $t$",
          where=(0.0, 0.08))
    arrow(ax, (2.55, 0.35), (2.55, 0.2))
    text(ax, 2.55, 0.1, "$x^* = \\arg\\min_{x'} \\mathrm{CE}_t(x') + \\lambda\\,"
         "\\|x' - x\\|_1$", size=SMALL)
    thumb(ax, image, 4.85, 0.75, 0.7)
    box(ax, 6.15, 0.75, 1.5, 0.8, "$x'$: a nearby\nimage of class $t$", role="output",
        size=SMALL)
    arrow(ax, (5.23, 0.75), (5.4, 0.75))
    return fig


DRAWERS = {"gradcam": _gradcam, "cam_family": _cam_family, "saliency": _saliency,
           "integrated_gradients": _integrated_gradients, "guided_backprop": _guided_backprop,
           "occlusion": _occlusion, "rise": _rise, "lime": _lime, "shap": _shap,
           "anchors": _anchors,
           "activation_maximization": _activation_maximization, "deep_dream": _deep_dream,
           "concepts": _concepts, "counterfactuals": _counterfactuals}


def draw(name: str) -> Figure:
    """The diagram ``name`` (one of :data:`NAMES`) as a matplotlib Figure, drawn in
    :data:`STYLE`; save it with :func:`save` for the committed bytes."""
    if name not in NAMES:
        raise ValueError(f"unknown diagram {name!r}; valid names: {', '.join(NAMES)}")
    with _style():
        return DRAWERS[name]()


def save(name: str, directory=OUT) -> Path:
    """Draw ``name`` and write ``directory/{name}.svg`` (deterministic bytes)."""
    fig = draw(name)
    path = Path(directory) / f"{name}.svg"
    path.parent.mkdir(parents=True, exist_ok=True)
    with _style():
        fig.savefig(path, format="svg", metadata={"Date": None})
    return path


def figure_directive(name: str) -> str:
    """The MyST block that embeds diagram ``name`` in its chapter (``book/chapters/
    {name}.md``), with its :data:`ALT` text and :data:`CAPTIONS` line;
    ``tests/test_diagrams.py`` checks that every chapter holds exactly this block."""
    if name not in NAMES:
        raise ValueError(f"unknown diagram {name!r}; valid names: {', '.join(NAMES)}")
    return (f"```{{figure}} ../_static/diagrams/{name}.svg\n"
            f":name: fig-{name.replace('_', '-')}-diagram\n"
            f":alt: {ALT[name]}\n"
            f":width: 100%\n\n"
            f"{CAPTIONS[name]} A schematic: the maps in it are drawn, not computed.\n"
            f"```\n")


def main(argv=None) -> int:
    """Write the diagrams named in ``argv`` (all of them when none is named)."""
    parser = argparse.ArgumentParser(prog="python -m tools.diagrams", description=__doc__
                                     .split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="name",
                        help=f"diagrams to draw (default: all): {', '.join(NAMES)}")
    parser.add_argument("--out", default=str(OUT), help="directory (default: %(default)s)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in NAMES]
    if unknown:
        parser.error(f"unknown diagram(s) {', '.join(unknown)}; valid names: "
                     f"{', '.join(NAMES)}")
    for name in args.names or NAMES:
        print(save(name, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
