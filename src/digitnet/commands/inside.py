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

from digitnet.atomic_files import check_output
from digitnet.commands import check_fits, finite_float, int_in, non_negative_int, positive_int
from digitnet.errors import DigitnetError
from digitnet.limits import MAX_DPI, check_picture

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from digitnet.data import Dataset
    from digitnet.network import Network

MAX_MISTAKES = 400  # mistakes drawn in one picture
MAX_NUDGES_BATCH = 1000  # the nudges view's mini-batch
MAX_BATCH = 60_000  # the descent view's mini-batch (at most its --examples)
MAX_LANDSCAPE_STEPS = 201  # grid points per axis of the landscape (201^2 costs)
MAX_DESCENT_STEPS = 10_000  # gradient descent steps of the descent view
DESCENT_POINTS = 500  # a longer descent is recorded every ceil(steps / 500) steps
DEFAULT_LR = 1.5  # TrainConfig's eta, for a model without a recipe

VIEW_NAMES = (
    "weights",
    "network",
    "curves",
    "confusion",
    "mistakes",
    "nudges",
    "landscape",
    "descent",
    "neuron",
    "noise",
)
DB_VIEWS = ("sweep",)  # views whose MODEL argument is a sweep database
SWEEP_KINDS = ("panels", "parallel")  # plot sweep's pictures of one database
FORMATS = (".png", ".svg")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "plot",
        help="draw a picture of a trained network (weights, network, nudges, ...)",
        description="Draw one view of a trained network into a PNG or SVG file. Views: "
        "weights (incoming weights per neuron), network (the diagram for one image), curves "
        "(cost and accuracy per epoch), confusion, mistakes (worst misclassified test images), "
        "nudges (one backprop step, and each image's wishes before averaging), landscape (the "
        "cost around the trained weights), descent (mini-batch SGD beside full-batch gradient "
        "descent from the start), neuron (one neuron's activation curve with its z), noise "
        "(the answer to random pixels).",
    )
    views = (*VIEW_NAMES, *DB_VIEWS)
    p.add_argument("view", choices=views, metavar="VIEW", help=", ".join(views))
    p.add_argument("model", type=Path, metavar="MODEL", help="a model file (.npz; sweep: a DB)")
    p.add_argument("-o", "--out", type=Path, required=True, metavar="FILE", help="FILE.png or .svg")
    p.add_argument(
        "--image", type=non_negative_int, default=0, help="test image number (default 0)"
    )
    p.add_argument(
        "--layer", type=positive_int, default=1, help="weights, neuron: layer l (default 1)"
    )
    p.add_argument(
        "--neuron", type=non_negative_int, default=0, help="neuron: neuron j (default 0)"
    )
    p.add_argument("--bias", type=finite_float, default=None, help="neuron: try this bias b_j")
    p.add_argument(
        "--weight",
        type=_weight,
        default=None,
        metavar="k,VALUE",
        help="neuron: try w_jk = VALUE for the input k",
    )
    p.add_argument(
        "--count", type=int_in(1, MAX_MISTAKES), default=24, help="mistakes: how many (default 24)"
    )
    p.add_argument(
        "--examples",
        type=positive_int,
        default=None,
        help="images used: confusion/mistakes default all test images, landscape and descent "
        "1000 training",
    )
    p.add_argument(
        "--batch-size",
        type=int_in(1, MAX_BATCH),
        default=None,
        help=f"nudges: mini-batch size (default 10, at most {MAX_NUDGES_BATCH:,}); descent: "
        "SGD's (default the model's recipe)",
    )
    p.add_argument(
        "--steps",
        type=int_in(1, MAX_DESCENT_STEPS),
        default=None,
        help=f"landscape: grid points per axis (default 25, 2 to {MAX_LANDSCAPE_STEPS}); "
        "descent: gradient steps (default 200)",
    )
    p.add_argument(
        "--lr",
        type=finite_float,
        default=None,
        help="descent: eta (default the model's recipe)",
    )
    p.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="noise, nudges' batch, landscape's axes, descent's mini-batches",
    )
    p.add_argument(
        "--dpi", type=int_in(1, MAX_DPI), default=100, help="PNG resolution (default 100)"
    )
    p.add_argument(
        "--metric",
        choices=("accuracy", "cost", "test", "test-cost"),
        default="accuracy",
        help="sweep: validation accuracy or cost, or test accuracy or cost (default accuracy)",
    )
    p.add_argument(
        "--kind",
        choices=SWEEP_KINDS,
        default=None,
        help="sweep: panels (the metric against each swept setting, a point per run; the "
        "default) or parallel (a line per finished run across an axis per swept setting and "
        "one for the metric, coloured by it)",
    )
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
    g.add_argument("--tolerance", type=finite_float, default=1e-6, help="default 1e-6")
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


def _weight(text: str) -> tuple[int, float]:
    parts = text.replace(" ", "").split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected k,VALUE (an input and a weight), got {text!r}")
    return non_negative_int(parts[0]), finite_float(parts[1])


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


def _class_of(model: Path, net: Network, data: Dataset, n: int) -> tuple[np.ndarray, int]:
    """Test image ``n`` and its label, which must be one of the network's output neurons."""
    x, y = _test_image(data, n)
    if y >= net.sizes[-1]:
        raise DigitnetError(
            f"test image {n} is a {data.class_names[y]} (class {y}), but {model} has output "
            f"neurons 0..{net.sizes[-1] - 1} only; choose an image of a lower class with --image"
        )
    return x, y


# -- commands ------------------------------------------------------------------------------------
def run_plot(args: argparse.Namespace) -> int:
    from digitnet.extras import require

    require("plots", "digitnet plot")
    out: Path = args.out
    if out.suffix.lower() not in FORMATS:
        raise DigitnetError(f"{out}: the picture must end in .png or .svg")
    check_output(out, "-o", "picture.png")
    if args.kind is not None and args.view not in DB_VIEWS:
        raise DigitnetError(f"--kind is for plot sweep (a sweep database), not plot {args.view}")
    if args.view in DB_VIEWS:
        from digitnet import views
        from digitnet.sweep import read

        sweep = read(args.model)
        draw = views.sweep_parallel if args.kind == "parallel" else views.sweep
        fig = draw(sweep.runs, sweep.swept, metric=args.metric)
    else:
        net, header = _load(args.model)
        fig = make_view(args, net, header)
    from digitnet.atomic_files import atomic_write

    if out.suffix.lower() == ".png":
        width, height = fig.get_size_inches()
        check_picture(float(width), float(height), args.dpi)
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
    command = f"plot {view}"
    names: list[str] | None = list(data.class_names)
    if view == "network":
        check_fits(args.model, net, data, command, outputs=False)
        x, label = _test_image(data, args.image)
        truth: int | None = label
        if len(data.class_names) != net.sizes[-1]:  # output neurons by number; the truth if one
            names, truth = None, (label if label < net.sizes[-1] else None)
        return views.network_diagram(net, x, truth, class_names=names)
    check_fits(args.model, net, data, command)
    if view in ("confusion", "mistakes"):
        n = args.examples or len(data.y_test)
        X, y = data.X_test[:n], data.y_test[:n]
        if view == "confusion":
            return views.confusion(net, X, y, class_names=names)
        return views.mistakes(net, X, y, n=args.count, class_names=names)
    if view == "nudges":
        batch_size = 10 if args.batch_size is None else args.batch_size
        if batch_size > MAX_NUDGES_BATCH:
            raise DigitnetError(
                f"--batch-size must be from 1 to {MAX_NUDGES_BATCH:,} for nudges, got {batch_size}"
            )
        x, label = _test_image(data, args.image)
        rng = np.random.default_rng(args.seed)
        batch = rng.choice(len(data.y_train), size=min(batch_size, len(data.y_train)))
        return views.nudges(
            net, x, label, data.X_train[batch], data.y_train[batch], class_names=names
        )
    if view == "neuron":
        x, _ = _test_image(data, args.image)
        return views.neuron(
            net, x, args.layer, args.neuron, bias=args.bias, weight=args.weight, class_names=names
        )
    n = args.examples or 1000
    X, y = data.X_train[:n], data.y_train[:n]
    if view == "descent":
        return _descent(args, net, header, X, y)
    steps = 25 if args.steps is None else args.steps
    if not 2 <= steps <= MAX_LANDSCAPE_STEPS:
        raise DigitnetError(
            f"--steps must be from 2 to {MAX_LANDSCAPE_STEPS} grid points for landscape, "
            f"got {steps}"
        )
    return views.landscape(
        net, X, y, trajectory=_trajectory(args.model), steps=steps, seed=args.seed
    )


def _recipe_training(header: dict[str, Any]) -> dict[str, Any]:
    """How the model was trained (the recipe's ``training``, else the header's), or {}."""
    recipe = header.get("recipe")
    for training in (
        recipe.get("training") if isinstance(recipe, dict) else None,
        header.get("training"),
    ):
        if isinstance(training, dict):
            return training
    return {}


def _descent(
    args: argparse.Namespace, net: Network, header: dict[str, Any], X: np.ndarray, y: np.ndarray
) -> Figure:
    """The descent view from the model's recorded start (or an untrained network of its shape),
    with eta and the batch size from the options, else from the model's recipe."""
    from digitnet import views
    from digitnet.network import Network

    training = _recipe_training(header)
    lr = args.lr
    if lr is None:
        optimizer = training.get("optimizer", "sgd")
        if optimizer != "sgd":
            raise DigitnetError(
                f"the model was trained with {optimizer}, whose eta does not suit plain SGD: "
                "give --lr"
            )
        lr = training.get("lr", DEFAULT_LR)
    if not (isinstance(lr, int | float) and lr > 0):
        raise DigitnetError(f"--lr must be a positive number, got {lr}")
    batch_size = args.batch_size or training.get("batch_size", 10)
    if not isinstance(batch_size, int) or not 1 <= batch_size <= len(y):
        raise DigitnetError(
            f"--batch-size must be from 1 to the {len(y):,} examples (--examples), got {batch_size}"
        )
    steps = 200 if args.steps is None else args.steps
    every = max(1, -(-steps // DESCENT_POINTS))
    trajectory = _trajectory(args.model)
    start = net.copy()
    if trajectory is not None:
        start.set_parameter_vector(trajectory[0])
        where = "the model's recorded starting point"
    else:
        seed = training.get("seed", 0)
        seed = seed if isinstance(seed, int) and seed >= 0 else 0
        start = Network.from_config(net.config(), seed=seed)
        where = (
            f"an untrained {'-'.join(map(str, net.sizes))} network (init {net.init}, seed {seed})"
        )
    return views.descent(
        start,
        X,
        y,
        eta=float(lr),
        batch_size=batch_size,
        steps=steps,
        seed=args.seed,
        every=every,
        start=where,
    )


def run_explain(args: argparse.Namespace) -> int:
    from digitnet.explain import explain

    net, header = _load(args.model)
    data = _dataset(args, header)
    check_fits(args.model, net, data, "explain", outputs=False)
    x, y = _class_of(args.model, net, data, args.image)
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
        data = _dataset(args, header) if args.dataset or _fits_images(net) else None
        if data is not None:
            check_fits(args.model, net, data, "gradcheck", outputs=False)
            # Every label must be an output neuron: the images of the classes the model has.
            keep = np.flatnonzero(data.y_test < net.sizes[-1])[: args.examples]
            X, y = data.X_test[keep], data.y_test[keep]
            what = f"{args.model} on {len(y)} {data.name} test images"
        else:
            rng = np.random.default_rng(args.seed)
            X = rng.random((args.examples, net.sizes[0]))
            y = rng.integers(0, net.sizes[-1], size=args.examples)
            what = (
                f"{args.model} on {args.examples} random inputs (its {net.sizes[0]} inputs fit "
                "no dataset's images)"
            )
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


def _fits_images(net: Network) -> bool:
    """Whether the network takes the 28x28 images every dataset digitnet reads is made of."""
    from digitnet.data.load import PIXELS

    return net.sizes[0] == PIXELS


def _trajectory(path: Path) -> np.ndarray | None:
    from digitnet.model_io import read_trajectory

    return read_trajectory(path)
