"""A sweep at a glance: the test accuracy (or cost) against each swept parameter.

One panel per swept parameter; one point per run (every seed, every value of the other
parameters), a line through the median at each value. Numbers spread over more than a factor of
20 are drawn on a log axis; names and layer sizes are evenly spaced categories. Runs that
diverged are crosses.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from digitnet.errors import DigitnetError
from digitnet.views.figures import new_figure

METRICS = {"accuracy": ("test_accuracy", "test accuracy (%)"), "cost": ("test_cost", "test cost")}


def _label(value: Any) -> str:
    if isinstance(value, list):
        return "-".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def sweep(
    runs: Sequence[Mapping[str, Any]], swept: Sequence[str], metric: str = "accuracy"
) -> Figure:
    """The figure for ``runs`` (the rows of a sweep database: ``params``, ``seed``, ``status``,
    ``test_accuracy``, ``test_cost``) against each name in ``swept`` (the seed if none)."""
    if metric not in METRICS:
        raise DigitnetError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
    if not runs:
        raise DigitnetError("the sweep has no runs recorded yet")
    column, ylabel = METRICS[metric]
    scale = 100.0 if metric == "accuracy" else 1.0
    names = list(swept) or ["seed"]
    fig = new_figure(max(4.5, 4.2 * len(names)), 3.8)
    axes = np.atleast_1d(fig.subplots(1, len(names), squeeze=False)[0])
    for ax, name in zip(axes, names, strict=True):
        xs = [r["seed"] if name == "seed" else r["params"].get(name) for r in runs]
        ys = [scale * r[column] if r[column] is not None else math.nan for r in runs]
        numeric = all(_is_number(x) for x in xs)
        if numeric:
            positions = [float(x) for x in xs]
            low, high = min(positions), max(positions)
            if low > 0 and high / low >= 20:
                ax.set_xscale("log")
        else:
            labels = sorted({_label(x) for x in xs}, key=lambda s: (len(s), s))
            positions = [float(labels.index(_label(x))) for x in xs]
            ax.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 4 else 0)
        diverged = [r.get("status") == "diverged" for r in runs]
        for marker, colour, pick, label in (
            ("o", "#1f77b4", False, "a run"),
            ("x", "#d62728", True, "diverged"),
        ):
            pts = [(p, y) for p, y, d in zip(positions, ys, diverged, strict=True) if d == pick]
            if pts:
                px, py = zip(*pts, strict=True)
                ax.plot(px, py, marker, color=colour, alpha=0.6, markersize=5, label=label)
        medians = {}
        for p in sorted(set(positions)):
            at = [y for q, y in zip(positions, ys, strict=True) if q == p and not math.isnan(y)]
            if at:
                medians[p] = statistics.median(at)
        if medians:
            ax.plot(list(medians), list(medians.values()), "-", color="black", label="median")
        ax.set_xlabel(name.replace("_", "-"))
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="best", fontsize="small")
    fig.suptitle(f"{len(runs)} runs")
    return fig
