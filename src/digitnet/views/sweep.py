"""A sweep at a glance: the validation accuracy (or cost, or the test set's) against each
swept parameter.

One panel per swept parameter; one point per run (every seed, every value of the other
parameters). A line through the median at each value is drawn only where every value was tried
with the same settings of the other parameters (a grid): across random or searched points,
neighbours differ in everything else and a line between them means nothing. Those sweeps get a
panel of their own instead, the best so far against the runs in the order they were recorded.
Numbers spread over more than a factor of 20 are drawn on a log axis; names and layer sizes are
evenly spaced categories. Runs that diverged are crosses, runs that were pruned triangles.

The metric is measured on the validation split (test only when asked: ``test``, ``test-cost``);
a sweep without a validation split falls back to the test set, and says so on the axis.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from digitnet.errors import DigitnetError
from digitnet.views.figures import new_figure

METRICS = {
    "accuracy": ("validation_accuracy", "validation accuracy (%)"),
    "cost": ("validation_cost", "validation cost"),
    "test": ("test_accuracy", "test accuracy (%)"),
    "test-cost": ("test_cost", "test cost"),
}
FALLBACK = {"validation_accuracy": "test", "validation_cost": "test-cost"}


def _label(value: Any) -> str:
    if isinstance(value, list):
        return "-".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _value(run: Mapping[str, Any], column: str) -> float:
    value = run.get(column)
    return math.nan if value is None else float(value)


def is_grid(runs: Sequence[Mapping[str, Any]], name: str, swept: Sequence[str]) -> bool:
    """Whether every value of ``name`` was tried with the same settings of the other swept
    parameters (so the medians at its values make a curve)."""
    others = [n for n in swept if n != name]
    by_value: dict[str, set[str]] = {}
    for r in runs:
        value = json.dumps(r["seed"] if name == "seed" else r["params"].get(name))
        rest = json.dumps([r["params"].get(n) for n in others])
        by_value.setdefault(value, set()).add(rest)
    settings = list(by_value.values())
    return all(s == settings[0] for s in settings)


def sweep(
    runs: Sequence[Mapping[str, Any]], swept: Sequence[str], metric: str = "accuracy"
) -> Figure:
    """The figure for ``runs`` (the rows of a sweep database, in the order they were recorded:
    ``params``, ``seed``, ``status`` and the accuracies and costs) against each name in
    ``swept`` (the seed if none)."""
    if metric not in METRICS:
        raise DigitnetError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
    if not runs:
        raise DigitnetError("the sweep has no runs recorded yet")
    column, ylabel = METRICS[metric]
    if column in FALLBACK and all(math.isnan(_value(r, column)) for r in runs):
        column, ylabel = METRICS[FALLBACK[column]]  # no validation split
        ylabel += ", no validation split"
    scale = 100.0 if column.endswith("accuracy") else 1.0
    names = list(swept) or ["seed"]
    grids = {name: is_grid(runs, name, names) for name in names}
    searched = not all(grids.values())
    panels = len(names) + searched
    fig = new_figure(max(4.5, 4.2 * panels), 3.8)
    axes = np.atleast_1d(fig.subplots(1, panels, squeeze=False)[0])
    ys = [scale * _value(r, column) for r in runs]
    status = [r.get("status") for r in runs]
    for ax, name in zip(axes, names, strict=False):
        xs = [r["seed"] if name == "seed" else r["params"].get(name) for r in runs]
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
        for marker, colour, kind, label in (
            ("o", "#1f77b4", None, "a run"),
            ("x", "#d62728", "diverged", "diverged"),
            ("v", "#7f7f7f", "pruned", "pruned"),
        ):
            pts = [
                (p, y)
                for p, y, st in zip(positions, ys, status, strict=True)
                if (st == kind if kind else st not in ("diverged", "pruned"))
            ]
            if pts:
                px, py = zip(*pts, strict=True)
                ax.plot(px, py, marker, color=colour, alpha=0.6, markersize=5, label=label)
        medians = {}
        for p in sorted(set(positions)) if grids[name] else []:
            at = [
                y
                for q, y, st in zip(positions, ys, status, strict=True)
                if q == p and not math.isnan(y) and st != "pruned"
            ]
            if at:
                medians[p] = statistics.median(at)
        if medians:
            ax.plot(list(medians), list(medians.values()), "-", color="black", label="median")
        ax.set_xlabel(name.replace("_", "-"))
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    if searched:
        _best_so_far(axes[-1], ys, status, higher=column.endswith("accuracy"), ylabel=ylabel)
    axes[0].legend(loc="best", fontsize="small")
    fig.suptitle(f"{len(runs)} runs")
    return fig


def _best_so_far(
    ax: Any, ys: Sequence[float], status: Sequence[Any], higher: bool, ylabel: str
) -> None:
    """The best value among the runs recorded so far (pruned runs aside), run by run."""
    best, line = math.nan, []
    for y, st in zip(ys, status, strict=True):
        if st != "pruned" and not math.isnan(y):
            best = y if math.isnan(best) else (max(best, y) if higher else min(best, y))
        line.append(best)
    order = range(1, len(ys) + 1)
    ax.plot(order, ys, "o", color="#1f77b4", alpha=0.4, markersize=4)
    ax.step(order, line, "-", where="post", color="black", label="best so far")
    ax.set_xlabel("run, in the order recorded")
    ax.set_ylabel(ylabel)
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)


def _axis(values: Sequence[Any]) -> tuple[list[float], str, list[str] | None, tuple[float, float]]:
    """One setting's axis of the parallel plot: each run's height on it (0 to 1), its scale
    ("linear", "log" or "category"), the category names (None for numbers), and its limits."""
    if all(_is_number(v) for v in values):
        numbers = [float(v) for v in values]
        low, high = min(numbers), max(numbers)
        if low > 0 and high / low >= 20:
            heights = [math.log(v / low) / math.log(high / low) for v in numbers]
            return heights, "log", None, (low, high)
        if high == low:  # one value: the middle of an axis around it
            pad = abs(low) or 1.0
            return [0.5] * len(numbers), "linear", None, (low - pad, high + pad)
        return [(v - low) / (high - low) for v in numbers], "linear", None, (low, high)
    labels = sorted({_label(v) for v in values}, key=lambda s: (len(s), s))
    if len(labels) == 1:
        return [0.5] * len(values), "category", labels, (-1.0, 1.0)
    span = len(labels) - 1
    heights = [labels.index(_label(v)) / span for v in values]
    return heights, "category", labels, (0.0, float(span))


def sweep_parallel(
    runs: Sequence[Mapping[str, Any]], swept: Sequence[str], metric: str = "accuracy"
) -> Figure:
    """A line per finished run across one vertical axis per name in ``swept`` (the seed if
    none), and a last axis for the metric, each line coloured by it.

    ``runs`` are the rows of a sweep database (``params``, ``seed``, ``status`` and the
    accuracies and costs). A setting whose values span a factor of 20 or more has a log axis;
    names and layer sizes are evenly spaced categories. Diverged and pruned runs are left out
    (the title counts them), as are runs without a value of the metric."""
    if metric not in METRICS:
        raise DigitnetError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
    if not runs:
        raise DigitnetError("the sweep has no runs recorded yet")
    column, label = METRICS[metric]
    if column in FALLBACK and all(math.isnan(_value(r, column)) for r in runs):
        column, label = METRICS[FALLBACK[column]]  # no validation split
        label += ", no validation split"
    scale = 100.0 if column.endswith("accuracy") else 1.0
    higher = column.endswith("accuracy")
    finished: list[Mapping[str, Any]] = []
    left_out: Counter[str] = Counter()
    for r in runs:
        if r.get("status") != "finished":
            left_out[str(r.get("status"))] += 1
        elif math.isnan(_value(r, column)):
            left_out["without a value"] += 1
        else:
            finished.append(r)
    if not finished:
        raise DigitnetError(f"the sweep has no finished run with a {label.split(' (')[0]}")
    # the best runs last, drawn on top
    finished.sort(key=lambda r: _value(r, column) if higher else -_value(r, column))
    names = list(swept) or ["seed"]
    columns = [[r["seed"] if n == "seed" else r["params"].get(n) for r in finished] for n in names]
    columns.append([scale * _value(r, column) for r in finished])
    axes_info = [_axis(values) for values in columns]

    fig = new_figure(max(5.0, 1.9 * len(columns) + 2.0), 4.2)
    host = fig.add_subplot()
    last = len(columns) - 1
    host.set_xlim(-0.05, last + 0.05 if last else 1.05)
    host.set_ylim(-0.02, 1.02)
    host.yaxis.set_visible(False)
    for spine in host.spines.values():
        spine.set_visible(False)
    labels = [n.replace("_", "-") for n in names] + [label]
    host.set_xticks(range(len(columns)), labels)
    for i, (_, kind, categories, limits) in enumerate(axes_info):
        ax = host.twinx()  # this setting's scale, drawn as a vertical axis at x = i
        for side in ("top", "bottom", "right"):
            ax.spines[side].set_visible(False)
        ax.spines["left"].set_position(("data", i))
        ax.yaxis.set_ticks_position("left")
        if kind == "log":
            ax.set_yscale("log")
        if categories is not None:
            ax.set_yticks(range(len(categories)), categories)
        low, high = limits  # widened by the host's 2% margins, so the lines meet the ticks
        if kind == "log":
            pad = math.exp(0.02 * math.log(high / low))
            ax.set_ylim(low / pad, high * pad)
        else:
            pad = 0.02 * (high - low)
            ax.set_ylim(low - pad, high + pad)
        ax.tick_params(axis="y", labelsize="small")
    heights = np.array([info[0] for info in axes_info]).T  # (runs, axes)
    xs = np.arange(len(columns), dtype=float)
    lines = LineCollection(
        [np.column_stack([xs, h]) for h in heights],
        cmap="viridis" if higher else "viridis_r",
        linewidths=1.4,
        alpha=0.8,
    )
    lines.set_array(np.asarray(columns[-1], dtype=float))
    host.add_collection(lines)
    fig.colorbar(lines, ax=host, label=label, pad=0.02)
    title = f"{len(finished)} finished run{'s' * (len(finished) != 1)}"
    if left_out:
        title += f"; left out: {', '.join(f'{n} {kind}' for kind, n in sorted(left_out.items()))}"
    fig.suptitle(title)
    return fig
