"""Soft targets: training towards probabilities instead of one-hot vectors.

Two regularisers change what each mini-batch asks the output layer for, and nothing else:

- **Label smoothing** (Szegedy et al. 2016) with strength epsilon asks for
  ``y = (1 - epsilon) onehot + epsilon / K`` over the ``K`` classes: never quite 1 for the right
  class, never quite 0 for the others, so the cost stops rewarding ever larger logits.
- **Mixup** (Zhang et al. 2018) with strength alpha draws one lambda ~ Beta(alpha, alpha) per
  mini-batch and trains on ``lambda x_i + (1 - lambda) x_j`` with target
  ``lambda y_i + (1 - lambda) y_j``, where ``j`` is the batch shuffled: the network is asked to
  be linear between the examples it sees.

Both keep the output error of the lessons' costs, delta^(L) = (a - y) / n for cross-entropy:
only y changes (see :mod:`digitnet.costs`). Shapes: a batch X is ``(m, n_0)``, integer labels
``(m,)``, targets ``(m, K)``.
"""

from __future__ import annotations

import numpy as np


class SoftTargets:
    """``(X, labels, rng) -> (X, targets)`` for batches of at most ``batch_size`` examples.

    ``smoothing`` is epsilon in [0, 1); ``mixup`` is alpha >= 0 (0 turns it off). The targets
    are written into one reused ``(batch_size, K)`` array of ``dtype``; a mixed X is written over
    the batch it was given (the training loop gathers every batch afresh), its partners gathered
    into one reused array too.
    """

    def __init__(
        self,
        n_classes: int,
        batch_size: int,
        smoothing: float = 0.0,
        mixup: float = 0.0,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        self.K, self.smoothing, self.mixup = n_classes, smoothing, mixup
        self.dtype = np.dtype(dtype)
        self.Y = np.empty((batch_size, n_classes), self.dtype)
        self.Y_j = np.empty_like(self.Y)  # the partners' targets
        self.X_j: np.ndarray | None = None  # the partners' inputs, made at the first batch
        self.rows = np.arange(batch_size)

    def targets(self, labels: np.ndarray) -> np.ndarray:
        """(1 - epsilon) onehot(labels) + epsilon / K, (m, K)."""
        m, eps = len(labels), self.smoothing
        Y = self.Y[:m]
        Y.fill(eps / self.K)
        Y[self.rows[:m], labels] += 1 - eps
        return Y

    def __call__(
        self, X: np.ndarray, labels: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        Y = self.targets(labels)
        m = len(X)
        if self.mixup > 0 and m > 1:
            lam = self.dtype.type(rng.beta(self.mixup, self.mixup))
            j = rng.permutation(m)  # each example's partner
            if self.X_j is None or self.X_j.shape[1:] != X.shape[1:] or self.X_j.dtype != X.dtype:
                self.X_j = np.empty((len(self.Y), *X.shape[1:]), X.dtype)
            X_j = np.take(X, j, axis=0, out=self.X_j[:m])  # copies, before X and Y change
            Y_j = np.take(Y, j, axis=0, out=self.Y_j[:m])
            _blend(X, X_j, lam)
            _blend(Y, Y_j, lam)
        return X, Y


def _blend(A: np.ndarray, B: np.ndarray, lam: np.floating) -> None:
    """A <- lambda A + (1 - lambda) B, in place (B is scratch)."""
    A *= lam
    B *= 1 - lam
    A += B
