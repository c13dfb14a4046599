"""How much weight averaging gives along a run: the weights and their running averages for
several betas, measured on the validation and test sets after every epoch of one run.

    .venv/bin/python benchmarks/averaging_betas.py --epochs 30 --dropout 0 --lr 0.05 \\
        --out benchmarks/results/tuning-logs/averaging-betas.json

The run is the ``best`` preset's (without its own averaging), with the options given. The
averages are kept here after every step, outside the trainer, so one run shows every beta; the
trainer's own averaging (``--average``) moves every 8 steps instead, with the same memory.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from digitnet.commands.train import load_data, make_config
from digitnet.network import Network
from digitnet.presets import get_preset
from digitnet.train import Callback, EpochRecord, train_on

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--betas", type=float, nargs="+", default=[0.99, 0.995, 0.998])
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    preset = get_preset("best")
    training = dict(preset.training, epochs=args.epochs, dropout=args.dropout, lr=args.lr)
    training["average"] = 0.0
    config = make_config(training, preset.augment)
    net = Network.from_config(preset.network, seed=config.seed)
    shadow = Network.from_config(preset.network, seed=config.seed)
    data = load_data("mnist", Path(os.environ.get("DIGITNET_DATA", SHARED_DATA)), 10_000)
    averages = {beta: net.copy_parameters() for beta in args.betas}
    log: list[dict[str, float]] = []

    class Averages(Callback):
        batch_report_every = 1

        def on_batches(self, epoch: int, done: int, n_batches: int) -> None:
            for beta, mean in averages.items():
                for m, theta in zip(mean, net.parameters(), strict=True):
                    m += np.float32(1 - beta) * (theta - m)

        def on_epoch_end(self, record: EpochRecord, network: Network) -> None:
            row = {
                "epoch": record.epoch,
                "validation": record.validation_accuracy,
                "test": record.test_accuracy,
            }
            for beta, mean in averages.items():
                shadow.set_parameters(mean)
                row[f"validation {beta}"] = shadow.evaluate(data.X_val, data.y_val)[1]
                row[f"test {beta}"] = shadow.evaluate(data.X_test, data.y_test)[1]
            log.append(row)
            print("  ".join(f"{k} {v:.4f}" for k, v in row.items()), flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(log, indent=1))

    train_on(net, data, config, callback=Averages())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
