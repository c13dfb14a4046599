"""The parts around the training loop, one at a time: the data check, early stopping, the
divergence guard, the resume state, weight averaging's swap, and the run's batches and eta.

tests/test_training.py and tests/test_resume.py check them together, through train()."""

from __future__ import annotations

import math

import numpy as np
import pytest

from digitnet.averaging import WeightAverage
from digitnet.errors import DigitnetError, TrainingDiverged
from digitnet.network import Network
from digitnet.settings import TrainConfig
from digitnet.train import TrainingRun, make_step
from digitnet.training_parts import (
    DivergenceGuard,
    EarlyStopping,
    EpochRecord,
    History,
    Splits,
    TrainingState,
    split_like,
)


def record(epoch: int, validation_accuracy: float = math.nan, train_cost: float = 0.5):
    return EpochRecord(epoch, 0.1, train_cost, 0.5, 0.5, validation_accuracy, 0.5, 1.0, 0.1)


def small_net(seed: int = 0) -> Network:
    return Network([6, 5, 3], activation="relu", cost="cross-entropy", init="he", seed=seed)


def toy_data(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, 6), dtype=np.float32), rng.integers(0, 3, n)


# -- Splits: the data, checked against the network --------------------------------------------


def test_splits_fill_missing_splits_with_empty_arrays_and_cast_the_training_images():
    net = small_net()
    X, y = toy_data()
    data = Splits.checked(net, TrainConfig(), X.astype(np.float64), y)
    assert data.X_train.dtype == np.float32 and data.X_train.shape == (40, 6)
    assert data.X_val.shape == (0, 6) and data.y_val.shape == (0,)
    assert data.X_test.shape == (0, 6) and data.y_test.shape == (0,)


def test_splits_cast_desired_outputs_to_the_networks_dtype():
    net = Network([6, 3], cost="quadratic", seed=0)
    X, _ = toy_data()
    targets = np.random.default_rng(1).random((40, 3))  # float64
    assert Splits.checked(net, TrainConfig(), X, targets).y_train.dtype == np.float32


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(X_train=np.zeros((4, 7), np.float32)), "first layer size must be 7"),
        (dict(y_train=np.zeros(3, int)), "has 4 images but 3 labels"),
        (dict(y_train=np.array([0, 1, 2, 3])), "labels go up to 3"),
        (dict(X_train=np.zeros((0, 6), np.float32), y_train=np.zeros(0, int)), "is empty"),
        (dict(config=TrainConfig(patience=2)), "needs a validation split"),
    ],
)
def test_splits_refuse_data_that_cannot_train_the_network(change, message):
    args = dict(
        config=TrainConfig(), X_train=np.zeros((4, 6), np.float32), y_train=np.zeros(4, int)
    )
    args.update(change)
    with pytest.raises(DigitnetError, match=message):
        Splits.checked(small_net(), **args)


def test_splits_refuse_early_stopping_on_desired_outputs():
    net = Network([6, 3], cost="quadratic", seed=0)
    X, _ = toy_data()
    with pytest.raises(DigitnetError, match="watches accuracy"):
        Splits.checked(
            net, TrainConfig(patience=1), X, np.zeros((40, 3)), X_val=X, y_val=np.zeros(40, int)
        )


# -- EarlyStopping ----------------------------------------------------------------------------


def test_early_stopping_keeps_the_best_parameters_and_stops_after_patience_epochs():
    early = EarlyStopping(patience=2, watching=True)
    kept = []

    def parameters():
        kept.append(len(kept))
        return [np.full(2, float(len(kept)))]

    assert early.improved(0.5, parameters) and early.since_best == 0
    assert early.improved(0.7, parameters)
    assert not early.improved(0.7, parameters)  # equal is not better
    assert not early.should_stop
    assert not early.improved(0.6, parameters)
    assert early.should_stop and early.since_best == 2
    assert early.best_accuracy == 0.7
    np.testing.assert_array_equal(early.best[0], [2.0, 2.0])  # the second call's parameters
    assert kept == [0, 1]  # asked for parameters only when they were the best


def test_early_stopping_without_patience_counts_but_keeps_no_parameters():
    early = EarlyStopping(patience=None, watching=True)
    assert early.improved(0.5, lambda: pytest.fail("no parameters without patience"))
    assert not early.improved(0.4, lambda: [])
    assert early.best is None and early.since_best == 1 and not early.should_stop


def test_early_stopping_without_a_validation_split_notes_nothing():
    early = EarlyStopping(patience=None, watching=False)
    assert not early.improved(0.9, lambda: pytest.fail("nothing to keep"))
    early.replay(History([record(1, 0.9)]), small_net(), None)
    assert early.best_accuracy == -1.0 and early.since_best == 0


def test_early_stopping_takes_up_the_bookkeeping_of_earlier_epochs():
    net = small_net()
    state = TrainingState(rng={}, best=net.parameter_vector() * 2)
    early = EarlyStopping(patience=3, watching=True)
    early.replay(
        History([record(1, 0.5), record(2, 0.8), record(3, 0.7), record(4, 0.6)]), net, state
    )
    assert early.best_accuracy == 0.8 and early.since_best == 2
    for best, p in zip(early.best, net.parameters(), strict=True):
        np.testing.assert_array_equal(best, 2 * p)
    assert not early.improved(0.75, lambda: [])
    assert early.should_stop


def test_split_like_cuts_a_parameter_vector_into_the_networks_shapes():
    net = small_net()
    theta = np.arange(net.n_params, dtype=np.float32)
    arrays = split_like(net, theta)
    assert [a.shape for a in arrays] == [p.shape for p in net.parameters()]
    np.testing.assert_array_equal(np.concatenate([a.ravel() for a in arrays]), theta)


# -- DivergenceGuard --------------------------------------------------------------------------


def test_the_guard_keeps_the_weights_of_each_epoch_that_ends_well():
    net = small_net()
    guard = DivergenceGuard(net)
    net.W[0] += 1.0
    guard.check(record(1), measured=True, lr=0.1, history=History())
    after_epoch_1 = net.copy_parameters()
    net.W[0][...] = np.nan
    history = History([record(1)])
    with pytest.raises(TrainingDiverged, match="in epoch 2: the learning rate .lr=3.0. is"):
        guard.check(record(2), measured=True, lr=3.0, history=history)
    assert history.stopped == "diverged"
    for p, q in zip(net.parameters(), after_epoch_1, strict=True):
        np.testing.assert_array_equal(p, q)


def test_the_guard_sees_an_infinite_cost_only_when_it_was_measured():
    net = small_net()
    guard = DivergenceGuard(net)
    guard.check(record(1, train_cost=math.nan), measured=False, lr=0.1, history=History())
    with pytest.raises(TrainingDiverged, match="became inf in epoch 1.*it started with"):
        guard.check(record(1, train_cost=math.inf), measured=True, lr=0.1, history=History())


# -- TrainingState: capture and restore -------------------------------------------------------


def test_a_captured_state_restores_the_generator_and_the_optimizer():
    net = small_net()
    config = TrainConfig(optimizer="momentum", batch_size=8, seed=3)
    X, y = toy_data()
    step = make_step(net, config, 8)
    rng = np.random.default_rng(5)
    for _ in range(3):
        step(X[:8], y[:8], 0.1, rng)
    state = TrainingState()
    state.capture(rng, step, None, None)
    assert state.started and state.optimizer_name == "momentum" and state.best is None
    expected_order = rng.permutation(40)
    expected_v = step.optimizer.state()["v"].copy()

    twin = small_net()
    twin_step, twin_rng = make_step(twin, config, 8), np.random.default_rng(99)
    state.restore(twin_rng, twin_step, config, twin)
    np.testing.assert_array_equal(twin_rng.permutation(40), expected_order)
    np.testing.assert_array_equal(twin_step.optimizer.state()["v"], expected_v)
    assert twin_step.optimizer.t == 3


def test_a_state_keeps_the_average_and_the_weights_training_goes_on_from():
    net = small_net()
    config = TrainConfig(average=0.9)
    step = make_step(net, config, 8)
    average = WeightAverage(net.parameters(), 0.9, net.parameter_vector() + 1)
    state = TrainingState()
    state.capture(np.random.default_rng(0), step, net.copy_parameters(), average)
    np.testing.assert_array_equal(state.average, net.parameter_vector() + 1)
    np.testing.assert_array_equal(state.weights, net.parameter_vector())
    np.testing.assert_array_equal(state.best, net.parameter_vector())

    holding_average = small_net(seed=7)  # what a model file holds with averaging
    state.restore(np.random.default_rng(0), make_step(holding_average, config, 8), config,
                  holding_average)  # fmt: skip
    np.testing.assert_array_equal(holding_average.parameter_vector(), net.parameter_vector())


@pytest.mark.parametrize(
    "saved,config,message",
    [
        (TrainConfig(optimizer="sgd"), TrainConfig(optimizer="adam"), "of optimizer 'sgd'"),
        (TrainConfig(), TrainConfig(average=0.9), "made without weight averaging"),
        (TrainConfig(average=0.9), TrainConfig(), "made with weight averaging"),
    ],
)
def test_a_state_refuses_a_run_it_does_not_describe(saved, config, message):
    net = small_net()
    step = make_step(net, saved, 8)
    average = WeightAverage(net.parameters(), saved.average) if saved.average else None
    state = TrainingState()
    state.capture(np.random.default_rng(0), step, None, average)
    with pytest.raises(DigitnetError, match=message):
        state.restore(np.random.default_rng(0), make_step(net, config, 8), config, net)


def test_a_state_refuses_an_unusable_generator_state():
    net = small_net()
    state = TrainingState(rng={"bit_generator": "nonsense"}, optimizer_name="sgd")
    with pytest.raises(DigitnetError, match="random generator state is unusable"):
        state.restore(np.random.default_rng(0), make_step(net, TrainConfig(), 8), TrainConfig(),
                      net)  # fmt: skip


# -- WeightAverage.swapped --------------------------------------------------------------------


def test_swapped_holds_the_average_inside_and_the_weights_after_even_on_an_error():
    net = small_net()
    theta = net.parameter_vector().copy()
    average = WeightAverage(net.parameters(), 0.9, theta + 1)
    with average.swapped():
        np.testing.assert_array_equal(net.parameter_vector(), theta + 1)
    np.testing.assert_array_equal(net.parameter_vector(), theta)
    with pytest.raises(RuntimeError), average.swapped():
        raise RuntimeError("a callback failed")
    np.testing.assert_array_equal(net.parameter_vector(), theta)
    np.testing.assert_array_equal(average.vector(), theta + 1)


# -- TrainingRun: the batches, eta, the endings -----------------------------------------------


def make_run(config: TrainConfig, history: History | None = None, state=None) -> TrainingRun:
    net = small_net()
    X, y = toy_data()
    data = Splits.checked(net, config, X, y, X_val=X[:10], y_val=y[:10])
    return TrainingRun(net, data, config, history or History(), state)


def test_a_run_gathers_the_examples_it_is_given():
    run = make_run(TrainConfig(batch_size=4))
    idx = np.array([7, 0, 39, 12])
    X, y = run.batch(idx)
    np.testing.assert_array_equal(X, run.data.X_train[idx])
    np.testing.assert_array_equal(y, run.data.y_train[idx])
    X, _ = run.batch(np.array([3, 5]))  # the last, shorter batch
    assert X.shape == (2, 6) and np.shares_memory(X, run.X_batch)


@pytest.mark.parametrize("schedule", ["constant", "step", "cosine"])
def test_eta_falls_within_an_epoch_only_along_a_cosine(schedule):
    config = TrainConfig(lr=1.0, epochs=4, schedule=schedule, step_every=1)
    run = make_run(config)
    start, middle = run.lr_at(2, 0.0), run.lr_at(2, 0.5)
    assert start == config.lr_at(1)
    assert middle == (config.lr_at(1.5) if schedule == "cosine" else start)
    assert (middle < start) == (schedule == "cosine")


def test_a_run_goes_on_after_the_epochs_of_its_history():
    history = History([record(1, 0.5), record(2, 0.4)])
    run = make_run(TrainConfig(seed=4, patience=3), history)
    assert run.first_epoch == 3 and history.stopped == "finished"
    assert run.early_stopping.since_best == 1
    expected = np.random.default_rng([4, 3]).permutation(40)
    np.testing.assert_array_equal(run.rng.permutation(40), expected)


def test_a_run_interrupted_mid_epoch_with_a_state_goes_back_to_the_epochs_end():
    run = make_run(TrainConfig(batch_size=8), state=TrainingState())
    before = run.net.parameter_vector().copy()
    X, y = run.batch(np.arange(8))
    run.step(X, y, 0.5)
    assert not np.array_equal(run.net.parameter_vector(), before)
    assert run.interrupted(mid_epoch=True).stopped == "interrupted"
    np.testing.assert_array_equal(run.net.parameter_vector(), before)


def test_a_run_without_a_state_keeps_its_last_step_when_interrupted():
    run = make_run(TrainConfig(batch_size=8))
    X, y = run.batch(np.arange(8))
    run.step(X, y, 0.5)
    after = run.net.parameter_vector().copy()
    run.interrupted(mid_epoch=True)
    np.testing.assert_array_equal(run.net.parameter_vector(), after)


def test_a_finished_run_leaves_the_average_and_an_early_stopped_one_the_best():
    run = make_run(TrainConfig(batch_size=8, average=0.5))
    for _ in range(8):  # the average moves every 8 steps
        run.step(*run.batch(np.arange(8)), 0.5)
    expected = run.average.vector()
    run.finished()
    np.testing.assert_array_equal(run.net.parameter_vector(), expected)

    run = make_run(TrainConfig(batch_size=8, patience=1))
    best = [p + 1 for p in run.net.parameters()]
    assert run.early_stopping.improved(0.9, lambda: best)
    run.step(*run.batch(np.arange(8)), 0.5)
    assert run.stopped_early().stopped == "early-stopping"
    for p, q in zip(run.net.parameters(), best, strict=True):
        np.testing.assert_array_equal(p, q)
