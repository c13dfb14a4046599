"""Outputs are regular files written by one writer: no command replaces a device, a fifo, a
socket or a folder, a second run on the same ``--out`` stops at once naming the first, and a run
that could not write its checkpoint (a full disk, too little memory) is refused before it trains."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from digitnet.atomic_files import atomic_write, check_output, exclusive_lock, lock_path
from digitnet.errors import DigitnetError
from digitnet.network import Network

TRAIN = ["train", "--layers", "784,16,10", "--epochs", "1"]


def digitnet(
    args: list[str], cwd: Path, limit_memory: int | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """``digitnet ARGS`` in a new process on the embedded sample (no shared data)."""
    preexec: Callable[[], None] | None = None
    if limit_memory is not None:

        def preexec() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (limit_memory, limit_memory))

    env = {**os.environ, "DIGITNET_DATA": "", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "digitnet", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec,
    )


def assert_one_line_refusal(done: subprocess.CompletedProcess, *words: str) -> None:
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0, done.stdout
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in lines[0], lines[0]


def not_files(tmp_path: Path) -> dict[str, Path]:
    """A fifo, a socket, a folder, and a link to /dev/null: none of them a regular file."""
    fifo, sock, folder, link = (tmp_path / n for n in ("fifo", "sock", "folder.npz", "null.npz"))
    os.mkfifo(fifo)
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(sock))
    s.close()
    folder.mkdir()
    link.symlink_to("/dev/null")
    return {"fifo": fifo, "socket": sock, "folder": folder, "device": link}


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "model.npz"
    Network([784, 16, 10], seed=1).save(path)
    return path


@pytest.mark.parametrize("kind", ["fifo", "socket", "folder", "device"])
def test_check_output_refuses_what_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    path = not_files(tmp_path)[kind]
    with pytest.raises(DigitnetError, match=kind.replace("device", "a device")):
        check_output(path)
    with pytest.raises(DigitnetError), atomic_write(path) as f:
        f.write(b"never")
    assert not path.is_file()


@pytest.mark.parametrize("kind", ["fifo", "socket", "device", "folder"])
@pytest.mark.parametrize(
    "command",
    [
        ["train", "--layers", "784,16,10", "--epochs", "1", "--out", "{out}"],
        ["export", "{model}", "-o", "{out}"],
        ["plot", "weights", "{model}", "-o", "{out}"],
    ],
    ids=["train", "export", "plot"],
)
def test_no_command_writes_over_a_non_file(
    tmp_path: Path, model: Path, kind: str, command: list[str]
) -> None:
    targets = not_files(tmp_path)
    target = targets[kind]
    if command[0] == "plot":  # a picture's name must end in .png
        target = target.rename(target.with_name(target.name + ".png"))
    args = [a.format(out=target, model=model) for a in command]
    before = os.lstat(target)
    done = digitnet(args, tmp_path)
    assert_one_line_refusal(done, str(target))
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    assert not list(tmp_path.glob(".*.part"))


def test_import_refuses_to_write_over_a_fifo(tmp_path: Path, model: Path) -> None:
    onnx = tmp_path / "model.onnx"
    assert digitnet(["export", str(model), "-o", str(onnx)], tmp_path).returncode == 0
    fifo = not_files(tmp_path)["fifo"]
    assert_one_line_refusal(digitnet(["import", str(onnx), "-o", str(fifo)], tmp_path), "fifo")


def test_a_second_lock_on_the_same_path_fails_at_once_naming_the_holder(tmp_path: Path) -> None:
    out = tmp_path / "m.npz"
    with exclusive_lock(out):
        assert lock_path(out).read_text().strip() == str(os.getpid())
        with pytest.raises(DigitnetError, match=f"pid {os.getpid()}"), exclusive_lock(out):
            pass
    assert not lock_path(out).exists()
    with exclusive_lock(out):  # released: free again
        pass


def test_a_killed_holder_releases_its_lock(tmp_path: Path) -> None:
    out = tmp_path / "m.npz"
    code = (
        "import sys, time; from digitnet.atomic_files import exclusive_lock\n"
        f"with exclusive_lock({str(out)!r}):\n    print('locked', flush=True); time.sleep(600)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(DigitnetError, match=f"pid {holder.pid}"), exclusive_lock(out):
            pass
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    with exclusive_lock(out):
        pass


def test_two_runs_on_one_out_the_second_refused_and_the_first_unharmed(tmp_path: Path) -> None:
    out = tmp_path / "m.npz"
    env = {**os.environ, "DIGITNET_DATA": "", "OPENBLAS_NUM_THREADS": "1"}
    first = subprocess.Popen(
        [sys.executable, "-m", "digitnet", *TRAIN[:-1], "100000", "--out", str(out)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ckpt = tmp_path / "m.checkpoint.npz"
        deadline = time.monotonic() + 120
        while not ckpt.exists():  # the first run is training and has checkpointed
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.1)
        second = digitnet([*TRAIN, "--out", str(out)], tmp_path)
        assert_one_line_refusal(second, "another run", f"pid {first.pid}")
        resumed = digitnet([*TRAIN, "--out", str(out), "--resume"], tmp_path)
        assert_one_line_refusal(resumed, f"pid {first.pid}")
        first.send_signal(signal.SIGINT)  # stops after its step, saves, says how to resume
        _, err = first.communicate(timeout=120)
        assert first.returncode == 130 and "resume with" in err
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert ckpt.exists() and not out.exists() and not lock_path(out).exists()
    assert Network.load(ckpt).sizes == [784, 16, 10]  # the first run's checkpoint, whole


def test_a_full_disk_is_refused_before_the_first_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from digitnet.cli import main

    real = os.statvfs

    class Full:
        def __init__(self, st: os.statvfs_result) -> None:
            self.f_frsize, self.f_bavail = st.f_frsize, 10

    monkeypatch.setattr(os, "statvfs", lambda p: Full(real(p)))
    monkeypatch.setenv("DIGITNET_DATA", "")
    out = tmp_path / "m.npz"
    assert main([*TRAIN, "--out", str(out)]) != 0
    err = capsys.readouterr()
    assert "free" in err.err and "checkpoint needs" in err.err
    assert "epoch" not in err.out  # nothing was trained
    assert not out.exists() and not list(tmp_path.iterdir())


def test_a_network_too_large_for_memory_is_refused_with_the_bytes_it_needs(tmp_path: Path) -> None:
    # 784-90000-10: 71.6 million parameters; training it takes several GB in float32
    done = digitnet(
        ["train", "--layers", "784,90000,10", "--epochs", "1", "--out", str(tmp_path / "m.npz")],
        tmp_path,
        limit_memory=2 * 1024**3,
    )
    assert_one_line_refusal(done, "needs about", "GB", "available")


def test_layers_beyond_the_limit_are_refused_at_parse_time(tmp_path: Path) -> None:
    done = digitnet(["train", "--layers", "784,4000000,10", "--out", "m.npz"], tmp_path)
    assert_one_line_refusal(done, "3,180,000,010", "100,000,000")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["train", "--layers", "", "--out", "m.npz"], ["--layers"]),
        (["train", "--layers", "784,0,10", "--out", "m.npz"], ["--layers"]),
        (["train", "--weight-decay", "inf", "--out", "m.npz"], ["--weight-decay"]),
        (["train", "--lr", "nan", "--out", "m.npz"], ["--lr"]),
        (["train", "--momentum", "-inf", "--out", "m.npz"], ["--momentum"]),
        (["plot", "weights", "m.npz", "-o", "a.png", "--dpi", "100000"], ["--dpi", "1,200"]),
        (["plot", "landscape", "m.npz", "-o", "a.png", "--steps", "100000"], ["--steps"]),
        (["gradcheck", "--tolerance", "nan"], ["--tolerance"]),
        (["experiment", "seeds", "--timeout", "inf"], ["--timeout"]),
    ],
)
def test_extreme_numbers_are_refused_naming_their_option(
    tmp_path: Path, args: list[str], words: list[str]
) -> None:
    assert_one_line_refusal(digitnet(args, tmp_path), *words)
    assert not list(tmp_path.iterdir())


def test_serve_on_a_busy_port_fails_in_one_line_before_printing_its_url(
    tmp_path: Path, model: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = digitnet(["serve", str(model), "--port", str(port)], tmp_path)
    assert_one_line_refusal(done, f"port {port}", "already in use")
    assert "http://" not in done.stdout
