"""The public API: what ``from digitnet import ...`` gives, and Network's settings round trip."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import digitnet
from digitnet import Network, TrainConfig, load, train, train_on
from digitnet.errors import DigitnetError


def test_the_package_exports_the_network_training_and_data():
    for name in digitnet.__all__:
        assert getattr(digitnet, name) is not None
    assert digitnet.load is load and digitnet.Network is Network
    assert callable(train) and callable(train_on) and TrainConfig().engine == "fast"


def test_the_core_imports_no_optional_dependency():
    """scikit-learn, ONNX and Dask are extras: importing digitnet, its CLI and training must not
    pull them in (nor PyTorch, which only the tests and benchmarks use)."""
    code = (
        "import sys, digitnet, digitnet.cli, digitnet.train, digitnet.engine; "
        "print(sorted(m for m in ('sklearn', 'onnx', 'onnxruntime', 'dask', 'distributed', "
        "'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "settings",
    [
        dict(sizes=[784, 16, 16, 10], activation="sigmoid", cost="quadratic", init="lecun"),
        dict(sizes=[20, 7, 3], activation="relu", cost="cross-entropy", init="he", dtype="float64"),
        dict(sizes=[5, 4, 4, 2], activation="tanh", output="sigmoid", cost="cross-entropy"),
    ],
)
def test_config_rebuilds_the_same_network_shape_and_functions(settings):
    net = Network(**settings, seed=4)
    config = net.config()
    assert sorted(config) == ["activation", "cost", "dtype", "init", "output", "sizes"]
    same = Network.from_config(config, seed=4)
    assert same.config() == config
    np.testing.assert_array_equal(same.parameter_vector(), net.parameter_vector())
    other = Network.from_config(config, seed=5)
    assert not np.array_equal(other.parameter_vector(), net.parameter_vector())


def test_cross_entropy_without_an_output_chooses_softmax():
    assert Network([4, 3, 2], activation="relu", cost="cross-entropy").output == "softmax"
    assert Network([4, 3, 2], activation="relu", cost="quadratic").output == "relu"
    named = Network([4, 3, 2], activation="relu", output="sigmoid", cost="cross-entropy")
    assert named.output == "sigmoid"


@pytest.mark.parametrize("output,cost", [("softmax", "cross-entropy"), ("sigmoid", "quadratic"),
                                         ("tanh", "quadratic"), ("relu", "quadratic")])  # fmt: skip
def test_predict_proba_gives_rows_that_sum_to_1_and_agree_with_predict(output, cost):
    net = Network([30, 12, 6], activation="relu", output=output, cost=cost, init="he", seed=2)
    X = np.random.default_rng(0).random((50, 30), dtype=np.float32)
    P = net.predict_proba(X)
    assert P.shape == (50, 6) and P.dtype == np.float64
    assert np.all(P >= 0)
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-12)
    a = net.feedforward(X)
    clear = np.sort(a, axis=1)[:, -1] > np.maximum(np.sort(a, axis=1)[:, -2], 0)
    np.testing.assert_array_equal(np.argmax(P, axis=1)[clear], net.predict(X)[clear])


GOOD = dict(sizes=[4, 2], activation="relu", output="softmax", cost="cross-entropy", init="he",
            dtype="float32")  # fmt: skip


@pytest.mark.parametrize(
    "config,message",
    [
        ({"sizes": [4, 2], "activation": "relu"}, "missing output, cost, init, dtype"),
        (dict(GOOD, seed=3), "unknown seed"),
        ([4, 2], "a dict, not list"),
        (dict(GOOD, sizes="4,2"), "sizes must list whole numbers"),
        (dict(GOOD, dtype="float16"), "dtype must be float32 or float64"),
        (dict(GOOD, activation="swish"), "unknown activation 'swish'"),
    ],
)
def test_a_bad_config_is_one_error_naming_the_problem(config, message):
    with pytest.raises(DigitnetError, match=message):
        Network.from_config(config)


@pytest.mark.parametrize("seed", [-1, 1.5])
def test_a_negative_or_fractional_seed_is_refused(seed):
    with pytest.raises(DigitnetError, match="seed must be a whole number >= 0"):
        Network([4, 2], seed=seed)
    with pytest.raises(DigitnetError, match="seed must be a whole number >= 0"):
        train(Network([4, 2]), np.zeros((3, 4)), np.zeros(3, int), TrainConfig(seed=seed))
