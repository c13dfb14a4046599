"""Run tracking (``digitnet train --log-dir``, :class:`digitnet.tracking.RunLogger`): the
TensorBoard events, read back with TensorBoard's own reader, and the CSV and JSONL rows equal
the run's history; a killed and resumed run logs what an uninterrupted one does; bad folders are
one line before any run.

The runs train small networks on the embedded MNIST sample (``$DIGITNET_DATA`` points at an
empty folder).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from digitnet import Network, TrainConfig, train
from digitnet.cli import main
from digitnet.model_io import load_model
from digitnet.tracking import (
    COLUMNS,
    IMAGE_TAG,
    SCALARS,
    Callbacks,
    RunLogger,
    weights_image,
)
from digitnet.train import Callback, EpochRecord, History, TrainingState

SMALL = ["--layers", "784,12,10", "--epochs", "3", "--batch-size", "50", "--seed", "2"]
TIMED = ("seconds", "eval_seconds")  # differ from run to run


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of a run on the embedded sample (in this process and in children)."""
    empty = tmp_path / "no-data"
    empty.mkdir()
    monkeypatch.setenv("DIGITNET_DATA", str(empty))
    return {**os.environ, "DIGITNET_DATA": str(empty), "OPENBLAS_NUM_THREADS": "1"}


def events(log_dir: Path) -> EventAccumulator:
    """Every event of ``log_dir``, as TensorBoard reads the folder (all of its event files)."""
    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def csv_rows(log_dir: Path) -> list[dict[str, float]]:
    with open(log_dir / "metrics.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == COLUMNS
        return [{k: float(v) if v else math.nan for k, v in row.items()} for row in reader]


def jsonl_rows(log_dir: Path) -> list[dict[str, float]]:
    lines = (log_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: math.nan if v is None else v for k, v in json.loads(x).items()} for x in lines]


def history_rows(history: History) -> list[dict[str, float]]:
    return [{k: float(v) for k, v in asdict(r).items()} for r in history.epochs]


def model_history(path: Path) -> History:
    return History.from_dict(load_model(path)[1]["history"])


def same(a: list[dict[str, float]], b: list[dict[str, float]], skip: tuple[str, ...] = ()) -> bool:
    """Row lists equal value for value (NaN equal to NaN), leaving out the columns ``skip``."""
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b, strict=True):
        for k in ra.keys() - set(skip):
            if not (ra[k] == rb[k] or (math.isnan(ra[k]) and math.isnan(rb[k]))):
                return False
    return True


def assert_events_are_the_history(log_dir: Path, history: History, skip=()) -> EventAccumulator:
    """Each scalar tag has one point per epoch, at step = the epoch, equal to the history's
    value (TensorBoard stores scalars as float32); an epoch without the measurement (NaN) has
    none."""
    acc = events(log_dir)
    for name, tag in SCALARS.items():
        if name in skip:
            continue
        measured = [r for r in history.epochs if not math.isnan(getattr(r, name))]
        points = acc.Scalars(tag) if tag in acc.Tags()["scalars"] else []
        assert [p.step for p in points] == [r.epoch for r in measured], tag
        expected = [np.float32(getattr(r, name)) for r in measured]
        assert [np.float32(p.value) for p in points] == expected, tag
    return acc


# -- a run's log read back -----------------------------------------------------------------------
def test_train_log_dir_writes_events_csv_and_jsonl_equal_to_the_history(
    tmp_path: Path, embedded: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    out, log_dir = tmp_path / "m.npz", tmp_path / "logs" / "run1"
    assert main(["train", *SMALL, "--out", str(out), "--log-dir", str(log_dir)]) == 0
    history = model_history(out)
    assert [r.epoch for r in history.epochs] == [1, 2, 3]
    acc = assert_events_are_the_history(log_dir, history)
    assert acc.Scalars("accuracy/validation")[-1].value > 0.5  # it learned (chance: 0.1)

    images = acc.Images(IMAGE_TAG)
    assert [i.step for i in images] == [1, 2, 3]
    # 12 tiles of 28 x 28 in 3 rows of 4 with 1-pixel gaps, each weight a 3 x 3 square
    assert (images[-1].height, images[-1].width) == (3 * (3 * 29 - 1), 3 * (4 * 29 - 1))
    png = np.asarray(Image.open(io.BytesIO(images[-1].encoded_image_string)).convert("RGB"))
    net, _ = load_model(out)
    np.testing.assert_array_equal(png, weights_image(net))  # the last epoch's weights, lossless

    assert same(csv_rows(log_dir), history_rows(history))
    assert same(jsonl_rows(log_dir), history_rows(history))
    assert "Traceback" not in capsys.readouterr().err


def test_the_weights_image_colours_each_neurons_weights_in_its_tile() -> None:
    """Neuron j's strongest positive weight is blue in its tile, its strongest negative one red,
    and the gaps between tiles are white."""
    net = Network([784, 3, 10], seed=1)
    W = net.W[0]
    image = weights_image(net)  # tiles in 2 rows of 2 (as square as can be), scale 3
    assert image.shape == (3 * (2 * 29 - 1), 3 * (2 * 29 - 1), 3) and image.dtype == np.uint8
    for j in range(3):
        r, c = divmod(j, 2)
        tile = image[3 * 29 * r : 3 * 29 * r + 3 * 28, 3 * 29 * c : 3 * 29 * c + 3 * 28]
        hi = np.unravel_index(W[j].argmax(), (28, 28))
        lo = np.unravel_index(W[j].argmin(), (28, 28))
        blue, red = tile[3 * hi[0], 3 * hi[1]].astype(int), tile[3 * lo[0], 3 * lo[1]].astype(int)
        assert blue[2] > blue[0] + 50 and red[0] > red[2] + 50
    assert (image[:, 3 * 28 : 3 * 29] == 255).all()  # the gap between the columns
    assert (image[3 * 29 :, 3 * 29 :] == 255).all()  # the fourth cell is empty
    # an input that is no square image: W^(1) itself, a row per neuron
    flat = weights_image(Network([10, 4, 2], seed=1))
    assert flat.shape[:2] == (4 * 8, 10 * 8)


# -- resuming ------------------------------------------------------------------------------------
def command(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "digitnet", *args]


def rows_written(log_dir: Path) -> int:
    try:
        return len((log_dir / "metrics.csv").read_text().splitlines()) - 1
    except FileNotFoundError:
        return 0


def test_a_killed_and_resumed_run_logs_what_an_uninterrupted_run_logs(
    tmp_path: Path, embedded: dict[str, str]
) -> None:
    """kill -9 after two epochs, Ctrl-C after five, then --resume to the end: the log holds each
    epoch once, numbered as the run's, equal to an uninterrupted run's log but for the seconds,
    and equal to the resumed run's own history."""
    args = ["train", "--layers", "784,64,10", "--epochs", "9", "--batch-size", "10", "--seed", "4"]
    whole_log = tmp_path / "whole"
    done = subprocess.run(
        command([*args, "--out", str(tmp_path / "whole.npz"), "--log-dir", str(whole_log)]),
        env=embedded, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]

    out, log_dir = tmp_path / "m.npz", tmp_path / "killed"
    run = [*args, "--out", str(out), "--log-dir", str(log_dir)]
    codes = []
    for signum, after_rows in ((signal.SIGKILL, 2), (signal.SIGINT, 5), (None, None)):
        resume = ["--resume"] if codes else []
        proc = subprocess.Popen(command([*run, *resume]), env=embedded, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        if signum is not None:
            deadline = time.monotonic() + 120
            while rows_written(log_dir) < after_rows and proc.poll() is None:
                assert time.monotonic() < deadline, "the run logged too few epochs in time"
                time.sleep(0.01)
            proc.send_signal(signum)
        _, err = proc.communicate(timeout=300)
        assert "Traceback" not in err, err[-2000:]
        codes.append(proc.returncode)
    assert codes == [-signal.SIGKILL, 130, 0], codes
    assert len(list(log_dir.glob("events.out.tfevents.*"))) == 3  # one per process

    history, whole = model_history(out), model_history(tmp_path / "whole.npz")
    assert [r.epoch for r in history.epochs] == list(range(1, 10))
    assert same(csv_rows(log_dir), history_rows(history))
    assert same(jsonl_rows(log_dir), history_rows(history))
    assert same(csv_rows(log_dir), csv_rows(whole_log), skip=TIMED)
    assert_events_are_the_history(log_dir, history)
    assert_events_are_the_history(log_dir, whole, skip=TIMED)
    assert [i.step for i in events(log_dir).Images(IMAGE_TAG)] == list(range(1, 10))


def test_a_log_ahead_of_the_checkpoint_is_cut_back_on_resume(
    tmp_path: Path, embedded: dict[str, str]
) -> None:
    """A run killed after logging an epoch but before its checkpoint leaves a row and events
    the run does not have: --resume drops them, and TensorBoard shows the epoch trained again."""
    out, log_dir = tmp_path / "m.npz", tmp_path / "logs"
    assert (
        main(["train", *SMALL, "--epochs", "2", "--out", str(out), "--log-dir", str(log_dir)]) == 0
    )
    ghost = EpochRecord(3, 9.0, 9.0, 0.99, 9.0, 0.99, 0.99, 9.0, 9.0)
    with open(log_dir / "metrics.csv", "a") as f:
        f.write(",".join(str(v) for v in asdict(ghost).values()) + "\n")
    with open(log_dir / "metrics.jsonl", "a") as f:
        f.write(json.dumps(asdict(ghost)) + "\n")
    from tensorboardX import SummaryWriter

    # named as the killed run's own file would be: after the first run's, before the next one's
    suffix = f".{time.time_ns()}.0"
    with SummaryWriter(str(log_dir), filename_suffix=suffix) as ghost_writer:
        for name, tag in SCALARS.items():
            ghost_writer.add_scalar(tag, getattr(ghost, name), 3)
    assert rows_written(log_dir) == 3

    resumed = ["train", *SMALL, "--epochs", "4", "--out", str(out), "--resume"]
    assert main([*resumed, "--log-dir", str(log_dir)]) == 0
    history = model_history(out)
    assert [r.epoch for r in history.epochs] == [1, 2, 3, 4]
    assert history.epochs[2].lr == 1.5  # the real epoch 3, not the ghost
    assert same(csv_rows(log_dir), history_rows(history))
    assert same(jsonl_rows(log_dir), history_rows(history))
    assert_events_are_the_history(log_dir, history)


def test_a_log_first_asked_for_on_resume_gets_the_earlier_epochs_from_the_history(
    tmp_path: Path, embedded: dict[str, str]
) -> None:
    out, log_dir = tmp_path / "m.npz", tmp_path / "late"
    assert main(["train", *SMALL, "--epochs", "2", "--out", str(out)]) == 0
    resumed = ["train", *SMALL, "--epochs", "3", "--out", str(out), "--resume"]
    assert main([*resumed, "--log-dir", str(log_dir)]) == 0
    history = model_history(out)
    assert same(csv_rows(log_dir), history_rows(history))
    acc = assert_events_are_the_history(log_dir, history)
    assert [i.step for i in acc.Images(IMAGE_TAG)] == [3]  # earlier weights are gone


# -- the Python API ------------------------------------------------------------------------------
class StopAfter(Callback):
    """Asks to stop at the end of epoch ``epoch``; counts the batch reports it gets."""

    batch_report_every = 7

    def __init__(self, epoch: int) -> None:
        self.epoch, self.reports = epoch, []

    def on_batches(self, epoch: int, done: int, n_batches: int) -> None:
        self.reports.append(done)

    def on_epoch_end(self, record: EpochRecord, network: Network) -> None:
        self.stop_requested = record.epoch >= self.epoch


def test_the_api_logs_through_chained_callbacks_and_continues_the_log_with_the_history(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(0)
    X, y = rng.random((300, 16), dtype=np.float32), rng.integers(0, 3, 300)
    X_val, y_val = rng.random((60, 16), dtype=np.float32), rng.integers(0, 3, 60)
    config = TrainConfig(epochs=5, batch_size=20, lr=0.5, seed=1)

    state = TrainingState()  # with it, a run goes on exactly as if never stopped

    def run(callback: Callback, history: History | None = None, net=None) -> tuple:
        net = net or Network([16, 6, 3], seed=3)
        h = train(net, X, y, config, X_val=X_val, y_val=y_val, callback=callback,
                  history=history, state=state)  # fmt: skip
        return net, h

    with RunLogger(tmp_path / "whole") as logger:
        _, whole = run(logger)
    state = TrainingState()
    stopper = StopAfter(2)
    with RunLogger(tmp_path / "api") as logger:
        net, history = run(Callbacks(logger, stopper))
    assert history.stopped == "interrupted" and len(history.epochs) == 2
    assert stopper.reports == [7, 14] * 2  # 15 batches an epoch, reported every 7th as asked
    assert same(csv_rows(tmp_path / "api"), history_rows(history))

    with RunLogger(tmp_path / "api", history) as logger:  # goes on from the history
        _, history = run(logger, history, net)
    assert len(history.epochs) == 5
    assert same(csv_rows(tmp_path / "api"), history_rows(history))
    assert same(csv_rows(tmp_path / "api"), history_rows(whole), skip=TIMED)
    assert_events_are_the_history(tmp_path / "api", history)
    assert math.isnan(csv_rows(tmp_path / "api")[0]["test_accuracy"])  # no test data given
    first = json.loads((tmp_path / "api" / "metrics.jsonl").read_text().splitlines()[0])
    assert first["test_accuracy"] is None and first["epoch"] == 1
    assert "accuracy/test" not in events(tmp_path / "api").Tags()["scalars"]


def test_importing_digitnet_and_its_cli_does_not_import_tensorboard() -> None:
    code = (
        "import sys, digitnet, digitnet.tracking; from digitnet.cli import build_parser; "
        "build_parser(); print(sorted(m for m in ('tensorboardX', 'tensorboard') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- bad input -----------------------------------------------------------------------------------
def bad_folders(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine\n")
    taken = tmp_path / "taken"
    (taken / "metrics.csv").mkdir(parents=True)
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "metrics.csv").write_text("epoch\n1\n")
    return {
        "a file": (a_file, f"--log-dir {a_file} is a file, not a folder"),
        "below a file": (a_file / "logs", f"{a_file} is a file, not a folder"),
        "a device": (Path("/dev/null"), "--log-dir /dev/null is a device, not a folder"),
        "unwritable": (Path("/sys/digitnet-logs"), "/sys is not writable"),
        "its csv a folder": (taken, "its metrics.csv is a folder, not a regular file"),
        "another run's log": (earlier, "already holds the log of a run"),
    }


@pytest.mark.parametrize(
    "case",
    ["a file", "below a file", "a device", "unwritable", "its csv a folder", "another run's log"],
)
def test_a_bad_log_dir_is_one_line_before_any_run_and_nothing_is_written(
    case: str, tmp_path: Path, embedded: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, words = bad_folders(tmp_path)[case]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    out = tmp_path / "m.npz"
    code = main(["train", *SMALL, "--out", str(out), "--log-dir", str(folder)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("digitnet: error: ") and captured.err.count("\n") == 1
    assert words in captured.err, captured.err
    assert captured.out == ""  # before any work: no "data:" line
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert not Path("/sys/digitnet-logs").exists()


def test_without_tensorboardx_the_log_dir_names_the_extra(
    tmp_path: Path, embedded: dict[str, str], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import tensorboardX fails
    out, log_dir = tmp_path / "m.npz", tmp_path / "logs"
    assert main(["train", *SMALL, "--out", str(out), "--log-dir", str(log_dir)]) == 1
    err = capsys.readouterr().err
    assert err == (
        "digitnet: error: run tracking writes TensorBoard files with tensorboardX, which is not "
        "installed; install it with: pip install 'digitnet[tracking]'\n"
    )
    assert not out.exists() and not log_dir.exists()


def test_a_log_dir_another_run_is_writing_is_refused(
    tmp_path: Path, embedded: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    out, log_dir = tmp_path / "m.npz", tmp_path / "logs"
    assert main(["train", *SMALL, "--out", str(out)]) == 0
    with RunLogger(log_dir, resume=True) as logger:
        logger.open(1)  # holds the folder as a run does
        resumed = ["train", *SMALL, "--epochs", "4", "--out", str(out), "--resume"]
        code = main([*resumed, "--log-dir", str(log_dir)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert f"{log_dir / 'metrics.csv'} is being written by another run (pid {os.getpid()})" in err
    assert len(model_history(out).epochs) == 3  # the model is as it was


# -- sweeps --------------------------------------------------------------------------------------
def test_a_sweep_logs_each_run_in_a_folder_named_by_its_id(
    tmp_path: Path, embedded: dict[str, str]
) -> None:
    db, log_dir = tmp_path / "s.db", tmp_path / "sweep-logs"
    argv = ["sweep", "run", "--layers", "784,8,10", "--epochs", "2", "--batch-size", "50",
            "--train-images", "1000", "--grid", "lr=0.5,2", "--workers", "1", "--db", str(db),
            "--save-models", "--log-dir", str(log_dir)]  # fmt: skip
    done = subprocess.run(
        command(argv), env={**embedded, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        runs = conn.execute("SELECT id, history, model FROM runs").fetchall()
    finally:
        conn.close()
    assert len(runs) == 2
    assert sorted(p.name for p in log_dir.iterdir()) == sorted(r[0] for r in runs)
    for run_id, history_json, model in runs:
        history = History.from_dict({"epochs": json.loads(history_json)})
        assert [r.epoch for r in history.epochs] == [1, 2]
        assert same(csv_rows(log_dir / run_id), history_rows(history))
        acc = assert_events_are_the_history(log_dir / run_id, history)
        images = acc.Images(IMAGE_TAG)
        assert [i.step for i in images] == [2]  # the weights the run ended with
        png = Image.open(io.BytesIO(images[0].encoded_image_string)).convert("RGB")
        np.testing.assert_array_equal(np.asarray(png), weights_image(load_model(model)[0]))


def test_a_sweep_with_a_bad_log_dir_is_one_line_before_any_run(
    tmp_path: Path, embedded: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    argv = ["sweep", "run", "--layers", "784,8,10", "--grid", "lr=0.5,2", "--db", str(db),
            "--log-dir", "/dev/null"]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err == (
        "digitnet: error: --log-dir /dev/null is a device, not a folder; name a folder for the "
        "log\n"
    )
    assert not db.exists()
