"""Regularizers measured on the image: :func:`total_variation` and :func:`l2_penalty`
(weights ``tv`` and ``l2`` of :func:`shared.featurevis.optimize`)."""

from __future__ import annotations

import tensorflow as tf


def total_variation(images):
    """Mean absolute difference between neighbouring pixels, per image (N,): TensorFlow's
    ``total_variation`` divided by the number of values, as tf-keras-vis does."""
    tv = tf.image.total_variation(images)
    return tv / tf.cast(tf.reduce_prod(tf.shape(images)[1:]), tf.float32)


def l2_penalty(images):
    """Mean squared distance from mid grey, per image (N,). The model maps 0.5 to 0, so
    this is Simonyan et al.'s ||I||^2 on the model's own input (up to a factor 4)."""
    return tf.reduce_mean(tf.square(images - 0.5), axis=[1, 2, 3])

