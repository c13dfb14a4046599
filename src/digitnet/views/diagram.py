"""The lessons' network diagram for one input image, from the network's own forward trace.

Layer l is a column of circles, neuron j filled by its activation a_j^(l) (white 0, black 1).
The connection from neuron k of layer l-1 to neuron j of layer l is the weight
``net.W[l-1][j, k]`` = w_jk^(l): blue when positive, red when negative, more opaque the larger
|w|; only the strongest connections are drawn. A layer with more neurons than fit (784 inputs)
shows the ones that matter most for this image, the largest sum_j |w_jk a_k|, and says how many
it hides. The most active output neuron, the network's answer, is ringed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from digitnet.network import Network
from digitnet.views._common import (
    INK,
    NEGATIVE,
    POSITIVE,
    class_labels,
    image_shape,
    new_figure,
    show_image,
)


def _shown_neurons(net: Network, a: list[np.ndarray], max_neurons: int) -> list[np.ndarray]:
    """Indices of the neurons drawn in each layer 0..L (all of them if they fit)."""
    shown = []
    for l, a_l in enumerate(a):
        n = a_l.size
        if n <= max_neurons:
            shown.append(np.arange(n))
            continue
        if l < net.n_layers:  # importance for this image: how much each neuron feeds forward
            score = np.abs(np.asarray(net.W[l], dtype=np.float64)).sum(axis=0) * np.abs(a_l)
        else:
            score = np.abs(a_l)
        top = np.argsort(-score, kind="stable")[:max_neurons]
        shown.append(np.sort(top))
    return shown


def network_diagram(
    net: Network,
    x: np.ndarray,
    y: int | None = None,
    class_names: Sequence[str] | None = None,
    max_neurons: int = 16,
    max_edges: int = 60,
) -> Figure:
    """The network thinking about one image x (n_0,): the image, then every layer's neurons.

    ``y`` (the true class, optional) goes in the title. At most ``max_neurons`` circles per layer
    and the ``max_edges`` strongest connections between each pair of layers are drawn.
    """
    trace = net.trace(x)  # the one forward pass: every z and a, for this one image
    a = [np.asarray(a_l[0], dtype=np.float64) for a_l in trace.a]  # a[l]: (n_l,)
    names = class_labels(class_names, net.sizes[-1])
    shown = _shown_neurons(net, a, max_neurons)
    L = net.n_layers
    answer = int(np.argmax(a[L]))

    fig = new_figure(12, 7)
    ax_img, ax = fig.subplots(1, 2, width_ratios=[1, 4])
    show_image(ax_img, a[0], "input image $a^{(0)}$")
    side = image_shape(a[0].size)
    if side is not None and len(shown[0]) < a[0].size:  # ring the pixels drawn as neurons
        rows, cols = np.divmod(shown[0], side[1])
        ax_img.scatter(cols, rows, s=30, facecolors="none", edgecolors="#ff7f0e", linewidths=1.2)
        ax_img.set_xlabel(f"ringed: the {len(shown[0])} pixels drawn\nas input neurons", fontsize=8)

    height = max(len(s) for s in shown)
    gap = max(3.0, 1.2 * height / L)  # between layer columns, in neuron spacings
    xs = gap * np.arange(L + 1, dtype=float)
    # y position of each drawn neuron, centred in its column, top to bottom
    pos = [(len(s) - 1) / 2 - np.arange(len(s)) for s in shown]
    radius = 0.32

    for l in range(1, L + 1):
        W = np.asarray(net.W[l - 1], dtype=np.float64)[np.ix_(shown[l], shown[l - 1])]
        order = np.argsort(-np.abs(W), axis=None, kind="stable")[:max_edges]
        j, k = np.unravel_index(order, W.shape)
        w = W[j, k]
        strength = np.abs(w) / (np.abs(w).max() or 1.0)
        colors = [
            to_rgba(POSITIVE if v > 0 else NEGATIVE, 0.1 + 0.8 * s)
            for v, s in zip(w, strength, strict=True)
        ]
        segments = [
            [(xs[l - 1], pos[l - 1][kk]), (xs[l], pos[l][jj])] for jj, kk in zip(j, k, strict=True)
        ]
        ax.add_collection(LineCollection(segments, colors=colors, linewidths=0.5 + 1.5 * strength))

    for l in range(L + 1):
        a_l = a[l][shown[l]]
        top = a[l].max() if net.sigma_of(max(l, 1)).name not in ("sigmoid", "softmax") else 1.0
        scale = 1.0 if l == 0 else max(float(top), 1e-12)
        for i, (value, yy) in enumerate(zip(a_l, pos[l], strict=True)):
            ax.add_patch(
                Circle(
                    (xs[l], yy),
                    radius,
                    facecolor=INK(float(value) / scale),
                    edgecolor="0.3",
                    linewidth=0.8,
                    zorder=3,
                )
            )
            if l == L:
                j = int(shown[l][i])
                ax.text(
                    xs[l] + 1.6 * radius,
                    yy,
                    f"{names[j]}  {value:.2f}",
                    va="center",
                    fontsize=9,
                    fontweight="bold" if j == answer else "normal",
                )
                if j == answer:
                    ax.add_patch(
                        Circle(
                            (xs[l], yy),
                            1.45 * radius,
                            fill=False,
                            edgecolor="#1a9850",
                            linewidth=2.5,
                            zorder=4,
                        )
                    )
        hidden = a[l].size - len(shown[l])
        label = "input" if l == 0 else ("output" if l == L else f"hidden {l}")
        note = f"\n({len(shown[l])} of {a[l].size} shown)" if hidden else f"\n{a[l].size} neurons"
        ax.text(xs[l], height / 2 + 0.4, f"layer {l}: {label}{note}", ha="center", fontsize=9)

    ax.set_xlim(-1.5, xs[-1] + 2.5)
    ax.set_ylim(-height / 2 - 0.2, height / 2 + 2.2)
    ax.set_aspect("equal")
    ax.set_axis_off()
    truth = "" if y is None else f" (truth: {names[int(y)]})"
    ax.set_title(
        f"answer: {names[answer]} with $a^{{(L)}}$ = {a[L][answer]:.2f}{truth}\n"
        "circles: activations (white 0, black 1); lines: strongest weights, "
        "blue positive, red negative",
        fontsize=10,
    )
    return fig
