"""The cost landscape: the real cost C on a 2-D slice of weight space through the trained weights.

All parameters are one flat vector theta (``net.n_params``,), ``net.parameter_vector()``: W^(1),
b^(1), W^(2), ... in the order of ``net.parameters()``, each array row-major. The slice is the plane
``theta* + alpha d1 + beta d2`` through the trained weights theta*, and the picture is
C(alpha, beta) on the examples (X, y), every value a real ``net.total_cost``.

Directions (Li et al., "Visualizing the Loss Landscape of Neural Nets", 2018):

- ``"random"``: two random Gaussian directions, "filter-normalised": each neuron's slice of the
  direction (row j of its layer's W) is rescaled to the length of that neuron's weights, and each
  layer's bias part to the length of that layer's biases, so alpha = 1 moves every neuron by its
  own size whatever the layer's scale;
- ``"pca"``: the two principal directions of the training trajectory's offsets theta_t - theta*.
  In 13,002 dimensions two random directions are almost orthogonal to the path training took, so
  its projection would be a dot at the centre; the PCA plane is the one that shows the path.
- ``"auto"``: ``"pca"`` when a trajectory of at least 3 snapshots is given, else ``"random"``.

The trajectory (a list of flattened parameter vectors, one per epoch) is recorded during training
by :class:`TrajectoryRecorder`, a :class:`digitnet.train.Callback`. Its points are off the plane
(a random start lies far from any 2-D slice through the trained weights), so the 3-D path is drawn
at the real costs C(theta_t) (:func:`path_costs`), with the slice's costs at the projected points
beside it where they differ. The contour map carries the arrow -grad C at the trained weights,
projected onto the slice (:func:`slice_gradient`), and says how much of the gradient the slice
holds.

For watching a run live, :func:`start_slice` lays a plane through the *start* theta_0 before the
first step (along -grad C there and a random direction at right angles, the grid computed once),
and :func:`slice_point` places each step's weights on it: their projection, their real cost and
the slice's cost below them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from digitnet.errors import DigitnetError
from digitnet.network import Network
from digitnet.train import Callback, EpochRecord
from digitnet.views.figures import check_examples, new_figure

DIRECTIONS = ("auto", "random", "pca")
PATH_COLOURS = ("#17becf", "#e377c2", "#bcbd22")  # the extra paths' lines, in turn


class TrajectoryRecorder(Callback):
    """A training callback keeping theta (float32) after every epoch, for :func:`landscape`.

    Pass the network to also keep its starting point, and ``inner`` to forward every hook to the
    callback that reports progress (its ``stop_requested`` is honoured too)::

        recorder = TrajectoryRecorder(net, inner=progress)
        train(net, X, y, config, callback=recorder)
        landscape(net, X[:1000], y[:1000], trajectory=recorder.trajectory)
    """

    def __init__(self, net: Network | None = None, inner: Callback | None = None) -> None:
        self.inner = inner
        self.trajectory: list[np.ndarray] = []
        if net is not None:
            self.trajectory.append(net.parameter_vector().astype(np.float32))
        if inner is not None:
            self.batch_report_every = inner.batch_report_every

    @property
    def stop_requested(self) -> bool:
        return bool(self.inner is not None and self.inner.stop_requested)

    @stop_requested.setter
    def stop_requested(self, value: bool) -> None:
        if self.inner is not None:
            self.inner.stop_requested = value

    def on_epoch_start(self, epoch: int, n_batches: int) -> None:
        if self.inner is not None:
            self.inner.on_epoch_start(epoch, n_batches)

    def on_batch_start(self, epoch: int, i: int, X: np.ndarray, y: np.ndarray) -> None:
        if self.inner is not None:
            self.inner.on_batch_start(epoch, i, X, y)

    def on_batches(self, epoch: int, done: int, n_batches: int) -> None:
        if self.inner is not None:
            self.inner.on_batches(epoch, done, n_batches)

    def on_epoch_end(self, record: EpochRecord, network: Network) -> None:
        self.trajectory.append(network.parameter_vector().astype(np.float32))
        if self.inner is not None:
            self.inner.on_epoch_end(record, network)


def record_trajectory(net: Network | None = None, inner: Callback | None = None) -> Callback:
    """A :class:`TrajectoryRecorder` for ``train(..., callback=...)``; see its docstring."""
    return TrajectoryRecorder(net, inner)


def random_directions(net: Network, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two filter-normalised random directions d1, d2 (n_params,), from ``seed``."""
    rng = np.random.default_rng(seed)
    d = net.copy(dtype="float64")  # holds one direction in W and b, flattened like theta
    ds = []
    for _ in range(2):
        for W, b, dW, db in zip(net.W, net.b, d.W, d.b, strict=True):
            W = np.asarray(W, dtype=np.float64)
            b = np.asarray(b, dtype=np.float64)
            dW[...] = rng.standard_normal(W.shape)  # one row per neuron j, scaled to |W_j|
            dW *= np.linalg.norm(W, axis=1, keepdims=True) / np.linalg.norm(
                dW, axis=1, keepdims=True
            )
            db[...] = rng.standard_normal(b.shape)
            db *= np.linalg.norm(b) / np.linalg.norm(db)
        ds.append(d.parameter_vector())
    return ds[0], ds[1]


def pca_directions(
    theta: np.ndarray, trajectory: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The two principal unit directions of the offsets trajectory - theta, (n_params,) each,
    and the fraction of the offsets' variance each explains."""
    offsets = trajectory - theta  # (T, n_params)
    _, s, Vt = np.linalg.svd(offsets, full_matrices=False)
    explained = s**2 / max(float((s**2).sum()), 1e-300)
    return Vt[0], Vt[1], explained[:2]


def project(
    theta: np.ndarray, trajectory: np.ndarray, d1: np.ndarray, d2: np.ndarray
) -> np.ndarray:
    """The (alpha, beta) (T, 2) that best reach each theta_t from theta along d1, d2
    (least squares; exact dot products when d1, d2 are orthonormal)."""
    D = np.stack([d1, d2], axis=1)  # (n_params, 2)
    coords, *_ = np.linalg.lstsq(D, (trajectory - theta).T, rcond=None)
    return coords.T


def path_costs(
    net: Network,
    X: np.ndarray,
    y: np.ndarray,
    trajectory: Sequence[Sequence[float]] | np.ndarray,
) -> np.ndarray:
    """The real cost C(theta_t) on (X, y) at each point of ``trajectory`` (T, n_params), (T,).

    Each is ``total_cost`` of a copy of ``net`` holding theta_t; ``net`` is left untouched.
    """
    points = np.asarray(trajectory)
    if points.ndim != 2 or points.shape[1] != net.n_params:
        raise DigitnetError(
            f"the trajectory has shape {points.shape}, but this network needs one vector of "
            f"{net.n_params} parameters per snapshot"
        )
    probe = net.copy()
    values = np.empty(len(points))
    for t, theta_t in enumerate(points):
        probe.set_parameter_vector(theta_t)
        values[t] = probe.total_cost(X, y)
    return values


def gradient_vector(net: Network, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """grad C on (X, y) as one float64 vector (n_params,), laid out as theta (W1, b1, W2, ...)."""
    grads = net.gradient(X, y)
    return np.concatenate(
        [
            np.asarray(g, dtype=np.float64).ravel()
            for pair in zip(grads.W, grads.b, strict=True)
            for g in pair
        ]
    )


def slice_gradient(g: np.ndarray, d1: np.ndarray, d2: np.ndarray) -> tuple[np.ndarray, float]:
    """-g (n_params,) projected onto the plane spanned by d1, d2: its coordinates (2,) along d1
    and d2, and the share of -g the plane holds, |projection| / |g| (0 for g = 0).

    The coordinates are the least-squares fit D c ~ -g, D = [d1 d2]; for orthonormal d1, d2
    they are the dot products -g.d1 and -g.d2.
    """
    D = np.stack([d1, d2], axis=1)  # (n_params, 2)
    coords, *_ = np.linalg.lstsq(D, -g, rcond=None)
    size = float(np.linalg.norm(g))
    captured = float(np.linalg.norm(D @ coords)) / size if size > 0 else 0.0
    return coords, captured


def draw_gradient_arrow(
    ax: Axes, at: tuple[float, float], coords: np.ndarray, captured: float, length: float
) -> None:
    """The arrow of the projected -grad C (coordinates ``coords``) from ``at`` on the map ``ax``,
    ``length`` long in the map's units (its direction is the projection's; its length is not to
    scale), labelled with the share of the gradient the plane holds."""
    size = float(np.hypot(*coords))
    if not size > 0:
        return
    dx, dy = (length / size) * np.asarray(coords, dtype=np.float64)
    arrow = ax.annotate(
        "",
        xy=(at[0] + dx, at[1] + dy),
        xytext=at,
        arrowprops={"arrowstyle": "-|>", "color": "#e31a1c", "linewidth": 2, "mutation_scale": 15},
        zorder=12,
    )
    arrow.set_gid("gradient arrow")
    # a proxy for the legend: an annotation's arrow has no legend entry of its own
    ax.plot(
        [],
        [],
        color="#e31a1c",
        linewidth=2,
        label=rf"$-\nabla C$ projected: {100 * captured:.1f}% of $|\nabla C|$ lies in this plane "
        "(drawn: its direction)",
    )


def cost_surface(
    net: Network,
    X: np.ndarray,
    y: np.ndarray,
    d1: np.ndarray,
    d2: np.ndarray,
    alphas: np.ndarray,
    betas: np.ndarray,
) -> np.ndarray:
    """C(theta* + alpha d1 + beta d2) on (X, y) for every pair: shape (len(betas), len(alphas))."""
    A, B = np.meshgrid(alphas, betas)
    points = np.stack([A.ravel(), B.ravel()], axis=1)
    return costs_at(net, X, y, d1, d2, points).reshape(len(betas), len(alphas))


def costs_at(
    net: Network, X: np.ndarray, y: np.ndarray, d1: np.ndarray, d2: np.ndarray, points: np.ndarray
) -> np.ndarray:
    """C(theta* + alpha d1 + beta d2) on (X, y) for each row (alpha, beta) of points (P, 2).

    Evaluated on a copy of ``net``, which is left untouched.
    """
    probe = net.copy()
    theta = net.parameter_vector().astype(np.float64)
    values = np.empty(len(points))
    for i, (alpha, beta) in enumerate(points):
        probe.set_parameter_vector(theta + alpha * d1 + beta * d2)
        values[i] = probe.total_cost(X, y)
    return values


def _as_path(net: Network, trajectory: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    path = np.asarray(trajectory, dtype=np.float64)
    if path.ndim != 2 or path.shape[1] != net.n_params or len(path) == 0:
        raise DigitnetError(
            f"the trajectory has shape {path.shape}, but this network needs one vector of "
            f"{net.n_params} parameters per snapshot"
        )
    return path


def landscape(
    net: Network,
    X: np.ndarray,
    y: np.ndarray,
    trajectory: Sequence[Sequence[float]] | np.ndarray | None = None,
    steps: int = 25,
    span: float = 1.0,
    directions: str = "auto",
    seed: int = 0,
    paths: Mapping[str, Sequence[Sequence[float]] | np.ndarray] | None = None,
) -> Figure:
    """The cost surface around the trained weights as a 3-D surface and a contour map.

    ``steps`` x ``steps`` costs on (X (n, n_0), y (n,)) over alpha, beta in [-span, span] for
    random directions; for PCA directions the grid covers the trajectory with a margin. The
    trajectory, if given, is drawn projected onto the plane, one dot per snapshot: on the map at
    its projected coordinates, on the 3-D surface at its real costs (:func:`path_costs`) with the
    slice's costs dashed beside it where they differ. The map's red arrow is -grad C on (X, y)
    at the trained weights, projected onto the plane (:func:`slice_gradient`); the legend says
    what share of the gradient the plane holds.
    ``paths`` names more trajectories (T_i, n_params) to draw on the same plane (say,
    full-batch descent beside SGD's); the plane and the grid are still chosen from ``trajectory``
    alone.
    """
    X = check_examples(net, X, y)
    y = np.asarray(y)
    if directions not in DIRECTIONS:
        raise DigitnetError(f"unknown directions {directions!r}; choose one of: auto, random, pca")
    if steps < 3:
        raise DigitnetError(f"steps must be at least 3, got {steps}")
    theta = net.parameter_vector().astype(np.float64)
    path = None
    if trajectory is not None and len(trajectory):
        path = _as_path(net, trajectory)
    extra = {name: _as_path(net, p) for name, p in (paths or {}).items()}
    if directions == "auto":
        directions = "pca" if path is not None and len(path) >= 3 else "random"
    coords: np.ndarray | None  # the path in the plane's coordinates (None without a path)
    if directions == "pca":
        if path is None or len(path) < 3:
            raise DigitnetError("PCA directions need a trajectory of at least 3 snapshots")
        d1, d2, explained = pca_directions(theta, path)
        coords = project(theta, path, d1, d2)
        lo, hi = coords.min(axis=0), coords.max(axis=0)
        margin = 0.15 * np.maximum(hi - lo, 1e-3)
        a_range, b_range = (
            (lo[0] - margin[0], hi[0] + margin[0]),
            (lo[1] - margin[1], hi[1] + margin[1]),
        )
        axis_names = (
            f"PCA direction 1 ({100 * explained[0]:.0f}% of the path)",
            f"PCA direction 2 ({100 * explained[1]:.0f}%)",
        )
    else:
        d1, d2 = random_directions(net, seed)
        coords = project(theta, path, d1, d2) if path is not None else None
        a_range = b_range = (-span, span)
        axis_names = (r"$\alpha$ (random direction 1)", r"$\beta$ (random direction 2)")
    alphas = np.linspace(*a_range, steps)
    betas = np.linspace(*b_range, steps)
    C = cost_surface(net, X, y, d1, d2, alphas, betas)

    fig = new_figure(13, 5.6)
    ax3d = fig.add_subplot(1, 2, 1, projection="3d")
    ax = fig.add_subplot(1, 2, 2)
    A, B = np.meshgrid(alphas, betas)
    positive = np.where(C > 0, C, np.nan)
    low = float(np.nanmin(positive)) if np.any(C > 0) else 1e-3
    high = max(float(np.nanmax(C)), low * 1.01)
    norm = LogNorm(low, high)
    ax3d.plot_surface(
        A, B, np.log10(np.maximum(C, low)), cmap="viridis", linewidth=0, antialiased=True, alpha=0.9
    )
    ax3d.set_xlabel(r"$\alpha$", fontsize=8)
    ax3d.set_ylabel(r"$\beta$", fontsize=8)
    ax3d.set_zlabel(r"$\log_{10} C$", fontsize=8)
    ax3d.tick_params(labelsize=7)
    ax3d.set_title("cost surface", fontsize=10)
    levels = np.geomspace(low, high, 25)
    filled = ax.contourf(A, B, np.maximum(C, low), levels=levels, norm=norm, cmap="viridis")
    ax.contour(A, B, np.maximum(C, low), levels=levels[::3], colors="white", linewidths=0.5)
    fig.colorbar(filled, ax=ax, label="cost C", format="%.3g")
    ax.plot(0, 0, marker="*", markersize=14, color="#d62728", label="trained weights")
    if path is not None and coords is not None:
        ax.plot(
            coords[:, 0],
            coords[:, 1],
            color="white",
            linewidth=1.2,
            marker="o",
            markersize=4,
            markerfacecolor="#ff7f0e",
            label="training path (projected)",
        )
        ax.annotate(
            "start", coords[0], color="white", fontsize=8, xytext=(4, 4), textcoords="offset points"
        )
        # the path's points are off the plane: drawn at their real costs, with the slice's
        # costs at the projected points beside them (dashed) wherever the two differ
        real = path_costs(net, X, y, path)
        on_slice = costs_at(net, X, y, d1, d2, coords)
        (line,) = ax3d.plot(
            coords[:, 0],
            coords[:, 1],
            np.log10(np.maximum(real, np.finfo(np.float64).tiny)),
            color="#ff7f0e",
            marker="o",
            markersize=3,
            zorder=10,
            label="training path at its real costs",
        )
        line.set_gid("path real cost")
        if not np.allclose(real, on_slice, rtol=1e-3, atol=0):
            (line,) = ax3d.plot(
                coords[:, 0],
                coords[:, 1],
                np.log10(np.maximum(on_slice, np.finfo(np.float64).tiny)),
                color="#ff7f0e",
                linestyle="--",
                linewidth=0.8,
                zorder=9,
                label="the slice's costs below the path",
            )
            line.set_gid("path slice cost")
        ax3d.legend(fontsize=7, loc="upper left")
    g_coords, captured = slice_gradient(gradient_vector(net, X, y), d1, d2)
    draw_gradient_arrow(
        ax,
        (0.0, 0.0),
        g_coords,
        captured,
        0.3 * min(a_range[1] - a_range[0], b_range[1] - b_range[0]),
    )
    for i, (name, other) in enumerate(extra.items()):
        xy = project(theta, other, d1, d2)
        colour = PATH_COLOURS[i % len(PATH_COLOURS)]
        ax.plot(xy[:, 0], xy[:, 1], color=colour, linewidth=1.2, marker="o", markersize=3,
                label=name)  # fmt: skip
    ax.set_xlabel(axis_names[0], fontsize=9)
    ax.set_ylabel(axis_names[1], fontsize=9)
    ax.set_title(f"cost map ({directions} directions)", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    fig.suptitle(
        f"The cost C on a 2-D slice of the {net.n_params:,}-dimensional weight space, "
        f"through the trained weights ({len(y):,} images)"
    )
    return fig


# -- a slice through a run's start, for watching the run live -----------------------------------


@dataclass
class StartSlice:
    """A 2-D slice of the cost through a run's starting weights theta_0, chosen before its first
    step: the plane ``theta_0 + alpha d1 + beta d2``.

    ``d1`` (n_params,) is the unit vector along -grad C at theta_0 on (X, y), the way plain
    gradient descent would set off; ``d2`` a unit random direction orthogonal to it
    (filter-normalised as :func:`random_directions`, then made orthogonal). ``alphas`` and
    ``betas`` are the grid's coordinates, distances in weight space; ``C`` (len(betas),
    len(alphas)) holds the real costs ``total_cost`` on (X, y) at every grid point, computed once.
    """

    theta0: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    alphas: np.ndarray
    betas: np.ndarray
    C: np.ndarray
    X: np.ndarray
    y: np.ndarray
    probe: Network = field(repr=False)


@dataclass
class SlicePoint:
    """Where a network's weights theta are seen from a :class:`StartSlice`.

    (``alpha``, ``beta``): the projection of theta - theta_0 onto the plane; ``cost``: the real
    C(theta) on the slice's examples (``net.total_cost``); ``slice_cost``: C at the projected
    point on the plane, which differs from ``cost`` as soon as theta leaves the plane;
    ``off_plane``: the share of |theta - theta_0| that lies outside the plane (0 at the start).
    """

    alpha: float
    beta: float
    cost: float
    slice_cost: float
    off_plane: float


def start_slice(
    net: Network, X: np.ndarray, y: np.ndarray, seed: int = 0, steps: int = 13
) -> StartSlice:
    """The slice through ``net``'s present weights theta_0 (:class:`StartSlice`), with a grid of
    ``steps`` x ``steps`` costs on (X (n, n_0), y (n,)).

    The grid's extent comes from a line search along d1: alpha runs from -1/4 to 2 times the
    distance at which C along -grad C is lowest (of a dozen distances tried, from a thousandth
    to twice |theta_0|), beta over half that on each side.
    """
    X = check_examples(net, X, y)
    y = np.asarray(y)
    if steps < 3:
        raise DigitnetError(f"steps must be at least 3, got {steps}")
    theta0 = net.parameter_vector().astype(np.float64)
    r1, _ = random_directions(net, seed)
    g = gradient_vector(net, X, y)
    size = float(np.linalg.norm(g))
    d1 = -g / size if size > 0 else r1 / np.linalg.norm(r1)
    d2 = r1 - (r1 @ d1) * d1
    d2 /= np.linalg.norm(d2)
    scale = max(float(np.linalg.norm(theta0)), 1e-3)
    tried = scale * np.geomspace(1e-3, 2.0, 12)
    along = costs_at(net, X, y, d1, d2, np.stack([tried, np.zeros_like(tried)], axis=1))
    reach = 2.0 * float(tried[int(np.argmin(along))])
    alphas = np.linspace(-0.25 * reach, reach, steps)
    betas = np.linspace(-0.5 * reach, 0.5 * reach, steps)
    C = cost_surface(net, X, y, d1, d2, alphas, betas)
    return StartSlice(theta0, d1, d2, alphas, betas, C, X, y, probe=net.copy())


def slice_point(s: StartSlice, net: Network) -> SlicePoint:
    """``net``'s weights seen from the slice ``s``: their projection, the real cost there
    (``net.total_cost`` on the slice's examples) and the slice's cost below it."""
    offset = net.parameter_vector().astype(np.float64) - s.theta0
    alpha, beta = float(offset @ s.d1), float(offset @ s.d2)  # d1, d2 are orthonormal
    moved = float(np.linalg.norm(offset))
    outside = float(np.linalg.norm(offset - alpha * s.d1 - beta * s.d2))
    s.probe.set_parameter_vector(s.theta0 + alpha * s.d1 + beta * s.d2)
    return SlicePoint(
        alpha=alpha,
        beta=beta,
        cost=net.total_cost(s.X, s.y),
        slice_cost=s.probe.total_cost(s.X, s.y),
        off_plane=outside / moved if moved > 0 else 0.0,
    )
