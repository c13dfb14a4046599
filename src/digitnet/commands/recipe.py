"""A training recipe from the command line: the options, the preset they lay over, the data.

``digitnet train``, ``demo``, ``serve`` and ``sweep`` take the same recipe options
(:func:`add_training_options`); :func:`recipe_from_args` lays the ones given over a preset
(:mod:`digitnet.presets`) into the recipe a model file records, whose ``training`` and
``augment`` sections :func:`digitnet.settings.make_config` turns into a ``TrainConfig``.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path
from typing import Any

from digitnet.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from digitnet.commands import finite_float, non_negative_int, positive_int
from digitnet.costs import COST_NAMES
from digitnet.data.registry import DATASETS as DATASET_NAMES
from digitnet.errors import DigitnetError
from digitnet.limits import check_sizes
from digitnet.network import INITS
from digitnet.presets import PRESETS, get_preset
from digitnet.settings import ENGINES, TrainConfig
from digitnet.step_rules import OPTIMIZERS, SCHEDULES

# command-line option -> (section, field) of the recipe
NETWORK_OPTIONS = ("layers", "activation", "output", "cost", "init")
TRAINING_OPTIONS = tuple(f.name for f in fields(TrainConfig) if f.name not in ("augment",))


def add_training_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("recipe (defaults: the lessons' network, or the --preset)")
    g.add_argument("--preset", choices=list(PRESETS), help="start from a documented recipe")
    g.add_argument("--layers", help="layer sizes, e.g. 784,16,16,10")
    g.add_argument("--activation", choices=list(HIDDEN_ACTIVATIONS))
    g.add_argument(
        "--output",
        choices=list(ACTIVATIONS),
        help="output layer (default: the preset's; softmax when --cost cross-entropy is given)",
    )
    g.add_argument(
        "--cost", choices=list(COST_NAMES), help="cross-entropy alone also chooses --output softmax"
    )
    g.add_argument("--init", choices=list(INITS))
    g.add_argument("--optimizer", choices=list(OPTIMIZERS))
    g.add_argument("--lr", type=finite_float, help="learning rate eta")
    g.add_argument("--momentum", type=finite_float)
    g.add_argument("--batch-size", type=positive_int)
    g.add_argument("--epochs", type=positive_int)
    g.add_argument("--weight-decay", type=finite_float)
    g.add_argument("--dropout", type=finite_float)
    g.add_argument("--schedule", choices=list(SCHEDULES))
    g.add_argument(
        "--average",
        type=finite_float,
        metavar="BETA",
        help="keep a running average of the weights over about 1/(1-BETA) steps "
        "(e.g. 0.995) and use it as the network",
    )
    g.add_argument(
        "--label-smoothing",
        type=finite_float,
        metavar="EPSILON",
        help="train towards 1 - EPSILON on the right class and EPSILON/K on all K (e.g. 0.1)",
    )
    g.add_argument(
        "--mixup",
        type=finite_float,
        metavar="ALPHA",
        help="train on pairs of examples blended by lambda ~ Beta(ALPHA, ALPHA) (e.g. 0.2)",
    )
    g.add_argument("--patience", type=positive_int, help="early stopping on validation accuracy")
    g.add_argument(
        "--augment",
        help="e.g. 'translate=2,rotate=10,scale=0.15,elastic=34', 'flip,erase=0.5' or 'none'",
    )
    g.add_argument("--seed", type=non_negative_int)
    g.add_argument("--dtype", choices=["float32", "float64"])
    g.add_argument(
        "--engine",
        choices=list(ENGINES),
        help="fast (default) or reference: the plain NumPy of digitnet/network.py, same steps",
    )
    d = p.add_argument_group("data")
    d.add_argument("--dataset", choices=list(DATASET_NAMES), help="default: the preset's")
    d.add_argument("--data-dir", type=Path, help="folder holding mnist/, fashion-mnist/, ...")
    d.add_argument(
        "--validation",
        type=non_negative_int,
        help="training images held out for validation (default: the preset's, 10000 for most)",
    )
    d.add_argument("--download", action="store_true", help="download the dataset if missing")


DEFAULT_AUGMENT = {"translate": 2, "rotate": 10.0, "scale": 0.15, "elastic": 34.0, "erase": 0.5}


def parse_augment(text: str | None) -> dict[str, Any] | None:
    """'translate=2,rotate=10,scale=0.15,elastic=34,flip,erase=0.5' -> Augmentation fields;
    'none' -> None.

    A part without a value takes its usual strength (translate 2, rotate 10, scale 0.15,
    elastic 34, flip on, erase 0.5).
    """
    if text is None or text.strip().lower() in ("", "none", "off"):
        return None
    names = {
        "translate": "translate",
        "rotate": "rotate",
        "scale": "scale",
        "elastic": "elastic_alpha",
        "elastic_sigma": "elastic_sigma",
        "flip": "flip",
        "erase": "erase",
    }
    spec: dict[str, Any] = {"translate": 0, "rotate": 0.0, "elastic_alpha": 0.0}
    for part in text.split(","):
        key, _, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if key not in names:
            raise DigitnetError(
                f"--augment: unknown part {key!r}; use translate=PIXELS, rotate=DEGREES, "
                f"scale=FRACTION, elastic=ALPHA, flip, erase=PROBABILITY "
                f"(e.g. translate=2,rotate=10)"
            )
        if key == "flip":
            if value.lower() not in ("", "1", "0", "true", "false", "yes", "no", "on", "off"):
                raise DigitnetError(f"--augment: flip takes no value or on/off, got {value!r}")
            spec["flip"] = value.lower() in ("", "1", "true", "yes", "on")
            continue
        try:
            spec[names[key]] = float(value) if value else DEFAULT_AUGMENT.get(key, 0.0)
        except ValueError:
            raise DigitnetError(f"--augment: {key} needs a number, got {value!r}") from None
    return spec


def recipe_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The preset (default 'lessons') with every option the user gave laid over it."""
    preset = get_preset(args.preset or "lessons")
    network = dict(preset.network)
    training = dict(preset.training)
    augment = preset.augment
    if args.layers is not None:
        try:
            network["sizes"] = [int(s) for s in args.layers.split(",")]
        except ValueError:
            raise DigitnetError(
                f"--layers must be sizes like 784,16,16,10, got {args.layers!r}"
            ) from None
        check_sizes(network["sizes"])
    for name in ("activation", "output", "cost", "init", "dtype"):
        if getattr(args, name, None) is not None:
            network[name] = getattr(args, name)
    if getattr(args, "cost", None) == "cross-entropy" and getattr(args, "output", None) is None:
        network["output"] = "softmax"  # a classifier's usual output for its usual cost
    for name in TRAINING_OPTIONS:
        if getattr(args, name, None) is not None:
            training[name] = getattr(args, name)
    if args.augment is not None:
        augment = parse_augment(args.augment)
    return {
        "preset": args.preset or "lessons",
        "network": network,
        "training": training,
        "augment": augment,
        "dataset": args.dataset or preset.dataset,
        "validation": preset.validation
        if getattr(args, "validation", None) is None
        else args.validation,
    }


def load_data(name: str, data_dir: Path | None, validation: int = 10_000, download: bool = False):
    from digitnet.data import load

    return load(name, data_dir=data_dir, validation=validation, allow_download=download)


def given_recipe(args: argparse.Namespace) -> dict[str, Any]:
    """The recipe fields the user named on the command line (for ``--resume`` to check)."""
    given: dict[str, Any] = {"network": {}, "training": {}}
    if args.layers:
        given["network"]["sizes"] = recipe_from_args(args)["network"]["sizes"]
    for name in ("activation", "output", "cost", "init", "dtype"):
        if getattr(args, name, None) is not None:
            given["network"][name] = getattr(args, name)
    for name in TRAINING_OPTIONS:
        if getattr(args, name, None) is not None:
            given["training"][name] = getattr(args, name)
    if args.augment is not None:
        given["augment"] = parse_augment(args.augment)
    for name in ("preset", "dataset", "validation"):
        if getattr(args, name, None) is not None:
            given[name] = getattr(args, name)
    return given
