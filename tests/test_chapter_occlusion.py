"""What the occlusion chapter (book/chapters/occlusion.md) states and no longer checks in
its cells: the lesion-free fill changes only lesion pixels (so on a healthy image it
changes nothing and the map is 0); on the shared model the map does not depend on the
batching beyond float rounding. The package against a plain loop, the passes it sends,
each fill, the zero map with the image itself as fill and the peak on a model built to
look at one region are in test_methods_perturbation.py; the chapter's exercise 3 checks
its own from-scratch loop against the package on the shared model. The structure the
chapter must keep is checked without a model."""

from pathlib import Path

import numpy as np

from shared import data, methods

CHAPTER = Path(__file__).resolve().parents[1] / "book" / "chapters" / "occlusion.md"


def test_lesion_free_fill_of_a_healthy_image_is_the_image(test_images):
    """The chapter's folded section on fills: the scene drawn without its lesions
    differs from the image exactly on the lesion masks; on a healthy image it is the
    image itself, so occlusion with it as fill is 0 everywhere."""
    healthy = 0
    for i in range(len(test_images)):
        scene = test_images.scene(i)
        free = data.render(scene.without(*scene.indices("lesion"))).image
        changed = np.abs(free - test_images.images[i]).max(axis=-1) > 0
        mask = test_images.masks[i]
        assert not (changed & ~mask).any()             # only lesion pixels change
        if data.CLASS_NAMES[test_images.labels[i]] == "Healthy":
            healthy += 1
            assert not mask.any() and not changed.any()
            np.testing.assert_array_equal(free, test_images.images[i])
        else:
            assert mask.any() and changed.sum() >= 0.99 * mask.sum()
    assert healthy == 2


def test_occlusion_on_the_shared_model_does_not_depend_on_the_batching(
        shared_model, test_images):
    """The chapter: 'the batch size changes only the float rounding'. Two images,
    non-overlapping squares, batches of 64 and of 17 (which split every image's
    stream at other places)."""
    images = test_images.images[2:4]                    # the two cowpox images
    targets = methods.resolve_targets(shared_model, images)
    a = methods.occlusion(shared_model, images, targets, stride=15)
    b = methods.occlusion(shared_model, images, targets, stride=15,
                          batch_size=17)
    assert np.abs(a).max() > 0.01                       # the maps are not empty
    np.testing.assert_allclose(a, b, atol=1e-5 * np.abs(a).max())


def test_chapter_specifics():
    """What the common check (``test_technique_chapter_fits_one_sitting`` in
    test_chapter_stats.py) leaves to this chapter: the scorecard on the v2 API."""
    text = CHAPTER.read_text()
    assert "evaluate." not in text and "scorecard.compare(" in text
