"""The resampling of :func:`digitnet.data.augment.warp`, compiled by Numba.

NumPy's version builds a dozen temporary arrays the size of the batch (coordinates, their floors
and fractions, four gathers of neighbours) and costs about as much as a training step of the
`best` network. :func:`_warp` walks the output pixels once with nothing in between: for each,
the source position (shifted, turned, scaled, displaced), then the bilinear blend of its four
neighbours. It does the same float32 arithmetic in the same order, so its images are NumPy's
(tests/test_data_augment.py compares them). It is used when Numba is installed
(``digitnet[fast]``); :func:`compiled_warp` returns None otherwise and NumPy's version runs.
Numba caches the compiled code on disk.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

SIDE = 28
CENTRE = np.float32((SIDE - 1) / 2)  # 13.5, the middle of the grid of pixel centres
ZERO = np.float32(0.0)
ONE = np.float32(1.0)

_KERNEL: list[Any] = []
compile_seconds = 0.0  # how long the first compiled_warp() call took to build or load


def compiled_warp() -> Any:
    """The compiled :func:`_warp`, or None when Numba is not installed."""
    global compile_seconds
    if not _KERNEL:
        try:
            import numba
        except ImportError:
            return None
        start = time.perf_counter()
        # the helper first, under its own name: that is how the compiled kernel calls it
        pixel = getattr(_pixel, "py_func", _pixel)  # the Python function, even on a rebuild
        globals()["_pixel"] = numba.njit(cache=True, inline="always")(pixel)
        kernel = numba.njit(cache=True, nogil=True, error_model="numpy")(_warp)
        image = np.zeros((1, SIDE * SIDE), np.float32)
        none = np.zeros(1, np.float32)
        fields = np.zeros((1, 2, 1, 1), np.float32)
        kernel(image, none, none, none, none, none, none, fields, image.copy())
        compile_seconds = time.perf_counter() - start
        _KERNEL.append(kernel)
    return _KERNEL[0]


def _warp(X, shift_r, shift_c, cos, sin, inverse_r, inverse_c, fields, out):  # noqa: ANN001, ANN202, PLR0913
    """out[k] <- image k of X (n, 784) read at each output pixel's source position.

    ``shift_r``, ``shift_c``, ``cos``, ``sin``, ``inverse_r``, ``inverse_c`` (1 over the
    magnifications of height and width): (n,) float32; ``fields``: (n, 2, 28, 28)
    displacements (rows, then columns), or (n, 2, 1, 1) for none; ``out``: (n, 784) float32.
    Positions outside the image read background (0); results are clipped to [0, 1].
    """
    with_fields = fields.shape[2] == SIDE
    for k in range(X.shape[0]):
        for i in range(SIDE):
            for j in range(SIDE):
                r = np.float32(i) - CENTRE - shift_r[k]  # from the centre, shifted back
                c = np.float32(j) - CENTRE - shift_c[k]
                r, c = r * cos[k] + c * sin[k], c * cos[k] - r * sin[k]  # turned back
                r = r * inverse_r[k]  # scaled back
                c = c * inverse_c[k]
                r = r + CENTRE
                c = c + CENTRE
                if with_fields:
                    r = r + fields[k, 0, i, j]
                    c = c + fields[k, 1, i, j]
                r_floor = np.floor(r)
                c_floor = np.floor(c)
                fr = r - r_floor
                fc = c - c_floor
                r0 = int(r_floor)
                c0 = int(c_floor)
                if 0 <= r0 < SIDE - 1 and 0 <= c0 < SIDE - 1:  # all four neighbours inside
                    at = r0 * SIDE + c0
                    p00, p01 = X[k, at], X[k, at + 1]
                    p10, p11 = X[k, at + SIDE], X[k, at + SIDE + 1]
                else:
                    p00, p01 = _pixel(X, k, r0, c0), _pixel(X, k, r0, c0 + 1)
                    p10, p11 = _pixel(X, k, r0 + 1, c0), _pixel(X, k, r0 + 1, c0 + 1)
                top = (ONE - fc) * p00 + fc * p01
                bottom = (ONE - fc) * p10 + fc * p11
                value = (ONE - fr) * top + fr * bottom
                out[k, i * SIDE + j] = min(max(value, ZERO), ONE)
    return out


def _pixel(X, k, r, c):  # noqa: ANN001, ANN202
    """Image k's pixel at row r, column c, or 0 outside the image."""
    if r < 0 or c < 0 or r >= SIDE or c >= SIDE:
        return ZERO
    return X[k, r * SIDE + c]
