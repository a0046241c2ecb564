"""One figure style for the whole book: image grids, heatmap overlays, mask outlines.

Every chapter draws its explanations with these helpers, so a heatmap means the same
thing on every page: the colormap :data:`CMAP` from low (dark) to high (bright), each map
scaled to its own maximum, overlaid on the image at :data:`ALPHA`, with the ground-truth
lesion mask outlined in :data:`MASK_COLOUR`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

CMAP = "inferno"
"""Colormap of every attribution heatmap in the book."""
DIVERGING_CMAP = "RdBu_r"
"""Colormap for signed maps (red positive, blue negative, white zero)."""
ALPHA = 0.55
"""Opacity of a heatmap over its image."""
MASK_COLOUR = "#00e5ff"
"""Outline colour of the ground-truth lesion mask."""


def _plt():
    import matplotlib.pyplot as plt
    return plt


def scale01(m: np.ndarray) -> np.ndarray:
    """Scale one map to [0, 1] (min to max); a constant map becomes all zeros."""
    m = np.asarray(m, np.float32)
    lo, hi = float(m.min()), float(m.max())
    return np.zeros_like(m) if hi - lo < 1e-12 else (m - lo) / (hi - lo)


def cap_percentile(maps: np.ndarray, q: float = 99) -> np.ndarray:
    """Cap each map (N, H, W), or one map (H, W), at the ``q``-th percentile of its
    absolute values.

    For figures only: gradient maps have a few extreme pixels that, scaled to the
    maximum, leave the rest of the map invisible. Signed maps are capped on both sides.
    """
    maps = np.asarray(maps, np.float32)
    caps = np.percentile(np.abs(maps), q, axis=(-2, -1), keepdims=True)
    return np.clip(maps, -caps, caps)


def outline(ax, mask: np.ndarray, colour: str = MASK_COLOUR, linewidth: float = 1.0) -> None:
    """Draw the outline of a boolean mask on an axis."""
    if mask is not None and mask.any():
        ax.contour(mask.astype(float), levels=[0.5], colors=[colour], linewidths=linewidth)


def overlay(ax, image: np.ndarray, heatmap: np.ndarray | None = None, mask=None,
            title: str | None = None, cmap: str = CMAP, signed: bool = False) -> None:
    """Show an image with an optional heatmap on top and an optional mask outline.

    ``signed=True`` draws a signed map with :data:`DIVERGING_CMAP`, symmetric around 0.
    """
    ax.imshow(np.clip(image, 0, 1))
    if heatmap is not None:
        h = np.asarray(heatmap, np.float32)
        if signed:
            v = float(np.abs(h).max()) or 1.0
            ax.imshow(h, cmap=DIVERGING_CMAP, vmin=-v, vmax=v, alpha=ALPHA,
                      extent=(-0.5, image.shape[1] - 0.5, image.shape[0] - 0.5, -0.5))
        else:
            ax.imshow(scale01(h), cmap=cmap, vmin=0, vmax=1, alpha=ALPHA,
                      extent=(-0.5, image.shape[1] - 0.5, image.shape[0] - 0.5, -0.5))
    outline(ax, mask)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def grid(images: np.ndarray, maps: Sequence[np.ndarray] | None = None, masks=None,
         titles: Sequence[str] | None = None, row_labels: Sequence[str] | None = None,
         signed: bool = False, size: float = 2.0, ncols: int | None = None):
    """A grid of images, optionally with one or more rows of heatmaps under them.

    Args:
        images: (N, H, W, 3) images, one per column.
        maps: ``None`` or a list of (N, H, W) arrays, one row of overlays each.
        masks: optional (N, H, W) masks outlined on every panel.
        titles: column titles; row_labels: one label per row.
        signed: draw the maps with the diverging colormap.
    Returns:
        The matplotlib figure.
    """
    plt = _plt()
    rows = [None] + list(maps or [])   # first row: the plain images
    n = len(images)
    ncols = ncols or n
    fig, axes = plt.subplots(len(rows), ncols, figsize=(size * ncols, size * len(rows)),
                             squeeze=False)
    for r, row in enumerate(rows):
        for c in range(ncols):
            ax = axes[r, c]
            if c >= n:
                ax.axis("off")
                continue
            overlay(ax, images[c], None if row is None else row[c],
                    None if masks is None else masks[c],
                    titles[c] if (titles is not None and r == 0) else None, signed=signed)
        if row_labels is not None and r < len(row_labels):
            axes[r, 0].set_ylabel(row_labels[r], fontsize=9)
    fig.tight_layout()
    return fig


def image_with_mask_grid(images, masks, titles=None, size: float = 2.0):
    """Images in the top row and their ground-truth masks (white) in the bottom row."""
    plt = _plt()
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(size * n, size * 2), squeeze=False)
    for c in range(n):
        overlay(axes[0, c], images[c], title=None if titles is None else titles[c])
        axes[1, c].imshow(masks[c], cmap="gray", vmin=0, vmax=1)
        axes[1, c].set_xticks([])
        axes[1, c].set_yticks([])
    axes[0, 0].set_ylabel("image", fontsize=9)
    axes[1, 0].set_ylabel("lesion mask", fontsize=9)
    fig.tight_layout()
    return fig


def show_source(*functions):
    """Display the source of package functions as a highlighted code block.

    Chapters call this on the functions they run, so the reader sees the code that
    produced the figure, not a copy of it.
    """
    import inspect

    from IPython.display import Markdown
    code = "\n\n".join(inspect.getsource(f).rstrip() for f in functions)
    return Markdown(f"```python\n{code}\n```")
