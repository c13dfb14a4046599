"""Train live: one training job at a time, in a background thread, that can be paused, resumed
and advanced one mini-batch at a time, reported as events.

A :class:`Trainer` holds at most one running :class:`Job`. The job trains its own new network
with :func:`digitnet.train.train` (the same loop as the command line). Its callback is told of
every mini-batch (``batch_report_every = 1``) and of every epoch's start, and there it holds the
run while it is paused: :meth:`Trainer.step` lets exactly one more mini-batch through,
:meth:`Trainer.resume` lets them all through. After every epoch the job records an event with
the epoch's numbers and the first layer's weight images, which the server streams to the page.

Slow motion: the mini-batches' costs (on that mini-batch, before its step; every one while the
run is slowed down or paused, every ``COST_EVERY``-th at full speed) are recorded with the running
average of the latest ``AVERAGE_OVER``, so the page can draw SGD's noisy descent within an epoch.
A ``speed`` (steps per second) spaces the steps out; while the run is slowed down or paused each
step also keeps its nudges (:func:`digitnet.web.answers.wishes_answer`: each example's wishes for
the outputs, their average, the cost before and after on that mini-batch). Before the first step
the job lays a slice of the cost through its start (:func:`digitnet.views.landscape.start_slice`)
and then records where the steps' weights are seen from it, at their real cost
(:func:`digitnet.views.landscape.slice_point`).

When the job ends having taken at least one mini-batch step (and not failed), its network is
handed to ``on_finished``: the app keeps it as a *candidate* beside the served network; it is
served only when someone adopts it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

import numpy as np

from digitnet.errors import DigitnetError
from digitnet.network import Network
from digitnet.train import Callback, EpochRecord, History, TrainConfig, train
from digitnet.views.landscape import SlicePoint, StartSlice, slice_point, start_slice
from digitnet.web.answers import WishesDict, slice_answer, wishes_answer
from digitnet.web.images import data_url, weight_grid

log = logging.getLogger(__name__)

#: The states of a job; the last three are final.
STATES = ("loading", "running", "paused", "finished", "stopped", "failed")
#: How long pause and step wait for the run to come to rest before answering, in seconds.
SETTLE_SECONDS = 10.0
#: The running average of the mini-batch cost is the mean over this many latest mini-batches.
AVERAGE_OVER = 20
#: The landscape's examples (the first validation images, else the first training images), and
#: its grid of SLICE_STEPS x SLICE_STEPS costs.
SLICE_EXAMPLES = 200
SLICE_STEPS = 13
#: A network with more weights than this gets no landscape: its grid would hold up the start.
MAX_SLICE_WEIGHTS = 250_000
#: At full speed the costs are recorded every COST_EVERY steps and the path gets a point every
#: PATH_EVERY steps (each takes a forward pass a step does not need); slowed down or paused, both
#: at every step.
COST_EVERY = 5
PATH_EVERY = 25
#: The path keeps at most this many points (the landscape says when it is full).
MAX_PATH_POINTS = 5_000


class CostRecord(TypedDict):
    """One mini-batch step's cost (:class:`digitnet.web.schemas.BatchCost`)."""

    step: int
    epoch: int
    batch: int
    cost: float
    average: float
    seconds: float


class StepRecord(WishesDict):
    """A step taken in slow motion, with its nudges (:class:`digitnet.web.schemas.StepNudges`)."""

    step: int
    epoch: int
    batch: int
    lr: float
    cost_after: float
    cost_change: float


class PathRecord(TypedDict):
    """A point of the run's path on the landscape (:class:`digitnet.web.schemas.PathPoint`)."""

    step: int
    alpha: float
    beta: float
    cost: float
    slice_cost: float
    off_plane: float


class Busy(DigitnetError):
    """A training job is already running."""


class _StopNow(Exception):
    """Raised from the callback to end a run at a mini-batch boundary."""


@dataclass
class Job:
    """One live training run: its settings, its state and the events it has produced so far.

    ``paused`` holds the run before its next mini-batch; ``credits`` are mini-batches let
    through while paused (one per step); ``resting`` is true while the run's thread waits.
    """

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
    paused: bool = False
    credits: int = 0
    resting: bool = False
    epoch: int = 0
    batches_done: int = 0
    batch_in_epoch: int = 0
    batches_per_epoch: int = 0
    train_examples: int = 0
    ended: bool = False
    note: str = ""
    started: float = field(default_factory=time.time)
    speed: float | None = None
    clock0: float = field(default_factory=time.monotonic)
    step_started: float = 0.0
    next_step_at: float = 0.0
    costs: list[CostRecord] = field(default_factory=list)
    slice: StartSlice | None = field(default=None, repr=False)
    slice_note: str = ""
    path: list[PathRecord] = field(default_factory=list)
    last_step: StepRecord | None = None
    class_names: tuple[str, ...] = ()
    cond: threading.Condition = field(default_factory=threading.Condition, repr=False)

    @property
    def done(self) -> bool:
        return self.state in ("finished", "stopped", "failed")

    @property
    def slow(self) -> bool:
        """Slowed down or paused: each step keeps its nudges and a landscape point."""
        return self.paused or self.speed is not None

    @property
    def shown_state(self) -> str:
        """The state as the page shows it: ``paused`` while a live run is held."""
        if self.paused and not self.done:
            return "paused"
        return self.state

    def add(self, kind: str, **data: Any) -> None:
        self.events.append({"event": kind, "job": self.id, **data})

    def summary(self) -> dict[str, Any]:
        return {
            "job": self.id,
            "state": self.shown_state,
            "paused": self.paused and not self.done,
            "message": self.message,
            "settings": self.settings,
            "epochs_done": len(self.history.epochs),
            "epochs": self.config.epochs,
            "epoch": self.epoch,
            "batches_done": self.batches_done,
            "batch_in_epoch": self.batch_in_epoch,
            "batches_per_epoch": self.batches_per_epoch,
            "train_examples": self.train_examples,
            "records": [record_dict(r) for r in self.history.epochs],
            "progress": self.progress,
            "steps_per_second": self.speed,
            "batch_cost": self.costs[-1] if self.costs else None,
            "landscape": self.slice is not None,
            "landscape_note": self.slice_note,
            "last_step": None if self.last_step is None else self.last_step["step"],
        }


def record_dict(r: EpochRecord) -> dict[str, Any]:
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
    """Counts every mini-batch and holds the run at the next one while it is paused."""

    batch_report_every = 1

    def __init__(self, job: Job) -> None:
        self.job = job
        self._cost: float | None = None  # the coming step's mini-batch cost, if measured
        self._batch: tuple[np.ndarray, np.ndarray, WishesDict] | None = None

    @property
    def stop_requested(self) -> bool:
        return self.job.stop_requested

    @stop_requested.setter
    def stop_requested(self, value: bool) -> None:
        with self.job.cond:
            self.job.stop_requested = value
            self.job.cond.notify_all()

    def on_epoch_start(self, epoch: int, n_batches: int) -> None:
        job = self.job
        job.epoch, job.batches_per_epoch, job.batch_in_epoch = epoch, n_batches, 0
        self._gate()

    def on_batch_start(self, epoch: int, i: int, X: np.ndarray, y: np.ndarray) -> None:
        """The mini-batch's cost before its step; slowed down, its nudges too."""
        job, net = self.job, self.job.net
        self._cost, self._batch = None, None
        if job.slow:
            t = net.trace(X)  # one forward pass: the cost and every example's wishes
            nudges = wishes_answer(net, t, y, job.class_names)
            self._cost = nudges["cost_before"]
            self._batch = (X.copy(), y.copy(), nudges)
        elif (job.batches_done + 1) % COST_EVERY == 0:
            self._cost = net.total_cost(X, y)

    def _after_step(self, epoch: int, done: int) -> None:
        """Record the step just taken: its cost, its nudges and its point on the landscape."""
        job, net = self.job, self.job.net
        step = job.batches_done + 1
        if self._cost is not None:
            latest = [c["cost"] for c in job.costs[-(AVERAGE_OVER - 1) :]] + [self._cost]
            job.costs.append(
                {"step": step, "epoch": epoch, "batch": done, "cost": self._cost,
                 "average": float(np.mean(latest)),
                 "seconds": round(job.step_started - job.clock0, 4)}
            )  # fmt: skip
        if self._batch is not None:
            X, y, nudges = self._batch
            after = net.total_cost(X, y)
            job.last_step = {
                **nudges,
                "step": step,
                "epoch": epoch,
                "batch": done,
                "lr": job.config.lr_at(epoch - 1),
                "cost_after": after,
                "cost_change": after - nudges["cost_before"],
            }
            self._batch = None
        s = job.slice
        if s is not None and (job.slow or step % PATH_EVERY == 0):
            if len(job.path) < MAX_PATH_POINTS:
                job.path.append(point_dict(step, slice_point(s, net)))
            elif not job.slice_note:
                job.slice_note = f"the path is full: it shows the first {MAX_PATH_POINTS:,} points"

    def on_batches(self, epoch: int, done: int, n_batches: int) -> None:
        job = self.job
        self._after_step(epoch, done)
        with job.cond:
            job.batches_done += 1
            job.batch_in_epoch = done
            job.progress = {
                "epoch": epoch,
                "done": done,
                "batches": n_batches,
                "batches_done": job.batches_done,
            }
            job.progress_count += 1
            job.cond.notify_all()
        if done < n_batches:  # the next epoch's first batch waits in on_epoch_start
            self._gate()

    def on_epoch_end(self, record: EpochRecord, network: Network) -> None:
        self.job.add("epoch", record=record_dict(record), weights=weights_event(network))

    def _gate(self) -> None:
        """Before a mini-batch: wait while paused without a credit, or until the speed allows
        the next step; end the run if asked to."""
        job = self.job
        with job.cond:
            while not job.stop_requested:
                if job.paused:
                    if job.credits > 0:
                        job.credits -= 1
                        break
                    job.resting = True
                    job.cond.notify_all()
                    job.cond.wait()
                    continue
                wait = job.next_step_at - time.monotonic() if job.speed else 0.0
                if wait <= 0:
                    break
                job.cond.wait(wait)  # woken early by a pause, a stop or a new speed
            job.resting = False
            if job.stop_requested:
                raise _StopNow
            job.step_started = time.monotonic()
            if job.speed:
                job.next_step_at = job.step_started + 1 / job.speed  # steps 1/speed apart


class Trainer:
    """Runs at most one :class:`Job` at a time.

    ``get_data(name)`` returns a Dataset (X_train, y_train, X_val, ...); ``on_finished(job, data)``
    is called from the job's thread when it ends, not failed, after at least one mini-batch.
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
        """Start a job in a new thread (held before its first mini-batch if
        ``settings["paused"]``); :class:`Busy` if one is running."""
        with self._lock:
            if self.job is not None and not self.job.done:
                raise Busy(busy_message(self.job))
            job = Job(
                self._next_id,
                settings,
                net,
                config,
                paused=bool(settings.get("paused")),
                speed=settings.get("steps_per_second"),
            )
            self._next_id += 1
            self.job = job
            self._thread = threading.Thread(
                target=self._run, args=(job,), name=f"digitnet-train-{job.id}", daemon=True
            )
            self._thread.start()
        return job

    def _live(self) -> Job:
        job = self.job
        if job is None or job.done:
            raise DigitnetError("no training run is going: start one first")
        return job

    def stop(self) -> Job:
        """Ask the running job to stop before its next mini-batch step."""
        job = self._live()
        with job.cond:
            job.stop_requested = True
            job.cond.notify_all()
        return job

    def pause(self, timeout: float = SETTLE_SECONDS) -> Job:
        """Hold the running job before its next mini-batch; wait (up to ``timeout`` s) until it
        rests there, so the answer reports the mini-batches really done."""
        job = self._live()
        with job.cond:
            job.paused, job.credits = True, 0
            job.cond.notify_all()
            if job.state == "running":
                job.cond.wait_for(lambda: job.resting or job.ended, timeout)
        return job

    def set_speed(self, steps_per_second: float | None) -> Job:
        """Space the running job's steps ``1 / steps_per_second`` apart (None: full speed)."""
        job = self._live()
        with job.cond:
            job.speed = steps_per_second
            job.next_step_at = time.monotonic() + (1 / steps_per_second if steps_per_second else 0)
            job.cond.notify_all()
        return job

    def resume(self) -> Job:
        """Let the paused job train on."""
        job = self._live()
        with job.cond:
            job.paused, job.credits = False, 0
            job.cond.notify_all()
        return job

    def step(self, timeout: float = SETTLE_SECONDS) -> Job:
        """Let the paused job take exactly one mini-batch step; wait (up to ``timeout`` s) until it
        has and rests again (or has ended: the last step ends the run)."""
        job = self._live()
        with job.cond:
            if not job.paused:
                raise DigitnetError("the run is not paused: pause it before stepping")
            before = job.batches_done
            job.credits += 1
            job.cond.notify_all()
            job.cond.wait_for(
                lambda: job.ended or (job.resting and job.batches_done > before), timeout
            )
        return job

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the current job's thread to end (tests and shutdown)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _set(self, job: Job, state: str, message: str) -> None:
        with job.cond:
            job.state, job.message = state, message
            job.cond.notify_all()

    def _run(self, job: Job) -> None:
        try:
            data = self.get_data(job.settings["dataset"])
            self.lay_slice(job, data)
            if job.stop_requested:
                self._set(job, "stopped", "stopped before the first mini-batch")
                return
            self._set(job, "running", "")
            job.add("start", summary=job.summary())
            try:
                self.work(job, data)
                stopped = job.history.stopped == "interrupted"
            except _StopNow:
                stopped = True
            state, message = self._outcome(job, stopped)
            job.message = f"{message}; {job.note}" if job.note else message
            if job.batches_done or job.history.epochs:
                self.on_finished(job, data)  # the candidate exists before the state is final
            self._set(job, state, job.message)
        except DigitnetError as err:
            self._set(job, "failed", str(err))
        except Exception as err:  # a bug must not kill the server; the page shows the message
            log.exception("training job %d failed", job.id)
            self._set(job, "failed", f"training failed: {err}")
        finally:
            with job.cond:
                job.ended = True
                job.resting = False
                job.cond.notify_all()
            job.add("end", summary=job.summary())

    @staticmethod
    def lay_slice(job: Job, data: Any) -> None:
        """Before the first step: the class names, and the landscape through the start."""
        job.class_names = tuple(getattr(data, "class_names", ())) or tuple(
            str(j) for j in range(job.net.sizes[-1])
        )
        if job.net.n_params > MAX_SLICE_WEIGHTS:
            job.slice_note = (
                f"no landscape for a network of {job.net.n_params:,} weights: it is drawn for "
                f"at most {MAX_SLICE_WEIGHTS:,}"
            )
            return
        with_val = len(getattr(data, "y_val", ())) > 0
        X = data.X_val if with_val else data.X_train
        y = data.y_val if with_val else data.y_train
        job.slice = start_slice(
            job.net, X[:SLICE_EXAMPLES], y[:SLICE_EXAMPLES], seed=job.config.seed, steps=SLICE_STEPS
        )
        job.path.append(point_dict(0, slice_point(job.slice, job.net)))

    @staticmethod
    def _outcome(job: Job, stopped: bool) -> tuple[str, str]:
        """The final state and its one-line message."""
        n, total = len(job.history.epochs), job.config.epochs
        if stopped:
            return "stopped", (
                f"stopped after {job.batches_done:,} mini-batches ({n} of {total} epochs complete)"
            )
        if job.history.stopped == "early-stopping":
            return "finished", (
                f"finished early after {n} of {total} epochs: the validation accuracy stopped "
                f"improving after epoch {job.history.best_epoch}"
            )
        return "finished", f"finished all {n} epochs ({job.batches_done:,} mini-batches)"

    def work(self, job: Job, data: Any) -> None:
        """Train ``job.net`` on ``data``: the mini-batch loop of the command line."""
        asked = job.settings["train_examples"]
        n = min(asked, len(data.y_train))
        job.train_examples = n
        if n < asked:  # said in the status and in the final message
            job.note = job.message = (
                f"training on all {n:,} training images of {data.name} ({asked:,} asked for; "
                f"the validation split holds {len(data.y_val):,} more)"
            )
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


def point_dict(step: int, p: SlicePoint) -> PathRecord:
    """A landscape point for JSON: the weights after ``step`` steps seen from the slice."""
    return {"step": step, "alpha": p.alpha, "beta": p.beta, "cost": p.cost,
            "slice_cost": p.slice_cost, "off_plane": p.off_plane}  # fmt: skip


def landscape_answer(job: Job, since: int = 0) -> dict[str, Any]:
    """The run's landscape: the slice's grid (:func:`digitnet.web.answers.slice_answer`) and the
    path's points from the ``since``-th on."""
    if job.slice is None:
        return {"job": job.id, "note": job.slice_note, "grid": None, "path": [], "points": 0}
    n = len(job.path)  # the job's thread appends as this answer is made
    return {
        "job": job.id,
        "note": job.slice_note,
        "grid": slice_answer(job.slice),
        "path": job.path[since:n],
        "points": n,
    }


def busy_message(job: Job | None) -> str:
    """The one line refusing a second run while ``job`` runs."""
    if job is None:
        return "a training run is already running"
    return (
        f"training run #{job.id} is already running ({len(job.history.epochs)} of "
        f"{job.config.epochs} epochs done): stop it or wait for it to end before starting another"
    )
