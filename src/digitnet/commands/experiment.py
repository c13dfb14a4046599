"""``digitnet experiment NAME``: test one of the lessons' claims and write what it shows.

The experiment's networks train on the sweep engine's Dask cluster (a LocalCluster of one
single-threaded worker per core, or ``--scheduler ADDRESS``); the figures (PNG), the table
(Markdown and JSON) and the text go into ``--out``. ``--quick`` runs a small version on the MNIST
sample shipped inside the package. The name, the output folder and the scheduler are checked
before any training.
"""

from __future__ import annotations

import argparse
import shlex
import tempfile
import time
from pathlib import Path
from typing import Any

from digitnet.commands import positive_int, wait_seconds
from digitnet.errors import DigitnetError
from digitnet.experiments import EXPERIMENTS

DEFAULT_OUT = Path("runs/experiments")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "experiment",
        help="test one of the lessons' claims: figures, a table and a text",
        description="Train the networks of one experiment on Dask and write its figures (PNG), "
        "its table (Markdown and JSON) and a text: the claim, the published result it is "
        "compared with, and what digitnet measured.",
    )
    p.add_argument("name", metavar="NAME", help=f"one of: {', '.join(EXPERIMENTS)}, or all")
    p.add_argument(
        "-o", "--out", type=Path, default=DEFAULT_OUT, help=f"the folder (default {DEFAULT_OUT})"
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a small version on the embedded MNIST sample, in under a minute",
    )
    p.add_argument("--data-dir", type=Path, help="the folder holding mnist/ (full size only)")
    p.add_argument("--workers", type=positive_int, help="LocalCluster processes (default: cores)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler instead")
    p.add_argument(
        "--timeout",
        type=wait_seconds,
        default=10.0,
        help="seconds to wait for the scheduler and its first worker (default 10)",
    )
    p.set_defaults(func=run_experiment)


def check_writable(folder: Path) -> None:
    """One line if ``folder`` cannot be made or written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise DigitnetError(
            f"cannot write the experiment's files in {folder} ({err.strerror})"
        ) from None


def run_experiment(args: argparse.Namespace) -> int:
    from digitnet import experiments
    from digitnet.experiments.report import Context, write_report
    from digitnet.extras import require

    chosen = experiments.names(args.name)
    require("plots", "digitnet experiment")  # each report has its figures
    if args.scheduler and args.workers:
        raise DigitnetError("--workers sizes a LocalCluster; with --scheduler, its workers run")
    out: Path = args.out
    check_writable(out)
    data = _load(args.quick, args.data_dir)
    from digitnet.sweep import cluster

    with cluster.connect(args.scheduler, args.workers, args.timeout) as client:
        where = cluster.describe_cluster(client)
        print(f"data: {data.source}", flush=True)
        print(f"cluster: {where}", flush=True)
        print(cluster.describe_dashboard(client), flush=True)
        run = {
            "quick": args.quick,
            "data": data.source,
            "cluster": where if args.scheduler else f"LocalCluster, {where.split(' at ')[0]}",
        }
        for name in chosen:
            start = time.perf_counter()
            report = experiments.module(name).run(Context(data, client, args.quick))
            seconds = time.perf_counter() - start
            paths = write_report(report, out, seconds, {**run, "command": _command(args, name)})
            print(f"{name}: {report.summary} ({seconds:.0f} s)", flush=True)
            for path in paths:
                print(f"wrote {path}")
    return 0


def _load(quick: bool, data_dir: Path | None) -> Any:
    from digitnet.data import load
    from digitnet.data.load import load_embedded

    if quick:
        if data_dir is not None:
            raise DigitnetError("--quick runs on the embedded sample; leave out --data-dir")
        return load_embedded(reason="the --quick version")
    return load("mnist", data_dir=data_dir)


def _command(args: argparse.Namespace, name: str) -> str:
    """The command that runs this one experiment the same way (the output folder aside)."""
    argv = ["digitnet", "experiment", name]
    argv += ["--quick"] if args.quick else []
    argv += ["--scheduler", args.scheduler] if args.scheduler else []
    return shlex.join(argv)
