"""``digitnet sweep``: plans, bad input, a LocalCluster sweep, Ctrl-C, and a real Dask cluster.

The sweeps train tiny networks on the embedded MNIST sample (``$DIGITNET_DATA`` points at an
empty folder), on a LocalCluster of two workers or on ``dask scheduler`` and ``dask worker``
processes started here as separate commands, each stopped by its pid at the end. Every wait has
a timeout.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sweep_helpers import (
    DaskCluster,
    count_rows,
    digest,
    digitnet,
    free_port,
    rows,
    start_digitnet,
    sweep_env,
    wait_for,
)

from digitnet.cli import build_parser, main
from digitnet.commands.sweep import plan_from_args
from digitnet.model_io import load_model

TINY = ["--layers", "784,8,10", "--epochs", "2", "--batch-size", "50", "--train-images", "1000"]
# a linear output layer at eta 10 overflows within the first epoch; eta 0.2 trains
DIVERGING = ["--output", "identity", "--grid", "lr=0.2,10"]
SLOW = ["--layers", "784,100,10", "--epochs", "2", "--batch-size", "10"]  # ~0.5 s a run


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return sweep_env(tmp_path_factory)


# -- the plan ------------------------------------------------------------------------------------
def plan(*argv: str) -> tuple[dict, list[str], list]:
    return plan_from_args(build_parser().parse_args(["sweep", "run", *argv]))


def test_every_combination_of_grid_samples_and_seeds_is_one_run():
    base, swept, runs = plan(
        "--grid", "lr=0.5,1.5", "--grid", "layers=784-16-10,784x32x10",
        "--random", "weight-decay=1e-6:1e-3:log", "--random", "batch_size=8:64",
        "--samples", "3", "--seeds", "0-1,5",
    )  # fmt: skip
    assert swept == ["lr", "layers", "weight_decay", "batch_size"]
    assert len(runs) == 2 * 2 * 3 * 3 and len({r.id for r in runs}) == len(runs)
    assert {tuple(r.recipe["network"]["sizes"]) for r in runs} == {(784, 16, 10), (784, 32, 10)}
    assert {r.seed for r in runs} == {0, 1, 5}
    for r in runs:
        assert r.recipe["training"]["seed"] == r.seed
        assert 1e-6 <= r.params["weight_decay"] <= 1e-3
        assert isinstance(r.params["batch_size"], int) and 8 <= r.params["batch_size"] <= 64
        assert r.recipe["training"]["lr"] == r.params["lr"]
    # the same command plans the same runs; more samples keep the first ones
    assert [r.id for r in plan("--grid", "lr=0.5,1.5", "--seeds", "0-2")[2]] == [
        r.id for r in plan("--grid", "lr=0.5, 1.5", "--seeds", "0,1,2")[2]
    ]
    three = plan("--random", "lr=0.1:3:log", "--samples", "3")[2]
    five = plan("--random", "lr=0.1:3:log", "--samples", "5")[2]
    assert [r.id for r in five[:3]] == [r.id for r in three]
    assert len({r.params["lr"] for r in five}) == 5


def test_a_swept_cross_entropy_chooses_softmax_as_digitnet_train_does():
    runs = plan("--grid", "cost=quadratic,cross-entropy")[2]
    assert [r.recipe["network"]["output"] for r in runs] == ["sigmoid", "softmax"]
    runs = plan("--output", "sigmoid", "--grid", "cost=quadratic,cross-entropy")[2]
    assert [r.recipe["network"]["output"] for r in runs] == ["sigmoid", "sigmoid"]


def test_the_workers_rebuild_the_drivers_images_bit_for_bit_from_bytes(env, monkeypatch):
    import pickle

    import numpy as np

    from digitnet.data import load
    from digitnet.sweep.cluster import Packed

    monkeypatch.setenv("DIGITNET_DATA", env["DIGITNET_DATA"])
    data = load("mnist")
    packed = pickle.loads(pickle.dumps(Packed.of(data), protocol=5))
    assert packed.images is not None and packed.images["X_train"].dtype == np.uint8
    ready = packed.dataset()
    assert packed.dataset() is ready  # made once
    for name in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        array = getattr(ready, name)
        assert array.dtype == getattr(data, name).dtype and array.flags.aligned
        np.testing.assert_array_equal(array, getattr(data, name))
    noisy = Packed.of(replace(data, X_test=data.X_test + np.float32(1e-3)))
    assert noisy.images is None  # not bytes / 255: sent as they are
    np.testing.assert_array_equal(noisy.dataset().X_test, data.X_test + np.float32(1e-3))


def test_a_stop_set_on_the_cancellation_callback_holds_as_on_any_callback():
    """Outside a Dask task StopWhenCancelled never stops by itself; a stop set on it (as a chain
    of callbacks sets it on each) is kept, like any Callback's ``stop_requested``."""
    from digitnet.sweep.cluster import StopWhenCancelled
    from digitnet.tracking import Callbacks

    callback = StopWhenCancelled()
    assert callback.stop_requested is False
    Callbacks(callback).stop_requested = True
    assert callback.stop_requested is True
    callback.stop_requested = False
    assert callback.stop_requested is False


# -- bad input: one line, before any run, the database unchanged ----------------------------------
@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--grid", "eta=1,2"], "unknown parameter 'eta'; choose one of: layers"),
        (["--grid", "lr=fast"], "--grid lr: expected a number, got 'fast'"),
        (["--grid", "lr=1,-2"], "lr=-2: lr must be a positive number"),
        (["--grid", "dropout=0.5,1"], "dropout=1: dropout must be in [0, 1)"),
        (["--grid", "lr="], "--grid lr: the list of values is empty"),
        (["--grid", "lr"], "expected NAME=V1,V2"),
        (["--grid", "batch-size=10,2.5"], "--grid batch-size: expected a whole number"),
        (["--grid", "activation=relu,swish"], "unknown value 'swish'"),
        (["--grid", "layers=784-16-10,784-0-10"], "needs at least two positive layer sizes"),
        (["--grid", "seed=1,2"], "give the seeds with --seeds"),
        (["--grid", "lr=1", "--grid", "lr=2"], "lr is swept twice"),
        (["--random", "lr=3:1", "--samples", "2"], "LOW must be below HIGH"),
        (["--random", "lr=0:1:log", "--samples", "2"], "a log range needs LOW > 0"),
        (["--random", "lr=0.1:1"], "--random needs --samples N"),
        (["--random", "optimizer=0:1", "--samples", "2"], "only numbers can be drawn"),
        (["--seeds", "3-1"], "--seeds: '3-1' is not a range"),
        (["--seeds", "0-4", "--seed", "2"], "--seeds alone"),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "with --scheduler, its workers"),
        (["--grid", "layers=784-16-10,784-16-9"], "layers 784-16-9 do not fit mnist"),
    ],
)
def test_bad_input_is_one_line_before_any_run(argv, words, env, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DIGITNET_DATA", env["DIGITNET_DATA"])
    db = tmp_path / "runs" / "bad.db"
    code = main(["sweep", "run", *TINY, "--db", str(db), *argv])
    err = capsys.readouterr().err
    assert code == 1, err
    assert words in err and err.count("\n") == 1 and err.startswith("digitnet: error: ")
    assert not db.exists()


def test_without_dask_the_sweep_says_how_to_install_it(env, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DIGITNET_DATA", env["DIGITNET_DATA"])
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    db = tmp_path / "d.db"
    assert main(["sweep", "run", *TINY, "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err == (
        "digitnet: error: sweeps run on Dask, which is not installed; install it with: "
        "pip install 'digitnet[sweep]'\n"
    )
    assert not db.exists()


def test_an_unreachable_scheduler_is_one_line_and_no_database(env, tmp_path):
    db = tmp_path / "s.db"
    address = f"tcp://127.0.0.1:{free_port()}"
    start = time.monotonic()
    out = digitnet(
        ["sweep", "run", *TINY, "--db", str(db), "--scheduler", address, "--timeout", "1"], env
    )
    assert out.returncode == 1, out.stderr
    assert out.stderr.startswith(f"digitnet: error: cannot reach the Dask scheduler at {address}")
    assert out.stderr.count("\n") == 1 and not db.exists()
    assert time.monotonic() - start < 30


# -- a sweep on a LocalCluster -------------------------------------------------------------------
@pytest.fixture(scope="module")
def local_sweep(env, tmp_path_factory) -> tuple[Path, list[str], subprocess.CompletedProcess]:
    db = tmp_path_factory.mktemp("local") / "runs" / "relu.db"
    argv = ["sweep", "run", *TINY, *DIVERGING, "--seeds", "0-1", "--workers", "2"]
    argv += ["--db", str(db), "--save-models"]
    return db, argv, digitnet(argv, env, timeout=90)


def test_a_local_sweep_records_every_run_once_with_its_epochs_and_worker(local_sweep):
    db, _, out = local_sweep
    assert out.returncode == 0, out.stderr
    assert "sweep: 4 runs (2 points of lr x 2 seeds), 0 already in" in out.stdout
    assert "cluster: 2 workers, 2 threads at tcp://127.0.0.1:" in out.stdout
    assert "recorded 4 runs (2 diverged)" in out.stdout
    runs = rows(db)
    assert len(runs) == 4 and len({r["id"] for r in runs}) == 4
    by_lr = {(json.loads(r["params"])["lr"], r["seed"]): r for r in runs}
    assert sorted(by_lr) == [(0.2, 0), (0.2, 1), (10.0, 0), (10.0, 1)]
    for (lr, seed), r in by_lr.items():
        recipe = json.loads(r["recipe"])
        assert recipe["training"]["lr"] == lr and recipe["training"]["seed"] == seed
        assert recipe["network"]["sizes"] == [784, 8, 10] and recipe["train_images"] == 1000
        assert r["worker"].startswith("tcp://127.0.0.1:") and r["pid"] > 0
        assert r["seconds"] > 0 and r["finished_at"]
        history = json.loads(r["history"])
        if lr == 0.2:
            assert r["status"] == "finished" and r["epochs"] == 2 and len(history) == 2
            assert [e["epoch"] for e in history] == [1, 2]
            assert (
                0.2 < r["test_accuracy"] <= 1 and 0.2 < r["validation_accuracy"] <= 1
            )  # chance: 0.1
            assert 0 < r["test_cost"] < 1 and 0 < r["validation_cost"] < 1
            assert history[-1]["test_accuracy"] == pytest.approx(r["test_accuracy"])
        else:  # recorded as diverged, with the weights it started with, and not retried
            assert r["status"] == "diverged" and r["epochs"] == 0 and history == []
            assert "learning rate (lr=10.0) is probably too high" in r["message"]
        net, header = load_model(r["model"])
        assert header["recipe"] == recipe and header["sweep_run"] == r["id"]
        assert net.sizes == [784, 8, 10]
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_rerunning_the_command_skips_the_finished_runs(local_sweep, env):
    db, argv, first = local_sweep
    assert first.returncode == 0, first.stderr
    before = digest(db)
    out = digitnet(argv, env)
    assert out.returncode == 0, out.stderr
    assert "4 already in" in out.stdout and "nothing to run" in out.stdout
    assert "cluster:" not in out.stdout and digest(db) == before


def test_a_database_of_another_sweep_is_refused_and_left_as_it_was(local_sweep, env, tmp_path):
    db, argv, first = local_sweep
    assert first.returncode == 0, first.stderr
    before = digest(db)
    for change, words in (
        (["--epochs", "3"], "holds another sweep (its recipe has epochs 2, not 3)"),
        (["--grid", "batch-size=10,20"], "holds another sweep (it swept lr)"),
    ):
        out = digitnet([*argv, *change], env)
        assert out.returncode == 1 and words in out.stderr, out.stderr
        assert out.stderr.count("\n") == 1 and digest(db) == before
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_text("not SQLite")
    out = digitnet([*argv[:-3], "--db", str(not_a_db)], env)
    assert out.returncode == 1 and "is not a digitnet sweep database" in out.stderr
    assert not_a_db.read_text() == "not SQLite"


def test_show_groups_by_the_swept_values_best_first(local_sweep, capsys):
    db, _, first = local_sweep
    assert first.returncode == 0, first.stderr
    assert main(["sweep", "show", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{db}: 4 runs, 2 points; swept lr; best validation accuracy first"
    assert lines[1].split()[:3] == ["lr", "runs", "valid"]
    assert lines[2].split()[:2] == ["0.2", "2"] and lines[2].split()[-1] == "0"
    assert lines[3].split()[:2] == ["10", "2"] and lines[3].split()[-1] == "2"
    assert main(["sweep", "show", str(db), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["swept"] == ["lr"] and shown["runs"] == 4
    best, worst = shown["points"]
    assert best["params"] == {"lr": 0.2} and best["seeds"] == [0, 1] and best["diverged"] == 0
    acc = best["test_accuracy"]
    assert acc["min"] <= acc["median"] <= acc["max"] and worst["diverged"] == 2


def test_plot_sweep_draws_accuracy_and_cost(local_sweep, tmp_path, capsys):
    db, _, first = local_sweep
    assert first.returncode == 0, first.stderr
    for metric in ("accuracy", "cost"):
        out = tmp_path / f"{metric}.png"
        assert main(["plot", "sweep", str(db), "-o", str(out), "--metric", metric]) == 0
        assert out.read_bytes()[:4] == b"\x89PNG"
    assert main(["plot", "sweep", str(tmp_path / "none.db"), "-o", str(tmp_path / "x.png")]) == 1
    assert "no such sweep database" in capsys.readouterr().err


# -- Ctrl-C --------------------------------------------------------------------------------------
def test_ctrl_c_keeps_the_finished_runs_and_the_same_command_continues(env, tmp_path):
    """Ctrl-C as a terminal sends it: to the whole process group, the workers included."""
    db = tmp_path / "stop.db"
    argv = ["sweep", "run", *SLOW, "--grid", "lr=0.5,1,2,3", "--seeds", "0-3", "--workers", "2"]
    argv += ["--db", str(db)]
    proc = start_digitnet(argv, env, start_new_session=True)
    try:
        wait_for(lambda: count_rows(db) >= 1, 60, "the first run")
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert proc.returncode == 130, err
    kept = count_rows(db)
    assert 1 <= kept < 16
    assert (
        f"interrupted: {kept} runs are recorded in {db}; continue with: digitnet sweep run" in err
    )
    command = shlex.split(err.split("continue with: ")[1].splitlines()[0])
    assert command[1:] == argv
    again = digitnet(command[1:], env, timeout=90)
    assert again.returncode == 0, again.stderr
    assert f"{kept} already in" in again.stdout
    assert len(rows(db)) == 16 and len({r["id"] for r in rows(db)}) == 16


# -- a real cluster: dask scheduler and dask worker processes -------------------------------------
@pytest.fixture
def dask_cluster(env, tmp_path) -> Iterator[DaskCluster]:
    cluster = DaskCluster(tmp_path, env)
    try:
        cluster.up(workers=2)
        yield cluster
    finally:
        cluster.stop()


def test_a_sweep_runs_on_dask_scheduler_and_worker_processes(dask_cluster, env, tmp_path):
    db = tmp_path / "cluster.db"
    argv = ["sweep", "run", *TINY, "--grid", "lr=0.5,3", "--seeds", "0-2"]
    out = digitnet([*argv, "--db", str(db), "--scheduler", dask_cluster.address], env)
    assert out.returncode == 0, out.stderr
    assert f"cluster: 2 workers, 2 threads at {dask_cluster.address}" in out.stdout
    runs = rows(db)
    assert len(runs) == 6 and all(r["status"] == "finished" for r in runs)
    workers = {dask_cluster.worker_address(n) for n in ("worker0", "worker1")}
    assert {r["worker"] for r in runs} <= workers


def test_a_worker_killed_mid_sweep_loses_no_run_and_records_none_twice(dask_cluster, env, tmp_path):
    db = tmp_path / "killed.db"
    argv = ["sweep", "run", *SLOW, "--grid", "lr=0.5,1,2,3,4", "--seeds", "0-1"]
    argv += ["--db", str(db), "--scheduler", dask_cluster.address]
    proc = start_digitnet(argv, env)
    try:
        wait_for(lambda: count_rows(db) >= 1, 60, "the first run")
        victim = dask_cluster.procs["worker0"]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        recorded_before = count_rows(db)
        out, err = proc.communicate(timeout=90)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert proc.returncode == 0, err
    runs = rows(db)
    assert len(runs) == 10 and len({r["id"] for r in runs}) == 10
    assert sorted((json.loads(r["params"])["lr"], r["seed"]) for r in runs) == [
        (lr, seed) for lr in (0.5, 1.0, 2.0, 3.0, 4.0) for seed in (0, 1)
    ]
    survivor = dask_cluster.worker_address("worker1")
    assert all(r["worker"] == survivor for r in runs[recorded_before + 1 :])


def _lose_the_only_worker(
    env: dict[str, str], tmp_path: Path, timeout: str, newcomer: bool
) -> tuple[subprocess.Popen, str, str, Path, int, str | None]:
    """A sweep on a cluster of one worker, which is killed after the first run (the one copy of
    the data goes with it); with ``newcomer`` another worker starts then. The driver, its
    output, the database, the runs recorded before the kill and the newcomer's address."""
    cluster = DaskCluster(tmp_path, env)
    db = tmp_path / "lost.db"
    argv = ["sweep", "run", *SLOW, "--grid", "lr=0.5,1,2,3,4", "--seeds", "0-1"]
    argv += ["--db", str(db), "--scheduler", cluster.address, "--timeout", timeout]
    address = None
    try:
        cluster.up(workers=1)
        proc = start_digitnet(argv, env)
        try:
            wait_for(lambda: count_rows(db) >= 1, 60, "the first run")
            only = cluster.procs["worker0"]
            only.send_signal(signal.SIGKILL)
            only.wait(timeout=10)
            recorded_before = count_rows(db)
            if newcomer:
                cluster.start_worker(1)
            out, err = proc.communicate(timeout=120)
        finally:
            proc.kill()
            proc.wait(timeout=10)
        if newcomer:
            address = cluster.worker_address("worker1")
    finally:
        cluster.stop()
    return proc, out, err, db, recorded_before, address


def test_the_data_lost_with_the_only_worker_holding_it_is_sent_again(env, tmp_path):
    proc, out, err, db, recorded_before, newcomer = _lose_the_only_worker(
        env, tmp_path, "60", newcomer=True
    )
    assert proc.returncode == 0, err
    assert "lost with its workers, it was sent again once" in out
    runs = rows(db)
    assert len(runs) == 10 and len({r["id"] for r in runs}) == 10
    assert all(r["status"] == "finished" for r in runs)
    assert all(r["worker"] == newcomer for r in runs[recorded_before + 1 :])


def test_the_data_lost_with_every_worker_and_none_to_come_is_one_line(env, tmp_path):
    proc, out, err, db, _, _ = _lose_the_only_worker(env, tmp_path, "2", newcomer=False)
    assert proc.returncode == 1
    assert err.strip().splitlines() == [
        "digitnet: error: the sweep's data was lost with its workers and no worker came to "
        "take it again in 2 s; start workers and rerun the same command"
    ]
    kept = rows(db)
    assert 1 <= len(kept) < 10 and all(r["status"] == "finished" for r in kept)
