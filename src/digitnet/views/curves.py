"""Learning curves: the cost and the accuracy after every epoch, from a model's history.

The history is ``History.to_dict()`` as stored in a model file's header: ``{"epochs": [{"epoch",
"train_cost", "train_accuracy", "validation_cost", "validation_accuracy", "test_accuracy", ...},
...], "best_epoch": ...}``. Missing values (NaN or None, e.g. no validation split) are not drawn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from digitnet.errors import DigitnetError
from digitnet.views.figures import new_figure

SERIES = {
    "cost": [("train_cost", "train"), ("validation_cost", "validation")],
    "accuracy": [
        ("train_accuracy", "train"),
        ("validation_accuracy", "validation"),
        ("test_accuracy", "test"),
    ],
}
COLOURS = {"train": "#1f77b4", "validation": "#ff7f0e", "test": "#2ca02c"}


def _column(records: list[Mapping[str, Any]], key: str) -> np.ndarray:
    values = []
    for r in records:
        v = r.get(key)
        values.append(float(v) if isinstance(v, int | float) and math.isfinite(v) else np.nan)
    return np.array(values)


def curves(history: Mapping[str, Any]) -> Figure:
    """Two panels, "cost" and "accuracy", each with one line per data split, against the epoch.

    The best epoch (by validation accuracy), if the history names one, is marked on both.
    """
    records = history.get("epochs") if isinstance(history, Mapping) else None
    if not records:
        raise DigitnetError("the model has no training history (no epochs recorded)")
    epochs = _column(records, "epoch")
    fig = new_figure(11, 4.2)
    axes = fig.subplots(1, 2)
    for ax, (what, series) in zip(axes, SERIES.items(), strict=True):
        for key, split in series:
            values = _column(records, key)
            if np.all(np.isnan(values)):
                continue
            if what == "accuracy":
                values = 100 * values
            ax.plot(epochs, values, marker="o", markersize=3, label=split, color=COLOURS[split])
        best = history.get("best_epoch")
        if isinstance(best, int):
            ax.axvline(best, color="0.6", linestyle=":", label=f"best epoch ({best})")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("cost C" if what == "cost" else "accuracy (%)")
        ax.set_title(what)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    last = records[-1]
    final = [_column([last], k)[0] for k in ("test_accuracy", "validation_accuracy")]
    final = [v for v in final if not np.isnan(v)]
    summary = f": {100 * final[0]:.2f}% after epoch {int(epochs[-1])}" if final else ""
    fig.suptitle(f"Learning curves{summary}")
    return fig
