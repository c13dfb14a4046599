"""What each neuron looks for: its incoming weights, drawn over the layer they come from.

For layer l (1..L) the weights are ``net.W[l-1]``, shape (n_l, n_{l-1}); row j holds w_jk^(l) for
every neuron k of layer l-1. When layer l-1 is an image (784 = 28x28 inputs), row j is drawn as a
28x28 picture, one panel per neuron, in a grid: blue where a bright pixel excites neuron j, red
where it inhibits it. For a deeper layer the whole matrix is one heat-map, a row per neuron.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from digitnet.network import Network
from digitnet.views.figures import (
    DIVERGING,
    check_layer,
    grid_shape,
    image_shape,
    new_figure,
    symmetric_norm,
)


def weights(net: Network, layer: int = 1, max_neurons: int = 100) -> Figure:
    """The incoming weights of layer ``layer``'s neurons (at most ``max_neurons`` of them).

    One panel per neuron titled "neuron j" when the previous layer is a square image (the first
    layer of an MNIST network), else one heat-map of W^(l) with rows j and columns k. A shared
    colour bar, centred on zero, gives the scale.
    """
    l = check_layer(net, layer)
    W = np.asarray(net.W[l - 1], dtype=np.float64)  # (n_l, n_{l-1})
    n_out, n_in = W.shape
    shown = min(n_out, max_neurons)
    norm = symmetric_norm(W[:shown])
    shape = image_shape(n_in) if l == 1 else None
    if shape is not None:
        rows, cols = grid_shape(shown, max_cols=10)
        fig = new_figure(1.3 * cols + 0.9, 1.4 * rows + 0.5)
        axes = fig.subplots(rows, cols, squeeze=False)
        image = None
        for j, ax in enumerate(axes.flat):
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= shown:
                ax.set_axis_off()
                continue
            image = ax.imshow(W[j].reshape(shape), cmap=DIVERGING, norm=norm)
            ax.set_title(f"neuron {j}", fontsize=8)
        if image is not None:
            fig.colorbar(image, ax=axes, shrink=0.6, label=r"weight $w_{jk}^{(1)}$")
        more = f" (first {shown} of {n_out})" if shown < n_out else ""
        fig.suptitle(
            f"Layer 1: each neuron's {n_in} incoming weights as a {shape[0]}x{shape[1]} image"
            f"{more}\nblue: a bright pixel there excites the neuron, red: it inhibits it"
        )
        return fig

    fig = new_figure(min(14.0, 2.0 + 0.25 * n_in), min(12.0, 1.6 + 0.25 * shown))
    ax = fig.subplots()
    image = ax.imshow(W[:shown], cmap=DIVERGING, norm=norm, aspect="auto", interpolation="nearest")
    ax.set_xlabel(f"neuron k of layer {l - 1}")
    ax.set_ylabel(f"neuron j of layer {l}")
    ax.set_title(f"Layer {l}: weights $w_{{jk}}^{{({l})}}$, one row per neuron")
    fig.colorbar(image, ax=ax, label=f"weight $w_{{jk}}^{{({l})}}$")
    return fig
