"""Gradient descent you can watch: mini-batch SGD's stumble beside full-batch descent, step by step.

From a network's current weights theta_0 (usually untrained), :func:`descent_paths` takes the
lessons' steps on a scratch copy, theta <- theta - eta grad C, twice:

- **SGD**: each epoch the examples are shuffled and cut into mini-batches of ``batch_size`` (the
  last one smaller, as :func:`digitnet.train.train` does); each step follows the gradient of one
  mini-batch, from :meth:`digitnet.network.Network.gradient` (the reference backprop). The rows
  of a mini-batch are taken in the examples' order: the gradient is a sum over them, so their
  order changes nothing but the rounding, and a batch of all the examples is the full batch;
- **full-batch gradient descent**: every step follows the gradient on all of (X, y).

theta is recorded every ``every`` steps (and after the last), with the real cost C on (X, y) at
each recorded point. :func:`descent` draws both paths on the cost map of the plane through
theta_0 spanned by the two principal directions of both paths' offsets (PCA), with -grad C at
the start as an arrow, and the cost of both against the step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from digitnet.errors import DigitnetError
from digitnet.limits import check_memory
from digitnet.network import Network
from digitnet.views.figures import check_examples, new_figure
from digitnet.views.landscape import (
    cost_surface,
    draw_gradient_arrow,
    gradient_vector,
    pca_directions,
    project,
    slice_gradient,
)

#: The most points one run records (per path): ``every`` thins a longer run.
MAX_RECORDED = 5_001
SGD_COLOUR, FULL_COLOUR = "#ff7f0e", "#ffffff"


@dataclass
class DescentPaths:
    """Two descents from the same theta_0: ``sgd`` and ``full`` (T, n_params) are theta after
    each step in ``steps`` (T,) (step 0 is theta_0 itself), ``sgd_cost`` and ``full_cost`` (T,)
    the real cost on all of (X, y) there. ``n`` is the number of examples."""

    steps: np.ndarray
    sgd: np.ndarray
    full: np.ndarray
    sgd_cost: np.ndarray
    full_cost: np.ndarray
    eta: float
    batch_size: int
    n: int
    seed: int
    every: int

    @property
    def start(self) -> np.ndarray:
        """theta_0 (n_params,)."""
        return self.sgd[0]

    @property
    def epochs(self) -> float:
        """How many passes over the examples SGD's steps make."""
        return float(self.steps[-1]) / math.ceil(self.n / self.batch_size)


def _check(
    net: Network, X: np.ndarray, eta: float, batch_size: int, steps: int, seed: int, every: int
) -> int:
    """The number of points each path records, after checking the arguments."""
    if isinstance(eta, bool) or not isinstance(eta, int | float | np.floating | np.integer):
        raise DigitnetError(f"eta must be a number, got {eta!r}")
    if not (math.isfinite(eta) and eta > 0):
        raise DigitnetError(f"eta must be a positive number, got {eta!r}")
    for name, value, low in (
        ("batch_size", batch_size, 1),
        ("steps", steps, 1),
        ("every", every, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise DigitnetError(f"{name} must be a whole number >= {low}, got {value!r}")
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise DigitnetError(f"seed must be a whole number >= 0, got {seed!r}")
    if batch_size > len(X):
        raise DigitnetError(f"batch_size {batch_size} is more than the {len(X)} examples")
    recorded = steps // every + 1 + (steps % every > 0)
    if recorded > MAX_RECORDED:
        raise DigitnetError(
            f"{steps} steps recorded every {every} make {recorded} points, more than "
            f"{MAX_RECORDED:,}: record every {math.ceil(steps / (MAX_RECORDED - 1))} steps or more"
        )
    check_memory(2 * recorded * net.n_params * 8, f"recording {recorded} points of two paths")
    return recorded


def _descend(
    net: Network,
    X: np.ndarray,
    y: np.ndarray,
    eta: float,
    batches: list[np.ndarray],
    recorded: np.ndarray,
    what: str,
) -> tuple[np.ndarray, np.ndarray]:
    """theta and C(theta) on (X, y) at the steps ``recorded``, stepping a copy of ``net`` along
    -grad C of each mini-batch in turn (``batches``: the example indices of each step)."""
    probe = net.copy()
    thetas = np.empty((len(recorded), net.n_params))
    costs = np.empty(len(recorded))
    keep = {int(t): i for i, t in enumerate(recorded)}
    thetas[0], costs[0] = probe.parameter_vector(), probe.total_cost(X, y)
    lr = net.dtype.type(eta)
    # Overflow on the way to a NaN is expected when eta is too high: it is caught below.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for t, idx in enumerate(batches, start=1):
            grads = probe.gradient(X[idx], y[idx])  # trace, then the four backprop equations
            dC = [g for pair in zip(grads.W, grads.b, strict=True) for g in pair]  # as parameters()
            for p, g in zip(probe.parameters(), dC, strict=True):
                p -= lr * g  # theta <- theta - eta grad C
            if t in keep:
                i = keep[t]
                thetas[i], costs[i] = probe.parameter_vector(), probe.total_cost(X, y)
                if not (np.all(np.isfinite(thetas[i])) and math.isfinite(costs[i])):
                    raise DigitnetError(
                        f"{what} diverged by step {t} with eta {eta:g} (the cost or the weights "
                        f"overflowed): try an eta 10 times smaller, {eta / 10:g}"
                    )
    return thetas, costs


def descent_paths(
    net: Network,
    X: np.ndarray,
    y: np.ndarray,
    eta: float,
    batch_size: int,
    steps: int,
    seed: int = 0,
    every: int = 1,
) -> DescentPaths:
    """``steps`` steps of mini-batch SGD and of full-batch gradient descent from ``net``'s
    weights on (X (n, n_0), y (n,)), each recorded every ``every`` steps; see the module
    docstring. ``seed`` shuffles the mini-batches. ``net`` is never changed.
    """
    X = check_examples(net, X, y)
    y = np.asarray(y)
    _check(net, X, eta, batch_size, steps, seed, every)
    recorded = np.unique(np.r_[np.arange(0, steps + 1, every), steps])  # n_recorded steps
    n = len(X)
    rng = np.random.default_rng(seed)
    per_epoch = math.ceil(n / batch_size)
    sgd_batches: list[np.ndarray] = []
    while len(sgd_batches) < steps:
        perm = rng.permutation(n)
        sgd_batches += [
            np.sort(perm[i * batch_size : (i + 1) * batch_size]) for i in range(per_epoch)
        ]
    everything = np.arange(n)
    sgd, sgd_cost = _descend(net, X, y, eta, sgd_batches[:steps], recorded, "SGD")
    full, full_cost = _descend(
        net, X, y, eta, [everything] * steps, recorded, "full-batch gradient descent"
    )
    return DescentPaths(
        steps=recorded,
        sgd=sgd,
        full=full,
        sgd_cost=sgd_cost,
        full_cost=full_cost,
        eta=float(eta),
        batch_size=int(batch_size),
        n=n,
        seed=int(seed),
        every=int(every),
    )


def descent(
    net: Network,
    X: np.ndarray,
    y: np.ndarray,
    eta: float,
    batch_size: int,
    steps: int,
    seed: int = 0,
    every: int = 1,
    grid: int = 25,
    start: str = "the network's weights",
) -> Figure:
    """SGD on mini-batches of ``batch_size`` and full-batch gradient descent, ``steps`` steps of
    eta each from ``net``'s weights, on (X (n, n_0), y (n,)): :func:`descent_paths`, drawn.

    Left: the cost map (``grid`` x ``grid`` real costs) on the plane through the start spanned
    by the two principal directions of both paths, each path with one dot per recorded step, and
    -grad C at the start, projected onto the plane. Right: the real cost on (X, y) of both
    against the step. ``start`` says in the title where theta_0 comes from.
    """
    if isinstance(grid, bool) or not isinstance(grid, int) or grid < 3:
        raise DigitnetError(f"grid must be a whole number >= 3, got {grid!r}")
    paths = descent_paths(net, X, y, eta, batch_size, steps, seed, every)
    X = check_examples(net, X, y)
    y = np.asarray(y)
    theta_0 = paths.start
    both = np.concatenate([paths.sgd, paths.full])
    d1, d2, explained = pca_directions(theta_0, both)
    sgd_xy = project(theta_0, paths.sgd, d1, d2)
    full_xy = project(theta_0, paths.full, d1, d2)
    coords = np.concatenate([sgd_xy, full_xy])
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    margin = 0.15 * np.maximum(hi - lo, 1e-3)
    alphas = np.linspace(lo[0] - margin[0], hi[0] + margin[0], grid)
    betas = np.linspace(lo[1] - margin[1], hi[1] + margin[1], grid)
    C = cost_surface(net, X, y, d1, d2, alphas, betas)  # centred on net's weights, theta_0

    fig = new_figure(13, 5.6)
    ax, ax_cost = fig.subplots(1, 2, width_ratios=[1.15, 1])
    A, B = np.meshgrid(alphas, betas)
    low = float(np.min(C[C > 0])) if np.any(C > 0) else 1e-3
    high = max(float(C.max()), low * 1.01)
    norm = LogNorm(low, high)
    levels = np.geomspace(low, high, 25)
    filled = ax.contourf(A, B, np.maximum(C, low), levels=levels, norm=norm, cmap="viridis")
    ax.contour(A, B, np.maximum(C, low), levels=levels[::3], colors="white", linewidths=0.4)
    fig.colorbar(filled, ax=ax, label="cost C on the plane", format="%.3g")
    m = len(paths.steps)
    marker = 3 if m <= 300 else 1.5
    for xy, colour, name, gid in (
        (full_xy, FULL_COLOUR, "full-batch gradient descent", "full path"),
        (sgd_xy, SGD_COLOUR, f"SGD, mini-batches of {paths.batch_size}", "sgd path"),
    ):
        (line,) = ax.plot(
            xy[:, 0],
            xy[:, 1],
            color=colour,
            linewidth=0.8,
            marker="o",
            markersize=marker,
            label=f"{name} ({m} points)",
        )
        line.set_gid(gid)
    ax.plot(0, 0, marker="*", markersize=13, color="#d62728", linestyle="none", label="start")
    g_coords, captured = slice_gradient(gradient_vector(net, X, y), d1, d2)
    span = min(alphas[-1] - alphas[0], betas[-1] - betas[0])
    draw_gradient_arrow(ax, (0.0, 0.0), g_coords, captured, 0.25 * span)
    ax.set_xlabel(f"PCA direction 1 ({100 * explained[0]:.0f}% of both paths)", fontsize=9)
    ax.set_ylabel(f"PCA direction 2 ({100 * explained[1]:.0f}%)", fontsize=9)
    ax.set_title("both paths, projected onto the plane through the start", fontsize=10)
    ax.legend(fontsize=7, loc="best")

    every_text = "every step" if paths.every == 1 else f"every {paths.every} steps"
    for costs, colour, name in (
        (paths.full_cost, "#1f77b4", "full-batch gradient descent"),
        (paths.sgd_cost, SGD_COLOUR, f"SGD, mini-batches of {paths.batch_size}"),
    ):
        ax_cost.plot(
            paths.steps, costs, color=colour, linewidth=1, marker="o", markersize=marker, label=name
        )
    ax_cost.set_xlabel(
        f"step (recorded {every_text}; {paths.epochs:.2g} epochs of SGD)", fontsize=9
    )
    ax_cost.set_ylabel(f"real cost C on the {paths.n:,} examples", fontsize=9)
    ax_cost.set_title("cost against step", fontsize=10)
    if np.all(paths.sgd_cost > 0) and np.all(paths.full_cost > 0):
        top = max(paths.sgd_cost.max(), paths.full_cost.max())
        bottom = min(paths.sgd_cost.min(), paths.full_cost.min())
        if top > 10 * bottom:
            ax_cost.set_yscale("log")
    ax_cost.grid(alpha=0.3)
    ax_cost.legend(fontsize=8)
    fig.suptitle(
        f"Gradient descent from {start}: {steps} steps of eta = {paths.eta:g} on "
        f"{paths.n:,} images (the map is the cost on the plane; the right panel the real cost)",
        fontsize=11,
    )
    return fig
