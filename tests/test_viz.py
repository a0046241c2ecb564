"""The figure helpers: percentile capping and that every helper draws without error."""

import matplotlib.pyplot as plt
import numpy as np

from shared import viz


def test_cap_percentile_caps_each_map_on_both_sides():
    maps = np.zeros((2, 10, 10), np.float32)
    maps[0, 0, 0], maps[0, 0, 1] = 100, -50      # two outliers in 100 pixels
    maps[0, 1:, :] = np.linspace(-1, 1, 90).reshape(9, 10)
    maps[1] = 3.0
    capped = viz.cap_percentile(maps, 98)
    assert capped[0].max() <= np.abs(maps[0]).max() and capped[0].max() < 2
    assert capped[0].min() > -2
    assert np.array_equal(capped[1], maps[1])    # a constant map is unchanged


def test_grid_and_overlay_draw():
    rng = np.random.default_rng(0)
    images = rng.random((3, 16, 16, 3), dtype=np.float32)
    maps = rng.random((3, 16, 16), dtype=np.float32)
    masks = maps > 0.8
    fig = viz.grid(images, [maps, -maps], masks=masks, titles=["a", "b", "c"],
                   row_labels=["image", "map", "negated"])
    assert len(fig.axes) == 9
    fig2 = viz.image_with_mask_grid(images, masks)
    assert len(fig2.axes) == 6
    plt.close("all")


def test_cap_percentile_single_map_equals_batch_of_one():
    m = np.random.default_rng(1).normal(size=(12, 12)).astype(np.float32)
    assert np.array_equal(viz.cap_percentile(m, 95), viz.cap_percentile(m[None], 95)[0])


def test_outlines_are_the_masks_or_none():
    """viz.outlines: a generated image's lesion mask and red marks as overlay's keyword
    arguments, nothing for images without masks (a folder's)."""
    from shared import data, viz
    ds = data.generate([1, 1, 0, 0, 0, 0], seed=3)
    lines = viz.outlines(ds, 1)
    assert set(lines) == {"mask", "distractors"}
    np.testing.assert_array_equal(lines["mask"], ds.masks[1])
    np.testing.assert_array_equal(lines["distractors"], ds.distractor_masks[1])
    folder = data.Dataset(ds.images, ds.labels, None)
    assert viz.outlines(folder, 0) == {}
