"""Costs: how wrong the output activations ``a`` are for the integer labels ``y``.

``a`` and ``z`` have shape ``(n, n_L)``, one example per row; ``y`` holds the ``n`` correct classes
as integers. Each cost, like Nielsen's, has its value ``fn`` (averaged over the ``n`` examples, as
in the lessons) and its output error ``delta`` = dC/dz^(L), the first backprop equation.
Labels become one-hot vectors only here, in :func:`one_hot`.

Every cost also takes the desired outputs themselves: ``y`` a float array ``(n, n_L)``. For the
quadratic cost they may be any real numbers (a regressor's targets); for the cross-entropy costs
they are target probabilities (each row of a softmax's sums to 1), as label smoothing and mixup
(:mod:`digitnet.soft_targets`) make them. A one-hot row gives the same cost as its label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from digitnet.activations import Activation
from digitnet.errors import DigitnetError


def one_hot(y: np.ndarray, n_classes: int, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """The desired output vectors: row i is 1 at position ``y[i]`` and 0 elsewhere."""
    Y = np.zeros((len(y), n_classes), dtype=dtype)
    Y[np.arange(len(y)), y] = 1
    return Y


def _a_minus_y(a: np.ndarray, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a - y (n, n_L), into ``out`` if given. For integer labels y (n,), y is one-hot and never
    built: a copy of a with 1 taken off the right class. For desired outputs y (n, n_L), the
    plain difference."""
    d = a.copy() if out is None else _copy_into(out, a)
    if y.ndim == 2:
        d -= y
    else:
        d[np.arange(len(y)), y] -= 1
    return d


def _copy_into(out: np.ndarray, a: np.ndarray) -> np.ndarray:
    np.copyto(out, a)
    return out


def _log_softmax(z: np.ndarray) -> np.ndarray:
    """ln a for a = softmax(z) (n, n_L), exact where a rounds to 0."""
    zmax = z.max(axis=1, keepdims=True)
    return z - zmax - np.log(np.exp(z - zmax).sum(axis=1, keepdims=True))


def _sigmoid_cross_entropy(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each example's sum_j -[y_j ln a_j + (1 - y_j) ln(1 - a_j)] for a = sigmoid(z) (n,),
    written as sum_j softplus(z_j) - y_j z_j (ln(1 - a) = -softplus(z), ln a = z - softplus(z))."""
    softplus = np.logaddexp(0, z).sum(axis=1)
    if y.ndim == 2:
        return softplus - np.einsum("ij,ij->i", y, z)
    return softplus - z[np.arange(len(y)), y]


class Cost(Protocol):
    # read-only, so that the frozen dataclasses below satisfy the protocol
    @property
    def name(self) -> str: ...

    def fn(self, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> float: ...
    def each(self, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Each example's own cost C_x (n,), float64; ``fn`` is their mean."""

    def grad_a(self, a: np.ndarray, y: np.ndarray) -> np.ndarray: ...
    def delta(
        self,
        z: np.ndarray,
        a: np.ndarray,
        y: np.ndarray,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """delta^(L) = dC/dz^(L), averaged over the batch; written into ``out`` if given."""


@dataclass(frozen=True)
class Quadratic:
    """C = (1/n) sum_x sum_j (a_j - y_j)^2, the lessons' cost, for any output activation.

    dC/da_j = 2 (a_j - y_j) / n, and delta = dC/da * sigma'(z) (times softmax's Jacobian for a
    softmax output). y is the integer labels (n,) (y_j one-hot) or the desired outputs (n, n_L).
    """

    output: Activation
    name: str = "quadratic"

    def fn(self, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> float:
        diff = _a_minus_y(a, y)
        return float(np.einsum("ij,ij->", diff, diff) / len(a))

    def each(self, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        diff = _a_minus_y(a, y).astype(np.float64)
        return np.einsum("ij,ij->i", diff, diff)

    def grad_a(self, a: np.ndarray, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        g = _a_minus_y(a, y, out)
        g *= a.dtype.type(2 / len(a))
        return g

    def delta(
        self,
        z: np.ndarray,
        a: np.ndarray,
        y: np.ndarray,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        g = self.grad_a(a, y, out)
        if self.output.elementwise:
            g *= self.output.prime(z, a)
            return g
        d = self.output.vjp(a, g)  # type: ignore[attr-defined]
        return d if out is None else _copy_into(out, d)


@dataclass(frozen=True)
class SoftmaxCrossEntropy:
    """C = -(1/n) sum_x ln a_y: the log-likelihood of the right class under a softmax output.

    Fused with the softmax, the output error is simply delta = (a - y) / n.
    """

    output: Activation
    name: str = "cross-entropy"

    def fn(self, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> float:
        log_a = _log_softmax(z)
        if y.ndim == 2:  # target probabilities: C = -(1/n) sum_x sum_j y_j ln a_j
            return float(-np.einsum("ij,ij->", y, log_a) / len(a))
        return float(-log_a[np.arange(len(y)), y].sum() / len(a))

    def each(self, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        log_a = _log_softmax(z.astype(np.float64))
        if y.ndim == 2:
            return -np.einsum("ij,ij->i", y.astype(np.float64), log_a)
        return -log_a[np.arange(len(y)), y]

    def grad_a(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        if y.ndim == 2:
            return -y / (a * len(a))
        g = np.zeros_like(a)
        rows = np.arange(len(y))
        g[rows, y] = -1 / (a[rows, y] * len(a))
        return g

    def delta(
        self,
        z: np.ndarray,
        a: np.ndarray,
        y: np.ndarray,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        d = _a_minus_y(a, y, out)
        d *= a.dtype.type(1 / len(a))
        return d


@dataclass(frozen=True)
class SigmoidCrossEntropy:
    """C = -(1/n) sum_x sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)] for a sigmoid output.

    Its logarithms come from z (ln a = -softplus(-z)), exact even where a rounds to 0 or 1.
    Fused with the sigmoid, sigma'(z) cancels and the output error is delta = (a - y) / n.
    """

    output: Activation
    name: str = "cross-entropy"

    def fn(self, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> float:
        return float(_sigmoid_cross_entropy(z, y).sum() / len(a))

    def each(self, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        return _sigmoid_cross_entropy(z.astype(np.float64), y)

    def grad_a(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        return _a_minus_y(a, y) / (a * (1 - a) * len(a))

    def delta(
        self,
        z: np.ndarray,
        a: np.ndarray,
        y: np.ndarray,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        d = _a_minus_y(a, y, out)
        d *= a.dtype.type(1 / len(a))
        return d


COST_NAMES = ("quadratic", "cross-entropy")


def get_cost(name: str, output: Activation) -> Cost:
    """The cost called ``name`` for a network whose output layer uses ``output``."""
    if name == "quadratic":
        return Quadratic(output)
    if name == "cross-entropy":
        if output.name == "softmax":
            return SoftmaxCrossEntropy(output)
        if output.name == "sigmoid":
            return SigmoidCrossEntropy(output)
        raise DigitnetError(
            f"cost 'cross-entropy' needs a 'softmax' or 'sigmoid' output layer, not {output.name!r}"
        )
    raise DigitnetError(f"unknown cost {name!r}; choose one of: {', '.join(COST_NAMES)}")
