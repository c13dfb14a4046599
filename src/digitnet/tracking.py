"""Run tracking: every epoch's numbers and the first layer's weights, in files other tools read.

:class:`RunLogger` is a training :class:`~digitnet.train.Callback` that writes into one folder,
after every epoch:

- TensorBoard event files (``events.out.tfevents.*``, written by tensorboardX): the scalars of
  :data:`SCALARS` at step = the epoch's number, and the first layer's weights as one image
  (:func:`weights_image`, one tile per hidden neuron as the ``weights`` view draws them);
- ``metrics.csv``: a header, then one row per epoch with the fields of
  :class:`~digitnet.train.EpochRecord` (:data:`COLUMNS`), an empty cell where there was no data;
- ``metrics.jsonl``: the same rows as JSON objects, ``null`` where there was no data.

Every file is flushed at the end of each epoch, so a killed run keeps the rows of its epochs. A
run that goes on (``digitnet train --resume``, or ``history=`` in the API) appends to the same
folder: rows after the epoch it goes on from are dropped (they belong to an epoch the checkpoint
does not have), epochs of the history missing from the log are written from it, and TensorBoard
is told to forget its events from that step on (tensorboardX's ``purge_step``), so the log reads
as the log of a run never interrupted.

tensorboardX is imported when a logger is made, never by ``import digitnet``; it comes with the
``tracking`` extra (``pip install 'digitnet[tracking]'``).
"""

from __future__ import annotations

import csv
import json
import math
import os
import stat
import tempfile
import time
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import asdict, fields
from pathlib import Path
from typing import IO, Any

import numpy as np

from digitnet.atomic_files import atomic_write, exclusive_lock
from digitnet.errors import DigitnetError
from digitnet.extras import MissingExtra, missing
from digitnet.network import Network
from digitnet.train import Callback, EpochRecord, History

#: The CSV's columns (and the JSONL's keys): the fields of EpochRecord, in its order.
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(EpochRecord))
#: EpochRecord field -> TensorBoard scalar tag; the part before "/" is the dashboard's section.
SCALARS: dict[str, str] = {
    "train_cost": "cost/train",
    "validation_cost": "cost/validation",
    "train_accuracy": "accuracy/train",
    "validation_accuracy": "accuracy/validation",
    "test_accuracy": "accuracy/test",
    "lr": "eta",
    "seconds": "seconds/train",
    "eval_seconds": "seconds/measure",
}
IMAGE_TAG = "weights/layer1"
CSV_NAME, JSONL_NAME = "metrics.csv", "metrics.jsonl"
EXTRA = "pip install 'digitnet[tracking]'"
# a tile of the weights image is about this many pixels high
TILE_PIXELS = 84


def check_log_dir(path: str | os.PathLike, option: str = "--log-dir") -> Path:
    """``path`` as a Path if a log can be written there, else one clear error; nothing is
    written or created. It must be a folder (or not exist yet, below a folder), and it must be
    readable and writable; the log's files in it, if there, must be regular files."""
    path = Path(path)
    kind = _kind(path)
    if kind not in (None, "a folder"):
        raise DigitnetError(f"{option} {path} is {kind}, not a folder; name a folder for the log")
    existing = path
    while _kind(existing) is None and existing != existing.parent:
        existing = existing.parent
    if _kind(existing) != "a folder":
        raise DigitnetError(f"{option} {path}: {existing} is {_kind(existing)}, not a folder")
    try:
        os.listdir(existing)
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        what = "readable and writable" if existing == path else "writable"
        raise DigitnetError(f"{option} {path}: {existing} is not {what} ({err.strerror})") from None
    for name in (CSV_NAME, JSONL_NAME):
        kind = _kind(path / name)
        if kind not in (None, "a file"):
            raise DigitnetError(f"{option} {path}: its {name} is {kind}, not a regular file")
    return path


def _kind(path: Path) -> str | None:
    """What is at ``path``: None (nothing), "a file", "a folder", "a device", ..."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except OSError as err:
        return f"unreadable ({err.strerror})"
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a fifo" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "special"


def summary_writer() -> Any:
    """tensorboardX's SummaryWriter class, or one line naming the extra that brings it."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise DigitnetError(
            f"run tracking writes TensorBoard files with tensorboardX, which is not installed; "
            f"install it with: {EXTRA}"
        ) from None
    if missing("plots"):  # the weights image takes the weights view's colours
        raise MissingExtra(f"run tracking needs matplotlib (the plots extra); install: {EXTRA}")
    return SummaryWriter


def check_logging(log_dir: str | os.PathLike, option: str = "--log-dir") -> Path:
    """:func:`check_log_dir`, and that tensorboardX is installed: for a caller that logs
    later (a sweep, run by run)."""
    path = check_log_dir(log_dir, option)
    summary_writer()
    return path


def has_log(path: Path) -> bool:
    """Whether the folder ``path`` already holds a run's log (its CSV, JSONL or event files)."""
    if (path / CSV_NAME).exists() or (path / JSONL_NAME).exists():
        return True
    return path.is_dir() and any(path.glob("events.out.tfevents.*"))


def weights_image(net: Network, max_neurons: int = 100) -> np.ndarray:
    """The incoming weights of layer 1's first ``max_neurons`` neurons as an RGB image
    (height, width, 3) of uint8, coloured as the ``weights`` view colours them (red negative,
    white zero, blue positive, on one scale centred on zero).

    When the input is a square image (784 = 28 x 28), neuron j's weights w_jk are its tile, in a
    grid of at most 10 columns with white gaps; otherwise the image is W^(1) itself, a row j per
    neuron and a column k per input. Each weight is a square of pixels, so that a tile is about
    TILE_PIXELS high."""
    from digitnet.views.figures import DIVERGING, grid_shape, image_shape, symmetric_norm, tile

    W = np.asarray(net.W[0], dtype=np.float64)[:max_neurons]  # (n_1, n_0)
    shape = image_shape(W.shape[1])
    if shape is not None:
        _, cols = grid_shape(len(W), max_cols=10)
        grid = tile(W.reshape(len(W), *shape), cols)
        scale = max(1, TILE_PIXELS // shape[0])
    else:
        grid = W
        scale = max(1, min(8, 800 // max(grid.shape)))
    rgb = DIVERGING(symmetric_norm(W)(grid), bytes=True)[..., :3]
    return np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)


class Callbacks(Callback):
    """Several callbacks as one, called in the order given. Training stops when any of them
    asks (``stop_requested``); setting it on the chain sets it on each. Each one's
    ``on_batches`` is called as often as its own ``batch_report_every`` asks."""

    def __init__(self, *callbacks: Callback) -> None:
        self.callbacks = list(callbacks)
        self.batch_report_every = math.gcd(*(c.batch_report_every for c in callbacks)) or 1

    @property
    def stop_requested(self) -> bool:
        return any(c.stop_requested for c in self.callbacks)

    @stop_requested.setter
    def stop_requested(self, value: bool) -> None:
        for c in self.callbacks:
            c.stop_requested = value

    def on_epoch_start(self, epoch: int, n_batches: int) -> None:
        for c in self.callbacks:
            c.on_epoch_start(epoch, n_batches)

    def on_batch_start(self, epoch: int, i: int, X: np.ndarray, y: np.ndarray) -> None:
        for c in self.callbacks:
            c.on_batch_start(epoch, i, X, y)

    def on_batches(self, epoch: int, done: int, n_batches: int) -> None:
        for c in self.callbacks:
            if done % c.batch_report_every == 0:
                c.on_batches(epoch, done, n_batches)

    def on_epoch_end(self, record: EpochRecord, network: Network) -> None:
        for c in self.callbacks:
            c.on_epoch_end(record, network)


class RunLogger(Callback):
    """Log every epoch of a training run into the folder ``log_dir`` (see the module's notes):
    TensorBoard events, ``metrics.csv`` and ``metrics.jsonl``.

    Use it as ``train``'s callback (with others through :class:`Callbacks`), and close it at the
    end, or use it in a ``with`` block::

        with RunLogger("runs/logs") as log:
            history = train_on(net, data, config, callback=log)

    For a run that goes on from an earlier ``history`` (as ``train``'s ``history=``), give the
    same history here: the log then continues the earlier one. A new run refuses a folder that
    already holds a log; ``resume=True`` continues one anyway (from ``history``, or from the
    first epoch trained, dropping the log's rows from there on).

    The folder is checked when the logger is made (:func:`check_log_dir`), and nothing is
    written until the first epoch starts. Images are drawn of at most ``max_neurons`` neurons.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike,
        history: History | None = None,
        *,
        resume: bool | None = None,
        max_neurons: int = 100,
        option: str = "--log-dir",
    ) -> None:
        self.log_dir = check_log_dir(log_dir, option)
        self._writer_class = summary_writer()
        self.history = history
        self.resume = bool(history is not None and history.epochs) if resume is None else resume
        if not self.resume and has_log(self.log_dir):
            raise DigitnetError(
                f"{option} {self.log_dir} already holds the log of a run; choose another "
                "folder, or delete that one (with --resume a run continues its own log)"
            )
        self.max_neurons, self.option = max_neurons, option
        self.writer: Any = None
        self._csv: IO[str] | None = None
        self._jsonl: IO[str] | None = None
        self._rows: Any = None
        self._stack = ExitStack()

    # -- the callback ----------------------------------------------------------------------------
    def on_epoch_start(self, epoch: int, n_batches: int) -> None:
        if self.writer is None:
            self.open(epoch)

    def on_epoch_end(self, record: EpochRecord, network: Network | None) -> None:
        """Write ``record``'s scalars and rows and, given the network, layer 1's weights."""
        if self.writer is None:
            self.open(record.epoch)
        try:
            self._add_scalars(record)
            if network is not None:
                self.writer.add_image(
                    IMAGE_TAG,
                    weights_image(network, self.max_neurons),
                    record.epoch,
                    dataformats="HWC",
                )
            self.writer.flush()
            self._add_rows(record)
        except OSError as err:
            raise DigitnetError(
                f"cannot write the log in {self.log_dir}: {err.strerror or err}"
            ) from None

    # -- opening and closing ---------------------------------------------------------------------
    def open(self, first_epoch: int) -> None:
        """Open the log for a run whose next epoch is ``first_epoch``: the earlier rows are kept
        (or written from ``history``), later ones dropped, and TensorBoard's events from that
        step on purged."""
        earlier = self.history.epochs if self.history is not None else []
        done = [r for r in earlier if r.epoch < first_epoch]
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self._stack.enter_context(exclusive_lock(self.log_dir / CSV_NAME, self.option))
            logged = _logged_epochs(self.log_dir / CSV_NAME) if self.resume else set()
            # from the first epoch of the history the log lacks on, the history is written anew
            purge = min([first_epoch, *(r.epoch for r in done if r.epoch not in logged)])
            self._rewrite_rows(first_epoch, done)
            self.writer = self._writer_class(
                str(self.log_dir),
                purge_step=purge,
                flush_secs=10,
                # TensorBoard reads a folder's event files in the order of their names, which
                # start with the second they were made in; the nanosecond orders those of a second
                filename_suffix=f".{time.time_ns()}.{os.getpid()}",
            )
            for r in done:
                if r.epoch >= purge:
                    self._add_scalars(r)
            self.writer.flush()
        except OSError as err:
            self.close()
            raise DigitnetError(
                f"cannot write the log in {self.log_dir}: {err.strerror or err}"
            ) from None

    def close(self) -> None:
        """Flush and close the files (and let another run use the folder)."""
        if self.writer is not None:
            self.writer.close()
        for f in (self._csv, self._jsonl):
            if f is not None:
                f.close()
        self._csv = self._jsonl = None
        self._stack.close()

    def __enter__(self) -> RunLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------------
    def _add_scalars(self, record: EpochRecord) -> None:
        wall_time = time.time()
        for name, tag in SCALARS.items():
            value = getattr(record, name)
            if math.isfinite(value):  # no data (NaN) is no point on the curve
                self.writer.add_scalar(tag, value, record.epoch, walltime=wall_time)

    def _add_rows(self, record: EpochRecord) -> None:
        assert self._csv is not None and self._jsonl is not None
        self._rows.writerow(_csv_row(record))
        self._jsonl.write(_json_row(record) + "\n")
        for f in (self._csv, self._jsonl):
            f.flush()
            os.fsync(f.fileno())

    def _rewrite_rows(self, first_epoch: int, done: list[EpochRecord]) -> None:
        """Write the CSV and JSONL anew with the rows before ``first_epoch`` (from the history
        when there is one, else those the files hold), then open both to append."""
        csv_path, jsonl_path = self.log_dir / CSV_NAME, self.log_dir / JSONL_NAME
        if self.history is not None:
            csv_rows = [_csv_row(r) for r in done]
            json_rows = [_json_row(r) for r in done]
        else:
            csv_rows = [r for r in _read_csv(csv_path) if _epoch(r.get("epoch")) < first_epoch]
            lines = [line for line in _read_jsonl(jsonl_path) if _epoch(line[1]) < first_epoch]
            json_rows = [text for text, _ in lines]
        with atomic_write(csv_path, "w") as f:
            writer = csv.DictWriter(f, COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(csv_rows)
        with atomic_write(jsonl_path, "w") as f:
            f.writelines(text + "\n" for text in json_rows)
        self._csv = open(csv_path, "a", newline="", encoding="utf-8")
        self._jsonl = open(jsonl_path, "a", encoding="utf-8")
        self._rows = csv.DictWriter(self._csv, COLUMNS, lineterminator="\n")


def _csv_row(record: EpochRecord) -> dict[str, Any]:
    """The record as CSV cells: numbers as Python writes them (they read back exactly), an
    empty cell for NaN."""
    return {
        k: "" if isinstance(v, float) and math.isnan(v) else v for k, v in asdict(record).items()
    }


def _json_row(record: EpochRecord) -> str:
    clean = {k: None if isinstance(v, float) and not math.isfinite(v) else v
             for k, v in asdict(record).items()}  # fmt: skip
    return json.dumps(clean, allow_nan=False)


def _epoch(value: Any) -> int:
    """A row's epoch number, or a huge one for a row that has none (it is dropped)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1 << 62


def _read_csv(path: Path) -> list[dict[str, str]]:
    """The whole rows of a log's CSV (a row cut short by a kill is left out)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is not None and tuple(reader.fieldnames) != COLUMNS:
                raise DigitnetError(
                    f"{path} has the columns {', '.join(reader.fieldnames)}, not a digitnet "
                    "log's; choose another --log-dir"
                )
            return [row for row in reader if None not in row.values() and None not in row]
    except FileNotFoundError:
        return []


def _read_jsonl(path: Path) -> list[tuple[str, Any]]:
    """(line, its epoch) of each whole JSON line of a log's JSONL."""
    lines = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict):
                    lines.append((line.rstrip("\n"), row.get("epoch")))
    except FileNotFoundError:
        pass
    return lines


def _logged_epochs(path: Path) -> set[int]:
    return {_epoch(r.get("epoch")) for r in _read_csv(path)}


def read_rows(log_dir: str | os.PathLike) -> list[dict[str, float | int]]:
    """The rows of the CSV in ``log_dir`` as numbers (an empty cell is NaN)."""
    rows = []
    for row in _read_csv(Path(log_dir) / CSV_NAME):
        rows.append(
            {
                k: int(v) if k == "epoch" else float(v) if v != "" else math.nan
                for k, v in row.items()
            }  # fmt: skip
        )
    return rows


def log_history(
    log_dir: str | os.PathLike,
    epochs: Iterable[EpochRecord],
    network: Network | None = None,
    option: str = "--log-dir",
) -> None:
    """Write the log of a run that has already ended (a sweep's run, trained elsewhere) into
    ``log_dir``, replacing any earlier log there: its epochs' scalars and rows, and the weights
    ``network`` ended with as the image of its last epoch."""
    records = list(epochs)
    with RunLogger(log_dir, resume=True, option=option) as logger:
        logger.open(1)
        for i, record in enumerate(records):
            logger.on_epoch_end(record, network if i == len(records) - 1 else None)


def log_sweep_run(
    log_dir: Path, recipe: dict[str, Any], result: dict[str, Any], parameters: Any
) -> None:
    """:func:`log_history` of one sweep run, from what its worker returned."""
    net = None
    if parameters is not None:
        net = Network.from_config(recipe["network"])
        net.set_parameters(parameters)
    history = History.from_dict({"epochs": result.get("history", [])})
    log_history(log_dir, history.epochs, net)
