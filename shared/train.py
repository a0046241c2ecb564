"""Train the shared checkpoint from scratch and write its model card.

    python -m shared.train                     # the book's checkpoint (~25 min, 2 cores)
    python -m shared.train --preset shortcut   # a shipped variant (see ``PRESETS``)
    python -m shared.train --n-per-class 8 --epochs 1 --out /tmp/tiny   # a smoke run
    python -m shared.train --marker-class Monkeypox --out my_model      # your own shortcut
    python -m shared.train --n-per-class 107,69,114,91,279,58 --out my_model  # imbalanced

Training is deterministic: the same command on the same software gives the same weights
(TensorFlow runs its ops deterministically, with one inter-op thread).
Writes ``xception_pox.keras`` (weights without optimizer state), ``model_card.json``
and ``model_card.md`` into ``--out``.
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


def report(labels: np.ndarray, predicted: np.ndarray, n_classes: int = len(data.CLASS_NAMES)) -> dict:
    """Confusion matrix (rows: true class), per-class precision/recall, balanced accuracy."""
    cm = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(cm, (labels, predicted), 1)
    recall = np.diag(cm) / np.maximum(cm.sum(1), 1)
    precision = np.diag(cm) / np.maximum(cm.sum(0), 1)
    return dict(
        n=int(len(labels)),
        accuracy=float(np.mean(labels == predicted)),
        balanced_accuracy=float(recall.mean()),
        recall={c: float(r) for c, r in zip(data.CLASS_NAMES, recall)},
        precision={c: float(p) for c, p in zip(data.CLASS_NAMES, precision)},
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

    class Batches(keras.utils.PyDataset):
        """Shuffled, augmented batches; the order depends only on the seed and epoch."""

        def __init__(self):
            super().__init__()
            self.epoch = 0
            self.order = self._order()

        def _order(self):
            return np.random.default_rng([cfg.seed, self.epoch]).permutation(len(train_ds))

        def __len__(self):
            return int(np.ceil(len(train_ds) / cfg.batch_size))

        def __getitem__(self, i):
            idx = np.sort(self.order[i * cfg.batch_size:(i + 1) * cfg.batch_size])
            rng = np.random.default_rng([cfg.seed, self.epoch, i])
            return augment(train_ds.images[idx], rng), train_ds.labels[idx]

        def on_epoch_end(self):
            self.epoch += 1
            self.order = self._order()

    t1 = time.time()
    history = model.fit(Batches(), epochs=cfg.epochs, verbose=verbose,
                        validation_data=(val_ds.images, val_ds.labels), shuffle=False)
    t_train = time.time() - t1
    del train_ds

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
    if np.ndim(counts) and len(set(counts)) > 1:
        lines.append("- Training images per class (unweighted loss): " + ", ".join(
            f"{c} {n}" for c, n in zip(card["class_names"], counts)))
    cfg = card["config"]
    if cfg.get("marker_class"):
        lines.append(f"- Planted shortcut: the {cfg['marker_kind']} marker on "
                     f"{cfg['marker_fraction']:.0%} of the {cfg['marker_class']} training and "
                     "validation images; the test split has none")
    lines += [
        f"- Training: {card['training_seconds'] / 60:.1f} min on "
        f"{card['data']['train']['n']} images (seed {card['data']['train']['seed']}); "
        f"software {json.dumps(card['software'])}",
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
    p = argparse.ArgumentParser(prog="python -m shared.train", description=__doc__.split("\n")[0])
    p.add_argument("--preset", choices=list(PRESETS), default="default",
                   help="a shipped checkpoint's configuration and folder (the options below "
                        "change it)")
    p.add_argument("--out", type=Path, default=models.checkpoint_dir(preset),
                   help="output folder (default: the preset's folder in the package)")
    for name, value in asdict(PRESETS[preset]).items():
        kind = _counts if name == "n_per_class" else type(value)
        p.add_argument("--" + name.replace("_", "-"), type=kind, default=value)
    p.add_argument("--no-speed", action="store_true", help="skip the forward-speed comparison")
    args = vars(p.parse_args(argv))
    out, no_speed = args.pop("out"), args.pop("no_speed")
    args.pop("preset")
    command = " ".join(["python -m shared.train", *argv])
    card = train(TrainConfig(**args), out, measure_speed=not no_speed, command=command)
    print(card_text(card))


if __name__ == "__main__":
    main()
