"""Sweeps that search: Optuna's TPE sampler proposes each run from the results so far.

``digitnet sweep run --search tpe --trials N`` searches the ``--random`` ranges and the
``--grid`` choices for the best validation accuracy. The sweep's SQLite database stays the one
record: each trial is a run there, as in any sweep, and Optuna's study lives in memory, rebuilt
from the runs already recorded (:meth:`Search.__init__`), so the same command run again continues
to N trials in all.

Trials ask the sampler for a point when a worker is free (at most one per worker thread at a
time), so a trial is proposed knowing every run finished before it.

With ``--prune median`` a run stops after an epoch whose validation accuracy is below the median
of the runs recorded so far at that same epoch (as Optuna's ``MedianPruner`` compares them, after
:data:`PRUNE_STARTUP` recorded runs); it is recorded with status ``pruned``. The medians live on
the scheduler (:class:`digitnet.sweep.cluster.SharedMedians`), published each time a run is
recorded, and a run reads them after each epoch: it is compared with the runs recorded by then,
those that finished while it trained among them.

Optuna is an optional extra (``pip install 'digitnet[search]'``), imported only here.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from digitnet.errors import DigitnetError
from digitnet.sweep.plan import (
    PARAMETERS,
    Axis,
    RunSpec,
    check_recipe,
    describe,
    run_id,
    with_params,
)

INSTALL_HINT = "pip install 'digitnet[search]'"
# grid: the --grid, --random and --seeds plan, every run of it; tpe and random: --trials points
# of Optuna's TPESampler or RandomSampler
SEARCHES = ("grid", "tpe", "random")
PRUNERS = ("none", "median")
PRUNE_STARTUP = 5  # recorded runs before any run is pruned (Optuna's MedianPruner's default)
MAX_REPEATS = 100  # points already tried that the sampler may propose in a row before it ends


def import_optuna(search: str = "tpe") -> Any:
    """The ``optuna`` module, or one line saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise DigitnetError(
            f"--search {search} uses Optuna, which is not installed; install it with: "
            f"{INSTALL_HINT}"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def distributions(axes: list[Axis], search: str = "tpe") -> dict[str, Any]:
    """Optuna's distribution of each swept parameter: a range for ``--random``, the choices of
    ``--grid`` (layer sizes as the text 784-16-10, since Optuna's choices are plain values)."""
    optuna = import_optuna(search)
    dist: dict[str, Any] = {}
    for axis in axes:
        kind = PARAMETERS[axis.name].kind
        if axis.random:
            assert axis.low is not None and axis.high is not None
            if kind == "int":  # --random parses an int range's ends as whole numbers
                dist[axis.name] = optuna.distributions.IntDistribution(
                    int(axis.low), int(axis.high), log=axis.log
                )
            else:
                dist[axis.name] = optuna.distributions.FloatDistribution(
                    axis.low, axis.high, log=axis.log
                )
        else:
            choices = tuple(describe(v) if kind == "sizes" else v for v in axis.values)
            dist[axis.name] = optuna.distributions.CategoricalDistribution(choices)
    return dist


def _to_optuna(name: str, value: Any) -> Any:
    return describe(value) if PARAMETERS[name].kind == "sizes" else value


def _from_optuna(name: str, value: Any) -> Any:
    kind = PARAMETERS[name].kind
    if kind == "sizes":
        return [int(v) for v in str(value).split("-")]
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(f"{value:.4g}")  # as --random draws them: 4 significant digits
    return value


def check_space(
    base: dict[str, Any], axes: list[Axis], seed: int, output_given: bool, search: str = "tpe"
) -> dict[str, Any]:
    """The search space, each end of each range and each choice checked on the base recipe
    (one line naming the value that cannot be trained)."""
    if not axes:
        raise DigitnetError(
            f"--search {search} needs something to search: give ranges with --random NAME=LOW:HIGH "
            "or choices with --grid NAME=V1,V2"
        )
    dist = distributions(axes, search)
    for axis in axes:
        values: list[Any] = axis.values
        if axis.random:
            assert axis.low is not None and axis.high is not None
            values = [axis.low, axis.high]
        for value in values:
            if PARAMETERS[axis.name].kind == "int":
                value = int(round(value))
            params = {axis.name: value}
            check_recipe(with_params(base, params, seed, output_given), params)
    return dist


class Search:
    """Optuna's study over the swept parameters, rebuilt from the runs already recorded.

    :meth:`ask` proposes the next runs (each a :class:`RunSpec`, its recipe the base one with the
    proposed values and the seed), :meth:`tell` gives a recorded run's validation accuracy back.
    """

    def __init__(
        self,
        base: dict[str, Any],
        space: dict[str, Any],
        seed: int,
        output_given: bool,
        trials: int,
        recorded: list[dict[str, Any]],
        sampler_name: str = "tpe",
    ) -> None:
        optuna = import_optuna(sampler_name)
        self._optuna = optuna
        self.base, self.space, self.seed, self.output_given = base, space, seed, output_given
        # a new sampler seed for every continuation: the same seed would propose the first
        # command's startup points again
        samplers = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler}
        sampler = samplers[sampler_name](seed=(seed + len(recorded)) % 2**32)
        self.study = optuna.create_study(direction="maximize", sampler=sampler)
        self.values: dict[str, float | None] = {}  # run id -> validation accuracy (None: none)
        for run in recorded:
            self.values[run["id"]] = _value(run)
            params = {n: _to_optuna(n, v) for n, v in run["params"].items()}
            value = self.values[run["id"]]
            state = optuna.trial.TrialState
            try:
                trial = optuna.trial.create_trial(
                    params=params,
                    distributions=space,
                    value=value,
                    state=state.COMPLETE if value is not None else state.FAIL,
                )
            except ValueError:  # recorded under another range: counted, but not in this space
                continue
            self.study.add_trial(trial)
        self.remaining = max(0, trials - len(recorded))
        self._trials: dict[str, Any] = {}  # run id in flight -> its Optuna trial

    def ask(self, n: int) -> list[RunSpec]:
        """Up to ``n`` new runs (fewer once the trials are all handed out)."""
        specs: list[RunSpec] = []
        repeats = 0
        while len(specs) < n and self.remaining > 0:
            trial = self.study.ask(self.space)
            params = {name: self._value_of(name, v) for name, v in trial.params.items()}
            recipe = with_params(self.base, params, self.seed, self.output_given)
            spec = RunSpec(run_id(recipe), params, self.seed, recipe)
            if spec.id in self.values or spec.id in self._trials:
                # a point already trained (a choice proposed again): its result, not a new run
                value = self.values.get(spec.id)
                state = self._optuna.trial.TrialState
                if value is None:
                    self.study.tell(trial, state=state.FAIL)
                else:
                    self.study.tell(trial, value)
                repeats += 1
                if repeats >= MAX_REPEATS:  # the space is used up
                    self.remaining = 0
                continue
            self._trials[spec.id] = trial
            self.remaining -= 1
            specs.append(spec)
        return specs

    def _value_of(self, name: str, value: Any) -> Any:
        """A proposed value as the recipe takes it, rounded as ``--random`` rounds and kept
        within its range."""
        value = _from_optuna(name, value)
        dist = self.space[name]
        if isinstance(value, float) and hasattr(dist, "low"):
            value = min(max(value, dist.low), dist.high)
        return value

    def tell(self, spec: RunSpec, result: dict[str, Any]) -> None:
        """The run's validation accuracy back to the study (a diverged or pruned run as
        Optuna's failed or pruned trial)."""
        trial = self._trials.pop(spec.id, None)
        value = _value(result)
        self.values[spec.id] = value
        if trial is None:
            return
        state = self._optuna.trial.TrialState
        if result.get("status") == "pruned":
            self.study.tell(trial, state=state.PRUNED)
        elif value is None:
            self.study.tell(trial, state=state.FAIL)
        else:
            self.study.tell(trial, value)


def _value(run: dict[str, Any]) -> float | None:
    if run.get("status") in ("diverged", "pruned"):
        return None
    value = run.get("validation_accuracy")
    return float(value) if value is not None and math.isfinite(value) else None


def epoch_medians(recorded: list[dict[str, Any]]) -> list[float]:
    """The median validation accuracy of the recorded runs at each epoch (index 0 is epoch 1),
    over the runs that reached it; empty before :data:`PRUNE_STARTUP` runs are recorded."""
    if len(recorded) < PRUNE_STARTUP:
        return []
    by_epoch: dict[int, list[float]] = {}
    for run in recorded:
        for record in run.get("history") or []:
            value = record.get("validation_accuracy")
            if value is not None and math.isfinite(value):
                by_epoch.setdefault(int(record["epoch"]), []).append(float(value))
    medians = []
    for epoch in range(1, max(by_epoch, default=0) + 1):
        values = by_epoch.get(epoch)
        medians.append(statistics.median(values) if values else -math.inf)
    return medians
