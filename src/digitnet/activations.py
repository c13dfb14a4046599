"""Activation functions sigma and their derivatives sigma', each beside the other.

Every activation works elementwise on ``z`` of any shape and returns an array of the same dtype.
``prime(z)`` is sigma'(z). Several derivatives are simplest from ``a = sigma(z)`` (sigmoid:
``a (1 - a)``; tanh: ``1 - a^2``), so ``prime`` also takes ``a`` when the caller already has it.
Both take an optional ``out`` array of z's shape and dtype to write into, so that the training
engine reuses its arrays instead of allocating new ones (``out`` must not be ``z`` or ``a``).

Softmax is not elementwise: it is only allowed on the output layer, where the network computes the
output error with its Jacobian (see :mod:`digitnet.network`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.special import expit

from digitnet.errors import DigitnetError


class Activation(Protocol):
    # read-only members, so that the frozen dataclasses below satisfy the protocol
    @property
    def name(self) -> str: ...
    @property
    def elementwise(self) -> bool: ...

    def __call__(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray: ...
    def prime(
        self, z: np.ndarray, a: np.ndarray | None = None, out: np.ndarray | None = None
    ) -> np.ndarray: ...


@dataclass(frozen=True)
class Sigmoid:
    """sigma(z) = 1 / (1 + e^-z), by SciPy's expit: exact to the last bit, no overflow for any z."""

    name: str = "sigmoid"
    elementwise: bool = True

    def __call__(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return expit(z, out=out)

    def prime(
        self, z: np.ndarray, a: np.ndarray | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        a = self(z) if a is None else a
        s = np.subtract(1, a, out=out)
        s *= a
        return s  # sigma'(z) = sigma(z) (1 - sigma(z))


@dataclass(frozen=True)
class Tanh:
    name: str = "tanh"
    elementwise: bool = True

    def __call__(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return np.tanh(z, out=out)

    def prime(
        self, z: np.ndarray, a: np.ndarray | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        a = self(z) if a is None else a
        s = np.multiply(a, a, out=out)
        return np.subtract(1, s, out=s)  # tanh'(z) = 1 - tanh(z)^2


@dataclass(frozen=True)
class ReLU:
    """ReLU(z) = max(0, z), the lessons' "modern choice"; its derivative at 0 is taken as 0."""

    name: str = "relu"
    elementwise: bool = True

    def __call__(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return np.maximum(z, 0, out=out)

    def prime(
        self, z: np.ndarray, a: np.ndarray | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        if out is None:
            return (z > 0).astype(z.dtype)
        return np.greater(z, 0, out=out)  # True and False written as 1 and 0


@dataclass(frozen=True)
class LeakyReLU:
    """max(z, slope z): a small slope for negative z keeps the gradient alive."""

    name: str = "leaky-relu"
    elementwise: bool = True
    slope: float = 0.01

    def __call__(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        out = np.multiply(z, z.dtype.type(self.slope), out=out)
        return np.maximum(z, out, out=out)  # max(z, slope z) is z for z > 0, slope z below

    def prime(
        self, z: np.ndarray, a: np.ndarray | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        s = np.greater(z, 0, out=out if out is not None else np.empty_like(z))
        s *= z.dtype.type(1 - self.slope)
        s += z.dtype.type(self.slope)
        return s  # 1 for z > 0, slope for z <= 0


@dataclass(frozen=True)
class Identity:
    """sigma(z) = z: a linear layer. The output of a regression network, whose answers are any
    real numbers; sigma'(z) = 1."""

    name: str = "identity"
    elementwise: bool = True

    def __call__(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            return z.copy()
        np.copyto(out, z)
        return out

    def prime(
        self, z: np.ndarray, a: np.ndarray | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        if out is None:
            return np.ones_like(z)
        out.fill(1)
        return out


@dataclass(frozen=True)
class Softmax:
    """a_j = e^{z_j} / sum_k e^{z_k} over each row (one example per row), shifted by the row max."""

    name: str = "softmax"
    elementwise: bool = False

    def __call__(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        e = np.subtract(z, z.max(axis=-1, keepdims=True), out=out)
        np.exp(e, out=e)
        e /= e.sum(axis=-1, keepdims=True)
        return e

    def prime(
        self, z: np.ndarray, a: np.ndarray | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        raise TypeError("softmax has a Jacobian, not an elementwise derivative; see vjp()")

    @staticmethod
    def vjp(a: np.ndarray, g: np.ndarray) -> np.ndarray:
        """dC/dz from g = dC/da for each row: J^T g = a * (g - sum_k g_k a_k)."""
        return a * (g - (g * a).sum(axis=-1, keepdims=True))


ACTIVATIONS: dict[str, Activation] = {
    act.name: act for act in (Sigmoid(), ReLU(), LeakyReLU(), Tanh(), Identity(), Softmax())
}
HIDDEN_ACTIVATIONS = tuple(name for name, act in ACTIVATIONS.items() if act.elementwise)


def get_activation(name: str, *, output: bool = False) -> Activation:
    """The activation called ``name``; softmax only when ``output`` is true."""
    allowed = tuple(ACTIVATIONS) if output else HIDDEN_ACTIVATIONS
    if name not in allowed:
        what = "output activation" if output else "activation"
        raise DigitnetError(f"unknown {what} {name!r}; choose one of: {', '.join(allowed)}")
    return ACTIVATIONS[name]
