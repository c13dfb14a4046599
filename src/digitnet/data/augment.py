"""On-the-fly augmentation of a mini-batch: random shifts, small rotations, changes of width and
height, elastic distortions, left-right flips and erased rectangles.

Each image is resampled once, through one combined coordinate map: for every output pixel ``p``
the source position is::

    src(p) = S^-1 R(-theta) (p - centre - t) + centre + alpha * d(p)

with ``t`` a whole-pixel translation, ``theta`` a rotation about the image centre, ``S`` the
diagonal matrix of the vertical and horizontal magnifications (the content is stretched by S about
the centre, then turned, then moved) and ``d`` a
random displacement field smoothed by a Gaussian (Simard, Steinkraus & Platt 2003, "Best
practices for convolutional neural networks applied to visual document analysis", section 2).
Pixels are read by bilinear interpolation; anything outside the image is background (0).
Everything is vectorised over the batch, and all randomness comes from the
``np.random.Generator`` passed in. When Numba is installed, the resampling runs compiled
(:mod:`digitnet.engine.augment`, the same arithmetic); :func:`warp_numpy` is the plain version.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from digitnet.errors import DigitnetError

SIDE = 28
PIXELS = SIDE * SIDE
CENTRE = (SIDE - 1) / 2  # 13.5: the middle of the 28x28 grid of pixel centres
CHUNK = 4096  # images warped at once, to bound the memory of the temporaries


@dataclass(frozen=True)
class Augmentation:
    """How much to disturb each training image; a zero switches that part off.

    ``translate``: largest shift in whole pixels, drawn uniformly from ``-translate..translate``
    for rows and columns independently. ``rotate``: largest rotation in degrees, drawn uniformly
    from ``[-rotate, rotate]``. ``scale``: largest relative change of height and width, each
    magnification drawn uniformly from ``[1 - scale, 1 + scale]`` on its own (Ciresan et al.
    2010 used 0.15-0.2 beside rotations and elastic distortions). ``elastic_alpha``: strength of
    the elastic distortion in pixels (Simard et al. used 34 with ``elastic_sigma`` 4);
    ``elastic_sigma``: smoothness of its
    displacement field in pixels. ``flip``: mirror each image left to right with probability 1/2
    (right for clothes, wrong for digits). ``erase``: the probability that an image gets a random
    rectangle (2-25% of its area, sides in a ratio up to about 3:1) blanked to background, after
    the other parts ("random erasing", Zhong et al. 2017): the network must not lean on any one
    region.
    """

    translate: int = 2
    rotate: float = 10.0
    scale: float = 0.0
    elastic_alpha: float = 0.0
    elastic_sigma: float = 6.0
    flip: bool = False
    erase: float = 0.0

    def __post_init__(self) -> None:
        translate = self.translate
        if isinstance(translate, float | np.floating) and float(translate).is_integer():
            object.__setattr__(self, "translate", int(translate))  # 2.0 from a JSON config
        elif isinstance(translate, bool) or not isinstance(translate, int | np.integer):
            raise DigitnetError(f"translate must be a whole number of pixels, got {translate!r}")
        object.__setattr__(self, "translate", int(self.translate))
        if not 0 <= self.translate < SIDE:
            raise DigitnetError(f"translate must be between 0 and {SIDE - 1}, got {self.translate}")
        for name in ("rotate", "scale", "elastic_alpha", "elastic_sigma"):
            value = getattr(self, name)
            if not isinstance(value, int | float | np.number) or not math.isfinite(value):
                raise DigitnetError(f"{name} must be a finite number, got {value!r}")
            if value < 0:
                raise DigitnetError(f"{name} must not be negative, got {value}")
        if not isinstance(self.erase, int | float | np.number) or not 0 <= self.erase <= 1:
            raise DigitnetError(f"erase must be a probability between 0 and 1, got {self.erase!r}")
        if self.scale >= 1:
            raise DigitnetError(f"scale must be below 1 (a share of the size), got {self.scale}")
        if self.rotate > 180:
            raise DigitnetError(f"rotate must be at most 180 degrees, got {self.rotate}")
        if self.elastic_alpha > 0 and self.elastic_sigma == 0:
            raise DigitnetError("elastic_sigma must be positive when elastic_alpha is")

    @property
    def enabled(self) -> bool:
        """True when at least one part changes the images."""
        return bool(
            self.translate
            or self.rotate
            or self.scale
            or self.elastic_alpha
            or self.flip
            or self.erase
        )

    @property
    def resamples(self) -> bool:
        """True when some part moves pixels by fractions, so the images are interpolated."""
        return bool(self.rotate or self.scale or self.elastic_alpha)


def augment_batch(X: np.ndarray, aug: Augmentation, rng: np.random.Generator) -> np.ndarray:
    """A randomly disturbed copy of the mini-batch ``X``.

    ``X``: ``(n, 784)`` images with values in [0, 1]; ``aug``: what to do; ``rng``: the source of
    randomness (the same seed gives the same output). Returns a new float32 ``(n, 784)`` array in
    [0, 1]; ``X`` is not changed. With every part switched off it is a plain copy.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != PIXELS:
        raise ValueError(f"X must have shape (n, {PIXELS}), got {X.shape}")
    out = np.array(X, dtype=np.float32)  # always a copy
    if not aug.enabled or len(X) == 0:
        return out
    for start in range(0, len(X), CHUNK):
        part = out[start : start + CHUNK]
        n = len(part)
        if aug.flip:
            images = part.reshape(n, SIDE, SIDE)
            mirrored = rng.random(n) < 0.5
            images[mirrored] = images[mirrored, :, ::-1]
        shifts = (
            rng.integers(-aug.translate, aug.translate + 1, size=(n, 2)) if aug.translate else None
        )
        angles = np.deg2rad(rng.uniform(-aug.rotate, aug.rotate, size=n)) if aug.rotate else None
        scales = rng.uniform(1 - aug.scale, 1 + aug.scale, size=(n, 2)) if aug.scale else None
        fields = (
            elastic_field(n, aug.elastic_alpha, aug.elastic_sigma, rng)
            if aug.elastic_alpha
            else None
        )
        if aug.resamples:
            part[:] = warp(part, shifts, angles, fields, scales)
        elif shifts is not None:  # whole pixels only: copies, not interpolation (same result)
            part[:] = shift(part, shifts)
        if aug.erase:
            erase_rectangles(part, aug.erase, rng)
    return out


def prepare(aug: Augmentation) -> float:
    """Build, or load from Numba's cache, the compiled resampling ``aug`` will use, so that the
    first mini-batch does not wait for it; returns the seconds that took (0 when nothing is
    resampled or Numba is not installed)."""
    if not aug.resamples:
        return 0.0
    from digitnet.engine import augment as compiled

    start = time.perf_counter()
    compiled.compiled_warp()
    return time.perf_counter() - start


def erase_rectangles(X: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Blank (set to 0) one random rectangle in each image of ``X`` ``(n, 784)`` with probability
    ``p``, in place. The rectangle covers 2-25% of the image, its height/width ratio is drawn
    log-uniformly from [0.3, 3.3], and it lies wholly inside the image."""
    n = len(X)
    area = rng.uniform(0.02, 0.25, n) * PIXELS
    ratio = np.exp(rng.uniform(math.log(0.3), math.log(1 / 0.3), n))
    h = np.clip(np.round(np.sqrt(area * ratio)), 1, SIDE).astype(np.intp)
    w = np.clip(np.round(np.sqrt(area / ratio)), 1, SIDE).astype(np.intp)
    top = (rng.random(n) * (SIDE - h + 1)).astype(np.intp)
    left = (rng.random(n) * (SIDE - w + 1)).astype(np.intp)
    chosen = rng.random(n) < p
    index = np.arange(SIDE)
    rows = (index >= top[:, None]) & (index < (top + h)[:, None])  # (n, 28)
    cols = (index >= left[:, None]) & (index < (left + w)[:, None])
    blank = rows[:, :, None] & cols[:, None, :] & chosen[:, None, None]  # (n, 28, 28)
    X.reshape(n, SIDE, SIDE)[blank] = 0
    return X


def elastic_field(n: int, alpha: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` random displacement fields ``(n, 2, 28, 28)`` (rows, then columns), in pixels.

    Each component is noise N, uniform in [-1, 1] per pixel, smoothed by a Gaussian of standard
    deviation ``sigma`` (zero outside the image, truncated at 4 sigma, as scipy's
    ``gaussian_filter(mode="constant")``), G N G^T with G the 28 x 28 smoothing matrix, and
    scaled by ``alpha``.

    Smoothing keeps only slow variation, so G is almost wholly its first few singular
    directions: G = U S V^T ~ A V_k^T with A = U_k S_k (28, k). Then G N G^T ~ A (V_k^T N V_k)
    A^T, and V_k^T N V_k is a k x k matrix of uncorrelated entries of variance 1/3 (the noise's),
    drawn here directly as uniform noise M on [-1, 1]: k^2 numbers per field instead of 784,
    with the same covariance up to the part of G left out (k keeps all but 1e-6 of its
    variance, ``_smoothing_factor``).
    """
    A = _smoothing_factor(float(sigma))  # (28, k)
    k = A.shape[1]
    M = rng.random((n, 2, k, k), dtype=np.float32) * 2 - 1
    return alpha * (A @ M @ A.T)


@lru_cache(maxsize=8)
def _gaussian_matrix(sigma: float) -> np.ndarray:
    """G (28, 28): G @ f smooths the columns of f by a Gaussian, zero outside the image."""
    radius = int(4 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    distance = np.subtract.outer(np.arange(SIDE), np.arange(SIDE))  # i - j
    G = np.where(np.abs(distance) <= radius, kernel[np.clip(distance + radius, 0, 2 * radius)], 0)
    G = G.astype(np.float32)
    G.flags.writeable = False
    return G


@lru_cache(maxsize=8)
def _smoothing_factor(sigma: float) -> np.ndarray:
    """A = U_k S_k (28, k) from the SVD of ``_gaussian_matrix(sigma)``, with the fewest k whose
    2-D smoothing A M A^T keeps all but 1e-6 of the variance of G N G^T."""
    U, S, _ = np.linalg.svd(_gaussian_matrix(sigma).astype(np.float64))
    energy = np.outer(S, S) ** 2  # the variance each pair of directions carries
    kept = np.array([energy[:k, :k].sum() for k in range(1, SIDE + 1)]) / energy.sum()
    k = int(np.argmax(kept >= 1 - 1e-6)) + 1
    A = (U[:, :k] * S[:k]).astype(np.float32)
    A.flags.writeable = False
    return A


def warp(
    X: np.ndarray,
    shifts: np.ndarray | None = None,
    angles: np.ndarray | None = None,
    fields: np.ndarray | None = None,
    scales: np.ndarray | None = None,
) -> np.ndarray:
    """Resample each image of ``X`` ``(n, 784)`` through the module's coordinate map.

    ``shifts``: ``(n, 2)`` translations (rows, columns) in pixels, positive moves the content
    down/right; ``angles``: ``(n,)`` rotations in radians, positive turns the content
    counter-clockwise as displayed; ``fields``: ``(n, 2, 28, 28)`` displacements added to each
    output pixel's source position; ``scales``: ``(n, 2)`` magnifications of the content's
    height and width about the centre (above 1 makes it larger). Returns float32 ``(n, 784)``
    clipped to [0, 1]: what :func:`warp_numpy` returns, computed by the compiled kernel when
    Numba is installed.
    """
    from digitnet.engine.augment import compiled_warp

    kernel = compiled_warp()
    if kernel is None:
        return warp_numpy(X, shifts, angles, fields)
    n = len(X)
    X = np.ascontiguousarray(X, dtype=np.float32)
    zeros = np.zeros(n, np.float32)
    shifts = np.zeros((n, 2), np.float32) if shifts is None else np.asarray(shifts, np.float32)
    cos = np.ones(n, np.float32) if angles is None else np.cos(angles).astype(np.float32)
    sin = zeros if angles is None else np.sin(angles).astype(np.float32)
    inverse = _inverse_scales(scales, n)
    fields = (
        np.zeros((n, 2, 1, 1), np.float32)
        if fields is None
        else np.ascontiguousarray(fields, dtype=np.float32)
    )
    out = np.empty((n, PIXELS), np.float32)
    shift_r, shift_c = shifts[:, 0].copy(), shifts[:, 1].copy()
    return kernel(
        X, shift_r, shift_c, cos, sin, inverse[:, 0].copy(), inverse[:, 1].copy(), fields, out
    )


def warp_numpy(
    X: np.ndarray,
    shifts: np.ndarray | None = None,
    angles: np.ndarray | None = None,
    fields: np.ndarray | None = None,
    scales: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`warp` in NumPy, vectorised over the batch."""
    n = len(X)
    rows, cols = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32) - np.float32(CENTRE)
    r = np.broadcast_to(rows, (n, SIDE, SIDE))  # (n, 28, 28) output positions, from the centre
    c = np.broadcast_to(cols, (n, SIDE, SIDE))
    if shifts is not None:
        shifts = np.asarray(shifts, dtype=np.float32)
        r = r - shifts[:, 0, None, None]
        c = c - shifts[:, 1, None, None]
    if angles is not None:
        # To turn the content counter-clockwise by theta, each output pixel reads the source
        # turned back; with rows growing downwards: (r, c) -> (r cos + c sin, c cos - r sin).
        cos = np.cos(angles).astype(np.float32)[:, None, None]
        sin = np.sin(angles).astype(np.float32)[:, None, None]
        r, c = r * cos + c * sin, c * cos - r * sin
    if scales is not None:  # a content magnified by s reads its source at 1/s of the distance
        inverse = _inverse_scales(scales, n)
        r = r * inverse[:, 0, None, None]
        c = c * inverse[:, 1, None, None]
    r = r + np.float32(CENTRE)
    c = c + np.float32(CENTRE)
    if fields is not None:
        r = r + fields[:, 0]
        c = c + fields[:, 1]
    return _bilinear(X.reshape(n, SIDE, SIDE), r, c).reshape(n, PIXELS)


def _inverse_scales(scales: np.ndarray | None, n: int) -> np.ndarray:
    """1 / ``scales`` ``(n, 2)`` in float32, ones for ``None``: the resampling's factors."""
    if scales is None:
        return np.ones((n, 2), np.float32)
    return np.float32(1) / np.asarray(scales, dtype=np.float32).reshape(n, 2)


def shift(X: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Each image of ``X`` ``(n, 784)`` moved by whole pixels, ``shifts`` ``(n, 2)`` (rows,
    columns; positive moves the content down/right), with background (0) coming in: what
    :func:`warp` gives for these shifts, by copying windows of a padded batch instead of
    interpolating. Images with the same shift are copied together."""
    n = len(X)
    shifts = np.asarray(shifts, dtype=np.intp)
    t = int(np.abs(shifts).max(initial=0))
    padded = np.zeros((n, SIDE + 2 * t, SIDE + 2 * t), dtype=np.float32)
    padded[:, t : t + SIDE, t : t + SIDE] = X.reshape(n, SIDE, SIDE)
    out = np.empty((n, SIDE, SIDE), dtype=np.float32)
    # out[r, c] = X[r - dr, c - dc] = padded[r - dr + t, c - dc + t]
    code = (shifts[:, 0] + t) * (2 * t + 1) + (shifts[:, 1] + t)
    for k in np.unique(code):
        dr, dc = divmod(int(k), 2 * t + 1)
        dr, dc = dr - t, dc - t
        same = np.flatnonzero(code == k)
        out[same] = padded[same, t - dr : t - dr + SIDE, t - dc : t - dc + SIDE]
    return out.reshape(n, PIXELS)


def _bilinear(images: np.ndarray, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Sample ``images`` ``(n, 28, 28)`` at fractional positions ``r, c`` (each ``(n, 28, 28)``),
    reading 0 outside the image."""
    n = len(images)
    padded = np.zeros((n, SIDE + 2, SIDE + 2), dtype=np.float32)  # a ring of background
    padded[:, 1:-1, 1:-1] = images
    flat = padded.reshape(n, -1)
    r0, c0 = np.floor(r), np.floor(c)
    fr, fc = (r - r0).reshape(n, -1), (c - c0).reshape(n, -1)
    # Indices into the padded image; anything further out lands on the zero ring.
    r0 = r0.astype(np.intp).reshape(n, -1) + 1
    c0 = c0.astype(np.intp).reshape(n, -1) + 1
    r1 = np.clip(r0 + 1, 0, SIDE + 1)
    c1 = np.clip(c0 + 1, 0, SIDE + 1)
    r0 = np.clip(r0, 0, SIDE + 1)
    c0 = np.clip(c0, 0, SIDE + 1)
    width = SIDE + 2

    def at(ri: np.ndarray, ci: np.ndarray) -> np.ndarray:
        return np.take_along_axis(flat, ri * width + ci, axis=1)

    top = (1 - fc) * at(r0, c0) + fc * at(r0, c1)
    bottom = (1 - fc) * at(r1, c0) + fc * at(r1, c1)
    out = (1 - fr) * top + fr * bottom
    return np.clip(out, 0, 1, out=out).astype(np.float32, copy=False)
