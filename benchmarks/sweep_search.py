"""TPE search with median pruning against random search on the same budget; appends its table
to ``benchmarks/SWEEP.md``.

    .venv/bin/python benchmarks/sweep_search.py                       # the figures in SWEEP.md
    .venv/bin/python benchmarks/sweep_search.py --trials 10 --repeats 1   # a quick look

Each sweep is ``--trials`` runs of the lessons' network (784-W-10, sigmoid, quadratic cost, SGD)
on the first ``--train-images`` training images of full MNIST, ``--epochs`` each, over eta
(0.05 to 10, log), the mini-batch size (5 to 100, log) and the width W (16, 30, 60, 100). It is
run by the real command, ``digitnet sweep run --search random`` and ``--search tpe --prune
median``, on a LocalCluster of ``--workers`` processes, each sweep into a database of its own,
``--repeats`` times with seeds 0, 1, ... (the sampler's seed and every run's). The figure is the
best validation accuracy among the sweep's runs (pruned runs aside), read back from its
database, and the seconds and epochs it spent.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPACE = [
    "--random",
    "lr=0.05:10:log",
    "--random",
    "batch-size=5:100:log",
    "--grid",
    "layers=784-16-10,784-30-10,784-60-10,784-100-10",
]
METHODS = {
    "random": ["--search", "random"],
    "TPE + median pruning": ["--search", "tpe", "--prune", "median"],
}


def sweep(method: list[str], seed: int, args: argparse.Namespace, db: Path) -> dict[str, float]:
    argv = [sys.executable, "-m", "digitnet", "sweep", "run", *method, *SPACE]
    argv += ["--trials", str(args.trials), "--seed", str(seed), "--epochs", str(args.epochs)]
    argv += ["--train-images", str(args.train_images), "--workers", str(args.workers)]
    argv += ["--db", str(db)]
    start = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    seconds = time.perf_counter() - start
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT status, validation_accuracy, epochs FROM runs").fetchall()
    finally:
        conn.close()
    done = [acc for status, acc, _ in rows if status != "pruned" and acc is not None]
    return {
        "best": max(done),
        "pruned": sum(status == "pruned" for status, _, _ in rows),
        "epochs": sum(epochs for _, _, epochs in rows),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-images", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("DIGITNET_DATA", "/work/shared/data")
    results: dict[str, list[dict[str, float]]] = {m: [] for m in METHODS}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.repeats):
            for name, method in METHODS.items():
                db = Path(tmp) / f"{name.split()[0]}-{seed}.db"
                results[name].append(sweep(method, seed, args, db))
                r = results[name][-1]
                print(f"{name}, seed {seed}: best {100 * r['best']:.2f}% in {r['seconds']:.0f} s")
    lines = [
        "",
        "# Searching: TPE with median pruning against random search",
        "",
        f"`python benchmarks/sweep_search.py --trials {args.trials} --repeats {args.repeats} "
        f"--epochs {args.epochs} --train-images {args.train_images}`: {args.trials} runs per "
        f"sweep of the lessons' network (784-W-10, sigmoid, quadratic cost, SGD), {args.epochs} "
        f"epochs each on the first {args.train_images:,} training images of MNIST, over eta "
        "(0.05-10, log), the mini-batch size (5-100, log) and the width (16, 30, 60, 100); "
        "ranked by the accuracy on the 10,000 validation images. Seeds 0 to "
        f"{args.repeats - 1} (the sampler's and the runs'), {args.workers} workers.",
        "",
        "| search | best validation accuracy, each seed | median | pruned runs | epochs trained |"
        " seconds |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, rs in results.items():
        each = ", ".join(f"{100 * r['best']:.2f}%" for r in rs)
        lines.append(
            f"| {name} | {each} | {100 * statistics.median(r['best'] for r in rs):.2f}% | "
            f"{sum(r['pruned'] for r in rs):.0f} | {sum(r['epochs'] for r in rs):.0f} | "
            f"{sum(r['seconds'] for r in rs):.0f} |"
        )
    lines += [
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} "
        f"cores ({platform.machine()}), Python {platform.python_version()}; the machine is "
        f"shared with other work (load average {os.getloadavg()[0]:.1f} at the end).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(ROOT / "benchmarks" / "SWEEP.md", "a", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
