"""Backpropagation against central finite differences and against PyTorch autograd, in float64."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from digitnet.engine import step as engine
from digitnet.engine.dropout import draw_masks
from digitnet.engine.workspace import Workspace
from digitnet.network import Network

HIDDEN = ["sigmoid", "relu", "leaky-relu", "tanh", "identity"]
# (output activation, cost): every output works with the quadratic cost; cross-entropy is
# defined for the outputs that are probabilities.
OUTPUTS = [(o, "quadratic") for o in HIDDEN + ["softmax"]] + [
    ("sigmoid", "cross-entropy"),
    ("softmax", "cross-entropy"),
]
SHAPES = [[6, 5, 4], [6, 5, 4, 4], [6, 7, 5, 4, 4]]  # 1, 2 and 3 hidden layers
CASES = list(itertools.product(HIDDEN, OUTPUTS, SHAPES))


def make_case(hidden: str, output: str, cost: str, sizes: list[int], seed: int = 0):
    # Linear hidden layers with N(0, 1) weights multiply the outputs' size layer after layer, and
    # a cost in the thousands drowns the finite difference in rounding noise: they start scaled.
    init = "lecun" if hidden == "identity" else "normal"
    net = Network(sizes, activation=hidden, output=output, cost=cost, init=init,
                  seed=seed, dtype="float64")  # fmt: skip
    rng = np.random.default_rng(seed + 100)
    X = rng.uniform(0, 1, size=(7, sizes[0]))
    y = rng.integers(0, sizes[-1], size=7)
    return net, X, y


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(|a|, |b|), entry by entry.

    Entries below 1e-4 are compared absolutely (to 1e-10 for a 1e-6 bound): there the finite
    difference's own rounding error, about 1e-16 C / h, would dominate a relative measure.
    """
    return float(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-4)))


H = 1e-4


def central_difference(C, p: np.ndarray, i: tuple, h: float = H) -> float:
    """dC/dp[i] by the five-point central difference, error O(h^4):
    (-C(p+2h) + 8 C(p+h) - 8 C(p-h) + C(p-2h)) / 12h."""
    old = p[i]
    values = []
    for step in (2 * h, h, -h, -2 * h):
        p[i] = old + step
        values.append(C())
    p[i] = old
    return (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * h)


def finite_differences(net: Network, X: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """dC/dp for every parameter p of the network, one at a time."""
    grads = []
    for p in net.parameters():
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            g[i] = central_difference(lambda: net.total_cost(X, y), p, i)
        grads.append(g)
    return grads


def backprop_list(net: Network, X: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    g = net.gradient(X, y)
    return [p for pair in zip(g.W, g.b, strict=True) for p in pair]


@pytest.mark.parametrize(("hidden", "out_cost", "sizes"), CASES)
def test_backprop_matches_finite_differences(hidden, out_cost, sizes):
    output, cost = out_cost
    net, X, y = make_case(hidden, output, cost, sizes)
    # ReLU's kink: no z may sit within a few h of 0, or the finite difference straddles it.
    zs = net.trace(X).z[1:]
    assert min(np.abs(z).min() for z in zs) > 20 * H
    bp = backprop_list(net, X, y)
    fd = finite_differences(net, X, y)
    for layer, (g_bp, g_fd) in enumerate(zip(bp, fd, strict=True)):
        assert np.abs(g_bp).max() > 0 or hidden in ("relu",), f"parameter {layer} has no gradient"
        assert relative_error(g_bp, g_fd) < 1e-6, f"parameter array {layer}"


def torch_gradients(net: Network, X: np.ndarray, y: np.ndarray):
    """The same network's cost written directly in PyTorch; its autograd gives the gradient."""
    acts = {
        "sigmoid": torch.sigmoid,
        "relu": torch.relu,
        "leaky-relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
        "tanh": torch.tanh,
        "identity": lambda z: z,
        "softmax": lambda z: torch.softmax(z, dim=1),
    }
    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in net.parameters()]
    a = torch.tensor(X, dtype=torch.float64)
    L = net.n_layers
    z = a
    for l in range(1, L + 1):
        W, b = params[2 * (l - 1)], params[2 * (l - 1) + 1]
        z = a @ W.T + b
        a = acts[net.output if l == L else net.activation](z)
    if y.ndim == 2:  # desired outputs
        Y = torch.tensor(y, dtype=torch.float64)
    else:
        Y = torch.nn.functional.one_hot(torch.tensor(y), net.sizes[-1]).double()
    n = len(X)
    if net.cost.name == "quadratic":
        C = ((a - Y) ** 2).sum() / n
    elif net.output == "softmax":
        C = torch.nn.functional.cross_entropy(z, torch.tensor(y), reduction="sum") / n
    else:
        C = torch.nn.functional.binary_cross_entropy_with_logits(z, Y, reduction="sum") / n
    C.backward()
    return C.item(), [p.grad.numpy() for p in params]


@pytest.mark.parametrize(("hidden", "out_cost", "sizes"), CASES)
def test_backprop_matches_pytorch_autograd(hidden, out_cost, sizes):
    output, cost = out_cost
    net, X, y = make_case(hidden, output, cost, sizes, seed=1)
    C_torch, expected = torch_gradients(net, X, y)
    assert net.total_cost(X, y) == pytest.approx(C_torch, rel=1e-12)
    for g_bp, g_torch in zip(backprop_list(net, X, y), expected, strict=True):
        np.testing.assert_allclose(g_bp, g_torch, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize(
    ("hidden", "output"), list(itertools.product(HIDDEN, [*HIDDEN, "softmax"]))
)
def test_the_quadratic_cost_of_desired_outputs_matches_finite_differences_and_pytorch(
    hidden, output
):
    """y as real-valued desired outputs (n, n_L), a regressor's targets, instead of labels:
    C = (1/n) sum (a_j - y_j)^2 and its gradient, for every output activation."""
    net, X, _ = make_case(hidden, output, "quadratic", [6, 5, 4, 3], seed=2)
    y = np.random.default_rng(3).normal(size=(len(X), 3))
    assert_gradients_agree(net, X, y, *torch_gradients(net, X, y))


def assert_gradients_agree(
    net: Network, X: np.ndarray, y: np.ndarray, C_torch: float, expected: list[np.ndarray]
) -> None:
    """The cost and backprop's gradient (the reference's and the engine's) against PyTorch's
    cost and autograd gradient ``expected``, and against finite differences."""
    assert net.total_cost(X, y) == pytest.approx(C_torch, rel=1e-12)
    bp = backprop_list(net, X, y)
    for g_bp, g_torch in zip(bp, expected, strict=True):
        np.testing.assert_allclose(g_bp, g_torch, rtol=1e-9, atol=1e-15)
    for layer, (g_bp, g_fd) in enumerate(zip(bp, finite_differences(net, X, y), strict=True)):
        assert relative_error(g_bp, g_fd) < 1e-6, f"parameter array {layer}"
    ws = Workspace(net, len(X))
    g = engine.backprop(net, engine.trace(net, X, ws, 0.0, None), y, ws)
    engine_list = [p for pair in zip(g.W, g.b, strict=True) for p in pair]
    for g_engine, g_bp in zip(engine_list, bp, strict=True):
        np.testing.assert_allclose(g_engine, g_bp, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("dropout", [0.5, 0.2])
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_dropout_gradient_matches_finite_differences_with_the_same_mask(activation, dropout):
    """With one dropout mask held fixed, backprop's dC/dW^(1) is the cost's slope. The engine's
    backprop computes sigmoid's sigma' from a, which dropout scaled by 1/keep: it must undo
    exactly the keep the mask used (0.2 is rounded to a multiple of 2^-16, see kept_fraction)."""
    net, X, y = make_case(activation, "softmax", "cross-entropy", [6, 8, 8, 4])
    masks = draw_masks(net.sizes, len(X), dropout, np.random.default_rng(7), net.dtype)

    def cost_with_mask() -> float:
        t = net.trace(X, masks)
        return net.cost.fn(t.z[-1], t.output, y)

    t = net.trace(X, masks)
    assert any((m == 0).any() for m in t.masks if m is not None)
    ws = Workspace(net, len(X))
    t_engine = engine.trace(net, X, ws, dropout, np.random.default_rng(7))
    fd = np.zeros_like(net.W[0])
    for i in np.ndindex(fd.shape):
        fd[i] = central_difference(cost_with_mask, net.W[0], i)
    assert relative_error(net.backprop(t, y).W[0], fd) < 1e-6
    assert relative_error(engine.backprop(net, t_engine, y, ws, dropout).W[0], fd) < 1e-6


def test_float32_backprop_agrees_with_float64():
    net64, X, y = make_case("sigmoid", "sigmoid", "quadratic", [6, 5, 4])
    net32 = Network([6, 5, 4], init="normal", seed=0, dtype="float32")
    g32, g64 = net32.gradient(X, y), net64.gradient(X, y)
    assert g32.W[0].dtype == np.float32
    for a, b in zip(g32.W + g32.b, g64.W + g64.b, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
