"""Not a command: the training run ``train``, ``demo`` and ``serve`` share, that survives
anything: checkpoints, signals, resume.

``digitnet train`` (and ``demo``, and ``serve`` when it has no model) trains through
:func:`run_training`:

- before any work, the output path is checked (not a folder, its folder writable) and a fresh run
  refuses to replace the checkpoint of an unfinished one;
- after every epoch a checkpoint is written beside the model (``NAME.checkpoint.npz``): the
  weights, the history, the recipe, and the :class:`~digitnet.train.TrainingState` (random
  generator, optimizer state) that makes ``--resume`` continue the run bit for bit;
- Ctrl-C, SIGTERM and SIGHUP finish the current step, go back to the last whole epoch, save it and
  say how to resume; a second signal aborts at once, leaving the last checkpoint as it was;
- ``--resume`` continues from the checkpoint, or extends a finished run given more ``--epochs``;
  an option that contradicts the saved recipe is refused, naming it.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from digitnet.advice import lr_warning
from digitnet.atomic_files import check_output as check_output_file
from digitnet.atomic_files import exclusive_lock
from digitnet.commands.recipe import load_data
from digitnet.engine.small import unsupported as small_step_unsupported
from digitnet.errors import DigitnetError
from digitnet.limits import check_memory, count_params, describe_bytes, training_bytes
from digitnet.model_io import load_model, read_state, read_trajectory, save_model
from digitnet.network import Network
from digitnet.settings import make_config
from digitnet.train import Callback, EpochRecord, History, TrainConfig, TrainingState, train_on

# Small networks keep their parameters after every epoch, for the cost landscape's training path.
TRAJECTORY_MAX_PARAMS = 50_000
# Signals that stop a run as Ctrl-C does, with the exit code a shell expects (128 + number).
STOP_SIGNALS: dict[int, tuple[str, int]] = {
    signal.SIGINT: ("interrupted", 130),
    signal.SIGTERM: ("terminated", 128 + signal.SIGTERM),
    **({signal.SIGHUP: ("hung up", 128 + signal.SIGHUP)} if hasattr(signal, "SIGHUP") else {}),
}


class ConsoleProgress(Callback):
    """A tqdm bar per epoch on stderr (only on a terminal), a table row per epoch on stdout,
    and a checkpoint written after every epoch."""

    def __init__(self, total_epochs: int, save_checkpoint: Callable[[], None]) -> None:
        self.total_epochs = total_epochs
        self.save_checkpoint = save_checkpoint
        self.bar: tqdm | None = None
        self.header_printed = False
        self.stopped_by: int | None = None  # the signal that asked to stop

    def on_epoch_start(self, epoch: int, n_batches: int) -> None:
        if not self.header_printed:
            print(
                f"{'epoch':>5}  {'cost':>8}  {'train':>7}  {'valid':>7}  {'test':>7}  "
                f"{'seconds':>7}",
                flush=True,
            )
            self.header_printed = True
        self.bar = tqdm(
            total=n_batches,
            desc=f"epoch {epoch}/{self.total_epochs}",
            unit="batch",
            leave=False,
            file=sys.stderr,
            disable=None,
            mininterval=0.2,
        )

    def on_batches(self, epoch: int, done: int, n_batches: int) -> None:
        if self.bar is not None:
            self.bar.update(done - self.bar.n)

    def on_epoch_end(self, record: EpochRecord, network: Network) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        tqdm.write(
            f"{record.epoch:>5}  {record.train_cost:>8.4f}  {_pct(record.train_accuracy)}  "
            f"{_pct(record.validation_accuracy)}  {_pct(record.test_accuracy)}  "
            f"{record.seconds:>7.2f}",
            file=sys.stdout,
        )
        self.save_checkpoint()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _pct(x: float) -> str:
    return f"{100 * x:>6.2f}%" if x == x else f"{'-':>7}"


def checkpoint_path(out: Path) -> Path:
    return out.with_name(out.stem + ".checkpoint.npz")


@contextmanager
def stop_on_signals(callback: ConsoleProgress) -> Iterator[None]:
    """The first Ctrl-C, SIGTERM or SIGHUP asks training to stop after the current step; a second
    one aborts at once (KeyboardInterrupt)."""

    def handler(signum: int, frame: Any) -> None:
        if callback.stop_requested:
            raise KeyboardInterrupt
        callback.stop_requested = True
        callback.stopped_by = signum

    previous: dict[int, Any] = {}
    try:
        for signum in STOP_SIGNALS:
            previous[signum] = signal.signal(signum, handler)
    except ValueError:  # not the main thread: no handlers, signals behave as usual
        for signum, old in previous.items():
            signal.signal(signum, old)
        yield
        return
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def check_output(out: Path, params: int, itemsize: int) -> None:
    """Make sure ``out`` and its checkpoint can be written, before any work: each is a regular
    file or absent, their folder is created if missing and must be writable, and the disk has
    room for a checkpoint of ``params`` weights and biases (so that no epoch is trained and then
    lost to a full disk)."""
    check_output_file(out)
    check_output_file(checkpoint_path(out), "the checkpoint")
    needed = 2 * params * itemsize + (1 << 20)  # the weights, the training state, the header
    try:
        st = os.statvfs(out.parent)
    except (OSError, AttributeError):
        return
    free = st.f_bavail * st.f_frsize
    if free < needed:
        raise DigitnetError(
            f"cannot write the model to {out}: {out.parent} has {describe_bytes(free)} free, and "
            f"a checkpoint needs about {describe_bytes(needed)}"
        )


def _given_conflicts(saved: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """The options in ``given`` (the recipe fields the user named) that differ from ``saved``."""
    conflicts = []
    for section in ("network", "training"):
        for key, value in given.get(section, {}).items():
            if key == "epochs":
                continue
            if saved.get(section, {}).get(key) != value:
                option = "--layers" if key == "sizes" else "--" + key.replace("_", "-")
                conflicts.append(f"{option} {value} (the run's: {saved[section].get(key)})")
    for key in ("preset", "augment", "dataset", "validation"):
        if key in given and given[key] != saved.get(key):
            conflicts.append(f"--{key} {given[key]} (the run's: {saved.get(key)})")
    return conflicts


def _resume_point(
    out: Path, given: dict[str, Any]
) -> tuple[Path, Network, dict[str, Any], TrainingState, dict[str, Any]]:
    """The file to continue from (the checkpoint, or a finished model to extend), its network,
    header, training state and recipe (with ``--epochs`` applied)."""
    ckpt = checkpoint_path(out)
    source = ckpt if ckpt.exists() else out
    if not source.exists():
        raise DigitnetError(f"nothing to resume: neither {ckpt} nor {out} exists")
    net, header = load_model(source)
    recipe, state = header.get("recipe"), read_state(source)
    if not isinstance(recipe, dict) or state is None:
        raise DigitnetError(
            f"{source}: holds no recipe and training state to continue from (it was not written "
            "by `digitnet train` of this version)"
        )
    conflicts = _given_conflicts(recipe, given)
    if conflicts:
        raise DigitnetError(
            f"--resume continues the run in {source} as it was; these options contradict "
            f"it: {'; '.join(conflicts)}"
        )
    history = History.from_dict(header.get("history", {}))
    planned = recipe["training"].get("epochs", TrainConfig().epochs)
    epochs = given.get("training", {}).get("epochs", planned)
    recipe = dict(recipe, training=dict(recipe["training"], epochs=epochs))
    done = len(history.epochs)
    if epochs < planned:
        raise DigitnetError(
            f"--epochs {epochs} would shorten the run to less than its {planned} epochs; "
            "--resume can only extend it"
        )
    if source == out and (epochs <= done or history.stopped != "finished"):
        raise DigitnetError(
            f"the run in {out} finished after {done} epochs ({history.stopped}); give --epochs "
            f"with more than {done} to extend it"
        )
    if epochs > planned:
        print(f"extending the run from {planned} to {epochs} epochs", flush=True)
    return source, net, header, state, recipe


@dataclass
class Run:
    """What :func:`run_training` did: the network, its history, the data, and for a run stopped
    early the exit code a shell expects (130 for Ctrl-C, 128 + the signal's number)."""

    net: Network
    history: History
    data: Any
    exit_code: int = 0


def run_training(
    recipe: dict[str, Any],
    out: Path,
    data_dir: Path | None,
    validation: int,
    download: bool = False,
    resume: bool = False,
    given: dict[str, Any] | None = None,
    log_dir: Path | None = None,
) -> Run:
    """Train ``recipe``'s network into ``out``, checkpointing beside it after every epoch.

    With ``resume``, continue from the checkpoint (or extend the finished run in ``out``) instead;
    ``given`` holds the recipe fields the user named, which must agree with the saved recipe
    (except ``epochs``, which may extend the run). With ``log_dir``, every epoch is also logged
    there (:class:`digitnet.tracking.RunLogger`).
    """
    progress = ConsoleProgress(0, lambda: None)  # signals are caught from the start
    out = check_output_file(out)
    tracker = None
    if log_dir is not None:
        from digitnet.tracking import RunLogger

        tracker = RunLogger(log_dir, resume=resume)
    try:
        with stop_on_signals(progress), exclusive_lock(out):
            return _run(
                progress, recipe, out, data_dir, validation, download, resume, given, tracker
            )
    finally:
        progress.close()
        if tracker is not None:
            tracker.close()


def _run(
    progress: ConsoleProgress,
    recipe: dict[str, Any],
    out: Path,
    data_dir: Path | None,
    validation: int,
    download: bool,
    resume: bool,
    given: dict[str, Any] | None,
    tracker: Any = None,
) -> Run:
    """:func:`run_training`'s work, with ``progress`` catching the stop signals."""
    ckpt = checkpoint_path(out)
    history, state = History(), TrainingState()
    if resume:
        source, net, header, state, recipe = _resume_point(out, given or {})
        history = History.from_dict(header.get("history", {}))
        validation = recipe.get("validation", validation)
    elif ckpt.exists():
        raise DigitnetError(
            f"{ckpt} holds an unfinished run; continue it with `digitnet train --out {out} "
            f"--resume`, or delete it to start afresh"
        )
    config = make_config(recipe["training"], recipe["augment"])
    sizes = net.sizes if resume else recipe["network"].get("sizes", Network().sizes)
    itemsize = 8 if recipe["network"].get("dtype") == "float64" else 4
    check_output(out, count_params(sizes), itemsize)
    check_memory(
        training_bytes(sizes, itemsize, config.batch_size, 60_000),
        f"training the network {'-'.join(map(str, sizes))}",
    )
    if not resume:
        net = Network.from_config(recipe["network"], seed=config.seed)
    data = load_data(recipe["dataset"], data_dir, validation, download)
    if resume:
        saved = header.get("dataset", {})
        if isinstance(saved, dict) and saved.get("checksum") not in (None, data.checksum):
            raise DigitnetError(
                f"the {data.name} data found ({data.source}) are not the data the run in "
                f"{source} trained on (their checksums differ)"
            )
    print(f"data: {data.source}", flush=True)
    print(f"network: {net}", flush=True)
    if not resume:
        warning = lr_warning(net.activation, config.optimizer, config.lr, config.batch_size)
        if warning:
            print(warning, file=sys.stderr, flush=True)
    if (
        config.engine == "fast"
        and small_step_unsupported(net, config, config.batch_size, False)
        == "Numba is not installed"
    ):
        print(
            "note: this network trains several times faster with the compiled step; install it "
            "with: pip install 'digitnet[fast]'",
            file=sys.stderr,
            flush=True,
        )

    def extras() -> dict[str, Any]:
        return {"recipe": recipe, "dataset": data, "training": config, "history": history}

    trajectory: list[np.ndarray] = []
    if net.n_params <= TRAJECTORY_MAX_PARAMS:
        earlier = read_trajectory(source) if resume else None
        trajectory = list(earlier[: len(history.epochs) + 1]) if earlier is not None else []
        trajectory = trajectory or [net.parameter_vector().astype(np.float32)]

    def write(path: Path) -> None:
        if trajectory and len(trajectory) <= len(history.epochs):
            trajectory.append(net.parameter_vector().astype(np.float32))
        stack = np.stack(trajectory) if trajectory else None
        try:
            save_model(path, net, trajectory=stack, state=state, **extras())
        except OSError as err:
            kept = f"; the checkpoint {ckpt} of the last epoch is intact" if ckpt.exists() else ""
            raise DigitnetError(f"cannot write {path}: {err.strerror or err}{kept}") from None

    progress.total_epochs, progress.save_checkpoint = config.epochs, lambda: write(ckpt)
    callback: Callback = progress
    if tracker is not None:  # the log is written before the checkpoint, which resume trusts
        from digitnet.tracking import Callbacks

        tracker.history = history
        callback = Callbacks(tracker, progress)
    train_on(net, data, config, callback=callback, history=history, state=state)
    progress.close()
    if history.stopped == "interrupted":
        write(ckpt)
        what, code = STOP_SIGNALS.get(progress.stopped_by or signal.SIGINT, ("interrupted", 130))
        print(
            f"{what} during epoch {len(history.epochs) + 1}: the checkpoint of epoch "
            f"{len(history.epochs)} is saved in {ckpt}; resume with: digitnet train --out {out} "
            f"--resume",
            file=sys.stderr,
        )
        return Run(net, history, data, code)
    write(out)
    ckpt.unlink(missing_ok=True)
    return Run(net, history, data)
