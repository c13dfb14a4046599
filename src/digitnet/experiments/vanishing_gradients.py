"""vanishing-gradients: in a deep sigmoid network the early layers learn slowest.

Nielsen's measure of a layer's speed of learning is ||dC/db^(l)||, the length of the gradient of
the cost with respect to that layer's biases (= the layer's error delta^(l) averaged over the
examples). His chapter 5 measures it on the first 1,000 MNIST training images for sigmoid
networks of 2, 3 and 4 hidden layers of 30 neurons, with his network2.py defaults: the
cross-entropy cost on a sigmoid output, weights N(0, 1/n_in), biases N(0, 1); then trains them by
full-batch gradient descent (500 epochs of one mini-batch of 1,000, eta 0.1, L2 lambda 5.0) and
plots the speeds per epoch (his fig/generate_gradient.py). This experiment does the same with
digitnet's networks, for 1 to 4 hidden layers, several seeds, the lessons' quadratic cost at the
start, and ReLU hidden layers with He initialisation (biases 0) beside the sigmoid ones.

Nielsen's L2 step w <- (1 - eta lambda/n) w is digitnet's weight decay lambda/n.
"""

from __future__ import annotations

import statistics
from typing import Any, TypedDict

import numpy as np

from digitnet.experiments.report import Context, Report, dataset_of, run_tasks, train_task

NAME = "vanishing-gradients"
#: Nielsen's speeds of learning at the start, hidden layer 1 first (chapter 5's text).
NIELSEN = {2: [0.07, 0.31], 3: [0.012, 0.060, 0.283], 4: [0.003, 0.017, 0.070, 0.285]}


class Size(TypedDict):
    images: int
    epochs: int
    seeds: int
    depths: list[int]


FULL = Size(images=1_000, epochs=500, seeds=5, depths=[1, 2, 3, 4])
QUICK = Size(images=500, epochs=20, seeds=1, depths=[1, 2, 3, 4])
ACTIVATIONS = {"sigmoid": "lecun", "relu": "he"}
ETA, LAMBDA = 0.1, 5.0


def make_network(activation: str, hidden: int, cost: str, seed: int) -> Any:
    """[784, 30 x hidden, 10] with a sigmoid output, in float64 as Nielsen's; sigmoid layers
    start as network2.py's (weights N(0, 1/n_in), biases N(0, 1)), ReLU layers with He's
    weights and biases 0."""
    from digitnet.network import Network

    sizes = [784, *[30] * hidden, 10]
    net = Network(
        sizes,
        activation=activation,
        output="sigmoid",
        cost=cost,
        init=ACTIVATIONS[activation],
        dtype="float64",
        seed=seed,
    )
    if activation == "sigmoid":
        rng = np.random.default_rng([seed, 2])
        for b in net.b:
            b[:] = rng.standard_normal(b.shape)
    return net


def speeds(net: Any, X: np.ndarray, y: np.ndarray) -> list[float]:
    """||dC/db^(l)|| for each hidden layer l, the gradient averaged over (X, y)."""
    grads = net.gradient(X, y)
    return [float(np.linalg.norm(db)) for db in grads.b[:-1]]


def measure(recipe: dict[str, Any], data: Any, want_parameters: bool = False) -> dict[str, Any]:
    """One network's speeds of learning at the start (cross-entropy and quadratic cost) and
    before every epoch of Nielsen's full-batch training."""
    from digitnet.train import Callback, TrainConfig

    data = dataset_of(data)
    n = recipe["images"]
    X, y = data.X_train[:n], data.y_train[:n]
    net = make_network(recipe["activation"], recipe["hidden"], "cross-entropy", recipe["seed"])
    lessons = make_network(recipe["activation"], recipe["hidden"], "quadratic", recipe["seed"])
    lessons.set_parameter_vector(net.parameter_vector())
    per_epoch = [speeds(net, X, y)]

    class Speeds(Callback):
        def on_epoch_end(self, record: Any, network: Any) -> None:
            per_epoch.append(speeds(network, X, y))

    config = TrainConfig(
        epochs=recipe["epochs"],
        batch_size=n,
        lr=ETA,
        weight_decay=LAMBDA / n,
        seed=recipe["seed"],
        monitor=0,
    )
    train_task(net, X, y, config, callback=Speeds())
    return {
        **{k: recipe[k] for k in ("activation", "hidden", "seed")},
        "start": per_epoch[0],
        "start_quadratic": speeds(lessons, X, y),
        "per_epoch": per_epoch,
        "accuracy": net.evaluate(X, y)[1],
    }


def _median(results: list[dict[str, Any]], key: str, layer: int, at: int | None = None) -> float:
    values = [r[key][layer] if at is None else r[key][at][layer] for r in results]
    return statistics.median(values)


def run(context: Context) -> Report:
    size = QUICK if context.quick else FULL
    recipes = [
        {**size, "activation": a, "hidden": h, "seed": s}
        for a in ACTIVATIONS
        for h in size["depths"]
        for s in range(size["seeds"])
    ]
    results = run_tasks(context, measure, recipes)

    def runs(activation: str, hidden: int) -> list[dict[str, Any]]:
        return [r for r in results if r["activation"] == activation and r["hidden"] == hidden]

    rows = []
    for h in size["depths"]:
        sig, relu = runs("sigmoid", h), runs("relu", h)
        for layer in range(h):
            values = [r["start"][layer] for r in sig]
            rows.append(
                {
                    "network": "784-" + "-".join(["30"] * h) + "-10",
                    "hidden layer": layer + 1,
                    "Nielsen, start": NIELSEN[h][layer] if h in NIELSEN else None,
                    "sigmoid, start (median)": statistics.median(values),
                    "sigmoid, start (min)": min(values),
                    "sigmoid, start (max)": max(values),
                    "sigmoid, quadratic cost, start": _median(sig, "start_quadratic", layer),
                    "sigmoid, last epoch": _median(sig, "per_epoch", layer, -1),
                    "ReLU + He, start": _median(relu, "start", layer),
                    "ReLU + He, last epoch": _median(relu, "per_epoch", layer, -1),
                }
            )
    deepest = max(size["depths"])
    sig4 = [_median(runs("sigmoid", deepest), "start", l) for l in range(deepest)]
    relu4 = [_median(runs("relu", deepest), "start", l) for l in range(deepest)]
    close = [
        (row["sigmoid, start (median)"] / row["Nielsen, start"])
        for row in rows
        if row["Nielsen, start"] is not None
    ]
    inside = sum(
        row["sigmoid, start (min)"] <= row["Nielsen, start"] <= row["sigmoid, start (max)"]
        for row in rows
        if row["Nielsen, start"] is not None
    )
    sig4_quadratic = [
        _median(runs("sigmoid", deepest), "start_quadratic", l) for l in range(deepest)
    ]
    sig4_end = [_median(runs("sigmoid", deepest), "per_epoch", l, -1) for l in range(deepest)]
    measured = (
        f"In the sigmoid network with {deepest} hidden layers the speeds at the start are "
        + ", ".join(f"{v:.3g}" for v in sig4)
        + f" (median of {size['seeds']} seeds, hidden layer 1 first): the first layer learns "
        f"{sig4[-1] / sig4[0]:.0f} times slower than the last hidden layer"
        + (
            f" (Nielsen: 0.003, 0.017, 0.070, 0.285, a factor of 95). Over the {len(close)} "
            f"layers he quotes, digitnet's median is {min(close):.2f} to {max(close):.2f} times "
            f"his number, which lies within digitnet's range over the seeds for {inside} of "
            "them (he reports one random start per network)"
            if close
            else ""
        )
        + ". With the lessons' quadratic cost (no 1/2) on the same weights the speeds are "
        + ", ".join(f"{v:.3g}" for v in sig4_quadratic)
        + ": its output error carries 2 sigma'(z) <= 1/2 where the cross-entropy's does not. "
        "ReLU with He's initialisation keeps the layers' speeds within a factor of "
        f"{max(relu4) / min(relu4):.1f} of each other ("
        + ", ".join(f"{v:.3g}" for v in relu4)
        + f"). After {size['epochs']} epochs the sigmoid speeds are "
        + ", ".join(f"{v:.2g}" for v in sig4_end)
        + (
            ": the earliest layer is still the slowest (figure)."
            if sig4_end == sorted(sig4_end)
            else " (figure)."
        )
    )
    return Report(
        name=NAME,
        title="Vanishing gradients: why deep sigmoid networks learn slowly",
        claim=(
            "In a deep sigmoid network the gradient shrinks as it is propagated back, so the "
            "early hidden layers learn much more slowly than the later ones; ReLU with He's "
            "initialisation keeps the speeds of the layers alike."
        ),
        published=(
            'Nielsen, "Neural Networks and Deep Learning", Determination Press 2015, chapter 5, '
            '"Why are deep neural networks hard to train?" '
            "(http://neuralnetworksanddeeplearning.com/chap5.html): speeds of learning "
            "||dC/db^(l)|| at the start of 0.07, 0.31 for [784, 30, 30, 10]; 0.012, 0.060, 0.283 "
            "for [784, 30, 30, 30, 10]; 0.003, 0.017, 0.070, 0.285 for [784, 30, 30, 30, 30, 10], "
            'and the figures "Speed of learning: 2/3/4 hidden layers" over 500 epochs of '
            "training; settings from his fig/generate_gradient.py (network2.py's defaults, the "
            "first 1,000 training images, batch 1,000, eta 0.1, lambda 5.0). He reports one "
            'random start each. He, Zhang, Ren and Sun, "Delving Deep into Rectifiers", ICCV '
            "2015, for the ReLU initialisation."
        ),
        measured=measured,
        setup=(
            f"Networks 784-(30 x 1 to 4)-10, sigmoid output, cross-entropy cost, float64, "
            f"sigmoid or ReLU hidden layers, {size['seeds']} seeds each ({len(recipes)} tasks); "
            f"the gradient averaged over the first {size['images']:,} training images; "
            f"{size['epochs']} epochs of full-batch gradient descent at eta {ETA:g}, weight decay "
            f"{LAMBDA:g}/{size['images']:,}. Speeds at the last epoch are medians over the seeds."
        ),
        summary=(
            f"{deepest} sigmoid hidden layers at the start: "
            + ", ".join(f"{v:.3g}" for v in sig4)
            + "; ReLU + He: "
            + ", ".join(f"{v:.3g}" for v in relu4)
        ),
        columns=list(rows[0]),
        rows=rows,
        figures={
            "start": start_figure(rows, size["depths"]),
            "training": training_figure(results, size["depths"]),
        },
        extra={"every_10th_epoch": [thin(r) for r in results]},
    )


def thin(result: dict[str, Any]) -> dict[str, Any]:
    """A run for the JSON file: its speeds before every 10th epoch and after the last one."""
    per_epoch = result["per_epoch"]
    return {
        **{k: v for k, v in result.items() if k != "per_epoch"},
        "per_epoch": per_epoch[::10] + ([per_epoch[-1]] if (len(per_epoch) - 1) % 10 else []),
    }


COLOURS = ["#2A6EA6", "#FFA933", "#FF5555", "#55AA55"]


def start_figure(rows: list[dict[str, Any]], depths: list[int]) -> Any:
    """The speed of each hidden layer at the start, per depth: Nielsen's, sigmoid, ReLU."""
    from digitnet.views.figures import new_figure

    fig = new_figure(3.2 * len(depths), 3.6)
    axes = np.atleast_1d(fig.subplots(1, len(depths), sharey=True))
    for ax, h in zip(axes, depths, strict=True):
        mine = [r for r in rows if r["network"].count("30") == h]
        layers = [r["hidden layer"] for r in mine]
        ax.plot(layers, [r["sigmoid, start (median)"] for r in mine], "o-", label="sigmoid")
        ax.fill_between(
            layers,
            [r["sigmoid, start (min)"] for r in mine],
            [r["sigmoid, start (max)"] for r in mine],
            alpha=0.2,
        )
        ax.plot(
            layers,
            [r["sigmoid, quadratic cost, start"] for r in mine],
            "s:",
            label="sigmoid, quadratic cost",
        )
        ax.plot(layers, [r["ReLU + He, start"] for r in mine], "^--", label="ReLU + He")
        if h in NIELSEN:
            ax.plot(layers, NIELSEN[h], "kx", markersize=9, label="Nielsen ch. 5")
        ax.set_yscale("log")
        ax.set_xticks(layers)
        ax.set_xlabel("hidden layer")
        ax.set_title(f"{h} hidden layer{'s' * (h > 1)}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("||dC/db|| at the start")
    axes[0].legend(fontsize="x-small")
    return fig


def training_figure(results: list[dict[str, Any]], depths: list[int]) -> Any:
    """The speed of each hidden layer before every epoch (seed 0): sigmoid solid, ReLU dashed."""
    from digitnet.views.figures import new_figure

    fig = new_figure(3.2 * len(depths), 3.6)
    axes = np.atleast_1d(fig.subplots(1, len(depths), sharey=True))
    for ax, h in zip(axes, depths, strict=True):
        for r in results:
            if r["hidden"] != h or r["seed"] != 0:
                continue
            curves = np.array(r["per_epoch"])
            style = "-" if r["activation"] == "sigmoid" else "--"
            for layer in range(h):
                ax.plot(
                    curves[:, layer],
                    style,
                    color=COLOURS[layer],
                    label=f"{r['activation']}, layer {layer + 1}",
                )
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(f"{h} hidden layer{'s' * (h > 1)}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="xx-small", ncol=2)
    axes[0].set_ylabel("||dC/db|| (speed of learning)")
    return fig
