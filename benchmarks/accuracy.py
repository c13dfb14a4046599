"""Train one preset exactly as ``digitnet train --preset NAME`` does and record what it reached.

    .venv/bin/python benchmarks/accuracy.py lessons --seed 1 --out benchmarks/results/lessons-1.json

Writes one JSON file: the recipe, the per-epoch history (its test accuracies are only for the
curves and for "time to first reach 99.0%"), the epoch chosen on the validation split, the test
accuracy of the final weights (scored once, at the end), and the training time (the sum of the
per-epoch training seconds, without the per-epoch evaluation) and the wall time.
Options given after the preset name override it, as on the command line (``--lr 1.5``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from digitnet.commands.train import add_training_options, load_data, make_config, recipe_from_args
from digitnet.network import Network
from digitnet.train import Callback, EpochRecord, train_on

# The shared datasets beside this checkout, as in development and CI.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


class Log(Callback):
    """One line per epoch on stdout, so a background run can be followed with ``tail -f``."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def on_epoch_end(self, record: EpochRecord, network: Network) -> None:
        print(
            f"epoch {record.epoch:3d}  lr {record.lr:.4g}  cost {record.train_cost:.4f}  "
            f"train {100 * record.train_accuracy:6.2f}  val {100 * record.validation_accuracy:6.2f}"
            f"  test {100 * record.test_accuracy:6.2f}  train-s {record.seconds:6.2f}  "
            f"wall {time.perf_counter() - self.start:7.1f}",
            flush=True,
        )


def first_reach(epochs: list[dict[str, Any]], key: str, level: float) -> dict[str, Any] | None:
    """The first epoch whose ``key`` reaches ``level``, with the training seconds until then."""
    elapsed = 0.0
    for r in epochs:
        elapsed += r["seconds"]
        if r[key] >= level:
            return {"epoch": r["epoch"], "train_seconds": elapsed}
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    add_training_options(p)
    p.add_argument("name", help="preset name")
    p.add_argument("--out", type=Path, required=True, help="JSON file to write")
    args = p.parse_args(argv)
    args.preset = args.name
    recipe = recipe_from_args(args)
    config = make_config(recipe["training"], recipe["augment"])
    net = Network.from_config(recipe["network"], seed=config.seed)
    data_dir = args.data_dir or Path(os.environ.get("DIGITNET_DATA", SHARED_DATA))
    data = load_data(recipe["dataset"], data_dir, recipe["validation"])
    print(f"{args.name}: {net}  {config}", flush=True)
    wall = time.perf_counter()
    history = train_on(net, data, config, callback=Log())
    wall = time.perf_counter() - wall
    epochs = history.to_dict()["epochs"]
    _, test_acc = net.evaluate(data.X_test, data.y_test)  # the final weights, scored once
    best = max(epochs, key=lambda r: r["validation_accuracy"])
    result = {
        "preset": args.name,
        "recipe": recipe,
        "seed": config.seed,
        "dataset": data.name,
        "test_accuracy": test_acc,
        "final_validation_accuracy": epochs[-1]["validation_accuracy"],
        "best_validation_epoch": best["epoch"],
        "best_validation_accuracy": best["validation_accuracy"],
        "train_seconds": sum(r["seconds"] for r in epochs),
        "wall_seconds": wall,
        "first_test_99.0": first_reach(epochs, "test_accuracy", 0.99),
        "first_test_99.3": first_reach(epochs, "test_accuracy", 0.993),
        "history": epochs,
        "stopped": history.stopped,
        "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
        "load_average_at_end": os.getloadavg(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(
        f"{args.name} seed {config.seed}: test {100 * test_acc:.2f}%  "
        f"train {result['train_seconds']:.1f} s  wall {wall:.1f} s  -> {args.out}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
