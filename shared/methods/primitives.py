"""The primitives every method computes with: compiled once per model, run in batches,
counted.

* :func:`scores`: forward passes (logits or probabilities), the one way the perturbation
  methods and the metrics call the model; :func:`model_outputs`, the model's own output;
* :func:`gradients`: the input gradient of each image's target logit;
* :func:`mean_input_gradients`: the mean input gradient over many inputs per image
  (SmoothGrad's noisy copies, Integrated Gradients' path), all batched together;
* :func:`layer_gradients`: a layer's activation and the gradient of the target logit
  with respect to it (Grad-CAM);
* :func:`activations`: a layer's activation.

Each records the image-passes it makes (:func:`shared.methods.count_passes`).
:func:`resolve_targets` turns ``targets`` into class indices, running the model when it
must find the predicted classes.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import tensorflow as tf

from .graph import Network, network
from .inputs import as_batch, check_targets
from .parameters import SCORES, one_of, positive_int
from .passes import record_passes


def resolve_targets(model, images, targets=None, batch_size: int = 64) -> np.ndarray:
    """The class to explain for each image, as int32 (N,).

    ``None``: each image's predicted class (the largest logit); an int: that class for
    every image; a sequence: one class index per image.
    """
    n, c = len(images), network(model).num_classes
    if targets is None:
        return np.argmax(scores(model, images, batch_size=batch_size), axis=-1).astype(np.int32)
    return check_targets(targets, n, c)


def _batches(n: int, batch_size: int):
    batch_size = positive_int("batch_size", batch_size)
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def _forward_fn(net: Network, score: str):
    def build():
        if score == "output":
            model = net.output_model
            return tf.function(lambda x: model(x, training=False),
                               input_signature=net.signature(False))
        logits_model, activation = net.logits_model, net.output_activation
        squash = {"sigmoid": tf.nn.sigmoid}.get(activation, tf.nn.softmax)

        def forward(x):
            y = logits_model(x, training=False)
            return squash(y) if score == "probability" else y
        return tf.function(forward, input_signature=net.signature(False))
    return net.cached(("forward", score), build)


def scores(model, images, targets=None, *, score: str = "logit",
           batch_size: int = 64) -> np.ndarray:
    """The model's class scores for a batch of images, computed in batches.

    Args:
        images: float32 (N, H, W, 3) in [0, 1].
        targets: ``None`` for every class, (N, classes); or one class per image (an int
            or a sequence), (N,), the score of that class.
        score: ``"logit"`` (before the softmax/sigmoid) or ``"probability"`` (after it;
            a model that outputs logits is taken as a softmax classifier).
        batch_size: images per compiled call.

    This is the one way the perturbation methods and the metrics call the model.
    """
    one_of(*SCORES)("score", score)
    net = network(model)
    x = as_batch(images, net)
    fn = _forward_fn(net, score)
    parts = [fn(tf.constant(x[s])).numpy() for s in _batches(len(x), batch_size)]
    record_passes(forward=len(x))
    out = np.concatenate(parts) if parts else np.zeros((0, net.num_classes), np.float32)
    if targets is None:
        return out
    t = check_targets(targets, len(x), net.num_classes)
    return out[np.arange(len(out)), t]


def model_outputs(model, images, batch_size: int = 64) -> np.ndarray:
    """The model's own outputs (what ``model.predict`` returns), batched and compiled."""
    net = network(model)
    x = as_batch(images, net)
    fn = _forward_fn(net, "output")
    parts = [fn(tf.constant(x[s])).numpy() for s in _batches(len(x), batch_size)]
    record_passes(forward=len(x))
    shape = (0,) + tuple(net.output_model.outputs[0].shape[1:])
    return np.concatenate(parts) if parts else np.zeros(shape, np.float32)


def _input_gradient_fn(net: Network, relu):
    def build():
        logits_model = net.logits_model if relu is None else net.relu_replaced(relu)

        def grad(x, t):
            with tf.GradientTape() as tape:
                tape.watch(x)
                score = tf.gather(logits_model(x, training=False), t, batch_dims=1)
            return tape.gradient(score, x)   # images are independent: d sum / d x_i = d y_i / d x_i
        return tf.function(grad, input_signature=net.signature(True))
    return net.cached(("input_gradient", relu), build)


def gradients(model, images, targets, *, batch_size: int = 32,
              relu: Callable | None = None) -> np.ndarray:
    """Gradients d logit_t / d x of each image's target logit, float32 (N, H, W, 3).

    ``targets``: int32 (N,) as from :func:`resolve_targets`. ``relu``: ``None`` for the
    true gradient; a ReLU with another backward rule (guided backpropagation) computes
    the gradient of the network with every ReLU replaced by it.
    """
    net = network(model)
    x = as_batch(images, net)
    t = np.asarray(targets, np.int32)
    fn = _input_gradient_fn(net, relu)
    parts = [fn(tf.constant(x[s]), tf.constant(t[s])).numpy() for s in _batches(len(x), batch_size)]
    record_passes(forward=len(x), backward=len(x))
    return np.concatenate(parts).astype(np.float32, copy=False)


def mean_input_gradients(model, targets, inputs: Callable, n: int, *, batch_size: int = 32,
                         relu: Callable | None = None) -> np.ndarray:
    """Mean over ``j < n`` of the input gradient at ``inputs(i, j)``, for each image i.

    ``inputs(i, j)`` takes index arrays (image, sample) and returns that batch of inputs,
    or a pair (inputs, weights) whose weights multiply each gradient before the mean
    (Expected Gradients weighs each sample by its own ``x - x'``). All ``N * n``
    (image, sample) pairs go through the model ``batch_size`` at a time, so SmoothGrad's
    samples and Integrated Gradients' steps are batched together.
    """
    net = network(model)
    targets = np.asarray(targets, np.int32)
    fn = _input_gradient_fn(net, relu)
    pairs = np.arange(len(targets) * n)
    total = None
    for s in _batches(len(pairs), batch_size):
        image, sample = np.divmod(pairs[s], n)
        batch = inputs(image, sample)
        x, w = batch if isinstance(batch, tuple) else (batch, None)
        g = fn(tf.constant(x, tf.float32), tf.constant(targets[image])).numpy()
        record_passes(forward=len(image), backward=len(image))
        if w is not None:
            g *= w
        if total is None:
            total = np.zeros((len(targets),) + g.shape[1:], np.float32)
        rows, first = np.unique(image, return_index=True)   # image indices are sorted
        total[rows] += np.add.reduceat(g, first, axis=0)
    return total / n


def _layer_gradient_fn(net: Network, layer: str):
    def build():
        sub = net.layer_model(layer)

        def grad(x, t):
            with tf.GradientTape() as tape:
                acts, logits = sub(x, training=False)
                score = tf.gather(logits, t, batch_dims=1)
            return acts, tape.gradient(score, acts)
        return tf.function(grad, input_signature=net.signature(True))
    return net.cached(("layer_gradient", layer), build)


def layer_gradients(model, images, targets, layer: str, *, batch_size: int = 32,
                    combine: Callable | None = None) -> np.ndarray:
    """The activation ``A`` of ``layer`` and the gradient d logit_t / d A, per image.

    Returns ``combine(A, dA)`` computed batch by batch (as numpy), or the pair
    ``(A, dA)`` when ``combine`` is None.
    """
    net = network(model)
    x = as_batch(images, net)
    t = np.asarray(targets, np.int32)
    fn = _layer_gradient_fn(net, net.layer(layer))
    outs = []
    for s in _batches(len(x), batch_size):
        a, g = fn(tf.constant(x[s]), tf.constant(t[s]))
        outs.append((a.numpy(), g.numpy()) if combine is None else np.asarray(combine(a, g)))
    record_passes(forward=len(x), backward=len(x))
    if combine is None:
        return tuple(np.concatenate(p) for p in zip(*outs))
    return np.concatenate(outs).astype(np.float32, copy=False)


def activations(model, images, layer: str, *, batch_size: int = 32) -> np.ndarray:
    """The activation of ``layer`` for each image, float32 (N, h, w, channels)."""
    net = network(model)
    x = as_batch(images, net)
    name = net.layer(layer)

    def build():
        sub = net.activation_model(name)
        return tf.function(lambda v: sub(v, training=False), input_signature=net.signature(False))
    fn = net.cached(("activations", name), build)
    parts = [fn(tf.constant(x[s])).numpy() for s in _batches(len(x), batch_size)]
    record_passes(forward=len(x))
    return np.concatenate(parts)
