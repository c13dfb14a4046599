"""The arrays a training step reuses instead of allocating."""

from __future__ import annotations

import copy
from typing import Literal

import numpy as np

from digitnet.engine.blas import ONE_THREAD_WORK
from digitnet.network import Gradients, Network, _split


class Workspace:
    """Arrays reused by every training step of one batch size: per layer l the ``z`` and ``a``
    (n, n_l), the error delta (n, n_l), sigma'(z) (n, n_l), the dropout draws and mask (n, n_l),
    and the gradients (:attr:`grads`, views of one vector :attr:`flat_grads` laid out like the
    network's parameter vector).

    Everything the engine's trace and backprop return for a step lives in these arrays until the
    next step. A shorter batch (the last one of an epoch) uses :meth:`rows`: the same memory, n
    rows.

    For a network whose products are big enough to share between threads, the (n, n_l) arrays
    are stored column by column (``order == "F"``), the layout in which OpenBLAS multiplies such
    batches fastest (benchmarks/profile.md). Small ones keep NumPy's row order, which
    ``np.dot`` needs for its output.
    """

    _NAMES = ("z", "a", "prime", "delta", "mask", "keep")
    # set by _set_rows, one list per name in _NAMES: layer l's (n, n_l) array at index l
    z: list[np.ndarray]
    a: list[np.ndarray]
    prime: list[np.ndarray]
    delta: list[np.ndarray]
    mask: list[np.ndarray]
    keep: list[np.ndarray]

    def __init__(self, net: Network, batch_size: int) -> None:
        n, dt = batch_size, net.dtype
        self.batch_size = n
        self.sizes = net.sizes
        threaded = any(n * W.size >= ONE_THREAD_WORK for W in net.W)  # m k n of a product
        self.order: Literal["C", "F"] = "F" if threaded else "C"
        self._memory = {
            name: [np.empty(n * s, np.bool_ if name == "keep" else dt) for s in net.sizes]
            for name in self._NAMES
        }
        self._set_rows(n)
        self._shorter: dict[int, Workspace] = {}
        self.ones = np.ones(n, dt)  # the sum over a batch, as a product: delta.T @ ones
        self.flat_grads = np.empty(net.n_params, dt)
        views = _split(self.flat_grads, [p.shape for p in net.parameters()])
        self.grads = Gradients(views[0::2], views[1::2])

    def _set_rows(self, n: int) -> None:
        for name, memory in self._memory.items():
            views = [
                m[: n * s].reshape((n, s), order=self.order)
                for m, s in zip(memory, self.sizes, strict=True)
            ]
            setattr(self, name, views)

    def rows(self, n: int) -> Workspace:
        """This workspace for a batch of n <= batch_size rows: arrays (n, n_l) in its memory."""
        if n == self.batch_size:
            return self
        if n not in self._shorter:
            shorter = copy.copy(self)
            shorter._set_rows(n)
            self._shorter[n] = shorter
        return self._shorter[n]
