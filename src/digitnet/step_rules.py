"""The lessons' step rules: how a step along -grad C is taken, and how eta changes over time.

These are the plain versions, the ones the lessons write and :class:`digitnet.train.ReferenceStep`
uses; the fast engine's in-place versions are :mod:`digitnet.engine.step_rules_in_place`.

An optimizer updates the parameter arrays in place from their gradients (same shapes, same order
as ``Network.parameters()``). Plain SGD is the lessons' rule, ``w <- w - eta dC/dw``; the others
keep a little state per parameter (a velocity, or Adam's moment estimates). The training engine
takes the same steps with reused memory (:mod:`digitnet.engine.step_rules_in_place`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from digitnet.errors import DigitnetError

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")
SCHEDULES = ("constant", "step", "cosine")


class SGD:
    """Plain stochastic gradient descent: p <- p - eta g."""

    name = "sgd"
    STATE: tuple[str, ...] = ()  # the attributes holding per-parameter state, lists of arrays

    def __init__(self, params: Sequence[np.ndarray]) -> None:
        self.t = 0  # steps taken

    def state(self) -> dict[str, np.ndarray]:
        """A copy of everything the next steps depend on: each state list as one vector laid out
        as ``Network.parameter_vector()``, and the step count ``t`` (as a 1-element array)."""
        vectors = {
            name: np.concatenate([a.ravel() for a in getattr(self, name)]) for name in self.STATE
        }
        return {"t": np.array([self.t], np.int64), **vectors}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Continue from :meth:`state`: the step count and every state vector, in place."""
        missing = [name for name in ("t", *self.STATE) if name not in state]
        if missing:
            raise DigitnetError(f"{self.name} state lacks {', '.join(missing)}")
        for name in self.STATE:
            arrays, vector = getattr(self, name), np.asarray(state[name])
            if vector.shape != (sum(a.size for a in arrays),):
                raise DigitnetError(f"{self.name} state {name} has shape {vector.shape}")
            offset = 0
            for a in arrays:
                a.reshape(-1)[...] = vector[offset : offset + a.size]
                offset += a.size
        self.t = int(np.asarray(state["t"]).reshape(-1)[0])

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], eta: float) -> None:
        self.t += 1
        for p, g in zip(params, grads, strict=True):
            p -= p.dtype.type(eta) * g


class Momentum(SGD):
    """Heavy ball: v <- mu v - eta g; p <- p + v. The velocity remembers past steps."""

    name = "momentum"
    STATE = ("v",)

    def __init__(self, params: Sequence[np.ndarray], mu: float = 0.9) -> None:
        super().__init__(params)
        self.mu = mu
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], eta: float) -> None:
        self.t += 1
        for p, g, v in zip(params, grads, self.v, strict=True):
            mu, eta_ = p.dtype.type(self.mu), p.dtype.type(eta)
            v *= mu
            v -= eta_ * g
            p += v


class Nesterov(Momentum):
    """Nesterov's accelerated gradient, in the form that needs the gradient at p only:
    v <- mu v - eta g; p <- p + mu v - eta g (look ahead along the new velocity)."""

    name = "nesterov"

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], eta: float) -> None:
        self.t += 1
        for p, g, v in zip(params, grads, self.v, strict=True):
            mu, eta_ = p.dtype.type(self.mu), p.dtype.type(eta)
            v *= mu
            v -= eta_ * g
            p += mu * v - eta_ * g


class Adam(SGD):
    """Adam (Kingma & Ba 2015): steps scaled by running estimates of the gradient's first and
    second moments, with bias correction. eta around 1e-3 is the usual start."""

    name = "adam"
    STATE = ("m", "v")

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

    def corrected(self, eta: float) -> tuple[float, float]:
        """(step, eps_hat) at step t: eta m_hat / (sqrt(v_hat) + eps) with the bias corrections
        m_hat = m / (1 - beta1^t), v_hat = v / (1 - beta2^t) folded into two numbers."""
        b1, b2 = self.beta1, self.beta2
        step = eta * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        return step, self.eps * math.sqrt(1 - b2**self.t)

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], eta: float) -> None:
        self.t += 1
        step, eps_hat = self.corrected(eta)
        for p, g, m, v in zip(params, grads, self.m, self.v, strict=True):
            f = p.dtype.type
            m *= f(self.beta1)
            m += f(1 - self.beta1) * g  # m <- b1 m + (1 - b1) g
            v *= f(self.beta2)
            v += f(1 - self.beta2) * (g * g)  # v <- b2 v + (1 - b2) g^2
            p -= f(step) * m / (np.sqrt(v) + f(eps_hat))  # p <- p - eta m_hat / (sqrt(v_hat) + eps)


KINDS: dict[str, type[SGD]] = {"sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adam": Adam}


def make_optimizer(
    name: str,
    params: Sequence[np.ndarray],
    momentum: float = 0.9,
    kinds: dict[str, type[SGD]] | None = None,
) -> SGD:
    """The optimizer called ``name`` for ``params``; ``kinds`` maps names to the classes to use
    (default: this module's; the engine passes its own)."""
    kind = (kinds or KINDS).get(name)
    if kind is None:
        raise DigitnetError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
    if issubclass(kind, Momentum):
        return kind(params, momentum)
    return kind(params)


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
