"""``digitnet plot sweep --kind parallel``: a line per finished run across an axis per swept
setting and one for the validation accuracy, on sweep databases written by the sweep's own
store and by a real ``digitnet sweep run`` on a LocalCluster."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from sweep_helpers import digitnet, sweep_env

from digitnet import views
from digitnet.cli import main
from digitnet.errors import DigitnetError
from digitnet.sweep import read, store

SWEPT = ["lr", "layers", "activation", "batch_size"]


def _row(i: int, lr: float, width: int, activation: str, batch_size: int, val: float,
         status: str = "finished") -> dict:  # fmt: skip
    return {
        "id": f"run{i}",
        "params": {
            "lr": lr,
            "layers": [784, width, 10],
            "activation": activation,
            "batch_size": batch_size,
        },
        "seed": 0,
        "status": status,
        "validation_accuracy": val,
        "validation_cost": 1 - val,
        "test_accuracy": val - 0.01,
        "test_cost": 1.01 - val,
        "recipe": {},
        "epochs": 1,
        "history": [],
    }


ROWS = [
    _row(0, 0.01, 16, "sigmoid", 10, 0.60),
    _row(1, 0.1, 32, "relu", 20, 0.90),
    _row(2, 1.0, 16, "relu", 50, 0.80),
    _row(3, 3.0, 32, "sigmoid", 30, 0.70),
    _row(4, 10.0, 16, "relu", 10, 0.10, status="diverged"),
    _row(5, 0.3, 32, "sigmoid", 40, 0.50, status="pruned"),
]
FINISHED = [r for r in ROWS if r["status"] == "finished"]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "four.db"
    conn = store.open_for_writing(path, {"recipe": {}, "swept": SWEPT}, {})
    for row in ROWS:
        store.insert(conn, row)
    conn.close()
    return path


def parts(fig):
    """The host axes (the lines, the axis names), the settings' own axes, the lines."""
    host, *rest = fig.axes
    (lines,) = host.collections
    return host, rest, lines


def test_a_line_per_finished_run_across_an_axis_per_setting(db):
    sweep = read(db)
    fig = views.sweep_parallel(sweep.runs, sweep.swept)
    host, own_axes, lines = parts(fig)
    names = [t.get_text() for t in host.get_xticklabels()]
    assert names == ["lr", "layers", "activation", "batch-size", "validation accuracy (%)"]
    segments = lines.get_segments()
    assert len(segments) == len(FINISHED) == 4  # diverged and pruned runs are not drawn
    assert all(list(s[:, 0]) == [0, 1, 2, 3, 4] for s in segments)  # one point on each axis
    assert fig.get_suptitle() == "4 finished runs; left out: 1 diverged, 1 pruned"

    # coloured by the accuracy, the best drawn last (on top) and at the top of the last axis
    assert list(lines.get_array()) == pytest.approx([60.0, 70.0, 80.0, 90.0])
    assert [s[-1, 1] for s in segments] == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])
    # lr spans a factor of 300: a log axis, 0.1 a third of the way from 0.01 to 3
    lr_axis, layers_axis, activation_axis, batch_axis, accuracy_axis = own_axes[:5]
    assert lr_axis.get_yscale() == "log" and batch_axis.get_yscale() == "linear"
    best = segments[-1]  # lr 0.1, 784-32-10, relu, batch 20, 90%
    assert best[0, 1] == pytest.approx(math.log(0.1 / 0.01) / math.log(3.0 / 0.01))
    assert best[3, 1] == pytest.approx((20 - 10) / (50 - 10))
    # layer sizes and names are categories, in order, each at its tick
    assert [t.get_text() for t in layers_axis.get_yticklabels()] == ["784-16-10", "784-32-10"]
    assert [t.get_text() for t in activation_axis.get_yticklabels()] == ["relu", "sigmoid"]
    assert best[1, 1] == 1.0 and best[2, 1] == 0.0
    # each setting's axis stands at its place and shows its own values
    for i, ax in enumerate(own_axes[:5]):
        assert ax.spines["left"].get_position() == ("data", i)
    low, high = accuracy_axis.get_ylim()
    assert low < 60 < 90 < high
    low, high = lr_axis.get_ylim()
    assert low < 0.01 and 3.0 < high


def test_the_test_metric_only_when_asked_and_the_fallback_says_so(db):
    sweep = read(db)
    host, _, lines = parts(views.sweep_parallel(sweep.runs, sweep.swept, metric="test"))
    assert host.get_xticklabels()[-1].get_text() == "test accuracy (%)"
    assert list(lines.get_array()) == pytest.approx([59.0, 69.0, 79.0, 89.0])
    host, _, lines = parts(views.sweep_parallel(sweep.runs, sweep.swept, metric="cost"))
    assert host.get_xticklabels()[-1].get_text() == "validation cost"
    # the best (lowest cost) last, and at the bottom of its axis
    assert list(lines.get_array()) == pytest.approx([0.4, 0.3, 0.2, 0.1])
    assert lines.get_segments()[-1][-1, 1] == 0.0
    no_split = [{**r, "validation_accuracy": None} for r in sweep.runs]
    host, _, _ = parts(views.sweep_parallel(no_split, sweep.swept))
    assert host.get_xticklabels()[-1].get_text() == "test accuracy (%), no validation split"


def test_a_sweep_of_seeds_alone_has_a_seed_axis_and_one_value_sits_mid_axis():
    runs = [{**r, "seed": s, "params": {}} for s, r in enumerate(FINISHED)]
    host, _, lines = parts(views.sweep_parallel(runs, []))
    assert [t.get_text() for t in host.get_xticklabels()] == ["seed", "validation accuracy (%)"]
    assert len(lines.get_segments()) == 4
    same = [{**r, "params": {**r["params"], "lr": 0.5}} for r in FINISHED]
    _, _, lines = parts(views.sweep_parallel(same, ["lr", "batch_size"]))
    assert {float(s[0, 1]) for s in lines.get_segments()} == {0.5}


def test_nothing_to_draw_is_one_line():
    with pytest.raises(DigitnetError, match="no runs recorded yet"):
        views.sweep_parallel([], SWEPT)
    failed = [r for r in ROWS if r["status"] != "finished"]
    with pytest.raises(DigitnetError, match="no finished run"):
        views.sweep_parallel(failed, SWEPT)
    with pytest.raises(DigitnetError, match="unknown metric"):
        views.sweep_parallel(ROWS, SWEPT, metric="speed")


def test_the_command_writes_the_picture_and_refuses_kind_elsewhere(db, tmp_path, capsys):
    out = tmp_path / "parallel.png"
    assert main(["plot", "sweep", str(db), "--kind", "parallel", "-o", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert capsys.readouterr().out == f"wrote {out}\n"
    svg = tmp_path / "parallel.svg"
    assert main(["plot", "sweep", str(db), "--kind", "parallel", "-o", str(svg)]) == 0
    assert svg.read_text().count("<svg") == 1
    panels = tmp_path / "panels.png"
    assert main(["plot", "sweep", str(db), "--kind", "panels", "-o", str(panels)]) == 0
    assert panels.read_bytes()[:4] == b"\x89PNG"

    model = tmp_path / "m.npz"
    from digitnet.network import Network

    Network([784, 8, 10], seed=0).save(model)
    capsys.readouterr()
    argv = ["plot", "weights", str(model), "--kind", "parallel", "-o", str(tmp_path / "w.png")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err == "digitnet: error: --kind is for plot sweep (a sweep database), not plot weights\n"
    assert not (tmp_path / "w.png").exists()
    assert main(["plot", "sweep", str(db), "--kind", "lines", "-o", str(out)]) == 2
    assert "invalid choice: 'lines'" in capsys.readouterr().err


def test_a_real_sweep_draws_one_line_per_finished_run(tmp_path_factory, tmp_path):
    """``digitnet sweep run`` on a LocalCluster (the embedded sample), then the picture of it;
    the sweep names its dashboard's address."""
    env = sweep_env(tmp_path_factory)
    db = tmp_path / "real.db"
    argv = ["sweep", "run", "--layers", "784,8,10", "--epochs", "1", "--batch-size", "50"]
    argv += ["--train-images", "1000", "--grid", "lr=0.05,2", "--grid", "layers=784-8-10,784-12-10"]
    argv += ["--workers", "1", "--db", str(db)]
    result = digitnet(argv, env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "dashboard: http://127.0.0.1:" in result.stdout
    sweep = read(db)
    assert sweep.swept == ["layers", "lr"] and len(sweep.runs) == 4  # the store sorts them
    finished = [r for r in sweep.runs if r["status"] == "finished"]
    host, own_axes, lines = parts(views.sweep_parallel(sweep.runs, sweep.swept))
    assert [t.get_text() for t in host.get_xticklabels()] == [
        "layers",
        "lr",
        "validation accuracy (%)",
    ]
    assert len(lines.get_segments()) == len(finished) >= 1
    accuracies = sorted(100 * r["validation_accuracy"] for r in finished)
    assert list(lines.get_array()) == pytest.approx(accuracies)
    assert own_axes[1].get_yscale() == "log"  # lr: 0.05 and 2, a factor of 40
    heights = np.array([s[:, 1] for s in lines.get_segments()])
    assert np.all((heights >= 0) & (heights <= 1))
    assert [t.get_text() for t in own_axes[0].get_yticklabels()] == ["784-8-10", "784-12-10"]
    out = tmp_path / "real.png"
    result = digitnet(["plot", "sweep", str(db), "--kind", "parallel", "-o", str(out)], env)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:4] == b"\x89PNG"
