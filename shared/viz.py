"""One figure style for the whole book: image grids, heatmap overlays, mask outlines.

Every chapter draws its explanations with these helpers, so a heatmap means the same
thing on every page: a non-negative map in the colormap :data:`CMAP` from 0 (dark) to
the map's own maximum (bright), so a map that is positive everywhere does not look
focused; a signed map in :data:`DIVERGING_CMAP`, symmetric around 0 (white); overlaid
on the image at :data:`ALPHA`, with the ground-truth lesion mask outlined in
:data:`MASK_COLOUR` and the distractor mask (where evidence should not be) in
:data:`DISTRACTOR_COLOUR`. A colorbar gives the map's own units where values matter.
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
DISTRACTOR_COLOUR = "#7CFC00"
"""Outline colour of the red distractors' mask (benign marks, not lesions)."""
PAGE_WIDTH = 7.0
"""Width in inches of the book's text column at the figure resolution: figures up to
this width are shown at full size (wider ones: tag the cell ``full-width``)."""


def _plt():
    import matplotlib.pyplot as plt
    return plt


def cap_percentile(maps: np.ndarray, q: float = 99) -> np.ndarray:
    """Cap each map (N, H, W), or one map (H, W), at the ``q``-th percentile of its
    absolute values.

    For figures only: gradient maps have a few extreme pixels that, scaled to the
    maximum, leave the rest of the map invisible. Signed maps are capped on both sides.
    """
    maps = np.asarray(maps, np.float32)
    caps = np.percentile(np.abs(maps), q, axis=(-2, -1), keepdims=True)
    return np.clip(maps, -caps, caps)


def outline(ax, mask: np.ndarray, colour: str = MASK_COLOUR, linewidth: float = 0.8) -> None:
    """Draw the outline of a boolean mask on an axis (thin, so small lesions stay visible)."""
    if mask is not None and mask.any():
        ax.contour(mask.astype(float), levels=[0.5], colors=[colour], linewidths=linewidth)


def outlines(ds, i: int) -> dict:
    """The outlines of image ``i`` of the dataset ``ds`` as :func:`overlay`'s keyword
    arguments: its lesion mask (``mask``) and red marks (``distractors``), or none for
    images without masks (read from a folder: ``BOOK_MODEL``, :mod:`shared.setting`)."""
    if ds.masks is None:
        return {}
    marks = ds.distractor_masks
    return dict(mask=ds.masks[i], distractors=None if marks is None else marks[i])


def overlay(ax, image: np.ndarray, heatmap: np.ndarray | None = None, mask=None,
            title: str | None = None, cmap: str = CMAP, signed: bool = False,
            distractors=None, colorbar: bool = False):
    """Show an image with an optional heatmap on top and optional mask outlines.

    A non-negative heatmap is drawn from 0 to its maximum (negative values, if any, as 0);
    ``signed=True`` draws a signed map with :data:`DIVERGING_CMAP`, symmetric around 0.
    ``colorbar=True`` adds a colorbar in the map's own units. Returns the heatmap's image
    (or None).
    """
    ax.imshow(np.clip(image, 0, 1))
    shown = None
    if heatmap is not None:
        h = np.asarray(heatmap, np.float32)
        extent = (-0.5, image.shape[1] - 0.5, image.shape[0] - 0.5, -0.5)
        if signed:
            v = float(np.abs(h).max()) or 1.0
            shown = ax.imshow(h, cmap=DIVERGING_CMAP, vmin=-v, vmax=v, alpha=ALPHA, extent=extent)
        else:
            top = float(h.max())
            shown = ax.imshow(h, cmap=cmap, vmin=0, vmax=top if top > 0 else 1.0, alpha=ALPHA,
                              extent=extent)
        if colorbar:
            ax.figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.03)
    outline(ax, mask)
    outline(ax, distractors, DISTRACTOR_COLOUR)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return shown


def grid(images: np.ndarray, maps: Sequence[np.ndarray] | None = None, masks=None,
         titles: Sequence[str] | None = None, row_labels: Sequence[str] | None = None,
         signed: bool = False, size: float | None = None, ncols: int | None = None,
         distractors=None):
    """A grid of images, optionally with one or more rows of heatmaps under them.

    Args:
        images: (N, H, W, 3) images, one per column.
        maps: ``None`` or a list of (N, H, W) arrays, one row of overlays each.
        masks: optional (N, H, W) lesion masks outlined on every panel; ``distractors``
            likewise for the distractor masks.
        titles: column titles; row_labels: one label per row.
        signed: draw the maps with the diverging colormap.
        size: panel size in inches (default: the columns fill :data:`PAGE_WIDTH`).
    Returns:
        The matplotlib figure.
    """
    plt = _plt()
    rows = [None] + list(maps or [])   # first row: the plain images
    n = len(images)
    ncols = ncols or n
    size = size or PAGE_WIDTH / ncols
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
                    titles[c] if (titles is not None and r == 0) else None, signed=signed,
                    distractors=None if distractors is None else distractors[c])
        if row_labels is not None and r < len(row_labels):
            axes[r, 0].set_ylabel(row_labels[r])
    fig.tight_layout()
    return fig


def image_with_mask_grid(images, masks, titles=None, size: float | None = None):
    """Images in the top row and their ground-truth masks (white) in the bottom row."""
    plt = _plt()
    n = len(images)
    size = size or PAGE_WIDTH / n
    fig, axes = plt.subplots(2, n, figsize=(size * n, size * 2), squeeze=False)
    for c in range(n):
        overlay(axes[0, c], images[c], title=None if titles is None else titles[c])
        axes[1, c].imshow(masks[c], cmap="gray", vmin=0, vmax=1)
        axes[1, c].set_xticks([])
        axes[1, c].set_yticks([])
    axes[0, 0].set_ylabel("image")
    axes[1, 0].set_ylabel("lesion mask")
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
