"""The web app's answers about a network and an image, as JSON-ready data (a neuron's as its
response model, :class:`digitnet.web.schemas.NeuronAnswer`).

Each is a pure function of a network, an image and its class names (the routes add the model's
version): no request, no server state. Every answer comes from one forward trace,
``net.trace(x)``. The output probabilities come from :meth:`Network.predict_proba`, the
diagram's choice of neurons and connections from :func:`digitnet.views.diagram.diagram_selection`
(the one ``digitnet plot network`` draws), and the backward pass from
:func:`digitnet.views.nudges.backprop_nudges` (the numbers ``digitnet plot nudges`` draws), and
a mini-batch's wishes before the averaging from :func:`digitnet.views.nudges.example_wishes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

import numpy as np

from digitnet.explain import neuron_function
from digitnet.network import Network, Trace
from digitnet.views.diagram import Connection, diagram_selection
from digitnet.views.landscape import StartSlice
from digitnet.views.nudges import backprop_nudges, example_wishes
from digitnet.web.schemas import IMAGE_SIDE, NeuronAnswer


def floats(a: np.ndarray, digits: int = 4) -> list[float]:
    return np.round(np.asarray(a, np.float64), digits).tolist()


def _sig(a: np.ndarray | float, digits: int = 6) -> Any:
    """``a`` rounded to ``digits`` significant digits (gradients can be 1e-7 and still matter),
    as a float or nested lists of floats."""
    a = np.asarray(a, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(a)))
    magnitude = np.where(np.isfinite(magnitude), magnitude, 0)
    scale = 10.0 ** (digits - 1 - magnitude)
    rounded = np.round(a * scale) / scale
    rounded = np.where(np.isfinite(rounded), rounded, a)
    return rounded.tolist()


def prediction_answer(
    net: Network, x: np.ndarray, trace: Trace, class_names: Sequence[str]
) -> dict[str, Any]:
    """The prediction part of an answer: the outputs read off the trace of one image x (784,),
    and their probabilities from :meth:`Network.predict_proba`, the one place they are
    computed."""
    out = trace.output[0]
    probs = net.predict_proba(x)[0]
    j = int(np.argmax(out))
    return {
        "prediction": j,
        "label": class_names[j],
        "confidence": round(float(probs[j]), 4),
        "probabilities": floats(probs),
        "outputs": floats(out),
        "output_activation": net.output,
        "image": floats(x, 3),
    }


def diagram_answer(net: Network, trace: Trace) -> dict[str, Any]:
    """Every layer's a (and z), and what the network diagram draws: the neurons shown and the
    strongest connections w_jk a_k (the push neuron k gives neuron j for this image), chosen by
    :func:`digitnet.views.diagram.diagram_selection` as ``digitnet plot network`` chooses them."""
    selection = diagram_selection(net, trace)
    layers = [
        {
            "layer": l,
            "size": net.sizes[l],
            "a": floats(trace.a[l][0]),
            "z": None if l == 0 else floats(trace.z_of(l)[0]),
            "shown": selection.shown[l],
            "scale": round(selection.scale[l], 4),
        }
        for l in range(net.n_layers + 1)
    ]
    return {"layers": layers, "connections": [connection(c) for c in selection.connections]}


def connection(c: Connection) -> dict[str, Any]:
    """One connection the diagram draws: from neuron k of layer l-1 to neuron j of layer l, its
    weight w_jk and its push w_jk a_k for the image."""
    return {"layer": c.layer, "from": c.k, "to": c.j, "weight": round(c.w, 4),
            "push": round(c.push, 4)}  # fmt: skip


def backprop_answer(
    net: Network, x: np.ndarray, y: int, class_names: Sequence[str]
) -> dict[str, Any]:
    """The lessons' backward pass for the image x (784,) with label y, from one forward trace
    and one backprop (:func:`digitnet.views.nudges.backprop_nudges`, the numbers ``digitnet plot
    nudges`` draws), with the connections and neurons of
    :func:`digitnet.views.diagram.diagram_selection` (the ones ``/api/trace`` gives)."""
    L = net.n_layers
    trace = net.trace(x)  # the one forward pass
    nudges = backprop_nudges(net, trace, np.array([y]))  # the one backprop
    selection = diagram_selection(net, trace)
    delta = [-g for g in nudges.minus_grad_b]  # delta^(l) = dC/db^(l) for one image, l = 1..L
    wanted = [np.empty(0)] * (L + 1)  # wanted[l] = -dC/da^(l)
    wanted[L] = nudges.wanted_a
    if L > 1:
        wanted[L - 1] = nudges.wanted_prev
    for l in range(L - 2, 0, -1):  # -dC/da^(l) = -delta^(l+1) W^(l+1)
        wanted[l] = -(delta[l] @ np.asarray(net.W[l], np.float64))
    layers = []
    for l in range(1, L + 1):
        dW = nudges.minus_grad_W[l - 1]  # the sign does not change |.| or the norm
        layers.append(
            {
                "layer": l,
                "size": net.sizes[l],
                "delta": _sig(delta[l - 1]),
                "dC_db": _sig(delta[l - 1]),
                "wanted_a": _sig(wanted[l]),
                "max_abs_dC_dW": _sig(float(np.max(np.abs(dW)))),
                "norm_dC_dW": _sig(float(np.linalg.norm(dW))),
                "shown": selection.shown[l],
            }
        )
    connections = [
        {**connection(c), "dC_dw": _sig(-nudges.minus_grad_W[c.layer - 1][c.j, c.k])}
        for c in selection.connections
    ]
    names = class_names
    out = trace.output[0]
    j = int(np.argmax(out))
    cost = float(net.cost.fn(trace.z_of(L), trace.a[L], np.array([y])))
    return {
        "label": y,
        "label_name": names[y],
        "prediction": j,
        "prediction_name": names[j],
        "cost": _sig(cost),
        "cost_name": net.cost.name,
        "sizes": net.sizes,
        "outputs": _sig(out),
        "wanted_a": _sig(nudges.wanted_a),
        "via_bias": _sig(nudges.via_bias),
        "via_weights": _sig(nudges.via_weights),
        "via_activations": _sig(nudges.via_activations),
        "wanted_prev": _sig(nudges.wanted_prev),
        "layers": layers,
        "connections": connections,
    }


# A step that moves P(label) by more than this (30 points) is no nudge: the answer says so.
LEAP = 0.30


def step_answer(
    net: Network, x: np.ndarray, y: int, eta: float, class_names: Sequence[str]
) -> dict[str, Any]:
    """One gradient descent step, W <- W - eta dC/dW and b <- b - eta dC/db for the image x and
    label y, taken on ``net.copy()``: the answer before (``net``) and after (the copy). ``net`` is
    never changed."""
    L = net.n_layers
    ys = np.array([y])
    trace = net.trace(x)
    nudges = backprop_nudges(net, trace, ys)
    scratch = net.copy()
    for l in range(L):
        scratch.W[l] += (eta * nudges.minus_grad_W[l]).astype(net.dtype)
        scratch.b[l] += (eta * nudges.minus_grad_b[l]).astype(net.dtype)
    before = net.predict_proba(x)[0]
    after = scratch.predict_proba(x)[0]
    cost_before = float(net.cost.fn(trace.z_of(L), trace.a[L], ys))
    cost_after = scratch.total_cost(net.as_input(x), ys)
    names = class_names
    change = float(after[y] - before[y])
    warning = None
    if abs(change) > LEAP:
        warning = (
            f'One step moved P("{names[y]}") by {100 * abs(change):.0f} points: at eta {eta:g} a '
            "single image's step is a leap, not the small nudge gradient descent takes; try eta "
            f"{eta / 10:g}."
        )
    return {
        "label": y,
        "label_name": names[y],
        "eta": eta,
        "label_probability_change": _sig(change),
        "warning": warning,
        "cost_before": _sig(cost_before),
        "cost_after": _sig(cost_after),
        "prediction_before": int(np.argmax(trace.output[0])),
        "prediction_after": int(np.argmax(scratch.feedforward(x)[0])),
        "probabilities_before": floats(before, 6),
        "probabilities_after": floats(after, 6),
        "label_probability_before": _sig(float(before[y])),
        "label_probability_after": _sig(float(after[y])),
    }


def neuron_answer(
    net: Network, l: int, j: int, pixels: Sequence[float] | None, class_names: Sequence[str]
) -> NeuronAnswer:
    """Neuron j of layer l (1..L): its incoming weights and bias, and with ``pixels`` (784
    numbers) its z and a for that image and the activations feeding it."""
    w = net.W[l - 1][j]  # (n_{l-1},): the weights into neuron j
    z = a = inputs = None
    if pixels is not None:
        t = net.trace(np.asarray(pixels, np.float32))
        z = round(float(t.z_of(l)[0, j]), 4)
        a = round(float(t.a[l][0, j]), 4)
        inputs = floats(t.a[l - 1][0])
    return NeuronAnswer(
        layer=l,
        index=j,
        label=class_names[j] if l == net.n_layers else None,
        activation=net.sigma_of(l).name,
        weights=floats(w),
        weights_shape=[IMAGE_SIDE, IMAGE_SIDE] if l == 1 else [1, len(w)],
        bias=round(float(net.b[l - 1][j]), 4),
        z=z,
        a=a,
        inputs=inputs,
    )


def neuron_function_answer(
    net: Network,
    x: np.ndarray,
    l: int,
    j: int,
    bias: float | None = None,
    weight: tuple[int, float] | None = None,
) -> dict[str, Any]:
    """Neuron j of layer l (1..L) as a function for the image x (784,): the numbers of
    :func:`digitnet.explain.neuron_function` as they are (the moved bias and weight tried on a
    scratch copy; ``net`` never changes), plus ``strongest_k``, the incoming connection with
    the largest |w_jk a_k| for this image: the weight the page's slider moves first."""
    info = neuron_function(net, x, l, j, bias=bias, weight=weight)
    push = np.abs(np.asarray(info["w"]) * np.asarray(info["a_prev"]))
    return {**info, "strongest_k": int(np.argmax(push))}


class WishesDict(TypedDict):
    """:func:`wishes_answer`: the fields of :class:`digitnet.web.schemas.Wishes`."""

    size: int
    class_names: list[str]
    labels: list[int]
    predictions: list[int]
    wishes: list[list[float]]
    average: list[float]
    cost_before: float


def wishes_answer(
    net: Network, trace: Trace, y: np.ndarray, class_names: Sequence[str]
) -> WishesDict:
    """A mini-batch's wishes before the averaging, from its forward trace (``net.trace(X)``)
    and labels y (m,): row i is what example i alone wants of the outputs, -dC_i/da^(L)
    (:func:`digitnet.views.nudges.example_wishes`, as ``digitnet plot nudges`` draws them), and
    ``average`` the mean of the rows, the mini-batch's -dC/da^(L); with each example's label
    and answer, and the cost C on the mini-batch."""
    y = np.asarray(y)
    L = net.n_layers
    wishes = example_wishes(net, trace, y)
    answers = np.argmax(trace.output, axis=1)
    return {
        "size": len(y),
        "class_names": list(class_names),
        "labels": [int(v) for v in y],
        "predictions": [int(v) for v in answers],
        "wishes": _sig(wishes.rows),
        "average": _sig(wishes.average),
        "cost_before": float(net.cost.fn(trace.z_of(L), trace.output, y)),
    }


def slice_answer(s: StartSlice) -> dict[str, Any]:
    """A slice through a run's start for the page to draw: its grid of costs C (rows: beta,
    columns: alpha) and what the axes are."""
    return {
        "alphas": floats(s.alphas, 6),
        "betas": floats(s.betas, 6),
        "costs": _sig(s.C),
        "examples": len(s.y),
        "alpha_is": "distance along -grad C at the start (the way plain gradient descent sets off)",
        "beta_is": "distance along a random direction orthogonal to it",
    }
