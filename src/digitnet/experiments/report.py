"""What every experiment shares: its runs on the sweep engine, and the files it writes.

An experiment builds one recipe (a plain dict) per network, hands them to :func:`run_tasks`,
which runs its task function on the Dask cluster of :mod:`digitnet.sweep.cluster` (the data sent
to each worker once), and returns a :class:`Report`. :func:`write_report` writes the report as
``NAME.md`` (the claim, the published result with its citation, what digitnet measured, the
figures and the table), ``NAME.json`` (the same, and the measurements behind the figures) and
``NAME-FIGURE.png``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from digitnet.data import Dataset
from digitnet.errors import DigitnetError

if TYPE_CHECKING:
    from distributed import Client
    from matplotlib.figure import Figure

    from digitnet.network import Network
    from digitnet.settings import TrainConfig
    from digitnet.training_parts import Callback, History

Task = Callable[[dict[str, Any], Any, bool], dict[str, Any]]


@dataclass
class Context:
    """Where an experiment runs: the data, the Dask client, and whether it is the quick version."""

    data: Dataset
    client: Client
    quick: bool = False


@dataclass
class Report:
    """An experiment's result: the text, the table (``columns`` names the keys of each row, in
    order), the figures by name, and ``extra`` measurements for the JSON file."""

    name: str
    title: str
    claim: str
    published: str
    measured: str
    setup: str
    summary: str
    columns: list[str]
    rows: list[dict[str, Any]]
    figures: dict[str, Figure] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def dataset_of(data: Any) -> Dataset:
    """The dataset a task was sent: :class:`digitnet.sweep.cluster.Packed` unpacked once per
    worker, or the dataset itself."""
    from digitnet.sweep.cluster import Packed, pin_blas_threads

    pin_blas_threads()
    return data.dataset() if isinstance(data, Packed) else data


def train_task(
    net: Network,
    X: np.ndarray,
    y: np.ndarray,
    config: TrainConfig,
    callback: Callback | None = None,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
) -> History:
    """:func:`digitnet.train.train` as an experiment's task runs it on a worker: it ends after
    the current mini-batch once the cluster no longer wants the task (its experiment was stopped,
    or its driver ended), and then raises :class:`digitnet.sweep.cluster.RunCancelled`, so no
    half-trained result is ever returned. ``callback`` still hears every epoch."""
    from digitnet.sweep.cluster import RunCancelled, StopWhenCancelled
    from digitnet.train import train

    class UntilCancelled(StopWhenCancelled):
        def on_epoch_start(self, epoch: int, n_batches: int) -> None:
            if callback is not None:
                callback.on_epoch_start(epoch, n_batches)

        def on_batches(self, epoch: int, done: int, n_batches: int) -> None:
            if callback is not None:
                callback.on_batches(epoch, done, n_batches)

        def on_epoch_end(self, record: Any, network: Any) -> None:
            if callback is not None:
                callback.on_epoch_end(record, network)

    history = train(net, X, y, config, X_test=X_test, y_test=y_test, callback=UntilCancelled())
    if history.stopped == "interrupted":
        raise RunCancelled("the experiment's run was cancelled: nobody will read its result")
    return history


def run_tasks(context: Context, task: Task, recipes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``task(recipe, data, False)`` for every recipe on the cluster; the results in the order of
    ``recipes``. A run that fails on a worker is one line naming it."""
    from digitnet.sweep import cluster
    from digitnet.sweep.plan import RunSpec, run_id

    specs = []
    for i, recipe in enumerate(recipes):
        recipe = {**recipe, "run": i}
        specs.append(RunSpec(run_id(recipe), {}, int(recipe.get("seed", 0)), recipe))
    results: dict[str, dict[str, Any]] = {}

    def record(spec: RunSpec, result: dict[str, Any]) -> None:
        results[spec.id] = result

    outcome = cluster.execute(context.client, specs, context.data, record, lambda: False, task=task)
    if outcome.failed:
        spec, reason = outcome.failed[0]
        what = {k: v for k, v in spec.recipe.items() if k != "run"}
        raise DigitnetError(
            f"{len(outcome.failed)} runs failed on the workers (first {what}: {reason})"
        )
    return [results[spec.id] for spec in specs]


def cell(value: Any) -> str:
    """A table cell: numbers to four significant digits, nothing as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def markdown_table(columns: list[str], rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table, text columns left-aligned and numbers right-aligned."""

    def numeric(column: str) -> bool:
        return all(isinstance(r.get(column), int | float | None) for r in rows)

    def escape(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "| " + " | ".join(escape(c) for c in columns) + " |",
        "| " + " | ".join("---:" if numeric(c) else "---" for c in columns) + " |",
    ]
    lines += ["| " + " | ".join(escape(cell(r.get(c))) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    """``value`` as JSON can hold it: arrays as lists, NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_report(
    report: Report, out: Path, seconds: float, run: dict[str, Any], dpi: int = 100
) -> list[Path]:
    """Write ``report`` into the folder ``out``; ``run`` says how it ran (data, cluster, quick).
    Returns the paths written."""
    from digitnet.atomic_files import atomic_write

    written = []
    for key, figure in report.figures.items():
        path = out / f"{report.name}-{key}.png"
        with atomic_write(path) as f:
            figure.savefig(f, format="png", dpi=dpi)
        written.append(path)
    pictures = "\n\n".join(f"![{report.title}: {p.stem}]({p.name})" for p in written)
    text = (
        f"# {report.title}\n\n"
        f"**Claim.** {report.claim}\n\n"
        f"**Published.** {report.published}\n\n"
        f"**Measured by digitnet.** {report.measured}\n\n"
        f"{pictures}\n\n"
        f"{markdown_table(report.columns, report.rows)}\n\n"
        f"**What ran.** {report.setup} Data: {run['data']}. Cluster: {run['cluster']}. "
        f"Wall time: {seconds:.0f} s. Command: `{run['command']}`.\n"
    )
    md = out / f"{report.name}.md"
    with atomic_write(md, "w") as f:
        f.write(text)
    document = {
        "experiment": report.name,
        "title": report.title,
        "claim": report.claim,
        "published": report.published,
        "measured": report.measured,
        "setup": report.setup,
        "summary": report.summary,
        **run,
        "seconds": seconds,
        "columns": report.columns,
        "rows": report.rows,
        "figures": [p.name for p in written],
        "measurements": report.extra,
    }
    js = out / f"{report.name}.json"
    with atomic_write(js, "w") as f:
        json.dump(_plain(document), f, indent=1)
        f.write("\n")
    return [md, js, *written]
