"""``digitnet sweep run --search tpe`` and ``--prune median``: Optuna's TPE sampler proposing the
runs of a sweep on a LocalCluster, each recorded in the sweep's SQLite, resumed from it; runs
below the median stopped after an epoch; bad input refused in one line before any run.

The sweeps train tiny networks on the embedded MNIST sample, on a LocalCluster of one or two
worker processes that the sweep starts and stops itself.
"""

from __future__ import annotations

import json
import math
import sys

import pytest
from sweep_helpers import digest, digitnet, rows, sweep_env

from digitnet.cli import main

TINY = ["--layers", "784,8,10", "--epochs", "2", "--batch-size", "50", "--train-images", "1000"]
SPACE = ["--random", "lr=0.05:5:log", "--grid", "batch-size=20,50"]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return sweep_env(tmp_path_factory)


# -- bad input: one line, before any run, nothing written ----------------------------------------
@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["--search", "bayes", *SPACE, "--trials", "6"], 2, "invalid choice: 'bayes'"),
        (["--search", "tpe", *SPACE, "--trials", "0"], 2, "must be a positive integer, got 0"),
        (["--search", "tpe", "--trials", "6"], 1, "--search tpe needs something to search"),
        (["--search", "random", *SPACE], 1, "--search random needs --trials N"),
        (["--search", "tpe", *SPACE], 1, "--search tpe needs --trials N"),
        (["--search", "tpe", *SPACE, "--trials", "6", "--samples", "3"], 1, "not --samples"),
        (["--search", "tpe", *SPACE, "--trials", "6", "--seeds", "0-2"], 1, "not --seeds"),
        (["--search", "tpe", *SPACE, "--trials", "20000"], 1, "at most 10,000 runs"),
        (
            ["--search", "tpe", *SPACE, "--trials", "6", "--validation", "0"],
            1,
            "--search tpe ranks trials by validation accuracy, and --validation 0",
        ),
        (
            ["--grid", "lr=0.5,1", "--prune", "median", "--validation", "0"],
            1,
            "--prune median compares validation accuracies, and --validation 0",
        ),
        (["--grid", "lr=0.5,1", "--trials", "6"], 1, "--trials counts the runs of --search tpe"),
        (
            ["--search", "tpe", "--grid", "layers=784-16-10,784-16-9", "--trials", "6"],
            1,
            "layers 784-16-9 do not fit mnist",
        ),
        (
            ["--search", "tpe", "--random", "lr=-1:2", "--trials", "6"],
            1,
            "lr=-1: lr must be a positive number",
        ),
    ],
)
def test_bad_input_is_one_line_before_any_run(
    argv, code, words, env, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("DIGITNET_DATA", env["DIGITNET_DATA"])
    db = tmp_path / "runs" / "bad.db"
    try:
        got = main(["sweep", "run", *TINY, "--db", str(db), *argv])
    except SystemExit as exit:  # argparse's refusals
        got = exit.code
    err = capsys.readouterr().err
    assert got == code, err
    assert words in err and err.count("\n") == 1 and err.startswith("digitnet: error: ")
    assert not db.exists()


def test_without_optuna_the_search_names_the_extra(env, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DIGITNET_DATA", env["DIGITNET_DATA"])
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna fails
    db = tmp_path / "d.db"
    assert (
        main(["sweep", "run", *TINY, "--db", str(db), "--search", "tpe", "--trials", "6", *SPACE])
        == 1
    )
    assert capsys.readouterr().err == (
        "digitnet: error: --search tpe uses Optuna, which is not installed; install it with: "
        "pip install 'digitnet[search]'\n"
    )
    assert not db.exists()


# -- a TPE sweep on a LocalCluster ---------------------------------------------------------------
def test_a_tpe_sweep_records_its_trials_and_a_rerun_continues_to_the_total(env, tmp_path):
    db = tmp_path / "runs" / "tpe.db"
    argv = ["sweep", "run", *TINY, "--search", "tpe", *SPACE, "--workers", "2", "--db", str(db)]
    out = digitnet([*argv, "--trials", "6"], env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "sweep: 6 trials of TPE search over batch-size, lr (seed 0), 0 already in" in out.stdout
    assert "recorded 6 runs" in out.stdout
    runs = rows(db)
    assert len(runs) == 6 and len({r["id"] for r in runs}) == 6
    for r in runs:
        params = json.loads(r["params"])
        assert sorted(params) == ["batch_size", "lr"] and r["seed"] == 0
        assert params["batch_size"] in (20, 50) and 0.05 <= params["lr"] <= 5
        assert params["lr"] == float(f"{params['lr']:.4g}")
        recipe = json.loads(r["recipe"])
        assert recipe["training"]["lr"] == params["lr"]
        assert recipe["training"]["batch_size"] == params["batch_size"]
        assert r["status"] in ("finished", "diverged") and r["epochs"] <= 2
        if r["status"] == "finished":
            assert 0 <= r["validation_accuracy"] <= 1 and not math.isnan(r["validation_accuracy"])

    before = digest(db)
    again = digitnet([*argv, "--trials", "6"], env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "6 already in" in again.stdout and "nothing to run" in again.stdout
    assert "cluster:" not in again.stdout and digest(db) == before

    more = digitnet([*argv, "--trials", "8"], env, timeout=120)
    assert more.returncode == 0, more.stderr
    assert "6 already in" in more.stdout and "recorded 2 runs" in more.stdout
    assert len({r["id"] for r in rows(db)}) == 8

    random = digitnet(
        [*["random" if a == "tpe" else a for a in argv], "--trials", "3"], env, timeout=120
    )
    assert random.returncode == 1 and "holds another sweep" in random.stderr  # not the same search

    other = digitnet(
        ["sweep", "run", *TINY, *SPACE, "--samples", "2", "--db", str(db), "--workers", "1"], env
    )
    assert other.returncode == 1 and "holds another sweep" in other.stderr
    assert len(rows(db)) == 8


def test_a_random_search_draws_its_trials_within_the_space(env, tmp_path):
    db = tmp_path / "random.db"
    argv = ["sweep", "run", *TINY, "--search", "random", *SPACE, "--trials", "4", "--db", str(db)]
    out = digitnet([*argv, "--workers", "1"], env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "sweep: 4 trials of random search over batch-size, lr (seed 0)" in out.stdout
    runs = rows(db)
    assert len({r["id"] for r in runs}) == 4
    for r in runs:
        params = json.loads(r["params"])
        assert params["batch_size"] in (20, 50) and 0.05 <= params["lr"] <= 5


# -- pruning -------------------------------------------------------------------------------------
def test_a_run_below_the_median_is_pruned_after_its_first_epoch(env, tmp_path):
    """One worker, so the runs finish in order: five that learn, then one at a tiny eta, whose
    first epoch is far below the five's median."""
    db = tmp_path / "prune.db"
    argv = ["sweep", "run", *TINY, "--grid", "lr=1,1.5,2,2.5,3,0.001", "--prune", "median"]
    out = digitnet([*argv, "--workers", "1", "--db", str(db)], env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "recorded 6 runs (1 pruned)" in out.stdout
    by_lr = {json.loads(r["params"])["lr"]: r for r in rows(db)}
    slow = by_lr.pop(0.001)
    assert slow["status"] == "pruned" and slow["epochs"] == 1
    assert "pruned after epoch 1" in slow["message"]
    first = [json.loads(r["history"])[0]["validation_accuracy"] for r in by_lr.values()]
    assert json.loads(slow["history"])[0]["validation_accuracy"] < sorted(first)[2]
    assert all(r["status"] == "finished" and r["epochs"] == 2 for r in by_lr.values())


def test_train_run_prunes_below_the_median_and_not_above(env, monkeypatch):
    from digitnet.cli import build_parser
    from digitnet.commands.sweep import plan_from_args
    from digitnet.data import load
    from digitnet.sweep.cluster import train_run

    monkeypatch.setenv("DIGITNET_DATA", env["DIGITNET_DATA"])
    args = build_parser().parse_args(["sweep", "run", *TINY])
    _, _, (spec,) = plan_from_args(args)
    data = load("mnist")
    high = train_run(spec.recipe, data, prune_below=[1.0])
    assert high["status"] == "pruned" and high["epochs"] == 1
    low = train_run(spec.recipe, data, prune_below=[0.0])
    assert low["status"] == "finished" and low["epochs"] == 2
    last = train_run(spec.recipe, data, prune_below=[0.0, 1.0])  # the last epoch is never cut
    assert last["status"] == "finished" and last["epochs"] == 2


def test_a_training_run_reads_the_medians_recorded_while_it_trains(env, tmp_path, monkeypatch):
    """On a worker, a run handed out with medians it passes (0) is pruned by the ones published
    on the scheduler meanwhile (1.0), and runs on when those let it; outside a worker, with no
    scheduler to ask, the medians it was handed out with decide."""
    from distributed import Client
    from sweep_helpers import DaskCluster

    from digitnet.cli import build_parser
    from digitnet.commands.sweep import plan_from_args
    from digitnet.data import load
    from digitnet.sweep.cluster import Packed, SharedMedians, train_run

    monkeypatch.setenv("DIGITNET_DATA", env["DIGITNET_DATA"])
    _, _, (spec,) = plan_from_args(build_parser().parse_args(["sweep", "run", *TINY]))
    data = load("mnist")
    cluster = DaskCluster(tmp_path, env)
    try:
        cluster.up(workers=1)
        with Client(cluster.address, timeout=30, set_as_default=False) as client:
            shared = SharedMedians(client)
            sent = client.scatter(Packed.of(data))

            def run(key: str) -> dict:
                future = client.submit(train_run, spec.recipe, sent, False, prune_below=[0.0],
                                       medians=shared.name, key=key)  # fmt: skip
                return future.result(timeout=120)

            shared.publish([1.0])
            pruned = run("run-live-high")
            assert pruned["status"] == "pruned" and pruned["epochs"] == 1
            assert "recorded by then (100.00%)" in pruned["message"]
            shared.publish([0.0])
            assert run("run-live-low")["status"] == "finished"
            shared.delete()
    finally:
        cluster.stop()
    alone = train_run(spec.recipe, data, prune_below=[1.0], medians="no-such-variable")
    assert alone["status"] == "pruned" and alone["epochs"] == 1


# -- show and plot: validation first, no line between unrelated points ---------------------------
def _row(lr: float, batch_size: int, val: float, test: float, status: str = "finished") -> dict:
    return {
        "params": {"lr": lr, "batch_size": batch_size},
        "seed": 0,
        "status": status,
        "validation_accuracy": val,
        "validation_cost": 1 - val,
        "test_accuracy": test,
        "test_cost": 1 - test,
    }


def test_the_median_line_joins_only_the_values_of_a_grid():
    from digitnet.views.sweep import is_grid, sweep

    grid = [_row(lr, bs, 0.5, 0.5) for lr in (0.1, 1.0) for bs in (10, 50)]
    assert is_grid(grid, "lr", ["lr", "batch_size"]) and is_grid(
        grid, "batch_size", ["lr", "batch_size"]
    )
    searched = [_row(0.1, 10, 0.2, 0.9), _row(0.7, 50, 0.6, 0.1), _row(2.0, 10, 0.4, 0.5, "pruned")]
    assert not is_grid(searched, "lr", ["lr", "batch_size"])

    fig = sweep(grid, ["lr", "batch_size"])
    assert len(fig.axes) == 2
    assert all("median" in [ln.get_label() for ln in ax.lines] for ax in fig.axes)

    fig = sweep(searched, ["lr", "batch_size"])
    lr_panel, _, best_panel = fig.axes
    assert "median" not in [ln.get_label() for ln in lr_panel.lines]
    assert lr_panel.get_ylabel() == "validation accuracy (%)"
    (best,) = [ln for ln in best_panel.lines if ln.get_label() == "best so far"]
    assert list(best.get_ydata()) == [20.0, 60.0, 60.0]  # the pruned run's 40 is not a result
    pruned = [ln for ln in lr_panel.lines if ln.get_label() == "pruned"]
    assert len(pruned) == 1 and list(pruned[0].get_xdata()) == [2.0]

    test_fig = sweep(searched, ["lr", "batch_size"], metric="test")
    assert test_fig.axes[0].get_ylabel() == "test accuracy (%)"
    no_split = [{**r, "validation_accuracy": None} for r in searched]
    assert "no validation split" in sweep(no_split, ["lr", "batch_size"]).axes[0].get_ylabel()


def test_show_ranks_by_validation_accuracy_and_by_test_only_when_asked(env, tmp_path, capsys):
    from digitnet.sweep import store

    db = tmp_path / "ranks.db"
    conn = store.open_for_writing(db, {"recipe": {}, "swept": ["batch_size", "lr"]}, {})
    rows_in = [_row(0.1, 10, 0.2, 0.9), _row(0.7, 50, 0.6, 0.1), _row(2.0, 10, 0.4, 0.5, "pruned")]
    for i, r in enumerate(rows_in):
        store.insert(conn, {**r, "id": f"run{i}", "recipe": {}, "epochs": 1, "history": []})
    conn.close()
    assert main(["sweep", "show", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("best validation accuracy first") and lines[1].endswith("pruned")
    assert [line.split()[1] for line in lines[2:]] == ["0.7", "2", "0.1"]
    assert lines[3].split()[-1] == "1"  # the pruned run's point
    assert main(["sweep", "show", str(db), "--metric", "test"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("best test accuracy first")
    assert [line.split()[1] for line in lines[2:]] == ["0.1", "2", "0.7"]
