"""The book's models: an Xception builder, the shared checkpoint and the ImageNet path.

Every model here takes images as float32 (N, H, W, 3) in [0, 1] (the convention of
:mod:`shared.data`); its first layer, ``preprocess``, rescales them to the [-1, 1] range
that Xception was designed for. Every model ends in two named layers:

* ``logits``: the dense layer, before the softmax, and
* ``predictions``: the softmax probabilities (the model's output),

so ``logits_model(model)`` gives the pre-softmax scores that gradient methods should
differentiate.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

CHECKPOINT_DIR = Path(__file__).parent / "checkpoint"
CHECKPOINT = CHECKPOINT_DIR / "xception_pox.keras"
"""The shared checkpoint every chapter explains (made by ``python -m shared.train``)."""
MODEL_CARD = CHECKPOINT_DIR / "model_card.json"

VARIANTS = {
    "default": "the book's checkpoint: balanced classes, no shortcut",
    "shortcut": "a planted shortcut: an ink dot on 80 % of the Monkeypox training images",
    "imbalanced": "class counts like the original write-up's data (Monkeypox-heavy, 718 images)",
    "small": "balanced, as many images as 'imbalanced' (its control)",
}
"""The checkpoints shipped with the package (``python -m shared.train --preset NAME``
makes each): the book's model and the comparison chapter's experiments."""


def checkpoint_dir(variant: str = "default") -> Path:
    """The folder of a shipped checkpoint and its model card (see :data:`VARIANTS`)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown checkpoint variant {variant!r}; expected one of "
                         f"{list(VARIANTS)}")
    return CHECKPOINT_DIR if variant == "default" else CHECKPOINT_DIR / variant


def _recreate(variant: str) -> str:
    preset = "" if variant == "default" else f" --preset {variant}"
    return f"recreate it with `python -m shared.train{preset}`"

LAST_CONV_LAYER = "block14_sepconv2_act"
"""The last convolutional feature map (7 x 7 at 224 px): Grad-CAM's usual layer."""


def _keras():
    import keras
    return keras


def _scaled(filters: int, width: float) -> int:
    """Scale a filter count by the width multiplier, rounded to a multiple of 8."""
    return max(8, int(filters * width + 4) // 8 * 8)


def xception(input_shape=(299, 299, 3), classes: int = 1000, width: float = 1.0,
             middle_blocks: int = 8, *, bn_momentum: float = 0.99,
             dropout: float = 0.0, name: str = "xception"):
    """Build Xception (Chollet 2017) as one flat functional Keras model.

    The entry flow (blocks 1-4), the middle flow (``middle_blocks`` residual blocks of
    three depthwise-separable convolutions, named ``block5`` onwards) and the exit flow
    (``block13``, ``block14``) follow the paper and ``keras.applications.Xception``,
    with the same layer names: ``block14_sepconv2_act`` is the last feature map in both,
    whatever the depth. With the defaults the parameter count equals
    ``keras.applications.Xception(weights=None)``. Unnamed layers of the keras version
    (the residual shortcuts) are named ``blockK_residual`` and ``blockK_residual_bn``.

    Args:
        input_shape: (H, W, 3); at least 71 x 71. The last feature map is about H/32.
        classes: number of output classes.
        width: multiplier on every layer's number of filters (1.0 = Xception).
        middle_blocks: residual blocks in the middle flow (8 in Xception).
        bn_momentum: BatchNormalization momentum (0.9 trains faster from scratch).
        dropout: dropout rate before the classifier (0 = none, as in Xception).
        name: the model's name.

    Returns:
        A ``keras.Model`` from [0, 1] images to softmax probabilities.
    """
    keras = _keras()
    layers = keras.layers
    h, w, c = input_shape
    if c != 3 or min(h, w) < 71:
        raise ValueError(f"input_shape must be (H, W, 3) with H, W >= 71, got {input_shape}")
    if width <= 0 or middle_blocks < 0 or classes < 1:
        raise ValueError("width must be > 0, middle_blocks >= 0 and classes >= 1")
    f = lambda n: _scaled(n, width)  # noqa: E731

    def bn(name):
        return layers.BatchNormalization(momentum=bn_momentum, name=name)

    def sepconv(x, filters, name, act=True):
        if act:
            x = layers.Activation("relu", name=f"{name}_act")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=name)(x)
        return bn(f"{name}_bn")(x)

    def downsampling_block(x, block, filters, first_act=True):
        residual = layers.Conv2D(filters[1], 1, strides=2, padding="same", use_bias=False,
                                 name=f"block{block}_residual")(x)
        residual = bn(f"block{block}_residual_bn")(residual)
        x = sepconv(x, filters[0], f"block{block}_sepconv1", act=first_act)
        x = sepconv(x, filters[1], f"block{block}_sepconv2")
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"block{block}_pool")(x)
        return layers.add([x, residual], name=f"block{block}_add")

    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = layers.Rescaling(2.0, offset=-1.0, name="preprocess")(inputs)
    # Entry flow
    x = layers.Conv2D(f(32), 3, strides=2, use_bias=False, name="block1_conv1")(x)
    x = bn("block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(f(64), 3, use_bias=False, name="block1_conv2")(x)
    x = bn("block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)
    x = downsampling_block(x, 2, (f(128), f(128)), first_act=False)
    x = downsampling_block(x, 3, (f(256), f(256)))
    x = downsampling_block(x, 4, (f(728), f(728)))
    # Middle flow
    for i in range(middle_blocks):
        residual = x
        for j in (1, 2, 3):
            x = sepconv(x, f(728), f"block{i + 5}_sepconv{j}")
        x = layers.add([x, residual], name=f"block{i + 5}_add")
    # Exit flow
    x = downsampling_block(x, 13, (f(728), f(1024)))
    x = layers.SeparableConv2D(f(1536), 3, padding="same", use_bias=False,
                               name="block14_sepconv1")(x)
    x = bn("block14_sepconv1_bn")(x)
    x = layers.Activation("relu", name="block14_sepconv1_act")(x)
    x = layers.SeparableConv2D(f(2048), 3, padding="same", use_bias=False,
                               name="block14_sepconv2")(x)
    x = bn("block14_sepconv2_bn")(x)
    x = layers.Activation("relu", name="block14_sepconv2_act")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(classes, name="logits")(x)
    outputs = layers.Activation("softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


# --------------------------------------------------------------------------------------
# The shared checkpoint
# --------------------------------------------------------------------------------------

class CheckpointError(RuntimeError):
    """The checkpoint file is missing or cannot be read."""


def load_model(path: str | os.PathLike | None = None, *, variant: str | None = None,
               logits: bool = False):
    """Load the book's shared checkpoint (or another ``.keras`` file).

    The file is read in Keras' safe mode (no arbitrary code is deserialized).

    Args:
        path: a ``.keras`` file; default :data:`CHECKPOINT`, shipped with the package, or
            the checkpoint in the folder that ``BOOK_MODEL`` names (:mod:`shared.setting`).
        variant: instead of ``path``, one of the shipped checkpoints (:data:`VARIANTS`);
            ``"default"`` is the book's checkpoint whatever ``BOOK_MODEL`` says.
        logits: return the pre-softmax model (see :func:`logits_model`) instead.

    Returns:
        A ``keras.Model`` from [0, 1] images (N, 224, 224, 3) to class probabilities.

    Raises:
        CheckpointError: the file is missing, not a Keras archive, or corrupt.
    """
    path, recreate = _checkpoint_file(path, variant, CHECKPOINT.name)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} not found: {recreate}, "
                              "or reinstall the package")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"checkpoint {str(path)!r} is not a Keras archive (corrupt or "
                              f"truncated file?): {recreate}")
    keras = _keras()
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:  # keras raises many types for a damaged archive
        raise CheckpointError(f"checkpoint {str(path)!r} could not be loaded ({type(e).__name__}: "
                              f"{e}): {recreate}") from e
    return logits_model(model) if logits else model


def model_card(path: str | os.PathLike | None = None, *, variant: str | None = None) -> dict:
    """The model card written by ``python -m shared.train`` beside a checkpoint: a
    ``model_card.json`` file, or a shipped checkpoint's (:data:`VARIANTS`); without
    either, the card beside :func:`load_model`'s default checkpoint."""
    path, recreate = _checkpoint_file(path, variant, MODEL_CARD.name)
    if not path.is_file():
        raise CheckpointError(f"model card {str(path)!r} not found: {recreate}")
    return json.loads(path.read_text())


def _checkpoint_file(path, variant, name: str) -> tuple[Path, str]:
    """The file asked for by ``path`` or ``variant`` (not both), and how to recreate it."""
    if path is not None and variant is not None:
        raise ValueError("give a path or a variant, not both")
    if path is not None:
        return Path(path), _recreate("default")
    if variant is None:
        from .setting import own_model
        own = own_model()
        if own is not None:              # BOOK_MODEL: the reader's model folder
            return own.folder / name, "train it again with `python -m shared.train --data-dir`"
    variant = variant or "default"
    return checkpoint_dir(variant) / name, _recreate(variant)


def logits_model(model):
    """The same network as one flat model ending at the pre-softmax scores (the logits).

    Weights are shared, not copied. Works for the book's models (a ``logits`` layer before
    the ``predictions`` softmax), for keras.applications models (softmax fused into the
    last Dense layer), for a base model nested inside another, for Sequential models and
    for models that already output logits. Built once per model
    (:func:`shared.methods.network`).
    """
    from shared.methods import network
    return network(model).logits_model


def predict(model, images, batch_size: int = 64) -> np.ndarray:
    """The model's outputs (for the book's models, probabilities) for a batch of images.

    Runs in batches of ``batch_size`` through one compiled function per model; returns
    numpy. Use :func:`shared.methods.scores` for logits or one class's score.
    """
    from shared.methods.primitives import model_outputs
    return model_outputs(model, images, batch_size=batch_size)


# --------------------------------------------------------------------------------------
# The ImageNet path (needs a network)
# --------------------------------------------------------------------------------------

class ImageNetXception(NamedTuple):
    """What :func:`imagenet_xception` returns."""
    model: object        #: keras.applications.Xception with ImageNet weights
    preprocess: object   #: maps [0, 1] images of any size to the model's input
    class_names: list    #: the 1000 ImageNet class names, in output order


def imagenet_xception() -> ImageNetXception:
    """``keras.applications.Xception`` with ImageNet weights, its preprocessing and classes.

    Needs a network connection (the weights and the class index are downloaded once and
    cached by Keras). Offline it raises ``RuntimeError`` that says why and what to use
    instead. The returned ``preprocess`` takes [0, 1] images, resizes them to 299 x 299
    and maps them to [-1, 1] as Xception expects.
    """
    keras = _keras()
    try:
        model = keras.applications.Xception(weights="imagenet")
        index_path = keras.utils.get_file(
            "imagenet_class_index.json",
            "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json",
            cache_subdir="models")
    except Exception as e:  # URLError, OSError, ... depending on where the download fails
        raise RuntimeError(
            "could not download the ImageNet weights of Xception (is there a network "
            f"connection?): {type(e).__name__}: {e}. Offline, use the book's own checkpoint: "
            "shared.models.load_model().") from e
    index = json.loads(Path(index_path).read_text())
    class_names = [index[str(i)][1] for i in range(len(index))]

    def preprocess(images):
        import tensorflow as tf
        images = tf.image.resize(np.asarray(images, np.float32), (299, 299))
        return keras.applications.xception.preprocess_input(images * 255.0)

    return ImageNetXception(model, preprocess, class_names)


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights could not be downloaded (no network) or read from a file."""


XCEPTION_NOTOP_WEIGHTS = "xception_weights_tf_dim_ordering_tf_kernels_notop.h5"
"""The file of Xception's ImageNet weights without its top, as Keras downloads and caches it
(into ``$KERAS_HOME/models``, by default ``~/.keras/models``)."""
XCEPTION_NOTOP_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/xception/"
                      + XCEPTION_NOTOP_WEIGHTS)


def _weights_unavailable(weights, error: Exception) -> WeightsUnavailableError:
    cause = f"{type(error).__name__}: {error}"
    if weights == "imagenet":
        return WeightsUnavailableError(
            f"could not download the ImageNet weights of Xception, {XCEPTION_NOTOP_WEIGHTS} "
            f"(no network connection?) ({cause}). Offline: download that file on a machine "
            f"with a network ({XCEPTION_NOTOP_URL}) and copy it into Keras' cache "
            "($KERAS_HOME/models, by default ~/.keras/models), or pass its path as "
            "`weights`; or build the model without them with weights=None")
    return WeightsUnavailableError(
        f"could not load Xception weights from {str(weights)!r} ({cause}): expected Keras' "
        f"{XCEPTION_NOTOP_WEIGHTS} (ImageNet Xception without its top)")


def transfer_model(input_shape=(224, 224, 3), classes: int = 6, *, weights="imagenet",
                   dropout: float = 0.2, train_base: bool = False):
    """The original write-up's recipe: a frozen Xception base, pooling and a dense head.

    One flat model from [0, 1] images to probabilities, ending in the same ``logits`` and
    ``predictions`` layers as the book's models. ``weights="imagenet"`` needs a network
    (or the weights file in Keras' cache, :data:`XCEPTION_NOTOP_WEIGHTS`); a path loads
    that file; ``weights=None`` builds it offline (for tests, or to train from scratch).
    ``python -m shared.train --data-dir DIR --transfer imagenet`` trains it on your
    images (:func:`shared.train.train_folder`).

    Raises:
        WeightsUnavailableError: the weights could not be downloaded or read; the message
            says how to work offline.
    """
    keras = _keras()
    layers = keras.layers
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = layers.Rescaling(2.0, offset=-1.0, name="preprocess")(inputs)
    try:
        base = keras.applications.Xception(include_top=False, weights=weights, input_tensor=x)
    except Exception as e:
        if weights is None:
            raise
        raise _weights_unavailable(weights, e) from e
    base.trainable = train_base
    x = layers.GlobalAveragePooling2D(name="avg_pool")(base.output)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(classes, name="logits")(x)
    outputs = layers.Activation("softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="xception_transfer")
