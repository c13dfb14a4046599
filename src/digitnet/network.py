"""The network: layers of neurons that hold numbers, each layer computed as a = sigma(W a + b).

Shapes, stated once. ``sizes = [n_0, n_1, ..., n_L]`` counts the neurons per layer (784 inputs,
hidden layers, 10 outputs). Layer ``l`` (1..L) has

- ``W[l]``: the weights, shape ``(n_l, n_{l-1})``; row j holds the weights into neuron j, so
  ``W[l][j, k]`` is the lessons' ``w_jk^(l)``, from neuron k of layer l-1 to neuron j of layer l;
- ``b[l]``: the biases, shape ``(n_l,)``.

Python lists are 0-based, so ``W[0]`` is the lessons' ``W^(1)``. A batch of ``n`` examples is
stored one example per row, so the lessons' column formula ``a = sigma(W a + b)`` becomes, for all
rows at once, ``A = sigma(A_prev @ W.T + b)``: ``z`` and ``a`` of layer l have shape ``(n, n_l)``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from digitnet.activations import Activation, get_activation
from digitnet.blas import ONE_THREAD_WORK, batch_sum, gemm
from digitnet.costs import Cost, get_cost
from digitnet.errors import DigitnetError

INITS = ("normal", "lecun", "xavier", "he")
# Activations whose sigma'(z) reads z alone, so backprop need not undo dropout's scaling of a.
PRIME_OF_Z_ONLY = ("relu", "leaky-relu")
DROPOUT_LEVELS = 1 << 16  # dropout's keep probability is a multiple of 1/DROPOUT_LEVELS


@dataclass
class Trace:
    """One forward pass, kept whole: what backprop, the plots, ``explain`` and the web app use.

    ``a[0]`` is the input (n, n_0); for layer l = 1..L, ``z[l]`` = ``a[l-1] @ W.T + b`` and
    ``a[l] = sigma(z[l])``, both (n, n_l). ``z[0]`` is None. ``masks[l]`` is the dropout mask
    (already scaled by 1/keep) applied to hidden layer l, or None.
    """

    z: list[np.ndarray | None]
    a: list[np.ndarray]
    masks: list[np.ndarray | None] = field(default_factory=list)
    dropout: float = 0.0

    @property
    def output(self) -> np.ndarray:
        return self.a[-1]


@dataclass
class Gradients:
    """dC/dW and dC/db for every layer, shaped like ``Network.W`` and ``Network.b``."""

    W: list[np.ndarray]
    b: list[np.ndarray]


class Workspace:
    """Arrays reused by every training step of one batch size: per layer l the ``z`` and ``a``
    (n, n_l), the error delta (n, n_l), sigma'(z) (n, n_l), the dropout draws and mask (n, n_l),
    and the gradients (:attr:`grads`).

    ``train`` keeps one and passes it to :meth:`Network.trace` and :meth:`Network.backprop`;
    everything they return for that step then lives in these arrays until the next step.
    A shorter batch (the last one of an epoch) uses :meth:`rows`: the same memory, n rows.

    For a network whose products are big enough to share between threads, the (n, n_l) arrays
    are stored column by column (``order == "F"``): OpenBLAS multiplies the batches of W3 and
    W4 (128 rows) about 7% faster that way (benchmarks/profile.md). Small ones (W1, W2) keep
    NumPy's row order, which ``np.dot`` needs for its output.
    """

    _NAMES = ("z", "a", "prime", "delta", "mask", "keep")

    def __init__(self, net: Network, batch_size: int) -> None:
        n, dt = batch_size, net.dtype
        self.batch_size = n
        self.sizes = net.sizes
        threaded = any(n * W.size >= ONE_THREAD_WORK for W in net.W)  # m k n of a product
        self.order = "F" if threaded else "C"
        self._memory = {
            name: [np.empty(n * s, np.bool_ if name == "keep" else dt) for s in net.sizes]
            for name in self._NAMES
        }
        self._set_rows(n)
        self._shorter: dict[int, Workspace] = {}
        self.ones = np.ones(n, dt)  # the sum over a batch, as a product: delta.T @ ones
        self.flat_grads = np.empty(net.n_params, dt)
        self.grads = net.as_gradients(self.flat_grads)

    def _set_rows(self, n: int) -> None:
        for name, memory in self._memory.items():
            views = [
                m[: n * s].reshape((n, s), order=self.order)
                for m, s in zip(memory, self.sizes, strict=True)
            ]
            setattr(self, name, views)

    def fits(self, n: int) -> bool:
        return n <= self.batch_size

    def rows(self, n: int) -> Workspace:
        """This workspace for a batch of n <= batch_size rows: arrays (n, n_l) in its memory."""
        if n == self.batch_size:
            return self
        if n not in self._shorter:
            shorter = copy.copy(self)
            shorter._set_rows(n)
            self._shorter[n] = shorter
        return self._shorter[n]


class Network:
    """A multilayer perceptron.

    >>> net = Network([784, 16, 16, 10])          # the lessons' network: 13,002 weights and biases
    >>> net.n_params
    13002
    """

    def __init__(
        self,
        sizes: list[int] | tuple[int, ...] = (784, 16, 16, 10),
        activation: str = "sigmoid",
        cost: str = "quadratic",
        init: str = "normal",
        seed: int | None = 0,
        output: str | None = None,
        dtype: str | type = "float32",
    ) -> None:
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or any(s < 1 for s in sizes):
            raise DigitnetError(
                f"sizes must list at least two positive layer sizes (input and output), got {sizes}"
            )
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise DigitnetError(f"dtype must be float32 or float64, not {self.dtype}")
        if init not in INITS:
            raise DigitnetError(f"unknown init {init!r}; choose one of: {', '.join(INITS)}")
        self.sizes = sizes
        self.sigma: Activation = get_activation(activation)
        self.output_sigma: Activation = get_activation(output or activation, output=True)
        self.cost: Cost = get_cost(cost, self.output_sigma)
        self.init = init
        self.seed = seed
        W, b = initial_parameters(sizes, init, np.random.default_rng(seed), self.dtype)
        # Every W and b is a view into one flat vector, [W1, b1, W2, b2, ...], so that an optimizer
        # step over all the parameters is a few array operations (see flat_parameters).
        params = [p for pair in zip(W, b, strict=True) for p in pair]
        self._flat = np.concatenate([p.ravel() for p in params])
        views = _split(self._flat, [p.shape for p in params])
        self.W, self.b = views[0::2], views[1::2]

    # -- description ---------------------------------------------------------------------------
    @property
    def activation(self) -> str:
        return self.sigma.name

    @property
    def output(self) -> str:
        return self.output_sigma.name

    @property
    def n_layers(self) -> int:
        """L, the number of layers of weights (hidden layers + the output layer)."""
        return len(self.W)

    @property
    def n_params(self) -> int:
        return sum(W.size + b.size for W, b in zip(self.W, self.b, strict=True))

    def sigma_of(self, l: int) -> Activation:
        """The activation of layer l (1..L): the hidden one, or the output one for l = L."""
        return self.output_sigma if l == self.n_layers else self.sigma

    def __repr__(self) -> str:
        return (
            f"Network(sizes={self.sizes}, activation={self.activation!r}, output={self.output!r}, "
            f"cost={self.cost.name!r}, init={self.init!r}, dtype={self.dtype.name!r})"
        )

    # -- forward -------------------------------------------------------------------------------
    def as_input(self, X: np.ndarray) -> np.ndarray:
        """X as a batch (n, n_0) of this network's dtype; one image (n_0,) becomes a batch of 1."""
        if type(X) is np.ndarray and X.dtype == self.dtype and X.shape[1:] == (self.sizes[0],):
            return X  # already a batch of the right dtype: the training step's case
        X = np.asarray(X)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise DigitnetError(
                f"input has shape {X.shape}, but the network's first layer has {self.sizes[0]} "
                f"neurons: expected (n, {self.sizes[0]})"
            )
        return X.astype(self.dtype, copy=False)

    def trace(
        self,
        X: np.ndarray,
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
        *,
        workspace: Workspace | None = None,
    ) -> Trace:
        """Feed X (n, n_0) forward, keeping every layer's z and a.

        With ``dropout`` p > 0 (training only), each hidden neuron is switched off with
        probability p and the survivors are scaled by 1/(1-p) ("inverted dropout").
        With a ``workspace`` (training), z and the masks are written into its arrays.
        """
        a = self.as_input(X)
        ws = workspace.rows(len(a)) if workspace is not None and workspace.fits(len(a)) else None
        zs: list[np.ndarray | None] = [None]
        activations = [a]
        masks: list[np.ndarray | None] = [None]
        L = self.n_layers
        sigmas = [self.sigma] * (L - 1) + [self.output_sigma]  # sigma_of(1..L)
        for l, (W, b, sigma) in enumerate(zip(self.W, self.b, sigmas, strict=True), start=1):
            z = gemm(a, W.T, out=None if ws is None else ws.z[l])
            z += b  # z = W a + b, for every row
            a = sigma(z, out=None if ws is None else ws.a[l])  # a = sigma(z)
            mask = None
            if dropout > 0 and l < L:
                assert rng is not None, "dropout needs a random generator"
                mask = self._dropout_mask(a.shape, dropout, rng, ws, l)
                if a is z:
                    a = a * mask
                else:
                    a *= mask  # a is sigma's own new array
            zs.append(z)
            activations.append(a)
            masks.append(mask)
        return Trace(zs, activations, masks, dropout)

    def _dropout_mask(
        self,
        shape: tuple[int, ...],
        dropout: float,
        rng: np.random.Generator,
        ws: Workspace | None,
        l: int,
    ) -> np.ndarray:
        """1/keep where a neuron is kept (probability keep, see :func:`kept_fraction`), 0 where
        dropped. Each neuron gets 16 random bits, a quarter of one of the generator's 64-bit
        draws, and is kept when they fall below keep * 2^16: several times faster than a random
        float per neuron, which was most of the cost of dropout. The draws fill the mask column
        by column (one neuron down the batch, then the next), the workspace's order for the
        networks that use dropout (see :class:`Workspace`)."""
        threshold, keep = kept_fraction(dropout)
        size = math.prod(shape)
        # random_raw has no out=: this one array a step is new (a reused one cannot be filled)
        draws = rng.bit_generator.random_raw(-(-size // 4)).view(np.uint16)[:size]
        draws = draws.reshape(shape, order="F")
        scale = self.dtype.type(1 / keep)
        if ws is None:
            return (draws < threshold) * scale
        kept = np.less(draws, threshold, out=ws.keep[l])
        return np.multiply(kept, scale, out=ws.mask[l])  # (a third faster than a division)

    def feedforward(self, X: np.ndarray) -> np.ndarray:
        """The output activations (n, n_L) for the inputs X (n, n_0)."""
        return self.trace(X).output

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The most active output neuron, the network's answer, for each row of X."""
        return np.argmax(self.feedforward(X), axis=1)

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch: int = 10_000) -> tuple[float, float]:
        """(cost, accuracy) on the examples X (n, n_0) with integer labels y (n,)."""
        if len(X) == 0:
            return float("nan"), float("nan")
        total_cost, correct = 0.0, 0
        for start in range(0, len(X), batch):
            t = self.trace(X[start : start + batch])
            yb = y[start : start + batch]
            total_cost += self.cost.fn(t.z[-1], t.output, yb) * len(yb)
            correct += int((np.argmax(t.output, axis=1) == yb).sum())
        return total_cost / len(X), correct / len(X)

    def total_cost(self, X: np.ndarray, y: np.ndarray) -> float:
        """C, the cost averaged over the examples X with labels y."""
        return self.evaluate(X, y)[0]

    # -- backward ------------------------------------------------------------------------------
    def backprop(
        self,
        trace: Trace,
        y: np.ndarray,
        *,
        workspace: Workspace | None = None,
        out: Gradients | None = None,
        alpha: float = 1.0,
        beta: float = 0.0,
    ) -> Gradients:
        """The gradient of the cost (averaged over the batch) for every weight and bias.

        Backpropagation by the chain rule, vectorised over the batch, in four equations:

        1. output error:        delta^(L)   = dC/da^(L) * sigma'(z^(L))
        2. one layer back:      delta^(l)   = (delta^(l+1) W^(l+1)) * sigma'(z^(l))
                                              (the lessons' W^T delta, one example per row)
        3. bias gradient:       dC/db^(l)   = sum over the batch of delta^(l)
        4. weight gradient:     dC/dW^(l)   = delta^(l).T @ a^(l-1)
                                              (entry j,k: a_k^(l-1) sigma'(z_j^(l)) dC/da_j^(l))

        The 1/n of the average is already inside delta^(L) (see :mod:`digitnet.costs`).
        With a ``workspace`` (training), the gradients returned are its arrays, overwritten by
        the next step; without one they are new arrays.

        With ``out`` (arrays shaped like the gradients), (3) and (4) write ``alpha * dC/dp +
        beta * out`` into it, as BLAS's products can in one pass (:mod:`digitnet.blas`): with
        out = the velocity, alpha = -eta and beta = mu that is momentum's v <- mu v - eta dC/dp.
        """
        L = self.n_layers
        n = len(trace.a[0])
        ws = workspace.rows(n) if workspace is not None and workspace.fits(n) else None
        into = out if out is not None else ws.grads if ws is not None else None
        if into is None:
            into = Gradients([np.empty_like(W) for W in self.W], [np.empty_like(b) for b in self.b])
            beta = 0.0  # new arrays: nothing in them to keep
        ones = ws.ones if ws is not None else np.ones(n, self.dtype)
        deltas, primes = (ws.delta, ws.prime) if ws is not None else (None, None)
        delta = self.cost.delta(  # (1)
            trace.z[L], trace.a[L], y, out=_layer(deltas, L), prime_out=_layer(primes, L)
        )
        for l in range(L, 0, -1):
            batch_sum(delta, into.b[l - 1], ones, alpha, beta)  # (3)
            gemm(delta.T, trace.a[l - 1], into.W[l - 1], alpha, beta)  # (4)
            if l > 1:
                # (2): dC/da^(l-1), carried back through W, then times sigma'(z^(l-1))
                delta = gemm(delta, self.W[l - 1], out=_layer(deltas, l - 1))
                if trace.masks[l - 1] is not None:
                    delta *= trace.masks[l - 1]
                a = _pre_dropout(trace, l - 1, self.sigma)
                delta *= self.sigma.prime(trace.z[l - 1], a, out=_layer(primes, l - 1))
        return into

    def gradient(self, X: np.ndarray, y: np.ndarray) -> Gradients:
        """dC/dW and dC/db on the examples X (n, n_0) with labels y (n,): trace, then backprop."""
        return self.backprop(self.trace(X), np.asarray(y))

    # -- parameters ----------------------------------------------------------------------------
    def parameters(self) -> list[np.ndarray]:
        """Every parameter array, W and b interleaved layer by layer: [W1, b1, W2, b2, ...]."""
        return [p for W, b in zip(self.W, self.b, strict=True) for p in (W, b)]

    def copy(self, dtype: str | type | None = None) -> Network:
        """A new network with the same shape, functions and parameters (cast to ``dtype``)."""
        twin = Network(
            self.sizes,
            activation=self.activation,
            output=self.output,
            cost=self.cost.name,
            init=self.init,
            seed=None,
            dtype=dtype or self.dtype,
        )
        twin.set_parameters(self.parameters())
        return twin

    def copy_parameters(self) -> list[np.ndarray]:
        return [p.copy() for p in self.parameters()]

    def flat_parameters(self) -> np.ndarray | None:
        """All the parameters as one vector that shares memory with ``W`` and ``b`` (in the order
        of :meth:`parameters`), or None if an array of ``W`` or ``b`` was replaced since."""
        flat = self._flat
        offset = 0
        for p in self.parameters():
            if p.base is not flat or not p.flags.c_contiguous or p.dtype != flat.dtype:
                return None
            if p.ctypes.data != flat.ctypes.data + offset * flat.itemsize:
                return None
            offset += p.size
        return flat if offset == flat.size else None

    def as_gradients(self, flat: np.ndarray) -> Gradients:
        """W- and b-shaped views of a vector laid out like :meth:`flat_parameters`."""
        views = _split(flat, [p.shape for p in self.parameters()])
        return Gradients(views[0::2], views[1::2])

    def set_parameters(self, params: list[np.ndarray]) -> None:
        """Copy ``params`` (as from :meth:`parameters`) into this network's arrays, in place."""
        for mine, new in zip(self.parameters(), params, strict=True):
            if mine.shape != new.shape:
                raise DigitnetError(f"parameter shape {new.shape} does not match {mine.shape}")
            mine[...] = new


def _split(flat: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Consecutive views of ``flat`` with the given shapes."""
    views, offset = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        views.append(flat[offset : offset + size].reshape(shape))
        offset += size
    return views


def _layer(arrays: list[np.ndarray] | None, l: int) -> np.ndarray | None:
    """A workspace's array for layer l, or None (a new array) without a workspace."""
    return None if arrays is None else arrays[l]


def _pre_dropout(trace: Trace, l: int, sigma: Activation) -> np.ndarray:
    """sigma(z^(l)) before dropout, as sigma' needs it (only sigmoid and tanh read it).

    Kept neurons were scaled by 1/keep, so multiplying by keep restores them; dropped ones are 0
    and their sigma' is multiplied by a zero mask anyway.
    """
    if trace.masks[l] is None or sigma.name in PRIME_OF_Z_ONLY:
        return trace.a[l]
    return trace.a[l] * trace.a[l].dtype.type(kept_fraction(trace.dropout)[1])


def kept_fraction(dropout: float) -> tuple[int, float]:
    """(threshold, keep): dropout keeps a neuron when its 16 random bits fall below threshold,
    which makes keep = threshold / 2^16 the probability 1 - dropout rounded to a multiple of
    2^-16 (0.8 becomes 0.800003; 0.5 stays 0.5). Survivors are scaled by 1/keep."""
    threshold = min(max(round((1 - dropout) * DROPOUT_LEVELS), 1), DROPOUT_LEVELS)
    return threshold, threshold / DROPOUT_LEVELS


def initial_parameters(
    sizes: list[int], init: str, rng: np.random.Generator, dtype: np.dtype
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Random weights W (n_out, n_in) and biases b (n_out,) for each layer.

    - ``normal``: every weight and bias from N(0, 1), the lessons' "totally random" start;
    - ``lecun``: weights N(0, 1/n_in), so z starts near 1 in size for any layer width; b = 0;
    - ``xavier``: Glorot's N(0, 2/(n_in + n_out)); b = 0;
    - ``he``: N(0, 2/n_in), for ReLU layers; b = 0.
    """
    Ws, bs = [], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        std = {
            "normal": 1.0,
            "lecun": np.sqrt(1.0 / n_in),
            "xavier": np.sqrt(2.0 / (n_in + n_out)),
            "he": np.sqrt(2.0 / n_in),
        }[init]
        W = rng.standard_normal((n_out, n_in)) * std
        b = rng.standard_normal(n_out) if init == "normal" else np.zeros(n_out)
        Ws.append(W.astype(dtype))
        bs.append(b.astype(dtype))
    return Ws, bs
