"""What a sweep trains: the base recipe, the swept parameters, and one :class:`RunSpec` per run.

A sweep's runs are every combination of the ``--grid`` values, the ``--random`` samples and the
``--seeds``, each laid over the base recipe (``digitnet train``'s options). A run is identified by
its whole recipe (:func:`run_id`), so the same run asked for twice is the same row in the
database. Everything is checked here, before any run starts: a bad name or value is one
:class:`~digitnet.errors.DigitnetError` line.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict

import numpy as np

from digitnet.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from digitnet.costs import COST_NAMES
from digitnet.engine import ENGINES
from digitnet.errors import DigitnetError
from digitnet.network import INITS, Network
from digitnet.step_rules import OPTIMIZERS, SCHEDULES


@dataclass(frozen=True)
class Parameter:
    """A recipe field a sweep can vary: where it lives and what values it takes."""

    section: str  # "network" or "training"
    key: str  # the field in that section
    kind: str  # "int", "float", "choice" or "sizes"
    choices: tuple[str, ...] = ()


#: The parameters ``--grid`` and ``--random`` accept (``-`` and ``_`` are the same in a name).
PARAMETERS: dict[str, Parameter] = {
    "layers": Parameter("network", "sizes", "sizes"),
    "activation": Parameter("network", "activation", "choice", HIDDEN_ACTIVATIONS),
    "output": Parameter("network", "output", "choice", tuple(ACTIVATIONS)),
    "cost": Parameter("network", "cost", "choice", COST_NAMES),
    "init": Parameter("network", "init", "choice", INITS),
    "dtype": Parameter("network", "dtype", "choice", ("float32", "float64")),
    "optimizer": Parameter("training", "optimizer", "choice", OPTIMIZERS),
    "schedule": Parameter("training", "schedule", "choice", SCHEDULES),
    "engine": Parameter("training", "engine", "choice", ENGINES),
    "lr": Parameter("training", "lr", "float"),
    "momentum": Parameter("training", "momentum", "float"),
    "weight_decay": Parameter("training", "weight_decay", "float"),
    "dropout": Parameter("training", "dropout", "float"),
    "average": Parameter("training", "average", "float"),
    "label_smoothing": Parameter("training", "label_smoothing", "float"),
    "mixup": Parameter("training", "mixup", "float"),
    "step_factor": Parameter("training", "step_factor", "float"),
    "epochs": Parameter("training", "epochs", "int"),
    "batch_size": Parameter("training", "batch_size", "int"),
    "patience": Parameter("training", "patience", "int"),
    "step_every": Parameter("training", "step_every", "int"),
    "monitor": Parameter("training", "monitor", "int"),
}
NOT_SWEPT = {
    "seed": "give the seeds with --seeds, e.g. --seeds 0-4",
    "augment": "give one --augment for every run of the sweep",
}
RANDOM_SAMPLER_SEED = 0  # the k-th random sample is the same in every run of the command
MAX_SEED = 2**32 - 1  # the seeds NumPy's generators have always taken, and SQLite stores
MAX_RUNS = 10_000  # runs in one sweep; the same --db takes more seeds in a later command
TOO_MANY = (
    f"a sweep has at most {MAX_RUNS:,} runs: sweep fewer values, samples or seeds (the same "
    "--db takes more seeds in a later command)"
)


@dataclass
class Axis:
    """One swept parameter: its name and the values (grid) or range (random) it takes."""

    name: str
    values: list[Any] = field(default_factory=list)
    low: float | None = None
    high: float | None = None
    log: bool = False

    @property
    def random(self) -> bool:
        return self.low is not None


class SweepIdentity(TypedDict):
    """What makes two sweeps the same sweep (the key of a sweep database): the base recipe
    without the swept fields and the seed, the names swept, and for a search its sampler and
    pruner."""

    recipe: dict[str, Any]
    swept: list[str]
    search: NotRequired[str]  # "tpe" or "random"; absent in a grid sweep
    prune: NotRequired[str]  # "median"; absent without --prune


@dataclass(frozen=True)
class RunSpec:
    """One training run: its identity, the swept values (without the seed), and its recipe."""

    id: str
    params: dict[str, Any]
    seed: int
    recipe: dict[str, Any]


def parameter(name: str, option: str) -> tuple[str, Parameter]:
    """The canonical name and :class:`Parameter` for ``name``, or one line naming the choices."""
    canonical = name.strip().replace("-", "_")
    if canonical in NOT_SWEPT:
        raise DigitnetError(f"{option} {name}: cannot be swept; {NOT_SWEPT[canonical]}")
    if canonical not in PARAMETERS:
        names = ", ".join(n.replace("_", "-") for n in PARAMETERS)
        raise DigitnetError(f"{option}: unknown parameter {name!r}; choose one of: {names}")
    return canonical, PARAMETERS[canonical]


def parse_value(name: str, param: Parameter, text: str, option: str) -> Any:
    """One value of ``param`` from its text: a whole number, a number, a name or layer sizes."""
    text = text.strip()
    where = f"{option} {name.replace('_', '-')}"
    if param.kind == "int":
        try:
            return int(text)
        except ValueError:
            raise DigitnetError(f"{where}: expected a whole number, got {text!r}") from None
    if param.kind == "float":
        try:
            value = float(text)
        except ValueError:
            raise DigitnetError(f"{where}: expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise DigitnetError(f"{where}: expected a finite number, got {text!r}")
        return value
    if param.kind == "choice":
        if text not in param.choices:
            raise DigitnetError(
                f"{where}: unknown value {text!r}; choose one of: {', '.join(param.choices)}"
            )
        return text
    parts = text.replace("x", "-").split("-")
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        raise DigitnetError(
            f"{where}: expected layer sizes joined by '-', e.g. 784-16-16-10, got {text!r}"
        ) from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise DigitnetError(f"{where}: needs at least two positive layer sizes, got {text!r}")
    return sizes


def parse_grid(text: str) -> Axis:
    """``NAME=V1,V2,...`` -> an :class:`Axis` of those values (layer sizes as 784-16-10)."""
    name, sep, values = text.partition("=")
    if not sep:
        raise DigitnetError(f"--grid {text!r}: expected NAME=V1,V2,... such as lr=0.5,1.5,3")
    name, param = parameter(name, "--grid")
    items = [v for v in values.split(",") if v.strip()]
    if not items:
        raise DigitnetError(f"--grid {name.replace('_', '-')}: the list of values is empty")
    parsed: list[Any] = []
    for item in items:
        value = parse_value(name, param, item, "--grid")
        if value not in parsed:
            parsed.append(value)
    return Axis(name, parsed)


def parse_random(text: str) -> Axis:
    """``NAME=LOW:HIGH[:log]`` -> an :class:`Axis` drawn uniformly (or log-uniformly) within."""
    name, sep, spec = text.partition("=")
    if not sep:
        raise DigitnetError(f"--random {text!r}: expected NAME=LOW:HIGH[:log] such as lr=0.1:3:log")
    name, param = parameter(name, "--random")
    where = f"--random {name.replace('_', '-')}"
    if param.kind not in ("int", "float"):
        raise DigitnetError(f"{where}: only numbers can be drawn at random; use --grid")
    parts = spec.split(":")
    log = len(parts) == 3 and parts[2].strip().lower() == "log"
    if len(parts) not in (2, 3) or (len(parts) == 3 and not log):
        raise DigitnetError(f"{where}: expected LOW:HIGH or LOW:HIGH:log, got {spec!r}")
    low, high = (float(parse_value(name, param, p, "--random")) for p in parts[:2])
    if not low < high:
        raise DigitnetError(f"{where}: LOW must be below HIGH, got {spec!r}")
    if log and low <= 0:
        raise DigitnetError(f"{where}: a log range needs LOW > 0, got {spec!r}")
    return Axis(name, low=low, high=high, log=log)


def parse_seeds(text: str) -> list[int]:
    """``0-4`` or ``0,3,7`` or ``1-3,9`` -> the list of seeds, each in 0 .. :data:`MAX_SEED`, at
    most :data:`MAX_RUNS` of them (counted before any list is made)."""
    ranges: list[tuple[int, int]] = []
    total = 0
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        try:
            lo = int(first)
            hi = int(last) if dash else lo
        except ValueError:
            raise DigitnetError(
                f"--seeds: expected whole numbers like 0-4 or 0,3,7, got {text!r}"
            ) from None
        if lo < 0 or hi < lo:
            raise DigitnetError(f"--seeds: {part.strip()!r} is not a range of seeds >= 0")
        if hi > MAX_SEED:
            raise DigitnetError(
                f"--seeds: {hi} is too large; seeds run from 0 to {MAX_SEED} (2**32 - 1)"
            )
        total += hi - lo + 1
        if total > MAX_RUNS:
            raise DigitnetError(f"--seeds {text}: more than {MAX_RUNS:,} seeds; {TOO_MANY}")
        ranges.append((lo, hi))
    seeds: list[int] = []
    seen: set[int] = set()
    for lo, hi in ranges:
        for s in range(lo, hi + 1):
            if s not in seen:
                seen.add(s)
                seeds.append(s)
    return seeds


def check_seed(seed: int, option: str) -> None:
    """One line if ``seed`` is not one NumPy takes (0 .. 2**32 - 1)."""
    if not 0 <= seed <= MAX_SEED:
        raise DigitnetError(f"{option} {seed}: seeds run from 0 to {MAX_SEED} (2**32 - 1)")


def count_runs(grid: list[Axis], random: list[Axis], samples: int, seeds: list[int]) -> int:
    """How many runs the sweep has, without making them."""
    points = math.prod(len(a.values) for a in grid) * (samples if random else 1)
    return points * len(seeds)


def draw(axes: list[Axis], samples: int) -> list[dict[str, Any]]:
    """``samples`` points of the random axes; the k-th is the same whatever ``samples`` is."""
    rng = np.random.default_rng(RANDOM_SAMPLER_SEED)
    points = []
    for _ in range(samples):
        point: dict[str, Any] = {}
        for axis in axes:
            assert axis.low is not None and axis.high is not None
            if axis.log:
                value = math.exp(rng.uniform(math.log(axis.low), math.log(axis.high)))
            else:
                value = rng.uniform(axis.low, axis.high)
            if PARAMETERS[axis.name].kind == "int":
                point[axis.name] = int(round(value))
            else:
                point[axis.name] = float(f"{value:.4g}")
        points.append(point)
    return points


def base_identity(base: dict[str, Any], swept: list[str]) -> SweepIdentity:
    """The :class:`SweepIdentity` of a grid sweep without a pruner: the base recipe without the
    swept fields and the seed, and the names swept."""
    recipe = copy.deepcopy(base)
    recipe["training"].pop("seed", None)
    for name in swept:
        param = PARAMETERS[name]
        recipe[param.section].pop(param.key, None)
    return {"recipe": recipe, "swept": sorted(swept)}


def run_id(recipe: dict[str, Any]) -> str:
    """A run's identity: a hash of its whole recipe (the seed and every swept value included)."""
    text = json.dumps(recipe, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def plan_runs(
    base: dict[str, Any],
    grid: list[Axis],
    random: list[Axis],
    samples: int,
    seeds: list[int],
    output_given: bool,
) -> list[RunSpec]:
    """Every run of the sweep, in order: grid points, then random samples, then seeds.

    Each run's recipe is checked (the training settings, the network's shape and functions), so
    a value out of range is one line naming the parameter before any run starts. As in
    ``digitnet train``, a cost of ``cross-entropy`` chooses a ``softmax`` output unless the
    output is given or swept.
    """
    names = [a.name for a in grid + random]
    repeated = {n for n in names if names.count(n) > 1}
    if repeated:
        raise DigitnetError(f"parameter {sorted(repeated)[0]} is swept twice; give it once")
    if random and samples < 1:
        raise DigitnetError("--random needs --samples N (how many points to draw), N >= 1")
    if samples and not random:
        raise DigitnetError("--samples draws points of the --random parameters; give --random")
    total = count_runs(grid, random, samples, seeds)
    if total > MAX_RUNS:
        n_points = total // max(len(seeds), 1)
        raise DigitnetError(
            f"the sweep has {total:,} runs ({n_points:,} point{'s' * (n_points != 1)} x "
            f"{len(seeds):,} seed{'s' * (len(seeds) != 1)}); {TOO_MANY}"
        )
    points = draw(random, samples) if random else [{}]
    grid_names = [a.name for a in grid]
    combos = [
        dict(zip(grid_names, values, strict=True))
        for values in itertools.product(*[a.values for a in grid])
    ]
    runs: list[RunSpec] = []
    checked: set[str] = set()  # the swept values (as JSON) whose recipe is checked
    for combo in combos:
        for point in points:
            params = {**combo, **point}
            for seed in seeds:
                recipe = with_params(base, params, seed, output_given)
                key = json.dumps(params, sort_keys=True)
                if key not in checked:
                    check_recipe(recipe, params)
                    checked.add(key)
                runs.append(RunSpec(run_id(recipe), params, seed, recipe))
    return runs


def with_params(
    base: dict[str, Any], params: dict[str, Any], seed: int, output_given: bool
) -> dict[str, Any]:
    """The base recipe with ``params`` and the seed laid over it."""
    recipe = copy.deepcopy(base)
    for name, value in params.items():
        param = PARAMETERS[name]
        recipe[param.section][param.key] = value
    if params.get("cost") == "cross-entropy" and "output" not in params and not output_given:
        recipe["network"]["output"] = "softmax"
    recipe["training"]["seed"] = seed
    return recipe


def check_recipe(recipe: dict[str, Any], params: dict[str, Any]) -> None:
    """One line naming the swept values if this recipe cannot be trained."""
    from digitnet.settings import make_config

    try:
        make_config(recipe["training"], recipe["augment"])
        Network.from_config(recipe["network"], seed=0)
    except DigitnetError as err:
        where = ", ".join(f"{k.replace('_', '-')}={describe(v)}" for k, v in params.items())
        raise DigitnetError(f"{where or 'the base recipe'}: {err}") from None


def describe(value: Any) -> str:
    """A swept value as the command line writes it (layer sizes as 784-16-10)."""
    if isinstance(value, list):
        return "-".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)
