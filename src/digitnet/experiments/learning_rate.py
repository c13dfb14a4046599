"""learning-rate: the step size eta decides between crawling, learning and diverging.

The lessons' network (784-16-16-10, sigmoid, quadratic cost, SGD, batch 10) is trained from the
same start with eta over four orders of magnitude. Its cost C = (1/n) sum_x sum_j (a_j - y_j)^2
has no 1/2, so its gradient is twice Nielsen's, and eta 1.5 here takes the steps of his 3.0.
A run that diverges (a NaN or infinite cost) is recorded as such, with the epochs before it.
"""

from __future__ import annotations

import math
from typing import Any, NotRequired, TypedDict

from digitnet.experiments.report import Context, Report, dataset_of, run_tasks, train_task
from digitnet.experiments.seeds import LESSONS

NAME = "learning-rate"


class Size(TypedDict):
    etas: list[float]
    epochs: int
    images: NotRequired[int]  # left out: the whole training set


FULL = Size(etas=[0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 1.5, 3.0, 10.0, 30.0, 100.0], epochs=30)
QUICK = Size(etas=[0.01, 0.1, 1.5, 100.0], epochs=3, images=3_000)


def train_eta(recipe: dict[str, Any], data: Any, want_parameters: bool = False) -> dict[str, Any]:
    """Train the lessons' network at ``recipe["lr"]``; the cost before training and after every
    epoch, the accuracies, and whether it diverged."""
    from digitnet.errors import TrainingDiverged
    from digitnet.network import Network
    from digitnet.train import TrainConfig

    data = dataset_of(data)
    n = recipe.get("images") or len(data.y_train)
    X, y = data.X_train[:n], data.y_train[:n]
    net = Network.from_config(LESSONS, seed=recipe["seed"])
    start_cost, start_accuracy = net.evaluate(X[:10_000], y[:10_000])
    config = TrainConfig(
        epochs=recipe["epochs"], batch_size=10, lr=recipe["lr"], seed=recipe["seed"]
    )
    message = None
    try:
        history = train_task(net, X, y, config, X_test=data.X_test, y_test=data.y_test)
    except TrainingDiverged as err:
        history, message = err.history, str(err)
    test_cost, test_accuracy = net.evaluate(data.X_test, data.y_test)
    return {
        "lr": recipe["lr"],
        "status": history.stopped,
        "message": message,
        "cost": [start_cost, *history.column("train_cost")],
        "accuracy": [start_accuracy, *history.column("train_accuracy")],
        "test_accuracy": test_accuracy,
        "test_cost": test_cost,
        "seconds": sum(history.column("seconds")),
    }


def verdict(result: dict[str, Any]) -> str:
    """What the run did: diverged (a NaN cost), learned (at least 50% training accuracy),
    crawled (below that, its cost still falling by 1% an epoch), or got stuck."""
    cost = result["cost"]
    if result["status"] == "diverged":
        return "diverged (NaN)"
    if result["accuracy"][-1] >= 0.5:
        return "learned"
    if len(cost) > 1 and cost[-1] < 0.99 * cost[-2]:
        return "crawling"
    return "stuck (saturated)"


def run(context: Context) -> Report:
    size = QUICK if context.quick else FULL
    recipes = [
        {"lr": eta, "epochs": size["epochs"], "images": size.get("images"), "seed": 0}
        for eta in size["etas"]
    ]
    results = run_tasks(context, train_eta, recipes)
    rows = [
        {
            "eta": r["lr"],
            "epochs trained": len(r["cost"]) - 1,
            "start cost": r["cost"][0],
            "final training cost": r["cost"][-1],
            "training accuracy %": 100 * r["accuracy"][-1],
            "test accuracy %": 100 * r["test_accuracy"],
            "outcome": verdict(r),
        }
        for r in results
    ]
    finite = [r for r in results if math.isfinite(r["test_accuracy"])]
    good = max(finite, key=lambda r: r["test_accuracy"])
    small, large = results[0], results[-1]
    chosen = {"too small": small, "best": good, "too large": large}
    default = next((r for r in results if r["lr"] == 1.5), None)
    bad = [r for r in results if verdict(r) not in ("learned", "crawling")]
    measured = (
        f"At eta {small['lr']:g} the network crawls: {100 * small['test_accuracy']:.2f}% test "
        f"accuracy after {size['epochs']} epochs, cost {small['cost'][-1]:.4f}. The best test "
        f"accuracy, {100 * good['test_accuracy']:.2f}%, came at eta {good['lr']:g}"
        + (
            f" (eta 1.5, the default: {100 * default['test_accuracy']:.2f}%)"
            if default and default is not good
            else ""
        )
        + f". At eta {large['lr']:g}: {verdict(large)}, test accuracy "
        f"{100 * large['test_accuracy']:.2f}%. "
        + (
            "Runs that got stuck or diverged: "
            + ", ".join(f"eta {r['lr']:g} ({verdict(r)})" for r in bad)
            + ". "
            if bad
            else "No run got stuck or diverged. "
        )
        + "A sigmoid network saturates rather than overflows: too large a step drives the "
        "neurons to 0 or 1, where sigma' is nearly 0, and the cost stops falling at a poor "
        "value instead of becoming NaN; a run that did become NaN would be recorded, with the "
        "epochs before it."
    )
    return Report(
        name=NAME,
        title="The learning rate: crawling, learning, diverging",
        claim=(
            "The step size of gradient descent decides whether the cost falls: too small and it "
            "crawls, too large and it overshoots the minimum and stops falling or diverges."
        ),
        published=(
            'Nielsen, "Neural Networks and Deep Learning", chapter 3, section "How to choose '
            "a neural network's hyper-parameters?\" (http://neuralnetworksanddeeplearning.com/"
            "chap3.html; its script fig/multiple_eta.py): the training cost of a 784-30-10 "
            "network for eta = 0.025, 0.25 and 2.5 over 30 epochs, the smallest falling slowly, "
            "the largest oscillating from the start. His network there has the cross-entropy "
            "cost and L2 regularisation (lambda 5.0), so his values of eta do not carry over; "
            "the three shapes do. LeCun, "
            'Bottou, Orr and Mueller, "Efficient BackProp" (1998), figure of gradient descent '
            "for eta below, at, between one and two times, and above two times the optimal rate."
        ),
        measured=measured,
        setup=(
            f"The lessons' network (784-16-16-10, sigmoid, quadratic cost, weights N(0, 1/n_in), "
            f"SGD, batch 10), the same start (seed 0), {size['epochs']} epochs on "
            f"{size.get('images') or len(context.data.y_train):,} training images, at "
            f"{len(results)} values of eta from {small['lr']:g} to {large['lr']:g} (one task "
            f"each); the costs on the first 10,000 training images."
        ),
        summary=(
            f"best eta {good['lr']:g} ({100 * good['test_accuracy']:.2f}% test); eta "
            f"{small['lr']:g}: {100 * small['test_accuracy']:.2f}%; eta {large['lr']:g}: "
            f"{verdict(large)}"
        ),
        columns=list(rows[0]),
        rows=rows,
        figures={"final": final_figure(results), "curves": curves_figure(chosen)},
        extra={"runs": results},
    )


def final_figure(results: list[dict[str, Any]]) -> Any:
    """Final training cost and test accuracy against eta (log axis)."""
    from digitnet.views.figures import new_figure

    fig = new_figure(10, 3.8)
    cost_ax, acc_ax = fig.subplots(1, 2)
    etas = [r["lr"] for r in results]
    cost_ax.plot(etas, [r["cost"][-1] for r in results], "o-")
    cost_ax.axhline(results[0]["cost"][0], color="grey", linestyle=":", label="cost at the start")
    cost_ax.set_ylabel("final training cost")
    cost_ax.legend(fontsize="small")
    acc_ax.plot(etas, [100 * r["test_accuracy"] for r in results], "o-")
    acc_ax.set_ylabel("test accuracy (%)")
    for ax in (cost_ax, acc_ax):
        ax.set_xscale("log")
        ax.set_xlabel("eta")
        ax.grid(alpha=0.3)
    for r in results:
        if r["status"] == "diverged":
            cost_ax.plot([r["lr"]], [results[0]["cost"][0]], "x", color="#d62728")
    return fig


def curves_figure(chosen: dict[str, dict[str, Any]]) -> Any:
    """The training cost per epoch of a too-small, the best and a too-large eta."""
    from digitnet.views.figures import new_figure

    fig = new_figure(6.5, 4)
    ax = fig.subplots()
    for label, r in chosen.items():
        ax.plot(
            range(len(r["cost"])), r["cost"], "o-", markersize=3, label=f"eta {r['lr']:g} ({label})"
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("training cost C (quadratic, no 1/2)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig
