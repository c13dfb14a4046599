"""``explain``'s chain rule equals backprop's entry to 1e-9 and the finite difference to 1e-6;
``gradcheck`` passes on a trained model and fails on a deliberately broken backprop."""

from __future__ import annotations

import json

import numpy as np
import pytest

from digitnet.cli import main
from digitnet.errors import DigitnetError
from digitnet.explain import Explanation, as_float64, explain, gradcheck
from digitnet.model_io import save_model
from digitnet.network import Gradients, Network
from digitnet.train import TrainConfig, train


@pytest.fixture(scope="module")
def trained(mnist):
    """The lessons' network after 2 epochs on 3,000 MNIST images (float32, as trained)."""
    net = Network([784, 16, 16, 10], seed=2)
    history = train(
        net,
        mnist.X_train[:3000],
        mnist.y_train[:3000],
        TrainConfig(epochs=2),
        X_test=mnist.X_test[:500],
        y_test=mnist.y_test[:500],
    )
    return net, history, mnist


@pytest.fixture(scope="module")
def model_file(trained, tmp_path_factory):
    net, history, data = trained
    path = tmp_path_factory.mktemp("explain") / "m.npz"
    dataset = {"name": data.name, "checksum": data.checksum, "source": data.source}
    save_model(path, net, history=history.to_dict(), dataset=dataset)
    return path


def hard_image(net: Network, data) -> int:
    """A test image the network gets wrong: its gradients are large, so every check bites."""
    wrong = np.flatnonzero(net.predict(data.X_test[:200]) != data.y_test[:200])
    return int(wrong[0])


def weights_to_check(grad: np.ndarray, rng: np.random.Generator) -> list[tuple[int, int]]:
    """The largest entry of a gradient and two random ones among the non-negligible entries."""
    big = np.argwhere(np.abs(grad) > 1e-3 * np.abs(grad).max())
    chosen = [np.unravel_index(np.argmax(np.abs(grad)), grad.shape)]
    chosen += [tuple(big[i]) for i in rng.choice(len(big), size=2, replace=False)]
    return [(int(j), int(k)) for j, k in chosen]


@pytest.mark.parametrize("layer", [1, 2, 3])
def test_the_chain_rule_product_is_backprops_entry_and_the_finite_difference(trained, layer):
    net, _, data = trained
    i = hard_image(net, data)
    x, y = data.X_test[i], int(data.y_test[i])
    net64 = as_float64(net)
    assert net64.dtype == np.float64 and net64 is not net
    grads = net64.gradient(x[None, :], np.array([y]))
    for j, k in weights_to_check(grads.W[layer - 1], np.random.default_rng(layer)):
        e = explain(net, x, y, layer, j, k, image=i)  # converts to float64 itself
        g = grads.W[layer - 1][j, k]
        assert e.product == pytest.approx(g, rel=1e-9, abs=1e-300)
        assert e.backprop_w == pytest.approx(g, rel=1e-12)
        assert e.finite_w == pytest.approx(e.product, rel=1e-6)
        assert e.bias_product == pytest.approx(grads.b[layer - 1][j], rel=1e-9)
        assert e.finite_b == pytest.approx(e.bias_product, rel=1e-6)
        # the factors are the trace's own numbers
        trace = net64.trace(x)
        assert e.dz_dw == trace.a[layer - 1][0, k]
        a_j = trace.a[layer][0, j]
        assert e.da_dz == pytest.approx(a_j * (1 - a_j), rel=1e-12)
        assert e.product == pytest.approx(e.dz_dw * e.da_dz * e.dC_da, rel=1e-12)


def test_output_layer_uses_the_costs_derivative(trained):
    net, _, data = trained
    x, y = data.X_test[0], int(data.y_test[0])
    e = explain(net, x, y, layer=3, j=y, k=4)
    assert e.is_output and e.y_j == 1.0 and not e.terms
    assert e.dC_da == pytest.approx(2 * (e.a_j - 1.0), rel=1e-12)  # 2(a_j - y_j)
    assert e.dC_da_formula.startswith("2(a_j - y_j) = 2(")
    other = explain(net, x, y, layer=3, j=(y + 1) % 10, k=4)
    assert other.y_j == 0.0 and other.dC_da == pytest.approx(2 * other.a_j, rel=1e-12)


def test_hidden_layer_sums_over_the_next_layers_neurons(trained):
    net, _, data = trained
    x, y = data.X_test[1], int(data.y_test[1])
    e = explain(net, x, y, layer=2, j=3, k=5)
    assert not e.is_output and e.y_j is None and len(e.terms) == 10
    assert e.dC_da == pytest.approx(sum(t.product for t in e.terms), rel=1e-12, abs=1e-18)
    for t in e.terms:
        assert t.w == float(net.W[2][t.i, 3])
        assert t.product == pytest.approx(t.w * t.sigma_prime * t.dC_da, rel=1e-12, abs=1e-300)
    deep = explain(net, x, y, layer=1, j=2, k=400)
    assert len(deep.terms) == 16


CASES = [
    ("sigmoid", "sigmoid", "quadratic"),
    ("relu", "softmax", "cross-entropy"),
    ("tanh", "sigmoid", "cross-entropy"),
    ("leaky-relu", "softmax", "quadratic"),
]


@pytest.mark.parametrize(("hidden", "output", "cost"), CASES)
def test_explain_holds_for_every_activation_and_cost(hidden, output, cost):
    net = Network(
        [12, 7, 5, 4], activation=hidden, output=output, cost=cost, seed=4, dtype="float64"
    )
    rng = np.random.default_rng(5)
    x, y = rng.random(12), 2
    grads = net.gradient(x[None, :], np.array([y]))
    for layer in (1, 2, 3):
        n_out, n_in = net.W[layer - 1].shape
        for j, k in ((0, 0), (n_out - 1, n_in - 1), (1, 2)):
            e = explain(net, x, y, layer, j, k)
            g = grads.W[layer - 1][j, k]
            assert e.product == pytest.approx(g, rel=1e-9, abs=1e-15)
            assert abs(e.finite_w - e.product) <= 1e-6 * max(abs(e.product), 1e-4)
            assert (e.da_dz is None) == (layer == 3 and output == "softmax")


def test_explanation_reads_as_text_and_as_json(trained):
    net, _, data = trained
    e = explain(net, data.X_test[0], int(data.y_test[0]), layer=2, j=1, k=2, image=0)
    assert isinstance(e, Explanation)
    text = str(e)
    for piece in (
        "dC/dw_jk^(2) = dz_j/dw_jk * da_j/dz_j * dC/da_j",
        "a_k^(1)",
        "sigmoid'(z_j)",
        "product",
        "backprop",
        "finite difference",
        "the bias",
        "term by term",
        "image #0",
    ):
        assert piece in text, piece
    d = json.loads(json.dumps(e.to_dict()))
    assert d["product"] == e.product and d["layer"] == 2 and len(d["terms"]) == 10
    assert d["difference_backprop"] < 1e-9


def test_explain_says_what_is_wrong(trained):
    net, _, data = trained
    x = data.X_test[0]
    with pytest.raises(DigitnetError, match="between 1 and 3"):
        explain(net, x, 1, layer=0, j=0, k=0)
    with pytest.raises(DigitnetError, match="j in 0..15"):
        explain(net, x, 1, layer=1, j=16, k=0)
    with pytest.raises(DigitnetError, match="k in 0..783"):
        explain(net, x, 1, layer=1, j=0, k=784)


# -- gradcheck -----------------------------------------------------------------------------------
def test_gradcheck_passes_on_a_trained_model(trained):
    net, _, data = trained
    result = gradcheck(net, data.X_test[:10], data.y_test[:10])
    assert result.passed and len(result.layers) == 3
    assert [c.layer for c in result.layers] == [1, 2, 3]
    first = result.layers[0]
    assert first.weights == 784 * 16 and first.weights_checked == 200 and first.biases_checked == 16
    assert result.layers[2].weights_checked == 160  # small layers are checked whole
    assert result.max_error < 1e-6
    assert "passed" in result.to_text() and result.to_dict()["passed"] is True


def scale_first_layer(original):
    """A backprop 0.1% wrong in the first layer's weights only: the subtle kind of bug."""

    def broken(self, trace, y):
        g = original(self, trace, y)
        return Gradients([g.W[0] * 1.001, *g.W[1:]], g.b)

    return broken


def forget_sigma_prime(original):
    """A backprop whose output error forgets sigma'(z): delta = dC/da (the classic slip)."""

    def broken(self, trace, y):
        g = original(self, trace, y)
        L = self.n_layers
        wrong = self.cost.grad_a(trace.a[L], y)
        W = list(g.W)
        b = list(g.b)
        W[L - 1], b[L - 1] = wrong.T @ trace.a[L - 1], wrong.sum(axis=0)
        return Gradients(W, b)

    return broken


@pytest.mark.parametrize("breakage", [scale_first_layer, forget_sigma_prime])
def test_gradcheck_fails_on_a_broken_backprop(trained, monkeypatch, breakage):
    net, _, data = trained
    monkeypatch.setattr(Network, "backprop", breakage(Network.backprop))
    result = gradcheck(net, data.X_test[:10], data.y_test[:10])
    assert not result.passed
    bad = [c.layer for c in result.layers if c.max_error > result.tolerance]
    assert bad == ([1] if breakage is scale_first_layer else [3])
    assert "FAILED" in result.to_text() and "above tolerance" in result.to_text()


# -- the command line ----------------------------------------------------------------------------
def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_explain_command_prints_the_chain_and_json(model_file, trained, shared_data, capsys):
    net, _, data = trained
    argv = ["explain", model_file, "--image", 3, "--layer", 3, "--weight", "2,5"]
    argv += ["--data-dir", shared_data]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert "w_jk^(3) with j=2, k=5" in out and "image #3" in out
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    d = json.loads(out)
    expected = as_float64(net).gradient(data.X_test[3:4], data.y_test[3:4]).W[2][2, 5]
    assert d["product"] == pytest.approx(expected, rel=1e-9)
    assert d["finite_w"] == pytest.approx(expected, rel=1e-6)
    assert d["label"] == int(data.y_test[3])


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--image", "0", "--layer", "4", "--weight", "0,0"], ["between 1 and 3"]),
        (["--image", "0", "--layer", "1", "--weight", "0"], ["j,k"]),
        (["--image", "0", "--layer", "1", "--weight", "16,0"], ["j in 0..15"]),
        (["--image", "20000", "--layer", "1", "--weight", "1,1"], ["--image 20000"]),
        (["--layer", "1", "--weight", "1,1"], ["--image"]),
    ],
)
def test_explain_errors_are_one_line(model_file, shared_data, capsys, options, words):
    code, _, err = run(capsys, "explain", model_file, "--data-dir", shared_data, *options)
    assert code != 0 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert all(w in err for w in words), err


def test_gradcheck_command_passes_on_a_model_and_on_a_fresh_network(
    model_file, shared_data, capsys
):
    code, out, err = run(capsys, "gradcheck", model_file, "--data-dir", shared_data)
    assert code == 0, err
    assert "passed" in out and out.count("\n") >= 5
    code, out, err = run(
        capsys,
        "gradcheck",
        "--layers",
        "20,8,6,4",
        "--activation",
        "tanh",
        "--output",
        "softmax",
        "--cost",
        "cross-entropy",
        "--json",
    )
    assert code == 0, err
    d = json.loads(out)
    assert d["passed"] and [c["layer"] for c in d["layers"]] == [1, 2, 3]
    assert d["layers"][0]["weights_checked"] == 160
    # the fresh network is built from its config in float64; cross-entropy alone picks softmax
    code, out, err = run(
        capsys, "gradcheck", "--layers", "20,6,4", "--cost", "cross-entropy", "--json"
    )
    assert code == 0, err
    checked = json.loads(out)["checked"]
    assert "output='softmax'" in checked and "dtype='float64'" in checked


def test_gradcheck_command_exits_non_zero_on_a_broken_backprop(
    model_file, shared_data, monkeypatch, capsys
):
    monkeypatch.setattr(Network, "backprop", forget_sigma_prime(Network.backprop))
    code, out, err = run(capsys, "gradcheck", model_file, "--data-dir", shared_data)
    assert code == 1
    assert "FAILED" in out
    assert err.strip().startswith("digitnet: error: backprop disagrees with finite differences")
    code, _, _ = run(capsys, "gradcheck")  # the fresh network is broken the same way
    assert code == 1
    code, _, err = run(capsys, "gradcheck", "--tolerance", "0")
    assert code == 1 and "--tolerance must be positive" in err


@pytest.fixture(scope="module")
def relu_net(mnist):
    """A ReLU network with softmax and cross-entropy (the modern preset's kind), trained 2 epochs
    on 5,000 images: on 100 test images some z sit within a finite-difference step of 0."""
    net = Network([784, 64, 32, 10], activation="relu", cost="cross-entropy", init="he", seed=1)
    config = TrainConfig(epochs=2, batch_size=32, lr=0.05, optimizer="momentum")
    train(net, mnist.X_train[:5000], mnist.y_train[:5000], config)
    return net


def test_gradcheck_skips_the_points_where_a_step_crosses_a_relu_kink(relu_net, mnist, monkeypatch):
    """A hidden neuron whose z for one image is put 1e-5 from ReLU's kink (within a step of the
    finite difference): comparing its bias there fails a correct backprop, because the
    difference straddles the kink. gradcheck skips such points, and the rest agree."""
    X, y = mnist.X_test[:20], mnist.y_test[:20]
    net = as_float64(relu_net)
    z = net.trace(X).z[1]
    j = int(np.argmax(np.abs(z[0])))  # a neuron that matters for image 0
    net.b[0][j] -= z[0, j] - 1e-5  # z_j of image 0 is now 1e-5
    result = gradcheck(net, X, y, max_per_layer=50)
    assert result.passed, result.to_text()
    assert result.layers[0].skipped >= 1 and "skipped" in result.to_text()
    assert result.to_dict()["layers"][0]["skipped"] == result.layers[0].skipped
    monkeypatch.setattr("digitnet.explain.KINKED", ())  # the same check without the skipping
    assert not gradcheck(net, X, y, max_per_layer=50).passed


def test_gradcheck_still_fails_a_broken_backprop_of_a_relu_network(relu_net, mnist, monkeypatch):
    monkeypatch.setattr(Network, "backprop", scale_first_layer(Network.backprop))
    result = gradcheck(relu_net, mnist.X_test[:100], mnist.y_test[:100], max_per_layer=100)
    assert not result.passed
    assert [c.layer for c in result.layers if c.max_error > result.tolerance] == [1]
