"""The network diagram's one choice of neurons and connections, ``diagram_selection``: what it
picks, and that ``digitnet plot network`` draws and ``POST /api/trace`` sends exactly that."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from web_helpers import local_client, trained_network

from digitnet import views
from digitnet.errors import DigitnetError
from digitnet.network import Network
from digitnet.views.diagram import MAX_CONNECTIONS, MAX_NEURONS, diagram_selection
from digitnet.web import create_app


def _key(x: float, y: float) -> tuple[float, float]:
    return round(float(x), 6), round(float(y), 6)


def drawn(fig: Figure, L: int) -> tuple[list[list[int]], list[tuple[int, int, int]]]:
    """What a ``network_diagram`` figure draws, read off its artists: the neurons of each layer
    0..L (in increasing order) and the connections (l, k, j), each found by where its line ends."""
    (ax,) = fig.axes
    (image,) = [im for im in ax.images if im.get_gid() == "input layer"]
    rows, cols = image.get_array().shape
    left, right, bottom, top = image.get_extent()
    cell = (right - left) / cols
    assert cell == pytest.approx((top - bottom) / rows)
    at: dict[tuple[float, float], tuple[int, int]] = {}  # (x, y) -> (l, j)
    for k in range(rows * cols):
        r, c = divmod(k, cols)
        at[_key(left + (c + 0.5) * cell, top - (r + 0.5) * cell)] = (0, k)
    shown: list[list[int]] = [list(range(rows * cols))] + [[] for _ in range(L)]
    for patch in ax.patches:
        gid = patch.get_gid() or ""
        if gid.startswith("neuron "):
            l, j = map(int, gid.split()[1:])
            at[_key(*patch.center)] = (l, j)
            shown[l].append(j)
    connections = []
    for lines in ax.collections:
        gid = lines.get_gid() or ""
        assert gid.startswith("connections ")
        l = int(gid.split()[1])
        for start, end in lines.get_segments():
            (l0, k), (l1, j) = at[_key(*start)], at[_key(*end)]
            assert (l0, l1) == (l - 1, l)
            connections.append((l, k, j))
    return [sorted(s) for s in shown], connections


def fresh_tanh() -> Network:
    """Two hidden layers wider than the diagram shows, with activations of both signs."""
    config = {
        "sizes": [784, 100, 40, 10],
        "activation": "tanh",
        "output": "sigmoid",
        "cost": "quadratic",
        "init": "lecun",
        "dtype": "float32",
    }
    return Network.from_config(config, seed=3)


@pytest.mark.parametrize("which", ["trained relu-softmax", "fresh tanh"])
def test_the_plot_and_the_web_page_show_the_same_neurons_and_connections(mnist, which) -> None:
    net = trained_network(mnist) if which == "trained relu-softmax" else fresh_tanh()
    L = net.n_layers
    with local_client(create_app(net)) as client:
        for x in mnist.X_test[:3]:
            answer = client.post("/api/trace", json={"pixels": x.tolist()})
            assert answer.status_code == 200, answer.text
            web = answer.json()
            web_shown = [layer["shown"] for layer in web["layers"]]
            web_connections = [(c["layer"], c["from"], c["to"]) for c in web["connections"]]

            plot_shown, plot_connections = drawn(views.network_diagram(net, x), L)

            assert plot_shown == web_shown
            assert sorted(plot_connections) == sorted(web_connections)
            assert len(set(web_connections)) == len(web_connections)
            # and both are the one selection, in its order
            selection = diagram_selection(net, net.trace(x))
            assert web_shown == selection.shown
            assert web_connections == [(c.layer, c.k, c.j) for c in selection.connections]
            assert [layer["scale"] for layer in web["layers"]] == pytest.approx(
                selection.scale, abs=1e-4
            )
            hidden = [len(s) for s in web_shown[1:L]]
            assert hidden == [min(n, MAX_NEURONS) for n in net.sizes[1:L]]


def test_the_selection_shows_every_input_and_output_and_the_most_active_hidden_neurons(mnist):
    net = fresh_tanh()
    x = mnist.X_test[0]
    trace = net.trace(x)
    sel = diagram_selection(net, trace)
    assert sel.shown[0] == list(range(784)) and sel.shown[3] == list(range(10))
    for l in (1, 2):
        a = np.abs(trace.a[l][0].astype(np.float64))
        chosen = np.asarray(sel.shown[l])
        assert len(chosen) == MAX_NEURONS and list(chosen) == sorted(set(chosen))
        left_out = np.setdiff1d(np.arange(net.sizes[l]), chosen)
        assert a[chosen].min() >= a[left_out].max()  # the largest |a_j|, of either sign
    assert sel.scale == [1.0, 1.0, 1.0, 1.0]  # tanh and sigmoid stay within 1

    for l in (1, 2, 3):
        into = [c for c in sel.connections if c.layer == l]
        assert len(into) == MAX_CONNECTIONS
        W = net.W[l - 1].astype(np.float64)
        a_prev = trace.a[l - 1][0].astype(np.float64)
        for c in into:
            assert c.k in sel.shown[l - 1] and c.j in sel.shown[l]
            assert c.w == W[c.j, c.k] and c.push == pytest.approx(W[c.j, c.k] * a_prev[c.k])
            assert a_prev[c.k] != 0  # a blank pixel pushes nothing and is never drawn
        strength = [abs(c.push) for c in into]
        assert strength == sorted(strength, reverse=True)
        # no connection left out between shown neurons pushes harder than the weakest drawn
        rows, cols = np.asarray(sel.shown[l]), np.asarray(sel.shown[l - 1])
        push = np.abs(W[np.ix_(rows, cols)] * a_prev[cols])
        assert np.sort(push.ravel())[-MAX_CONNECTIONS] == pytest.approx(strength[-1])


def test_the_selection_scales_relu_layers_and_keeps_its_limits(mnist):
    net = trained_network(mnist)
    trace = net.trace(mnist.X_test[0])
    sel = diagram_selection(net, trace, max_neurons=5, max_connections=7)
    a1 = trace.a[1][0]
    assert sel.scale[1] == max(1.0, float(a1.max()))
    assert len(sel.shown[1]) == 5 and sel.shown[2] == list(range(10))
    assert [sum(c.layer == l for c in sel.connections) for l in (1, 2)] == [7, 7]
    with pytest.raises(DigitnetError, match="one image"):
        diagram_selection(net, net.trace(mnist.X_test[:2]))
    with pytest.raises(DigitnetError, match="max_neurons"):
        diagram_selection(net, trace, max_neurons=0)
