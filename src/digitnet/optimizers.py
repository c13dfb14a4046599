"""How a step along -grad C is taken, and how the learning rate eta changes over the epochs.

An optimizer updates the parameter arrays in place from their gradients (same shapes, same order
as ``Network.parameters()``). Plain SGD is the lessons' rule, ``w <- w - eta dC/dw``; the others
keep a little state per parameter (a velocity, or Adam's moment estimates).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from digitnet.blas import axpy
from digitnet.errors import DigitnetError

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")
SCHEDULES = ("constant", "step", "cosine")
# Elements per piece of an update: the several passes of an update over one piece of each array
# (three float32 pieces: 768 KB) run while it is still in the core's cache, which makes the update
# of a large network about a third faster than passes over the whole arrays. Same arithmetic.
CHUNK = 65_536


def pieces(*arrays: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    """Same-size arrays cut into matching flat pieces of CHUNK elements (views, written in place);
    small or non-contiguous arrays come back whole."""
    n = arrays[0].size
    if n <= CHUNK or not all(a.flags.c_contiguous for a in arrays):
        return [arrays]
    flat = [a.reshape(-1) for a in arrays]
    return [tuple(a[s : s + CHUNK] for a in flat) for s in range(0, n, CHUNK)]


class Optimizer:
    """Plain stochastic gradient descent: p <- p - eta g."""

    name = "sgd"
    # True when a step begins with v <- mu v - eta g, which backprop's own products can compute
    # (``Network.backprop(out=v, alpha=-eta, beta=mu)``); ``train`` then ends the step with
    # :meth:`step_after_velocity`.
    velocity_in_backprop = False

    def __init__(self, params: Sequence[np.ndarray]) -> None:
        self.t = 0  # steps taken

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], eta: float) -> None:
        self.t += 1
        for p, g in zip(params, grads, strict=True):
            eta_ = p.dtype.type(eta)
            for p_, g_ in pieces(p, g):
                g_ *= eta_
                p_ -= g_


class Momentum(Optimizer):
    """Heavy ball: v <- mu v - eta g; p <- p + v. The velocity remembers past steps."""

    name = "momentum"
    velocity_in_backprop = True

    def __init__(self, params: Sequence[np.ndarray], mu: float = 0.9) -> None:
        super().__init__(params)
        self.mu = mu
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], eta: float) -> None:
        self.t += 1
        for p, g, v in zip(params, grads, self.v, strict=True):
            mu, eta_ = p.dtype.type(self.mu), p.dtype.type(eta)
            for p_, g_, v_ in pieces(p, g, v):
                v_ *= mu
                g_ *= eta_
                v_ -= g_
                p_ += v_

    def step_after_velocity(self, params: Sequence[np.ndarray]) -> None:
        """The rest of a step whose velocity v <- mu v - eta g was already written (by backprop's
        products, see ``Network.backprop``): p <- p + v."""
        self.t += 1
        for p, v in zip(params, self.v, strict=True):
            axpy(1.0, v, p)


class Nesterov(Momentum):
    """Nesterov's accelerated gradient, in the form that needs the gradient at p only:
    v <- mu v - eta g; p <- p + mu v - eta g (look ahead along the new velocity)."""

    name = "nesterov"
    velocity_in_backprop = False  # its step needs the gradient itself, not only the velocity

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], eta: float) -> None:
        self.t += 1
        for p, g, v in zip(params, grads, self.v, strict=True):
            mu, eta_ = p.dtype.type(self.mu), p.dtype.type(eta)
            for p_, g_, v_ in pieces(p, g, v):
                g_ *= eta_
                v_ *= mu
                v_ -= g_
                p_ += mu * v_
                p_ -= g_


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): steps scaled by running estimates of the gradient's first and
    second moments, with bias correction. eta around 1e-3 is the usual start."""

    name = "adam"

    def __init__(
        self,
        params: Sequence[np.ndarray],
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], eta: float) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step = eta * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        eps_hat = self.eps * math.sqrt(1 - b2**self.t)
        for p, g, m, v in zip(params, grads, self.m, self.v, strict=True):
            f = p.dtype.type
            for p_, g_, m_, v_ in pieces(p, g, m, v):
                m_ *= f(b1)
                m_ += f(1 - b1) * g_  # m <- b1 m + (1 - b1) g
                g_ *= g_
                v_ *= f(b2)
                v_ += f(1 - b2) * g_  # v <- b2 v + (1 - b2) g^2
                np.sqrt(v_, out=g_)
                g_ += f(eps_hat)
                p_ -= f(step) * m_ / g_  # p <- p - eta m_hat / (sqrt(v_hat) + eps)


def make_optimizer(name: str, params: Sequence[np.ndarray], momentum: float = 0.9) -> Optimizer:
    if name == "sgd":
        return Optimizer(params)
    if name == "momentum":
        return Momentum(params, momentum)
    if name == "nesterov":
        return Nesterov(params, momentum)
    if name == "adam":
        return Adam(params)
    raise DigitnetError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")


def learning_rate(
    schedule: str,
    eta: float,
    progress: float,
    epochs: int,
    step_every: int = 10,
    step_factor: float = 0.5,
) -> float:
    """eta at ``progress`` epochs into training (a float: 2.5 is half-way through epoch 3).

    - ``constant``: eta throughout;
    - ``step``: eta times ``step_factor`` after every ``step_every`` whole epochs;
    - ``cosine``: from eta down to 0 along half a cosine over all the epochs.
    """
    if schedule == "constant":
        return eta
    if schedule == "step":
        return eta * step_factor ** int(progress // step_every)
    if schedule == "cosine":
        return eta * 0.5 * (1 + math.cos(math.pi * min(progress / epochs, 1.0)))
    raise DigitnetError(f"unknown schedule {schedule!r}; choose one of: {', '.join(SCHEDULES)}")
