"""Running a sweep's runs on Dask: a LocalCluster, or the workers of an existing scheduler.

:func:`connect` gives a ``distributed.Client``: on this machine a ``LocalCluster`` of
single-threaded worker processes (their BLAS pinned to one thread), or the cluster of
``--scheduler ADDRESS``. :func:`execute` scatters the data to every worker once, hands out no
more runs than the cluster has threads (so a stop hands out nothing more and loses little), and
gives each finished run to ``record`` as it arrives. A worker that dies mid-run has its run
retried on another worker by the scheduler; should it take the last copy of the data with it,
the data is scattered again and the runs that needed it are handed out again. A run that
diverges comes back as a result, with status ``diverged``, and is not retried.

A run the scheduler no longer wants stops on its worker after the mini-batch it is in (its
callback asks the worker after each step, :class:`StopWhenCancelled`): one cancelled by its
driver, and one whose driver died, which the scheduler forgets as soon as the driver's connection
drops. :func:`cancel_keys` cancels the runs of a driver that died without the scheduler seeing
it go, from the next driver.

Dask is imported only inside these functions: ``import digitnet`` never loads it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import signal
import socket
import time
import uuid
import weakref
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from digitnet.errors import DigitnetError, TrainingDiverged
from digitnet.sweep.plan import RunSpec
from digitnet.train import Callback

if TYPE_CHECKING:
    import numpy as np
    from dask.typing import Key
    from distributed import Client, Worker

    from digitnet.data import Dataset

INSTALL_HINT = "pip install 'digitnet[sweep]'"
_blas_pinned = False
_prepared: weakref.WeakKeyDictionary[Packed, Dataset] = weakref.WeakKeyDictionary()


def import_distributed() -> Any:
    """The ``distributed`` module, or one line saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise DigitnetError(
            f"sweeps run on Dask, which is not installed; install it with: {INSTALL_HINT}"
        ) from None
    return distributed


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def check_address(address: str) -> None:
    """One line if ``address`` is not a scheduler address such as ``tcp://HOST:8786``."""
    import_distributed()
    from distributed.comm.addressing import get_address_host_port

    example = "expected an address such as tcp://HOST:8786"
    try:
        host, port = get_address_host_port(address)
    except (ValueError, TypeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DigitnetError(f"--scheduler {address}: {example} ({reason})") from None
    if not host or not 0 < port < 65536:
        raise DigitnetError(f"--scheduler {address}: {example}, a port from 1 to 65535")


@contextmanager
def connect(scheduler: str | None, workers: int | None, timeout: float) -> Iterator[Client]:
    """A client of the scheduler at ``scheduler``, or of a new LocalCluster of ``workers``
    single-threaded processes; closed (and the LocalCluster stopped) on the way out.

    An unreachable scheduler, or one without any worker after ``timeout`` seconds, is one line.
    """
    distributed = import_distributed()
    import dask

    logging.getLogger("distributed").setLevel(logging.CRITICAL)  # failures are reported here
    cluster = None
    if scheduler:
        _probe(scheduler, timeout)
        try:
            client = distributed.Client(scheduler, timeout=timeout, set_as_default=False)
        except Exception as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise DigitnetError(
                f"cannot reach the Dask scheduler at {scheduler}: {reason}"
            ) from None
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            client.close()
            raise DigitnetError(
                f"the Dask scheduler at {scheduler} has no workers after {timeout:g} s; "
                f"start one with: dask worker {scheduler} --nthreads 1"
            ) from None
    else:
        pinned = {
            name: 1 for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        }
        environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **pinned}
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}), _sigint_ignored():
            cluster = distributed.LocalCluster(
                n_workers=workers or default_workers(),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",  # a free port: None still binds 8787
                silence_logs=logging.CRITICAL,
            )
        client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _probe(scheduler: str, timeout: float) -> None:
    """One line unless something at ``scheduler`` takes a TCP connection within ``timeout``
    seconds and answers Dask's handshake.

    A ``Client`` that fails to connect leaves an object whose clean-up waits and prints a
    traceback when it is collected; plain sockets, each closed, leave nothing behind."""
    import asyncio

    from distributed.comm import connect
    from distributed.comm.addressing import get_address_host_port

    host, port = get_address_host_port(scheduler)
    deadline = time.monotonic() + timeout
    while True:  # the scheduler may still be starting: try again until the deadline
        try:
            with socket.create_connection((host, port), timeout=max(0.1, timeout / 4)):
                break
        except OSError as err:
            if time.monotonic() + 0.1 >= deadline:
                reason = err.strerror or str(err) or type(err).__name__
                raise DigitnetError(
                    f"cannot reach the Dask scheduler at {scheduler}: {reason} (after "
                    f"{timeout:g} s)"
                ) from None
            time.sleep(0.1)

    async def handshake(seconds: float) -> None:
        async def exchange() -> None:
            comm = await connect(scheduler, timeout=seconds)
            await comm.close()

        await asyncio.wait_for(exchange(), seconds)  # a silent peer's handshake never ends

    try:
        asyncio.run(handshake(max(1.0, deadline - time.monotonic())))
    except (OSError, TimeoutError) as err:
        reason = (
            str(err).splitlines()[0]
            if str(err)
            else f"it took the connection but did not answer Dask's handshake in {timeout:g} s"
        )
        raise DigitnetError(f"cannot reach the Dask scheduler at {scheduler}: {reason}") from None
    except Exception as err:  # whatever the decoder makes of a stranger's bytes
        raise DigitnetError(
            f"cannot reach the Dask scheduler at {scheduler}: what answers there does not speak "
            f"Dask's protocol ({type(err).__name__})"
        ) from None


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ctrl-C ignored by the worker processes started meanwhile (they inherit it): a terminal
    sends it to the whole process group, and it is the driver's to handle, letting the runs in
    flight finish."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def describe_cluster(client: Client) -> str:
    """'2 workers, 2 threads at tcp://...' for the first line of the output."""
    threads = client.nthreads()
    return (
        f"{len(threads)} worker{'s' * (len(threads) != 1)}, {sum(threads.values())} "
        f"thread{'s' * (sum(threads.values()) != 1)} at {scheduler_address(client)}"
    )


def dashboard_link(client: Client) -> str | None:
    """The address of the scheduler's dashboard (Dask's live page of the workers, their tasks
    and memory), or None when it serves none: bokeh, which the sweep extra installs, missing
    where the scheduler runs, or a scheduler started with ``--no-dashboard``."""
    from distributed.comm.addressing import get_address_host
    from distributed.utils import format_dashboard_link

    port = client.scheduler_info().get("services", {}).get("dashboard")
    if not port:
        return None
    host = get_address_host(scheduler_address(client))
    return format_dashboard_link(f"[{host}]" if ":" in host else host, port)


def describe_dashboard(client: Client) -> str:
    """'dashboard: http://HOST:PORT/status', or the line saying why there is none."""
    link = dashboard_link(client)
    if link:
        return f"dashboard: {link}"
    return (
        "dashboard: none (the scheduler has no bokeh, or was started with --no-dashboard; "
        f"{INSTALL_HINT} brings bokeh)"
    )


def scheduler_address(client: Client) -> str:
    """The address of the scheduler ``client`` is connected to, such as ``tcp://HOST:8786``."""
    scheduler = client.scheduler  # None until the client connects
    address = scheduler.address if scheduler is not None else None
    if not isinstance(address, str):
        raise DigitnetError("the Dask client is not connected to a scheduler")
    return address


@dataclass
class Outcome:
    """What :func:`execute` did: runs recorded, runs that failed (with the reason), whether it
    stopped early, and the seconds spent scattering the data."""

    recorded: int = 0
    failed: list[tuple[RunSpec, str]] = field(default_factory=list)
    stopped: bool = False
    scatter_seconds: float = 0.0
    scattered_again: int = 0  # times the data was lost with its workers and sent out again


def execute(
    client: Client,
    runs: list[RunSpec],
    data: Dataset,
    record: Callable[[RunSpec, dict[str, Any]], None],
    stop_requested: Callable[[], bool],
    want_parameters: bool = False,
    task: Callable[[dict[str, Any], Any, bool], dict[str, Any]] | None = None,
    started: Callable[[RunSpec, str], None] | None = None,
    more: Callable[[int], list[RunSpec]] | None = None,
    options: Callable[[RunSpec], dict[str, Any]] | None = None,
    worker_timeout: float = 60.0,
) -> Outcome:
    """Train ``runs`` on the cluster of ``client``, calling ``record(spec, result)`` (in this
    process) for each run as it finishes; ``result`` is what :func:`train_run` returns.

    ``task`` replaces :func:`train_run` on the workers: a module-level function
    ``task(recipe, data, want_parameters) -> dict`` (``data`` arrives :class:`Packed`; its
    :meth:`Packed.dataset` is the dataset), for runs that train otherwise.

    Runs are handed out while ``stop_requested()`` is false, at most one per worker thread at a
    time; once it is true the runs in flight finish and are recorded, and no other starts. A
    KeyboardInterrupt (and any error, say in ``record``) cancels the runs in flight on the
    workers. Each run is the Dask task ``run-ID-CALL`` (``CALL`` is this call's own), given to
    ``started(spec, key)`` as it is handed out.

    ``more(n)`` gives up to ``n`` further runs whenever fewer than ``n`` wait (a search proposes
    its next points from the runs recorded so far); ``options(spec)`` gives the keyword
    arguments of the run's ``task`` besides the recipe, the data and ``want_parameters``.

    Should the workers that die take every copy of the data with them, it is scattered again
    once a worker is there to take it (at most ``worker_timeout`` seconds of waiting, then one
    line); the runs that needed it are handed out again.
    """
    distributed = import_distributed()
    task = task or train_run
    outcome = Outcome()
    packed = Packed.of(data)
    start = time.perf_counter()
    data_future = client.scatter(packed, broadcast=True, hash=False)
    outcome.scatter_seconds = time.perf_counter() - start

    def scatter_again() -> None:
        nonlocal data_future
        try:
            client.wait_for_workers(1, timeout=worker_timeout)
        except (TimeoutError, distributed.TimeoutError) as err:
            raise DigitnetError(
                "the sweep's data was lost with its workers and no worker came to take it "
                f"again in {worker_timeout:g} s; start workers and rerun the same command"
            ) from err
        data_future.release()
        data_future = client.scatter(packed, broadcast=True, hash=False)
        outcome.scattered_again += 1

    pending = deque(runs)
    in_flight: dict[Any, RunSpec] = {}
    finished = distributed.as_completed(loop=client.loop)
    call = uuid.uuid4().hex[:8]  # no key is shared with another driver's task of the same run

    def hand_out() -> None:
        if stop_requested():
            outcome.stopped = outcome.stopped or bool(pending)
            pending.clear()
        limit = max(1, sum(client.nthreads().values()))
        if more is not None and not stop_requested():
            pending.extend(more(limit - len(in_flight) - len(pending)))
        while pending and len(in_flight) < limit:
            spec = pending.popleft()
            key = f"run-{spec.id}-{call}" + (
                f"-again{retries[spec.id]}" if retries[spec.id] else ""
            )
            if started is not None:
                started(spec, key)
            kwargs = options(spec) if options is not None else {}
            future = client.submit(
                task, spec.recipe, data_future, want_parameters, key=key, **kwargs
            )
            in_flight[future] = spec
            finished.add(future)

    retries: Counter[str] = Counter()  # run id -> times handed out again
    try:
        hand_out()
        for future in finished:
            spec = in_flight.pop(future)
            if future.status == "finished":
                record(spec, future.result())
                outcome.recorded += 1
            elif _lost(future) and retries[spec.id] < MAX_RETRIES and not stop_requested():
                retries[spec.id] += 1  # its worker died: the run never ended, so run it again
                pending.appendleft(spec)
                if data_future.status != "finished":  # the last copy of the data went too
                    scatter_again()
            else:
                outcome.failed.append((spec, _reason(future)))
            future.release()
            hand_out()
    except BaseException:
        if in_flight:
            try:
                client.cancel(list(in_flight), reason="the sweep stopped")
            except Exception:  # the scheduler is gone: so are the runs' wanted keys
                pass
        raise
    finally:
        data_future.release()
    return outcome


def cancel_keys(client: Client, keys: list[str]) -> None:
    """Cancel the tasks ``keys`` on the cluster of ``client``, whoever asked for them (the runs
    of a driver that died): the worker running one stops it after its current mini-batch."""
    if not keys:
        return
    distributed = import_distributed()
    futures = [distributed.Future(key, client) for key in keys]
    client.cancel(futures, force=True, reason="its sweep driver ended")


# A run whose task ended without a result or an error of its own (cancelled, or lost with its
# worker) is handed out again, at most this many times.
MAX_RETRIES = 3
ERROR_WAIT = 30.0  # seconds to wait for the client to hand over a failed run's error


def _error(future: Any) -> BaseException | None:
    """The error the run raised, or None when it raised none: it finished, was cancelled, or
    its result was lost with its worker after :func:`execute` was told it was done."""
    if future.status != "error":
        return None
    try:  # the error is on the client already; the wait is for the client's event loop
        return future.exception(timeout=ERROR_WAIT)
    except BaseException as err:  # a cancelled future raises its CancelledError here
        return err


def _lost(future: Any) -> bool:
    """Whether ``future`` ended with no error of the run's own: cancelled, or lost with its
    worker."""
    if future.status == "cancelled":
        return True
    err = _error(future)
    return err is None or type(err).__name__ == "CancelledError"


def _reason(future: Any) -> str:
    """Why the run of ``future`` ended without a result, in one line."""
    err = _error(future)
    if err is None:
        return f"its task was {future.status} {MAX_RETRIES + 1} times"
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


# -- on the worker -------------------------------------------------------------------------------
def pin_blas_threads() -> None:
    """One BLAS thread in this worker process (its one Dask thread is its share of the cores).

    The LocalCluster's workers start with ``OPENBLAS_NUM_THREADS=1`` and the like already;
    threadpoolctl, when installed, also pins workers started some other way.
    """
    global _blas_pinned
    if _blas_pinned:
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        threadpool_limits(1)
    _blas_pinned = True


class RunCancelled(Exception):
    """The scheduler no longer wants the run: nobody will read its result."""


class StopWhenCancelled(Callback):
    """Ends training after the current mini-batch once the worker has been told the run is no
    longer wanted (the worker marks a task it is running ``cancelled`` when the scheduler
    releases it). Outside a Dask worker it never stops.

    With ``prune_below`` (the median validation accuracy of other runs at each epoch, index 0
    for epoch 1) it also ends training after an epoch, short of the last, whose validation
    accuracy is below that epoch's median, and sets ``pruned``. With ``medians`` (the name of
    the sweep's :class:`SharedMedians`) it reads the medians afresh after every epoch, so that
    runs recorded while this one trains count too; ``prune_below`` is then the fallback, should
    the scheduler not answer.

    Setting ``stop_requested`` (as :class:`~digitnet.tracking.Callbacks` does) ends training too."""

    def __init__(
        self, prune_below: list[float] | None = None, epochs: int = 0, medians: str | None = None
    ) -> None:
        self.prune_below, self.epochs, self.pruned = prune_below or [], epochs, False
        self.medians = medians
        self._asked = False
        self._task: tuple[Worker, Key] | None = None  # the worker and this run's Dask key
        try:
            from distributed import get_worker

            worker = get_worker()
            self._task = worker, worker.get_current_task()
        except (ImportError, ValueError, KeyError):  # not in a Dask task
            self._task = None

    def on_epoch_end(self, record: Any, network: Any) -> None:
        epoch, accuracy = record.epoch, record.validation_accuracy
        if self.medians is not None and epoch < self.epochs:
            self.prune_below = SharedMedians.read(self.medians, self.prune_below)
        if epoch < self.epochs and epoch <= len(self.prune_below):
            if math.isfinite(accuracy) and accuracy < self.prune_below[epoch - 1]:
                self.pruned = True

    @property
    def stop_requested(self) -> bool:
        if self._asked or self.pruned:
            return True
        if self._task is None:
            return False
        worker, key = self._task
        task = worker.state.tasks.get(key)
        return task is None or task.state == "cancelled"

    @stop_requested.setter
    def stop_requested(self, value: bool) -> None:
        self._asked = value


class SharedMedians:
    """The pruner's medians of validation accuracy by epoch, kept on the scheduler as a Dask
    ``Variable`` named ``name``: the driver publishes them each time it records a run, and a run
    in training reads them after each epoch (:class:`StopWhenCancelled`)."""

    READ_TIMEOUT = 10.0  # seconds a worker waits for the scheduler before it keeps what it has

    def __init__(self, client: Client, name: str | None = None) -> None:
        distributed = import_distributed()
        self.name = name or f"digitnet-medians-{uuid.uuid4().hex[:12]}"
        self._variable = distributed.Variable(self.name, client=client)

    def publish(self, medians: list[float]) -> None:
        self._variable.set([float(m) for m in medians])

    def delete(self) -> None:
        """Take the medians off the scheduler; a scheduler already gone has nothing to take."""
        try:
            self._variable.delete()
        except Exception:
            pass

    @classmethod
    def read(cls, name: str, fallback: list[float]) -> list[float]:
        """The medians published under ``name``, or ``fallback`` when there are none yet or
        no scheduler answers (outside a Dask worker, say)."""
        try:
            from distributed import Variable

            value = Variable(name).get(timeout=cls.READ_TIMEOUT)
        except Exception:  # no client, no scheduler, or nothing published in time
            return fallback
        return [float(v) for v in value] if isinstance(value, list | tuple) else fallback


class Packed:
    """A dataset as it travels to the workers: images as the bytes 0..255 they were made from
    (a quarter of the float32 size), labels as they are.

    :meth:`dataset` rebuilds, once per worker, the float32 images the driver has, bit for bit
    (the same ``k / 255`` in float32); a dataset whose images are not such fractions travels as
    it is.
    """

    def __init__(self, data: Dataset, images: dict[str, np.ndarray] | None) -> None:
        self.data, self.images = data, images

    @classmethod
    def of(cls, data: Dataset) -> Packed:
        import numpy as np

        names = ("X_train", "X_val", "X_test")
        images = {name: np.rint(getattr(data, name) * 255).astype(np.uint8) for name in names}
        if not all(np.array_equal(_as_float(images[n]), getattr(data, n)) for n in names):
            return cls(data, None)
        # replace() takes the fields as keywords of every type Dataset has: Any, not ndarray
        empty: dict[str, Any] = {n: _as_float(images[n][:0]) for n in names}
        return cls(dataclasses.replace(data, **empty), images)

    def dataset(self) -> Dataset:
        """The dataset, with every array contiguous and aligned, made once per worker.

        Arrays unpickled from Dask's messages can start at any byte, and NumPy and BLAS take slow
        paths through misaligned float32 arrays.
        """
        ready = _prepared.get(self)
        if ready is not None:
            return ready
        import numpy as np

        arrays: dict[str, Any] = {}  # Dataset's array fields, by name, for replace()
        for name in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
            if self.images is not None and name in self.images:
                array = _as_float(self.images[name])
            else:
                array = np.require(getattr(self.data, name), requirements=("C", "A"))
            array.flags.writeable = False
            arrays[name] = array
        _prepared[self] = ready = dataclasses.replace(self.data, **arrays)
        return ready


def _as_float(images: np.ndarray) -> np.ndarray:
    """Bytes 0..255 -> float32 in [0, 1], as :func:`digitnet.data.load` makes them."""
    import numpy as np

    return np.true_divide(images, np.float32(255), dtype=np.float32)


def train_run(
    recipe: dict[str, Any],
    data: Dataset | Packed,
    want_parameters: bool = False,
    prune_below: list[float] | None = None,
    medians: str | None = None,
) -> dict[str, Any]:
    """Train one run of a sweep on ``data`` (a :class:`digitnet.data.Dataset`, or the
    :class:`Packed` one the workers are sent) and return what
    the database records: the status, every epoch, the final accuracies and costs (of the
    weights the run ends with), the seconds, the worker; with ``want_parameters`` also the
    trained W and b (for the driver to save the model file). With ``prune_below`` (medians of
    validation accuracy by epoch) a run that falls below one ends there, status ``pruned``;
    ``medians`` names the :class:`SharedMedians` that keep them up to date while it trains."""
    start = time.perf_counter()
    pin_blas_threads()
    from digitnet.network import Network
    from digitnet.settings import make_config
    from digitnet.train import train_on

    if isinstance(data, Packed):
        data = data.dataset()
    config = make_config(recipe["training"], recipe["augment"])
    net = Network.from_config(recipe["network"], seed=config.seed)
    message = None
    callback = StopWhenCancelled(prune_below, config.epochs, medians)
    try:
        history = train_on(net, data, config, callback=callback)
    except TrainingDiverged as err:
        history, message = err.history, str(err)
    if callback.pruned:
        history.stopped = "pruned"
        epoch = len(history.epochs)
        message = (
            f"pruned after epoch {epoch}: validation accuracy below the median of the runs "
            f"recorded by then ({100 * callback.prune_below[epoch - 1]:.2f}%)"
        )
    elif history.stopped == "interrupted":
        raise RunCancelled("the run was cancelled: its sweep stopped, or its driver ended")
    val_cost, val_acc = net.evaluate(data.X_val, data.y_val) if len(data.y_val) else (math.nan,) * 2
    test_cost, test_acc = net.evaluate(data.X_test, data.y_test)
    records = history.to_dict()["epochs"]
    try:
        from distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):
        worker = "local"
    result = {
        "status": history.stopped,
        "epochs": len(records),
        "history": [{k: _finite(v) for k, v in r.items()} for r in records],
        "test_accuracy": test_acc,
        "test_cost": test_cost,
        "validation_accuracy": val_acc,
        "validation_cost": val_cost,
        "train_cost": records[-1]["train_cost"] if records else math.nan,
        "train_seconds": sum(r["seconds"] for r in records),
        "worker": worker,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "message": message,
        "parameters": [p.copy() for p in net.parameters()] if want_parameters else None,
    }
    result["seconds"] = time.perf_counter() - start
    return result


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value
