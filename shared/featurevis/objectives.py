"""Objectives: what the image should excite (:func:`class_logit`, :func:`channel`,
:func:`layer_activation` and weighted sums of them), laid out as arrays for a batch,
and the model that measures them."""

from __future__ import annotations

import collections
import dataclasses

import keras
import numpy as np
import tensorflow as tf

from shared.methods.parameters import non_negative_int, positive_int

KINDS = ("class_logit", "channel", "layer_activation")
"""The kinds of objective term (see :func:`class_logit`, :func:`channel`,
:func:`layer_activation`)."""

TRACES: collections.Counter = collections.Counter()
"""How many times each compiled function of this package has been traced in this
process, by kind: ``"step"`` (:func:`optimize`'s ascent step), ``"evaluate"`` and
``"dream"``. Each function is built once per model and objective structure (and
parametrization) and cached on the model's :func:`shared.methods.network`; a trace is
TensorFlow compiling it for argument shapes it has not seen. Read it to check that
repeated calls reuse the compiled function: a second :func:`optimize` with the same
objective structure and batch size adds no trace. Never reset by the package."""


@dataclasses.dataclass(frozen=True)
class Term:
    """One weighted term of an objective: ``weight * value(kind, layer, index)``."""
    kind: str             # one of KINDS
    layer: str | None     # None for a class logit; a feature layer otherwise
    index: int            # the class or the channel; 0 (unused) for a whole layer
    weight: float = 1.0

    def __str__(self) -> str:
        call = {"class_logit": f"class_logit({self.index})",
                "channel": f"channel({self.layer!r}, {self.index})",
                "layer_activation": f"layer_activation({self.layer!r})"}[self.kind]
        return call if self.weight == 1 else f"{self.weight:g} * {call}"


@dataclasses.dataclass(frozen=True)
class Objective:
    """A weighted sum of terms, to be maximised. Build with :func:`class_logit`,
    :func:`channel` and :func:`layer_activation`, combine with ``+``, ``-`` and ``*``
    by a number."""
    terms: tuple[Term, ...]

    def __add__(self, other):
        if isinstance(other, (int, float)) and other == 0:   # sum([...]) starts at 0
            return self
        if not isinstance(other, Objective):
            return NotImplemented
        return Objective(self.terms + other.terms)

    __radd__ = __add__

    def __mul__(self, factor):
        if isinstance(factor, bool) or not isinstance(factor, (int, float, np.number)):
            return NotImplemented
        return Objective(tuple(dataclasses.replace(t, weight=t.weight * float(factor))
                               for t in self.terms))

    __rmul__ = __mul__

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other)

    def __str__(self) -> str:
        return " + ".join(str(t) for t in self.terms)


def class_logit(c: int) -> Objective:
    """The logit of class ``c``: the score before the softmax (a softmax probability can
    also rise by lowering the other classes, so it is never the objective here)."""
    return Objective((Term("class_logit", None, non_negative_int("class index", c)),))


def channel(layer: str | None, k: int) -> Objective:
    """The mean activation of channel ``k`` of ``layer`` over all positions (lucid's
    ``channel`` objective). ``layer=None``: the last convolutional feature map."""
    return Objective((Term("channel", layer, non_negative_int("channel index", k)),))


def layer_activation(layer: str | None) -> Objective:
    """The mean of the squared activations of ``layer`` (all positions and channels):
    Deep Dream's objective, as in Mordvintsev's original notebook (its gradient is the
    activation itself: ``objective_L2``) and the Keras Deep Dream example."""
    return Objective((Term("layer_activation", layer, 0),))


def _as_objectives(objective, n_images) -> list[Objective]:
    """One objective per image: a list is taken as it is; one objective is repeated
    ``n_images`` times (default 1)."""
    if isinstance(objective, Objective):
        n = 1 if n_images is None else positive_int("n_images", n_images)
        return [objective] * n
    objectives = list(objective) if isinstance(objective, (list, tuple)) else None
    if not objectives or not all(isinstance(o, Objective) for o in objectives):
        raise ValueError("objective must be an Objective (class_logit, channel, "
                         "layer_activation or a weighted sum of them) or a non-empty list of "
                         f"them, got {objective!r}")
    if n_images is not None and n_images != len(objectives):
        raise ValueError(f"n_images={n_images!r} but {len(objectives)} objectives were given "
                         "(one image each): leave n_images out")
    return objectives


@dataclasses.dataclass(frozen=True)
class _Plan:
    """Objectives of a batch as arrays: ``slots`` is the structure (one (kind, layer)
    per column), ``weights`` and ``indices`` (N, slots) say each image's terms; a term an
    image does not have has weight 0."""
    slots: tuple[tuple[str, str | None], ...]
    weights: np.ndarray
    indices: np.ndarray

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(layer for _, layer in self.slots if layer is not None))

    def rows(self, s: slice) -> "_Plan":
        return _Plan(self.slots, self.weights[s], self.indices[s])


def _plan(net, objectives: list[Objective]) -> _Plan:
    """Check every term against the model and lay the objectives out as arrays."""
    per_image = []
    for objective in objectives:
        terms = []
        for t in objective.terms:
            if t.kind not in KINDS:
                raise ValueError(f"unknown objective kind {t.kind!r}; kinds: {list(KINDS)}")
            layer = None if t.kind == "class_logit" else net.layer(t.layer)
            if t.kind == "class_logit" and t.index >= net.num_classes:
                raise ValueError(f"class index {t.index} out of range: the model has "
                                 f"{net.num_classes} classes (0..{net.num_classes - 1})")
            if t.kind == "channel":
                n_channels = int(net.tensor(layer).shape[-1])
                if t.index >= n_channels:
                    raise ValueError(f"channel index {t.index} out of range: layer {layer!r} "
                                     f"has {n_channels} channels (0..{n_channels - 1})")
            terms.append(((t.kind, layer), t.index, t.weight))
        per_image.append(terms)
    slots: list = []
    for terms in per_image:                       # a key used twice by one objective
        for key in dict.fromkeys(k for k, _, _ in terms):   # needs two slots
            need = sum(k == key for k, _, _ in terms)
            while slots.count(key) < need:
                slots.append(key)
    weights = np.zeros((len(per_image), len(slots)), np.float32)
    indices = np.zeros((len(per_image), len(slots)), np.int32)
    for i, terms in enumerate(per_image):
        free = list(range(len(slots)))
        for key, index, weight in terms:
            s = next(j for j in free if slots[j] == key)
            free.remove(s)
            weights[i, s], indices[i, s] = weight, index
    return _Plan(tuple(slots), weights, indices)


def _objective_values(plan_slots, outputs, weights, indices):
    """The objective of each image (N,) from the model's outputs (a dict layer ->
    activation, and ``"logits"``), inside a compiled function."""
    total = 0.0
    for s, (kind, layer) in enumerate(plan_slots):
        if kind == "class_logit":
            value = tf.gather(outputs["logits"], indices[:, s], batch_dims=1)
        elif kind == "channel":
            means = tf.reduce_mean(outputs[layer], axis=[1, 2])          # (N, channels)
            value = tf.gather(means, indices[:, s], batch_dims=1)
        else:
            value = tf.reduce_mean(tf.square(outputs[layer]), axis=[1, 2, 3])
        total += weights[:, s] * value
    return total


def _feature_model(net, layers: tuple[str, ...], any_size: bool = False):
    """A keras model images -> {layer: activation, ..., "logits": logits}, sharing the
    model's layers. ``any_size``: the same graph on an input of any height and width
    (Deep Dream's octaves), or a ValueError if the model only takes its own size."""
    def build():
        inputs = net.logits_model.inputs
        outputs = {name: net.tensor(name) for name in layers}
        outputs["logits"] = net.logits_model.outputs[0]
        model = keras.Model(inputs, outputs)
        if not any_size:
            return model
        try:    # the same layers (clone_function returns each layer itself) on a new input
            return keras.models.clone_model(model, input_tensors=[keras.Input((None, None, 3))],
                                            clone_function=lambda layer: layer)
        except Exception as e:   # a Flatten/Dense on the feature map, a fixed reshape, ...
            raise ValueError(f"model {net.name!r} only accepts inputs of size "
                             f"{net.input_shape[:2]} ({type(e).__name__}: {e}); Deep Dream's "
                             "octaves need a model that accepts any size: use octaves=1") from e
    return net.cached(("featurevis.model", layers, any_size), build)
