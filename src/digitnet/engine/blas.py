"""Products that add into their output, as BLAS computes them: C <- alpha A B + beta C.

NumPy's ``dot`` can only overwrite its output. BLAS's ``gemm`` (matrix times matrix) and ``gemv``
(matrix times vector) also scale what the output held and add to it, in the same pass. That is
what lets momentum's velocity update, v <- mu v - eta dC/dW, happen inside backprop's own
weight-gradient product (``alpha = -eta``, ``beta = mu``) instead of in four more passes over
every parameter. SciPy's BLAS wrappers (``scipy.linalg.blas``) take Fortran-ordered arrays; a
C-ordered NumPy array is the transpose of a Fortran-ordered one, so these functions compute the
transposed product ``C.T = alpha B.T A.T + beta C.T`` and no array is copied.

NumPy and SciPy each bring their own copy of OpenBLAS, each with its own threads. A product
big enough for OpenBLAS to run on several threads leaves those threads waiting, spinning, for
the next one; when the next one comes from the other copy, the two sets of threads fight over
the same cores (benchmarks/profile.md has what that cost). So every product here with that much
work goes through SciPy's BLAS, and NumPy's ``dot`` is used only for small ones (where OpenBLAS
stays on one thread, and NumPy's call has less overhead).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas as _blas

# m k n below which OpenBLAS computes a product on one thread (its SMP_THRESHOLD_MIN times
# GEMM_MULTITHREAD_THRESHOLD, the same in both copies).
ONE_THREAD_WORK = 65_536 * 4
_GEMM = {np.dtype(np.float32): _blas.sgemm, np.dtype(np.float64): _blas.dgemm}
_GEMV = {np.dtype(np.float32): _blas.sgemv, np.dtype(np.float64): _blas.dgemv}
_AXPY = {np.dtype(np.float32): _blas.saxpy, np.dtype(np.float64): _blas.daxpy}


def _fortran_operand(M: np.ndarray) -> tuple[np.ndarray, bool] | None:
    """M as BLAS wants it: (M, False) if M is Fortran-ordered, (M.T, True) if C-ordered."""
    if M.flags.f_contiguous:
        return M, False
    if M.flags.c_contiguous:
        return M.T, True
    return None


def gemm(
    A: np.ndarray,
    B: np.ndarray,
    out: np.ndarray | None = None,
    alpha: float = 1.0,
    beta: float = 0.0,
) -> np.ndarray:
    """out <- alpha A @ B + beta out, in place; A (m, k), B (k, n), out (m, n), each C- or
    Fortran-ordered. Without ``out``, a new (C-ordered) array holds alpha A @ B."""
    if out is None:
        out, beta = np.empty((A.shape[0], B.shape[1]), np.result_type(A, B)), 0.0
    small = A.size * B.shape[1] < ONE_THREAD_WORK  # m k n
    if beta == 0.0 and alpha == 1.0 and small and out.flags.c_contiguous:
        return np.dot(A, B, out=out)
    gemm_ = _GEMM.get(out.dtype)
    if out.flags.c_contiguous:  # out.T (Fortran-ordered) = B.T @ A.T
        first, second, c = _fortran_operand(B.T), _fortran_operand(A.T), out.T
    else:  # out itself, if it is Fortran-ordered
        first, second, c = _fortran_operand(A), _fortran_operand(B), out
    if (
        gemm_ is None
        or not c.flags.f_contiguous
        or first is None
        or second is None
        or not A.dtype == B.dtype == out.dtype
    ):
        product = np.dot(A, B)  # the general case: the same arithmetic, with a new array
        if beta == 0.0:  # BLAS's rule: out's old contents are not read (they may be NaN)
            return np.multiply(product, alpha, out=out)
        out *= beta
        out += alpha * product
        return out
    (a, trans_a), (b, trans_b) = first, second
    result = gemm_(alpha, a, b, beta=beta, c=c, trans_a=trans_a, trans_b=trans_b, overwrite_c=1)
    if result is not c:  # SciPy had to copy: bring the answer home
        c[...] = result
    return out


def batch_sum(
    delta: np.ndarray, out: np.ndarray, ones: np.ndarray, alpha: float = 1.0, beta: float = 0.0
) -> np.ndarray:
    """out <- alpha (sum of the rows of delta) + beta out, in place: delta (n, k), out (k,), and
    ``ones`` a vector of at least n ones (the sum over the batch is ``delta.T @ ones``)."""
    if alpha == 1.0 and beta == 0.0:
        return np.add.reduce(delta, axis=0, out=out)
    gemv_ = _GEMV.get(out.dtype)
    operand = _fortran_operand(delta.T)  # the sum is delta.T @ ones
    if gemv_ is None or operand is None or delta.dtype != out.dtype:
        total = delta.sum(axis=0)
        if beta == 0.0:
            return np.multiply(total, alpha, out=out)
        out *= beta
        out += alpha * total
        return out
    a, trans = operand
    result = gemv_(alpha, a, ones[: len(delta)], beta=beta, y=out, trans=trans, overwrite_y=1)
    if result is not out:
        out[...] = result
    return out


def axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """y <- alpha x + y, in place, for same-shape contiguous arrays (BLAS spreads it over the
    threads it has; NumPy's ``+=`` runs on one)."""
    axpy_ = _AXPY.get(y.dtype)
    if axpy_ is None or x.dtype != y.dtype or not (x.flags.c_contiguous and y.flags.c_contiguous):
        y += alpha * x
        return y
    flat = y.reshape(-1)
    result = axpy_(x.reshape(-1), flat, a=alpha)
    if result is not flat:
        y[...] = result.reshape(y.shape)
    return y
