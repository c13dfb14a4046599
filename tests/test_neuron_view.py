"""A neuron as a function: its z, a and curve against a forward pass written out here, a changed
bias or weight tried on a scratch copy (the network itself never changes), user values refused in
one line, and the picture and ``digitnet plot neuron`` drawing those numbers."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image
from scipy.special import softmax

from digitnet import views
from digitnet.cli import main
from digitnet.errors import DigitnetError
from digitnet.explain import MAX_PARAMETER, neuron_function
from digitnet.model_io import save_model
from digitnet.network import Network


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def forward(Ws, bs, x, hidden, output):
    """Every layer's z and a for one image, in float64, written out independently."""
    a, zs, activations = np.asarray(x, dtype=np.float64), [None], [np.asarray(x, np.float64)]
    for l, (W, b) in enumerate(zip(Ws, bs, strict=True), start=1):
        z = np.asarray(W, np.float64) @ a + np.asarray(b, np.float64)
        f = output if l == len(Ws) else hidden
        a = f(z)
        zs.append(z)
        activations.append(a)
    return zs, activations


@pytest.fixture(scope="module")
def image(mnist):
    return mnist.X_test[0], int(mnist.y_test[0])


@pytest.mark.parametrize(
    ("activation", "output", "cost", "hidden_f", "output_f"),
    [
        ("sigmoid", "sigmoid", "quadratic", sigmoid, sigmoid),
        ("relu", "softmax", "cross-entropy", lambda z: np.maximum(z, 0), softmax),
        ("tanh", "tanh", "quadratic", np.tanh, np.tanh),
    ],
)
def test_z_a_and_the_curve_are_the_neurons_own(image, activation, output, cost, hidden_f, output_f):
    x, _ = image
    net = Network([784, 12, 10], activation=activation, output=output, cost=cost, seed=2)
    zs, acts = forward(net.W, net.b, x, hidden_f, output_f)
    for layer, j in ((1, 5), (2, 3)):
        info = neuron_function(net, x, layer, j)
        assert info["activation"] == (activation if layer == 1 else output)
        assert info["z"] == pytest.approx(zs[layer][j], rel=1e-5, abs=1e-5)
        assert info["a"] == pytest.approx(acts[layer][j], rel=1e-5, abs=1e-6)
        np.testing.assert_allclose(info["a_prev"], acts[layer - 1], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(info["w"], net.W[layer - 1][j])
        curve_z, curve_a = np.array(info["curve"]["z"]), np.array(info["curve"]["a"])
        assert curve_z[0] <= min(-6, info["z"]) and curve_z[-1] >= max(6, info["z"])
        if layer == 1 or output != "softmax":
            f = hidden_f if layer == 1 else output_f
            np.testing.assert_allclose(curve_a, f(curve_z), rtol=1e-6, atol=1e-7)
        else:  # softmax: a_j as z_j alone moves
            expected = [softmax(np.r_[zs[2][:j], zj, zs[2][j + 1 :]])[j] for zj in curve_z]
            np.testing.assert_allclose(curve_a, expected, rtol=1e-5, atol=1e-7)
        # the neuron's point lies on its curve
        assert np.interp(info["z"], curve_z, curve_a) == pytest.approx(info["a"], abs=0.02)
    info = neuron_function(net, x, 2, 0)
    np.testing.assert_allclose(info["output"], acts[2], rtol=1e-5, atol=1e-6)
    assert info["answer"] == int(np.argmax(acts[2]))
    np.testing.assert_allclose(info["probabilities"], net.predict_proba(x)[0], rtol=1e-6)


def test_a_new_bias_and_weight_move_z_on_a_scratch_copy(image):
    x, _ = image
    net = Network([784, 16, 16, 10], seed=1)
    before = net.parameter_vector()
    layer, j, k = 2, 4, 7
    info = neuron_function(net, x, layer, j, bias=2.5, weight=(k, -3.0))
    np.testing.assert_array_equal(net.parameter_vector(), before)  # the given network is untouched
    moved = info["moved"]
    a_k = info["a_prev"][k]
    w_k = float(net.W[layer - 1][j, k])
    expected_z = info["z"] + (2.5 - info["b"]) + (-3.0 - w_k) * a_k
    assert moved["z"] == pytest.approx(expected_z, rel=1e-5, abs=1e-5)
    assert moved["a"] == pytest.approx(sigmoid(expected_z), rel=1e-5)
    assert (moved["b"], moved["k"], moved["w_k"], moved["old_w_k"]) == (2.5, k, -3.0, w_k)
    # the answer with the change: a forward pass through changed copies of the arrays
    Ws = [W.astype(np.float64) for W in net.W]
    bs = [b.astype(np.float64) for b in net.b]
    Ws[layer - 1][j, k], bs[layer - 1][j] = -3.0, 2.5
    _, acts = forward(Ws, bs, x, sigmoid, sigmoid)
    np.testing.assert_allclose(moved["output"], acts[-1], rtol=1e-5, atol=1e-6)
    assert moved["answer"] == int(np.argmax(acts[-1]))
    # the curve covers the moved z too
    assert info["curve"]["z"][-1] >= moved["z"] + 3 - 1e-9
    only_bias = neuron_function(net, x, layer, j, bias=info["b"] + 1.0)["moved"]
    assert only_bias["z"] == pytest.approx(info["z"] + 1.0, rel=1e-5)
    assert only_bias["k"] is None and only_bias["w_k"] is None


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"bias": float("nan")}, "the bias must be a finite number"),
        ({"bias": float("inf")}, "the bias must be a finite number"),
        ({"bias": 10 * MAX_PARAMETER}, "the bias must be a finite number"),
        ({"bias": "1"}, "the bias must be a number"),
        ({"bias": True}, "the bias must be a number"),
        ({"weight": (3, float("-inf"))}, "the weight w_2,3 must be a finite number"),
        ({"weight": (3, -1e300)}, "the weight w_2,3 must be a finite number"),
        ({"weight": (16, 1.0)}, "k \\(a neuron of layer 1\\) must be from 0 to 15"),
        ({"weight": (-1, 1.0)}, "must be from 0 to 15"),
        ({"weight": (1.5, 1.0)}, "must be a whole number"),
        ({"weight": 3}, "a pair \\(k, value\\)"),
        ({"layer": 0}, "layer must be between 1 and 3"),
        ({"layer": 4}, "layer must be between 1 and 3"),
        ({"j": 16}, "neuron j of layer 2 must be from 0 to 15"),
        ({"j": -1}, "neuron j of layer 2 must be from 0 to 15"),
        ({"x": np.full(784, np.nan)}, "not a finite number"),
        ({"x": np.zeros(100)}, "784"),
        ({"x": np.zeros((2, 784))}, "one image"),
    ],
)
def test_bad_values_are_refused_in_one_line_and_change_nothing(image, kwargs, words):
    net = Network([784, 16, 16, 10], seed=1)
    before = net.parameter_vector()
    args = {"x": image[0], "layer": 2, "j": 2} | kwargs
    with pytest.raises(DigitnetError, match=words) as err:
        neuron_function(net, **args)
    assert "\n" not in str(err.value)
    np.testing.assert_array_equal(net.parameter_vector(), before)


def test_the_view_draws_the_curve_the_points_and_the_formula(image):
    x, y = image
    net = Network([784, 16, 16, 10], seed=1)
    before = net.parameter_vector()
    fig = views.neuron(net, x, 2, 4, bias=2.5, weight=(7, -3.0))
    np.testing.assert_array_equal(net.parameter_vector(), before)
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    with Image.open(io.BytesIO(buffer.getvalue())) as picture:
        assert picture.format == "PNG" and min(picture.size) > 100
    info = neuron_function(net, x, 2, 4, bias=2.5, weight=(7, -3.0))
    curve_ax, answer_ax, text_ax = fig.axes
    lines = {line.get_gid(): line for line in curve_ax.lines if line.get_gid()}
    np.testing.assert_array_equal(lines["curve"].get_xdata(), info["curve"]["z"])
    np.testing.assert_array_equal(lines["curve"].get_ydata(), info["curve"]["a"])
    assert (lines["neuron point"].get_xdata()[0], lines["neuron point"].get_ydata()[0]) == (
        info["z"],
        info["a"],
    )
    assert lines["moved point"].get_xdata()[0] == info["moved"]["z"]
    assert "sigmoid" in curve_ax.get_title()
    before_bars, after_bars = answer_ax.containers
    np.testing.assert_allclose([b.get_height() for b in before_bars], info["probabilities"])
    np.testing.assert_allclose([b.get_height() for b in after_bars], info["moved"]["probabilities"])
    (text,) = text_ax.texts
    words = text.get_text()
    assert f"= {info['z']:.3g}" in words and "12 more products" in words
    assert f"{info['moved']['z']:.3g}" in words and "unchanged" in words
    # without a change: one point, one set of bars
    plain = views.neuron(net, x, 1, 0)
    assert [line.get_gid() for line in plain.axes[0].lines if line.get_gid()] == [
        "curve",
        "neuron point",
    ]
    assert len(plain.axes[1].containers) == 1
    assert "780 more products" in plain.axes[2].texts[0].get_text()


def test_plot_neuron_command(image, shared_data, tmp_path, capsys):
    net = Network([784, 16, 16, 10], seed=1)
    model = tmp_path / "m.npz"
    save_model(model, net, dataset={"name": "mnist"})
    out = tmp_path / "n.png"
    base = ["plot", "neuron", str(model), "-o", str(out), "--data-dir", str(shared_data)]
    argv = [*base, "--layer", "2", "--neuron", "3", "--image", "5", "--dpi", "30"]
    assert main([*argv, "--bias", "1.5", "--weight", "2,-0.5"]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    with Image.open(out) as picture:
        assert picture.format == "PNG"
    out.unlink()
    for extra, words in (
        (["--neuron", "16"], "neuron j of layer 2 must be from 0 to 15"),
        (["--layer", "4"], "layer must be between 1 and 3"),
        (["--weight", "99,1"], "must be from 0 to 15"),
        (["--bias", "1e9"], "the bias must be a finite number"),
        (["--bias", "nan"], "--bias"),
    ):
        code = main([*base, "--layer", "2", *extra])
        err = capsys.readouterr().err.strip()
        assert code != 0 and len(err.splitlines()) == 1 and words in err, err
        assert not out.exists()
