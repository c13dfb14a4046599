"""Stochastic gradient descent on mini-batches: compute -grad C on a few examples, step, repeat.

:func:`train` shuffles the training examples every epoch, cuts them into mini-batches, and for each
one runs the forward trace, backpropagation and an optimizer step. It never prints: it reports
through a :class:`Callback` and returns the :class:`History`, one :class:`EpochRecord` an epoch.
What the loop keeps and checks besides (early stopping, weight averaging, the resume state, the
divergence guard) are the small parts of :mod:`digitnet.training_parts`, held by a
:class:`TrainingRun`.
"""

from __future__ import annotations

import math
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np

from digitnet.advice import suggested_lr
from digitnet.averaging import WeightAverage
from digitnet.engine.dropout import draw_masks
from digitnet.errors import DigitnetError
from digitnet.network import Network
from digitnet.settings import TrainConfig
from digitnet.soft_targets import SoftTargets
from digitnet.step_rules import make_optimizer
from digitnet.training_parts import (
    Callback,
    DivergenceGuard,
    EarlyStopping,
    EpochRecord,
    History,
    Splits,
    TrainingState,
)

__all__ = [
    "Callback",
    "EpochRecord",
    "History",
    "TrainConfig",
    "TrainingRun",
    "TrainingState",
    "make_step",
    "train",
    "train_on",
]


def train(
    net: Network,
    X_train: np.ndarray,
    y_train: np.ndarray,
    config: TrainConfig | None = None,
    *,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    callback: Callback | None = None,
    history: History | None = None,
    state: TrainingState | None = None,
    sample_weight: np.ndarray | None = None,
) -> History:
    """Train ``net`` in place on (X_train (n, n_0), y_train (n,)) and return its history.

    ``y_train`` holds integer labels, or, for the quadratic cost, the desired outputs
    (n, n_L) as floats (then every accuracy is NaN, and ``patience`` is refused: it watches
    the validation accuracy).

    Each mini-batch step is ``config.engine``'s (see :func:`make_step`). Pass an earlier
    ``history`` to continue training after its last epoch, and the :class:`TrainingState` of that
    moment to continue exactly (without it the optimizer and the random generator start afresh).
    A ``state`` is kept up to date at every epoch's end; with one, a run stopped in the middle of
    an epoch (``callback.stop_requested``) is left as it was at the end of its last whole epoch,
    the moment the state describes. Raises :class:`TrainingDiverged` (keeping the last good
    weights) if the cost becomes NaN or infinite.

    ``sample_weight`` (n,), numbers >= 0, weighs each training example's cost: a mini-batch's
    cost is sum_x w_x C_x / sum_x w_x, so an example of weight 2 counts as two copies of it
    (exactly so when one batch holds all the data). The recorded costs stay unweighted.
    """
    config = config or TrainConfig()
    config.validate()
    callback = callback or Callback()
    data = Splits.checked(net, config, X_train, y_train, X_val, y_val, X_test, y_test)
    weights = _check_weights(sample_weight, len(data.X_train), net.dtype)
    run = TrainingRun(net, data, config, history or History(), state, weights)
    n, bs = len(data.X_train), config.batch_size
    n_batches = math.ceil(n / bs)
    # Overflow on the way to a NaN is expected when eta is too high: run.measure catches it.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(run.first_epoch, config.epochs + 1):
            callback.on_epoch_start(epoch, n_batches)
            start = time.perf_counter()
            perm = run.rng.permutation(n)  # a new order of the examples every epoch
            for i in range(n_batches):
                X, y = run.batch(perm[i * bs : (i + 1) * bs])  # bs examples, or the rest
                lr = run.lr_at(epoch, i / n_batches)
                callback.on_batch_start(epoch, i, X, y)
                run.step(X, y, lr)  # trace, backprop, a step along -grad C
                if callback.stop_requested:  # mid-epoch: this epoch is not recorded as done
                    return run.interrupted(mid_epoch=True)
                if (i + 1) % callback.batch_report_every == 0:
                    callback.on_batches(epoch, i + 1, n_batches)
            record = run.measure(epoch, lr, seconds=time.perf_counter() - start)
            run.end_epoch(record, callback)
            if callback.stop_requested:
                return run.interrupted(mid_epoch=False)
            if run.early_stopping.should_stop:
                return run.stopped_early()
    return run.finished()


class TrainingRun:
    """One call of :func:`train`: its data, generator and step, and the parts around the loop.

    Made before the first epoch, it takes up where ``history`` and ``state`` left off: the
    generator of epoch ``first_epoch``, the optimizer's and the average's state, early
    stopping's bookkeeping.
    """

    def __init__(
        self,
        net: Network,
        data: Splits,
        config: TrainConfig,
        history: History,
        state: TrainingState | None,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        self.net, self.data, self.config, self.history, self.state = (
            net, data, config, history, state
        )  # fmt: skip
        self.sample_weight = sample_weight
        self._idx: np.ndarray | None = None  # the current mini-batch's examples
        history.stopped = "finished"
        self.first_epoch = len(history.epochs) + 1
        self.rng = np.random.default_rng([config.seed, self.first_epoch])
        n = len(data.X_train)
        self.guard = DivergenceGuard(net)
        self.X_monitor, self.y_monitor = (
            data.X_train[: config.monitor],
            data.y_train[: config.monitor],
        )
        # the mini-batch is gathered into the same two arrays every step
        bs = min(config.batch_size, n)
        self.X_batch = np.empty((bs, net.sizes[0]), net.dtype)
        self.y_batch = np.empty((bs, *data.y_train.shape[1:]), data.y_train.dtype)
        self._step = make_step(
            net, config, bs, real_targets=data.y_train.ndim == 2, weighted=sample_weight is not None
        )
        history.compile_seconds = getattr(self._step, "compile_seconds", 0.0)
        resuming = state is not None and state.started
        if state is not None and resuming:
            state.restore(self.rng, self._step, config, net)
        self.average = None
        if config.average:
            resumed = state.average if state is not None and resuming else None
            self.average = WeightAverage(net.parameters(), config.average, resumed)
        if state is not None and not resuming:
            state.capture(self.rng, self._step, None, self.average)
        self.early_stopping = EarlyStopping(config.patience, watching=len(data.X_val) > 0)
        self.early_stopping.replay(history, net, state)
        self.soft_targets = None
        if config.label_smoothing or config.mixup:
            self.soft_targets = SoftTargets(
                net.sizes[-1], bs, config.label_smoothing, config.mixup, net.dtype
            )
        self.augment = config.augment if getattr(config.augment, "enabled", True) else None
        if self.augment is not None:
            from digitnet.data.augment import prepare

            history.compile_seconds += prepare(self.augment)

    def batch(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The examples ``idx`` (in range), gathered into the batch arrays, augmented."""
        m, self._idx = len(idx), idx
        X = self.data.X_train.take(idx, axis=0, out=self.X_batch[:m], mode="clip")
        y = self.data.y_train.take(idx, axis=0, out=self.y_batch[:m], mode="clip")
        if self.augment is not None:
            from digitnet.data.augment import augment_batch

            X = augment_batch(X, self.augment, self.rng)
        return X, y

    def lr_at(self, epoch: int, fraction: float) -> float:
        """eta for the mini-batch ``fraction`` of the way through ``epoch``: the schedule's at
        the epoch's start, except along a cosine, where eta falls within the epoch too."""
        if self.config.schedule == "cosine":
            return self.config.lr_at(epoch - 1 + fraction)
        return self.config.lr_at(epoch - 1)

    def step(self, X: np.ndarray, y: np.ndarray, lr: float) -> None:
        """One step of the run's engine on the batch (X, y), then the average's update."""
        if self.soft_targets is not None:  # labels become target probabilities
            X, y = self.soft_targets(X, y, self.rng)
        if self.sample_weight is None:
            self._step(X, y, lr, self.rng)
        else:  # w_x m / sum w: the cost's 1/m average becomes the weighted one
            w = self.sample_weight[self._idx]
            total = w.sum()
            self._step(X, y, lr, self.rng, w * (len(w) / total) if total > 0 else w)
        if self.average is not None:
            self.average.after_step(self._step.optimizer.t)

    def measured(self) -> AbstractContextManager[Any]:
        """Inside, the network is the one the run measures and hands on: the weight average,
        with averaging; the weights training goes on from, after."""
        return nullcontext() if self.average is None else self.average.swapped()

    def measure(self, epoch: int, lr: float, seconds: float) -> EpochRecord:
        """The epoch's record: the cost and accuracy on the monitored training examples and the
        splits. Raises :class:`TrainingDiverged` (with the last good weights back) when the
        weights or the cost are no longer finite."""
        start = time.perf_counter()
        data, evaluate = self.data, self._step.evaluate
        with self.measured():
            train_cost, train_acc = evaluate(self.X_monitor, self.y_monitor)
            val_cost, val_acc = evaluate(data.X_val, data.y_val)
            _, test_acc = evaluate(data.X_test, data.y_test)
        record = EpochRecord(
            epoch, lr, train_cost, train_acc, val_cost, val_acc, test_acc, seconds,
            time.perf_counter() - start,
        )  # fmt: skip
        config = self.config
        better = min(
            suggested_lr(self.net.activation, config.optimizer, config.batch_size), config.lr / 10
        )
        self.guard.check(record, len(self.X_monitor) > 0, config.lr, self.history, better)
        return record

    def end_epoch(self, record: EpochRecord, callback: Callback) -> None:
        """Keep the record, note it for early stopping, bring the state up to date, and tell
        the callback (which sees the network the record measured)."""
        self.history.epochs.append(record)
        if self.early_stopping.improved(record.validation_accuracy, self._measured_parameters):
            self.history.best_epoch = record.epoch
        if self.state is not None:
            best = self.early_stopping.best
            self.state.capture(self.rng, self._step, best, self.average)
        with self.measured():
            callback.on_epoch_end(record, self.net)

    def _measured_parameters(self) -> list[np.ndarray]:
        if self.average is None:
            return self.net.copy_parameters()
        return [mean.copy() for mean in self.average.average]

    def interrupted(self, mid_epoch: bool) -> History:
        """End on a stop request. Mid-epoch with a state, the network goes back to the end of
        the last whole epoch, the moment the state describes."""
        self.history.stopped = "interrupted"
        if mid_epoch and self.state is not None:
            self.guard.restore()
        return self.history

    def stopped_early(self) -> History:
        """End by early stopping, with the best parameters in the network."""
        self.history.stopped = "early-stopping"
        if self.early_stopping.best is not None:
            self.net.set_parameters(self.early_stopping.best)
        return self.history

    def finished(self) -> History:
        """End after the last epoch, with the weight average (if any) as the network."""
        if self.average is not None:
            self.net.set_parameters(self.average.average)
        return self.history


class ReferenceStep:
    """One step of stochastic gradient descent on a mini-batch, as the lessons write it: feed the
    batch forward, backpropagate, add weight decay's lambda W to dC/dW, step along -grad C.

    ``engine="fast"`` takes the same step with :class:`digitnet.engine.Step`.
    """

    def __init__(self, net: Network, config: TrainConfig) -> None:
        self.net, self.config = net, config
        self.optimizer = make_optimizer(config.optimizer, net.parameters(), config.momentum)

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """(cost, accuracy) of the network on X, y."""
        return self.net.evaluate(X, y)

    def __call__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        lr: float,
        rng: np.random.Generator,
        weights: np.ndarray | None = None,
    ) -> None:
        net, config = self.net, self.config
        masks = draw_masks(net.sizes, len(X), config.dropout, rng, net.dtype)
        trace = net.trace(X, masks)
        grads = net.backprop(trace, y, weights)
        for W, dW in zip(net.W, grads.W, strict=True):
            dW += net.dtype.type(config.weight_decay) * W  # the L2 penalty's gradient
        dC = [g for pair in zip(grads.W, grads.b, strict=True) for g in pair]  # as parameters()
        self.optimizer.step(net.parameters(), dC, lr)


def make_step(
    net: Network,
    config: TrainConfig,
    batch_size: int,
    real_targets: bool = False,
    weighted: bool = False,
) -> Any:
    """The callable ``step(X, y, lr, rng)`` of ``config.engine`` for batches of at most
    ``batch_size`` examples; ``step.evaluate(X, y)`` measures (cost, accuracy) between epochs.
    A ``weighted`` step takes each example's weight too: ``step(X, y, lr, rng, weights)``.

    The fast engine takes a small network's steps in one compiled call when it can
    (:mod:`digitnet.engine.small`, with Numba, unweighted), and otherwise with
    :class:`digitnet.engine.Step`.
    """
    if config.engine == "reference":
        return ReferenceStep(net, config)
    from digitnet.engine import Step
    from digitnet.engine.small import SmallStep, unsupported

    if not weighted and not unsupported(net, config, batch_size, real_targets):
        return SmallStep(net, config)
    return Step(net, config, batch_size)


def _check_weights(w: np.ndarray | None, n: int, dtype: np.dtype) -> np.ndarray | None:
    """``sample_weight`` as (n,) of the network's dtype, or None when every weight is the same
    (equal weights train exactly as no weights)."""
    if w is None:
        return None
    w = np.asarray(w)
    if w.shape != (n,) or not np.issubdtype(w.dtype, np.number):
        raise DigitnetError(f"sample_weight must be {n} numbers, one per example, got {w.shape}")
    if not np.all(np.isfinite(w)) or w.min() < 0 or w.sum() <= 0:
        raise DigitnetError("sample_weight must be finite numbers >= 0, not all 0")
    return None if np.all(w == w[0]) else w.astype(dtype)


def train_on(
    net: Network,
    data: Any,
    config: TrainConfig | None = None,
    *,
    callback: Callback | None = None,
    history: History | None = None,
    state: TrainingState | None = None,
) -> History:
    """:func:`train` on a ``digitnet.data.Dataset``: its training split, with its validation and
    test splits measured after every epoch."""
    return train(
        net,
        data.X_train,
        data.y_train,
        config,
        X_val=data.X_val,
        y_val=data.y_val,
        X_test=data.X_test,
        y_test=data.y_test,
        callback=callback,
        history=history,
        state=state,
    )
