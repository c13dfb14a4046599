"""How a network is trained: :class:`TrainConfig`, and the recipe sections that make one.

A recipe (what ``digitnet train`` writes into a model file, what a sweep varies) has a
``training`` section, the fields of :class:`TrainConfig`, and an ``augment`` section, the fields
of :class:`digitnet.data.Augmentation`; :func:`make_config` turns the two into a checked
config. The named recipes are in :mod:`digitnet.presets`. This module sits just above the math:
it names the step rules and schedules of :mod:`digitnet.step_rules` and imports nothing that
trains.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from digitnet.data.augment import Augmentation
from digitnet.errors import DigitnetError
from digitnet.step_rules import OPTIMIZERS, SCHEDULES, learning_rate

#: What computes each step: the fast engine (:mod:`digitnet.engine`) or the plain NumPy of
#: :mod:`digitnet.network`; both take the same steps.
ENGINES = ("fast", "reference")


@dataclass
class TrainConfig:
    """Everything that decides how the network is trained (the network's shape lives in it).

    ``lr`` is eta. ``weight_decay`` is the L2 penalty lambda: the cost gains (lambda/2) sum w^2 over
    all weights (not biases), so each step adds lambda W to dC/dW. ``dropout`` is the probability
    of switching off each hidden neuron during training. ``patience`` turns on early stopping: stop
    after that many epochs without a better validation accuracy, and keep the best weights.
    ``augment`` is a ``digitnet.data.Augmentation`` applied to each mini-batch, or None.
    ``average`` is beta of weight averaging (:mod:`digitnet.averaging`): with it, the running
    average of the weights over about the last 1 / (1 - beta) steps is the network that is
    measured and kept; 0 keeps the last weights.
    ``label_smoothing`` is epsilon: each step asks for (1 - epsilon) on the right class and
    epsilon / K spread over all K, instead of a one-hot vector. ``mixup`` is alpha: each step
    trains on the mini-batch blended with a shuffled copy of itself, inputs and targets alike,
    by a lambda ~ Beta(alpha, alpha) (:mod:`digitnet.soft_targets`); 0 turns either off.
    ``engine`` computes each step: ``"fast"`` (:mod:`digitnet.engine`, the default) or
    ``"reference"`` (the plain NumPy of :mod:`digitnet.network`); both take the same steps.
    """

    epochs: int = 30
    batch_size: int = 10
    lr: float = 1.5
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0
    dropout: float = 0.0
    schedule: str = "constant"
    step_every: int = 10
    step_factor: float = 0.5
    patience: int | None = None
    augment: Any = None
    average: float = 0.0
    label_smoothing: float = 0.0
    mixup: float = 0.0
    seed: int = 0
    monitor: int = 10_000
    engine: str = "fast"

    def validate(self) -> None:
        """Raise a DigitnetError naming the first parameter that makes no sense."""
        checks = [
            ("epochs", self.epochs >= 1, "must be at least 1"),
            ("batch_size", self.batch_size >= 1, "must be at least 1"),
            ("lr", math.isfinite(self.lr) and self.lr > 0, "must be a positive number"),
            ("momentum", 0 <= self.momentum < 1, "must be in [0, 1)"),
            (
                "weight_decay",
                math.isfinite(self.weight_decay) and self.weight_decay >= 0,
                "must be a finite number >= 0",
            ),
            ("dropout", 0 <= self.dropout < 1, "must be in [0, 1)"),
            ("average", 0 <= self.average < 1, "must be in [0, 1)"),
            ("label_smoothing", 0 <= self.label_smoothing < 1, "must be in [0, 1)"),
            (
                "mixup",
                math.isfinite(self.mixup) and self.mixup >= 0,
                "must be a finite number >= 0",
            ),
            ("step_every", self.step_every >= 1, "must be at least 1"),
            ("step_factor", 0 < self.step_factor <= 1, "must be in (0, 1]"),
            ("patience", self.patience is None or self.patience >= 1, "must be at least 1"),
            ("monitor", self.monitor >= 0, "must not be negative"),
            ("seed", isinstance(self.seed, int) and self.seed >= 0, "must be a whole number >= 0"),
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
        if self.engine not in ENGINES:
            raise DigitnetError(
                f"unknown engine {self.engine!r}; choose one of: {', '.join(ENGINES)}"
            )

    def lr_at(self, progress: float) -> float:
        """eta at ``progress`` epochs into training, by the schedule (see ``learning_rate``)."""
        return learning_rate(
            self.schedule, self.lr, progress, self.epochs, self.step_every, self.step_factor
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.augment is not None:
            d["augment"] = asdict(self.augment)
        return d


def make_config(training: dict[str, Any], augment: dict[str, Any] | None) -> TrainConfig:
    """The checked :class:`TrainConfig` of a recipe's ``training`` and ``augment`` sections."""
    config = TrainConfig(**training)
    if augment:
        config.augment = Augmentation(**augment)
    config.validate()
    return config
