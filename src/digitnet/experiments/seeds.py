"""seeds: the lessons' network from many random starts. Where does gradient descent land?

Every run trains the lessons' network (784-16-16-10, sigmoid, quadratic cost, SGD at eta 1.5,
batch 10) with its own seed: its own starting weights and its own order of mini-batches. The
driver compares the trained networks: the spread of the final cost and test accuracy, the
distance ||theta_i - theta_j|| between the trained parameter vectors (and between the starting
ones), and the cost along the straight line theta(alpha) = (1 - alpha) theta_0 + alpha theta_1
between two trained networks. A barrier is a rise of the cost on that line above the straight
interpolation of its two ends.
"""

from __future__ import annotations

import itertools
import statistics
from typing import Any, TypedDict

import numpy as np

from digitnet.experiments.report import Context, Report, dataset_of, run_tasks, train_task

NAME = "seeds"


class Size(TypedDict):
    seeds: int
    epochs: int
    images: int | None  # None: the whole training set
    line_images: int
    step: float
    pairs: int


FULL = Size(seeds=30, epochs=30, images=None, line_images=10_000, step=0.05, pairs=5)
QUICK = Size(seeds=6, epochs=2, images=3_000, line_images=1_000, step=0.125, pairs=2)
LESSONS = dict(
    sizes=[784, 16, 16, 10],
    activation="sigmoid",
    output="sigmoid",
    cost="quadratic",
    init="lecun",
    dtype="float32",
)


def train_seed(recipe: dict[str, Any], data: Any, want_parameters: bool = False) -> dict[str, Any]:
    """Train the lessons' network from seed ``recipe["seed"]``; its history, final costs and
    accuracies, and its parameter vector at the start and at the end."""
    from digitnet.network import Network
    from digitnet.train import TrainConfig

    data = dataset_of(data)
    n = recipe["images"] or len(data.y_train)
    X, y = data.X_train[:n], data.y_train[:n]
    net = Network.from_config(LESSONS, seed=recipe["seed"])
    theta_start = net.parameter_vector()
    config = TrainConfig(epochs=recipe["epochs"], batch_size=10, lr=1.5, seed=recipe["seed"])
    history = train_task(net, X, y, config, X_test=data.X_test, y_test=data.y_test)
    train_cost, train_accuracy = net.evaluate(X, y)
    test_cost, test_accuracy = net.evaluate(data.X_test, data.y_test)
    return {
        "seed": recipe["seed"],
        "train_cost": train_cost,
        "train_accuracy": train_accuracy,
        "test_cost": test_cost,
        "test_accuracy": test_accuracy,
        "cost_per_epoch": history.column("train_cost"),
        "theta_start": theta_start,
        "theta": net.parameter_vector(),
        "seconds": sum(history.column("seconds")),
    }


def cost_along_line(
    theta_0: np.ndarray, theta_1: np.ndarray, X: np.ndarray, y: np.ndarray, alphas: np.ndarray
) -> np.ndarray:
    """C((1 - alpha) theta_0 + alpha theta_1) on (X, y) for each alpha, for the lessons' network."""
    from digitnet.network import Network

    net = Network.from_config(LESSONS, seed=0)
    costs = []
    for alpha in alphas:
        net.set_parameter_vector(((1 - alpha) * theta_0 + alpha * theta_1).astype(net.dtype))
        costs.append(net.total_cost(X, y))
    return np.array(costs)


def barrier(alphas: np.ndarray, costs: np.ndarray) -> float:
    """The largest rise of the cost on [0, 1] above the straight line between its two ends."""
    inside = (alphas >= 0) & (alphas <= 1)
    ends = (1 - alphas) * costs[alphas == 0][0] + alphas * costs[alphas == 1][0]
    return float(np.max(costs[inside] - ends[inside]))


def spread(values: list[float]) -> dict[str, float]:
    return {
        "min": min(values),
        "median": statistics.median(values),
        "max": max(values),
        "std": statistics.pstdev(values),
    }


def run(context: Context) -> Report:
    size = QUICK if context.quick else FULL
    recipes = [
        {"seed": s, "epochs": size["epochs"], "images": size["images"]}
        for s in range(size["seeds"])
    ]
    results = run_tasks(context, train_seed, recipes)
    thetas = np.array([r["theta"] for r in results], dtype=np.float64)
    starts = np.array([r["theta_start"] for r in results], dtype=np.float64)
    pairs = list(itertools.combinations(range(len(results)), 2))
    trained_d = [float(np.linalg.norm(thetas[i] - thetas[j])) for i, j in pairs]
    start_d = [float(np.linalg.norm(starts[i] - starts[j])) for i, j in pairs]
    travelled = [float(np.linalg.norm(t - s)) for t, s in zip(thetas, starts, strict=True)]

    data = context.data
    m = size["line_images"]
    X_line, y_line = data.X_train[:m], data.y_train[:m]
    alphas = np.round(np.arange(-0.25, 1.25 + 1e-9, size["step"]), 6)
    lines = {}
    for i in range(size["pairs"]):
        j = i + 1
        lines[(i, j)] = cost_along_line(thetas[i], thetas[j], X_line, y_line, alphas)
    barriers = {pair: barrier(alphas, costs) for pair, costs in lines.items()}

    metrics = {
        "final training cost": [r["train_cost"] for r in results],
        "training accuracy %": [100 * r["train_accuracy"] for r in results],
        "test cost": [r["test_cost"] for r in results],
        "test accuracy %": [100 * r["test_accuracy"] for r in results],
        "||theta_i - theta_j||, trained": trained_d,
        "||theta_i - theta_j||, at the start": start_d,
        "||theta_end - theta_start|| of a run": travelled,
        "barrier on the line (cost)": list(barriers.values()),
    }
    rows = [{"quantity": k, **spread(v), "n": len(v)} for k, v in metrics.items()]
    test = spread(metrics["test accuracy %"])
    cost = spread(metrics["final training cost"])
    first = lines[(0, 1)]
    mid = float(first[alphas == 0.5][0])
    measured = (
        f"{len(results)} starts ended with training costs from {cost['min']:.4f} to "
        f"{cost['max']:.4f} (median {cost['median']:.4f}) and test accuracies from "
        f"{test['min']:.2f}% to {test['max']:.2f}% (median {test['median']:.2f}%, standard "
        f"deviation {test['std']:.2f} points): different minima of nearly the same quality. The "
        f"trained networks lie {statistics.median(trained_d):.1f} apart (median "
        f"||theta_i - theta_j||), farther than their starts ({statistics.median(start_d):.1f}); "
        f"each run moved {statistics.median(travelled):.1f} from its start. On the straight line "
        f"between the networks of seeds 0 and 1 the cost rises from {first[alphas == 0][0]:.4f} "
        f"and {first[alphas == 1][0]:.4f} at the ends to {mid:.4f} halfway "
        f"(barrier {barriers[(0, 1)]:.4f}); over {len(lines)} such pairs the barrier is "
        f"{min(barriers.values()):.4f} to {max(barriers.values()):.4f}. "
        "Part of the distance and of the barrier is symmetry: permuting the 16 neurons of a "
        "hidden layer gives the same function at another point of weight space."
    )
    n_images = size["images"] or len(data.y_train)
    return Report(
        name=NAME,
        title="Random starts: which minimum gradient descent lands in",
        claim=(
            "Gradient descent finds a local minimum, and which one depends on the random start "
            '(the lessons: "could land in any local minima").'
        ),
        published=(
            'Goodfellow, Vinyals and Saxe, "Qualitatively characterizing neural network '
            'optimization problems", ICLR 2015: the cost along the straight line from the start '
            'to the solution falls smoothly, without barriers; Garipov et al., "Loss Surfaces, '
            'Mode Connectivity, and Fast Ensembling of DNNs", NeurIPS 2018, and Draxler et al., '
            '"Essentially No Barriers in Neural Network Energy Landscape", ICML 2018: the '
            "straight line between two independently trained networks crosses a region of high "
            'cost, while a curved path joins them at low cost; Frankle et al., "Linear Mode '
            'Connectivity and the Lottery Ticket Hypothesis", ICML 2020, measure such barriers '
            "as the rise above the ends' mean, as here."
        ),
        measured=measured,
        setup=(
            f"The lessons' network (784-16-16-10, sigmoid, quadratic cost, weights N(0, 1/n_in), "
            f"biases 0, SGD at eta 1.5, batch 10) trained {size['epochs']} epochs on "
            f"{n_images:,} training images from each of {len(results)} seeds (one task per "
            f"seed); the costs along the lines on the first {m:,} training images at "
            f"{len(alphas)} points from alpha = -0.25 to 1.25."
        ),
        summary=(
            f"test accuracy {test['min']:.2f}-{test['max']:.2f}% over {len(results)} seeds, "
            f"barrier between seeds 0 and 1: {barriers[(0, 1)]:.4f}"
        ),
        columns=["quantity", "min", "median", "max", "std", "n"],
        rows=rows,
        figures={
            "spread": spread_figure(results, trained_d, start_d),
            "line": line_figure(alphas, lines),
        },
        extra={
            "runs": [
                {k: v for k, v in r.items() if k not in ("theta", "theta_start")} for r in results
            ],
            "alphas": alphas,
            "lines": {f"{i}-{j}": costs for (i, j), costs in lines.items()},
        },
    )


def spread_figure(
    results: list[dict[str, Any]], trained_d: list[float], start_d: list[float]
) -> Any:
    """Final training cost against test accuracy, one point per seed; the distances."""
    from digitnet.views.figures import new_figure

    fig = new_figure(10, 3.8)
    ax, dist_ax = fig.subplots(1, 2)
    ax.plot(
        [r["train_cost"] for r in results],
        [100 * r["test_accuracy"] for r in results],
        "o",
        alpha=0.7,
    )
    for r in results[:2]:
        ax.annotate(f"seed {r['seed']}", (r["train_cost"], 100 * r["test_accuracy"]), fontsize=8)
    ax.set_xlabel("final training cost")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{len(results)} random starts")
    ax.grid(alpha=0.3)
    bins = np.linspace(0, max(trained_d + start_d) * 1.05, 30)
    dist_ax.hist(start_d, bins=bins, alpha=0.6, label="at the start")
    dist_ax.hist(trained_d, bins=bins, alpha=0.6, label="trained")
    dist_ax.set_xlabel("||theta_i - theta_j|| over pairs of seeds")
    dist_ax.set_ylabel("pairs")
    dist_ax.legend(fontsize="small")
    dist_ax.grid(alpha=0.3)
    return fig


def line_figure(alphas: np.ndarray, lines: dict[tuple[int, int], np.ndarray]) -> Any:
    """The cost along the straight line between pairs of trained networks."""
    from digitnet.views.figures import new_figure

    fig = new_figure(6.5, 4)
    ax = fig.subplots()
    for (i, j), costs in lines.items():
        ax.plot(alphas, costs, label=f"seed {i} -> seed {j}")
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.axvline(1, color="grey", linewidth=0.8)
    ax.set_xlabel("alpha: (1 - alpha) theta_i + alpha theta_j")
    ax.set_ylabel("training cost C")
    ax.set_title("The straight line between two trained networks")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig
