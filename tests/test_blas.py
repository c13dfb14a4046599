"""Products that add into their output (digitnet.blas), and backprop writing momentum's velocity
through them: the same numbers as NumPy and as the plain momentum step."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digitnet import train as train_module
from digitnet.blas import axpy, batch_sum, gemm
from digitnet.network import Network
from digitnet.train import TrainConfig, train

LAYOUTS = ["C", "F", "strided"]


def operand(rng: np.random.Generator, shape: tuple[int, int], layout: str, dtype) -> np.ndarray:
    """A random matrix of the given shape, stored C-ordered, Fortran-ordered or with gaps."""
    M = rng.standard_normal((shape[0], 2 * shape[1])).astype(dtype)[:, ::2]  # strided
    if layout == "C":
        return np.ascontiguousarray(M)
    if layout == "F":
        return np.asfortranarray(M)
    return M


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(1, 9),
    k=st.integers(1, 9),
    n=st.integers(1, 9),
    alpha=st.sampled_from([1.0, -0.05, 2.5]),
    beta=st.sampled_from([0.0, 0.9, 1.0]),
    layout_A=st.sampled_from(LAYOUTS),
    layout_B=st.sampled_from(LAYOUTS),
    layout_out=st.sampled_from(LAYOUTS),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_gemm_adds_alpha_A_B_to_beta_out_in_place(
    m, k, n, alpha, beta, layout_A, layout_B, layout_out, dtype
):
    """Any layout of A, B and out (the training workspace's are Fortran-ordered for W3, W4)."""
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    A, B = operand(rng, (m, k), layout_A, dtype), operand(rng, (k, n), layout_B, dtype)
    C = operand(rng, (m, n), layout_out, dtype)
    expected = alpha * (A.astype(np.float64) @ B) + beta * C.astype(np.float64)
    if beta == 0.0:
        C[...] = np.nan  # BLAS does not read the output when beta is 0, and neither may we
    result = gemm(A, B, C, alpha, beta)
    assert result is C
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(C, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (-0.1, 0.9), (0.5, 0.0)])
def test_batch_sum_and_axpy(dtype, alpha, beta, order):
    rng = np.random.default_rng(1)
    delta = np.asarray(rng.standard_normal((7, 5)).astype(dtype), order=order)
    out = rng.standard_normal(5).astype(dtype)
    expected = alpha * delta.astype(np.float64).sum(axis=0) + beta * out
    if beta == 0.0:
        out[...] = np.nan
    assert batch_sum(delta, out, np.ones(10, dtype), alpha, beta) is out
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    # the fallback for a strided delta: same numbers
    wide = np.zeros((7, 10), dtype)
    wide[:, ::2] = delta
    out2 = np.full(5, np.nan, dtype) if beta == 0.0 else (expected - alpha * delta.sum(0)) / beta
    np.testing.assert_allclose(
        batch_sum(wide[:, ::2], out2, np.ones(7, dtype), alpha, beta), expected, rtol=1e-5
    )

    x, y = rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype)
    expected_y = 0.3 * x.astype(np.float64) + y
    assert axpy(0.3, x, y) is y
    np.testing.assert_allclose(y, expected_y, rtol=1e-6)
    y_strided = np.zeros((3, 8), dtype)[:, ::2]
    axpy(2.0, x, y_strided)
    np.testing.assert_allclose(y_strided, 2.0 * x, rtol=1e-6)


def relu_softmax_net(sizes: list[int], seed: int) -> Network:
    return Network(
        sizes,
        activation="relu",
        output="softmax",
        cost="cross-entropy",
        init="he",
        seed=seed,
        dtype="float64",
    )


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_backprop_into_out_writes_alpha_gradient_plus_beta_out(dropout):
    net = relu_softmax_net([12, 9, 7, 4], seed=2)
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((6, 12)), rng.integers(0, 4, 6)
    trace = net.trace(X, dropout, np.random.default_rng(4))
    g = net.backprop(trace, y)
    v = net.as_gradients(rng.standard_normal(net.n_params))
    old = [p.copy() for p in (*v.W, *v.b)]
    assert net.backprop(trace, y, out=v, alpha=-0.05, beta=0.9) is v
    for new, before, grad in zip((*v.W, *v.b), old, (*g.W, *g.b), strict=True):
        np.testing.assert_allclose(new, 0.9 * before - 0.05 * grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("weight_decay,dropout", [(0.0, 0.0), (1e-3, 0.3)])
def test_momentum_written_by_backprop_trains_as_the_plain_step_does(
    monkeypatch, weight_decay, dropout
):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((230, 20)), rng.integers(0, 5, 230)
    config = TrainConfig(
        epochs=3,
        batch_size=32,
        lr=0.05,
        optimizer="momentum",
        momentum=0.9,
        schedule="cosine",
        weight_decay=weight_decay,
        dropout=dropout,
        seed=1,
    )
    results, velocity_writes = [], []
    plain_backprop = Network.backprop

    def backprop(self, trace, y, **kwargs):
        velocity_writes.append(kwargs.get("out") is not None)
        return plain_backprop(self, trace, y, **kwargs)

    monkeypatch.setattr(Network, "backprop", backprop)
    for fold in (True, False):
        monkeypatch.setattr(train_module, "FOLD_MOMENTUM", fold)
        velocity_writes.clear()
        net = relu_softmax_net([20, 16, 5], seed=3)
        start = net.copy_parameters()
        history = train(net, X, y, config)
        results.append((net.parameters(), history.column("train_cost")))
        assert velocity_writes and all(w == fold for w in velocity_writes)  # the path compared
    for folded, plain, p0 in zip(results[0][0], results[1][0], start, strict=True):
        assert not np.allclose(folded, p0)  # it trained
        np.testing.assert_allclose(folded, plain, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-9)


def test_products_big_enough_for_threads_all_go_through_scipys_blas(monkeypatch):
    """NumPy's and SciPy's OpenBLAS must not both run threaded products in one training step
    (their idle threads fight over the cores): every such product takes SciPy's, in place."""

    def numpy_dot(*args, **kwargs):
        raise AssertionError("a threaded-size product went to NumPy's BLAS")

    rng = np.random.default_rng(5)
    A, B = rng.random((70, 80), dtype=np.float32), rng.random((80, 90), dtype=np.float32)
    expected = A.astype(np.float64) @ B
    out = np.full((70, 90), np.nan, np.float32)
    monkeypatch.setattr(np, "dot", numpy_dot)
    assert gemm(A, B, out) is out  # 70 * 80 * 90 multiply-adds: above ONE_THREAD_WORK
    assert gemm(A.T.copy().T, B).shape == (70, 90)  # Fortran-ordered A, a new output
    monkeypatch.undo()
    np.testing.assert_allclose(out, expected, rtol=1e-5)
