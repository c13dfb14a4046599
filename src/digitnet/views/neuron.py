"""A neuron as a function: its activation curve a = sigma(z), with this image's z and a on it.

The numbers come from :func:`digitnet.explain.neuron_function` (one forward trace of the
network; a changed bias or weight is tried on a scratch copy), so the picture and the web page
show the same values. The formula z = sum_k w_jk a_k + b_j is written out with the numbers: the
few largest products, the rest summed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from digitnet.explain import neuron_function
from digitnet.network import Network
from digitnet.views.figures import NEGATIVE, POSITIVE, class_labels, new_figure

SHOWN_TERMS = 4  # products w_jk a_k written out in the formula; the rest are summed


def _num(x: float) -> str:
    return f"{x:.3g}" if x == 0 or 1e-3 <= abs(x) < 1e4 else f"{x:.2e}"


def formula(info: dict[str, Any], shown: int = SHOWN_TERMS) -> str:
    """z = sum_k w_jk a_k + b_j written out with the numbers of ``info``
    (:func:`~digitnet.explain.neuron_function`): the ``shown`` largest products w_jk a_k, the
    rest as one sum, the bias, and z."""
    w, a_prev = np.asarray(info["w"]), np.asarray(info["a_prev"])
    products = w * a_prev
    order = np.argsort(-np.abs(products), kind="stable")
    top = sorted(order[:shown].tolist()) if len(w) > shown + 1 else list(range(len(w)))
    rest = [k for k in range(len(w)) if k not in set(top)]
    terms = [f"({_num(w[k])})({_num(a_prev[k])})" for k in top]
    if rest:
        terms.append(f"[{len(rest)} more products: {_num(float(products[rest].sum()))}]")
    l, j = info["layer"], info["j"]
    return (
        f"$z_{{{j}}}^{{({l})}} = \\sum_k w_{{{j}k}} a_k^{{({l - 1})}} + b_{{{j}}}$ = "
        + " + ".join(terms)
        + f" + ({_num(info['b'])}) = {_num(info['z'])}"
    )


def neuron(
    net: Network,
    x: np.ndarray,
    layer: int,
    j: int,
    bias: float | None = None,
    weight: tuple[int, float] | None = None,
    class_names: Sequence[str] | None = None,
) -> Figure:
    """Neuron j of layer ``layer`` (1..L) for the image x (n_0,) as a function: its activation
    curve with this image's (z, a) marked, the formula for z with the numbers, and the network's
    answer. With ``bias`` (a new b_j) or ``weight`` = (k, a new w_jk), the moved point stands
    beside the original and the answer with the change beside the answer without it (computed on
    a scratch copy; ``net`` never changes)."""
    info = neuron_function(net, x, layer, j, bias=bias, weight=weight)
    names = class_labels(class_names, net.sizes[-1])
    moved = info["moved"]
    fig = new_figure(13, 6)
    axes = fig.subplot_mosaic(
        [["curve", "answer"], ["formula", "formula"]], height_ratios=[4, 1], width_ratios=[1.2, 1]
    )
    ax = axes["curve"]
    act = info["activation"]
    (curve,) = ax.plot(info["curve"]["z"], info["curve"]["a"], color="0.25", linewidth=1.5)
    curve.set_gid("curve")
    what = f"$a = \\mathrm{{{act}}}(z)$"
    if act == "softmax":
        what = f"$a_{{{j}}}$ = softmax(z)$_{{{j}}}$ as $z_{{{j}}}$ moves alone"
    (point,) = ax.plot(
        info["z"],
        info["a"],
        "o",
        color=POSITIVE,
        markersize=9,
        label=f"this image: z = {_num(info['z'])}, a = {_num(info['a'])}",
    )
    point.set_gid("neuron point")
    if moved is not None:
        (after,) = ax.plot(
            moved["z"],
            moved["a"],
            "o",
            color=NEGATIVE,
            markersize=9,
            label=f"changed: z = {_num(moved['z'])}, a = {_num(moved['a'])}",
        )
        after.set_gid("moved point")
        ax.annotate(
            "",
            xy=(moved["z"], moved["a"]),
            xytext=(info["z"], info["a"]),
            arrowprops={"arrowstyle": "->", "color": NEGATIVE, "linewidth": 1.2},
        )
    ax.axvline(0, color="0.7", linewidth=0.6)
    ax.axhline(0, color="0.7", linewidth=0.6)
    ax.set_xlabel("z, the weighted sum plus bias", fontsize=9)
    ax.set_ylabel("a, the activation", fontsize=9)
    where = "output" if layer == net.n_layers else "hidden"
    ax.set_title(f"neuron {j} of layer {layer} ({where}): {what}", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)

    bars = axes["answer"]
    x_pos = np.arange(len(names))
    p = np.asarray(info["probabilities"])
    width = 0.4 if moved is not None else 0.8
    bars.bar(x_pos - (width / 2 if moved else 0), p, width, color=POSITIVE, label="as trained")
    title = f"the answer: {names[info['answer']]} ({100 * p[info['answer']]:.1f}%)"
    if moved is not None:
        q = np.asarray(moved["probabilities"])
        bars.bar(x_pos + width / 2, q, width, color=NEGATIVE, label="with the change")
        title += f"; changed: {names[moved['answer']]} ({100 * q[moved['answer']]:.1f}%)"
        bars.legend(fontsize=8)
    bars.set_xticks(x_pos, names, fontsize=8)
    bars.set_ylim(0, 1)
    bars.set_ylabel("probability", fontsize=9)
    bars.set_title(title, fontsize=10)

    text = axes["formula"]
    text.axis("off")
    lines = [formula(info)]
    if moved is not None:
        change = []
        if bias is not None:
            change.append(f"$b_{{{j}}}$ = {_num(info['b'])} → {_num(moved['b'])}")
        if moved["k"] is not None:
            k = moved["k"]
            change.append(f"$w_{{{j},{k}}}$ = {_num(moved['old_w_k'])} → {_num(moved['w_k'])}")
        lines.append(
            "changed (on a copy; the network itself is unchanged): "
            + ", ".join(change)
            + f": z = {_num(info['z'])} → {_num(moved['z'])}, a = {_num(info['a'])} → "
            f"{_num(moved['a'])}"
        )
    text.text(0.0, 0.9, "\n".join(lines), fontsize=9, va="top", ha="left", transform=text.transAxes)
    fig.suptitle(f"A neuron as a function: {len(info['w'])} inputs, one number out", fontsize=12)
    return fig
