"""Label smoothing and mixup: the costs of target probabilities and their gradients (against
finite differences and PyTorch), the targets themselves, and training with them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from test_gradients import assert_gradients_agree
from test_training import blobs

from digitnet.engine.small import unsupported
from digitnet.errors import DigitnetError
from digitnet.network import Network
from digitnet.soft_targets import SoftTargets
from digitnet.train import TrainConfig, TrainingState, train

OUTPUT_COSTS = [
    ("softmax", "cross-entropy"),
    ("sigmoid", "cross-entropy"),
    ("softmax", "quadratic"),
]


def case(output: str, cost: str, seed: int = 0):
    net = Network([6, 5, 4], activation="tanh", output=output, cost=cost, init="normal",
                  seed=seed, dtype="float64")  # fmt: skip
    rng = np.random.default_rng(seed + 10)
    X = rng.uniform(0, 1, size=(7, 6))
    labels = rng.integers(0, 4, size=7)
    return net, X, labels


def torch_cost(net: Network, X: np.ndarray, Y: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """C of the target probabilities Y (n, K) written in PyTorch, and its autograd gradient."""
    params = [torch.tensor(p, requires_grad=True) for p in net.parameters()]
    a = torch.tensor(X)
    for l in range(net.n_layers):
        z = a @ params[2 * l].T + params[2 * l + 1]
        a = torch.tanh(z) if l < net.n_layers - 1 else z
    T = torch.tensor(Y)
    n = len(X)
    if net.cost.name == "quadratic":
        C = ((torch.softmax(a, dim=1) - T) ** 2).sum() / n
    elif net.output == "softmax":
        C = torch.nn.functional.cross_entropy(a, T, reduction="sum") / n
    else:
        C = torch.nn.functional.binary_cross_entropy_with_logits(a, T, reduction="sum") / n
    C.backward()
    return C.item(), [p.grad.numpy() for p in params]


@pytest.mark.parametrize(("output", "cost"), OUTPUT_COSTS)
@pytest.mark.parametrize(("smoothing", "mixup"), [(0.1, 0.0), (0.0, 0.4), (0.2, 1.0)])
def test_the_cost_of_soft_targets_and_its_gradient_match_pytorch_and_finite_differences(
    output, cost, smoothing, mixup
):
    net, X, labels = case(output, cost)
    X, Y = SoftTargets(4, len(X), smoothing, mixup, np.float64)(X, labels, np.random.default_rng(1))
    assert not np.array_equal(Y, np.eye(4)[labels])
    assert_gradients_agree(net, X, Y, *torch_cost(net, X, Y))


def test_smoothed_labels_cost_what_pytorch_s_label_smoothing_costs():
    """PyTorch's own ``label_smoothing`` option, from the integer labels: an independent
    statement of (1 - epsilon) onehot + epsilon / K."""
    net, X, labels = case("softmax", "cross-entropy", seed=3)
    Y = SoftTargets(4, len(X), smoothing=0.15, dtype=np.float64).targets(labels)
    z = torch.tensor(net.trace(X).z_of(-1))
    expected = torch.nn.functional.cross_entropy(z, torch.tensor(labels), label_smoothing=0.15)
    assert net.total_cost(X, Y) == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(Y.sum(axis=1), 1)
    assert Y.max() == pytest.approx(0.85 + 0.15 / 4) and Y.min() == pytest.approx(0.15 / 4)


@pytest.mark.parametrize(("output", "cost"), OUTPUT_COSTS)
def test_one_hot_targets_cost_and_train_exactly_as_their_labels(output, cost):
    net, X, labels = case(output, cost, seed=4)
    Y = SoftTargets(4, len(X), dtype=np.float64).targets(labels)
    t = net.trace(X)
    z, a = t.z_of(-1), t.output
    assert net.cost.fn(z, a, Y) == pytest.approx(net.cost.fn(z, a, labels), rel=1e-14)
    np.testing.assert_allclose(net.cost.each(z, a, Y), net.cost.each(z, a, labels), rtol=1e-14)
    np.testing.assert_array_equal(net.cost.delta(z, a, Y), net.cost.delta(z, a, labels))


def test_mixup_blends_the_batch_with_a_shuffled_copy_of_itself():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(16, 6)).astype(np.float32)
    labels = rng.integers(0, 4, size=16)
    original = X.copy()
    draw = np.random.default_rng(5)
    mixed, Y = SoftTargets(4, 16, mixup=0.4)(X, labels, draw)
    replay = np.random.default_rng(5)
    lam, j = replay.beta(0.4, 0.4), replay.permutation(16)
    assert 0 < lam < 1 and not np.array_equal(j, np.arange(16))
    np.testing.assert_allclose(mixed, lam * original + (1 - lam) * original[j], rtol=1e-6)
    onehot = np.eye(4)[labels]
    np.testing.assert_allclose(Y, lam * onehot + (1 - lam) * onehot[j], rtol=1e-6)
    np.testing.assert_allclose(Y.sum(axis=1), 1, rtol=1e-6)


def smoothing_run(label_smoothing: float, engine_name: str = "fast", **extra):
    X, y = blobs(n=400, seed=2)
    net = Network([8, 12, 3], activation="relu", output="softmax", cost="cross-entropy",
                  init="he", seed=1, dtype="float64")  # fmt: skip
    config = TrainConfig(epochs=8, batch_size=16, lr=0.1, optimizer="momentum",
                         label_smoothing=label_smoothing, engine=engine_name, **extra)  # fmt: skip
    history = train(net, X, y, config)
    return net, X, y, history


def test_label_smoothing_keeps_the_network_from_being_sure():
    """Trained towards 1 - epsilon + epsilon/K, the right class's probability settles there,
    while the network trained on one-hot vectors goes on towards 1; both learn the blobs."""
    plain, X, y, plain_history = smoothing_run(0.0)
    smooth, _, _, smooth_history = smoothing_run(0.3)
    assert plain_history.last.train_accuracy > 0.99 and smooth_history.last.train_accuracy > 0.99
    right = np.arange(len(y)), y
    p_plain = plain.feedforward(X)[right].mean()
    p_smooth = smooth.feedforward(X)[right].mean()
    assert p_plain > 0.97
    assert p_smooth == pytest.approx(0.7 + 0.3 / 3, abs=0.05)


def test_the_fast_and_the_reference_engine_take_the_same_soft_steps():
    fast, *_ = smoothing_run(0.1, mixup=0.3)
    reference, *_ = smoothing_run(0.1, "reference", mixup=0.3)
    for p, q in zip(fast.parameters(), reference.parameters(), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)


def test_a_run_with_mixup_resumed_from_its_state_ends_bit_for_bit_as_the_run_in_one_go():
    X, y = blobs(n=300, seed=4)
    config = TrainConfig(epochs=4, batch_size=20, lr=0.05, optimizer="momentum",
                         label_smoothing=0.1, mixup=0.2, seed=3)  # fmt: skip

    def net():
        return Network([8, 10, 3], activation="relu", output="softmax", cost="cross-entropy",
                       init="he", seed=2)  # fmt: skip

    whole = net()
    train(whole, X, y, config)
    halves, state = net(), TrainingState()
    history = train(halves, X, y, dataclasses.replace(config, epochs=2), state=state)
    train(halves, X, y, config, history=history, state=state)
    for p, q in zip(whole.parameters(), halves.parameters(), strict=True):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("label_smoothing", 1.0, "label_smoothing must be in"),
        ("label_smoothing", -0.1, "label_smoothing must be in"),
        ("mixup", -1.0, "mixup must be a finite number"),
        ("mixup", float("nan"), "mixup must be a finite number"),
    ],
)
def test_impossible_strengths_are_refused(field, value, message):
    with pytest.raises(DigitnetError, match=message):
        TrainConfig(**{field: value}).validate()


def test_desired_outputs_are_refused_with_one_line():
    net = Network([8, 4, 3], seed=0)
    X = np.zeros((10, 8), np.float32)
    with pytest.raises(DigitnetError, match="integer labels, not from desired outputs"):
        train(net, X, np.zeros((10, 3), np.float32), TrainConfig(epochs=1, label_smoothing=0.1))


def test_the_compiled_small_step_hands_soft_targets_to_the_engine():
    net = Network([8, 4, 3], seed=0)
    assert "soft targets" in unsupported(net, TrainConfig(mixup=0.2), 10, False)
    assert "soft targets" in unsupported(net, TrainConfig(label_smoothing=0.1), 10, False)
