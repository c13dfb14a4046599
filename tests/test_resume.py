"""Training that survives anything, tried on real processes: killed at random moments (kill -9,
SIGTERM, SIGHUP, Ctrl-C), during a checkpoint write, and resumed, a run ends with the parameters
of the same run never interrupted, bit for bit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from digitnet.data import load
from digitnet.model_io import load_model

RECIPES = {
    "sgd": ["--optimizer", "sgd", "--lr", "0.1", "--epochs", "10"],
    "momentum-dropout": [
        "--optimizer",
        "momentum",
        "--lr",
        "0.05",
        "--dropout",
        "0.3",
        "--schedule",
        "cosine",
    ],  # fmt: skip
    "adam-augment": [
        "--optimizer",
        "adam",
        "--lr",
        "0.003",
        "--augment",
        "translate=1,rotate=8",
        "--epochs",
        "3",
        "--validation",
        "40000",
    ],  # fmt: skip
    "momentum-average": [
        "--optimizer",
        "momentum",
        "--lr",
        "0.1",
        "--average",
        "0.99",
        "--epochs",
        "6",
    ],  # fmt: skip
    "nesterov-reference": [
        "--optimizer",
        "nesterov",
        "--lr",
        "0.05",
        "--engine",
        "reference",
        "--weight-decay",
        "0.0005",
        "--patience",
        "3",
    ],  # fmt: skip
}
BASE = ["--layers", "784,24,10", "--activation", "relu", "--cost", "cross-entropy",
        "--init", "he", "--batch-size", "16", "--epochs", "5", "--seed", "3"]  # fmt: skip


def command(args: list[str], slow_fsync: float = 0.0) -> list[str]:
    """``digitnet ARGS`` in a new Python process; ``slow_fsync`` makes every file's fsync take
    that long (in the test's process only), to widen the moment a checkpoint is being written."""
    prelude = ""
    if slow_fsync:
        prelude = (
            "import os, time; _fsync = os.fsync; "
            f"os.fsync = lambda fd: (time.sleep({slow_fsync}), _fsync(fd))[1]; "
        )
    code = f"{prelude}import sys; from digitnet.cli import main; sys.exit(main(sys.argv[1:]))"
    return [sys.executable, "-c", code, *args]


def start(args: list[str], env: dict[str, str], slow_fsync: float = 0.0) -> subprocess.Popen:
    return subprocess.Popen(
        command(args, slow_fsync), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, str]:
    """The environment of the runs: a cache that already holds MNIST's decoded copy, so that
    every run, the first included, takes as long to start."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIGITNET_CACHE", str(cache))
        load("mnist", data_dir=shared_data)
    return {**os.environ, "DIGITNET_CACHE": str(cache), "DIGITNET_DATA": ""}


def parameters(path: Path) -> list[np.ndarray]:
    return load_model(path)[0].parameters()


def uninterrupted(args: list[str], out: Path, env: dict[str, str]) -> tuple[list, float]:
    """The parameters a run ends with when nothing stops it, and how long it took."""
    start = time.monotonic()
    done = subprocess.run(command([*args, "--out", str(out)]), env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return parameters(out), time.monotonic() - start


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_a_run_killed_at_random_moments_and_resumed_ends_as_the_uninterrupted_run(
    recipe: str, tmp_path: Path, env: dict[str, str], shared_data: Path
) -> None:
    """Interruptions at random moments of the run (SIGTERM, SIGHUP, SIGINT, kill -9 twice), each
    followed by `--resume`, from the moment digitnet has started (its first line) to well into
    the run; then the parameters are compared with a run that was never interrupted."""
    args = ["train", *BASE, *RECIPES[recipe], "--data-dir", str(shared_data)]
    expected, seconds = uninterrupted(args, tmp_path / "whole.npz", env)

    out = tmp_path / "killed.npz"
    rng = np.random.default_rng(sum(map(ord, recipe)))
    stops = [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGKILL, signal.SIGKILL]
    resumed, codes = False, []
    for signum in [*stops, None]:  # None: the last run goes on to the end
        run_args = [*args, "--out", str(out)] + (["--resume"] if resumed else [])
        proc = start(run_args, env)
        first = proc.stdout.readline() if signum else ""  # "data: ...": digitnet is running
        try:
            proc.wait(timeout=rng.uniform(0.0, 0.6) * seconds if signum else 300)
        except subprocess.TimeoutExpired:
            proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
        assert first.startswith("data:") or proc.returncode is not None, first
        codes.append(proc.returncode)
        assert "Traceback" not in err, err[-2000:]
        if proc.returncode == 0:
            break
        if proc.returncode in (130, 128 + signal.SIGTERM, 128 + signal.SIGHUP):
            # caught: the run says how to go on (before its handlers, the signal kills it)
            assert "resume with: digitnet train --out" in err, err
        resumed = out.with_name("killed.checkpoint.npz").exists()
    print(f"{recipe}: exit codes {codes}")
    assert codes[-1] == 0 and len(codes) >= 2, codes  # stopped at least once, then finished
    for mine, theirs in zip(parameters(out), expected, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert not list(tmp_path.glob(".*.part"))


def test_a_kill_during_a_checkpoint_write_keeps_the_last_checkpoint(
    tmp_path: Path, env: dict[str, str], shared_data: Path
) -> None:
    """kill -9 while a checkpoint's temporary file is being written: the previous checkpoint
    stays whole, the next run removes the dead writer's temporary file, and the resumed run still
    ends bit for bit where the uninterrupted one does."""
    args = ["train", *BASE, *RECIPES["momentum-dropout"], "--data-dir", str(shared_data)]
    expected, _ = uninterrupted(args, tmp_path / "whole.npz", env)
    out = tmp_path / "m.npz"
    checkpoint = out.with_name("m.checkpoint.npz")
    proc = start([*args, "--out", str(out)], env, slow_fsync=0.5)
    parts: list[Path] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        parts = list(tmp_path.glob(".m.checkpoint.npz.*.part"))
        if parts and checkpoint.exists():  # the second checkpoint is being written
            break
        time.sleep(0.01)
    assert parts and checkpoint.exists(), "never caught a checkpoint write"
    proc.kill()
    proc.communicate(timeout=60)
    assert list(tmp_path.glob(".m.checkpoint.npz.*.part")), "the killed writer left nothing"
    net, header = load_model(checkpoint)  # the last whole checkpoint, intact
    assert len(header["history"]["epochs"]) >= 1

    done = subprocess.run(command([*args, "--out", str(out), "--resume"]), env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert not list(tmp_path.glob(".*.part"))
    for mine, theirs in zip(parameters(out), expected, strict=True):
        np.testing.assert_array_equal(mine, theirs)
