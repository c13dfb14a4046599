"""``digitnet init``: write an untrained network, so every command can be tried before training.

The file is an ordinary model file (``.npz`` + JSON header, no history): ``eval``, ``explain``,
``gradcheck``, ``plot`` (every view but ``curves``, which needs epochs), ``serve``, ``export`` and
the Python API read it as they read a trained one. Its weights are the random start that
``digitnet train`` would begin from with the same ``--seed``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from digitnet.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from digitnet.commands import non_negative_int
from digitnet.costs import COST_NAMES
from digitnet.data.registry import DATASETS as DATASET_NAMES
from digitnet.errors import DigitnetError
from digitnet.network import INITS, Network
from digitnet.presets import PRESETS, get_preset


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "init",
        help="write an untrained network (random weights) to try every command on",
        description="Write a network with random weights and no training, for eval, explain, "
        "plot, serve and export to take before any training. Defaults: the lessons' network "
        "(784-16-16-10, sigmoid, quadratic cost, weights N(0, 1/n_in)) or the --preset's.",
    )
    p.add_argument("--preset", choices=list(PRESETS), help="take the network of a preset")
    p.add_argument("--layers", help="layer sizes, e.g. 784,16,16,10")
    p.add_argument("--activation", choices=list(HIDDEN_ACTIVATIONS))
    p.add_argument("--output", choices=list(ACTIVATIONS), help="output layer's activation")
    p.add_argument(
        "--cost", choices=list(COST_NAMES), help="cross-entropy alone also chooses --output softmax"
    )
    p.add_argument("--init", choices=list(INITS), help="how the random weights are drawn")
    p.add_argument("--dtype", choices=["float32", "float64"])
    p.add_argument("--seed", type=non_negative_int, default=0, help="random start (default 0)")
    p.add_argument(
        "--dataset",
        choices=list(DATASET_NAMES),
        help="the dataset other commands use with this model (default: the preset's, mnist)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("runs/untrained.npz"),
        help="model file to write (default runs/untrained.npz)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace --out even if it holds a trained model (an untrained one is replaced anyway)",
    )
    p.set_defaults(func=run_init)


def untrained_config(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """The network config (``Network.config()``'s keys) and dataset the options ask for."""
    preset = get_preset(args.preset or "lessons")
    config = dict(preset.network)
    if args.layers:
        try:
            config["sizes"] = [int(s) for s in args.layers.split(",")]
        except ValueError:
            raise DigitnetError(
                f"--layers must be sizes like 784,16,16,10, got {args.layers!r}"
            ) from None
    for name in ("activation", "output", "cost", "init", "dtype"):
        if getattr(args, name) is not None:
            config[name] = getattr(args, name)
    if args.cost == "cross-entropy" and args.output is None:
        config["output"] = "softmax"  # as digitnet train pairs them
    return config, args.dataset or preset.dataset


def _is_untrained(path: Path) -> bool:
    """Whether ``path`` is a model file that ``digitnet init`` wrote (nothing to lose)."""
    from digitnet.model_io import read_header

    try:
        header = read_header(path)
    except (DigitnetError, OSError, ValueError):
        return False
    return "untrained" in header and not header.get("history")


def run_init(args: argparse.Namespace) -> int:
    from digitnet.model_io import save_model

    out: Path = args.out
    if out.is_dir():
        raise DigitnetError(f"{out} is a folder; --out names the model file to write")
    if out.exists() and not args.force and not _is_untrained(out):
        raise DigitnetError(
            f"{out} exists and is not an untrained model from digitnet init; give --force to "
            "replace it, or another --out"
        )
    config, dataset = untrained_config(args)
    net = Network.from_config(config, seed=args.seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_model(out, net, dataset={"name": dataset}, untrained={"seed": args.seed})
    sizes = "-".join(map(str, net.sizes))
    print(
        f"wrote {out}: an untrained {sizes} network ({net.activation}, output {net.output}, "
        f"{net.cost.name} cost, {net.init} init, seed {args.seed}), {net.n_params:,} weights "
        "and biases"
    )
    return 0
