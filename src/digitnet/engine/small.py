"""One compiled function for a whole training step of a small network (Numba).

For the lessons' network and batches of 10, a step is about thirty NumPy calls on arrays of a
few hundred numbers: the time goes into calling, not computing. :func:`_step` does the same step
(:class:`digitnet.train.ReferenceStep`: trace, backprop, weight decay, an SGD or momentum
update) in one call compiled by Numba, its matrix products through BLAS and everything else in
loops. It is used when Numba is installed (``pip install 'digitnet[fast]'``) and the run is one
it covers (:func:`unsupported`); otherwise :class:`digitnet.engine.Step` takes the step. The
compiled code is cached on disk, so only the first run on a machine waits for the compiler.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from digitnet.engine.blas import ONE_THREAD_WORK
from digitnet.engine.step import evaluate, flat_parameters
from digitnet.engine.step_rules_in_place import make_optimizer
from digitnet.network import Network

if TYPE_CHECKING:
    from digitnet.settings import TrainConfig

ACTIVATIONS = {"sigmoid": 0, "relu": 1, "leaky-relu": 2, "tanh": 3, "identity": 4, "softmax": 5}
LARGEST_BATCH = 64
LEAK = 0.01  # leaky ReLU's slope, as digitnet.activations.LeakyReLU's


def unsupported(net: Network, config: TrainConfig, batch_size: int, real_targets: bool) -> str:
    """Why the compiled step cannot take this run's steps ("" when it can)."""
    if real_targets:
        return "real-valued targets"
    if config.optimizer not in ("sgd", "momentum"):
        return f"the {config.optimizer} optimizer"
    if config.dropout:
        return "dropout"
    if config.label_smoothing or config.mixup:
        return "soft targets (label smoothing or mixup)"
    if batch_size > LARGEST_BATCH or any(batch_size * W.size >= ONE_THREAD_WORK for W in net.W):
        return "products big enough for BLAS threads"
    if net.output == "softmax" and net.cost.name != "cross-entropy":
        return "a softmax output with the quadratic cost"
    if flat_parameters(net) is None:
        return "parameters that are not one vector"
    try:
        import numba  # noqa: F401
    except ImportError:
        return "Numba is not installed"
    return ""


class SmallStep:
    """``step(X, y, lr, rng)`` for a small network, in one compiled call (see the module).

    ``compile_seconds`` is how long the compiled code took to build or to load from the cache.
    """

    def __init__(self, net: Network, config: TrainConfig) -> None:
        self.net = net
        flat = flat_parameters(net)
        if flat is None:
            raise ValueError("the compiled step needs parameters that are one vector")
        self.flat = flat
        self.optimizer = make_optimizer(config.optimizer, [self.flat], config.momentum)
        momentum = config.optimizer == "momentum"
        # momentum's velocity (plain SGD reads none: a stand-in of the same layout)
        self.velocity = self.optimizer.v[0] if momentum else np.zeros_like(self.flat)  # type: ignore[attr-defined]
        self.mu = net.dtype.type(config.momentum if momentum else 0.0)
        self.weight_decay = net.dtype.type(config.weight_decay)
        self.sizes = np.asarray(net.sizes, np.int64)
        self.codes = (
            ACTIVATIONS[net.activation],
            ACTIVATIONS[net.output],
            int(net.cost.name == "cross-entropy"),
            int(momentum),
        )
        start = time.perf_counter()
        self.kernel = _compiled()
        X = np.zeros((1, net.sizes[0]), net.dtype)
        self._call(X, np.zeros(1, np.intp), 0.0, self.flat.copy(), self.velocity.copy())
        self.compile_seconds = time.perf_counter() - start

    def _call(
        self, X: np.ndarray, y: np.ndarray, lr: float, flat: np.ndarray, velocity: np.ndarray
    ) -> None:
        hidden, output, cross_entropy, momentum = self.codes
        self.kernel(
            flat, velocity, self.sizes, X, y.astype(np.intp, copy=False),
            self.net.dtype.type(lr), self.mu, self.weight_decay,
            hidden, output, cross_entropy, momentum,
        )  # fmt: skip

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """(cost, accuracy) of the network on X, y."""
        return evaluate(self.net, self.net.as_input(X), np.asarray(y))

    def __call__(self, X: np.ndarray, y: np.ndarray, lr: float, rng: np.random.Generator) -> None:
        self._call(X, y, lr, self.flat, self.velocity)
        self.optimizer.t += 1
        self.optimizer.flush.after_step(self.optimizer.t)


_KERNEL: list[Any] = []


def _compiled() -> Any:
    """The compiled :func:`_step` (built, or loaded from Numba's cache, on first use). Its helpers
    are compiled first, under their own names, which is how the compiled step calls them."""
    if not _KERNEL:
        import numba

        module = globals()
        for helper in ("_activate", "_times_prime"):
            module[helper] = numba.njit(cache=True)(module[helper])
        _KERNEL.append(numba.njit(cache=True)(_step))
    return _KERNEL[0]


# -- the step, in Numba's subset of Python and NumPy -----------------------------------------
# Layer l's W is flat[w_at[l] : w_at[l] + n_l n_{l-1}] as (n_l, n_{l-1}), its b the next n_l
# numbers, as Network lays out its parameter vector.


def _activate(z, code):  # noqa: ANN001, ANN202
    """a = sigma(z), a new array (n, n_l)."""
    a = np.empty_like(z)
    n, k = z.shape
    if code == 5:  # softmax, row by row, shifted by the row's largest z
        for r in range(n):
            top = z[r, 0]
            for j in range(k):
                top = max(top, z[r, j])
            total = 0.0
            for j in range(k):
                a[r, j] = np.exp(z[r, j] - top)
                total += a[r, j]
            for j in range(k):
                a[r, j] = a[r, j] / total
        return a
    for r in range(n):
        for j in range(k):
            v = z[r, j]
            if code == 0:
                a[r, j] = 1.0 / (1.0 + np.exp(-v))
            elif code == 1:
                a[r, j] = v if v > 0 else 0.0
            elif code == 2:
                a[r, j] = v if v > 0 else LEAK * v
            elif code == 3:
                a[r, j] = np.tanh(v)
            else:
                a[r, j] = v
    return a


def _times_prime(d, z, a, code):  # noqa: ANN001, ANN202
    """d *= sigma'(z), in place (sigmoid and tanh from a = sigma(z))."""
    n, k = d.shape
    for r in range(n):
        for j in range(k):
            if code == 0:
                d[r, j] *= a[r, j] * (1.0 - a[r, j])
            elif code == 1:
                d[r, j] *= 1.0 if z[r, j] > 0 else 0.0
            elif code == 2:
                d[r, j] *= 1.0 if z[r, j] > 0 else LEAK
            elif code == 3:
                d[r, j] *= 1.0 - a[r, j] * a[r, j]


def _step(flat, velocity, sizes, X, y, lr, mu, lam, hidden, output, cross_entropy, momentum):  # noqa: ANN001, ANN202, PLR0913
    """One step of mini-batch SGD on (X (n, n_0), y (n,)), in place on ``flat`` (and momentum's
    ``velocity``, laid out the same way): the four backpropagation equations, then
    p <- p - eta (dC/dp + lambda W), or v <- mu v - eta (dC/dp + lambda W); p <- p + v."""
    L = len(sizes) - 1
    n = X.shape[0]
    w_at = np.zeros(L + 1, np.int64)
    offset = 0
    for l in range(1, L + 1):
        w_at[l] = offset
        offset += sizes[l] * sizes[l - 1] + sizes[l]
    zs = [X]  # z^(l) (n, n_l); zs[0] is a stand-in
    acts = [X]  # a^(l) (n, n_l); a^(0) is the input
    for l in range(1, L + 1):
        n_out, n_in = sizes[l], sizes[l - 1]
        W = flat[w_at[l] : w_at[l] + n_out * n_in].reshape((n_out, n_in))
        b = flat[w_at[l] + n_out * n_in : w_at[l] + n_out * n_in + n_out]
        z = np.dot(acts[l - 1], W.T)  # z = W a + b, one example per row
        for r in range(n):
            for j in range(n_out):
                z[r, j] += b[j]
        zs.append(z)
        acts.append(_activate(z, output if l == L else hidden))  # a = sigma(z)
    a = acts[L]
    delta = a.copy()  # (1): delta^(L), from a - y with y one-hot
    for r in range(n):
        delta[r, y[r]] -= 1.0
    if cross_entropy:  # fused with softmax or sigmoid: (a - y) / n
        delta *= 1.0 / n
    else:  # quadratic: 2 (a - y) / n * sigma'(z^(L))
        delta *= 2.0 / n
        _times_prime(delta, zs[L], a, output)
    for l in range(L, 0, -1):
        n_out, n_in = sizes[l], sizes[l - 1]
        W = flat[w_at[l] : w_at[l] + n_out * n_in].reshape((n_out, n_in))
        b = flat[w_at[l] + n_out * n_in : w_at[l] + n_out * n_in + n_out]
        dW = np.dot(delta.T, acts[l - 1])  # (4): dC/dW = delta^T a^(l-1)
        db = np.zeros(n_out, flat.dtype)  # (3): dC/db = the sum of delta over the batch
        for r in range(n):
            for j in range(n_out):
                db[j] += delta[r, j]
        if l > 1:  # (2): one layer back, with W before this step's update
            previous = np.dot(delta, W)
            _times_prime(previous, zs[l - 1], acts[l - 1], hidden)
        vW = velocity[w_at[l] : w_at[l] + n_out * n_in].reshape((n_out, n_in))
        vb = velocity[w_at[l] + n_out * n_in : w_at[l] + n_out * n_in + n_out]
        for j in range(n_out):
            for k in range(n_in):
                g = dW[j, k] + lam * W[j, k]
                if momentum:
                    vW[j, k] = mu * vW[j, k] - lr * g
                    W[j, k] += vW[j, k]
                else:
                    W[j, k] -= lr * g
            if momentum:
                vb[j] = mu * vb[j] - lr * db[j]
                b[j] += vb[j]
            else:
                b[j] -= lr * db[j]
        if l > 1:
            delta = previous
