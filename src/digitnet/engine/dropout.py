"""Dropout's random masks, drawn from random bits.

A mask for hidden layer l, shape (n, n_l), is 1/keep where a neuron is kept and 0 where it is
dropped. Each neuron gets 16 random bits, a quarter of one of the generator's 64-bit draws, and is
kept when they fall below keep * 2^16: cheaper than one random float per neuron. Both the
reference training step and the engine's draw their masks here, so that the two draw the same
masks from the same generator.
"""

from __future__ import annotations

import math

import numpy as np

LEVELS = 1 << 16  # dropout's keep probability is a multiple of 1/LEVELS


def kept_fraction(dropout: float) -> tuple[int, float]:
    """(threshold, keep): dropout keeps a neuron when its 16 random bits fall below threshold,
    which makes keep = threshold / 2^16 the probability 1 - dropout rounded to a multiple of
    2^-16 (0.8 becomes 0.800003; 0.5 stays 0.5). Survivors are scaled by 1/keep."""
    threshold = min(max(round((1 - dropout) * LEVELS), 1), LEVELS)
    return threshold, threshold / LEVELS


def draw_mask(
    shape: tuple[int, int],
    dropout: float,
    rng: np.random.Generator,
    dtype: np.dtype,
    *,
    out: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """A mask (n, n_l): 1/keep with probability keep (see :func:`kept_fraction`), else 0.

    The draws fill the mask column by column (one neuron down the batch, then the next), the
    order of the engine's workspace for the networks that use dropout. ``out`` is a pair of
    arrays of ``shape`` (bool, dtype) to write the kept neurons and the mask into.
    """
    threshold, keep = kept_fraction(dropout)
    size = math.prod(shape)
    # random_raw has no out=: this one array a step is new (a reused one cannot be filled)
    draws = rng.bit_generator.random_raw(-(-size // 4)).view(np.uint16)[:size]
    draws = draws.reshape(shape, order="F")
    scale = np.dtype(dtype).type(1 / keep)
    if out is None:
        return (draws < threshold) * scale
    kept = np.less(draws, threshold, out=out[0])
    return np.multiply(kept, scale, out=out[1])


def draw_masks(
    sizes: list[int], n: int, dropout: float, rng: np.random.Generator, dtype: np.dtype
) -> list[np.ndarray | None]:
    """One mask per hidden layer of a network with ``sizes``, for a batch of n: a list indexed
    by layer (None for the input and output layers), or all None when ``dropout`` is 0."""
    L = len(sizes) - 1
    if dropout <= 0:
        return [None] * (L + 1)
    return [None] + [draw_mask((n, sizes[l]), dropout, rng, dtype) for l in range(1, L)] + [None]
