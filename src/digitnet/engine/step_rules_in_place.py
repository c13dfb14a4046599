"""The fast engine's in-place versions of the step rules of :mod:`digitnet.step_rules`.

Same rules, same state; two things differ, neither changing what a step computes:

- an update runs piece by piece (:func:`pieces`): the several passes of an update over one piece
  of each array run while it is still in the core's cache, instead of passes over whole arrays;
- the state that every step multiplies by a decay (momentum's velocity, Adam's moments) is kept
  out of the subnormal numbers (:meth:`Flush.keep_normal`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from digitnet import step_rules as plain
from digitnet.engine.blas import axpy

# Elements per piece of an update: three float32 pieces (768 KB) stay in a core's cache.
CHUNK = 65_536
# The most steps between two flushes of an optimizer's state (see Flush.keep_normal).
FLUSH_EVERY = 100


def pieces(*arrays: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    """Same-size arrays cut into matching flat pieces of CHUNK elements (views, written in place);
    small or non-contiguous arrays come back whole."""
    n = arrays[0].size
    if n <= CHUNK or not all(a.flags.c_contiguous for a in arrays):
        return [arrays]
    flat = [a.reshape(-1) for a in arrays]
    return [tuple(a[s : s + CHUNK] for a in flat) for s in range(0, n, CHUNK)]


class Flush:
    """Keeps decaying optimizer state out of the subnormal numbers.

    A number below the dtype's smallest normal one (``tiny``, 1.2e-38 in float32) is subnormal,
    and arithmetic on it is many times slower on x86 processors. A velocity entry whose gradient
    stays 0 (a dead ReLU neuron, a pixel almost never lit) shrinks by mu every step and gets
    there after a few hundred steps; from then on every product that scales the velocity and
    every p <- p + v slows down. An entry below sqrt(tiny) (1e-19 in float32) is far too small
    to move a parameter, and takes log(sqrt(tiny) / tiny) / -log(decay) steps (414 for mu = 0.9)
    to turn subnormal; a flush every half that many steps, or every FLUSH_EVERY steps if that is
    sooner, sets it to 0 first.
    """

    def __init__(self) -> None:
        self._flushed: list[tuple[list[np.ndarray], int]] = []
        self._scratch: dict[np.dtype, tuple[np.ndarray, np.ndarray]] = {}

    def keep_normal(self, state: list[np.ndarray], decay: float) -> None:
        """Flush ``state``, which every step multiplies by ``decay``, often enough."""
        if not 0 < decay < 1 or not state:
            return
        tiny = float(np.finfo(state[0].dtype).tiny)
        to_subnormal = math.log(math.sqrt(tiny) / tiny) / -math.log(decay)
        self._flushed.append((state, max(1, min(FLUSH_EVERY, int(to_subnormal / 2)))))

    def after_step(self, t: int) -> None:
        """Step t was taken: flush the state whose turn it is (a schedule of t alone, so that a
        run continued from a saved state flushes when the uninterrupted run would)."""
        for state, every in self._flushed:
            if t % every == 0:
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


class SGD(plain.SGD):
    """p <- p - eta g, in place. The gradients are scaled in place too (they are the engine's
    own arrays, overwritten by the next step)."""

    # True when a step begins with v <- mu v - eta g, which backprop's own products can compute
    # (see digitnet.engine.step); the step then ends with :meth:`step_after_velocity`.
    velocity_in_backprop = False

    def __init__(self, params: Sequence[np.ndarray]) -> None:
        super().__init__(params)
        self.flush = Flush()

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], eta: float) -> None:
        self.t += 1
        self.flush.after_step(self.t)
        for p, g in zip(params, grads, strict=True):
            eta_ = p.dtype.type(eta)
            for p_, g_ in pieces(p, g):
                g_ *= eta_
                p_ -= g_


class Momentum(plain.Momentum, SGD):
    velocity_in_backprop = True

    def __init__(self, params: Sequence[np.ndarray], mu: float = 0.9) -> None:
        plain.Momentum.__init__(self, params, mu)
        self.flush = Flush()
        self.flush.keep_normal(self.v, mu)

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], eta: float) -> None:
        self.t += 1
        self.flush.after_step(self.t)
        for p, g, v in zip(params, grads, self.v, strict=True):
            mu, eta_ = p.dtype.type(self.mu), p.dtype.type(eta)
            for p_, g_, v_ in pieces(p, g, v):
                v_ *= mu
                g_ *= eta_
                v_ -= g_
                p_ += v_

    def step_after_velocity(self, params: Sequence[np.ndarray]) -> None:
        """The rest of a step whose velocity v <- mu v - eta g was already written by
        backprop's products: p <- p + v."""
        self.t += 1
        self.flush.after_step(self.t)
        for p, v in zip(params, self.v, strict=True):
            axpy(1.0, v, p)


class Nesterov(plain.Nesterov, Momentum):
    velocity_in_backprop = False  # its step needs the gradient itself, not only the velocity

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], eta: float) -> None:
        self.t += 1
        self.flush.after_step(self.t)
        for p, g, v in zip(params, grads, self.v, strict=True):
            mu, eta_ = p.dtype.type(self.mu), p.dtype.type(eta)
            for p_, g_, v_ in pieces(p, g, v):
                g_ *= eta_
                v_ *= mu
                v_ -= g_
                p_ += mu * v_
                p_ -= g_


class Adam(plain.Adam, SGD):
    def __init__(self, params: Sequence[np.ndarray]) -> None:
        plain.Adam.__init__(self, params)
        self.flush = Flush()
        self.flush.keep_normal(self.m, self.beta1)
        self.flush.keep_normal(self.v, self.beta2)

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], eta: float) -> None:
        self.t += 1
        self.flush.after_step(self.t)
        step, eps_hat = self.corrected(eta)
        b1, b2 = self.beta1, self.beta2
        for p, g, m, v in zip(params, grads, self.m, self.v, strict=True):
            f = p.dtype.type
            for p_, g_, m_, v_ in pieces(p, g, m, v):
                m_ *= f(b1)
                m_ += f(1 - b1) * g_
                g_ *= g_
                v_ *= f(b2)
                v_ += f(1 - b2) * g_
                np.sqrt(v_, out=g_)
                g_ += f(eps_hat)
                p_ -= f(step) * m_ / g_


KINDS: dict[str, type[plain.SGD]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adam": Adam,
}


def make_optimizer(name: str, params: Sequence[np.ndarray], momentum: float = 0.9) -> SGD:
    """The engine's optimizer called ``name`` (see :func:`digitnet.step_rules.make_optimizer`)."""
    return plain.make_optimizer(name, params, momentum, KINDS)  # type: ignore[return-value]
