"""The engine every method runs on: one view of the model, checks, batching, counting.

A method explains a model; the engine turns whatever Keras model it is given into the
one thing every method needs, a :class:`Network`:

* **flat**: a base model nested as a layer (the transfer-learning recipe), a
  ``Sequential`` model or a plain functional model all become one flat graph that shares
  the model's layers and weights (in-place weight changes are seen);
* **ending in logits**: a softmax or sigmoid output, a separate ``Activation`` layer or
  one fused into the last ``Dense`` layer, is cut off: gradient methods differentiate
  the pre-activation scores, and :func:`scores` gives either;
* **every layer reachable by name**: a layer inside a nested model is found by its own
  name when no other layer shares it, and always by its path ``outer/inner``
  (:meth:`Network.feature_layers` lists the names a CAM method accepts);
* **ReLUs replaceable**: :meth:`Network.relu_replaced` builds the same network with
  every ReLU (``Activation``, ``layers.ReLU`` or fused into a layer) swapped for another
  rule, which is how guided backpropagation gets its backward pass.

The network is built once per model and cached without keeping the model alive: the
cache holds only the flat graphs and their compiled functions, never the model object,
so a model that is dropped is freed (the randomization sanity check makes dozens).

Everything a method computes goes through a few compiled, batched primitives:
:func:`scores` (forward passes), :func:`gradients`, :func:`mean_input_gradients`
and :func:`layer_gradients` (forward and backward passes), and :func:`activations`.
Each counts the image-passes it makes, which :func:`count_passes` reads.

A method is defined once with the :func:`attribution` decorator, which checks the
images, resolves the targets and validates every parameter *before* any work, and
registers the method in :data:`ATTRIBUTIONS`. Parameters share one vocabulary
(:data:`PARAMETERS`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import weakref
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from .postprocess import REDUCTIONS

L = keras.layers

# --------------------------------------------------------------------------------------
# Parameter vocabulary: one name, one meaning, one check, across all methods
# --------------------------------------------------------------------------------------


def positive_int(name: str, value) -> int:
    """Check a count (``batch_size``, ``steps``, ``n_samples``, ...): an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def non_negative_int(name: str, value) -> int:
    """Check a seed or an index: an int >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


def non_negative(name: str, value) -> float:
    """Check a scale (``noise``, a kernel width, ...): a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def positive_number(name: str, value) -> float:
    """Check a width or a scale that must not be 0: a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def probability(name: str, value) -> float:
    """Check a probability strictly between 0 and 1 (RISE's keep probability, ...)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not 0 < value < 1:
        raise ValueError(f"{name} must be a number in the open interval (0, 1), got {value!r}")
    return float(value)


def boolean(name: str, value) -> bool:
    """Check a switch: True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def one_of(*choices: str) -> Callable:
    """A check that the value is one of ``choices``."""
    def check(name: str, value):
        if value not in choices:
            raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
        return value
    return check


SCORES = ("logit", "probability")
"""What a model's output means to a method: the pre-activation ``logit`` (white-box
methods differentiate it) or the ``probability`` the model outputs (the perturbation
methods LIME, RISE and anchors use it, as in their papers)."""

PARAMETERS: dict[str, Callable] = {
    "batch_size": positive_int,   # images per compiled call; changes speed, not results
    "steps": positive_int,        # points on a path (Integrated Gradients) or a curve
    "n_samples": positive_int,    # random samples (SmoothGrad noise, RISE masks, LIME)
    "seed": non_negative_int,     # every random draw derives from it
    "noise": non_negative,        # a standard deviation, as a fraction of the [0, 1] range
    "upsample": boolean,          # resize a layer's map to the input size
    "score": one_of(*SCORES),
    "reduce": one_of(*REDUCTIONS),   # colour channels -> one value (see postprocess)
}
"""The shared parameter vocabulary: name -> check. Two more names are shared but checked
where they are resolved: ``layer`` (a feature layer of the model, ``None`` for the last
one; checked against the model) and ``baseline`` (what "absent" means; checked against
the images)."""


# --------------------------------------------------------------------------------------
# Counting image-passes
# --------------------------------------------------------------------------------------

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


def record_passes(forward: int = 0, backward: int = 0) -> None:
    """Add image-passes to every open :func:`count_passes` block (for code that calls the
    model through its own compiled functions, e.g. feature visualisation)."""
    for passes in _COUNTERS:
        passes.forward += forward
        passes.backward += backward


# --------------------------------------------------------------------------------------
# The network: a model flattened, ending in logits, with named layers
# --------------------------------------------------------------------------------------

_RELU = keras.activations.relu
_LINEAR = keras.activations.linear
_OUTPUT_ACTIVATIONS = {keras.activations.softmax: "softmax", keras.activations.sigmoid: "sigmoid"}
_CONV_KINDS = (L.Conv1D, L.Conv2D, L.Conv3D, L.SeparableConv2D, L.DepthwiseConv2D,
               L.Conv2DTranspose)


def _is_graph_model(layer) -> bool:
    """A model whose graph can be inlined: functional (``_run_through_graph``) or
    ``Sequential``."""
    return isinstance(layer, keras.Sequential) or (
        isinstance(layer, keras.Model) and hasattr(layer, "_run_through_graph"))


def _activation_kind(layer) -> str | None:
    """How a layer's non-linearity is classified: ``"relu"`` (a plain ReLU layer),
    ``"fused-relu"`` (a ReLU inside a conv/dense layer), ``"softmax"``/``"sigmoid"``
    (possible outputs), ``"other"`` (any other non-linearity), ``None`` (linear or none)."""
    if isinstance(layer, L.ReLU):
        c = layer.get_config()
        plain = c.get("max_value") is None and not c.get("negative_slope") and not c.get("threshold")
        return "relu" if plain else "other"
    if isinstance(layer, L.Softmax):
        return "softmax"
    if isinstance(layer, (L.LeakyReLU, L.PReLU, L.ELU)):
        return "other"
    fn = getattr(layer, "activation", None)
    if fn is None or fn is _LINEAR:
        return None
    if fn is _RELU:
        return "relu" if isinstance(layer, L.Activation) else "fused-relu"
    return _OUTPUT_ACTIVATIONS.get(fn, "other")


class _WithActivation(L.Layer):
    """Calls a layer that has a fused activation with another activation in its place;
    the layer (and so its weights) is shared, never copied."""

    def __init__(self, layer, activation, name: str):
        super().__init__(name=name)
        self.inner = layer
        self.replacement = activation

    def call(self, *args, **kwargs):
        saved = self.inner.activation
        self.inner.activation = self.replacement  # only while the graph is traced
        try:
            return self.inner.call(*args, **kwargs)
        finally:
            self.inner.activation = saved


class _Alias(L.Layer):
    """A layer under another name: a flat graph needs unique names, and two nested
    models may both have a layer called ``dense``."""

    def __init__(self, layer, name: str):
        super().__init__(name=name)
        self.inner = layer

    def call(self, *args, **kwargs):
        return self.inner(*args, **kwargs)


@dataclasses.dataclass
class _Call:
    """One call of a leaf layer in the flat graph."""
    path: str            # "outer/inner" for a layer of a nested model
    layer: object        # the model's own layer
    inputs: list         # the flat graph's input tensors of the call
    output: object       # the flat graph's output tensor


class ModelError(ValueError):
    """The model cannot be explained by a method (several inputs, no image input, ...)."""


def _flatten(model, relu=None):
    """Inline every nested model into one graph on a fresh input.

    ``relu``: ``None`` keeps the ReLUs; a callable replaces every ReLU by it (an error
    names a ReLU variant it cannot replace). Returns (input, output, calls, replaced).
    """
    if not _is_graph_model(model):
        raise ModelError(f"model {model.name!r} is a subclassed keras.Model: the methods "
                         "need a functional or Sequential model (a graph of layers)")
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise ModelError(f"model {model.name!r} has no defined input: build a Sequential "
                         "model with keras.Input(...) as its first layer")
    if len(inputs) != 1:
        raise ModelError(f"model {model.name!r} has {len(inputs)} inputs; the methods explain "
                         "models with one image input (N, H, W, 3)")
    shape = tuple(inputs[0].shape)
    if len(shape) != 4 or shape[-1] != 3:
        raise ModelError(f"model {model.name!r} takes input of shape {shape}; the methods "
                         "explain image models with input (N, H, W, 3), channels last")

    if relu is None and not any(_is_graph_model(layer) for layer in model.layers):
        own = _own_graph(model)
        if own is not None:
            return own

    calls: list[_Call] = []
    used: set[str] = set()
    replaced = [0]

    def unique(name: str) -> str:
        k, candidate = 1, name
        while candidate in used:
            k += 1
            candidate = f"{name}_{k}"
        used.add(candidate)
        return candidate

    def call(layer, args, kwargs, prefix):
        while isinstance(layer, _Alias):           # a flat graph flattened again
            layer = layer.inner
        if _is_graph_model(layer):
            return inline(layer, args, prefix + layer.name + "/")
        op, kind = layer, _activation_kind(layer)
        if relu is not None and kind in ("relu", "fused-relu"):
            replaced[0] += 1
            op = (L.Activation(relu, name=unique(layer.name + "_replaced")) if kind == "relu"
                  else _WithActivation(layer, relu, unique(layer.name + "_replaced")))
        elif any(c.layer is layer for c in calls):
            pass                                   # a shared layer, called again
        elif layer.name in used:
            op = _Alias(layer, unique(layer.name))  # another layer with the same name
        else:
            used.add(layer.name)
        out = op(*args, **kwargs)
        tensors = [a for a in tf.nest.flatten(args) if isinstance(a, keras.KerasTensor)]
        calls.append(_Call(prefix + layer.name, layer, tensors, out))
        return out

    def inline(m, args, prefix):
        if isinstance(m, keras.Sequential):
            x = args[0]
            for layer in m.layers:
                x = call(layer, (x,), {}, prefix)
            return x
        if len(m.inputs) != 1:
            raise ModelError(f"nested model {m.name!r} has {len(m.inputs)} inputs; only "
                             "single-input nested models can be inlined")
        out = m._run_through_graph(
            [args[0]], operation_fn=lambda op: (lambda *a, **k: call(op, a, k, prefix)))
        out = tf.nest.flatten(out)
        if len(out) != 1:
            raise ModelError(f"model {m.name!r} has {len(out)} outputs; the methods explain "
                             "models with one output (the class scores)")
        return out[0]

    x = keras.Input(batch_shape=(None,) + shape[1:], dtype="float32")
    used.add(x._keras_history.operation.name)
    out = inline(model, [x], "")
    return x, out, calls, replaced[0]


class Network:
    """A model as the methods see it. Build with :func:`network` (cached per model).

    Attributes:
        input_shape: (H, W, 3); ``None`` where the model accepts any size.
        output_activation: ``"softmax"``, ``"sigmoid"`` or ``None`` (the model outputs
            logits; a softmax over them is taken as its probabilities).
        logits_model: a flat keras model from images to logits (layers shared).
        output_model: a flat keras model from images to the model's own output.
    """

    def __init__(self, model):
        self.name = model.name
        x, out, calls, _ = _flatten(model)
        if len(out.shape) != 2:
            raise ModelError(f"model {model.name!r} outputs shape {tuple(out.shape)}; the "
                             "methods explain classifiers with output (N, classes)")
        self.input_shape = tuple(x.shape[1:])
        self._calls = calls
        logits, self.output_activation, self._head = _logits_of(out, calls)
        self.logits_model = keras.Model(x, logits, name=f"{model.name}_logits")
        self.output_model = keras.Model(x, out, name=f"{model.name}_flat")
        self.num_classes = int(logits.shape[-1])
        self._input = x
        self._output = out
        self._logits = logits
        self._by_name: dict[str, list[_Call]] = {}
        for c in calls:
            self._by_name.setdefault(c.path, []).append(c)
            inner = c.path.rsplit("/", 1)[-1]
            if inner != c.path:
                self._by_name.setdefault(inner, []).append(c)
        self._cache: dict = {}

    # ---------------------------------------------------------------- layers
    def _calls_named(self, name: str) -> list[_Call]:
        found = self._by_name.get(name, [])
        return list({id(c): c for c in found}.values())

    def _feature_calls(self) -> list[_Call]:
        calls, seen_conv = [], False
        for c in self._calls:
            seen_conv = seen_conv or isinstance(c.layer, _CONV_KINDS)
            if seen_conv and len(c.output.shape) == 4:
                calls.append(c)
        return calls

    def _display_name(self, c: _Call) -> str:
        inner = c.path.rsplit("/", 1)[-1]
        return inner if len(self._calls_named(inner)) == 1 else c.path

    def feature_layers(self) -> list[str]:
        """Names of the layers with a 4-D output (N, h, w, channels) at or after the first
        convolution: the layers a CAM method can use, in graph order. A layer of a
        nested model is listed by its own name if unique, else by its path."""
        return list(dict.fromkeys(self._display_name(c) for c in self._feature_calls()))

    def layer(self, name: str | None) -> str:
        """Check a feature-layer name and return it; ``None`` gives the last feature layer
        (the last convolutional feature map, the choice of the Grad-CAM paper)."""
        usable = self.feature_layers()
        if name is None:
            if not usable:
                raise ModelError(f"model {self.name!r} has no convolutional feature map (no "
                                 "4-D layer output after a convolution): CAM methods need one; "
                                 "use an input-gradient or perturbation method")
            return usable[-1]
        if not isinstance(name, str):
            raise ValueError(f"layer must be a layer name (str) or None, got {name!r}")
        found = self._calls_named(name)
        if len(found) > 1:
            paths = sorted({c.path for c in found})
            raise ValueError(f"layer name {name!r} is ambiguous ({len(found)} layers or calls: "
                             f"{', '.join(paths)}): use the path")
        if not found:
            problem = "not found in the model"
        elif not any(c is found[0] for c in self._feature_calls()):
            problem = "has no 4-D (N, h, w, channels) output after a convolution"
        else:
            return name
        raise ValueError(f"layer {name!r} {problem}; usable layers: {', '.join(usable)}")

    def tensor(self, name: str):
        """The flat graph's output tensor of the layer ``name`` (checked by :meth:`layer`)."""
        return self._calls_named(self.layer(name))[0].output

    def layer_model(self, name: str):
        """A flat keras model from images to ``[activation of layer, logits]``."""
        name = self.layer(name)
        return self.cached(("layer_model", name), lambda: keras.Model(
            self._input, [self.tensor(name), self._logits]))

    def cam_head(self, name: str):
        """The dense layer of a CAM architecture (``name`` -> global average pooling ->
        dense logits), or a ModelError that says why the model is not one."""
        name = self.layer(name)
        dense, pooled = self._head
        producer = {id(c.output): c for c in self._calls}
        c = producer.get(id(pooled))
        while c is not None and isinstance(c.layer, L.Dropout):   # identity at inference
            c = producer.get(id(c.inputs[0]))
        if not (isinstance(dense, L.Dense) and c is not None
                and isinstance(c.layer, L.GlobalAveragePooling2D)
                and c.inputs[0] is self.tensor(name)):
            raise ModelError(f"CAM needs {name!r} to feed global average pooling and then the "
                             "dense logits layer directly; this model has another head: "
                             "use gradcam")
        return dense

    # ---------------------------------------------------------------- ReLUs replaced
    def relu_replaced(self, relu: Callable):
        """A flat logits model with every ReLU replaced by ``relu`` (layers shared).

        Refuses (``ModelError``) a model with no ReLU, with a ReLU variant (``max_value``,
        a negative slope, LeakyReLU), or with another hidden non-linearity (sigmoid,
        swish, ...), since the replacement would then silently leave part of the
        network's backward pass unchanged.
        """
        def build():
            hidden = [c for c in self._calls if c.output is not self._output
                      and _activation_kind(c.layer) in ("other", "softmax", "sigmoid")]
            if hidden:
                names = ", ".join(f"{c.path} ({_activation_name(c.layer)})" for c in hidden[:5])
                raise ModelError(f"model {self.name!r} has activations that the ReLU rules do "
                                 f"not cover: {names}; they are defined for networks whose "
                                 "hidden non-linearities are all plain ReLUs")
            x, out, calls, replaced = _flatten_again(self, relu)
            if replaced == 0:
                raise ModelError(f"model {self.name!r} has no ReLU: replacing its ReLUs would "
                                 "leave the plain gradient")
            logits, _, _ = _logits_of(out, calls)
            model = keras.Model(x, logits, name=f"{self.name}_relu_replaced")
            model.replaced_relus = replaced
            return model
        return self.cached(("relu_replaced", relu), build)

    # ---------------------------------------------------------------- compiled functions
    def cached(self, key, build):
        """``build()`` once per key for this network (sub-models, compiled functions)."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def cached_keys(self) -> list:
        """The keys of what :meth:`cached` has built so far."""
        return list(self._cache)

    def signature(self, with_targets: bool):
        spec = [tf.TensorSpec((None,) + self.input_shape, tf.float32)]
        return spec + [tf.TensorSpec((None,), tf.int32)] if with_targets else spec


def _own_graph(model):
    """A model that is already flat is used as it is: its own input, layers and tensors
    (so ``model.get_layer(name).output`` stays valid for other libraries). ``None`` if
    the layers' first calls are not this model's."""
    if len(model.outputs) != 1:
        raise ModelError(f"model {model.name!r} has {len(model.outputs)} outputs; the methods "
                         "explain models with one output (the class scores)")
    calls = [_Call(layer.name, layer,
                   [t for t in tf.nest.flatten(layer.input) if isinstance(t, keras.KerasTensor)],
                   layer.output)
             for layer in model.layers if not isinstance(layer, L.InputLayer)]
    # Each layer's first call must belong to this model's graph (it does not when the
    # layers are shared with another model built first): else the graph is rebuilt.
    available = {id(model.inputs[0])}
    for c in calls:
        if not all(id(t) in available for t in c.inputs):
            return None
        available.add(id(c.output))
    if id(model.outputs[0]) not in available:
        return None
    return model.inputs[0], model.outputs[0], calls, 0


def _activation_name(layer) -> str:
    """A short description of a layer's non-linearity, for error messages."""
    if isinstance(layer, L.ReLU):
        c = layer.get_config()
        args = [f"{k}={c[k]}" for k in ("max_value", "negative_slope", "threshold") if c.get(k)]
        return f"ReLU({', '.join(args)})"
    fn = getattr(layer, "activation", None)
    return getattr(fn, "__name__", layer.__class__.__name__)


def _flatten_again(net: Network, relu):
    """Flatten the model behind ``net`` again with ReLUs replaced. The original model is
    not kept by the network (so it can be freed); its flat graph serves as the source."""
    return _flatten(net.output_model, relu)


def _logits_of(out, calls):
    """The logits tensor behind a model output, its activation, and the CAM head.

    A softmax/sigmoid ``Activation`` or ``Softmax`` layer is cut off; a softmax/sigmoid
    fused into the last layer is replaced by the identity (weights shared); a linear
    last layer already gives logits.
    """
    last = next((c for c in reversed(calls) if c.output is out), None)
    if last is None:
        raise ModelError("cannot find the layer that produces the model's output")
    kind = _activation_kind(last.layer)
    if kind in ("softmax", "sigmoid") and isinstance(last.layer, (L.Activation, L.Softmax)):
        logits, activation = last.inputs[0], kind
        producer = next((c for c in reversed(calls) if c.output is logits), None)
        head = (producer.layer, producer.inputs[0] if producer and producer.inputs else None) \
            if producer else (None, None)
    elif kind in ("softmax", "sigmoid"):
        logits = _WithActivation(last.layer, _LINEAR, f"{last.layer.name}_pre_activation")(
            last.inputs[0])
        activation, head = kind, (last.layer, last.inputs[0])
    elif kind is None:
        logits, activation = out, None
        head = (last.layer, last.inputs[0] if last.inputs else None)
    else:
        raise ModelError(f"cannot find the logits: the model's output comes from layer "
                         f"{last.path!r} with activation {_activation_name(last.layer)!r}; end "
                         "the model with a Dense layer and an optional softmax or sigmoid")
    return logits, activation, head


_NETWORKS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def network(model) -> Network:
    """The :class:`Network` of ``model``, built on first use and cached.

    The cache is keyed weakly by the model and its value never refers to the model, so
    a model that goes out of scope is freed with everything built for it.
    """
    if isinstance(model, Network):
        return model
    if not isinstance(model, keras.Model):
        raise ModelError(f"expected a keras.Model, got {type(model).__name__}")
    net = _NETWORKS.get(model)
    if net is None:
        net = _NETWORKS[model] = Network(model)
    return net


# --------------------------------------------------------------------------------------
# Input checks (each raises ValueError that names the problem)
# --------------------------------------------------------------------------------------

def check_images(images, model=None) -> np.ndarray:
    """Check a batch of images and return it as float32 (N, H, W, 3) in [0, 1].

    With a model, the size must be one the model accepts.
    """
    a = np.asarray(images)
    if a.ndim != 4:
        hint = " (a single image? pass images[None])" if a.ndim == 3 else ""
        raise ValueError(f"images must have rank 4 (N, H, W, 3), got rank {a.ndim} "
                         f"with shape {a.shape}{hint}")
    if a.shape[-1] != 3:
        raise ValueError(f"images must have 3 channels (RGB, last axis), got {a.shape[-1]} "
                         f"channels in shape {a.shape}")
    if len(a) == 0:
        raise ValueError("images is empty (N = 0)")
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"images must have a float dtype with values in [0, 1], got dtype "
                         f"{a.dtype} (for 0-255 integers use images / 255)")
    if np.isnan(a).any():
        raise ValueError(f"images contain NaN values ({int(np.isnan(a).sum())} of them)")
    lo, hi = float(a.min()), float(a.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"image values must be in [0, 1], got values in [{lo:g}, {hi:g}]"
                         + (" (0-255 images? divide by 255)" if hi > 1.0 else ""))
    if model is not None:
        _check_size(a, network(model))
    return a.astype(np.float32, copy=False)


def _check_size(a: np.ndarray, net: Network) -> None:
    expected = net.input_shape
    if any(e is not None and e != s for e, s in zip(expected, a.shape[1:])):
        raise ValueError(f"images have shape (H, W, C) = {a.shape[1:]}, but the model "
                         f"expects {expected}")


def _as_batch(images, net: Network) -> np.ndarray:
    """float32 (N, H, W, 3) of a size the model takes (a cheap structural check only:
    the primitives below trust :func:`check_images`, or the method, for the values)."""
    a = np.asarray(images, np.float32)
    if a.ndim != 4 or a.shape[-1] != 3:
        raise ValueError(f"images must have shape (N, H, W, 3), got {a.shape}")
    _check_size(a, net)
    return a


def resolve_targets(model, images, targets=None, batch_size: int = 64) -> np.ndarray:
    """The class to explain for each image, as int32 (N,).

    ``None``: each image's predicted class (the largest logit); an int: that class for
    every image; a sequence: one class index per image.
    """
    n, c = len(images), network(model).num_classes
    if targets is None:
        return np.argmax(scores(model, images, batch_size=batch_size), axis=-1).astype(np.int32)
    t = np.asarray(targets)
    if t.dtype == bool or not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"targets must be class indices (integers), got {targets!r}")
    if t.ndim == 0:
        t = np.full(n, int(t))
    if t.ndim != 1 or len(t) != n:
        raise ValueError(f"targets must be one int or a sequence of one int per image "
                         f"({n} images), got shape {t.shape}")
    bad = t[(t < 0) | (t >= c)]
    if len(bad):
        raise ValueError(f"target class index {int(bad[0])} out of range: valid class "
                         f"indices are 0..{c - 1}")
    return t.astype(np.int32)


# --------------------------------------------------------------------------------------
# The primitives: compiled once per model, run in batches, counted
# --------------------------------------------------------------------------------------

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
    x = _as_batch(images, net)
    fn = _forward_fn(net, score)
    parts = [fn(tf.constant(x[s])).numpy() for s in _batches(len(x), batch_size)]
    record_passes(forward=len(x))
    out = np.concatenate(parts) if parts else np.zeros((0, net.num_classes), np.float32)
    if targets is None:
        return out
    t = resolve_targets(model, x, targets)
    return out[np.arange(len(out)), t]


def model_outputs(model, images, batch_size: int = 64) -> np.ndarray:
    """The model's own outputs (what ``model.predict`` returns), batched and compiled."""
    net = network(model)
    x = _as_batch(images, net)
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
    x = _as_batch(images, net)
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
    x = _as_batch(images, net)
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
    x = _as_batch(images, net)
    name = net.layer(layer)

    def build():
        sub = keras.Model(net._input, net.tensor(name))
        return tf.function(lambda v: sub(v, training=False), input_signature=net.signature(False))
    fn = net.cached(("activations", name), build)
    parts = [fn(tf.constant(x[s])).numpy() for s in _batches(len(x), batch_size)]
    record_passes(forward=len(x))
    return np.concatenate(parts)


# --------------------------------------------------------------------------------------
# Defining a method
# --------------------------------------------------------------------------------------

ATTRIBUTIONS: dict[str, Callable] = {}
"""Method name -> ``f(model, images, targets=None, **params) -> (N, H, W)`` maps, in the
order the methods are defined. Filled by :func:`attribution`."""


def attribution(*, sources: dict[str, str] | None = None, checks: dict | None = None,
                fast: dict | None = None, register: bool = True,
                decision_only: bool = False):
    """Define an attribution method: check once, validate parameters, register.

    The decorated function ``body(model, images, targets, *, params...)`` receives
    images checked by :func:`check_images`, targets resolved by
    :func:`resolve_targets` (int32, one per image), every keyword parameter validated
    (by :data:`PARAMETERS` or ``checks``) and ``layer`` resolved to a concrete name.
    The public method is called ``method(model, images, targets=None, **params)``.

    Args:
        sources: where each default comes from (parameter -> the paper, the library
            or our measurement); :func:`defaults` prints them.
        checks: checks for parameters outside the shared vocabulary (name -> check).
        fast: parameters that make the method cheap for the tests (fewer samples).
        register: add the method to :data:`ATTRIBUTIONS` (False for functions that
            return something else than (N, H, W) maps, or need a special model, as CAM).
        decision_only: the method explains the model's decision and nothing else (an
            anchor's precision is defined by the predicted class): targets other than
            the predicted classes are refused.

    The method keeps the unchecked body as ``method.unchecked``, for composite methods
    (Guided Grad-CAM multiplies two) that have already checked their inputs.
    """
    def define(body):
        signature = inspect.signature(body)
        params = {n: p.default for n, p in signature.parameters.items()
                  if p.kind is p.KEYWORD_ONLY}
        validators = {n: PARAMETERS[n] for n in params if n in PARAMETERS}
        validators.update(checks or {})

        @functools.wraps(body)
        def method(model, images, targets=None, **kwargs):
            unknown = sorted(set(kwargs) - set(params))
            if unknown:
                raise TypeError(f"{body.__name__}() got unknown parameter(s) {unknown}; its "
                                f"parameters are {list(params)}")
            values = {**params, **kwargs}
            for name, check in validators.items():
                values[name] = check(name, values[name])
            net = network(model)
            if "layer" in values:
                values["layer"] = net.layer(values["layer"])
            images = check_images(images, net)
            batch_size = values.get("batch_size", 64)
            asked = None if targets is None else resolve_targets(model, images, targets,
                                                                  batch_size)
            if decision_only or asked is None:
                targets = resolve_targets(model, images, None, batch_size)
                if asked is not None and (asked != targets).any():
                    i = int(np.flatnonzero(asked != targets)[0])
                    raise ValueError(f"{body.__name__} explains the model's decision: image {i} "
                                     f"is predicted as class {targets[i]}, not {asked[i]} "
                                     "(pass targets=None)")
            else:
                targets = asked
            return body(model, images, targets, **values)

        method.unchecked = body
        method.defaults = dict(params)
        method.sources = dict(sources or {})
        method.fast_parameters = dict(fast or {})
        method.decision_only = decision_only
        if register:
            ATTRIBUTIONS[body.__name__] = method
        return method
    return define


def defaults(method) -> list[tuple[str, object, str]]:
    """A method's parameters as (name, default, where the default comes from)."""
    method = ATTRIBUTIONS[method] if isinstance(method, str) else method
    return [(name, value, method.sources.get(name, ""))
            for name, value in method.defaults.items()]
