"""Pictures say what they show: colour scales name their ends, and orderings are as titled."""

from __future__ import annotations

import numpy as np

from digitnet.network import Network
from digitnet.views import mistakes, network_diagram


def texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in [ax.title, *ax.texts]] + [
        fig._suptitle.get_text() if fig._suptitle else ""
    ]


def test_a_relu_diagram_names_the_value_black_stands_for(mnist):
    net = Network([784, 32, 10], activation="relu", init="normal", seed=2)
    x = mnist.X_test[0]
    a1 = np.maximum(net.W[0].astype(np.float64) @ x + net.b[0], 0)
    assert a1.max() > 1  # the hidden layer goes above 1: black cannot mean 1 there
    words = " ".join(texts(network_diagram(net, x)))
    assert f"black = {a1.max():.3g}" in words
    assert "white 0, black 1)" not in words


def test_a_sigmoid_diagram_says_black_is_1(mnist):
    words = " ".join(texts(network_diagram(Network([784, 16, 10], seed=0), mnist.X_test[0])))
    assert "white 0, black 1)" in words and "black =" not in words


def test_mistakes_are_in_the_order_the_title_names(mnist):
    net = Network([784, 16, 10], seed=0)
    X, y = mnist.X_test[:300], mnist.y_test[:300]
    fig = mistakes(net, X, y, n=12)
    assert "largest margin" in fig._suptitle.get_text()
    a = net.feedforward(X)
    shown = [int(ax.get_title().split()[0][1:]) for ax in fig.axes if ax.get_title()]
    margins = [a[i].max() - a[i, y[i]] for i in shown]
    assert len(shown) == 12 and margins == sorted(margins, reverse=True)
