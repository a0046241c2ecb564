"""Counting image-passes: how many images each method sends forward and backward."""

from __future__ import annotations

import contextlib
import dataclasses

import tensorflow as tf


@dataclasses.dataclass(eq=False)
class Passes:
    """Image-passes made while a :func:`count_passes` block was open.

    ``forward``: images sent forward through the model; ``backward``: images whose
    gradient was sent back (to the input or to a layer; each counts once).
    """
    forward: int = 0
    backward: int = 0

    def per_image(self, n_images: int) -> "Passes":
        """The counts divided by the number of images explained."""
        return Passes(self.forward / n_images, self.backward / n_images)


_COUNTERS: list[Passes] = []


@contextlib.contextmanager
def count_passes():
    """Count the forward and backward image-passes made inside the block::

        with count_passes() as passes:
            maps = methods.smoothgrad(model, images)
        passes.forward, passes.backward      # 50 of each per image at the defaults

    Counters nest: an outer block also counts what an inner one counts.
    """
    passes = Passes()
    _COUNTERS.append(passes)
    try:
        yield passes
    finally:
        _COUNTERS.remove(passes)


def record_passes(forward: int = 0, backward: int = 0) -> None:
    """Add image-passes to every open :func:`count_passes` block (for code that calls the
    model through its own compiled functions, e.g. feature visualisation)."""
    for passes in _COUNTERS:
        passes.forward += forward
        passes.backward += backward


@contextlib.contextmanager
def quiet_retracing():
    """Silence TensorFlow's warning about functions traced again and again: each model
    gets its own compiled functions by design, and the randomization checks make many
    models (the warning is meant for a function retraced in a loop)."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        yield
    finally:
        logger.setLevel(level)
