"""The lessons' network diagram for one input image, from the network's own forward trace.

What the diagram shows is decided in one place, :func:`diagram_selection`, which both this view
(``digitnet plot network``) and the web page (``POST /api/trace``) use, so the same network and
image give the same picture in both:

- every neuron of the input layer (a 28x28 image is drawn as its grid of pixels) and of the
  output layer, and of each hidden layer its ``max_neurons`` most active neurons, the largest
  |a_j| (all of them if they fit);
- between each two layers, among the neurons shown, the ``max_connections`` connections that
  push hardest for this image: the largest |w_jk a_k|, where w_jk = ``net.W[l-1][j, k]`` is the
  weight from neuron k of layer l-1 to neuron j of layer l and w_jk a_k is what it adds to z_j.
  A connection is blue when it pushes z_j up (w_jk a_k > 0), red when it pushes it down, and more
  opaque the harder it pushes.

Neurons are filled by their activation a_j^(l) (white 0, black at the layer's ``scale``). The most
active output neuron, the network's answer, is ringed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle

from digitnet.errors import DigitnetError
from digitnet.network import Network, Trace
from digitnet.views.figures import (
    INK,
    NEGATIVE,
    POSITIVE,
    class_labels,
    image_shape,
    new_figure,
)

#: A hidden layer shows at most this many neurons, its most active ones.
MAX_NEURONS = 32
#: Between two layers, at most this many connections are drawn, the strongest pushes.
MAX_CONNECTIONS = 160


@dataclass(frozen=True)
class Connection:
    """The weight w_jk of ``W^(l)`` from neuron k of layer l-1 to neuron j of layer l, and its
    push w_jk a_k^(l-1) on z_j for the image traced."""

    layer: int
    j: int
    k: int
    w: float
    push: float


@dataclass(frozen=True)
class DiagramSelection:
    """What a network diagram of one image draws.

    ``shown[l]`` lists the neurons of layer l (0..L) drawn, in increasing order. ``scale[l]`` is
    the activation drawn as full ink for layer l: 1, or the layer's largest activation when that
    is above 1 (ReLU). ``connections`` holds, for l = 1..L in turn, the connections drawn between
    layers l-1 and l, strongest |push| first (ties: lower j, then lower k, first).
    """

    shown: list[list[int]]
    scale: list[float]
    connections: list[Connection]


def diagram_selection(
    net: Network,
    trace: Trace,
    max_neurons: int = MAX_NEURONS,
    max_connections: int = MAX_CONNECTIONS,
) -> DiagramSelection:
    """The neurons and connections a diagram of one image draws (see the module docstring).

    ``trace`` is ``net.trace(x)`` for one image x: each ``trace.a[l]`` has shape (1, n_l). The
    activations and weights are compared in float64, so the choice does not depend on the
    network's dtype beyond its values. Connections that push by exactly 0 (from a neuron with
    a_k = 0, such as a blank pixel) are never drawn.
    """
    if max_neurons < 1 or max_connections < 0:
        raise DigitnetError(
            f"a diagram needs max_neurons >= 1 and max_connections >= 0, "
            f"got {max_neurons} and {max_connections}"
        )
    if len(trace.a) != net.n_layers + 1 or trace.a[0].shape[0] != 1:
        raise DigitnetError("a network diagram shows the trace of exactly one image")
    L = net.n_layers
    a = [np.asarray(a_l[0], dtype=np.float64) for a_l in trace.a]  # a[l]: (n_l,)
    shown: list[np.ndarray] = []
    for l, a_l in enumerate(a):
        if l == 0 or l == L or a_l.size <= max_neurons:
            shown.append(np.arange(a_l.size))
        else:
            top = np.argsort(-np.abs(a_l), kind="stable")[:max_neurons]
            shown.append(np.sort(top))
    scale = [1.0] + [max(1.0, float(np.max(a[l]))) for l in range(1, L + 1)]

    connections: list[Connection] = []
    for l in range(1, L + 1):
        rows, cols = shown[l], shown[l - 1]
        W = np.asarray(net.W[l - 1], dtype=np.float64)[np.ix_(rows, cols)]  # (shown_l, shown_l-1)
        push = W * a[l - 1][cols][None, :]  # w_jk a_k
        strength = np.abs(push).ravel()
        order = np.argsort(-strength, kind="stable")
        order = order[: min(max_connections, int(np.count_nonzero(strength)))]
        r, c = np.divmod(order, len(cols))
        connections += [
            Connection(l, int(rows[i]), int(cols[m]), float(W[i, m]), float(push[i, m]))
            for i, m in zip(r, c, strict=True)
        ]
    return DiagramSelection([s.tolist() for s in shown], scale, connections)


def network_diagram(
    net: Network,
    x: np.ndarray,
    y: int | None = None,
    class_names: Sequence[str] | None = None,
    max_neurons: int = MAX_NEURONS,
    max_connections: int = MAX_CONNECTIONS,
) -> Figure:
    """The network thinking about one image x (n_0,): every layer's neurons and strongest pushes.

    ``y`` (the true class, optional) goes in the title. The neurons and connections drawn are
    :func:`diagram_selection`'s. A square input (784 pixels) is drawn as its 28x28 grid, each
    pixel the input neuron it is; every other layer is a column of circles. Each circle has the
    gid ``"neuron l j"``, the input grid the gid ``"input layer"``, and the connections into
    layer l are one line collection with the gid ``"connections l"``.
    """
    trace = net.trace(x)  # the one forward pass: every z and a, for this one image
    selection = diagram_selection(net, trace, max_neurons, max_connections)
    shown, scale = selection.shown, selection.scale
    a = [np.asarray(a_l[0], dtype=np.float64) for a_l in trace.a]  # a[l]: (n_l,)
    names = class_labels(class_names, net.sizes[-1])
    L = net.n_layers
    answer = int(np.argmax(a[L]))
    grid = image_shape(a[0].size)

    # layout, in units of the spacing between two neurons of a column
    height = float(max(10, *(len(s) for s in shown[1:]), 0 if grid else len(shown[0])))
    if grid is not None:
        cell = 0.7 * height / max(grid)  # the grid of pixels: 70% of the tallest column
        width, tall = cell * grid[1], cell * grid[0]
        gap = max(4.0, 1.2 * height / L)
        xs = np.concatenate([[width / 2], width + gap * np.arange(1, L + 1)])
    else:
        gap = max(3.0, 1.2 * height / L)
        xs = gap * np.arange(L + 1, dtype=float)
    where: list[dict[int, tuple[float, float]]] = []  # where[l][j] = (x, y) of neuron j
    for l in range(L + 1):
        if l == 0 and grid is not None:
            rows, cols = np.divmod(np.asarray(shown[0]), grid[1])
            px, py = (cols + 0.5) * cell, tall / 2 - (rows + 0.5) * cell
            where.append(
                {j: (float(u), float(v)) for j, u, v in zip(shown[0], px, py, strict=True)}
            )
        else:
            n = len(shown[l])
            ys = (n - 1) / 2 - np.arange(n)
            where.append({j: (float(xs[l]), float(v)) for j, v in zip(shown[l], ys, strict=True)})
    radius = 0.32

    fig = new_figure(12, 7)
    ax = fig.subplots()

    for l in range(1, L + 1):
        into = [c for c in selection.connections if c.layer == l][::-1]  # strongest drawn last
        if not into:
            continue
        top = max(abs(c.push) for c in into)
        strength = [abs(c.push) / top for c in into]
        lines = LineCollection(
            [[where[l - 1][c.k], where[l][c.j]] for c in into],
            colors=[
                to_rgba(POSITIVE if c.push > 0 else NEGATIVE, 0.1 + 0.8 * s)
                for c, s in zip(into, strength, strict=True)
            ],
            linewidths=[0.5 + 1.5 * s for s in strength],
            zorder=2,
        )
        lines.set_gid(f"connections {l}")
        ax.add_collection(lines)

    for l in range(L + 1):
        if l == 0 and grid is not None:
            image = ax.imshow(
                a[0].reshape(grid),
                cmap=INK,
                vmin=0,
                vmax=scale[0],
                interpolation="nearest",
                extent=(0, width, -tall / 2, tall / 2),
                zorder=3,
            )
            image.set_gid("input layer")
            frame = Rectangle((0, -tall / 2), width, tall, fill=False, edgecolor="0.6", zorder=4)
            ax.add_patch(frame)
            continue
        for j in shown[l]:
            centre = where[l][j]
            circle = Circle(
                centre,
                radius,
                facecolor=INK(min(max(a[l][j] / scale[l], 0.0), 1.0)),
                edgecolor="0.3",
                linewidth=0.8,
                zorder=3,
            )
            circle.set_gid(f"neuron {l} {j}")
            ax.add_patch(circle)
            if l == L:
                ax.text(
                    centre[0] + 1.6 * radius,
                    centre[1],
                    f"{names[j]}  {a[l][j]:.2f}",
                    va="center",
                    fontsize=9,
                    fontweight="bold" if j == answer else "normal",
                )
    ring = Circle(
        where[L][answer], 1.45 * radius, fill=False, edgecolor="#1a9850", linewidth=2.5, zorder=4
    )
    ring.set_gid("answer")
    ax.add_patch(ring)

    for l in range(L + 1):
        n, drawn = a[l].size, len(shown[l])
        label = "input" if l == 0 else ("output" if l == L else f"hidden {l}")
        if l == 0 and grid is not None:
            note = f"{n} pixels ({grid[0]}x{grid[1]})"
        elif drawn < n:
            note = f"{drawn} most active of {n}"
        else:
            note = f"{n} neurons"
        if scale[l] > 1.0:
            note += f"\nblack = {scale[l]:.3g}"
        ax.text(xs[l], height / 2 + 0.6, f"layer {l}: {label}\n{note}", ha="center", fontsize=9)

    ax.set_xlim(-1.5, xs[-1] + 2.5)
    ax.set_ylim(-height / 2 - 0.6, height / 2 + 3.0)
    ax.set_aspect("equal")
    ax.set_axis_off()
    truth = "" if y is None else f" (truth: {names[int(y)]})"
    ax.set_title(
        f"answer: {names[answer]} with $a^{{(L)}}$ = {a[L][answer]:.2f}{truth}\n"
        f"circles and pixels: activations ({_colour_scale(scale)}); lines: the strongest "
        "pushes $w_{jk} a_k$, blue up, red down",
        fontsize=10,
    )
    return fig


def _colour_scale(scale: list[float]) -> str:
    """What the ends of the neurons' grey scale mean: black is 1, or the layer's largest value
    where a layer goes above 1 (ReLU), stated per layer."""
    if all(x == 1.0 for x in scale):
        return "white 0, black 1"
    return "white 0, black 1 or the layer's largest value, given under its name"
