"""random-labels: a network memorises labels that carry no information, but learns real ones faster.

The same network, from the same start, is trained on the first N training images three ways:
with their true labels; with the labels shuffled once (each image keeps a label of another
image: the label says nothing about the picture); and with random pixels (every image replaced
by Gaussian noise of the training pixels' mean and spread, the labels kept). Training accuracy
and cost are measured after every epoch on the N images the network trains on, test accuracy on
the real test images with their true labels.
"""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np

from digitnet.experiments.report import Context, Report, dataset_of, run_tasks, train_task

NAME = "random-labels"
VARIANTS = {
    "true labels": "#1f77b4",
    "shuffled labels": "#d62728",
    "random pixels": "#2ca02c",
}


class Size(TypedDict):
    images: int
    sizes: list[int]
    epochs: int
    batch_size: int
    lr: float


FULL = Size(images=10_000, sizes=[784, 512, 512, 10], epochs=40, batch_size=128, lr=1e-3)
QUICK = Size(images=1_000, sizes=[784, 256, 10], epochs=40, batch_size=50, lr=2e-3)
THRESHOLDS = (0.5, 0.9, 0.95)


def training_set(
    variant: str, X: np.ndarray, y: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels of ``variant``: as they are, labels shuffled once, or random pixels
    N(mean, std^2) of all the training pixels (float32, like the images)."""
    rng = np.random.default_rng([seed, 1])
    if variant == "shuffled labels":
        return X, rng.permutation(y)
    if variant == "random pixels":
        noise = rng.standard_normal(X.shape, dtype=np.float32)
        return noise * np.float32(X.std()) + np.float32(X.mean()), y
    return X, y


def train_variant(
    recipe: dict[str, Any], data: Any, want_parameters: bool = False
) -> dict[str, Any]:
    """Train one variant (a task of :func:`digitnet.experiments.report.run_tasks`); the history
    and the final test accuracy on the real test images."""
    from digitnet.errors import TrainingDiverged
    from digitnet.network import Network
    from digitnet.train import TrainConfig

    data = dataset_of(data)
    n = recipe["images"]
    X, y = training_set(recipe["variant"], data.X_train[:n], data.y_train[:n], recipe["seed"])
    net = Network(
        recipe["sizes"],
        activation="relu",
        output="softmax",
        cost="cross-entropy",
        init="he",
        seed=recipe["seed"],
    )
    config = TrainConfig(
        epochs=recipe["epochs"],
        batch_size=recipe["batch_size"],
        lr=recipe["lr"],
        optimizer="adam",
        seed=recipe["seed"],
        monitor=n,
    )
    start_cost, start_accuracy = net.evaluate(X, y)
    try:
        history = train_task(net, X, y, config, X_test=data.X_test, y_test=data.y_test)
    except TrainingDiverged as err:
        history = err.history
    test_cost, test_accuracy = net.evaluate(data.X_test, data.y_test)
    return {
        "cost": [start_cost, *history.column("train_cost")],
        "accuracy": [start_accuracy, *history.column("train_accuracy")],
        "test_accuracy_per_epoch": history.column("test_accuracy"),
        "test_accuracy": test_accuracy,
        "test_cost": test_cost,
        "status": history.stopped,
        "seconds": sum(history.column("seconds")),
    }


def first_epoch_reaching(accuracy: list[float], threshold: float) -> int | None:
    """The first epoch whose training accuracy is at least ``threshold`` (None if none is)."""
    return next((e for e, a in enumerate(accuracy) if a >= threshold), None)


def run(context: Context) -> Report:
    size = QUICK if context.quick else FULL
    recipes = [{**size, "variant": v, "seed": 0} for v in VARIANTS]
    results = dict(zip(VARIANTS, run_tasks(context, train_variant, recipes), strict=True))
    rows = []
    for variant, r in results.items():
        row: dict[str, Any] = {
            "training data": variant,
            "train accuracy %": 100 * r["accuracy"][-1],
            "train cost": r["cost"][-1],
            "test accuracy %": 100 * r["test_accuracy"],
        }
        for t in THRESHOLDS:
            row[f"epochs to {100 * t:.0f}% train"] = first_epoch_reaching(r["accuracy"], t)
        row["cost after epoch 1"] = r["cost"][1]
        row["seconds"] = r["seconds"]
        rows.append(row)
    true, shuffled, pixels = (results[v] for v in VARIANTS)
    shape = "-".join(str(s) for s in size["sizes"])
    n, epochs = size["images"], size["epochs"]
    reached = first_epoch_reaching(shuffled["accuracy"], 0.95)
    measured = (
        f"On {n:,} images the {shape} network reached {100 * shuffled['accuracy'][-1]:.1f}% "
        f"training accuracy on shuffled labels"
        + (f" (95% first after epoch {reached})" if reached is not None else "")
        + f" while its test accuracy was {100 * shuffled['test_accuracy']:.1f}% (chance: 10%); "
        f"on random pixels {100 * pixels['accuracy'][-1]:.1f}% training and "
        f"{100 * pixels['test_accuracy']:.1f}% test accuracy. With true labels it reached "
        f"{100 * true['accuracy'][-1]:.1f}% training and {100 * true['test_accuracy']:.1f}% test "
        f"accuracy, and its cost fell faster: after one epoch it was "
        f"{true['cost'][1]:.3f} against {shuffled['cost'][1]:.3f} for shuffled labels "
        f"(both started near ln 10 = 2.303)."
    )
    return Report(
        name=NAME,
        title="Random labels: memorising what carries no information",
        claim=(
            "What a network learns is not necessarily meaningful: the same network that learns "
            "the digits can just as well memorise labels that have nothing to do with the images "
            "(training accuracy near 100%, test accuracy at chance), but real labels are learned "
            "faster than random ones."
        ),
        published=(
            'Zhang, Bengio, Hardt, Recht and Vinyals, "Understanding deep learning requires '
            'rethinking generalization", ICLR 2017: Figure 1a, the training loss on CIFAR-10 '
            "falling to zero for true labels, random labels, shuffled pixels, random pixels and "
            "Gaussian noise, later for the random ones, and Table 1, networks including MLPs "
            "with one and three hidden layers of 512 reaching about 100% training accuracy on "
            'random labels with test accuracy near 10%. Arpit et al., "A Closer Look at '
            'Memorization in Deep Networks", ICML 2017: networks fit real data faster than noise '
            "(its training-accuracy curves on MNIST and CIFAR-10)."
        ),
        measured=measured,
        setup=(
            f"{shape} network, ReLU hidden layers, softmax output, cross-entropy cost, He init, "
            f"Adam at eta {size['lr']:g}, batch {size['batch_size']}, {epochs} epochs, seed 0, on "
            f"the first {n:,} training images; the three variants run as three tasks."
        ),
        summary=(
            f"shuffled labels: {100 * shuffled['accuracy'][-1]:.1f}% train, "
            f"{100 * shuffled['test_accuracy']:.1f}% test; true labels: "
            f"{100 * true['accuracy'][-1]:.1f}% train, {100 * true['test_accuracy']:.1f}% test"
        ),
        columns=list(rows[0]),
        rows=rows,
        figures={"curves": figure(results, n, shape)},
        extra={v: {k: r[k] for k in ("cost", "accuracy")} for v, r in results.items()},
    )


def figure(results: dict[str, dict[str, Any]], n: int, shape: str) -> Any:
    """Training cost and training accuracy per epoch, one line per variant."""
    from digitnet.views.figures import new_figure

    fig = new_figure(10, 3.8)
    cost_ax, acc_ax = fig.subplots(1, 2)
    for variant, r in results.items():
        epochs = range(len(r["cost"]))
        colour = VARIANTS[variant]
        cost_ax.plot(epochs, r["cost"], color=colour, label=variant)
        acc_ax.plot(epochs, [100 * a for a in r["accuracy"]], color=colour, label=variant)
    cost_ax.set_yscale("log")
    cost_ax.set_ylabel("training cost (cross-entropy)")
    acc_ax.set_ylabel("training accuracy (%)")
    acc_ax.axhline(95, color="grey", linestyle=":", linewidth=1)
    acc_ax.axhline(10, color="grey", linestyle=":", linewidth=1)
    for ax in (cost_ax, acc_ax):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    acc_ax.legend(loc="lower right", fontsize="small")
    fig.suptitle(f"{shape} on {n:,} MNIST training images: true labels, shuffled, random pixels")
    return fig
