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

from digitnet.averaging import WeightAverage
from digitnet.engine.dropout import draw_masks
from digitnet.errors import DigitnetError, TrainingDiverged
from digitnet.network import Network
from digitnet.optimizers import make_optimizer
from digitnet.settings import TrainConfig

__all__ = [
    "Callback",
    "EpochRecord",
    "History",
    "TrainConfig",
    "TrainingState",
    "train",
    "train_on",
]


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
    # seconds the last train() call spent building (or loading) a compiled step before its
    # first epoch, kept out of the epochs' seconds (see digitnet.engine.small)
    compile_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The history as plain data: ``{"epochs": [EpochRecord fields, ...], "stopped",
        "best_epoch", "compile_seconds"}``. Missing measurements stay NaN here; a model file's
        header writes them as null (JSON has no NaN), and :meth:`from_dict` reads null back as
        NaN."""
        return {
            "epochs": [asdict(r) for r in self.epochs],
            "stopped": self.stopped,
            "best_epoch": self.best_epoch,
            "compile_seconds": self.compile_seconds,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        """The history :meth:`to_dict` (or a model file's header) describes; a null measurement
        becomes NaN. Raises :class:`DigitnetError` when the records are not EpochRecords."""
        if not isinstance(d, dict) or not isinstance(d.get("epochs", []), list):
            raise DigitnetError("history in the model file is malformed: not a dict of epochs")
        try:
            epochs = [
                EpochRecord(**{k: math.nan if v is None else v for k, v in r.items()})
                for r in d.get("epochs", [])
            ]
        except (TypeError, AttributeError) as err:
            raise DigitnetError(f"history in the model file is malformed: {err}") from None
        compiled = d.get("compile_seconds") or 0.0
        return cls(epochs, d.get("stopped", "finished"), d.get("best_epoch"), float(compiled))

    def column(self, name: str) -> list[float]:
        return [getattr(r, name) for r in self.epochs]

    @property
    def last(self) -> EpochRecord:
        return self.epochs[-1]


@dataclass
class TrainingState:
    """Everything besides the weights and the history that decides how a run goes on, as of the
    end of its last whole epoch: the random generator (the data order, dropout, augmentation),
    the optimizer's state (:meth:`digitnet.optimizers.SGD.state`), with early stopping the
    best parameters so far (a parameter vector), and with weight averaging the average and the
    weights training goes on from (the network itself then holds the average at the end).

    :func:`train` fills a state it is given at the start and at the end of every epoch. Given
    back with the weights and the history of that same moment, it makes a run continue exactly,
    bit for bit, as if it had never stopped.
    """

    rng: dict[str, Any] | None = None
    optimizer: dict[str, np.ndarray] = field(default_factory=dict)
    optimizer_name: str = ""
    best: np.ndarray | None = None
    average: np.ndarray | None = None
    weights: np.ndarray | None = None

    @property
    def started(self) -> bool:
        return self.rng is not None


class Callback:
    """Hooks for progress reports. Set ``stop_requested`` to end training after the current
    mini-batch step (the weights are never left half-updated)."""

    stop_requested: bool = False
    batch_report_every: int = 50

    def on_epoch_start(self, epoch: int, n_batches: int) -> None: ...
    def on_batches(self, epoch: int, done: int, n_batches: int) -> None: ...
    def on_epoch_end(self, record: EpochRecord, network: Network) -> None: ...


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

    def __call__(self, X: np.ndarray, y: np.ndarray, lr: float, rng: np.random.Generator) -> None:
        net, config = self.net, self.config
        masks = draw_masks(net.sizes, len(X), config.dropout, rng, net.dtype)
        trace = net.trace(X, masks)
        grads = net.backprop(trace, y)
        for W, dW in zip(net.W, grads.W, strict=True):
            dW += net.dtype.type(config.weight_decay) * W  # the L2 penalty's gradient
        dC = [g for pair in zip(grads.W, grads.b, strict=True) for g in pair]  # as parameters()
        self.optimizer.step(net.parameters(), dC, lr)


def make_step(
    net: Network, config: TrainConfig, batch_size: int, real_targets: bool = False
) -> Any:
    """The callable ``step(X, y, lr, rng)`` of ``config.engine`` for batches of at most
    ``batch_size`` examples; ``step.evaluate(X, y)`` measures (cost, accuracy) between epochs.

    The fast engine takes a small network's steps in one compiled call when it can
    (:mod:`digitnet.engine.small`, with Numba), and otherwise with :class:`digitnet.engine.Step`.
    """
    if config.engine == "reference":
        return ReferenceStep(net, config)
    from digitnet.engine import Step
    from digitnet.engine.small import SmallStep, unsupported

    if not unsupported(net, config, batch_size, real_targets):
        return SmallStep(net, config)
    return Step(net, config, batch_size)


def _check_data(net: Network, X: np.ndarray, y: np.ndarray, what: str) -> None:
    """X must be (n, n_0); y the integer labels (n,) in 0..n_L-1, or, for the quadratic cost,
    the desired outputs (n, n_L) as floats."""
    if X.ndim != 2 or X.shape[1] != net.sizes[0]:
        raise DigitnetError(
            f"{what} images have shape {X.shape}, but the network's input layer has "
            f"{net.sizes[0]} neurons: the first layer size must be {X.shape[-1]}"
        )
    if len(X) != len(y):
        raise DigitnetError(f"{what} has {len(X)} images but {len(y)} labels")
    if y.ndim == 2:
        if net.cost.name != "quadratic" or not np.issubdtype(y.dtype, np.floating):
            raise DigitnetError(
                f"{what} targets have shape {y.shape}: desired outputs (n, n_L) must be floats, "
                f"for the quadratic cost (this network's is {net.cost.name!r})"
            )
        if y.shape[1] != net.sizes[-1]:
            raise DigitnetError(
                f"{what} targets have shape {y.shape}, but the output layer has "
                f"{net.sizes[-1]} neurons"
            )
        return
    if y.ndim != 1:
        raise DigitnetError(f"{what} labels have shape {y.shape}: expected (n,) or (n, n_L)")
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
    state: TrainingState | None = None,
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
    if config.patience is not None and y_train.ndim == 2:
        raise DigitnetError("patience (early stopping) watches accuracy, which targets lack")

    X_train = net.as_input(X_train)
    if y_train.ndim == 2:  # desired outputs, in the network's dtype as a - y needs them
        y_train = y_train.astype(net.dtype, copy=False)
    history = history or History()
    history.stopped = "finished"
    first_epoch = len(history.epochs) + 1
    rng = np.random.default_rng([config.seed, first_epoch])
    n, bs = len(X_train), config.batch_size
    n_batches = math.ceil(n / bs)
    best_acc, best_params, since_best = -1.0, None, 0
    good_params = net.copy_parameters()
    X_monitor, y_monitor = X_train[: config.monitor], y_train[: config.monitor]
    # the mini-batch is gathered into the same two arrays every step
    X_batch = np.empty((min(bs, n), net.sizes[0]), net.dtype)
    y_batch = np.empty((min(bs, n), *y_train.shape[1:]), y_train.dtype)
    step = make_step(net, config, min(bs, n), real_targets=y_train.ndim == 2)
    history.compile_seconds = getattr(step, "compile_seconds", 0.0)
    average = None
    if state is not None and state.started:
        _continue_from(state, rng, step, config, net)
    if config.average:
        resumed = state.average if state is not None and state.started else None
        average = WeightAverage(net.parameters(), config.average, resumed)
    if state is not None and not state.started:
        _snapshot(state, rng, step, best_params, average)
    if len(X_val):  # early stopping's bookkeeping, as the earlier epochs left it
        for r in history.epochs:
            if r.validation_accuracy > best_acc:
                best_acc, since_best = r.validation_accuracy, 0
            else:
                since_best += 1
        if config.patience is not None and state is not None and state.best is not None:
            best_params = _split_like(net, state.best)
    augment = config.augment if getattr(config.augment, "enabled", True) else None
    if augment is not None:
        from digitnet.data import augment_batch
        from digitnet.data.augment import prepare

        history.compile_seconds += prepare(augment)

    # Overflow on the way to a NaN is expected when eta is too high: it is caught below.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(first_epoch, config.epochs + 1):
            callback.on_epoch_start(epoch, n_batches)
            start = time.perf_counter()
            perm = rng.permutation(n)
            lr = config.lr_at(epoch - 1)
            for i in range(n_batches):
                idx = perm[i * bs : (i + 1) * bs]
                m = len(idx)  # bs, or fewer in the last batch
                X = X_train.take(idx, axis=0, out=X_batch[:m], mode="clip")  # idx is in range
                y = y_train.take(idx, axis=0, out=y_batch[:m], mode="clip")
                if augment is not None:
                    X = augment_batch(X, augment, rng)
                if config.schedule == "cosine":  # eta falls within the epoch too
                    lr = config.lr_at(epoch - 1 + i / n_batches)
                step(X, y, lr, rng)
                if average is not None:
                    average.after_step(step.optimizer.t)
                if callback.stop_requested:  # mid-epoch: this epoch is not recorded as done
                    history.stopped = "interrupted"
                    if state is not None:  # back to the moment the state describes
                        net.set_parameters(good_params)
                    return history
                if (i + 1) % callback.batch_report_every == 0:
                    callback.on_batches(epoch, i + 1, n_batches)
            seconds = time.perf_counter() - start

            start = time.perf_counter()
            if average is not None:  # measure the average: the network training leaves
                average.swap()
            train_cost, train_acc = step.evaluate(X_monitor, y_monitor)
            val_cost, val_acc = step.evaluate(X_val, y_val)
            _, test_acc = step.evaluate(X_test, y_test)
            if average is not None:
                average.swap()
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
            if not all(math.isfinite(p.sum()) for p in net.parameters()) or cost_blew_up:
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
            if len(X_val):
                if val_acc > best_acc:
                    best_acc, since_best, history.best_epoch = val_acc, 0, epoch
                    if config.patience is not None:
                        best_params = (
                            net.copy_parameters()
                            if average is None
                            else [mean.copy() for mean in average.average]
                        )
                else:
                    since_best += 1
            if state is not None:
                _snapshot(state, rng, step, best_params, average)
            if average is not None:  # the callback sees the network the record measured
                average.swap()
            callback.on_epoch_end(record, net)
            if average is not None:
                average.swap()
            if callback.stop_requested:
                history.stopped = "interrupted"
                return history
            if config.patience is not None and since_best >= config.patience:
                history.stopped = "early-stopping"
                break
    if best_params is not None and history.stopped == "early-stopping":
        net.set_parameters(best_params)
    elif average is not None and history.stopped == "finished":
        net.set_parameters(average.average)
    return history


def _snapshot(
    state: TrainingState,
    rng: np.random.Generator,
    step: Any,
    best_params: list[np.ndarray] | None,
    average: WeightAverage | None,
) -> None:
    """Write the run's state as it is now into ``state``."""
    state.rng = rng.bit_generator.state
    state.optimizer = step.optimizer.state()
    state.optimizer_name = step.optimizer.name
    state.best = None if best_params is None else np.concatenate([p.ravel() for p in best_params])
    state.average = None if average is None else average.vector()
    state.weights = None if average is None else step.net.parameter_vector()


def _continue_from(
    state: TrainingState, rng: np.random.Generator, step: Any, config: TrainConfig, net: Network
) -> None:
    """Put the generator, the optimizer and (with weight averaging) the weights training goes
    on from back as ``state`` says."""
    if state.optimizer_name != config.optimizer:
        raise DigitnetError(
            f"the saved state is of optimizer {state.optimizer_name!r}, not {config.optimizer!r}"
        )
    try:
        rng.bit_generator.state = state.rng
    except (TypeError, ValueError, KeyError) as err:
        raise DigitnetError(f"the saved random generator state is unusable ({err})") from None
    step.optimizer.set_state(state.optimizer)
    if bool(config.average) != (state.average is not None):
        raise DigitnetError(
            "the saved state was made "
            + ("without" if config.average else "with")
            + " weight averaging; the run cannot go on "
            + ("with" if config.average else "without")
        )
    if state.weights is not None:  # the network holds the average; training goes on from these
        net.set_parameter_vector(state.weights)


def _split_like(net: Network, theta: np.ndarray) -> list[np.ndarray]:
    """The parameter vector ``theta`` as arrays shaped like ``net.parameters()``."""
    arrays, offset = [], 0
    for p in net.parameters():
        arrays.append(np.asarray(theta[offset : offset + p.size]).reshape(p.shape))
        offset += p.size
    return arrays


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
