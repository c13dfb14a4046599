"""The network's shape, its activations at extreme inputs, one SGD step by hand, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from digitnet.activations import ACTIVATIONS, get_activation
from digitnet.errors import DigitnetError
from digitnet.network import Network
from digitnet.train import TrainConfig, train


def test_the_lessons_network_has_13002_weights_and_biases():
    net = Network([784, 16, 16, 10])
    assert net.n_params == 13_002
    assert [W.shape for W in net.W] == [(16, 784), (16, 16), (10, 16)]
    assert [b.shape for b in net.b] == [(16,), (16,), (10,)]
    assert net.W[0].dtype == np.float32


def test_trace_keeps_every_layers_z_and_a():
    net = Network([784, 16, 16, 10], seed=3)
    X = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    t = net.trace(X)
    assert t.z[0] is None and t.a[0].shape == (5, 784)
    for l in (1, 2, 3):
        np.testing.assert_allclose(t.z[l], t.a[l - 1] @ net.W[l - 1].T + net.b[l - 1], rtol=1e-6)
        np.testing.assert_allclose(t.a[l], 1 / (1 + np.exp(-t.z[l])), rtol=1e-5)
    # one image as a vector is a batch of one, and gives the same answer
    np.testing.assert_allclose(net.feedforward(X[0]), t.output[:1], rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activations_are_finite_and_silent_at_extreme_inputs(name, dtype):
    z = np.array([[-1e4, -400.0, -30.0, 0.0, 30.0, 400.0, 1e4]], dtype=dtype)
    sigma = get_activation(name, output=True)
    a = sigma(z)  # warnings are errors in the tests: an overflow would fail here
    assert a.dtype == z.dtype and np.all(np.isfinite(a))
    if name == "sigmoid":
        assert a[0, 0] == 0 and a[0, -1] == 1 and a[0, 3] == 0.5
        assert np.all(np.isfinite(sigma.prime(z, a)))
    if name == "softmax":
        assert a.sum() == pytest.approx(1) and a[0, -1] == pytest.approx(1)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activations_write_into_out_what_they_would_return(name):
    sigma = get_activation(name, output=True)
    z = np.random.default_rng(0).normal(0, 3, (4, 7)).astype(np.float32)
    z[0, :3] = 0.0  # the derivative's edge case
    out = np.full_like(z, np.nan)
    assert sigma(z, out=out) is out
    np.testing.assert_array_equal(out, sigma(z))
    if sigma.elementwise:
        a = sigma(z)
        out = np.full_like(z, np.nan)
        assert sigma.prime(z, a, out=out) is out
        np.testing.assert_array_equal(out, sigma.prime(z, a))
        expected = {
            "sigmoid": a * (1 - a),
            "tanh": 1 - a * a,
            "relu": (z > 0).astype(z.dtype),
            "leaky-relu": np.where(z > 0, 1, 0.01).astype(z.dtype),
            "identity": np.ones_like(z),
        }[name]
        np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_cross_entropy_is_finite_when_the_output_saturates():
    net = Network([2, 2], activation="sigmoid", cost="cross-entropy", dtype="float64")
    net.W[0][:] = [[500.0, 0.0], [-500.0, 0.0]]
    net.b[0][:] = 0
    cost = net.total_cost(np.array([[1.0, 0.0]]), np.array([1]))  # confidently wrong
    assert cost == pytest.approx(1000.0)


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_one_sgd_step_worked_by_hand():
    """A 2-2-2 sigmoid network, one example, quadratic cost, eta = 0.5, with plain scalars.

    Each weight's gradient is the lessons' chain rule, dC/dw_jk = a_k sigma'(z_j) dC/da_j, with
    dC/da_j = 2 (a_j - y_j) at the output and sum_i w_ij sigma'(z_i) dC/da_i one layer back.
    """
    net = Network([2, 2, 2], activation="sigmoid", cost="quadratic", dtype="float64")
    W1, b1 = [[0.15, 0.20], [0.25, 0.30]], [0.35, 0.35]
    W2, b2 = [[0.40, 0.45], [0.50, 0.55]], [0.60, 0.60]
    net.set_parameters([np.array(W1), np.array(b1), np.array(W2), np.array(b2)])
    x, label = [0.05, 0.10], 1  # desired output y = (0, 1)
    y = [0.0, 1.0]

    z1 = [W1[j][0] * x[0] + W1[j][1] * x[1] + b1[j] for j in range(2)]  # 0.3775, 0.3925
    a1 = [sigmoid(z) for z in z1]  # 0.593270, 0.596884
    z2 = [W2[j][0] * a1[0] + W2[j][1] * a1[1] + b2[j] for j in range(2)]  # 1.105906, 1.224921
    a2 = [sigmoid(z) for z in z2]  # 0.751365, 0.772928
    dC_da2 = [2 * (a2[j] - y[j]) for j in range(2)]  # 1.502730, -0.454143
    dC_dz2 = [dC_da2[j] * a2[j] * (1 - a2[j]) for j in range(2)]  # 0.280733, -0.079707
    dC_da1 = [sum(W2[i][k] * dC_dz2[i] for i in range(2)) for k in range(2)]
    dC_dz1 = [dC_da1[k] * a1[k] * (1 - a1[k]) for k in range(2)]
    eta = 0.5
    new_W2 = [[W2[j][k] - eta * a1[k] * dC_dz2[j] for k in range(2)] for j in range(2)]
    new_b2 = [b2[j] - eta * dC_dz2[j] for j in range(2)]
    new_W1 = [[W1[j][k] - eta * x[k] * dC_dz1[j] for k in range(2)] for j in range(2)]
    new_b1 = [b1[j] - eta * dC_dz1[j] for j in range(2)]
    assert new_W2[0][0] == pytest.approx(0.40 - 0.5 * 0.593270 * 0.280733, abs=1e-6)  # 0.316725

    train(net, np.array([x]), np.array([label]), TrainConfig(epochs=1, batch_size=1, lr=eta))
    np.testing.assert_allclose(net.W[1], new_W2, rtol=1e-12)
    np.testing.assert_allclose(net.b[1], new_b2, rtol=1e-12)
    np.testing.assert_allclose(net.W[0], new_W1, rtol=1e-12)
    np.testing.assert_allclose(net.b[0], new_b1, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"activation": "swish"}, "activation"),
        ({"output": "relu6"}, "output activation"),
        ({"cost": "hinge"}, "cost"),
        ({"init": "zeros"}, "init"),
        ({"sizes": [784]}, "sizes"),
        ({"sizes": [784, 0, 10]}, "sizes"),
        ({"activation": "softmax"}, "activation"),
        ({"activation": "relu", "output": "relu", "cost": "cross-entropy"}, "cross-entropy"),
        ({"dtype": "int8"}, "dtype"),
    ],
)
def test_bad_network_settings_name_the_parameter(kwargs, word):
    with pytest.raises(DigitnetError, match=word):
        Network(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"lr": 0.0}, "lr"),
        ({"lr": -1.0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"batch_size": 0}, "batch_size"),
        ({"epochs": 0}, "epochs"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"schedule": "linear"}, "schedule"),
        ({"dropout": 1.0}, "dropout"),
        ({"momentum": 1.5}, "momentum"),
    ],
)
def test_bad_training_settings_are_refused_before_any_work(kwargs, word):
    net = Network([4, 3, 2])
    before = net.copy_parameters()
    with pytest.raises(DigitnetError, match=word):
        train(net, np.zeros((5, 4)), np.zeros(5, dtype=int), TrainConfig(**kwargs))
    for p, q in zip(before, net.parameters(), strict=True):
        np.testing.assert_array_equal(p, q)


def test_data_that_does_not_fit_the_network_is_refused():
    net = Network([784, 16, 10])
    with pytest.raises(DigitnetError, match="input layer has 784"):
        train(net, np.zeros((5, 100)), np.zeros(5, dtype=int))
    with pytest.raises(DigitnetError, match="output layer has only 10"):
        train(net, np.zeros((5, 784)), np.full(5, 12))
    with pytest.raises(DigitnetError, match="labels"):
        train(net, np.zeros((5, 784)), np.zeros(4, dtype=int))
    with pytest.raises(DigitnetError, match="expected"):
        net.feedforward(np.zeros((2, 3)))
