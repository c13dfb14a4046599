"""The network: layers of neurons that hold numbers, each layer computed as a = sigma(W a + b).

Shapes, stated once. ``sizes = [n_0, n_1, ..., n_L]`` counts the neurons per layer (784 inputs,
hidden layers, 10 outputs). Layer ``l`` (1..L) has

- ``W[l]``: the weights, shape ``(n_l, n_{l-1})``; row j holds the weights into neuron j, so
  ``W[l][j, k]`` is the lessons' ``w_jk^(l)``, from neuron k of layer l-1 to neuron j of layer l;
- ``b[l]``: the biases, shape ``(n_l,)``.

Python lists are 0-based, so ``W[0]`` is the lessons' ``W^(1)``. A batch of ``n`` examples is
stored one example per row, so the lessons' column formula ``a = sigma(W a + b)`` becomes, for all
rows at once, ``A = sigma(A_prev @ W.T + b)``: ``z`` and ``a`` of layer l have shape ``(n, n_l)``.

This file is the lessons' math in plain NumPy: :meth:`Network.trace` is the forward pass and
:meth:`Network.backprop` the four backpropagation equations. Training uses a faster engine that
computes the same numbers (:mod:`digitnet.engine`); the tests hold the two together.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from digitnet.activations import Activation, get_activation
from digitnet.costs import Cost, get_cost
from digitnet.errors import DigitnetError
from digitnet.limits import check_memory, check_sizes, count_params

INITS = ("normal", "lecun", "xavier", "he")
CONFIG_KEYS = ("sizes", "activation", "output", "cost", "init", "dtype")


@dataclass
class Trace:
    """One forward pass, kept whole: what backprop, the plots, ``explain`` and the web app use.

    ``a[0]`` is the input (n, n_0); for layer l = 1..L, ``z[l]`` = ``a[l-1] @ W.T + b`` and
    ``a[l] = sigma(z[l])``, both (n, n_l). ``z[0]`` is None. ``masks[l]`` is the dropout mask
    applied to hidden layer l (0 for a dropped neuron, 1/keep for a kept one), or None.
    """

    z: list[np.ndarray | None]
    a: list[np.ndarray]
    masks: list[np.ndarray | None] = field(default_factory=list)

    @property
    def output(self) -> np.ndarray:
        return self.a[-1]

    def z_of(self, l: int) -> np.ndarray:
        """z^(l) of a layer l = 1..L (or -1 for the output layer); the input layer has none."""
        z = self.z[l]
        if z is None:
            raise ValueError(f"layer {l} is the input layer: it has a, not z")
        return z


@dataclass
class Gradients:
    """dC/dW and dC/db for every layer, shaped like ``Network.W`` and ``Network.b``."""

    W: list[np.ndarray]
    b: list[np.ndarray]


class Network:
    """A multilayer perceptron.

    ``activation`` is the hidden layers' sigma; ``output`` the output layer's (default: the same,
    or ``softmax`` for the ``cross-entropy`` cost, as classifiers usually pair them).

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
        try:
            self.dtype = np.dtype(dtype)
        except TypeError:
            raise DigitnetError(f"dtype must be float32 or float64, not {dtype!r}") from None
        if self.dtype not in (np.float32, np.float64):
            raise DigitnetError(f"dtype must be float32 or float64, not {self.dtype}")
        check_sizes(sizes, "sizes")
        check_memory(
            count_params(sizes) * self.dtype.itemsize, f"a network {'-'.join(map(str, sizes))}"
        )
        if init not in INITS:
            raise DigitnetError(f"unknown init {init!r}; choose one of: {', '.join(INITS)}")
        if seed is not None and (not isinstance(seed, int | np.integer) or seed < 0):
            raise DigitnetError(f"seed must be a whole number >= 0, got {seed!r}")
        self.sizes = sizes
        self.sigma: Activation = get_activation(activation)
        if output is None:
            output = "softmax" if cost == "cross-entropy" else activation
        self.output_sigma: Activation = get_activation(output, output=True)
        self.cost: Cost = get_cost(cost, self.output_sigma)
        self.init = init
        self.seed = seed
        W, b = initial_parameters(sizes, init, np.random.default_rng(seed), self.dtype)
        # Every W and b is a view into one flat vector, [W1, b1, W2, b2, ...]: the optimizers
        # step all the parameters at once, and the landscape moves along directions in it.
        shapes = [p.shape for pair in zip(W, b, strict=True) for p in pair]
        self._flat = np.concatenate([p.ravel() for pair in zip(W, b, strict=True) for p in pair])
        views = _split(self._flat, shapes)
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

    def config(self) -> dict[str, Any]:
        """What builds this network's shape and functions (not its weights): the keys of
        :data:`CONFIG_KEYS`, as :meth:`from_config` takes them and model files store them."""
        return {
            "sizes": list(self.sizes),
            "activation": self.activation,
            "output": self.output,
            "cost": self.cost.name,
            "init": self.init,
            "dtype": self.dtype.name,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], seed: int | None = 0) -> Network:
        """A new network, randomly initialised from ``seed``, as :meth:`config` describes it."""
        if not isinstance(config, dict):
            raise DigitnetError(f"a network config is a dict, not {type(config).__name__}")
        missing = [k for k in CONFIG_KEYS if k not in config]
        unknown = [k for k in config if k not in CONFIG_KEYS]
        if missing or unknown:
            problems = [f"missing {', '.join(missing)}"] if missing else []
            problems += [f"unknown {', '.join(map(str, unknown))}"] if unknown else []
            raise DigitnetError(
                f"network config: {'; '.join(problems)} (keys: {', '.join(CONFIG_KEYS)})"
            )
        sizes = config["sizes"]
        if not isinstance(sizes, list | tuple) or not all(
            isinstance(s, int | np.integer) and not isinstance(s, bool) for s in sizes
        ):
            raise DigitnetError(f"network config: sizes must list whole numbers, got {sizes!r}")
        for key in CONFIG_KEYS[1:]:
            if not isinstance(config[key], str):
                raise DigitnetError(f"network config: {key} must be a name, got {config[key]!r}")
        return cls(seed=seed, **config)

    def __repr__(self) -> str:
        return (
            f"Network(sizes={self.sizes}, activation={self.activation!r}, output={self.output!r}, "
            f"cost={self.cost.name!r}, init={self.init!r}, dtype={self.dtype.name!r})"
        )

    # -- forward -------------------------------------------------------------------------------
    def as_input(self, X: np.ndarray) -> np.ndarray:
        """X as a batch (n, n_0) of this network's dtype; one image (n_0,) becomes a batch of 1."""
        X = np.asarray(X)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise DigitnetError(
                f"input has shape {X.shape}, but the network's first layer has {self.sizes[0]} "
                f"neurons: expected (n, {self.sizes[0]})"
            )
        return X.astype(self.dtype, copy=False)

    def trace(self, X: np.ndarray, masks: list[np.ndarray | None] | None = None) -> Trace:
        """Feed X (n, n_0) forward, keeping every layer's z and a.

        ``masks`` (training with dropout only) holds for each hidden layer l an array (n, n_l) to
        multiply its activations by: 0 switches a neuron off, 1/keep scales a survivor so that the
        layer's expected output is unchanged ("inverted dropout"; see :mod:`digitnet.engine`).
        """
        a = self.as_input(X)
        masks = masks or [None] * (self.n_layers + 1)
        trace = Trace(z=[None], a=[a], masks=[None])
        for l in range(1, self.n_layers + 1):
            W, b, sigma = self.W[l - 1], self.b[l - 1], self.sigma_of(l)
            z = a @ W.T + b  # z = W a + b, one example per row
            a = sigma(z)  # a = sigma(z)
            if masks[l] is not None:
                a = a * masks[l]
            trace.z.append(z)
            trace.a.append(a)
            trace.masks.append(masks[l])
        return trace

    def feedforward(self, X: np.ndarray) -> np.ndarray:
        """The output activations (n, n_L) for the inputs X (n, n_0)."""
        return self.trace(X).output

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The network's answer for each row of X: its most active output neuron (the lowest
        numbered one when several are equally active, as ``np.argmax`` breaks ties)."""
        return np.argmax(self.feedforward(X), axis=1)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Each row of X's output as probabilities (n, n_L), float64, every row summing to 1.

        A softmax output is a probability distribution already. Any other output is read as
        evidence: negative activations count as 0, and the rest are divided by their sum (an
        output with no positive activation at all gives every class the same probability).
        """
        a = self.feedforward(X).astype(np.float64)
        if self.output == "softmax":
            return a / a.sum(axis=1, keepdims=True)
        a = np.clip(a, 0, None)
        total = a.sum(axis=1, keepdims=True)
        return np.where(total > 0, a / np.where(total > 0, total, 1), 1 / a.shape[1])

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch: int = 10_000) -> tuple[float, float]:
        """(cost, accuracy) on the examples X (n, n_0) with integer labels y (n,); with desired
        outputs y (n, n_L) (the quadratic cost's real-valued targets) the accuracy is NaN."""
        if len(X) == 0:
            return float("nan"), float("nan")
        total_cost, correct = 0.0, 0
        for start in range(0, len(X), batch):
            t = self.trace(X[start : start + batch])
            yb = y[start : start + batch]
            total_cost += self.cost.fn(t.z_of(-1), t.output, yb) * len(yb)
            if y.ndim == 1:
                correct += int((np.argmax(t.output, axis=1) == yb).sum())
        return total_cost / len(X), correct / len(X) if y.ndim == 1 else float("nan")

    def total_cost(self, X: np.ndarray, y: np.ndarray) -> float:
        """C, the cost averaged over the examples X with labels y."""
        return self.evaluate(X, y)[0]

    # -- backward ------------------------------------------------------------------------------
    def backprop(self, trace: Trace, y: np.ndarray, weights: np.ndarray | None = None) -> Gradients:
        """The gradient of the cost (averaged over the batch) for every weight and bias.

        Backpropagation by the chain rule, vectorised over the batch, in four equations:

        1. output error:        delta^(L)   = dC/da^(L) * sigma'(z^(L))
        2. one layer back:      delta^(l)   = (delta^(l+1) W^(l+1)) * sigma'(z^(l))
                                              (the lessons' W^T delta, one example per row)
        3. bias gradient:       dC/db^(l)   = sum over the batch of delta^(l)
        4. weight gradient:     dC/dW^(l)   = delta^(l).T @ a^(l-1)
                                              (entry j,k: a_k^(l-1) sigma'(z_j^(l)) dC/da_j^(l))

        The 1/n of the average is already inside delta^(L) (see :mod:`digitnet.costs`). A dropout
        mask m multiplied a = sigma(z) m, so its neurons' sigma'(z) is multiplied by m too.
        ``weights`` (n,), if given, scales each example's output error, and so its share of every
        gradient (sample weights: ``digitnet.train`` passes w_x n / sum of w over the batch).
        """
        L = self.n_layers
        dW: list[np.ndarray] = [np.empty(0)] * L
        db: list[np.ndarray] = [np.empty(0)] * L
        delta = self.cost.delta(trace.z_of(L), trace.a[L], y)  # (1)
        if weights is not None:
            delta = delta * weights[:, None]
        for l in range(L, 0, -1):
            db[l - 1] = delta.sum(axis=0)  # (3)
            dW[l - 1] = delta.T @ trace.a[l - 1]  # (4)
            if l > 1:
                z = trace.z_of(l - 1)
                delta = (delta @ self.W[l - 1]) * self.sigma.prime(z)  # (2)
                if trace.masks[l - 1] is not None:
                    delta = delta * trace.masks[l - 1]
        return Gradients(dW, db)

    def gradient(self, X: np.ndarray, y: np.ndarray) -> Gradients:
        """dC/dW and dC/db on the examples X (n, n_0) with labels y (n,): trace, then backprop."""
        return self.backprop(self.trace(X), np.asarray(y))

    # -- parameters ----------------------------------------------------------------------------
    def parameters(self) -> list[np.ndarray]:
        """Every parameter array, W and b interleaved layer by layer: [W1, b1, W2, b2, ...]."""
        return [p for W, b in zip(self.W, self.b, strict=True) for p in (W, b)]

    def parameter_vector(self) -> np.ndarray:
        """All the parameters as one new vector theta (n_params,), in the order of
        :meth:`parameters`: W1 row by row, b1, W2, b2, ..."""
        return np.concatenate([p.ravel() for p in self.parameters()])

    def set_parameter_vector(self, theta: np.ndarray) -> None:
        """Copy theta (n_params,), laid out as :meth:`parameter_vector`, into W and b."""
        theta = np.asarray(theta)
        if theta.shape != (self.n_params,):
            raise DigitnetError(f"parameter vector has shape {theta.shape}, not ({self.n_params},)")
        self.set_parameters(_split(theta, [p.shape for p in self.parameters()]))

    def set_parameters(self, params: list[np.ndarray]) -> None:
        """Copy ``params`` (as from :meth:`parameters`) into this network's arrays, in place."""
        mine = self.parameters()
        if len(params) != len(mine):
            raise DigitnetError(
                f"{len(params)} parameter arrays given, the network has {len(mine)}"
            )
        for p, new in zip(mine, params, strict=True):
            if p.shape != new.shape:
                raise DigitnetError(f"parameter shape {new.shape} does not match {p.shape}")
            p[...] = new

    def copy_parameters(self) -> list[np.ndarray]:
        return [p.copy() for p in self.parameters()]

    def copy(self, dtype: str | type | None = None) -> Network:
        """A new network with the same shape, functions and parameters (cast to ``dtype``)."""
        config = self.config()
        if dtype is not None:
            config["dtype"] = np.dtype(dtype).name
        twin = Network.from_config(config, seed=None)
        twin.set_parameters(self.parameters())
        return twin

    # -- files ---------------------------------------------------------------------------------
    # The file formats build networks, so they sit above the math (docs/architecture.md): these
    # four methods reach them by name when they are called, and this module imports none.
    def save(self, path: str | os.PathLike, **extra: Any) -> None:
        """Write this network to ``path`` (``.npz`` + JSON header, see docs/model-format.md),
        atomically. ``extra`` adds header fields (``recipe``, ``dataset``, ``training``,
        ``history``; see :func:`digitnet.model_io.model_header`)."""
        importlib.import_module("digitnet.model_io").save_model(path, self, **extra)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Network:
        """The network stored at ``path`` by :meth:`save` (or ``digitnet train``), read without
        pickle; raises :class:`DigitnetError` naming the problem for any other file."""
        return importlib.import_module("digitnet.model_io").load_model(path)[0]

    def to_onnx(self, path: str | os.PathLike) -> None:
        """Write this network to ``path`` as an ONNX model: input ``pixels`` (batch, 784) float32
        (pixel / 255; ``features`` (batch, n_0) for another input size), outputs
        ``probabilities`` (:meth:`predict_proba`), ``label`` (:meth:`predict`) and
        ``activations`` (:meth:`feedforward`). Checked with the ONNX checker and onnxruntime
        first; needs ``digitnet[onnx]`` (see :mod:`digitnet.onnx_io`)."""
        importlib.import_module("digitnet.onnx_io").save_onnx(self, path)

    @classmethod
    def from_onnx(cls, path: str | os.PathLike, cost: str | None = None) -> Network:
        """The MLP in the ONNX file ``path`` (Gemm or MatMul + Add layers with Relu, Sigmoid,
        Tanh, LeakyRelu, Softmax, as PyTorch and skl2onnx export them) as a network; ``cost``
        defaults to cross-entropy for a softmax output or logits (read as a softmax output),
        else quadratic. Needs ``digitnet[onnx]`` (see :mod:`digitnet.onnx_io`)."""
        return importlib.import_module("digitnet.onnx_io").read_onnx(path, cost)[0]


def _split(flat: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Consecutive views of ``flat`` with the given shapes."""
    views, offset = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        views.append(flat[offset : offset + size].reshape(shape))
        offset += size
    return views


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
