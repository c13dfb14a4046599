"""``digitnet sweep run`` and ``digitnet sweep show``: many training runs on Dask, in SQLite.

``sweep run`` takes every option of ``digitnet train`` as the base recipe and trains one run per
combination of ``--grid`` values, ``--random`` samples and ``--seeds``, on a Dask LocalCluster
(one single-threaded worker process per core) or on the cluster of ``--scheduler ADDRESS``. Each
finished run is one row of the ``--db`` file. With ``--search tpe --trials N`` Optuna's TPE sampler
proposes the runs instead (:mod:`digitnet.sweep.search`), and ``--prune median`` stops runs
below the median after an epoch. Rerunning the same command skips the runs already
there; the first Ctrl-C (or SIGTERM) hands out no more runs, waits for those in flight and says
how to continue, a second one cancels them on the workers. Everything is checked before any run
starts, each number against its limit (:data:`digitnet.commands.MAX_WAIT`,
:data:`digitnet.sweep.plan.MAX_RUNS`,
:data:`digitnet.sweep.plan.MAX_SEED`, :data:`WORKERS_PER_CORE`).

One driver writes a database at a time: it records its pid and host there, renews a heartbeat
every few seconds, and notes each run it hands out. A new driver finds the runs of one that died
(killed, or its machine gone) and cancels them on the workers before it starts its own.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import signal
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digitnet.commands import MAX_WAIT, positive_int, wait_seconds
from digitnet.commands.train import (
    TRAINING_OPTIONS,
    add_training_options,
    load_data,
    make_config,
    recipe_from_args,
)
from digitnet.errors import DigitnetError
from digitnet.presets import get_preset
from digitnet.sweep import plan, search, store
from digitnet.sweep.plan import RunSpec, describe

if TYPE_CHECKING:
    from distributed import Client

    from digitnet.data import Dataset

DEFAULT_DB = Path("runs/sweep.db")
WORKERS_PER_CORE = 4  # --workers at most this many LocalCluster processes per core


def register(subparsers: Any) -> None:
    sweep = subparsers.add_parser(
        "sweep",
        help="train many networks on Dask and compare them",
        description="Train every combination of a few recipe settings on a Dask cluster, and "
        "compare them.",
    )
    sweep.set_defaults(func=lambda args: _usage(sweep))
    commands = sweep.add_subparsers(
        dest="sweep_command", metavar="COMMAND", parser_class=type(sweep)
    )

    run = commands.add_parser(
        "run",
        help="train every run of a sweep (skipping those already in --db)",
        description="Train one network per combination of --grid values, --random samples and "
        "--seeds, each on the recipe the other options give (as for digitnet train), on Dask. "
        "Each finished run is a row of --db; rerun the same command to continue.",
    )
    add_training_options(run)
    s = run.add_argument_group("sweep")
    s.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=V1,V2,...",
        help="values of one parameter, e.g. lr=0.5,1.5,3 or layers=784-16-10,784-32-10 "
        f"(repeatable; parameters: {', '.join(n.replace('_', '-') for n in plan.PARAMETERS)})",
    )
    s.add_argument(
        "--random",
        action="append",
        default=[],
        metavar="NAME=LOW:HIGH[:log]",
        help="draw a number parameter uniformly (or log-uniformly) in a range, --samples times",
    )
    s.add_argument("--samples", type=positive_int, default=0, help="points drawn for --random")
    s.add_argument("--seeds", help="seeds of every point, e.g. 0-4 or 0,3,7 (default: --seed)")
    s.add_argument(
        "--search",
        choices=search.SEARCHES,
        default="grid",
        help="grid: every point of --grid and --samples of --random (default); tpe: --trials "
        "points proposed by Optuna's TPE sampler within the --random ranges and --grid choices, "
        "each from the validation accuracies so far; random: --trials points drawn by Optuna's "
        "RandomSampler there (both need digitnet[search])",
    )
    s.add_argument("--trials", type=positive_int, help="the runs of --search tpe or random, in all")
    s.add_argument(
        "--prune",
        choices=search.PRUNERS,
        default="none",
        help="median: stop a run after an epoch whose validation accuracy is below the median "
        f"of the runs recorded so far at that epoch (after {search.PRUNE_STARTUP} runs); it is "
        "recorded as pruned",
    )
    s.add_argument(
        "--train-images",
        type=positive_int,
        help="train on the first N training images only (quick sweeps)",
    )
    s.add_argument(
        "--db", type=Path, default=DEFAULT_DB, help=f"the database (default {DEFAULT_DB})"
    )
    s.add_argument(
        "--save-models",
        action="store_true",
        help="also write each run's model to the folder DB-models/ beside the database",
    )
    s.add_argument(
        "--log-dir", type=Path, help="also log each run to DIR/RUN-ID/ (see docs/tracking.md)"
    )
    c = run.add_argument_group("cluster")
    c.add_argument(
        "--workers",
        type=positive_int,
        help=f"LocalCluster processes (default: cores; at most {WORKERS_PER_CORE} per core)",
    )
    c.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler instead")
    c.add_argument(
        "--timeout",
        type=wait_seconds,
        default=10.0,
        help="seconds to wait for the scheduler and its first worker, and for a worker to take "
        f"the data again should it be lost with its workers (default 10, at most {MAX_WAIT:g})",
    )
    run.set_defaults(func=run_sweep)

    show = commands.add_parser(
        "show",
        help="the runs of a sweep, grouped by the swept values, best first",
        description="One row per point of the sweep: the median and the range over its seeds, "
        "best median validation accuracy first.",
    )
    show.add_argument("db", type=Path, metavar="DB")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.add_argument(
        "--metric",
        choices=("accuracy", "test"),
        default="accuracy",
        help="rank by the median validation accuracy (default; test accuracy without a "
        "validation split) or by the median test accuracy",
    )
    show.set_defaults(func=show_sweep)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


# -- sweep run -----------------------------------------------------------------------------------
def plan_from_args(args: argparse.Namespace) -> tuple[dict[str, Any], list[str], list[RunSpec]]:
    """The base recipe, the swept names and every run, all checked (one line if not)."""
    if args.scheduler and args.workers:
        raise DigitnetError("--workers sizes a LocalCluster; with --scheduler, its workers run")
    if args.seeds is not None and args.seed is not None:
        raise DigitnetError("give the seeds with --seeds alone, not --seed as well")
    if args.workers:
        from digitnet.sweep.cluster import default_workers

        cores = default_workers()
        if args.workers > WORKERS_PER_CORE * cores:
            raise DigitnetError(
                f"--workers {args.workers}: at most {WORKERS_PER_CORE * cores} on this machine "
                f"({WORKERS_PER_CORE} per core, and it has {cores})"
            )
    if args.scheduler:
        from digitnet.sweep.cluster import check_address

        check_address(args.scheduler)
    if args.seed is not None:
        plan.check_seed(args.seed, "--seed")
    base = recipe_from_args(args)
    _check_training_options(args, base)
    base["train_images"] = args.train_images
    grid = [plan.parse_grid(text) for text in args.grid]
    random = [plan.parse_random(text) for text in args.random]
    seeds = plan.parse_seeds(args.seeds) if args.seeds is not None else [args.seed or 0]
    runs = plan.plan_runs(base, grid, random, args.samples, seeds, args.output is not None)
    return base, [a.name for a in grid + random], runs


def search_from_args(
    args: argparse.Namespace,
) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """For ``--search tpe`` and ``--search random``: the base recipe, the swept names and
    Optuna's search space, all checked (one line if not)."""
    if args.trials is None:
        raise DigitnetError(
            f"--search {args.search} needs --trials N, how many runs to train in all"
        )
    if args.samples:
        raise DigitnetError(
            f"--search {args.search} proposes its own points: give --trials N, not --samples"
        )
    if args.seeds is not None:
        raise DigitnetError(
            f"--search {args.search} trains each trial on one seed: give --seed, not --seeds"
        )
    if args.trials > plan.MAX_RUNS:
        raise DigitnetError(f"--trials {args.trials}: {plan.TOO_MANY}")
    seed = args.seed or 0
    grid = [plan.parse_grid(text) for text in args.grid]
    random = [plan.parse_random(text) for text in args.random]
    names = [a.name for a in grid + random]
    repeated = {n for n in names if names.count(n) > 1}
    if repeated:
        raise DigitnetError(f"parameter {sorted(repeated)[0]} is swept twice; give it once")
    base, _, _ = plan_from_args(argparse.Namespace(**{**vars(args), "grid": [], "random": []}))
    space = search.check_space(base, grid + random, seed, args.output is not None, args.search)
    return base, names, space


def _check_validation(args: argparse.Namespace, base: dict[str, Any]) -> None:
    """A search and a pruner compare runs by validation accuracy: one line without a split."""
    if base["validation"]:
        return
    if args.prune != "none":
        raise DigitnetError(
            f"--prune {args.prune} compares validation accuracies, and --validation 0 leaves no "
            "validation split: give --validation N"
        )
    if args.search != "grid":
        raise DigitnetError(
            f"--search {args.search} ranks trials by validation accuracy, and --validation 0 "
            "leaves no validation split: give --validation N"
        )


def _check_training_options(args: argparse.Namespace, base: dict[str, Any]) -> None:
    """One line naming the flag of a training option whose value is out of its range."""
    preset = dict(get_preset(base["preset"]).training)
    for name in TRAINING_OPTIONS:
        value = getattr(args, name, None)
        if value is None:
            continue
        try:
            make_config({**preset, name: value}, None)
        except DigitnetError as err:
            raise DigitnetError(f"--{name.replace('_', '-')} {value}: {err}") from None


def _check_writable(folder: Path, what: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise DigitnetError(f"cannot write {what} in {folder} ({err.strerror})") from None


def models_folder(db: Path) -> Path:
    return db.with_name(db.stem + "-models")


def run_sweep(args: argparse.Namespace) -> int:
    db: Path = args.db
    store.is_file(db)  # a folder, a device or a pipe is refused before any work
    searcher: search.Search | None = None
    space: dict[str, Any] = {}  # Optuna's distributions of --search tpe or random
    if args.search != "grid":
        base, swept, space = search_from_args(args)
        runs: list[RunSpec] = []
    else:
        if args.trials is not None:
            raise DigitnetError(
                "--trials counts the runs of --search tpe or random; a grid sweep runs all"
            )
        base, swept, runs = plan_from_args(args)
    _check_validation(args, base)
    identity = plan.base_identity(base, swept)
    if args.search != "grid":
        identity["search"] = args.search
    if args.prune != "none":
        identity["prune"] = args.prune
    done = store.check(db, identity)
    if args.search != "grid":
        recorded = store.read(db).runs if done else []
        searcher = search.Search(
            base, space, args.seed or 0, args.output is not None, args.trials, recorded, args.search
        )
        names = ", ".join(n.replace("_", "-") for n in swept)
        kind = "TPE search" if args.search == "tpe" else "random search"
        print(
            f"sweep: {args.trials} trials of {kind} over {names} (seed {args.seed or 0}), "
            f"{len(done)} already in {db}",
            flush=True,
        )
        todo: list[RunSpec] = []
        left = searcher.remaining
    else:
        todo = [r for r in runs if r.id not in done]
        print(
            f"sweep: {len(runs)} runs ({_what_is_swept(swept, runs)}), {len(runs) - len(todo)} "
            f"already in {db}",
            flush=True,
        )
        left = len(todo)
    if not left:
        print(f"nothing to run; see them with: digitnet sweep show {db}")
        return 0
    _check_writable(db.parent, "the database")
    if args.save_models:
        _check_writable(models_folder(db), "the models")
    if args.log_dir is not None:
        from digitnet.tracking import check_logging

        check_logging(args.log_dir)
    data = load_data(base["dataset"], args.data_dir, base["validation"], args.download)
    _check_shapes(runs or _search_probes(base, space, args.output is not None), data)
    if args.train_images:
        data = replace(
            data,
            X_train=data.X_train[: args.train_images],
            y_train=data.y_train[: args.train_images],
        )
    from digitnet.model_io import dataset_record
    from digitnet.sweep import cluster

    data_meta = dataset_record(data)
    store.check_data(db, data_meta)
    print(f"data: {data.source}", flush=True)
    with cluster.connect(args.scheduler, args.workers, args.timeout) as client:
        print(f"cluster: {cluster.describe_cluster(client)}", flush=True)
        print(cluster.describe_dashboard(client), flush=True)
        conn = store.open_for_writing(db, identity, data_meta)
        me = store.Driver.me(uuid.uuid4().hex, cluster.scheduler_address(client))
        try:
            _cancel_orphans(client, store.claim(conn, me))
            with store.Heartbeat(db, me) as heartbeat:
                return _execute(args, client, todo, data, conn, me, heartbeat, searcher, left)
        finally:
            try:
                store.release(conn, me)
            except DigitnetError:  # the disk is full, say: the lease runs out by itself
                pass
            conn.close()


def _cancel_orphans(client: Client, orphans: list[store.Orphan]) -> None:
    """Cancel on the workers the runs dead drivers handed out, and say so."""
    from digitnet.sweep import cluster

    if not orphans:
        return
    cluster.cancel_keys(client, [o.key for o in orphans])
    drivers = ", ".join(sorted({o.driver.describe() for o in orphans}))
    n = len(orphans)
    print(
        f"cancelled {n} run{'s' * (n != 1)} on the workers that the sweep of {drivers} handed "
        f"out and never recorded (it ended); they run again here",
        flush=True,
    )


def _execute(
    args: argparse.Namespace,
    client: Client,
    todo: list[RunSpec],
    data: Dataset,
    conn: sqlite3.Connection,
    me: store.Driver,
    heartbeat: store.Heartbeat,
    searcher: search.Search | None = None,
    total: int = 0,
) -> int:
    from tqdm import tqdm

    from digitnet.sweep import cluster

    db: Path = args.db
    bar = tqdm(total=total, unit="run", file=sys.stderr, disable=None, mininterval=0.5)
    counts = {"diverged": 0, "pruned": 0}
    # the runs the pruner compares with: those that ran to their end
    recorded = (
        [r for r in store.read(db).runs if r["status"] != "pruned"] if args.prune != "none" else []
    )
    # the medians by epoch as runs train: on the scheduler, brought up to date as runs finish
    shared = cluster.SharedMedians(client) if args.prune != "none" else None
    if shared is not None:
        shared.publish(search.epoch_medians(recorded))
    keys: dict[str, str] = {}  # run id -> the Dask key it runs as

    def started(spec: RunSpec, key: str) -> None:
        store.started(conn, me, key, spec.id)
        keys[spec.id] = key

    def record(spec: RunSpec, result: dict[str, Any]) -> None:
        parameters = result.pop("parameters", None)
        if args.log_dir is not None:
            from digitnet.tracking import log_sweep_run

            log_sweep_run(args.log_dir / spec.id, spec.recipe, result, parameters)
        saved = parameters and args.save_models
        model = _save_model(db, spec, result, parameters, data) if saved else None
        row = {
            **result,
            "id": spec.id,
            "params": spec.params,
            "seed": spec.seed,
            "recipe": spec.recipe,
            "model": None if model is None else str(model),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        store.insert(conn, row, keys.pop(spec.id, None))
        if searcher is not None:
            searcher.tell(spec, result)
        if shared is not None and result["status"] != "pruned":
            recorded.append(row)
            shared.publish(search.epoch_medians(recorded))
        counts["diverged"] += result["status"] == "diverged"
        counts["pruned"] += result["status"] == "pruned"
        bar.update(1)

    want_parameters = bool(args.save_models or args.log_dir)  # the log draws the weights
    start = time.perf_counter()
    with _stop_on_signals() as stop:
        try:
            outcome = cluster.execute(
                client,
                todo,
                data,
                record,
                lambda: stop.requested or heartbeat.lost is not None,
                want_parameters,
                started=started,
                more=searcher.ask if searcher is not None else None,
                options=(
                    (
                        lambda spec: {
                            "prune_below": search.epoch_medians(recorded),
                            "medians": shared.name,
                        }
                    )
                    if shared is not None
                    else None
                ),
                worker_timeout=args.timeout,
            )
        except KeyboardInterrupt:
            bar.close()
            print(_continue_line("aborted", db, conn), file=sys.stderr)
            return 130
        finally:
            bar.close()
            if shared is not None:
                shared.delete()
    seconds = time.perf_counter() - start
    notes = [f"{counts[k]} {k}" for k in ("diverged", "pruned") if counts[k]]
    diverged = f" ({', '.join(notes)})" if notes else ""
    again = (
        f"; lost with its workers, it was sent again {_times(outcome.scattered_again)}"
        if outcome.scattered_again
        else ""
    )
    print(
        f"recorded {outcome.recorded} runs{diverged} in {db} in {seconds:.1f} s (the data "
        f"reached the workers in {outcome.scatter_seconds:.1f} s{again})"
    )
    if heartbeat.lost is not None:
        raise DigitnetError(f"{heartbeat.lost}; no more runs were handed out")
    if outcome.stopped or (searcher is not None and searcher.remaining and stop.requested):
        print(_continue_line("interrupted", db, conn), file=sys.stderr)
        return 130
    if outcome.failed:
        spec, reason = outcome.failed[0]
        print(
            f"digitnet: error: {len(outcome.failed)} runs failed on the workers (the first, "
            f"{_point(spec)}: {reason}); rerun the same command to retry them",
            file=sys.stderr,
        )
        return 1
    print(f"see them with: digitnet sweep show {db}")
    return 0


def _continue_line(what: str, db: Path, conn: sqlite3.Connection) -> str:
    recorded = store.count(conn)
    argv = sys.argv[1:]
    command = (
        shlex.join(["digitnet", *argv]) if argv[:2] == ["sweep", "run"] else "the same command"
    )
    return f"{what}: {recorded} runs are recorded in {db}; continue with: {command}"


@dataclass
class StopRequest:
    """Whether a signal has asked the sweep to stop handing out runs."""

    requested: bool = False


@contextmanager
def _stop_on_signals() -> Iterator[StopRequest]:
    """The first Ctrl-C or SIGTERM asks the sweep to stop handing out runs; a second one raises
    KeyboardInterrupt."""
    stop = StopRequest()

    def handler(signum: int, frame: Any) -> None:
        if stop.requested:
            raise KeyboardInterrupt
        stop.requested = True
        print(
            "stopping: no more runs are handed out; waiting for those in flight (Ctrl-C again "
            "to cancel them)",
            file=sys.stderr,
            flush=True,
        )

    previous = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, handler)
    except ValueError:  # not the main thread
        pass
    try:
        yield stop
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _search_probes(
    base: dict[str, Any], space: dict[str, Any], output_given: bool
) -> list[RunSpec]:
    """A run of each layer sizes a search may choose (the base recipe's if it chooses none),
    for :func:`_check_shapes`."""
    choices = getattr(space.get("layers"), "choices", None)
    if not choices:
        return [RunSpec("base", {}, 0, base)]
    probes = []
    for text in choices:
        params = {"layers": [int(v) for v in str(text).split("-")]}
        probes.append(RunSpec("probe", params, 0, plan.with_params(base, params, 0, output_given)))
    return probes


def _check_shapes(runs: list[RunSpec], data: Dataset) -> None:
    """One line if a network's first or last layer does not fit the data."""
    n_in, n_out = data.X_train.shape[1], data.n_classes
    for spec in runs:
        sizes = spec.recipe["network"]["sizes"]
        if sizes[0] != n_in or sizes[-1] != n_out:
            raise DigitnetError(
                f"{_point(spec)}: layers {describe(sizes)} do not fit {data.name}, whose images "
                f"have {n_in} pixels and {n_out} classes: the layers must run {n_in}-...-{n_out}"
            )


def _save_model(
    db: Path, spec: RunSpec, result: dict[str, Any], parameters: list[Any], data: Dataset
) -> Path:
    from digitnet.model_io import save_model
    from digitnet.network import Network
    from digitnet.train import History

    net = Network.from_config(spec.recipe["network"], seed=spec.seed)
    net.set_parameters(parameters)
    history = History.from_dict(
        {"epochs": result["history"], "stopped": result["status"], "best_epoch": None}
    )
    path = models_folder(db) / f"{spec.id}.npz"
    save_model(path, net, recipe=spec.recipe, dataset=data, history=history, sweep_run=spec.id)
    return path


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _point(spec: RunSpec) -> str:
    values = [f"{k.replace('_', '-')}={describe(v)}" for k, v in spec.params.items()]
    return " ".join([*values, f"seed={spec.seed}"])


def _what_is_swept(swept: list[str], runs: list[RunSpec]) -> str:
    seeds = len({r.seed for r in runs})
    points = len(runs) // max(seeds, 1)
    names = ", ".join(n.replace("_", "-") for n in swept) or "no parameter"
    return f"{points} point{'s' * (points != 1)} of {names} x {seeds} seed{'s' * (seeds != 1)}"


# -- sweep show ----------------------------------------------------------------------------------
def show_sweep(args: argparse.Namespace) -> int:
    sweep = store.read(args.db)
    ranked = store.groups(sweep.runs)
    if args.metric == "test":
        ranked.sort(key=lambda g: -g.median("test_accuracy") if g.values("test_accuracy") else 1)
    if args.json:
        print(json.dumps(_as_json(sweep, ranked), indent=2))
        return 0
    swept = sweep.swept
    print(
        f"{args.db}: {len(sweep.runs)} runs, {len(ranked)} points; swept "
        f"{', '.join(n.replace('_', '-') for n in swept) or 'only seeds'}; best "
        f"{'test' if args.metric == 'test' else 'validation'} accuracy first"
    )
    pruned = any(g.pruned for g in ranked)
    if not ranked:
        return 0
    columns = [n.replace("_", "-") for n in swept]
    cells = [[describe(g.params.get(n)) for n in swept] for g in ranked]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    head = "  ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True))
    print(
        f"{head}{'  ' if head else ''}{'runs':>4}  {'valid (min-max)':>21}  "
        f"{'test (min-max)':>21}  {'val cost':>8}  {'seconds':>7}  diverged"
        + ("  pruned" if pruned else "")
    )
    for group, row in zip(ranked, cells, strict=True):
        values = "  ".join(f"{c:>{w}}" for c, w in zip(row, widths, strict=True))
        print(
            f"{values}{'  ' if values else ''}{len(group.runs):>4}  "
            f"{_accuracy(group, 'validation_accuracy')}  {_accuracy(group, 'test_accuracy')}  "
            f"{_number(group.median('validation_cost'), 8, 4)}  "
            f"{_number(group.median('seconds'), 7, 1)}  {group.diverged:>8}"
            + (f"  {group.pruned:>6}" if pruned else "")
        )
    return 0


def _accuracy(group: store.Group, column: str) -> str:
    median, (low, high) = group.median(column), group.spread(column)
    if math.isnan(median):
        return f"{'-':>21}"
    return f"{100 * median:6.2f}% ({100 * low:5.2f}-{100 * high:5.2f})"


def _number(value: float, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if math.isnan(value) else f"{value:>{width}.{digits}f}"


def _as_json(sweep: store.Sweep, ranked: list[store.Group]) -> dict[str, Any]:
    def clean(value: float) -> float | None:
        return None if math.isnan(value) else value

    points = []
    for g in ranked:
        point: dict[str, Any] = {"params": g.params, "runs": len(g.runs), "diverged": g.diverged}
        point["pruned"] = g.pruned
        for column in ("validation_accuracy", "test_accuracy", "validation_cost", "test_cost"):
            low, high = g.spread(column)
            point[column] = {
                "median": clean(g.median(column)),
                "min": clean(low),
                "max": clean(high),
            }
        point["seeds"] = sorted(r["seed"] for r in g.runs)
        point["seconds"] = clean(g.median("seconds"))
        points.append(point)
    return {
        "db": str(sweep.path),
        "swept": sweep.swept,
        "recipe": sweep.identity.get("recipe"),
        "data": sweep.data,
        "runs": len(sweep.runs),
        "points": points,
    }
