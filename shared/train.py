"""Train the shared checkpoint from scratch and write its model card.

    python -m shared.train                     # the book's checkpoint (~25 min, 2 cores)
    python -m shared.train --preset shortcut   # a shipped variant (see ``PRESETS``)
    python -m shared.train --n-per-class 8 --epochs 1 --out /tmp/tiny   # a smoke run
    python -m shared.train --marker-class Monkeypox --out my_model      # your own shortcut
    python -m shared.train --n-per-class 107,69,114,91,279,58 --out my_model  # imbalanced

    python -m shared.train --data-dir photos --out my_model   # your own images, any classes
    python -m shared.train --data-dir photos --transfer imagenet --out my_model

Training is deterministic: the same command on the same software gives the same weights
(TensorFlow runs its ops deterministically, with one inter-op thread).
Writes ``xception_pox.keras`` (weights without optimizer state), ``model_card.json``
and ``model_card.md`` into ``--out``.

**Your own images** (``--data-dir``, :mod:`shared.train_folder`): a folder with one sub-folder
per class, any names (:func:`shared.data.load_image_folder`). The images are split per
class with ``--seed`` (``--split``, 70/15/15 by default) and the split is saved as
``splits.json`` beside the checkpoint (:func:`shared.data.load_image_split` reads it
back). Near-duplicate images across splits (the same photograph, also flipped or turned:
:func:`shared.data.near_duplicates`) stop the training before anything is written,
unless ``--allow-duplicates``; the card lists what was found. The loss weighs each class
by ``n / (k * n_c)`` (``--class-weights balanced``, the default) or not (``none``).
``--transfer imagenet`` trains the original write-up's recipe instead of the book's
Xception from scratch (see :func:`shared.train_folder.train_folder`); it downloads
ImageNet weights once.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import data
from . import train_folder as folders


@dataclass
class TrainConfig:
    n_per_class: int | tuple[int, ...] = data.SPLIT_SIZES["train"]   # or one per class
    val_per_class: int = data.SPLIT_SIZES["val"]
    test_per_class: int = data.SPLIT_SIZES["test"]
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    width: float = 0.25
    middle_blocks: int = 4
    size: int = data.IMAGE_SIZE
    seed: int = 0
    marker_class: str = ""            # plant a shortcut in this class ("" for none)
    marker_fraction: float = 0.8      # ... in this share of its training images
    marker_kind: str = "ink"          # a pen dot ("ink") or a ruler edge ("ruler")


PRESETS = {
    "default": TrainConfig(),
    "shortcut": TrainConfig(marker_class="Monkeypox", marker_fraction=0.8, marker_kind="ink"),
    "imbalanced": TrainConfig(n_per_class=data.SEED_LIKE_COUNTS, epochs=40),
    "small": TrainConfig(n_per_class=round(sum(data.SEED_LIKE_COUNTS) / len(data.CLASS_NAMES)),
                         epochs=40),
}
"""The configuration of each shipped checkpoint (:data:`shared.models.VARIANTS`). The
imbalanced model (718 images) and its balanced control of the same size (120 per class,
720) both see each image 40 times, so the two differ in their class counts only."""


def configure_determinism(seed: int) -> None:
    """Seed everything and make TensorFlow deterministic. Call before any TF op."""
    import keras
    import tensorflow as tf
    try:
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TF already initialised in this process: too late to change
        pass
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def augment(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random flip / quarter-turn per image: morphology does not depend on orientation."""
    out = np.empty_like(images)
    for i, (k, flip) in enumerate(zip(rng.integers(0, 4, len(images)), rng.random(len(images)) < 0.5)):
        im = np.rot90(images[i], k)
        out[i] = im[:, ::-1] if flip else im
    return out


def report(labels: np.ndarray, predicted: np.ndarray, n_classes: int = len(data.CLASS_NAMES),
           class_names=data.CLASS_NAMES) -> dict:
    """Confusion matrix (rows: true class), per-class precision/recall, balanced accuracy."""
    cm = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(cm, (labels, predicted), 1)
    recall = np.diag(cm) / np.maximum(cm.sum(1), 1)
    precision = np.diag(cm) / np.maximum(cm.sum(0), 1)
    return dict(
        n=int(len(labels)),
        accuracy=float(np.mean(labels == predicted)),
        balanced_accuracy=float(recall.mean()),
        recall={c: float(r) for c, r in zip(class_names, recall)},
        precision={c: float(p) for c, p in zip(class_names, precision)},
        confusion_matrix=cm.tolist(),
    )


def forward_ms_per_image(model, size: int, batch: int = 64, repeats: int = 3) -> float:
    """Median wall time of one forward pass per image at ``batch`` (compiled)."""
    import tensorflow as tf
    fn = tf.function(lambda x: model(x, training=False))
    x = tf.random.uniform((batch, size, size, 3), seed=1)
    fn(x)  # trace and warm up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(x).numpy()
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times)) / batch


def train(cfg: TrainConfig, out: Path, measure_speed: bool = True, verbose: int = 2,
          command: str | None = None) -> dict:
    configure_determinism(cfg.seed)
    import keras

    from . import models

    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    marker = {} if not cfg.marker_class else dict(
        marker_class=cfg.marker_class, marker_fraction=cfg.marker_fraction,
        marker_kind=cfg.marker_kind)     # the shortcut project: training and validation only
    train_ds = data.load_split("train", cfg.n_per_class, size=cfg.size, **marker)
    val_ds = data.load_split("val", cfg.val_per_class, size=cfg.size, **marker)
    t_data = time.time() - t0

    model = models.xception((cfg.size, cfg.size, 3), len(data.CLASS_NAMES), width=cfg.width,
                            middle_blocks=cfg.middle_blocks, bn_momentum=0.9)
    steps = cfg.epochs * int(np.ceil(len(train_ds) / cfg.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, steps, alpha=0.02)
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    batches = _batches(keras, train_ds.images, train_ds.labels, cfg.batch_size, cfg.seed, augment)
    t1 = time.time()
    history = model.fit(batches, epochs=cfg.epochs, verbose=verbose,
                        validation_data=(val_ds.images, val_ds.labels), shuffle=False)
    t_train = time.time() - t1
    del train_ds, batches

    # Save the weights in an uncompiled copy: no optimizer state in the file.
    final = models.xception((cfg.size, cfg.size, 3), len(data.CLASS_NAMES), width=cfg.width,
                            middle_blocks=cfg.middle_blocks, bn_momentum=0.9, name="xception_pox")
    final.set_weights(model.get_weights())
    path = out / models.CHECKPOINT.name
    final.save(path)

    test_ds = data.load_split("test", cfg.test_per_class, size=cfg.size)
    probs = models.predict(final, test_ds.images)
    test_report = report(test_ds.labels, probs.argmax(1))
    val_report = report(val_ds.labels, models.predict(final, val_ds.images).argmax(1))

    speed = None
    if measure_speed:
        reference = keras.applications.Xception(weights=None, input_shape=(cfg.size, cfg.size, 3))
        ours, ref = forward_ms_per_image(final, cfg.size), forward_ms_per_image(reference, cfg.size)
        speed = dict(batch=64, input_size=cfg.size, ms_per_image=ours,
                     keras_xception_ms_per_image=ref, ratio=ours / ref)

    import tensorflow as tf
    card = dict(
        model="xception_pox",
        description="Scaled-down Xception (Chollet 2017) trained from scratch on the book's "
                    "synthetic pox-lesion images. For teaching interpretability methods only; "
                    "not a medical model.",
        input="float32 (N, 224, 224, 3) RGB in [0, 1]; layer 'preprocess' maps to [-1, 1]",
        outputs="'predictions': softmax probabilities; 'logits': the scores before it",
        class_names=list(data.CLASS_NAMES),
        command=command,
        config=asdict(cfg),
        parameters=int(final.count_params()),
        last_conv_layer=models.LAST_CONV_LAYER,
        last_conv_shape=list(final.get_layer(models.LAST_CONV_LAYER).output.shape[1:]),
        data=dict(train=_split_info(cfg.n_per_class, "train"),
                  val=_split_info(cfg.val_per_class, "val"),
                  test=_split_info(cfg.test_per_class, "test"),
                  generation_seconds=round(t_data, 1)),
        training_seconds=round(t_train, 1),
        history={k: [float(v) for v in vals] for k, vals in history.history.items()},
        validation=val_report,
        test=test_report,
        forward_speed=speed,
        software=dict(python=platform.python_version(), tensorflow=tf.__version__,
                      keras=keras.__version__, numpy=np.__version__),
        checkpoint_bytes=path.stat().st_size,
    )
    (out / "model_card.json").write_text(json.dumps(card, indent=1) + "\n")
    (out / "model_card.md").write_text(card_text(card))
    return card


def _split_info(n: int | tuple[int, ...], name: str) -> dict:
    counts = [int(n)] * len(data.CLASS_NAMES) if np.ndim(n) == 0 else [int(c) for c in n]
    return dict(seed=data.SPLIT_SEEDS[name], n_per_class=counts, n=sum(counts))


def _batches(keras, images, labels, batch_size: int, seed: int, augment_fn):
    """Shuffled, augmented batches; the order depends only on the seed and the epoch."""

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epoch = 0
            self.order = self._order()

        def _order(self):
            return np.random.default_rng([seed, self.epoch]).permutation(len(labels))

        def __len__(self):
            return int(np.ceil(len(labels) / batch_size))

        def __getitem__(self, i):
            idx = np.sort(self.order[i * batch_size:(i + 1) * batch_size])
            rng = np.random.default_rng([seed, self.epoch, i])
            return augment_fn(images[idx], rng), labels[idx]

        def on_epoch_end(self):
            self.epoch += 1
            self.order = self._order()

    return Batches()


def card_text(card: dict) -> str:
    """The model card as readable Markdown."""
    t = card["test"]
    lines = [
        f"# Model card: {card['model']}", "", card["description"], "",
        f"- Input: {card['input']}",
        f"- Outputs: {card['outputs']}",
        f"- Parameters: {card['parameters']:,}; last feature map "
        f"`{card['last_conv_layer']}` {card['last_conv_shape']}",
        f"- Configuration: {json.dumps(card['config'])}",
        *([f"- Command: `{card['command']}`"] if card.get("command") else []),
    ]
    counts = card["data"]["train"]["n_per_class"]
    if card.get("folder"):
        lines += _folder_lines(card)
    elif np.ndim(counts) and len(set(counts)) > 1:
        lines.append("- Training images per class (unweighted loss): " + ", ".join(
            f"{c} {n}" for c, n in zip(card["class_names"], counts)))
    cfg = card["config"]
    if cfg.get("marker_class"):
        lines.append(f"- Planted shortcut: the {cfg['marker_kind']} marker on "
                     f"{cfg['marker_fraction']:.0%} of the {cfg['marker_class']} training and "
                     "validation images; the test split has none")
    lines += [
        f"- Training: {card['training_seconds'] / 60:.1f} min on "
        f"{card['data']['train']['n']} images (seed {card['data']['train']['seed']})"
        + (f" on {card['device']}" if card.get("device") else "")
        + f"; software {json.dumps(card['software'])}",
    ]
    if card.get("forward_speed"):
        s = card["forward_speed"]
        lines.append(f"- Forward pass (batch {s['batch']}, {s['input_size']} px): "
                     f"{s['ms_per_image']:.2f} ms/image vs keras Xception "
                     f"{s['keras_xception_ms_per_image']:.2f} ms/image (ratio {s['ratio']:.3f})")
    lines += ["", f"## Test split ({t['n']} images, seed {card['data']['test']['seed']})", "",
              f"Accuracy {t['accuracy']:.3f}, balanced accuracy {t['balanced_accuracy']:.3f}.", "",
              "| class | precision | recall |", "|---|---|---|"]
    lines += [f"| {c} | {t['precision'][c]:.3f} | {t['recall'][c]:.3f} |" for c in card["class_names"]]
    lines += ["", "Confusion matrix (rows: true class, columns: predicted):", "",
              "| | " + " | ".join(c[:5] for c in card["class_names"]) + " |",
              "|---" * (len(card["class_names"]) + 1) + "|"]
    lines += [f"| {c} | " + " | ".join(str(v) for v in row) + " |"
              for c, row in zip(card["class_names"], t["confusion_matrix"])]
    return "\n".join(lines) + "\n"


def _folder_lines(card: dict) -> list[str]:
    """The model card's lines about training on a folder (``--data-dir``)."""
    d, names, w, dup = card["data"], card["class_names"], card["class_weights"], card["duplicates"]
    per_class = lambda part: ", ".join(f"{c} {n}" for c, n in zip(names, d[part]["n_per_class"]))  # noqa: E731
    shares = "/".join(f"{100 * d['shares'][s]:.0f}" for s in folders.SPLITS)
    lines = [f"- Images: `{d['source']}`, {len(names)} classes (the sub-folders, sorted); "
             f"split per class {shares} (train/val/test) with seed {d['train']['seed']}, "
             f"the file lists in `{d['split_file']}`",
             *[f"- {part.capitalize()} images per class: {per_class(part)}"
               for part in folders.SPLITS]]
    converted = {m: n for m, n in d["image_modes"].items() if m != "RGB"}
    if converted:
        lines.append("- Converted to RGB (transparency over white): " + ", ".join(
            f"{n} {m}" for m, n in converted.items()))
    if w["method"] == "balanced":
        lines.append(f"- Class weights in the loss: balanced, {w['formula']}: " + ", ".join(
            f"{c} {v:.3f}" for c, v in w["weights"].items()))
    else:
        lines.append("- Class weights in the loss: none (unweighted: every image counts the same)")
    lines.append(f"- Augmentation: {card['augmentation']}")
    verdict = ("allowed by --allow-duplicates" if dup["allowed"] else "none may cross")
    lines.append(f"- Near-duplicate images (dHash distance <= {dup['max_distance']} of 144 bits, "
                 f"flips and quarter turns included): {dup['cross_split']} pair(s) across "
                 f"splits ({verdict}), {dup['within_split']} within a split")
    lines += [f"  - `{q['a']}` ({q['split_a']}) and `{q['b']}` ({q['split_b']}), distance "
              f"{q['distance']}" for q in dup["pairs"]]
    if card.get("transfer"):
        t = card["transfer"]
        lines.append(f"- Transfer from {t['weights']} weights: head {t['head_epochs']} epoch(s) at "
                     f"{t['head_learning_rate']:g} on the frozen base, then "
                     f"{t['fine_tune_epochs']} epoch(s) at {t['fine_tune_learning_rate']:g} "
                     f"fine-tuning {t['fine_tuned_layers']}")
    return lines


def _shares(text: str) -> tuple[float, float, float]:
    """``--split``: three positive shares (train, val, test), normalised to sum to one."""
    try:
        shares = tuple(float(v) for v in text.replace("/", ",").split(","))
    except ValueError:
        shares = ()
    if len(shares) != 3 or min(shares) <= 0:
        raise argparse.ArgumentTypeError(
            f"expected three positive shares train,val,test (e.g. 70,15,15), got {text!r}")
    return tuple(round(v / sum(shares), 6) for v in shares)


def _transfer(text: str) -> str:
    """``--transfer``: ``imagenet``, or the path of an Xception weights file ("": none)."""
    if text in ("", "imagenet") or Path(text).is_file():
        return text
    raise argparse.ArgumentTypeError(
        f"expected 'imagenet' or the path of Keras' Xception weights file "
        f"({_notop_weights()}), got {text!r}")


def _notop_weights() -> str:
    from . import models
    return models.XCEPTION_NOTOP_WEIGHTS


def _nonnegative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an int >= 0, got {text!r}")
    return value


_SYNTHETIC_ONLY = ("preset", "n_per_class", "val_per_class", "test_per_class", "marker_class",
                   "marker_fraction", "marker_kind")
_FOLDER_ONLY = ("split", "class_weights", "augment", "duplicate_distance", "allow_duplicates",
                "transfer", "fine_tune_epochs")


def _parser(preset: str, suppress: bool = False) -> argparse.ArgumentParser:
    """The command line; with ``suppress``, options left out are absent from the result
    (to tell which options were given)."""
    p = argparse.ArgumentParser(prog="python -m shared.train", description=__doc__.split("\n")[0])

    def add(group, name, default=None, **kw):
        group.add_argument(name, default=argparse.SUPPRESS if suppress else default, **kw)

    add(p, "--preset", "default", choices=list(PRESETS),
        help="a shipped checkpoint's configuration and folder (the options below change it)")
    add(p, "--out", None, type=Path,
        help="output folder (default: the preset's folder in the package; with --data-dir, "
             "./my_model)")
    for name, value in asdict(PRESETS[preset]).items():
        kind = _counts if name == "n_per_class" else type(value)
        add(p, "--" + name.replace("_", "-"), value, type=kind)
    add(p, "--no-speed", False, action="store_true", help="skip the forward-speed comparison")
    g = p.add_argument_group(
        "your own images", "train on a folder with one sub-folder of images per class (any "
        "names) instead of the synthetic data; --epochs, --batch-size, --learning-rate, "
        "--weight-decay, --width, --middle-blocks, --size and --seed apply, the options of "
        "the synthetic data do not")
    add(g, "--data-dir", None, type=Path, help="the folder of class folders")
    add(g, "--split", folders.FolderConfig.split, type=_shares, metavar="TRAIN,VAL,TEST",
        help="shares of each class in the train, val and test splits (default 70,15,15)")
    add(g, "--class-weights", folders.FolderConfig.class_weights, choices=["balanced", "none"],
        help="weigh each class by n / (k * n_c) in the loss (default), or not")
    add(g, "--augment", folders.FolderConfig.augment, choices=folders.AUGMENTATIONS,
        help="random flips and quarter turns (default: orientation carries no class "
             "information, as in skin photographs), left-right flips only, or none")
    add(g, "--duplicate-distance", folders.FolderConfig.duplicate_distance, type=_nonnegative,
        help="perceptual-hash distance (of 144 bits) at or below which two images count as "
             "the same photograph (default 12)")
    add(g, "--allow-duplicates", False, action="store_true",
        help="train even when near-duplicates fall into different splits (the card lists them)")
    add(g, "--transfer", "", type=_transfer, metavar="imagenet|FILE",
        help="fine-tune ImageNet Xception (downloads its weights once) instead of training "
             "the book's Xception from scratch; offline, the path of the weights file "
             "xception_weights_tf_dim_ordering_tf_kernels_notop.h5")
    add(g, "--fine-tune-epochs", folders.FolderConfig.fine_tune_epochs, type=_nonnegative,
        help="--transfer: epochs fine-tuning blocks 13-14 after --epochs of the head (default 3)")
    return p


def _counts(text: str) -> int | tuple[int, ...]:
    """``--n-per-class``: one count for every class, or one per class, comma-separated."""
    try:
        counts = tuple(int(c) for c in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int or {len(data.CLASS_NAMES)} "
                                         f"comma-separated ints, got {text!r}") from None
    if len(counts) not in (1, len(data.CLASS_NAMES)) or min(counts) < 1:
        raise argparse.ArgumentTypeError(
            f"expected one positive count or {len(data.CLASS_NAMES)} "
            f"({', '.join(data.CLASS_NAMES)}), got {text!r}")
    return counts[0] if len(counts) == 1 else counts


def main(argv=None) -> None:
    import sys

    from . import models
    argv = sys.argv[1:] if argv is None else list(argv)
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--preset", choices=list(PRESETS), default="default")
    preset = first.parse_known_args(argv)[0].preset
    p = _parser(preset)
    args = vars(p.parse_args(argv))
    given = set(vars(_parser(preset, suppress=True).parse_args(argv)))
    out, no_speed, data_dir = args.pop("out"), args.pop("no_speed"), args.pop("data_dir")
    folder_args = {name: args.pop(name) for name in _FOLDER_ONLY}
    args.pop("preset")
    command = " ".join(["python -m shared.train", *argv])
    if data_dir is None:
        for name in _FOLDER_ONLY:
            if name in given:
                p.error(f"--{name.replace('_', '-')} applies to --data-dir only")
        out = out if out is not None else models.checkpoint_dir(preset)
        card = train(TrainConfig(**args), out, measure_speed=not no_speed, command=command)
        print(card_text(card))
        return

    for name in _SYNTHETIC_ONLY:
        if name in given:
            p.error(f"--{name.replace('_', '-')} describes the synthetic data: it does not "
                    "apply with --data-dir")
    if "fine_tune_epochs" in given and not folder_args["transfer"]:
        p.error("--fine-tune-epochs applies to --transfer only")
    if args["size"] < 71:
        p.error(f"--size must be at least 71 (Xception's smallest input), got {args['size']}")
    out = out if out is not None else Path("my_model")
    cfg = TrainConfig(**args)
    folder = folders.FolderConfig(data_dir=str(data_dir), **folder_args)
    try:
        prepared = folders.prepare_folder(folder, cfg.size, cfg.seed)
    except (FileNotFoundError, ValueError) as e:   # DuplicateImagesError included
        p.exit(2, f"{p.prog}: error: {e}\n")
    try:
        card = folders.train_folder(cfg, folder, out, prepared=prepared,
                                    measure_speed=not no_speed, command=command)
    except models.WeightsUnavailableError as e:
        p.exit(2, f"{p.prog}: error: --transfer {folder.transfer}: {e}\nOr leave out "
                  "--transfer to train the book's Xception from scratch on your images "
                  f"(nothing to download). Nothing was written to {str(out)!r}.\n")
    print(card_text(card))
    print(f"Wrote {models.CHECKPOINT.name}, model_card.json, model_card.md and "
          f"{folders.SPLIT_FILE} into {str(out)!r}.")


if __name__ == "__main__":
    main()
