"""The training step of :mod:`digitnet.engine`: the reference network's trace and backprop,
computed into reused arrays, with momentum's update folded into backprop's products.

:func:`trace` and :func:`backprop` compute what ``Network.trace`` and ``Network.backprop``
compute (the tests compare them), but every array is the workspace's (:mod:`.workspace`), and
the products go through BLAS (:mod:`.blas`), which can add into its output:
``out <- alpha * product + beta * out``. With ``out`` the velocity, ``alpha = -eta`` and
``beta = mu``, backprop's weight- and bias-gradient products compute momentum's
``v <- mu v - eta dC/dp`` in the same pass, instead of four more passes over every parameter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from digitnet.costs import Quadratic
from digitnet.engine.blas import axpy, batch_sum, gemm
from digitnet.engine.dropout import draw_mask, kept_fraction
from digitnet.engine.step_rules_in_place import make_optimizer
from digitnet.engine.workspace import Workspace
from digitnet.network import Gradients, Network, Trace, _split

if TYPE_CHECKING:
    from digitnet.settings import TrainConfig

# Activations whose sigma'(z) reads z alone, so backprop need not undo dropout's scaling of a.
PRIME_OF_Z_ONLY = ("relu", "leaky-relu", "identity")


def trace(
    net: Network, X: np.ndarray, ws: Workspace, dropout: float, rng: np.random.Generator
) -> Trace:
    """``net.trace(X, masks)`` with the masks drawn as the reference step draws them
    (:func:`digitnet.engine.dropout.draw_masks`), every z, a and mask in ``ws``."""
    ws = ws.rows(len(X))
    a = X
    t = Trace(z=[None], a=[a], masks=[None])
    L = net.n_layers
    for l in range(1, L + 1):
        z = gemm(a, net.W[l - 1].T, out=ws.z[l])
        z += net.b[l - 1]
        a = net.sigma_of(l)(z, out=ws.a[l])
        mask = None
        if dropout > 0 and l < L:
            mask = draw_mask(a.shape, dropout, rng, net.dtype, out=(ws.keep[l], ws.mask[l]))
            a *= mask
        t.z.append(z)
        t.a.append(a)
        t.masks.append(mask)
    return t


def evaluate(
    net: Network, X: np.ndarray, y: np.ndarray, batch: int = 10_000
) -> tuple[float, float]:
    """``net.evaluate(X, y)``: (cost, accuracy) on X (n, n_0) with labels y (n,) or desired
    outputs y (n, n_L) (accuracy NaN), its products through the same BLAS as the training
    step's. (NumPy's own BLAS would leave its threads spinning into the next epoch's products,
    see :mod:`.blas`.)"""
    if len(X) == 0:
        return float("nan"), float("nan")
    total_cost, correct = 0.0, 0
    for start in range(0, len(X), batch):
        a, yb = X[start : start + batch], y[start : start + batch]
        for l in range(1, net.n_layers + 1):
            z = gemm(a, net.W[l - 1].T)
            z += net.b[l - 1]
            a = net.sigma_of(l)(z)
        total_cost += net.cost.fn(z, a, yb) * len(yb)
        if y.ndim == 1:
            correct += int((np.argmax(a, axis=1) == yb).sum())
    return total_cost / len(X), correct / len(X) if y.ndim == 1 else float("nan")


def output_error(net: Network, t: Trace, y: np.ndarray, ws: Workspace) -> np.ndarray:
    """delta^(L) into the workspace (for the quadratic cost, sigma'(z^(L)) too)."""
    L, cost = net.n_layers, net.cost
    if isinstance(cost, Quadratic) and net.output_sigma.elementwise:
        g = cost.grad_a(t.a[L], y, out=ws.delta[L])
        g *= net.output_sigma.prime(t.z_of(L), t.a[L], out=ws.prime[L])
        return g
    return cost.delta(t.z_of(L), t.a[L], y, out=ws.delta[L])


def backprop(
    net: Network,
    t: Trace,
    y: np.ndarray,
    ws: Workspace,
    dropout: float = 0.0,
    into: Gradients | None = None,
    alpha: float = 1.0,
    beta: float = 0.0,
    weights: np.ndarray | None = None,
) -> Gradients:
    """``net.backprop(t, y, weights)``, written as ``alpha * gradient + beta * into`` into
    ``into`` (default: the workspace's gradients, with alpha 1 and beta 0: the gradient
    itself)."""
    ws = ws.rows(len(y))
    into = ws.grads if into is None else into
    delta = output_error(net, t, y, ws)  # (1)
    if weights is not None:  # each example's share, as sample weights scale it
        delta *= weights[:, None]
    for l in range(net.n_layers, 0, -1):
        batch_sum(delta, into.b[l - 1], ws.ones, alpha, beta)  # (3)
        gemm(delta.T, t.a[l - 1], into.W[l - 1], alpha, beta)  # (4)
        if l > 1:
            delta = gemm(delta, net.W[l - 1], out=ws.delta[l - 1])  # (2): dC/da^(l-1) ...
            if t.masks[l - 1] is not None:
                delta *= t.masks[l - 1]
            a = _before_dropout(net, t, l - 1, dropout)
            delta *= net.sigma.prime(t.z_of(l - 1), a, out=ws.prime[l - 1])  # ... times sigma'(z)
    return into


def _before_dropout(net: Network, t: Trace, l: int, dropout: float) -> np.ndarray:
    """sigma(z^(l)) before dropout, as sigma' needs it (only sigmoid and tanh read it).

    Kept neurons were scaled by 1/keep, so multiplying by keep restores them; dropped ones are 0
    and their sigma' is multiplied by a zero mask anyway.
    """
    if t.masks[l] is None or net.sigma.name in PRIME_OF_Z_ONLY:
        return t.a[l]
    return t.a[l] * t.a[l].dtype.type(kept_fraction(dropout)[1])


def flat_parameters(net: Network) -> np.ndarray | None:
    """The network's parameter vector, whose views its ``W`` and ``b`` are, or None if an array
    of ``W`` or ``b`` was replaced since the network was made."""
    flat = net._flat
    offset = 0
    for p in net.parameters():
        if p.base is not flat or not p.flags.c_contiguous or p.dtype != flat.dtype:
            return None
        if p.ctypes.data != flat.ctypes.data + offset * flat.itemsize:
            return None
        offset += p.size
    return flat if offset == flat.size else None


class Step:
    """One step of mini-batch SGD on ``net`` with ``config``'s optimizer, weight decay and
    dropout, for batches of at most ``batch_size`` rows: what ``digitnet.train``'s reference
    step does, in reused memory.

    With the parameters in one vector (as a Network makes them), the optimizer updates them all
    at once from the workspace's gradient vector, laid out the same way. ``fold_momentum`` lets
    backprop's products write momentum's velocity (same arithmetic up to rounding).
    """

    def __init__(
        self, net: Network, config: TrainConfig, batch_size: int, fold_momentum: bool = True
    ) -> None:
        self.net, self.dropout = net, config.dropout
        self.ws = Workspace(net, batch_size)
        flat = flat_parameters(net)
        if flat is not None:
            self.params, self.grads = [flat], [self.ws.flat_grads]
        else:
            g = self.ws.grads
            self.params = net.parameters()
            self.grads = [p for pair in zip(g.W, g.b, strict=True) for p in pair]
        self.optimizer = make_optimizer(config.optimizer, self.params, config.momentum)
        # momentum's velocity as W- and b-shaped views, for backprop's products to write into
        self.velocity: Gradients | None = None
        if fold_momentum and self.optimizer.velocity_in_backprop and flat is not None:
            v = _split(self.optimizer.v[0], [p.shape for p in net.parameters()])  # type: ignore[attr-defined]
            self.velocity = Gradients(v[0::2], v[1::2])
        self.weight_decay = net.dtype.type(config.weight_decay) if config.weight_decay else None
        self._decay = [np.empty_like(W) for W in net.W]  # lambda W, reused

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """(cost, accuracy) of the network on X, y (see :func:`evaluate`)."""
        return evaluate(self.net, self.net.as_input(X), np.asarray(y))

    def __call__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        lr: float,
        rng: np.random.Generator,
        weights: np.ndarray | None = None,
    ) -> None:
        net, ws = self.net, self.ws
        t = trace(net, X, ws, self.dropout, rng)
        if self.velocity is not None:
            mu = self.optimizer.mu  # type: ignore[attr-defined]
            backprop(net, t, y, ws, self.dropout, into=self.velocity, alpha=-lr, beta=mu,
                     weights=weights)  # fmt: skip
            if self.weight_decay:  # v -= eta lambda W, the L2 penalty's share
                for W, v in zip(net.W, self.velocity.W, strict=True):
                    axpy(-lr * self.weight_decay, W, v)
            self.optimizer.step_after_velocity(self.params)  # type: ignore[attr-defined]
            return
        grads = backprop(net, t, y, ws, self.dropout, weights=weights)
        if self.weight_decay:  # dC/dW += lambda W, the L2 penalty's gradient
            for W, dW, lam_W in zip(net.W, grads.W, self._decay, strict=True):
                dW += np.multiply(W, self.weight_decay, out=lam_W)
        self.optimizer.step(self.params, self.grads, lr)  # grads lives in self.grads' arrays
