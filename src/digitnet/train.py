"""Stochastic gradient descent on mini-batches: compute -grad C on a few examples, step, repeat.

:func:`train` shuffles the training examples every epoch, cuts them into mini-batches, and for each
one runs the forward trace, backpropagation and an optimizer step. It never prints: it reports
through a :class:`Callback` and returns the :class:`History`, one :class:`EpochRecord` an epoch.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from digitnet.blas import axpy
from digitnet.errors import DigitnetError, TrainingDiverged
from digitnet.network import Network, Workspace
from digitnet.optimizers import OPTIMIZERS, SCHEDULES, learning_rate, make_optimizer

# Let backprop write momentum's velocity (see train). Same arithmetic as Momentum.step up to
# rounding; False takes the plain path, which the tests compare it with.
FOLD_MOMENTUM = True


@dataclass
class TrainConfig:
    """Everything that decides how the network is trained (the network's shape lives in it).

    ``lr`` is eta. ``weight_decay`` is the L2 penalty lambda: the cost gains (lambda/2) sum w^2 over
    all weights (not biases), so each step adds lambda W to dC/dW. ``dropout`` is the probability
    of switching off each hidden neuron during training. ``patience`` turns on early stopping: stop
    after that many epochs without a better validation accuracy, and keep the best weights.
    ``augment`` is a ``digitnet.data.Augmentation`` applied to each mini-batch, or None.
    """

    epochs: int = 30
    batch_size: int = 10
    lr: float = 3.0
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0
    dropout: float = 0.0
    schedule: str = "constant"
    step_every: int = 10
    step_factor: float = 0.5
    patience: int | None = None
    augment: Any = None
    seed: int = 0
    monitor: int = 10_000

    def validate(self) -> None:
        """Raise a DigitnetError naming the first parameter that makes no sense."""
        checks = [
            ("epochs", self.epochs >= 1, "must be at least 1"),
            ("batch_size", self.batch_size >= 1, "must be at least 1"),
            ("lr", math.isfinite(self.lr) and self.lr > 0, "must be a positive number"),
            ("momentum", 0 <= self.momentum < 1, "must be in [0, 1)"),
            ("weight_decay", self.weight_decay >= 0, "must not be negative"),
            ("dropout", 0 <= self.dropout < 1, "must be in [0, 1)"),
            ("step_every", self.step_every >= 1, "must be at least 1"),
            ("step_factor", 0 < self.step_factor <= 1, "must be in (0, 1]"),
            ("patience", self.patience is None or self.patience >= 1, "must be at least 1"),
            ("monitor", self.monitor >= 0, "must not be negative"),
        ]
        for name, ok, why in checks:
            if not ok:
                raise DigitnetError(f"{name} {why}, got {getattr(self, name)!r}")
        if self.optimizer not in OPTIMIZERS:
            raise DigitnetError(
                f"unknown optimizer {self.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}"
            )
        if self.schedule not in SCHEDULES:
            raise DigitnetError(
                f"unknown schedule {self.schedule!r}; choose one of: {', '.join(SCHEDULES)}"
            )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.augment is not None:
            d["augment"] = asdict(self.augment)
        return d


@dataclass
class EpochRecord:
    """What one epoch did. Costs and accuracies are NaN where there was no such data.

    ``train_cost``/``train_accuracy`` are measured after the epoch on the first ``monitor``
    training examples; ``seconds`` is the time spent training, ``eval_seconds`` the time measuring.
    """

    epoch: int
    lr: float
    train_cost: float
    train_accuracy: float
    validation_cost: float
    validation_accuracy: float
    test_accuracy: float
    seconds: float
    eval_seconds: float


@dataclass
class History:
    epochs: list[EpochRecord] = field(default_factory=list)
    stopped: str = "finished"  # "finished", "early-stopping", "interrupted" or "diverged"
    best_epoch: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs": [asdict(r) for r in self.epochs],
            "stopped": self.stopped,
            "best_epoch": self.best_epoch,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        try:
            epochs = [EpochRecord(**r) for r in d.get("epochs", [])]
        except TypeError as err:
            raise DigitnetError(f"history in the model file is malformed: {err}") from None
        return cls(epochs, d.get("stopped", "finished"), d.get("best_epoch"))

    def column(self, name: str) -> list[float]:
        return [getattr(r, name) for r in self.epochs]

    @property
    def last(self) -> EpochRecord:
        return self.epochs[-1]


class Callback:
    """Hooks for progress reports. Set ``stop_requested`` to end training after the current
    mini-batch step (the weights are never left half-updated)."""

    stop_requested: bool = False
    batch_report_every: int = 50

    def on_epoch_start(self, epoch: int, n_batches: int) -> None: ...
    def on_batches(self, epoch: int, done: int, n_batches: int) -> None: ...
    def on_epoch_end(self, record: EpochRecord, network: Network) -> None: ...


def _check_data(net: Network, X: np.ndarray, y: np.ndarray, what: str) -> None:
    if X.ndim != 2 or X.shape[1] != net.sizes[0]:
        raise DigitnetError(
            f"{what} images have shape {X.shape}, but the network's input layer has "
            f"{net.sizes[0]} neurons: the first layer size must be {X.shape[-1]}"
        )
    if len(X) != len(y):
        raise DigitnetError(f"{what} has {len(X)} images but {len(y)} labels")
    if len(y) and (y.min() < 0 or y.max() >= net.sizes[-1]):
        raise DigitnetError(
            f"{what} labels go up to {int(y.max())}, but the output layer has only "
            f"{net.sizes[-1]} neurons"
        )


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
) -> History:
    """Train ``net`` in place on (X_train (n, n_0), y_train (n,)) and return its history.

    Pass an earlier ``history`` to continue (resume) training after its last epoch; the optimizer
    state starts afresh. Raises :class:`TrainingDiverged` (keeping the last good weights) if the
    cost becomes NaN or infinite.
    """
    config = config or TrainConfig()
    config.validate()
    callback = callback or Callback()
    empty_X = np.zeros((0, net.sizes[0]), net.dtype)
    empty_y = np.zeros(0, np.intp)
    X_val, y_val = (empty_X, empty_y) if X_val is None else (X_val, np.asarray(y_val))
    X_test, y_test = (empty_X, empty_y) if X_test is None else (X_test, np.asarray(y_test))
    y_train = np.asarray(y_train)
    for X, y, what in (
        (X_train, y_train, "training data"),
        (X_val, y_val, "validation data"),
        (X_test, y_test, "test data"),
    ):
        _check_data(net, X, y, what)
    if len(X_train) == 0:
        raise DigitnetError("training data is empty")
    if config.patience is not None and len(X_val) == 0:
        raise DigitnetError("patience (early stopping) needs a validation split, but it is empty")

    X_train = net.as_input(X_train)
    history = history or History()
    history.stopped = "finished"
    first_epoch = len(history.epochs) + 1
    rng = np.random.default_rng([config.seed, first_epoch])
    n, bs = len(X_train), config.batch_size
    n_batches = math.ceil(n / bs)
    best_acc, best_params, since_best = -1.0, None, 0
    good_params = net.copy_parameters()
    X_monitor, y_monitor = X_train[: config.monitor], y_train[: config.monitor]
    # What every step reuses rather than allocates: the mini-batch, and the workspace of the
    # forward trace and backprop (z, errors, dropout masks, gradients).
    X_batch = np.empty((min(bs, n), net.sizes[0]), net.dtype)
    y_batch = np.empty(min(bs, n), y_train.dtype)
    workspace = Workspace(net, min(bs, n))
    # With the parameters in one vector (as a Network makes them), each step updates them all at
    # once from the workspace's gradient vector, laid out the same way.
    flat = net.flat_parameters()
    if flat is not None:
        params, step_grads = [flat], [workspace.flat_grads]
    else:
        g = workspace.grads
        params, step_grads = (
            net.parameters(),
            [p for pair in zip(g.W, g.b, strict=True) for p in pair],
        )
    optimizer = make_optimizer(config.optimizer, params, config.momentum)
    # Momentum's v <- mu v - eta dC/dp is backprop's own products with alpha = -eta and beta = mu
    # (see Network.backprop): backprop writes the velocity, in one pass over it instead of four.
    velocity = (
        net.as_gradients(optimizer.v[0])
        if FOLD_MOMENTUM and optimizer.velocity_in_backprop and flat is not None
        else None
    )
    augment = config.augment if getattr(config.augment, "enabled", True) else None
    if augment is not None:
        from digitnet.data import augment_batch
    cosine = config.schedule == "cosine"
    weight_decay = net.dtype.type(config.weight_decay) if config.weight_decay else None
    # lambda W, reused (the plain path's weight decay)
    decay = [np.empty_like(W) for W in net.W] if weight_decay and velocity is None else []

    # Overflow on the way to a NaN is expected when eta is too high: it is caught below.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(first_epoch, config.epochs + 1):
            callback.on_epoch_start(epoch, n_batches)
            start = time.perf_counter()
            perm = rng.permutation(n)
            lr = learning_rate(
                config.schedule,
                config.lr,
                epoch - 1,
                config.epochs,
                config.step_every,
                config.step_factor,
            )
            for i in range(n_batches):
                idx = perm[i * bs : (i + 1) * bs]
                m = len(idx)  # bs, or fewer in the last batch; gather it into the reused arrays
                X = X_train.take(idx, axis=0, out=X_batch[:m], mode="clip")  # idx is in range
                y = y_train.take(idx, out=y_batch[:m], mode="clip")
                if augment is not None:
                    X = augment_batch(X, augment, rng)
                if cosine:
                    lr = learning_rate(
                        "cosine", config.lr, epoch - 1 + i / n_batches, config.epochs
                    )
                trace = net.trace(X, config.dropout, rng, workspace=workspace)
                if velocity is not None:
                    mu = optimizer.mu  # type: ignore[attr-defined]
                    net.backprop(trace, y, workspace=workspace, out=velocity, alpha=-lr, beta=mu)
                    if weight_decay:  # v -= eta lambda W, the L2 penalty's share
                        for W, v in zip(net.W, velocity.W, strict=True):
                            axpy(-lr * weight_decay, W, v)
                    optimizer.step_after_velocity(params)  # type: ignore[attr-defined]
                else:
                    grads = net.backprop(trace, y, workspace=workspace)
                    if weight_decay:  # dC/dW += lambda W, the L2 penalty's gradient
                        for W, dW, lam_W in zip(net.W, grads.W, decay, strict=True):
                            dW += np.multiply(W, weight_decay, out=lam_W)
                    optimizer.step(params, step_grads, lr)  # grads lives in step_grads' arrays
                if callback.stop_requested:  # mid-epoch: this epoch is not recorded as done
                    history.stopped = "interrupted"
                    return history
                if (i + 1) % callback.batch_report_every == 0:
                    callback.on_batches(epoch, i + 1, n_batches)
            seconds = time.perf_counter() - start

            start = time.perf_counter()
            train_cost, train_acc = net.evaluate(X_monitor, y_monitor)
            val_cost, val_acc = net.evaluate(X_val, y_val)
            _, test_acc = net.evaluate(X_test, y_test)
            record = EpochRecord(
                epoch,
                lr,
                train_cost,
                train_acc,
                val_cost,
                val_acc,
                test_acc,
                seconds,
                time.perf_counter() - start,
            )
            cost_blew_up = len(X_monitor) > 0 and not math.isfinite(train_cost)  # monitor=0: nan
            if not all(math.isfinite(p.sum()) for p in params) or cost_blew_up:
                net.set_parameters(good_params)
                history.stopped = "diverged"
                raise TrainingDiverged(
                    f"the cost became {train_cost} in epoch {epoch}: the learning rate "
                    f"(lr={config.lr}) is probably too high; kept the weights "
                    + (f"of epoch {epoch - 1}" if epoch > 1 else "it started with"),
                    history,  # type: ignore[arg-type]
                )
            good_params = net.copy_parameters()
            history.epochs.append(record)
            callback.on_epoch_end(record, net)
            if callback.stop_requested:
                history.stopped = "interrupted"
                return history

            if len(X_val):
                if val_acc > best_acc:
                    best_acc, since_best, history.best_epoch = val_acc, 0, epoch
                    if config.patience is not None:
                        best_params = net.copy_parameters()
                else:
                    since_best += 1
                if config.patience is not None and since_best >= config.patience:
                    history.stopped = "early-stopping"
                    break
    if best_params is not None and history.stopped == "early-stopping":
        net.set_parameters(best_params)
    return history


def train_on(
    net: Network,
    data: Any,
    config: TrainConfig | None = None,
    *,
    callback: Callback | None = None,
    history: History | None = None,
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
    )
