"""Numbers for explanations: localisation, faithfulness, sanity, controls, intervals.

Every metric takes a batch and returns one value per image, a float64 array (N,):

* localisation against the ground-truth masks: :func:`pointing_game` (with its chance
  level, :func:`random_pointing_baseline`), :func:`rank_accuracy` (free of the mask's
  area and of a constant offset), :func:`outranks_distractors` (lesion pixels against
  distractor pixels), :func:`energy` (also on the distractor masks),
  :func:`peak_distances`, :func:`peaks_at_border`;
* faithfulness, by changing the image and asking the model: :func:`deletion` and
  :func:`insertion` (Petsiuk et al. 2018), from :func:`perturbation_curves`;
* sanity: :func:`cascading_randomization` and :func:`randomization_correlation`
  (Adebayo et al. 2018), with :func:`rank_correlation`;
* complexity: :func:`sparseness` (the Gini index of a map);
* maps that need no model, for controls: :func:`random_map` and :func:`redness_map`
  (the scorecard's controls are in :mod:`shared.scorecard`);
* uncertainty: :func:`bootstrap_ci` for every mean, :func:`wilson_ci` for a share of
  hits, :func:`holm` for many comparisons at once.

**Ties.** Maps with plateaus (occlusion's patches, LIME's superpixels, anchors' binary
masks) have many pixels at the same value. The measures that rank pixels
(:func:`pointing_game` with ``ties="share"``, :func:`rank_accuracy`,
:func:`outranks_distractors`) treat values within a millionth of the map's range as tied
and score the expectation over a random choice among them, so no plateau is judged by
the corner it happens to start in.

**Empty masks.** An image whose mask is empty (a healthy image has no lesion) cannot be
scored against it: its value is NaN, and every summary (:func:`bootstrap_ci`, the
scorecard) leaves NaN out and says how many values it used.
"""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------


def _maps(maps, name: str = "maps") -> np.ndarray:
    m = np.asarray(maps)
    if m.ndim != 3:
        raise ValueError(f"{name} must be (N, H, W), got shape {m.shape}")
    if not np.issubdtype(m.dtype, np.number) or not np.isfinite(m).all():
        raise ValueError(f"{name} must be finite numbers")
    return m.astype(np.float64, copy=False)


def _pair(maps, masks) -> tuple[np.ndarray, np.ndarray]:
    m = _maps(maps)
    k = np.asarray(masks)
    if k.shape != m.shape:
        raise ValueError(f"maps and masks must both be (N, H, W) with equal shapes, got "
                         f"{m.shape} and {k.shape}")
    if k.dtype != bool:
        raise ValueError(f"masks must be boolean, got dtype {k.dtype}")
    return m, k


def _empty(masks: np.ndarray) -> np.ndarray:
    return ~masks.any(axis=(1, 2))


def _peaks(maps: np.ndarray) -> np.ndarray:
    """Flat index of each map's peak; among tied maxima the first in row-major order, so
    a constant map (no information) is judged by its top-left pixel, not rewarded."""
    return maps.reshape(len(maps), -1).argmax(1)


LEVELS = 10**6
"""Values of a map closer than its range / :data:`LEVELS` count as tied (see Ties above)."""


def levels(maps) -> np.ndarray:
    """Each map as integer levels 0 .. :data:`LEVELS` (its minimum to its maximum), (N, H*W)
    int64: equal levels are ties. A constant map is all 0 (one tie)."""
    m = _maps(maps).reshape(len(maps), -1)
    low = m.min(axis=1, keepdims=True)
    span = m.max(axis=1, keepdims=True) - low
    scaled = np.divide(m - low, span, out=np.zeros_like(m), where=span > 0)
    return np.rint(scaled * LEVELS).astype(np.int64)


# --------------------------------------------------------------------------------------
# Localisation
# --------------------------------------------------------------------------------------

def _within(masks: np.ndarray, tolerance: float) -> np.ndarray:
    """The masks grown by ``tolerance`` pixels (Euclidean distance)."""
    if tolerance <= 0:
        return masks
    from scipy import ndimage
    return np.stack([ndimage.distance_transform_edt(~m) <= tolerance if m.any() else m
                     for m in masks])


def pointing_game(maps, masks, tolerance: float = 0, ties: str = "share") -> np.ndarray:
    """1.0 where the map's peak (its highest pixel) lies in the mask, else 0.0 (NaN for
    an empty mask). Zhang et al. (2018).

    ``ties``: which of several tied maxima is the peak. ``"share"`` (the default): the
    share of the tied maxima (within range / :data:`LEVELS`) that lie in the mask, the
    expected hit of a random choice among them, so a constant map scores its chance
    level (:func:`random_pointing_baseline`); ``"first"``: the first in row-major order
    (a plateau is judged by its top-left pixel, as ``argmax`` would).

    ``tolerance``: count a peak within this many pixels of the mask as a hit. The default
    is 0 (strict): our masks are exact to the pixel, while Zhang et al.'s 15 px tolerance
    (on images of about 500 px) absorbed the slack of hand-drawn boxes and masks; 15 px
    scaled to our 224 px images is 7 px, the value the book reports beside the strict one.
    """
    m, k = _pair(maps, masks)
    inside = _within(k, tolerance).reshape(len(k), -1)
    if ties == "first":
        hits = inside[np.arange(len(k)), _peaks(m)].astype(np.float64)
    elif ties == "share":
        lv = levels(m)
        top = lv == lv.max(axis=1, keepdims=True)
        hits = (top & inside).sum(axis=1) / top.sum(axis=1)
    else:
        raise ValueError(f"ties must be 'first' or 'share', got {ties!r}")
    return np.where(_empty(k), np.nan, hits)


def rank_accuracy(maps, masks) -> np.ndarray:
    """The share of the map's top-K pixels that lie in the mask, K the mask's size:
    relevance rank accuracy (Arras, Osman & Samek 2022, CLEVR-XAI). 1 when the mask's
    pixels are exactly the K highest; a constant or random map scores the mask's area
    share (:func:`random_pointing_baseline`); adding a constant or scaling the map changes
    nothing. Ties at the K-th value are shared out (their expected share in the mask).
    NaN for an empty mask."""
    m, k = _pair(maps, masks)
    lv = levels(m)
    flat = k.reshape(len(k), -1)
    out = np.full(len(m), np.nan)
    for i, (values, inside) in enumerate(zip(lv, flat)):
        size = int(inside.sum())
        if size == 0:
            continue
        kth = np.partition(values, -size)[-size]
        above, tied = values > kth, values == kth
        from_tied = size - int(above.sum())
        expected = (above & inside).sum() + from_tied * (tied & inside).sum() / tied.sum()
        out[i] = expected / size
    return out


def outranks_distractors(maps, masks, distractor_masks) -> np.ndarray:
    """The probability that a random lesion pixel has a higher value in the map than a
    random distractor pixel (ties count half): the area under the ROC curve of the map as
    a lesion-versus-distractor detector, the rank form of the ratio of attribution density
    on lesions to that on distractors. 0.5 is chance (a constant or random map); free of
    the masks' areas and of a constant offset. Pixels in both masks are left out; NaN when
    an image has no lesion or no distractor pixel."""
    from scipy import stats
    m, k = _pair(maps, masks)
    _, d = _pair(maps, distractor_masks)
    lv = levels(m)
    out = np.full(len(m), np.nan)
    for i in range(len(m)):
        lesion, other = k[i].ravel() & ~d[i].ravel(), d[i].ravel() & ~k[i].ravel()
        a, b = lv[i][lesion], lv[i][other]
        if len(a) and len(b):
            ranks = stats.rankdata(np.concatenate([a, b]))
            out[i] = (ranks[:len(a)].sum() - len(a) * (len(a) + 1) / 2) / (len(a) * len(b))
    return out


def random_pointing_baseline(masks, tolerance: float = 0) -> np.ndarray:
    """The pointing game of a uniformly random pixel: each mask's area (grown by
    ``tolerance``) as a share of the image (NaN for an empty mask)."""
    k = np.asarray(masks, bool)
    return np.where(_empty(k), np.nan, _within(k, tolerance).mean(axis=(1, 2)))


def energy(maps, masks) -> np.ndarray:
    """The share of each map's positive attribution that lies inside the mask.

    The energy-based pointing game of Wang et al. (2020, Score-CAM): 1 when all positive
    attribution is on the mask. A map with no positive value scores 0 (it points
    nowhere); an empty mask gives NaN. With the distractor masks it measures
    attribution where evidence should not be.
    """
    m, k = _pair(maps, masks)
    positive = np.maximum(m, 0)
    total = positive.sum(axis=(1, 2))
    inside = (positive * k).sum(axis=(1, 2))
    share = np.divide(inside, total, out=np.zeros_like(total), where=total > 0)
    return np.where(_empty(k), np.nan, share)


def peak_distances(maps, masks) -> np.ndarray:
    """Distance in pixels from each map's peak to the nearest mask pixel (0 for a hit;
    NaN for an empty mask)."""
    from scipy import ndimage
    m, k = _pair(maps, masks)
    peaks = _peaks(m)
    return np.array([np.nan if not mask.any() else
                     float(ndimage.distance_transform_edt(~mask).ravel()[p])
                     for mask, p in zip(k, peaks)])


def peaks_at_border(maps, width: int = 4) -> np.ndarray:
    """1.0 where a map's peak lies within ``width`` pixels of the image border."""
    m = _maps(maps)
    h, w = m.shape[1:]
    y, x = np.unravel_index(_peaks(m), (h, w))
    return (np.minimum.reduce([y, x, h - 1 - y, w - 1 - x]) < width).astype(np.float64)


# --------------------------------------------------------------------------------------
# Faithfulness: deletion and insertion (Petsiuk, Das & Saenko 2018)
# --------------------------------------------------------------------------------------

DELETION_FILL = 0.5
"""What a deleted pixel becomes: grey 0.5, the zero of the network's input after its
[-1, 1] preprocessing. Petsiuk et al. set deleted pixels to zero in their network's
normalised input space (there, the ImageNet mean colour)."""
INSERTION_BLUR = 5.0
"""Insertion starts from the image blurred by a Gaussian of this standard deviation (px)
with an 11 px kernel, as in Petsiuk et al.'s code, and puts the pixels back in order."""


def blurred(images, sigma: float = INSERTION_BLUR) -> np.ndarray:
    """Each image blurred channel by channel (Gaussian, ``sigma`` px, 11 px kernel)."""
    from scipy import ndimage
    images = np.asarray(images, np.float32)
    return ndimage.gaussian_filter(images, sigma=(0, sigma, sigma, 0), truncate=1.0,
                                   mode="nearest")


def pixel_order(maps, seed: int = 0) -> np.ndarray:
    """Each map's pixels from the most to the least attributed, (N, H*W). Ties are
    broken at random (seeded), so a constant map gives a random order, not a raster."""
    m = _maps(maps)
    size = m[0].size
    key = np.random.default_rng(seed).random(size)
    return np.stack([np.lexsort((key, -mi.ravel())) for mi in m])


def perturbation_curves(model, images, maps, targets=None, *, mode: str = "deletion",
                        steps: int = 56, score: str = "probability", fill=None,
                        order_seed: int = 0, batch_size: int = 64) -> np.ndarray:
    """The target's score as pixels are deleted (or inserted) in the map's order.

    Args:
        model, images, targets: as for the methods (``None``: the predicted class).
        maps: (N, H, W), the explanation of each image.
        mode: ``"deletion"`` (pixels become :data:`DELETION_FILL`, from the most to the
            least attributed) or ``"insertion"`` (pixels of the image are put back into
            its blurred copy, most attributed first).
        steps: points along the curve after the start; step ``j`` has changed
            ``round(j * H * W / steps)`` pixels. Petsiuk et al. changed 224 pixels per
            step at 224 px (224 steps); 56 steps (896 pixels, 4 rows) give AUCs within
            0.01 of that on our images (the benchmark measures it).
        score: ``"probability"`` (Petsiuk et al.) or ``"logit"``.
        fill: what the changed pixels become (deletion) or start as (insertion), images
            (N, H, W, 3) in [0, 1]; ``None``: :data:`DELETION_FILL` for deletion, the
            blurred image for insertion (Petsiuk et al.). The scorecard passes the scene
            re-rendered without its elements: a fill that is no method's own.
        order_seed: seed of the random order among tied pixels (:func:`pixel_order`).

    Returns:
        (N, steps + 1) scores, starting with the unchanged (or fully blurred) image.
    """
    from shared.methods import check_images, resolve_targets, scores
    from shared.methods.parameters import SCORES, one_of, positive_int
    if mode not in ("deletion", "insertion"):
        raise ValueError(f"mode must be 'deletion' or 'insertion', got {mode!r}")
    steps = positive_int("steps", steps)
    one_of(*SCORES)("score", score)
    images = check_images(images, model)
    m = _maps(maps)
    if m.shape != images.shape[:3]:
        raise ValueError(f"maps must be (N, H, W) = {images.shape[:3]}, got {m.shape}")
    targets = resolve_targets(model, images, targets)
    n, h, w = m.shape
    counts = np.round(np.arange(steps + 1) * h * w / steps).astype(np.int64)
    ranks = np.empty((n, h * w), np.int64)
    order = pixel_order(m, seed=order_seed)
    ranks[np.arange(n)[:, None], order] = np.arange(h * w)
    if fill is None:
        start = np.full_like(images, DELETION_FILL) if mode == "deletion" else blurred(images)
    else:
        start = check_images(fill, model)
        if start.shape != images.shape:
            raise ValueError(f"fill must have the images' shape {images.shape}, got {start.shape}")
    end = images if mode == "insertion" else start
    begin = images if mode == "deletion" else start
    curves = np.empty((n, steps + 1))
    chunk = max(1, 256 // (steps + 1))
    for i0 in range(0, n, chunk):
        idx = np.arange(i0, min(i0 + chunk, n))
        changed = ranks[idx][:, None, :] < counts[None, :, None]      # (c, steps+1, H*W)
        changed = changed.reshape(len(idx), steps + 1, h, w, 1)
        batch = np.where(changed, end[idx][:, None], begin[idx][:, None])
        batch = batch.reshape((-1,) + images.shape[1:])
        values = scores(model, batch, np.repeat(targets[idx], steps + 1), score=score,
                        batch_size=batch_size)
        curves[idx] = values.reshape(len(idx), steps + 1)
    return curves


def area_under_curve(curves) -> np.ndarray:
    """Trapezoidal area under each curve over the share of pixels changed, [0, 1]."""
    c = np.asarray(curves, np.float64)
    return (c[:, 1:] + c[:, :-1]).sum(axis=1) / (2 * (c.shape[1] - 1))


def deletion(model, images, maps, targets=None, **options) -> np.ndarray:
    """Deletion AUC: the area under the score as the most attributed pixels are deleted
    first (lower is better: a faithful map finds the evidence, and the score falls fast).
    Options as :func:`perturbation_curves`."""
    return area_under_curve(perturbation_curves(model, images, maps, targets,
                                                mode="deletion", **options))


def insertion(model, images, maps, targets=None, **options) -> np.ndarray:
    """Insertion AUC: the area under the score as the most attributed pixels are put back
    into a blurred image first (higher is better). Options as :func:`perturbation_curves`."""
    return area_under_curve(perturbation_curves(model, images, maps, targets,
                                                mode="insertion", **options))


# --------------------------------------------------------------------------------------
# Sanity checks (Adebayo et al. 2018)
# --------------------------------------------------------------------------------------

def rank_correlation(a, b) -> np.ndarray:
    """Spearman's rank correlation between paired maps (N, H, W), one value per pair
    (1: the same order of pixels); 0 where a map is constant."""
    from scipy import stats
    a, b = _maps(a, "a"), _maps(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have equal shapes, got {a.shape} and {b.shape}")
    return np.array([0.0 if np.ptp(x) == 0 or np.ptp(y) == 0 else
                     float(stats.spearmanr(x.ravel(), y.ravel()).statistic)
                     for x, y in zip(a, b)])


def _method(method):
    from shared.methods import ATTRIBUTIONS
    if isinstance(method, str):
        if method not in ATTRIBUTIONS:
            raise ValueError(f"unknown method {method!r}; registered: {sorted(ATTRIBUTIONS)}")
        return ATTRIBUTIONS[method]
    return method


def cascading_randomization(method, model, images, targets=None, *, blocks=None,
                            seed: int = 0, **params) -> dict[str, np.ndarray]:
    """Adebayo et al.'s cascade: re-initialise the blocks from the top of the network
    down, one more at each step, and compare each map with the trained model's map.

    Args:
        method: a registered method (name or function), called with ``params``.
        blocks: the steps, top first (default: every block with weights,
            :func:`shared.randomization.cascade_blocks`); step ``k`` randomizes ``blocks[:k+1]``.
        seed: seed of the random weights (:func:`shared.randomization.randomized_copy`).

    Returns:
        {block: Spearman correlation (N,) after randomizing down to that block}. The
        explained class is the trained model's (predicted, unless given) throughout.
    """
    from shared import randomization
    from shared.methods import check_images, quiet_retracing, resolve_targets
    method = _method(method)
    images = check_images(images, model)
    targets = resolve_targets(model, images, targets)
    blocks = randomization.cascade_blocks(model) if blocks is None else list(blocks)
    trained = method(model, images, targets, **params)
    out = {}
    with quiet_retracing():      # every copy compiles its own functions, by design
        for k, block in enumerate(blocks):
            copy = randomization.randomized_copy(model, blocks[:k + 1], seed=seed)
            out[block] = rank_correlation(trained, method(copy, images, targets, **params))
    return out


def randomization_correlation(method, model, images, targets=None, *, blocks=("logits",),
                              seed: int = 0, **params) -> np.ndarray:
    """Spearman correlation (N,) between a method's maps on the trained model and on a
    copy whose ``blocks`` are re-initialised (default: the top layer, ``logits``)."""
    from shared import randomization
    from shared.methods import check_images, quiet_retracing, resolve_targets
    method = _method(method)
    images = check_images(images, model)
    targets = resolve_targets(model, images, targets)
    copy = randomization.randomized_copy(model, list(blocks), seed=seed)
    with quiet_retracing():
        return rank_correlation(method(model, images, targets, **params),
                                method(copy, images, targets, **params))


# --------------------------------------------------------------------------------------
# Complexity
# --------------------------------------------------------------------------------------

def sparseness(maps) -> np.ndarray:
    """The Gini index of each map's absolute values (Chalasani et al. 2020): 0 for a
    constant map, (n - 1) / n for a map with one non-zero pixel. Higher: the attribution
    is concentrated on fewer pixels (easier to read; not by itself more faithful)."""
    a = np.sort(np.abs(_maps(maps)).reshape(len(maps), -1), axis=1)
    n = a.shape[1]
    total = a.sum(axis=1)
    weights = 2 * np.arange(1, n + 1) - n - 1
    return np.divide(a @ weights, n * total, out=np.zeros_like(total), where=total > 0)


# --------------------------------------------------------------------------------------
# Controls: maps that need no model
# --------------------------------------------------------------------------------------

def random_map(images, seed: int = 0) -> np.ndarray:
    """A map of independent uniform noise (a control with no information)."""
    images = np.asarray(images)
    return np.random.default_rng(seed).random(images.shape[:3]).astype(np.float32)


def redness_map(images, seed: int = 0) -> np.ndarray:
    """Pixel redness, red minus green (a control that needs no model: lesions are red,
    and so are the distractors)."""
    images = np.asarray(images, np.float32)
    return images[..., 0] - images[..., 1]



# --------------------------------------------------------------------------------------
# Uncertainty
# --------------------------------------------------------------------------------------

def bootstrap_ci(values, *, level: float = 0.95, n_boot: int = 2000,
                 seed: int = 0) -> tuple[float, float, float, int]:
    """Mean of ``values`` with a percentile bootstrap interval, NaN values left out.

    Returns (mean, low, high, n), n the number of values used; all NaN when none is left.
    """
    v = np.asarray(values, np.float64).ravel()
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return np.nan, np.nan, np.nan, 0
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), (n_boot, len(v)))].mean(axis=1)
    lo, hi = np.percentile(means, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return float(v.mean()), float(lo), float(hi), len(v)


def wilson_ci(hits, n, level: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval for a share of ``hits`` out of ``n`` (better than the normal
    approximation near 0 and 1, where the pointing game often is)."""
    from scipy import stats
    if n <= 0:
        return np.nan, np.nan
    z = stats.norm.ppf((1 + level) / 2)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of p-values for many tests at once (controls the
    family-wise error rate): compare the adjusted values with the level, e.g. 0.05."""
    p = np.asarray(p_values, np.float64)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    order = np.argsort(q)
    adjusted = np.maximum.accumulate((len(q) - np.arange(len(q))) * q[order])
    res = np.empty_like(q)
    res[order] = np.minimum(adjusted, 1.0)
    out[ok] = res
    return out
