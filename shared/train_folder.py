"""Training on a reader's own images: a folder with one sub-folder per class, any names.

    python -m shared.train --data-dir photos --out my_model   # the book's Xception, from scratch
    python -m shared.train --data-dir photos --transfer imagenet --out my_model

The command line is :mod:`shared.train`'s; this module holds what it runs for
``--data-dir``: the split (:func:`stratified_split`, saved as :data:`SPLIT_FILE`), the
near-duplicate check across splits (:func:`prepare_folder`), class weights
(:func:`class_weights`) and the training itself (:func:`train_folder`), which writes the
same checkpoint and model card as the synthetic path.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import data

if TYPE_CHECKING:
    from .train import TrainConfig


SPLITS = ("train", "val", "test")
SPLIT_FILE = "splits.json"
"""The split assignment written beside the checkpoint (:func:`shared.data.load_image_split`)."""
FOLDER_CONFIG_KEYS = ("epochs", "batch_size", "learning_rate", "weight_decay", "width",
                      "middle_blocks", "size", "seed")
"""The :class:`TrainConfig` fields that training on a folder uses (the others describe
the synthetic data)."""
AUGMENTATIONS = ("dihedral", "hflip", "none")
FINE_TUNE_FROM = "block13"
"""``--transfer``: the second phase fine-tunes the exit flow, Xception's blocks 13 and 14
(every layer after the residual addition that feeds block 13)."""


@dataclass
class FolderConfig:
    """What training on a folder of images adds to :class:`TrainConfig` (``--data-dir``)."""
    data_dir: str
    split: tuple[float, float, float] = (0.70, 0.15, 0.15)   # train, val, test shares
    class_weights: str = "balanced"   # n / (k * n_c) per class in the loss, or "none"
    augment: str = "dihedral"         # flips and quarter turns; "hflip": left-right; "none"
    duplicate_distance: int = 12      # dHash bits (of 144) at which two images are the same
    allow_duplicates: bool = False    # train even when a near-duplicate crosses splits
    transfer: str = ""                # "": from scratch; "imagenet" or an Xception weights file
    fine_tune_epochs: int = 3         # --transfer: epochs of fine-tuning blocks 13-14


class DuplicateImagesError(ValueError):
    """Near-duplicate images fall into different splits (see :func:`prepare_folder`)."""


@dataclass
class PreparedFolder:
    """The images of a folder, their split and the near-duplicate report."""
    dataset: data.Dataset
    splits: dict                      # split name -> indices into dataset
    duplicates: dict                  # the card's report
    loading_seconds: float = 0.0


def stratified_split(labels: np.ndarray, shares=(0.70, 0.15, 0.15), seed: int = 0,
                     class_names=None) -> dict[str, np.ndarray]:
    """Indices of the train, val and test splits: each class shuffled with ``seed`` and cut
    in the ``shares`` (rounded, at least one image per split), so every split holds every
    class in about the same proportion. Raises ValueError naming a class too small to
    give every split one image."""
    shares = np.asarray(shares, float) / np.sum(shares)
    rng = np.random.default_rng(seed)
    out = {name: [] for name in SPLITS}
    for c in range(int(labels.max()) + 1):
        idx = np.flatnonzero(labels == c)
        n = len(idx)
        n_val, n_test = (max(1, int(round(n * sh))) for sh in shares[1:])
        if n - n_val - n_test < 1:
            name = class_names[c] if class_names is not None else c
            raise ValueError(f"class {name!r} has {n} image(s): every split (train, val, test) "
                             "needs at least one; add images to it")
        idx = idx[rng.permutation(n)]
        out["test"].append(idx[:n_test])
        out["val"].append(idx[n_test:n_test + n_val])
        out["train"].append(idx[n_test + n_val:])
    return {name: np.sort(np.concatenate(parts)) for name, parts in out.items()}


def class_weights(labels: np.ndarray, n_classes: int) -> dict[int, float]:
    """The balanced class weights ``n / (k * n_c)`` (scikit-learn's and Keras' formula):
    every class contributes the same total weight to the loss."""
    counts = np.bincount(labels, minlength=n_classes)
    return {c: float(len(labels) / (n_classes * counts[c])) for c in range(n_classes)
            if counts[c]}


def prepare_folder(folder: FolderConfig, size: int = data.IMAGE_SIZE, seed: int = 0,
                   max_listed: int = 20) -> PreparedFolder:
    """Load ``folder.data_dir``, split it and look for near-duplicates across the splits.

    Raises:
        FileNotFoundError, ValueError: the folder's problems
            (:func:`shared.data.load_image_folder`), or a class too small to split.
        DuplicateImagesError: near-duplicates cross splits and ``allow_duplicates`` is
            off; the message names both files of each pair (the first ``max_listed``).
    """
    t0 = time.time()
    ds = data.load_image_folder(folder.data_dir, size=size)
    splits = stratified_split(ds.labels, folder.split, seed, ds.class_names)
    where = np.empty(len(ds), object)
    for name, idx in splits.items():
        where[idx] = name
    rel = ds.info["relative_files"]
    pairs = data.near_duplicates(ds.images, folder.duplicate_distance)
    cross = [(i, j, d) for i, j, d in pairs if where[i] != where[j]]
    within = [(i, j, d) for i, j, d in pairs if where[i] == where[j]]
    listed = [dict(a=rel[i], b=rel[j], split_a=where[i], split_b=where[j],
                   class_a=ds.class_names[ds.labels[i]], class_b=ds.class_names[ds.labels[j]],
                   distance=d) for i, j, d in (cross + within)[:max_listed]]
    report = dict(
        method="difference hash (dHash) of a 9 x 9 grayscale thumbnail, 144 bits; the "
               "distance of a pair is the smallest over the flips and quarter turns of one "
               "image (shared.data.near_duplicates)",
        max_distance=folder.duplicate_distance, cross_split=len(cross),
        within_split=len(within), allowed=folder.allow_duplicates, pairs=listed)
    if cross and not folder.allow_duplicates:
        root = Path(folder.data_dir)
        lines = [f"  {str(root / rel[i])!r} ({where[i]}) and {str(root / rel[j])!r} "
                 f"({where[j]}), distance {d}" for i, j, d in cross[:max_listed]]
        more = [f"  ... and {len(cross) - max_listed} more"] if len(cross) > max_listed else []
        raise DuplicateImagesError(
            f"{len(cross)} near-duplicate image pair(s) fall into different splits, so the "
            "validation or test numbers would measure memory, not generalisation:\n"
            + "\n".join(lines + more) + "\nRemove one image of each pair (or move them into "
            "the same class), or pass --allow-duplicates to train anyway (the model card "
            "lists the pairs). Nothing was written.")
    return PreparedFolder(ds, splits, report, round(time.time() - t0, 1))


def device_name() -> str:
    """Where TensorFlow computes: ``"GPU: <name>"`` (each GPU) or ``"CPU"``."""
    import tensorflow as tf
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    names = []
    for gpu in gpus:
        try:
            names.append(tf.config.experimental.get_device_details(gpu).get("device_name")
                         or gpu.name)
        except Exception:   # details are optional: fall back on the device's id
            names.append(gpu.name)
    return "GPU: " + ", ".join(names)


def _augmenter(kind: str):
    if kind == "dihedral":
        from .train import augment
        return augment
    if kind == "hflip":
        return lambda images, rng: np.where((rng.random(len(images)) < 0.5)[:, None, None, None],
                                            images[:, :, ::-1], images)
    return lambda images, rng: images


def fine_tune_layers(model) -> list:
    """``--transfer``'s second phase: the layers with weights of the exit flow (blocks 13
    and 14 and the head: everything after the addition that feeds the first
    :data:`FINE_TUNE_FROM` layer); batch normalisation stays frozen (in inference mode),
    as Keras' fine-tuning guide advises for small data."""
    import keras
    layers = model.layers
    first = next(i for i, layer in enumerate(layers) if layer.name.startswith(FINE_TUNE_FROM))
    start = max(i for i in range(first) if isinstance(layers[i], keras.layers.Add)) + 1
    return [layer for layer in layers[start:]
            if layer.weights and not isinstance(layer, keras.layers.BatchNormalization)]


def train_folder(cfg: TrainConfig, folder: FolderConfig, out: Path, *,
                 prepared: PreparedFolder | None = None, measure_speed: bool = True,
                 verbose: int = 2, command: str | None = None) -> dict:
    """Train on a folder of images of any classes; write the checkpoint, the model card and
    the split (``splits.json``) into ``out``. Returns the card.

    From scratch (``folder.transfer == ""``): the book's scaled-down Xception
    (``cfg.width``, ``cfg.middle_blocks``), trained as the shared checkpoint is.

    Transfer (``"imagenet"``, or the path of Keras' ``..._notop.h5`` Xception weights file
    for a machine without a network): :func:`shared.models.transfer_model`, the original
    write-up's recipe, in two phases: (1) the ImageNet base frozen, the dense head trained
    for ``cfg.epochs`` at ``cfg.learning_rate``; (2) the exit flow (blocks 13-14,
    :func:`fine_tune_layers`) unfrozen and trained with the head for
    ``folder.fine_tune_epochs`` more at a tenth of the rate. ``cfg.width`` and
    ``cfg.middle_blocks`` do not apply.

    Every check (the folder, the split, near-duplicates, the transfer weights) runs before
    ``out`` is created: a refusal writes nothing.

    Raises:
        DuplicateImagesError, ValueError, FileNotFoundError: see :func:`prepare_folder`.
        shared.models.WeightsUnavailableError: the ImageNet weights cannot be had.
    """
    prepared = prepared or prepare_folder(folder, cfg.size, cfg.seed)
    from .train import _batches, card_text, configure_determinism, forward_ms_per_image, report
    configure_determinism(cfg.seed)
    import keras
    import tensorflow as tf

    from . import models

    ds, splits = prepared.dataset, prepared.splits
    names, k, shape = list(ds.class_names), len(ds.class_names), (cfg.size, cfg.size, 3)
    transfer = bool(folder.transfer)
    if transfer:
        weights = "imagenet" if folder.transfer == "imagenet" else str(folder.transfer)
        model = models.transfer_model(shape, k, weights=weights)   # downloads, or raises
    else:
        model = models.xception(shape, k, width=cfg.width, middle_blocks=cfg.middle_blocks,
                                bn_momentum=0.9)
    train_ds, val_ds, test_ds = (ds[splits[name]] for name in SPLITS)
    weighting = None
    if folder.class_weights == "balanced":
        weighting = class_weights(train_ds.labels, k)
    batches = _batches(keras, train_ds.images, train_ds.labels, cfg.batch_size, cfg.seed,
                       _augmenter(folder.augment))
    steps = cfg.epochs * len(batches)

    def fit(epochs, learning_rate, initial_epoch=0):
        model.compile(optimizer=keras.optimizers.AdamW(learning_rate,
                                                       weight_decay=cfg.weight_decay),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model.fit(batches, epochs=initial_epoch + epochs, initial_epoch=initial_epoch,
                         verbose=verbose, validation_data=(val_ds.images, val_ds.labels),
                         shuffle=False, class_weight=weighting).history

    out.mkdir(parents=True, exist_ok=True)
    t1 = time.time()
    history = fit(cfg.epochs, keras.optimizers.schedules.CosineDecay(
        cfg.learning_rate, max(steps, 1), alpha=0.02))
    transfer_info = None
    if transfer:
        tuned = fine_tune_layers(model)
        for layer in tuned:
            layer.trainable = True
        if folder.fine_tune_epochs:
            more = fit(folder.fine_tune_epochs, cfg.learning_rate / 10, initial_epoch=cfg.epochs)
            history = {key: history[key] + more[key] for key in history}
        transfer_info = dict(
            weights=folder.transfer, head_epochs=cfg.epochs, head_learning_rate=cfg.learning_rate,
            fine_tune_epochs=folder.fine_tune_epochs,
            fine_tune_learning_rate=cfg.learning_rate / 10,
            fine_tuned_layers=f"{len(tuned)} layers with weights from {tuned[0].name} to "
                              f"{tuned[-1].name} (batch normalisation frozen)")
    t_train = time.time() - t1

    # Save the weights in an uncompiled copy: no optimizer state in the file.
    if transfer:
        final = models.transfer_model(shape, k, weights=None, train_base=True)
    else:
        final = models.xception(shape, k, width=cfg.width, middle_blocks=cfg.middle_blocks,
                                bn_momentum=0.9, name="xception_pox")
    final.set_weights(model.get_weights())
    path = out / models.CHECKPOINT.name
    final.save(path)

    test_report = report(test_ds.labels, models.predict(final, test_ds.images).argmax(1), k, names)
    val_report = report(val_ds.labels, models.predict(final, val_ds.images).argmax(1), k, names)
    speed = None
    if measure_speed:
        reference = keras.applications.Xception(weights=None, input_shape=shape)
        ours, ref = forward_ms_per_image(final, cfg.size), forward_ms_per_image(reference, cfg.size)
        speed = dict(batch=64, input_size=cfg.size, ms_per_image=ours,
                     keras_xception_ms_per_image=ref, ratio=ours / ref)

    rel = ds.info["relative_files"]
    split_record = dict(root=str(Path(folder.data_dir).resolve()), size=cfg.size, seed=cfg.seed,
                        shares=dict(zip(SPLITS, folder.split)), class_names=names,
                        **{name: [rel[i] for i in splits[name]] for name in SPLITS})
    (out / SPLIT_FILE).write_text(json.dumps(split_record, indent=1, ensure_ascii=False) + "\n")

    def split_info(part):
        counts = part.counts()
        return dict(seed=cfg.seed, n_per_class=[int(c) for c in counts], n=int(counts.sum()))

    if weighting is None:
        weights_card = dict(method="none", note="unweighted loss: every image counts the same")
    else:
        weights_card = dict(method="balanced", formula="n / (k * n_c), counted on the training "
                            "split", weights={names[c]: round(w, 6) for c, w in weighting.items()})
    source = ("ImageNet weights" if folder.transfer == "imagenet"
              else f"the weights in {str(folder.transfer)!r}")
    what = (f"Xception (keras.applications) with {source}, fine-tuned" if transfer
            else "Scaled-down Xception (Chollet 2017) trained from scratch")
    card = dict(
        model=final.name,
        description=f"{what} on the images of {len(names)} classes in "
                    f"{str(folder.data_dir)!r}. For teaching interpretability methods only; "
                    "not a medical model.",
        input=f"float32 (N, {cfg.size}, {cfg.size}, 3) RGB in [0, 1]; layer 'preprocess' maps "
              "to [-1, 1]",
        outputs="'predictions': softmax probabilities; 'logits': the scores before it",
        class_names=names,
        command=command,
        config={key: getattr(cfg, key) for key in FOLDER_CONFIG_KEYS
                if not (transfer and key in ("width", "middle_blocks"))},
        folder=dict(asdict(folder), split=list(folder.split)),
        parameters=int(final.count_params()),
        last_conv_layer=models.LAST_CONV_LAYER,
        last_conv_shape=list(final.get_layer(models.LAST_CONV_LAYER).output.shape[1:]),
        device=device_name(),
        data=dict(source=str(folder.data_dir), split_file=SPLIT_FILE,
                  shares=dict(zip(SPLITS, folder.split)),
                  train=split_info(train_ds), val=split_info(val_ds), test=split_info(test_ds),
                  image_modes=ds.info["modes"], loading_seconds=prepared.loading_seconds),
        class_weights=weights_card,
        augmentation=folder.augment,
        duplicates=prepared.duplicates,
        transfer=transfer_info,
        training_seconds=round(t_train, 1),
        history={key: [float(v) for v in vals] for key, vals in history.items()},
        validation=val_report,
        test=test_report,
        forward_speed=speed,
        software=dict(python=platform.python_version(), tensorflow=tf.__version__,
                      keras=keras.__version__, numpy=np.__version__),
        checkpoint_bytes=path.stat().st_size,
    )
    (out / "model_card.json").write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
    (out / "model_card.md").write_text(card_text(card))
    return card


