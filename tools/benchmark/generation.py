"""Data generation and the model's forward pass: speeds against the book's targets."""

from __future__ import annotations

from .timing import timed, verdict


def data_generation(n_per_class: int = 50) -> float:
    """Images generated per second at the book's size (target: at least 100)."""
    from shared import data
    data.generate(1, 0)  # warm-up
    took, ds = timed(lambda: data.generate(n_per_class, 12345))
    rate = len(ds) / took
    print(f"data generation: {rate:.0f} images/s at {data.IMAGE_SIZE} px ({len(ds)} images) "
          f"{verdict(rate, 100, at_least=True)}")
    return rate


def forward_pass(model, repeats: int = 5) -> float:
    """The shared model's forward pass against keras' Xception at the same input size
    (batch 64): their ratio (target: at most 0.2)."""
    import keras

    from shared.train import forward_ms_per_image
    size = model.inputs[0].shape[1]
    reference = keras.applications.Xception(weights=None, input_shape=(size, size, 3))
    ours = forward_ms_per_image(model, size, repeats=repeats)
    ref = forward_ms_per_image(reference, size, repeats=repeats)
    print(f"forward, batch 64, {size} px: shared model {ours:.2f} ms/image, "
          f"keras Xception {ref:.2f} ms/image")
    print(f"  ratio {ours / ref:.3f} {verdict(ours / ref, 0.2)}")
    return ours / ref
