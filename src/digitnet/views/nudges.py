"""One step of backpropagation, told as the backprop lesson tells it, with the real numbers.

For one image, then averaged over a mini-batch, from one forward trace and its backprop:

1. the change each output neuron wants, ``-dC/da_j^(L)`` (up for the right digit, down for the
   others);
2. the three ways to get it: change the bias b_j^(L) (``-dC/db_j = -delta_j``), change the weights
   w_jk^(L) in proportion to the activations a_k^(L-1) (``-dC/dw_jk = -delta_j a_k``), or change
   the activations a_k^(L-1) in proportion to the weights (``-delta_j w_jk``, what output neuron j
   wishes of neuron k);
3. the desired changes one layer back, summed over the output neurons,
   ``-dC/da_k^(L-1) = -sum_j delta_j w_jk``, the start of the same story one layer earlier;
4. the weight gradients ``-dC/dW^(l)`` of every layer, as heat-maps (as 28x28 images for the
   first layer of an MNIST network).

Before the averaging, :func:`example_wishes` keeps step 1 apart for each example of the batch:
row i is what example i alone wants of the outputs, -dC_i/da^(L) (its single-image wishes), and
the batch's wishes are the mean of the rows. The view draws them as a heat map, one row per
example and the average as the last row.

Here ``delta = dC/dz^(L)`` (n, n_L) is ``net.cost.delta``: for an elementwise output activation
it is sigma'(z_j) dC/da_j. Averaged over the batch, every quantity is the mean of the
per-image ones, which is what a mini-batch gradient descent step follows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from digitnet.network import Network, Trace
from digitnet.views.figures import (
    DIVERGING,
    INK,
    NEGATIVE,
    POSITIVE,
    check_examples,
    class_labels,
    image_shape,
    new_figure,
    show_image,
    symmetric_norm,
    tile,
)


@dataclass
class Nudges:
    """The desired changes (negative gradients) of one backprop step, averaged over the batch.

    ``wanted_a``: -dC/da^(L) (n_L,); ``via_bias``: -dC/db^(L) = -delta (n_L,);
    ``via_weights``: -dC/dW^(L) (n_L, n_{L-1}); ``via_activations``: -delta_j w_jk, output
    neuron j's wish for activation k (n_L, n_{L-1}); ``wanted_prev``: -dC/da^(L-1), its sum over
    j (n_{L-1},); ``minus_grad_W``: -dC/dW^(l) for l = 1..L (list index l-1); ``a_L``: the mean
    output activations (n_L,); ``n``: the number of images; ``minus_grad_b``: -dC/db^(l) for
    l = 1..L (list index l-1), which for one image is -delta^(l).
    """

    wanted_a: np.ndarray
    via_bias: np.ndarray
    via_weights: np.ndarray
    via_activations: np.ndarray
    wanted_prev: np.ndarray
    minus_grad_W: list[np.ndarray]
    a_L: np.ndarray
    n: int
    minus_grad_b: list[np.ndarray] = field(default_factory=list)


@dataclass
class Wishes:
    """Step 1 for each example before the averaging: ``rows`` (m, n_L), row i = -dC_i/da^(L),
    what example i alone wants of each output activation; ``average`` (n_L,), their mean, the
    mini-batch's -dC/da^(L); ``labels`` (m,), each example's label."""

    rows: np.ndarray
    average: np.ndarray
    labels: np.ndarray


def example_wishes(net: Network, trace: Trace, y: np.ndarray) -> Wishes:
    """Each example's wishes for the outputs, from the batch's ``trace`` (``net.trace(X)``) and
    labels y (m,): row i is the cost's -dC/da^(L) for example i as a batch of one, the
    single-image wishes of :func:`backprop_nudges` (for m = 1, exactly them); ``average`` is the
    mean of the rows.
    """
    y = np.asarray(y)
    a_L = trace.a[net.n_layers]  # (m, n_L)
    rows = np.stack(
        [
            -np.asarray(net.cost.grad_a(a_L[i : i + 1], y[i : i + 1]), dtype=np.float64)[0]
            for i in range(len(y))
        ]
    )
    return Wishes(rows=rows, average=rows.mean(axis=0), labels=y.copy())


def backprop_nudges(net: Network, trace: Trace, y: np.ndarray) -> Nudges:
    """The lesson's quantities for the batch in ``trace`` (from ``net.trace(X)``), labels y (n,).

    The cost's ``grad_a`` and ``delta`` already hold the 1/n of the average, so summing their
    rows gives the mean over the batch.
    """
    y = np.asarray(y)
    L = net.n_layers
    grads = net.backprop(trace, y)  # dC/dW, dC/db for every layer
    z_L, a_L = trace.z_of(L), trace.a[L]
    delta = np.asarray(net.cost.delta(z_L, a_L, y), dtype=np.float64).sum(axis=0)  # (n_L,)
    W_L = np.asarray(net.W[L - 1], dtype=np.float64)  # (n_L, n_{L-1})
    via_activations = -delta[:, None] * W_L
    return Nudges(
        wanted_a=-np.asarray(net.cost.grad_a(a_L, y), dtype=np.float64).sum(axis=0),
        via_bias=-np.asarray(grads.b[L - 1], dtype=np.float64),
        via_weights=-np.asarray(grads.W[L - 1], dtype=np.float64),
        via_activations=via_activations,
        wanted_prev=via_activations.sum(axis=0),
        minus_grad_W=[-np.asarray(g, dtype=np.float64) for g in grads.W],
        a_L=np.asarray(a_L, dtype=np.float64).mean(axis=0),
        n=len(y),
        minus_grad_b=[-np.asarray(g, dtype=np.float64) for g in grads.b],
    )


def _bars(
    ax: Axes, values: np.ndarray, labels: list[str] | None, bold: int | None, title: str
) -> None:
    ax.bar(range(len(values)), values, color=[POSITIVE if v >= 0 else NEGATIVE for v in values])
    ax.set_xlim(-0.6, len(values) - 0.4)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.axhline(0, color="0.3", linewidth=0.6)
    if labels is not None:
        ax.set_xticks(range(len(values)), labels, fontsize=8)
        if bold is not None:
            ax.get_xticklabels()[bold].set_fontweight("bold")
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)


def _heat(
    fig: Figure,
    ax: Axes,
    M: np.ndarray,
    title: str,
    xlabel: str,
    ylabel: str,
    labels: list[str] | None = None,
) -> None:
    image = ax.imshow(
        M, cmap=DIVERGING, norm=symmetric_norm(M), aspect="auto", interpolation="nearest"
    )
    if labels is not None:
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.01)


def _wishes_heat(fig: Figure, ax: Axes, wishes: Wishes, names: list[str]) -> None:
    """Each example's wishes as a row, then their average, on one colour scale centred on 0."""
    M = np.vstack([wishes.rows, wishes.average])  # (m + 1, n_L)
    m = len(wishes.rows)
    image = ax.imshow(
        M, cmap=DIVERGING, norm=symmetric_norm(M), aspect="auto", interpolation="nearest"
    )
    image.set_gid("wishes")
    ax.axhline(m - 0.5, color="black", linewidth=1.5)
    ax.set_xticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel("output neuron j", fontsize=8)
    if m <= 30:
        ticks = [f"#{i}: a {names[int(c)]}" for i, c in enumerate(wishes.labels)] + ["average"]
        ax.set_yticks(range(m + 1), ticks, fontsize=6)
    else:
        ax.set_yticks([0, m - 1, m], ["#0", f"#{m - 1}", "average"], fontsize=6)
    ax.set_title(
        r"1b. before averaging: each image's wishes $-\partial C_i/\partial a_j^{(L)}$ as a row, "
        "then their average (step 1)",
        fontsize=9,
    )
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.01)


def nudges(
    net: Network,
    x: np.ndarray,
    y: int,
    X_batch: np.ndarray,
    y_batch: np.ndarray,
    class_names: Sequence[str] | None = None,
) -> Figure:
    """The backprop lesson for the image x (n_0,) with label y, and for a mini-batch beside it.

    Left column: the one image; right column: the same quantities averaged over ``X_batch``
    (m, n_0) with labels ``y_batch`` (m,). Rows: the input, step 1, then (the batch only) each
    image's wishes before the averaging (:func:`example_wishes`), steps 2-3 of the module
    docstring, then -dC/dW^(l) for the layers below the output (l = L-1 .. 1).
    """
    x = check_examples(net, x, np.array([y]))
    X_batch = check_examples(net, X_batch, y_batch)
    L = net.n_layers
    names = class_labels(class_names, net.sizes[-1])
    one = backprop_nudges(net, net.trace(x), np.array([y]))
    batch = backprop_nudges(net, net.trace(X_batch), np.asarray(y_batch))

    wishes = example_wishes(net, net.trace(X_batch), np.asarray(y_batch))

    n_rows = 7 + (L - 1)
    fig = new_figure(15, 2.3 * n_rows + 0.6)
    first_is_image = image_shape(net.sizes[0]) is not None
    ratios = [1.4, 1.0, min(3.0, 0.6 + 0.12 * (len(X_batch) + 1))] + [1.0] * (n_rows - 3)
    if first_is_image and L > 1:
        ratios[-1] = 1.5  # the first layer's gradient as 28x28 tiles, two rows of eight
    all_axes = fig.subplots(n_rows, 2, height_ratios=ratios)
    _wishes_heat(fig, all_axes[2, 1], wishes, names)
    note = all_axes[2, 0]  # one image has one row of wishes: step 1 above
    note.axis("off")
    note.text(
        0.5,
        0.5,
        "One image has one row of wishes: step 1 above.\n"
        f"In a mini-batch each of the {len(X_batch)} images has its own (right);\n"
        "the step follows their average, the last row.",
        ha="center",
        va="center",
        fontsize=9,
        transform=note.transAxes,
    )
    axes = np.delete(all_axes, 2, axis=0)  # the rows both columns share
    prev = f"$a^{{({L - 1})}}$"
    delta_is = r" ($\delta_j = \partial C/\partial z_j$"
    if net.output_sigma.elementwise:
        delta_is += r" $= \sigma'(z_j)\,\partial C/\partial a_j$"
    delta_is += ")"
    for col, (nd, label) in enumerate(((one, y), (batch, None))):
        ax = axes[0, col]
        if label is not None:
            show_image(ax, x[0], f"one image: a {names[y]}")
        else:
            shape = image_shape(net.sizes[0])
            m = len(X_batch)
            if shape is not None:
                mosaic = tile(np.asarray(X_batch, dtype=np.float64).reshape(m, *shape), cols=10)
                ax.imshow(mosaic, cmap=INK, vmin=0, vmax=1, interpolation="nearest")
            else:
                ax.imshow(X_batch, cmap=INK, vmin=0, vmax=1, aspect="auto")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"a mini-batch of {m} images (averages below)", fontsize=9)
        bold = label
        _bars(
            axes[1, col],
            nd.wanted_a,
            names,
            bold,
            r"1. the change each output neuron wants: $-\partial C/\partial a_j^{(L)}$"
            + ("" if label is None else f" (the {names[y]} should go up)"),
        )
        _bars(
            axes[2, col],
            nd.via_bias,
            names,
            bold,
            r"2a. via the bias: $-\partial C/\partial b_j^{(L)} = -\delta_j$" + delta_is,
        )
        _heat(
            fig,
            axes[3, col],
            nd.via_weights,
            r"2b. via the weights, in proportion to the activations: "
            r"$-\partial C/\partial w_{jk}^{(L)} = -\delta_j\,a_k^{(L-1)}$",
            f"neuron k of layer {L - 1}",
            "output j",
            names,
        )
        _heat(
            fig,
            axes[4, col],
            nd.via_activations,
            r"2c. via the activations, in proportion to the weights: $-\delta_j\,w_{jk}^{(L)}$",
            f"neuron k of layer {L - 1}",
            "output j",
            names,
        )
        _bars(
            axes[5, col],
            nd.wanted_prev,
            None,
            None,
            rf"3. desired change one layer back, summed over j: "
            rf"$-\partial C/\partial a_k^{{({L - 1})}} = -\sum_j \delta_j w_{{jk}}$",
        )
        axes[5, col].set_xlabel(f"neuron k of layer {L - 1} ({prev})", fontsize=8)
        for r, l in enumerate(range(L - 1, 0, -1), start=6):
            G = nd.minus_grad_W[l - 1]  # (n_l, n_{l-1})
            title = rf"4. weight gradient of layer {l}: $-\partial C/\partial W^{{({l})}}$"
            shape = image_shape(G.shape[1]) if l == 1 else None
            if shape is not None:
                mosaic = tile(G.reshape(len(G), *shape), cols=min(len(G), 8))
                image = axes[r, col].imshow(
                    mosaic, cmap=DIVERGING, norm=symmetric_norm(G), interpolation="nearest"
                )
                axes[r, col].set_xticks([])
                axes[r, col].set_yticks([])
                axes[r, col].set_title(title + ", one 28x28 tile per neuron j", fontsize=9)
                fig.colorbar(image, ax=axes[r, col], fraction=0.04, pad=0.01)
            else:
                _heat(
                    fig,
                    axes[r, col],
                    G,
                    title,
                    f"neuron k of layer {l - 1}",
                    f"neuron j of layer {l}",
                )
    fig.suptitle(
        "One backprop step: what the cost wants (blue: increase, red: decrease)", fontsize=12
    )
    return fig
