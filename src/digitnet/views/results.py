"""What the network answers: the confusion matrix, its worst mistakes, and its answer to noise.

All three read the output activations a^(L) (n, n_L) of ``net.trace`` for images X (n, n_0);
the answer for an image is its most active output neuron. Labels y are integers (n,).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from digitnet.metrics import confusion_matrix
from digitnet.network import Network
from digitnet.views.figures import (
    NEGATIVE,
    POSITIVE,
    check_examples,
    class_labels,
    grid_shape,
    new_figure,
    outputs,
    show_image,
)


def confusion(
    net: Network, X: np.ndarray, y: np.ndarray, class_names: Sequence[str] | None = None
) -> Figure:
    """The confusion matrix of ``net`` on (X, y), counts written in every non-empty cell.

    Colour is the fraction of each true class (each row sums to 1), so rare classes show too.
    """
    X = check_examples(net, X, y)
    y = np.asarray(y)
    n = net.sizes[-1]
    names = class_labels(class_names, n)
    counts = confusion_matrix(y, np.argmax(outputs(net, X), axis=1), n)
    fractions = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig = new_figure(1.6 + 0.55 * n, 1.0 + 0.5 * n)
    ax = fig.subplots()
    image = ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
    for t in range(n):
        for p in range(n):
            if counts[t, p]:
                light = fractions[t, p] > 0.5
                ax.text(
                    p,
                    t,
                    str(counts[t, p]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if light else ("black" if t == p else NEGATIVE),
                )
    ax.set_xticks(range(n), names, rotation=45 if max(map(len, names)) > 2 else 0)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("network's answer")
    ax.set_ylabel("true class")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(f"Confusion matrix: {100 * accuracy:.2f}% of {len(y):,} images right")
    fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of the true class")
    return fig


def mistakes(
    net: Network,
    X: np.ndarray,
    y: np.ndarray,
    n: int = 24,
    class_names: Sequence[str] | None = None,
    index: np.ndarray | None = None,
) -> Figure:
    """The ``n`` worst misclassified images: those where the wrong answer beats the truth most.

    "Worst" is the margin a_answer - a_truth of the output activations. Each panel shows the
    image's number (``index[i]``, default its row in X, as ``--image`` takes it), the truth, the
    answer and the answer's output activation ("confidence").
    """
    X = check_examples(net, X, y)
    y = np.asarray(y)
    index = np.arange(len(X)) if index is None else np.asarray(index)
    names = class_labels(class_names, net.sizes[-1])
    a = outputs(net, X)  # (n, n_L)
    answer = np.argmax(a, axis=1)
    rows = np.arange(len(y))
    margin = a[rows, answer] - a[rows, y]
    wrong = np.flatnonzero(answer != y)
    worst = wrong[np.argsort(-margin[wrong], kind="stable")][: max(n, 0)]
    shown = max(len(worst), 1)
    n_rows, n_cols = grid_shape(shown, max_cols=8)
    fig = new_figure(max(7.0, 1.45 * n_cols + 0.4), 1.75 * n_rows + 0.6)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for ax in axes.flat[len(worst) :]:
        ax.set_axis_off()
    for ax, i in zip(axes.flat, worst, strict=False):
        show_image(ax, X[i])
        ax.set_title(
            f"#{index[i]}  true {names[y[i]]}\nsaid {names[answer[i]]}  a={a[i, answer[i]]:.2f}",
            fontsize=8,
            color=NEGATIVE,
        )
    if len(worst) == 0:
        axes.flat[0].text(0.5, 0.5, "no mistakes", ha="center", va="center")
    fig.suptitle(
        f"The worst {len(worst)} of {len(wrong):,} mistakes on {len(y):,} images "
        "(largest margin $a_{answer} - a_{truth}$ first)"
    )
    return fig


def noise(
    net: Network, seed: int = 0, n: int = 3, class_names: Sequence[str] | None = None
) -> Figure:
    """``n`` images of uniform random pixels and the network's answers to them.

    The lessons point out that the network has no way to say "this is not a digit": it answers
    something, often confidently. Top row: the noise images; bottom row: the output activations.
    """
    rng = np.random.default_rng(seed)
    X = rng.random((max(n, 1), net.sizes[0]))
    trace = net.trace(X)  # the one forward pass
    a = np.asarray(trace.output, dtype=np.float64)
    names = class_labels(class_names, net.sizes[-1])
    fig = new_figure(max(5.0, 3.2 * len(X)), 5.6)
    axes = fig.subplots(2, len(X), squeeze=False, height_ratios=[3, 2])
    for i in range(len(X)):
        answer = int(np.argmax(a[i]))
        show_image(axes[0, i], X[i], f"noise #{i} (seed {seed})")
        colours = [POSITIVE if j == answer else "0.7" for j in range(a.shape[1])]
        axes[1, i].bar(range(a.shape[1]), a[i], color=colours)
        axes[1, i].set_xticks(range(a.shape[1]), names, fontsize=7)
        axes[1, i].set_ylim(0, max(1.0, float(a[i].max()) * 1.1))
        axes[1, i].set_xlabel("output neuron")
        axes[1, i].set_ylabel("activation $a^{(L)}$")
        axes[1, i].set_title(f"answer: {names[answer]} (a = {a[i, answer]:.2f})", fontsize=9)
    fig.suptitle("Random noise in, a confident digit out: the network cannot say 'none of these'")
    return fig
