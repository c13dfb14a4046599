"""``digitnet plot``, ``digitnet explain`` and ``digitnet gradcheck``: see inside a trained network.

- ``digitnet plot VIEW MODEL -o FILE.png|svg``: one of the views of :mod:`digitnet.views`;
- ``digitnet explain MODEL --image N --layer L --weight j,k``: the chain rule for one weight;
- ``digitnet gradcheck [MODEL]``: backprop against finite differences, layer by layer; exits 1
  when an error is above ``--tolerance``.

Images are numbered as in the test set of the model's dataset (``--image 0`` is its first).
The heavy modules (matplotlib, the data loader) are imported only when a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from digitnet.commands import non_negative_int, positive_int
from digitnet.errors import DigitnetError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from digitnet.data import Dataset
    from digitnet.network import Network

VIEW_NAMES = (
    "weights",
    "network",
    "curves",
    "confusion",
    "mistakes",
    "nudges",
    "landscape",
    "noise",
)
DB_VIEWS = ("sweep",)  # views whose MODEL argument is a sweep database
FORMATS = (".png", ".svg")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "plot",
        help="draw a picture of a trained network (weights, network, nudges, ...)",
        description="Draw one view of a trained network into a PNG or SVG file. Views: "
        "weights (incoming weights per neuron), network (the diagram for one image), curves "
        "(cost and accuracy per epoch), confusion, mistakes (worst misclassified test images), "
        "nudges (one backprop step), landscape (the cost around the trained weights), noise "
        "(the answer to random pixels).",
    )
    views = (*VIEW_NAMES, *DB_VIEWS)
    p.add_argument("view", choices=views, metavar="VIEW", help=", ".join(views))
    p.add_argument("model", type=Path, metavar="MODEL", help="a model file (.npz; sweep: a DB)")
    p.add_argument("-o", "--out", type=Path, required=True, metavar="FILE", help="FILE.png or .svg")
    p.add_argument(
        "--image", type=non_negative_int, default=0, help="test image number (default 0)"
    )
    p.add_argument("--layer", type=positive_int, default=1, help="weights: layer l (default 1)")
    p.add_argument("--count", type=positive_int, default=24, help="mistakes: how many (default 24)")
    p.add_argument(
        "--examples",
        type=positive_int,
        default=None,
        help="images used: confusion/mistakes default all test images, landscape 1000 training",
    )
    p.add_argument("--batch-size", type=positive_int, default=10, help="nudges: mini-batch size")
    p.add_argument("--steps", type=positive_int, default=25, help="landscape: grid points per axis")
    p.add_argument(
        "--seed", type=non_negative_int, default=0, help="noise, nudges' batch, landscape's axes"
    )
    p.add_argument("--dpi", type=positive_int, default=100, help="PNG resolution (default 100)")
    p.add_argument("--metric", choices=("accuracy", "cost"), default="accuracy", help="sweep")
    _data_options(p)
    p.set_defaults(func=run_plot)

    e = subparsers.add_parser(
        "explain",
        help="the chain rule for one weight, with the numbers",
        description="Write out dC/dw = dz/dw * da/dz * dC/da for the weight w_jk^(L) (from "
        "neuron k of layer L-1 to neuron j of layer L) on one test image, beside backprop's "
        "value and a finite-difference estimate. Computed in float64.",
    )
    e.add_argument("model", type=Path, metavar="MODEL")
    e.add_argument("--image", type=non_negative_int, required=True, help="test image number")
    e.add_argument("--layer", type=positive_int, required=True, help="layer l of the weight (1..L)")
    e.add_argument("--weight", type=_pair, required=True, metavar="j,k", help="e.g. 7,12")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    _data_options(e)
    e.set_defaults(func=run_explain)

    g = subparsers.add_parser(
        "gradcheck",
        help="check backprop against finite differences",
        description="Compare backprop's gradient with central finite differences, layer by "
        "layer, in float64, and exit 1 if the largest relative error is above the tolerance. "
        "Without MODEL, checks a fresh network on random images.",
    )
    g.add_argument("model", type=Path, nargs="?", metavar="MODEL")
    g.add_argument("--tolerance", type=float, default=1e-6, help="default 1e-6")
    g.add_argument("--examples", type=positive_int, default=10, help="images used (default 10)")
    g.add_argument(
        "--max-per-layer", type=positive_int, default=200, help="weights checked per layer"
    )
    g.add_argument("--seed", type=non_negative_int, default=0)
    g.add_argument("--layers", default="784,16,16,10", help="fresh network's sizes")
    g.add_argument("--activation", default="sigmoid", help="fresh network's hidden activation")
    g.add_argument(
        "--output",
        default=None,
        help="fresh network's output activation (default: softmax with --cost cross-entropy, "
        "else the hidden one)",
    )
    g.add_argument("--cost", default="quadratic", help="fresh network's cost")
    g.add_argument("--json", action="store_true", help="print one JSON object")
    _data_options(g)
    g.set_defaults(func=run_gradcheck)


# -- option types --------------------------------------------------------------------------------
def _pair(text: str) -> tuple[int, int]:
    parts = text.replace(" ", "").split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected j,k (two neuron numbers), got {text!r}")
    j, k = (non_negative_int(p) for p in parts)
    return j, k


def _data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", help="default: the one the model was trained on")
    p.add_argument("--data-dir", type=Path, help="folder holding <dataset>/ with the IDX files")


# -- helpers -------------------------------------------------------------------------------------
def _load(path: Path) -> tuple[Network, dict[str, Any]]:
    from digitnet.model_io import load_model

    return load_model(path)


def _dataset(args: argparse.Namespace, header: dict[str, Any]) -> Dataset:
    """The dataset named by --dataset, else by the model's header, else MNIST."""
    from digitnet.data import load

    name = args.dataset
    if name is None:
        recorded = header.get("dataset")
        name = recorded.get("name") if isinstance(recorded, dict) else None
    return load(name or "mnist", data_dir=args.data_dir)


def _test_image(data: Dataset, n: int) -> tuple[np.ndarray, int]:
    if n >= len(data.y_test):
        raise DigitnetError(
            f"--image {n} does not exist: the {data.name} test set has images "
            f"0..{len(data.y_test) - 1}"
        )
    return data.X_test[n], int(data.y_test[n])


def _check_input(net: Network, data: Dataset) -> None:
    if data.X_test.shape[1] != net.sizes[0]:
        raise DigitnetError(
            f"the model takes {net.sizes[0]} inputs but {data.name} images have "
            f"{data.X_test.shape[1]} pixels"
        )


# -- commands ------------------------------------------------------------------------------------
def run_plot(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.suffix.lower() not in FORMATS:
        raise DigitnetError(f"{out}: the picture must end in .png or .svg")
    if args.view in DB_VIEWS:
        from digitnet import views
        from digitnet.sweep import read

        sweep = read(args.model)
        fig = views.sweep(sweep.runs, sweep.swept, metric=args.metric)
    else:
        net, header = _load(args.model)
        fig = make_view(args, net, header)
    from digitnet.atomic_files import atomic_write

    with atomic_write(out) as f:
        fig.savefig(f, format=out.suffix.lower()[1:], dpi=args.dpi)
    print(f"wrote {out}")
    return 0


def make_view(args: argparse.Namespace, net: Network, header: dict[str, Any]) -> Figure:
    """The Figure for ``args.view``; loads the dataset only for the views that need images."""
    from digitnet import views

    view = args.view
    if view == "weights":
        return views.weights(net, layer=args.layer)
    if view == "curves":
        return views.curves(header.get("history") or {})
    if view == "noise":
        return views.noise(net, seed=args.seed)
    data = _dataset(args, header)
    _check_input(net, data)
    names = list(data.class_names)
    if view == "network":
        x, y = _test_image(data, args.image)
        return views.network_diagram(net, x, y, class_names=names)
    if view in ("confusion", "mistakes"):
        n = args.examples or len(data.y_test)
        X, y = data.X_test[:n], data.y_test[:n]
        if view == "confusion":
            return views.confusion(net, X, y, class_names=names)
        return views.mistakes(net, X, y, n=args.count, class_names=names)
    if view == "nudges":
        x, y = _test_image(data, args.image)
        rng = np.random.default_rng(args.seed)
        batch = rng.choice(len(data.y_train), size=min(args.batch_size, len(data.y_train)))
        return views.nudges(net, x, y, data.X_train[batch], data.y_train[batch], class_names=names)
    n = args.examples or 1000
    return views.landscape(
        net,
        data.X_train[:n],
        data.y_train[:n],
        trajectory=_trajectory(args.model),
        steps=args.steps,
        seed=args.seed,
    )


def run_explain(args: argparse.Namespace) -> int:
    from digitnet.explain import explain

    net, header = _load(args.model)
    data = _dataset(args, header)
    _check_input(net, data)
    x, y = _test_image(data, args.image)
    j, k = args.weight
    result = explain(net, x, y, args.layer, j, k, image=args.image)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.to_text())
    return 0


def run_gradcheck(args: argparse.Namespace) -> int:
    from digitnet.explain import gradcheck
    from digitnet.network import Network

    if not args.tolerance > 0:
        raise DigitnetError(f"--tolerance must be positive, got {args.tolerance}")
    if args.model is not None:
        net, header = _load(args.model)
        data = _dataset(args, header)
        _check_input(net, data)
        X, y = data.X_test[: args.examples], data.y_test[: args.examples]
        what = f"{args.model} on {len(y)} {data.name} test images"
    else:
        try:
            sizes = [int(s) for s in args.layers.split(",")]
        except ValueError:
            raise DigitnetError(
                f"--layers must be sizes like 784,16,16,10, got {args.layers!r}"
            ) from None
        output = args.output or ("softmax" if args.cost == "cross-entropy" else args.activation)
        config = {
            "sizes": sizes,
            "activation": args.activation,
            "output": output,
            "cost": args.cost,
            "init": "normal",
            "dtype": "float64",
        }
        net = Network.from_config(config, seed=args.seed)
        rng = np.random.default_rng(args.seed)
        X = rng.random((args.examples, sizes[0]))
        y = rng.integers(0, sizes[-1], size=args.examples)
        what = f"a fresh {net!r} on {args.examples} random images"
    result = gradcheck(
        net, X, y, tolerance=args.tolerance, max_per_layer=args.max_per_layer, seed=args.seed
    )
    if args.json:
        print(json.dumps({"checked": what} | result.to_dict(), indent=2))
    else:
        print(f"gradcheck of {what}")
        print(result.to_text())
    if not result.passed:
        print(
            f"digitnet: error: backprop disagrees with finite differences: max relative error "
            f"{result.max_error:.2e} > tolerance {args.tolerance:g}",
            file=sys.stderr,
        )
        return 1
    return 0


def _trajectory(path: Path) -> np.ndarray | None:
    from digitnet.model_io import read_trajectory

    return read_trajectory(path)
