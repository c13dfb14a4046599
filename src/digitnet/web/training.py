"""Train live: one training job at a time, in a background thread, reported as events.

A :class:`Trainer` holds at most one running :class:`Job`. The job trains its own new network
with :func:`digitnet.train.train` (the same loop as the command line); after every epoch it
records an event with the epoch's numbers and the first layer's weight images, which the server
streams to the page as server-sent events. When the job ends after at least one epoch, the
trained network is handed to ``on_finished`` (the app then serves it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from digitnet.errors import DigitnetError
from digitnet.network import Network
from digitnet.train import Callback, EpochRecord, History, TrainConfig, train
from digitnet.web.images import data_url, weight_grid

log = logging.getLogger(__name__)

#: The states of a job; the last three are final.
STATES = ("loading", "running", "finished", "stopped", "failed")


class Busy(DigitnetError):
    """A training job is already running."""


@dataclass
class Job:
    """One live training run: its settings, its state and the events it has produced so far."""

    id: int
    settings: dict[str, Any]
    net: Network
    config: TrainConfig
    state: str = "loading"
    message: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    progress: dict[str, Any] = field(default_factory=dict)
    progress_count: int = 0
    history: History = field(default_factory=History)
    stop_requested: bool = False
    started: float = field(default_factory=time.time)

    @property
    def done(self) -> bool:
        return self.state in ("finished", "stopped", "failed")

    def add(self, kind: str, **data: Any) -> None:
        self.events.append({"event": kind, "job": self.id, **data})

    def summary(self) -> dict[str, Any]:
        return {
            "job": self.id,
            "state": self.state,
            "message": self.message,
            "settings": self.settings,
            "epochs_done": len(self.history.epochs),
            "epochs": self.config.epochs,
            "records": [_record(r) for r in self.history.epochs],
            "progress": self.progress,
        }


def _record(r: EpochRecord) -> dict[str, Any]:
    """An epoch record for JSON: NaN (no such data) becomes None."""
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in asdict(r).items()}


def weights_event(net: Network, max_neurons: int = 64) -> dict[str, Any]:
    """The first layer's weight images of ``net``, as the page shows them."""
    W = net.W[0][:max_neurons]
    columns = 8 if len(W) > 16 else 4
    return {
        "layer": 1,
        "shown": len(W),
        "of": net.sizes[1],
        "columns": columns,
        "tile": 28,
        "gap": 1,
        "scale": 1,
        "png": data_url(weight_grid(W, columns=columns, scale=1)),
    }


class _JobCallback(Callback):
    batch_report_every = 20

    def __init__(self, job: Job) -> None:
        self.job = job

    @property  # type: ignore[override]
    def stop_requested(self) -> bool:
        return self.job.stop_requested

    def on_batches(self, epoch: int, done: int, n_batches: int) -> None:
        self.job.progress = {"epoch": epoch, "done": done, "batches": n_batches}
        self.job.progress_count += 1

    def on_epoch_end(self, record: EpochRecord, network: Network) -> None:
        self.job.add("epoch", record=_record(record), weights=weights_event(network))


class Trainer:
    """Runs at most one :class:`Job` at a time.

    ``get_data(name)`` returns a Dataset (X_train, y_train, X_val, ...); ``on_finished(job)`` is
    called from the job's thread when it ends with at least one epoch trained.
    """

    def __init__(
        self,
        get_data: Callable[[str], Any],
        on_finished: Callable[[Job, Any], None],
    ) -> None:
        self.get_data = get_data
        self.on_finished = on_finished
        self.job: Job | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._next_id = 1

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.done

    def start(self, settings: dict[str, Any], net: Network, config: TrainConfig) -> Job:
        """Start a job in a new thread; :class:`Busy` if one is running."""
        with self._lock:
            if self.job is not None and not self.job.done:
                raise Busy(
                    f"a training job (#{self.job.id}) is already running "
                    f"({len(self.job.history.epochs)} of {self.job.config.epochs} epochs done); "
                    "stop it first or wait for it to end"
                )
            job = Job(self._next_id, settings, net, config)
            self._next_id += 1
            self.job = job
            self._thread = threading.Thread(
                target=self._run, args=(job,), name=f"digitnet-train-{job.id}", daemon=True
            )
            self._thread.start()
        return job

    def stop(self) -> Job:
        """Ask the running job to stop after its current mini-batch step."""
        job = self.job
        if job is None or job.done:
            raise DigitnetError("no training job is running")
        job.stop_requested = True
        return job

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the current job's thread to end (tests and shutdown)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, job: Job) -> None:
        try:
            data = self.get_data(job.settings["dataset"])
            if job.stop_requested:
                job.state = "stopped"
                job.message = "stopped before the first epoch"
                return
            job.state = "running"
            job.add("start", summary=job.summary())
            self.work(job, data)
            if job.history.stopped == "interrupted":
                job.state, job.message = "stopped", "stopped by request"
            else:
                job.state, job.message = "finished", f"finished ({job.history.stopped})"
            if job.history.epochs:
                self.on_finished(job, data)
        except DigitnetError as err:
            job.state, job.message = "failed", str(err)
        except Exception as err:  # a bug must not kill the server; the page shows the message
            log.exception("training job %d failed", job.id)
            job.state, job.message = "failed", f"training failed: {err}"
        finally:
            job.add("end", summary=job.summary())

    def work(self, job: Job, data: Any) -> None:
        """Train ``job.net`` on ``data``: the mini-batch loop of the command line."""
        n = job.settings["train_examples"]
        train(
            job.net,
            data.X_train[:n],
            data.y_train[:n],
            job.config,
            X_val=data.X_val,
            y_val=data.y_val,
            X_test=data.X_test,
            y_test=data.y_test,
            callback=_JobCallback(job),
            history=job.history,
        )
