"""Helpers shared by the views: figures without pyplot, the colour maps, image tiling.

Every view builds a :class:`matplotlib.figure.Figure` directly (no pyplot global state), so it is
safe in a web server and in tests, and Jupyter displays it as it is. Weights and gradients use one
diverging map centred on zero: red for negative, blue for positive, white for zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure

from digitnet.errors import DigitnetError
from digitnet.network import Network

#: Negative red, zero white, positive blue; NaN (the gaps between tiles) drawn white.
DIVERGING: Colormap = matplotlib.colormaps["RdBu"].with_extremes(bad="white")
#: Activations: 0 is white paper, 1 is full ink, as in the digits themselves.
INK: Colormap = matplotlib.colormaps["Greys"].with_extremes(bad="white")
POSITIVE, NEGATIVE = "#2166ac", "#b2182b"  # the ends of DIVERGING, for bars and lines


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches with constrained layout."""
    return Figure(figsize=(width, height), layout="constrained")


def symmetric_norm(*arrays: np.ndarray) -> Normalize:
    """A colour scale from -m to +m, where m is the largest |value| (1 if all are zero)."""
    m = max((float(np.nanmax(np.abs(a))) for a in arrays if np.size(a)), default=0.0)
    m = m if m > 0 and math.isfinite(m) else 1.0
    return Normalize(-m, m)


def image_shape(n: int) -> tuple[int, int] | None:
    """The (rows, cols) of a square image of ``n`` pixels (784 -> (28, 28)), or None."""
    side = math.isqrt(n)
    return (side, side) if side * side == n and side > 1 else None


def tile(images: np.ndarray, cols: int, gap: int = 1) -> np.ndarray:
    """Images (n, h, w) laid out in a grid with ``cols`` columns, separated by NaN gaps.

    Returns one 2-D array of shape (rows*(h+gap)-gap, cols*(w+gap)-gap); unused cells are NaN.
    """
    n, h, w = images.shape
    rows = max(1, math.ceil(n / cols))
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = images[i]
    return out


def grid_shape(n: int, max_cols: int = 10) -> tuple[int, int]:
    """(rows, cols) for ``n`` panels, as square as possible with at most ``max_cols`` columns."""
    cols = min(max_cols, max(1, math.ceil(math.sqrt(n))))
    return math.ceil(n / cols), cols


def class_labels(class_names: Sequence[str] | None, n: int) -> list[str]:
    """The names of the ``n`` output neurons: ``class_names`` if given, else "0", "1", ..."""
    if class_names is None:
        return [str(i) for i in range(n)]
    names = [str(c) for c in class_names]
    if len(names) != n:
        raise DigitnetError(f"{len(names)} class names given, but the output layer has {n}")
    return names


def check_layer(net: Network, layer: int) -> int:
    """``layer`` as a valid lessons' layer number l in 1..L, or a one-line DigitnetError."""
    if not 1 <= layer <= net.n_layers:
        raise DigitnetError(
            f"layer must be between 1 and {net.n_layers} (the layers of weights), got {layer}"
        )
    return layer


def check_examples(net: Network, X: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
    """X as a batch (n, n_0) with at least one row; y, if given, must have n labels."""
    X = net.as_input(X)
    if len(X) == 0:
        raise DigitnetError("no images given")
    if y is not None:
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise DigitnetError(f"{len(X)} images but labels of shape {y.shape}")
        if y.min() < 0 or y.max() >= net.sizes[-1]:
            raise DigitnetError(f"labels must be in 0..{net.sizes[-1] - 1}")
    return X


def outputs(net: Network, X: np.ndarray, batch: int = 5_000) -> np.ndarray:
    """The output activations a^(L) (n, n_L) of ``net.trace``, a batch at a time."""
    return np.concatenate([net.trace(X[s : s + batch]).output for s in range(0, len(X), batch)])


def show_image(ax: Axes, pixels: np.ndarray, title: str | None = None) -> None:
    """One input image (n_0,) on ``ax``: as a square picture if it is one, else as a strip."""
    shape = image_shape(pixels.size) or (1, pixels.size)
    ax.imshow(pixels.reshape(shape), cmap=INK, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
