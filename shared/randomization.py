"""Copies of a model with some of its blocks re-initialised: the model-randomization
sanity check (Adebayo et al. 2018, "Sanity checks for saliency maps").

An explanation that does not change when the weights it is meant to explain are replaced
by random ones says little about the model. :func:`cascade_blocks` lists the blocks
that hold weights from the top down (``logits`` first), :func:`randomized_copy` returns a
copy with the named blocks random; :func:`shared.metrics.cascading_randomization` and the
scorecard's ``randomized`` column use them.
"""

from __future__ import annotations

import numpy as np


def block_of(layer_name: str) -> str:
    """The block a layer belongs to, by name prefix: ``block13_sepconv1_bn`` -> ``block13``."""
    return layer_name.split("_")[0]


def cascade_blocks(model) -> list[str]:
    """The blocks that hold weights, from the top of the network down (``logits`` first)."""
    blocks: list[str] = []
    for layer in reversed(model.layers):
        if layer.weights and block_of(layer.name) not in blocks:
            blocks.append(block_of(layer.name))
    return blocks


def randomized_copy(model, blocks, seed: int = 0):
    """A copy of ``model`` whose layers in ``blocks`` are re-initialised; the rest trained.

    Kernels are drawn Glorot-uniform (Keras' default for these layers); biases and batch
    normalisation go back to their initial values (gamma 1, beta 0, mean 0, variance 1).
    Layer ``i`` draws from ``default_rng([seed, i])``, so a layer gets the same random
    weights in every step of a cascade. The original model is left unchanged.
    """
    import keras
    known = {block_of(layer.name) for layer in model.layers}
    unknown = sorted(set(blocks) - known)
    if unknown:
        raise ValueError(f"unknown blocks {unknown}; the model's blocks are {cascade_blocks(model)}")
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for i, layer in enumerate(copy.layers):
        if block_of(layer.name) not in blocks:
            continue
        rng = np.random.default_rng([seed, i])
        for w in layer.weights:
            if w.name in ("gamma", "moving_variance"):
                new = np.ones(w.shape)
            elif len(w.shape) >= 2:                      # a kernel: Glorot uniform
                receptive = int(np.prod(w.shape[:-2]))
                limit = np.sqrt(6 / (receptive * (w.shape[-2] + w.shape[-1])))
                new = rng.uniform(-limit, limit, w.shape)
            else:                                        # bias, beta, moving mean
                new = np.zeros(w.shape)
            w.assign(new.astype(np.float32))
    return copy
