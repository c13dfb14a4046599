"""Training from the command line never loses work and never shows a traceback: wrong paths, full
disks, contradicting --resume options, damaged checkpoints, a closed pipe (issue 13's list)."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from digitnet import atomic_files, model_io
from digitnet.cli import main
from digitnet.commands import run as run_command
from digitnet.model_io import load_model

SMALL = ["--layers", "784,16,10", "--activation", "relu", "--cost", "cross-entropy", "--init",
         "he", "--optimizer", "momentum", "--lr", "0.05", "--batch-size", "64"]  # fmt: skip


def train(capsys, shared_data: Path, *argv) -> tuple[int, str, str]:
    code = main(["train", *SMALL, "--data-dir", str(shared_data), *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 1, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("digitnet: error: "), err
    for word in words:
        assert word in lines[0], lines[0]


def interrupted_run(capsys, shared_data, out: Path, monkeypatch, epochs: int = 3) -> Path:
    """A run stopped in its second epoch: its checkpoint holds epoch 1."""
    original = run_command.ConsoleProgress.on_batches

    def stop_in_epoch_2(self, epoch, done, n_batches):
        original(self, epoch, done, n_batches)
        if epoch == 2:
            self.stop_requested = True

    monkeypatch.setattr(run_command.ConsoleProgress, "on_batches", stop_in_epoch_2)
    code, _, err = train(capsys, shared_data, "--epochs", epochs, "--out", out)
    monkeypatch.setattr(run_command.ConsoleProgress, "on_batches", original)
    assert code == 130, err
    checkpoint = run_command.checkpoint_path(out)
    assert len(load_model(checkpoint)[1]["history"]["epochs"]) == 1
    return checkpoint


# -- the output path, before any work ------------------------------------------------------------
def test_an_out_that_is_a_folder_is_refused_before_training(capsys, shared_data, tmp_path):
    code, out, err = train(capsys, shared_data, "--epochs", 1, "--out", tmp_path)
    one_line_error(code, err, "is a folder")
    assert "epoch" not in out  # no training happened
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_folder_is_refused_before_training(
    capsys, shared_data, tmp_path, monkeypatch
):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic_files.tempfile, "TemporaryFile", read_only)
    code, out, err = train(capsys, shared_data, "--epochs", 1, "--out", tmp_path / "m.npz")
    one_line_error(code, err, "not writable", "Read-only file system")
    assert "epoch" not in out and not (tmp_path / "m.npz").exists()


def test_a_missing_parent_folder_is_created(capsys, shared_data, tmp_path):
    out = tmp_path / "new" / "deeper" / "m.npz"
    code, _, err = train(capsys, shared_data, "--epochs", 1, "--out", out)
    assert code == 0, err
    assert load_model(out)[0].sizes == [784, 16, 10]


def test_a_full_disk_is_one_line_and_the_last_checkpoint_stays(
    capsys, shared_data, tmp_path, monkeypatch
):
    """The second checkpoint write runs out of space half-way: one line naming the file and the
    cause, the first checkpoint still whole, no temporary file left."""
    out = tmp_path / "m.npz"
    real_savez, calls = np.savez, []

    def savez(file, **arrays):
        calls.append(1)
        if len(calls) == 2:
            file.write(b"PK\x03\x04 half a zip")
            raise OSError(errno.ENOSPC, "No space left on device")
        real_savez(file, **arrays)

    monkeypatch.setattr(model_io.np, "savez", savez)
    code, _, err = train(capsys, shared_data, "--epochs", 3, "--out", out)
    one_line_error(code, err, "m.checkpoint.npz", "No space left on device", "intact")
    net, header = load_model(run_command.checkpoint_path(out))
    assert len(header["history"]["epochs"]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.checkpoint.npz"]


# -- a run never overwrites another -------------------------------------------------------------
def test_a_fresh_run_does_not_replace_an_unfinished_runs_checkpoint(
    capsys, shared_data, tmp_path, monkeypatch
):
    out = tmp_path / "m.npz"
    checkpoint = interrupted_run(capsys, shared_data, out, monkeypatch)
    before = checkpoint.read_bytes()
    code, _, err = main_train_mistyped(capsys, shared_data, out)
    one_line_error(code, err, "holds an unfinished run", "--resume")
    assert checkpoint.read_bytes() == before and not out.exists()


def main_train_mistyped(capsys, shared_data, out):
    code = main(["train", "--layers", "784,10,5", "--epochs", "2", "--data-dir", str(shared_data),
                 "--out", str(out)])  # fmt: skip
    return (code, *capsys.readouterr())


def test_a_network_that_does_not_fit_the_data_leaves_nothing_behind(capsys, shared_data, tmp_path):
    code = main(["train", "--layers", "10,10", "--data-dir", str(shared_data),
                 "--out", str(tmp_path / "m.npz")])  # fmt: skip
    one_line_error(code, capsys.readouterr()[1], "input layer has 10 neurons")
    assert list(tmp_path.iterdir()) == []


# -- --resume means the same run -----------------------------------------------------------------
def test_resume_refuses_options_that_contradict_the_run(capsys, shared_data, tmp_path, monkeypatch):
    out = tmp_path / "m.npz"
    checkpoint = interrupted_run(capsys, shared_data, out, monkeypatch)
    before = checkpoint.read_bytes()
    code, _, err = train(capsys, shared_data, "--out", out, "--resume", "--lr", "0.5")
    one_line_error(code, err, "--lr 0.5 (the run's: 0.05)")
    code, _, err = main(["train", "--out", str(out), "--resume", "--layers", "784,32,10"]), "", ""
    err = capsys.readouterr()[1]
    one_line_error(code, err, "--layers [784, 32, 10]")
    assert checkpoint.read_bytes() == before
    # the command the interruption printed continues the run to its own 3 epochs
    code = main(["train", "--out", str(out), "--resume", "--data-dir", str(shared_data)])
    assert code == 0, capsys.readouterr()[1]
    assert [e["epoch"] for e in load_model(out)[1]["history"]["epochs"]] == [1, 2, 3]


def test_more_epochs_extend_a_finished_run_exactly(capsys, shared_data, tmp_path):
    """3 epochs then --resume --epochs 5 ends where a 5-epoch run does (constant eta, so the
    schedule does not depend on the planned length)."""
    whole, extended = tmp_path / "whole.npz", tmp_path / "extended.npz"
    assert train(capsys, shared_data, "--epochs", 5, "--out", whole)[0] == 0
    assert train(capsys, shared_data, "--epochs", 3, "--out", extended)[0] == 0
    code, out, err = train(capsys, shared_data, "--out", extended, "--resume")
    one_line_error(code, err, "finished after 3 epochs", "--epochs")
    code, out, err = train(capsys, shared_data, "--epochs", 5, "--out", extended, "--resume")
    assert code == 0, err
    assert "extending the run from 3 to 5 epochs" in out
    for a, b in zip(load_model(extended)[0].parameters(), load_model(whole)[0].parameters(),
                    strict=True):  # fmt: skip
        np.testing.assert_array_equal(a, b)


# -- damaged or foreign checkpoints --------------------------------------------------------------
def test_a_truncated_checkpoint_is_one_line(capsys, shared_data, tmp_path, monkeypatch):
    out = tmp_path / "m.npz"
    checkpoint = interrupted_run(capsys, shared_data, out, monkeypatch)
    checkpoint.write_bytes(checkpoint.read_bytes()[:2000])
    code, _, err = train(capsys, shared_data, "--out", out, "--resume")
    one_line_error(code, err, "m.checkpoint.npz")
    assert len(checkpoint.read_bytes()) == 2000  # nothing overwritten


def test_a_checkpoint_of_a_newer_format_is_one_line(capsys, shared_data, tmp_path, monkeypatch):
    out = tmp_path / "m.npz"
    checkpoint = interrupted_run(capsys, shared_data, out, monkeypatch)
    with np.load(checkpoint) as npz:
        arrays = {name: npz[name] for name in npz.files}
    header = json.loads(arrays["header"].tobytes())
    header["format_version"] = 2
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(checkpoint, **arrays)
    before = checkpoint.read_bytes()
    code, _, err = train(capsys, shared_data, "--out", out, "--resume")
    one_line_error(code, err, "format version 2 is not supported")
    assert checkpoint.read_bytes() == before and zipfile.is_zipfile(checkpoint)


def test_a_checkpoint_from_other_data_is_refused(capsys, shared_data, tmp_path, monkeypatch):
    out = tmp_path / "m.npz"
    interrupted_run(capsys, shared_data, out, monkeypatch)
    code, _, err = train(capsys, shared_data, "--out", out, "--resume", "--dataset",
                         "fashion-mnist")  # fmt: skip
    one_line_error(code, err, "--dataset fashion-mnist (the run's: mnist)")


# -- the environment -----------------------------------------------------------------------------
def test_an_explicit_data_dir_without_the_data_is_an_error(capsys, tmp_path):
    code = main(["train", "--epochs", "1", "--data-dir", str(tmp_path), "--out",
                 str(tmp_path / "m.npz")])  # fmt: skip
    one_line_error(code, capsys.readouterr()[1], str(tmp_path / "mnist"), "no such folder")


@pytest.mark.parametrize(
    "argv", [["train"], ["gradcheck"], ["plot", "noise", "m.npz", "-o", "x.png"]]
)
def test_a_negative_seed_is_one_line(capsys, argv):
    code = main([*argv, "--seed", "-1"])
    err = capsys.readouterr()[1]
    assert code == 2 and err.count("\n") == 1 and "must not be negative" in err


def test_a_reader_that_goes_away_is_no_traceback(tmp_path, shared_data, capsys):
    """`digitnet eval M | head -1`: the pipe is closed before digitnet writes."""
    model = tmp_path / "m.npz"
    assert train(capsys, shared_data, "--epochs", 1, "--out", model)[0] == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "digitnet", "eval", str(model), "--data-dir", str(shared_data)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    proc.stdout.close()  # the reader is gone before the first line
    with proc.stderr:
        err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode == 1
