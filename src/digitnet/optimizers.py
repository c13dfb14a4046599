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
# The most steps between two flushes of an optimizer's state (see Optimizer.keep_normal).
FLUSH_EVERY = 100


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
        self._flushed: list[tuple[list[np.ndarray], int]] = []  # see keep_normal
        self._scratch: dict[np.dtype, tuple[np.ndarray, np.ndarray]] = {}

    def keep_normal(self, state: list[np.ndarray], decay: float) -> None:
        """Keep the ``state`` arrays, which every step multiplies by ``decay``, out of the
        subnormal numbers: every few steps their entries below sqrt(tiny) are set to 0.

        A number below the dtype's smallest normal one (``tiny``, 1.2e-38 in float32) is
        subnormal, and arithmetic on it is tens of times slower on x86 processors. A velocity
        entry whose gradient stays 0 (a dead ReLU neuron, a pixel almost never lit) shrinks by
        mu every step and gets there after a few hundred steps; from then on every product that
        scales the velocity and every p <- p + v slow down (a W4 epoch by a fifth, and growing).
        An entry below sqrt(tiny) (1e-19 in float32) is far too small to move a parameter, and
        takes log(sqrt(tiny) / tiny) / -log(decay) steps (414 for mu = 0.9) to turn subnormal;
        a flush every half that many steps, or every FLUSH_EVERY steps if that is sooner,
        catches it first. The cost: three passes over the state every FLUSH_EVERY steps.
        """
        if not 0 < decay < 1 or not state:
            return
        tiny = float(np.finfo(state[0].dtype).tiny)
        to_subnormal = math.log(math.sqrt(tiny) / tiny) / -math.log(decay)
        self._flushed.append((state, max(1, min(FLUSH_EVERY, int(to_subnormal / 2)))))

    def _count_step(self) -> None:
        """t <- t + 1, flushing the state's near-subnormal entries when their turn comes."""
        self.t += 1
        for state, every in self._flushed:
            if self.t % every == 0:
                for s in state:
                    self._flush_tiny(s)

    def _flush_tiny(self, s: np.ndarray) -> None:
        """s[|s| < sqrt(tiny)] = 0, piece by piece through two reused arrays."""
        if s.dtype not in self._scratch:
            self._scratch[s.dtype] = (np.empty(CHUNK, s.dtype), np.empty(CHUNK, np.bool_))
        buf, small = self._scratch[s.dtype]
        below = np.sqrt(np.finfo(s.dtype).tiny)
        for (piece,) in pieces(s):
            if piece.size > CHUNK or not piece.flags.c_contiguous:  # no reused arrays for it
                piece[np.abs(piece) < below] = 0
                continue
            flat, n = piece.reshape(-1), piece.size  # a view
            np.less(np.abs(flat, out=buf[:n]), below, out=small[:n])
            np.copyto(flat, 0, where=small[:n])

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], eta: float) -> None:
        self._count_step()
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
        self.keep_normal(self.v, mu)

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], eta: float) -> None:
        self._count_step()
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
        self._count_step()
        for p, v in zip(params, self.v, strict=True):
            axpy(1.0, v, p)


class Nesterov(Momentum):
    """Nesterov's accelerated gradient, in the form that needs the gradient at p only:
    v <- mu v - eta g; p <- p + mu v - eta g (look ahead along the new velocity)."""

    name = "nesterov"
    velocity_in_backprop = False  # its step needs the gradient itself, not only the velocity

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], eta: float) -> None:
        self._count_step()
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
        self.keep_normal(self.m, beta1)
        self.keep_normal(self.v, beta2)

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], eta: float) -> None:
        self._count_step()
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
