"""Products that add into their output (digitnet.engine.blas): the same numbers as NumPy's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digitnet.engine.blas import axpy, batch_sum, gemm

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
