"""The parts of a training run around the lessons' loop, each small enough to test alone.

:func:`digitnet.train.train` is the loop: shuffle, mini-batches, step, measure. What it keeps and
checks on the way lives here:

- :class:`EpochRecord` and :class:`History`: what each epoch measured, and how the run ended;
- :class:`TrainingState`: the random generator, the optimizer's state and the rest that make a
  run stopped at an epoch's end continue bit for bit (:meth:`~TrainingState.capture`,
  :meth:`~TrainingState.restore`);
- :class:`Splits`: the training, validation and test data, checked against the network;
- :class:`EarlyStopping`: the best validation accuracy so far, and when to give up;
- :class:`DivergenceGuard`: the weights of the last epoch that ended finite, to go back to when
  the cost becomes NaN or infinite;
- :class:`Callback`: the hooks a caller gets (progress, a request to stop).

Weight averaging's running average is :class:`digitnet.averaging.WeightAverage`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from digitnet.averaging import WeightAverage
from digitnet.errors import DigitnetError, TrainingDiverged
from digitnet.network import Network
from digitnet.settings import TrainConfig


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


def _nulls_as_nan(record: dict[str, Any]) -> dict[str, Any]:
    """An epoch record from JSON with each null measurement as NaN."""
    return {k: math.nan if v is None else v for k, v in record.items()}


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
            epochs = [EpochRecord(**_nulls_as_nan(r)) for r in d.get("epochs", [])]
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
    the optimizer's state (:meth:`digitnet.step_rules.SGD.state`), with early stopping the
    best parameters so far (a parameter vector), and with weight averaging the average and the
    weights training goes on from (the network itself then holds the average at the end).

    :func:`digitnet.train.train` fills a state it is given at the start and at the end of every
    epoch. Given back with the weights and the history of that same moment, it makes a run
    continue exactly, bit for bit, as if it had never stopped.
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

    def capture(
        self,
        rng: np.random.Generator,
        step: Any,
        best: list[np.ndarray] | None,
        average: WeightAverage | None,
    ) -> None:
        """Write the run's state as it is now into this state (``step`` is the run's
        :func:`~digitnet.train.make_step`, ``best`` early stopping's best parameters)."""
        self.rng = dict(rng.bit_generator.state)
        self.optimizer = step.optimizer.state()
        self.optimizer_name = step.optimizer.name
        self.best = None if best is None else np.concatenate([p.ravel() for p in best])
        self.average = None if average is None else average.vector()
        self.weights = None if average is None else step.net.parameter_vector()

    def restore(
        self, rng: np.random.Generator, step: Any, config: TrainConfig, net: Network
    ) -> None:
        """Put the generator, the optimizer and (with weight averaging) the weights training
        goes on from back as this state says; refuse a state of another optimizer, or made
        with averaging when ``config`` has none (or the other way round)."""
        if self.optimizer_name != config.optimizer:
            raise DigitnetError(
                f"the saved state is of optimizer {self.optimizer_name!r}, not {config.optimizer!r}"
            )
        if self.rng is None:
            raise DigitnetError("the saved state has no random generator state")
        try:
            rng.bit_generator.state = self.rng
        except (TypeError, ValueError, KeyError) as err:
            raise DigitnetError(f"the saved random generator state is unusable ({err})") from None
        step.optimizer.set_state(self.optimizer)
        if bool(config.average) != (self.average is not None):
            raise DigitnetError(
                "the saved state was made "
                + ("without" if config.average else "with")
                + " weight averaging; the run cannot go on "
                + ("with" if config.average else "without")
            )
        if self.weights is not None:  # the network holds the average; training goes on from these
            net.set_parameter_vector(self.weights)


@dataclass
class Splits:
    """The data of one run: the training examples, and the validation and test splits measured
    after every epoch (empty arrays when there are none), in the network's dtype."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @classmethod
    def checked(
        cls,
        net: Network,
        config: TrainConfig,
        X_train: np.ndarray,
        y_train: np.ndarray,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        X_test: np.ndarray | None = None,
        y_test: np.ndarray | None = None,
    ) -> Splits:
        """The splits, each checked against ``net`` (:func:`check_data`); raises
        :class:`DigitnetError` for empty training data, and for early stopping without a
        validation split or with desired outputs (it watches the validation accuracy)."""
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
            check_data(net, X, y, what)
        if len(X_train) == 0:
            raise DigitnetError("training data is empty")
        if config.patience is not None and len(X_val) == 0:
            raise DigitnetError(
                "patience (early stopping) needs a validation split, but it is empty"
            )
        if config.patience is not None and y_train.ndim == 2:
            raise DigitnetError("patience (early stopping) watches accuracy, which targets lack")
        if (config.label_smoothing or config.mixup) and y_train.ndim == 2:
            raise DigitnetError(
                "label_smoothing and mixup make their targets from integer labels, "
                "not from desired outputs"
            )
        X_train = net.as_input(X_train)
        if y_train.ndim == 2:  # desired outputs, in the network's dtype as a - y needs them
            y_train = y_train.astype(net.dtype, copy=False)
        return cls(X_train, y_train, X_val, y_val, X_test, y_test)


def check_data(net: Network, X: np.ndarray, y: np.ndarray, what: str) -> None:
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


class EarlyStopping:
    """Early stopping's bookkeeping: the best validation accuracy so far, the epochs since it,
    and with ``patience`` the parameters that reached it (training stops after ``patience``
    epochs without a better one, and keeps those). Without a validation split (``watching``
    False) it notes nothing."""

    def __init__(self, patience: int | None, watching: bool) -> None:
        self.patience, self.watching = patience, watching
        self.best_accuracy, self.since_best = -1.0, 0
        self.best: list[np.ndarray] | None = None

    def replay(self, history: History, net: Network, state: TrainingState | None) -> None:
        """Take up the bookkeeping as the epochs in ``history`` left it (and the best
        parameters from ``state``, which holds them as a parameter vector)."""
        if not self.watching:
            return
        for r in history.epochs:
            if r.validation_accuracy > self.best_accuracy:
                self.best_accuracy, self.since_best = r.validation_accuracy, 0
            else:
                self.since_best += 1
        if self.patience is not None and state is not None and state.best is not None:
            self.best = split_like(net, state.best)

    def improved(self, accuracy: float, parameters: Callable[[], list[np.ndarray]]) -> bool:
        """Note an epoch's validation accuracy; True when it is the best so far (then, with
        patience, ``parameters()`` are kept as the best)."""
        if not self.watching:
            return False
        if accuracy > self.best_accuracy:
            self.best_accuracy, self.since_best = accuracy, 0
            if self.patience is not None:
                self.best = parameters()
            return True
        self.since_best += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.since_best >= self.patience


class DivergenceGuard:
    """The weights of the last epoch that ended with finite weights and cost: when the cost
    becomes NaN or infinite (eta too high, most often), training goes back to them and stops."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self.good = net.copy_parameters()

    def check(
        self,
        record: EpochRecord,
        measured: bool,
        lr: float,
        history: History,
        better_lr: float | None = None,
    ) -> None:
        """Keep the weights if the epoch of ``record`` ended well; else restore the last good
        ones and raise :class:`TrainingDiverged`, naming ``better_lr`` to try if given.
        ``measured``: whether ``record.train_cost`` was measured (it is NaN on no examples)."""
        cost_blew_up = measured and not math.isfinite(record.train_cost)
        if cost_blew_up or not all(math.isfinite(p.sum()) for p in self.net.parameters()):
            self.restore()
            history.stopped = "diverged"
            epoch = record.epoch
            raise TrainingDiverged(
                f"the cost became {record.train_cost} in epoch {epoch}: the learning rate "
                f"(lr={lr}) is probably too high; kept the weights "
                + (f"of epoch {epoch - 1}" if epoch > 1 else "it started with")
                + (f"; try --lr {better_lr:g}" if better_lr is not None else ""),
                history,
            )
        self.good = self.net.copy_parameters()

    def restore(self) -> None:
        """Put the last good weights back into the network."""
        self.net.set_parameters(self.good)


def split_like(net: Network, theta: np.ndarray) -> list[np.ndarray]:
    """The parameter vector ``theta`` as arrays shaped like ``net.parameters()``."""
    arrays, offset = [], 0
    for p in net.parameters():
        arrays.append(np.asarray(theta[offset : offset + p.size]).reshape(p.shape))
        offset += p.size
    return arrays


class Callback:
    """Hooks for progress reports. Set ``stop_requested`` to end training after the current
    mini-batch step (the weights are never left half-updated)."""

    stop_requested: bool = False
    batch_report_every: int = 50

    def on_epoch_start(self, epoch: int, n_batches: int) -> None: ...
    def on_batch_start(self, epoch: int, i: int, X: np.ndarray, y: np.ndarray) -> None:
        """Before mini-batch i's step (from 0), with its examples X (m, n_0) and labels y; the
        arrays are reused for the next mini-batch, so copy what you keep."""

    def on_batches(self, epoch: int, done: int, n_batches: int) -> None: ...
    def on_epoch_end(self, record: EpochRecord, network: Network) -> None: ...
