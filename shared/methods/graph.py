"""The network: any Keras model as one flat graph, ending in logits, with named layers.

A method explains a model; this module turns whatever Keras model it is given into the
one thing every method needs, a :class:`Network`:

* **flat**: a base model nested as a layer (the transfer-learning recipe), a
  ``Sequential`` model or a plain functional model all become one flat graph that shares
  the model's layers and weights (in-place weight changes are seen);
* **ending in logits**: a softmax or sigmoid output, a separate ``Activation`` layer or
  one fused into the last ``Dense`` layer, is cut off: gradient methods differentiate
  the pre-activation scores, and :func:`shared.methods.scores` gives either;
* **every layer reachable by name**: a layer inside a nested model is found by its own
  name when no other layer shares it, and always by its path ``outer/inner``
  (:meth:`Network.feature_layers` lists the names a CAM method accepts);
* **ReLUs replaceable**: :meth:`Network.relu_replaced` builds the same network with
  every ReLU (``Activation``, ``layers.ReLU`` or fused into a layer) swapped for another
  rule, which is how guided backpropagation gets its backward pass.

The network is built once per model and cached without keeping the model alive: the
cache holds only the flat graphs and their compiled functions, never the model object,
so a model that is dropped is freed (the randomization sanity check makes dozens).
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import Callable

import keras
import tensorflow as tf

L = keras.layers

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

    def activation_model(self, name: str):
        """A flat keras model from images to the activation of layer ``name``."""
        return keras.Model(self._input, self.tensor(name))

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

