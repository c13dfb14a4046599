"""``digitnet train`` and ``digitnet demo``: train a network from the command line.

A progress bar runs during each epoch (on a terminal) and one table row is printed per epoch.
After every epoch a checkpoint is written beside the model file; ``--resume`` continues from it.
Ctrl-C finishes the current mini-batch step, saves the checkpoint and says how to resume.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from digitnet.commands.recipe import (  # re-exported: `sweep` and `evaluate` take them from here
    NETWORK_OPTIONS,
    TRAINING_OPTIONS,
    add_training_options,
    given_recipe,
    load_data,
    parse_augment,
    recipe_from_args,
)
from digitnet.commands.run import run_training
from digitnet.network import Network
from digitnet.presets import PRESETS
from digitnet.settings import make_config
from digitnet.train import History

__all__ = [
    "NETWORK_OPTIONS",
    "TRAINING_OPTIONS",
    "add_training_options",
    "given_recipe",
    "load_data",
    "make_config",
    "parse_augment",
    "recipe_from_args",
    "register",
    "run_demo",
    "run_train",
    "write_pictures",
]


def register(subparsers: Any) -> None:
    presets = "\n".join(f"  {name:<11} {preset.description}" for name, preset in PRESETS.items())
    p = subparsers.add_parser(
        "train",
        help="train a network",
        description="Train a network; a table row per epoch, a checkpoint after every epoch.",
        epilog=f"presets:\n{presets}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_training_options(p)
    p.add_argument(
        "--out",
        type=Path,
        default=Path("runs/model.npz"),
        help="model file to write (default runs/model.npz)",
    )
    p.add_argument(
        "--resume", action="store_true", help="continue from the checkpoint beside --out"
    )
    p.add_argument(
        "--log-dir",
        type=Path,
        help="also log every epoch to this folder: TensorBoard events, metrics.csv and "
        "metrics.jsonl (needs the tracking extra; see docs/tracking.md)",
    )
    p.set_defaults(func=run_train)

    d = subparsers.add_parser("demo", help="train the lessons' network and write pictures to runs/")
    d.add_argument("--data-dir", type=Path, default=None)
    d.add_argument("--epochs", type=int, default=None, help="default: the lessons' 30")
    d.add_argument("--out-dir", type=Path, default=Path("runs/demo"))
    d.set_defaults(func=run_demo)


def run_train(args: argparse.Namespace) -> int:
    recipe = recipe_from_args(args)
    run = run_training(
        recipe,
        args.out,
        args.data_dir,
        recipe["validation"],
        args.download,
        args.resume,
        given_recipe(args),
        args.log_dir,
    )
    if run.exit_code:
        return run.exit_code
    last = run.history.last
    print(
        f"test accuracy {100 * last.test_accuracy:.2f}% after {last.epoch} "
        f"epoch{'s' if last.epoch != 1 else ''} "
        f"({run.history.stopped}); model written to {args.out}"
    )
    compiled = run.history.compile_seconds
    print(
        f"training: {sum(run.history.column('seconds')):.1f} s in the epochs"
        + (f", {compiled:.1f} s building or loading compiled code first" if compiled else "")
    )
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """Train the lessons' network, then write the model, curves and weight pictures."""
    from digitnet.extras import require

    require("plots", "digitnet demo")  # before the training, whose pictures it draws
    out_dir: Path = args.out_dir
    recipe = recipe_from_args(
        argparse.Namespace(
            preset="lessons",
            layers=None,
            augment=None,
            dataset=None,
            **{name: None for name in ("activation", "output", "cost", "init", "dtype")},
            **{name: None for name in TRAINING_OPTIONS},
        )
    )
    if args.epochs:
        recipe["training"]["epochs"] = args.epochs
    model = out_dir / "model.npz"
    run = run_training(recipe, model, args.data_dir, 10_000)
    if run.exit_code:
        return run.exit_code
    net, history, data = run.net, run.history, run.data
    written = [model]
    written += write_pictures(net, history, out_dir)
    print(f"test accuracy {100 * history.last.test_accuracy:.2f}% ({data.source})")
    for path in written:
        print(f"wrote {path}")
    return 0


def write_pictures(net: Network, history: History, out_dir: Path) -> list[Path]:
    """The learning curves and the first layer's weight images, as PNG files."""
    from digitnet import views
    from digitnet.atomic_files import atomic_write

    written = []
    for name, figure in (
        ("curves", views.curves(history.to_dict())),
        ("weights", views.weights(net)),
    ):
        path = out_dir / f"{name}.png"
        with atomic_write(path) as f:
            figure.savefig(f, format="png", dpi=100)
        written.append(path)
    return written
