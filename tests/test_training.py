"""Training: reproducible seeds, every optimizer and schedule, divergence, early stopping, and the
lessons' network learning real MNIST."""

from __future__ import annotations

import math

import numpy as np
import pytest

from digitnet.errors import TrainingDiverged
from digitnet.network import Network
from digitnet.step_rules import OPTIMIZERS, learning_rate
from digitnet.train import Callback, TrainConfig, train, train_on


def blobs(n: int = 600, seed: int = 0):
    """Three well separated clusters in 8 dimensions: any working optimizer learns them."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = rng.normal(0, 1, (3, 8)) * 3
    X = (centres[y] + rng.normal(0, 0.5, (n, 8))).astype(np.float32)
    return X, y


def test_two_runs_with_the_same_seed_are_bit_identical():
    X, y = blobs()
    runs = []
    for _ in range(2):
        net = Network(
            [8, 6, 3], activation="relu", output="softmax", cost="cross-entropy", init="he", seed=5
        )
        config = TrainConfig(epochs=3, batch_size=16, lr=0.1, optimizer="adam", dropout=0.3, seed=9)
        history = train(net, X, y, config)
        runs.append((net.parameters(), history.column("train_cost")))
    for p, q in zip(runs[0][0], runs[1][0], strict=True):
        np.testing.assert_array_equal(p, q)
    assert runs[0][1] == runs[1][1]
    other = Network([8, 6, 3], seed=6)
    assert not np.array_equal(other.W[0], runs[0][0][0])


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("schedule", ["constant", "step", "cosine"])
def test_every_optimizer_and_schedule_learns(optimizer, schedule):
    X, y = blobs()
    net = Network(
        [8, 10, 3], activation="tanh", output="softmax", cost="cross-entropy", init="xavier", seed=1
    )
    before = net.total_cost(X, y)
    lr = 0.01 if optimizer == "adam" else 0.1
    config = TrainConfig(
        epochs=4,
        batch_size=20,
        lr=lr,
        optimizer=optimizer,
        schedule=schedule,
        step_every=2,
        weight_decay=1e-4,
    )
    history = train(net, X, y, config, X_val=X[:100], y_val=y[:100])
    assert history.last.train_cost < 0.5 * before
    assert history.last.validation_accuracy > 0.95
    assert [r.epoch for r in history.epochs] == [1, 2, 3, 4]


def test_learning_rate_schedules():
    assert learning_rate("constant", 3.0, 7.5, 10) == 3.0
    assert learning_rate("step", 1.0, 9.9, 30, step_every=10) == 1.0
    assert learning_rate("step", 1.0, 10.0, 30, step_every=10, step_factor=0.1) == pytest.approx(
        0.1
    )
    assert learning_rate("cosine", 2.0, 0, 10) == 2.0
    assert learning_rate("cosine", 2.0, 5, 10) == pytest.approx(1.0)
    assert learning_rate("cosine", 2.0, 10, 10) == pytest.approx(0.0)


def test_a_diverging_run_stops_with_a_clear_message_and_keeps_the_last_good_weights():
    X, y = blobs()
    net = Network([8, 32, 3], activation="leaky-relu", cost="quadratic", init="he", seed=0)
    initial = net.copy_parameters()
    history_seen = []

    class Watch(Callback):
        def on_epoch_end(self, record, network):
            history_seen.append(network.copy_parameters())

    with pytest.raises(TrainingDiverged, match="learning rate .* too high") as caught:
        train(net, X, y, TrainConfig(epochs=5, batch_size=10, lr=0.3), callback=Watch())
    assert caught.value.history.stopped == "diverged"
    for p in net.parameters():
        assert np.all(np.isfinite(p))
    good = history_seen[-1] if history_seen else initial
    for p, q in zip(net.parameters(), good, strict=True):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("monitor", [0, 50])
def test_without_a_monitored_training_cost_a_run_still_trains_and_still_catches_divergence(
    monitor,
):
    """monitor=0 skips the per-epoch training cost (it is nan, an empty average): that alone
    is not divergence; parameters that blow up still are."""
    X, y = blobs()
    net = Network([8, 16, 3], activation="relu", output="softmax", cost="cross-entropy",
                  init="he", seed=0)  # fmt: skip
    history = train(net, X, y, TrainConfig(epochs=3, batch_size=10, lr=0.1, monitor=monitor))
    assert history.stopped == "finished" and len(history.epochs) == 3
    assert math.isnan(history.epochs[-1].train_cost) == (monitor == 0)
    bad = Network([8, 32, 3], activation="leaky-relu", cost="quadratic", init="he", seed=0)
    with pytest.raises(TrainingDiverged):
        train(bad, X, y, TrainConfig(epochs=5, batch_size=10, lr=0.3, monitor=monitor))


def test_early_stopping_keeps_the_best_validation_weights():
    X, y = blobs(seed=3)
    rng = np.random.default_rng(0)
    y_noisy = np.where(rng.random(len(y)) < 0.4, rng.integers(0, 3, len(y)), y)  # overfit bait
    net = Network(
        [8, 64, 3], activation="relu", output="softmax", cost="cross-entropy", init="he", seed=0
    )
    config = TrainConfig(epochs=60, batch_size=8, lr=0.2, optimizer="momentum", patience=3)
    history = train(net, X[:300], y_noisy[:300], config, X_val=X[300:], y_val=y[300:])
    assert history.stopped == "early-stopping"
    assert len(history.epochs) < 60
    best = max(r.validation_accuracy for r in history.epochs)
    assert net.evaluate(X[300:], y[300:])[1] == pytest.approx(best)


def test_a_stop_request_ends_training_after_the_current_step():
    X, y = blobs()
    steps = []

    class StopSoon(Callback):
        batch_report_every = 1

        def on_batches(self, epoch, done, n_batches):
            steps.append(done)
            if done == 3:
                self.stop_requested = True

    net = Network([8, 4, 3], seed=0)
    history = train(net, X, y, TrainConfig(epochs=2, batch_size=10, lr=0.5), callback=StopSoon())
    assert history.stopped == "interrupted" and history.epochs == []
    assert steps == [1, 2, 3]


def test_the_lessons_network_learns_real_mnist(mnist):
    """784-16-16-10, sigmoid, quadratic cost, SGD, batch 10, eta 3.0, N(0, 1/n_in) init: the
    lessons' recipe, for 3 of its 30 epochs. Observed: 91.7% test accuracy (seed 0)."""
    net = Network([784, 16, 16, 10], activation="sigmoid", cost="quadratic", init="lecun", seed=0)
    config = TrainConfig(epochs=3, batch_size=10, lr=3.0)
    history = train_on(net, mnist, config)
    costs = history.column("train_cost")
    assert costs[-1] < costs[0]
    assert history.last.test_accuracy > 0.90


def test_a_couple_of_tweaks_learn_faster(mnist):
    """ReLU, softmax + cross-entropy, He init, momentum, a wider layer: 2 epochs.
    Observed: 96.4% test accuracy (seed 0)."""
    net = Network(
        [784, 256, 10], activation="relu", output="softmax", cost="cross-entropy", init="he", seed=0
    )
    config = TrainConfig(epochs=2, batch_size=64, lr=0.05, optimizer="momentum")
    history = train_on(net, mnist, config)
    assert history.last.test_accuracy > 0.955
