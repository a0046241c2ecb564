"""Rendering: :func:`render` draws a scene; :func:`render_many` and :func:`render_batches`
draw many scenes into :class:`~shared.data.dataset.Dataset` objects.

Rendering has no randomness of its own (the sensor noise is re-created from the seed
stored in the scene) and uses only exactly rounded array operations, so every CPU draws
the same pixels. The painters of the single elements are in :mod:`.painters`.
"""

from __future__ import annotations

import math
from typing import Iterator, NamedTuple, Sequence

import numpy as np

from .constants import CLASS_NAMES, ELEMENT_KINDS
from .dataset import Dataset
from .painters import _PAINTERS, _canvas, _paint_hair, _paint_spot
from .scenes import Scene

_NOISE_STD = math.sqrt(2 * (256 ** 2 - 1) / 12)   # std of the sum of two random bytes


class Rendering(NamedTuple):
    """What :func:`render` returns for one scene."""

    image: np.ndarray            # float32 (H, W, 3), 8-bit values k / 255
    lesion_mask: np.ndarray      # bool (H, W): pixels a lesion painted
    distractor_mask: np.ndarray  # bool (H, W): pixels a distractor painted, no lesion on top
    marker_mask: np.ndarray      # bool (H, W): pixels the marker painted
    instances: np.ndarray        # int16 (H, W): k + 1 where element k is on top, else 0


def render(scene: Scene) -> Rendering:
    """Draw one scene (deterministic: no randomness besides the stored noise seed)."""
    s = scene.size
    out = Rendering(np.empty((s, s, 3), np.float32), np.zeros((s, s), bool),
                    np.zeros((s, s), bool), np.zeros((s, s), bool), np.zeros((s, s), np.int16))
    _render_into(scene, *out)
    return out


def render_many(scenes: Sequence[Scene]) -> Dataset:
    """Render a list of scenes (all of one size) into a :class:`Dataset`.

    The arrays are allocated once and every image is drawn in place, which makes this
    the fast way to render many interventions. At 224 px a rendered image with its masks
    takes about 0.85 MB: render tens of thousands with :func:`render_batches`.
    """
    scenes = list(scenes)
    if not scenes:
        raise ValueError("render_many needs at least one scene")
    sizes = {sc.size for sc in scenes}
    if len(sizes) != 1:
        raise ValueError(f"all scenes must have the same size, got sizes {sorted(sizes)}")
    n, s = len(scenes), sizes.pop()
    images = np.empty((n, s, s, 3), np.float32)
    masks, dmasks, mmasks = (np.zeros((n, s, s), bool) for _ in range(3))
    instances = np.zeros((n, s, s), np.int16)
    for k, scene in enumerate(scenes):
        _render_into(scene, images[k], masks[k], dmasks[k], mmasks[k], instances[k])
    labels = np.array([sc.label for sc in scenes], np.int64)
    return Dataset(images, labels, masks, mmasks, CLASS_NAMES, {}, dmasks, instances, scenes)


def render_batches(scenes: Sequence[Scene], batch_size: int = 256) -> Iterator[Dataset]:
    """Render scenes in consecutive batches (a :class:`Dataset` each), e.g. to feed a
    model thousands of interventions without holding them all in memory."""
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    scenes = list(scenes)
    for start in range(0, len(scenes), batch_size):
        yield render_many(scenes[start:start + batch_size])


def _render_into(scene: Scene, image, lesion_mask, distractor_mask, marker_mask, instances):
    """Draw ``scene`` into ``image`` (H, W, 3) and the masks (zeroed beforehand)."""
    cv = _canvas(scene.size)
    skin, lighting = scene.skin, scene.lighting
    # 1. Skin: tone times a slow pigment variation; freckles and moles.
    pigment = 1 + np.float32(0.05) * cv.field(skin.pigment)
    img = pigment * np.asarray(skin.tone, np.float32)[:, None, None]      # (3, H, W)
    for spot in skin.spots:
        _paint_spot(cv, img, spot)

    # 2. Elements: distractors under lesions, the marker on top of everything.
    light = (math.cos(lighting.angle), math.sin(lighting.angle))
    masks = {"lesion": lesion_mask, "distractor": distractor_mask, "marker": marker_mask}
    layers = {kind: [k for k in scene.visible if scene.elements[k].kind == kind]
              for kind in ELEMENT_KINDS}

    def paint(k):
        e = scene.elements[k]
        painted = _PAINTERS[type(e)](cv, img, e, light)
        if painted is not None:
            sl, footprint = painted
            instances[sl][footprint] = k + 1
            masks[e.kind][sl] |= footprint

    for k in layers["distractor"] + layers["lesion"]:
        paint(k)
    for hair in skin.hairs:                            # hairs lie over the lesions
        _paint_hair(cv, img, hair)
    for k in layers["marker"]:
        paint(k)
    distractor_mask &= ~lesion_mask

    # 3. Lighting (direction, vignette, exposure, slow variation, colour cast), then
    #    sensor noise (grey, a triangular distribution from two random bytes per pixel)
    #    and rounding to 8 bits. Values are in 0..255 from here on.
    c, s = light
    g = np.float32(lighting.gradient)
    gradient = ((1 + (g * np.float32(s)) * cv.centred[:, None])
                + (g * np.float32(c)) * cv.centred[None, :])
    gradient *= 1 - np.float32(lighting.vignette) * cv.r2
    gradient *= 1 + cv.field(tuple(0.04 * v for v in lighting.variation))
    img *= gradient
    img *= (np.asarray(lighting.cast, np.float32) * np.float32(255 * lighting.gain))[:, None, None]
    size = scene.size
    noise = np.frombuffer(np.random.default_rng(lighting.noise_seed).bytes(2 * size * size),
                          np.uint8).reshape(2, size, size)
    grain = np.add(noise[0], noise[1], dtype=np.uint16).astype(np.float32)   # 0..510
    grain -= np.float32(255)
    grain *= np.float32(lighting.noise * 255 / _NOISE_STD)
    img += grain
    np.minimum(np.maximum(img, 0, out=img), 255, out=img)
    np.round(img, out=img)
    for ch in range(3):
        np.divide(img[ch], np.float32(255), out=image[..., ch])


def _footprint(scene: Scene, k: int) -> np.ndarray:
    """Bool (size, size): the pixels element ``k`` of ``scene`` paints (see
    :meth:`Scene.footprint <shared.data.scenes.Scene.footprint>`)."""
    e, cv = scene.elements[k], _canvas(scene.size)
    out = np.zeros((scene.size, scene.size), bool)
    light = (math.cos(scene.lighting.angle), math.sin(scene.lighting.angle))
    painted = _PAINTERS[type(e)](cv, np.zeros((3, scene.size, scene.size), np.float32), e, light)
    if painted is not None:
        out[painted[0]] = painted[1]
    return out
