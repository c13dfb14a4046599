"""Weight averaging (TrainConfig.average): the average is the exponential moving average it says,
training never reads it, it is what is measured and kept, and runs with it resume exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from digitnet import Network, TrainConfig, train
from digitnet.averaging import EVERY
from digitnet.data import load_embedded
from digitnet.errors import DigitnetError
from digitnet.model_io import read_state, save_model
from digitnet.train import Callback, TrainingState


@pytest.fixture(scope="module")
def digits():
    return load_embedded(validation=10_000)


def small_net(dtype: str = "float64") -> Network:
    return Network([784, 20, 10], activation="relu", cost="cross-entropy", init="he",
                   dtype=dtype, seed=1)  # fmt: skip


def recipe(**kwargs) -> TrainConfig:
    base = dict(epochs=3, batch_size=20, lr=0.05, optimizer="momentum", seed=2)
    return TrainConfig(**{**base, **kwargs})


class EveryStep(Callback):
    """Records the weights after every step."""

    batch_report_every = 1

    def __init__(self, net: Network) -> None:
        self.net, self.seen = net, []

    def on_batches(self, epoch: int, done: int, n_batches: int) -> None:
        self.seen.append(self.net.parameter_vector())


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_the_average_is_the_moving_average_of_the_weights_training_took(digits, engine) -> None:
    """The same run with and without averaging takes the same steps (training never reads the
    average); the network it leaves is theta_bar <- beta^8 theta_bar + (1 - beta^8) theta over
    every 8th step's weights, from the first weights."""
    beta = 0.97
    plain, averaged = small_net(), small_net()
    start = plain.parameter_vector()
    trail = EveryStep(plain)
    train(plain, digits.X_train, digits.y_train, recipe(engine=engine), callback=trail)
    state = TrainingState()
    train(averaged, digits.X_train, digits.y_train, recipe(engine=engine, average=beta),
          state=state)  # fmt: skip
    np.testing.assert_array_equal(state.weights, plain.parameter_vector())  # same steps

    keep = beta**EVERY
    expected = start.copy()
    for t, theta in enumerate(trail.seen, start=1):
        if t % EVERY == 0:
            expected = keep * expected + (1 - keep) * theta
    assert len(trail.seen) >= 4 * EVERY
    np.testing.assert_allclose(averaged.parameter_vector(), expected, rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(state.average, averaged.parameter_vector())
    assert not np.allclose(expected, plain.parameter_vector())  # an average, not the last step


def test_fast_and_reference_engines_average_alike(digits) -> None:
    nets = {}
    for engine in ("fast", "reference"):
        nets[engine] = small_net("float32")
        config = recipe(engine=engine, average=0.99, dropout=0.2, schedule="cosine")
        train(nets[engine], digits.X_train, digits.y_train, config)
    a, b = (nets[e].parameter_vector() for e in ("fast", "reference"))
    assert np.abs(a - b).max() <= 1e-4 * np.abs(b).max()


def test_every_measurement_is_of_the_network_left_behind(digits) -> None:
    net = small_net()
    history = train(net, digits.X_train, digits.y_train, recipe(average=0.95),
                    X_val=digits.X_val, y_val=digits.y_val,
                    X_test=digits.X_test, y_test=digits.y_test)  # fmt: skip
    last = history.last
    assert last.test_accuracy == net.evaluate(digits.X_test, digits.y_test)[1]
    assert last.validation_accuracy == net.evaluate(digits.X_val, digits.y_val)[1]
    assert last.validation_cost == pytest.approx(net.evaluate(digits.X_val, digits.y_val)[0])


def test_each_epochs_callback_sees_the_network_its_record_measured(digits) -> None:
    class Check(Callback):
        seen: list[tuple[float, float]] = []

        def on_epoch_end(self, record, network) -> None:
            self.seen.append(
                (record.test_accuracy, network.evaluate(digits.X_test, digits.y_test)[1])
            )

    net, check = small_net(), Check()
    train(net, digits.X_train, digits.y_train, recipe(average=0.95), callback=check,
          X_test=digits.X_test, y_test=digits.y_test)  # fmt: skip
    assert len(check.seen) == 3 and all(a == b for a, b in check.seen)


def test_early_stopping_keeps_the_best_average(digits) -> None:
    net = small_net()
    config = recipe(average=0.9, epochs=12, lr=0.5, optimizer="sgd", patience=2)
    history = train(net, digits.X_train, digits.y_train, config,
                    X_val=digits.X_val, y_val=digits.y_val)  # fmt: skip
    best = max(r.validation_accuracy for r in history.epochs)
    assert net.evaluate(digits.X_val, digits.y_val)[1] == best


def test_a_run_continued_from_its_state_ends_as_the_run_never_stopped(digits, tmp_path) -> None:
    """Three epochs, saved to a file with their state (the network is the average), then two
    more: the same network and state as five epochs at once."""
    whole = small_net()
    whole_state = TrainingState()
    train(whole, digits.X_train, digits.y_train, recipe(epochs=5, average=0.98),
          state=whole_state)  # fmt: skip

    first = small_net()
    state = TrainingState()
    history = train(first, digits.X_train, digits.y_train, recipe(epochs=3, average=0.98),
                    state=state)  # fmt: skip
    path = save_model(tmp_path / "three.npz", first, state=state)
    saved = read_state(path)
    np.testing.assert_array_equal(saved.average, first.parameter_vector())
    np.testing.assert_array_equal(saved.weights, state.weights)
    train(first, digits.X_train, digits.y_train, recipe(epochs=5, average=0.98),
          history=history, state=saved)  # fmt: skip
    np.testing.assert_array_equal(first.parameter_vector(), whole.parameter_vector())
    np.testing.assert_array_equal(saved.weights, whole_state.weights)


def test_a_state_made_without_averaging_cannot_go_on_with_it(digits) -> None:
    net = small_net()
    state = TrainingState()
    history = train(net, digits.X_train, digits.y_train, recipe(epochs=1), state=state)
    with pytest.raises(DigitnetError, match="without weight averaging"):
        train(net, digits.X_train, digits.y_train, recipe(epochs=2, average=0.9),
              history=history, state=state)  # fmt: skip


@pytest.mark.parametrize("beta", [-0.1, 1.0, 1.5])
def test_average_outside_0_to_1_is_refused(beta: float) -> None:
    with pytest.raises(DigitnetError, match="average must be in"):
        recipe(average=beta).validate()


def test_a_damaged_state_with_half_of_the_average_is_refused(digits, tmp_path: Path) -> None:
    net = small_net()
    state = TrainingState()
    train(net, digits.X_train[:200], digits.y_train[:200], recipe(epochs=1, average=0.9),
          state=state)  # fmt: skip
    state.weights = None
    path = save_model(tmp_path / "half.npz", net, state=state)
    with pytest.raises(DigitnetError, match="only one of state.average and state.weights"):
        read_state(path)
