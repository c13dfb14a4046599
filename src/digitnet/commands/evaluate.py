"""``digitnet eval`` and ``digitnet predict``: what a trained model gets right, and what it sees.

``eval`` scores a model on its dataset's test set: accuracy, per-class precision and recall, the
confusion matrix and the cost, beside the naive average-darkness classifier of Nielsen's book.
``predict`` reads photos or drawings of digits, prepares them the way MNIST was made (see
:mod:`digitnet.preprocess`) and prints the network's answer (:meth:`Network.predict`) with its top
three probabilities (:meth:`Network.predict_proba`). Both commands answer with the most active
output neuron and break ties the same way: the lowest numbered neuron wins.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from digitnet.commands import check_fits
from digitnet.model_io import load_model
from digitnet.network import Network


def register(subparsers: Any) -> None:
    e = subparsers.add_parser("eval", help="score a model on the test set")
    e.add_argument("model", type=Path)
    e.add_argument("--dataset", help="default: the one the model was trained on")
    e.add_argument("--data-dir", type=Path)
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=run_eval)

    p = subparsers.add_parser("predict", help="recognise digits in image files")
    p.add_argument("model", type=Path)
    p.add_argument("images", type=Path, nargs="+", metavar="IMAGE")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=run_predict)


def average_darkness(X_train: np.ndarray, y_train: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Nielsen's baseline: answer the class whose training images are, on average, as dark."""
    darkness = X_train.sum(axis=1)
    classes = np.unique(y_train)
    means = np.array([darkness[y_train == c].mean() for c in classes])
    return classes[np.argmin(np.abs(X.sum(axis=1)[:, None] - means[None, :]), axis=1)]


def scores(net: Network, X: np.ndarray, y: np.ndarray, n_classes: int) -> dict[str, Any]:
    """Accuracy, cost, per-class precision and recall and the confusion matrix on (X, y). Each
    answer is the most active output neuron, the lowest numbered among equals, as
    :meth:`Network.predict` and ``digitnet predict`` answer.

    The network may have another number of outputs than the data's ``n_classes``: the
    confusion matrix has a row per class and a column per output neuron (an answer beyond the
    classes is always wrong), ``precision`` one entry per output neuron and ``recall`` one per
    class; the cost is None when some label has no output neuron to aim at.
    """
    trace = net.trace(X)
    predicted = np.argmax(trace.output, axis=1)
    n_out = net.sizes[-1]
    counts = np.zeros((n_classes, n_out), dtype=np.int64)
    np.add.at(counts, (y, predicted), 1)
    right = np.zeros(max(n_classes, n_out), dtype=np.int64)
    diagonal = np.diag(counts)
    right[: len(diagonal)] = diagonal
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = right[:n_out] / counts.sum(axis=0)
        recall = right[:n_classes] / counts.sum(axis=1)
    fits = len(y) == 0 or int(y.max()) < n_out
    return {
        "accuracy": float(np.mean(predicted == y)),
        "cost": float(net.cost.fn(trace.z_of(-1), trace.output, y)) if fits else None,
        "precision": [None if np.isnan(p) else float(p) for p in precision],
        "recall": [None if np.isnan(r) else float(r) for r in recall],
        "confusion": counts.tolist(),
    }


def run_eval(args: argparse.Namespace) -> int:
    from digitnet.commands.train import load_data

    net, header = load_model(args.model)
    recorded = header.get("dataset") or {}
    name = args.dataset or recorded.get("name") or "mnist"
    data = load_data(name, args.data_dir, validation=0)
    check_fits(args.model, net, data, "eval", outputs=False)
    n_classes, n_out = len(data.class_names), net.sizes[-1]
    result = scores(net, data.X_test, data.y_test, n_classes)
    baseline = average_darkness(data.X_train, data.y_train, data.X_test)
    result["baseline_accuracy"] = float(np.mean(baseline == data.y_test))
    result["baseline"] = "average darkness"
    result["dataset"] = {"name": data.name, "source": data.source, "n_test": len(data.y_test)}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"data: {data.source}")
    if n_out != n_classes:
        print(
            f"note: {args.model} has {n_out} outputs for {data.name}'s {n_classes} classes: "
            + (
                f"answers {n_classes}..{n_out - 1} are always wrong"
                if n_out > n_classes
                else f"classes {n_out}..{n_classes - 1} are never answered"
            )
        )
    cost = "-" if result["cost"] is None else f"{result['cost']:.4f}"
    print(f"accuracy  {100 * result['accuracy']:.2f}%   cost {cost}   "
          f"(average-darkness baseline: {100 * result['baseline_accuracy']:.2f}%)")  # fmt: skip
    names = list(data.class_names) + [str(j) for j in range(n_classes, n_out)]
    width = max(len(n) for n in names)
    print(f"\n{'class':<{width}}  precision  recall")
    for i, name in enumerate(names):
        p = result["precision"][i] if i < n_out else None
        r = result["recall"][i] if i < n_classes else None
        print(f"{name:<{width}}  {_pct(p):>9}  {_pct(r):>6}")
    print("\nconfusion matrix (rows: true class, columns: answer)")
    print("     " + "".join(f"{j:>6}" for j in range(n_out)))
    for i, row in enumerate(result["confusion"]):
        print(f"{i:>5}" + "".join(f"{c:>6}" for c in row))
    return 0


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def run_predict(args: argparse.Namespace) -> int:
    from digitnet.preprocess import to_mnist

    net, header = load_model(args.model)
    check_fits(args.model, net, None, "predict")
    X = np.stack([to_mnist(path) for path in args.images])
    digits = net.predict(X)
    P = net.predict_proba(X)
    results: list[dict[str, Any]] = []  # one JSON-ready record per image
    for path, digit, p in zip(args.images, digits, P, strict=True):
        results.append({
            "file": str(path),
            "digit": int(digit),
            "probabilities": [float(v) for v in p],
            "top3": [[int(k), float(p[k])] for k in ranked(p, int(digit))[:3]],
        })  # fmt: skip
    if args.json:
        print(json.dumps([{k: r[k] for k in ("file", "digit", "probabilities")} for r in results]))
        return 0
    for r in results:
        top = "  ".join(f"{k}: {100 * v:.1f}%" for k, v in r["top3"])
        print(f"{r['file']}: {r['digit']}   ({top})")
    return 0


def ranked(p: np.ndarray, digit: int) -> list[int]:
    """The classes to show for one image: its answer first, then the rest by falling
    probability, the lower class first among equal ones."""
    return [digit] + [int(k) for k in np.argsort(-p, kind="stable") if k != digit]
