"""``digitnet experiment``: bad input before any training, and every experiment's quick version.

The quick versions run in-process on one LocalCluster of two workers (one ``digitnet experiment
all --quick``), on the MNIST sample inside the package; each writes its figures, its table in
Markdown and JSON, and its text. The numbers are checked against what each claim needs.
"""

from __future__ import annotations

import errno
import json
import math
import socket
import time
from pathlib import Path

import pytest

from digitnet.cli import main
from digitnet.experiments import EXPERIMENTS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """Every experiment's quick version, run once: the folder it wrote and the seconds it took."""
    out = tmp_path_factory.mktemp("experiments")
    start = time.perf_counter()
    assert main(["experiment", "all", "--quick", "--workers", "2", "-o", str(out)]) == 0
    return out, time.perf_counter() - start


def report(out: Path, name: str) -> dict:
    return json.loads((out / f"{name}.json").read_text())


def row(document: dict, **match: object) -> dict:
    return next(r for r in document["rows"] if all(r[k] == v for k, v in match.items()))


def test_an_unknown_experiment_is_one_line(capsys, tmp_path):
    assert main(["experiment", "dropout", "--quick", "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err == (
        "digitnet: error: unknown experiment 'dropout'; choose one of: "
        f"{', '.join(EXPERIMENTS)}, all\n"
    )
    assert not (tmp_path / "out").exists()


def test_an_unreachable_scheduler_is_one_line_before_training(capsys, tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"
    argv = ["experiment", "seeds", "--quick", "--scheduler", address, "--timeout", "1"]
    assert main([*argv, "-o", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"digitnet: error: cannot reach the Dask scheduler at {address}")
    assert captured.err.count("\n") == 1 and "cluster:" not in captured.out
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_output_folder_is_one_line(capsys, tmp_path, monkeypatch):
    """A read-only folder (as root, which writes anywhere, the refusal is imitated)."""
    from digitnet.commands import experiment

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(experiment.tempfile, "TemporaryFile", read_only)
    where = tmp_path / "out"
    assert main(["experiment", "noise", "--quick", "-o", str(where)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"digitnet: error: cannot write the experiment's files in {where}")
    assert "Read-only file system" in err and err.count("\n") == 1


def test_a_file_as_output_folder_is_one_line(capsys, tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("")
    assert main(["experiment", "noise", "--quick", "-o", str(taken)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"digitnet: error: cannot write the experiment's files in {taken}")
    assert err.count("\n") == 1


def test_every_quick_experiment_writes_text_table_and_figures(quick):
    out, _ = quick  # how long --quick takes is measured, not asserted (a busy machine is slower)
    for name in EXPERIMENTS:
        document = report(out, name)
        assert document["quick"] is True and "embedded sample" in document["data"]
        assert isinstance(document["seconds"], float) and math.isfinite(document["seconds"])
        text = (out / f"{name}.md").read_text()
        for part in ("**Claim.**", "**Published.**", "**Measured by digitnet.**", "| ---"):
            assert part in text
        assert document["figures"]
        for figure in document["figures"]:
            assert (out / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert f"]({figure})" in text
        assert len(document["rows"]) >= 2 and set(document["rows"][0]) == set(document["columns"])


def test_random_labels_are_memorised_and_real_labels_learned_faster(quick):
    document = report(quick[0], "random-labels")
    shuffled = row(document, **{"training data": "shuffled labels"})
    true = row(document, **{"training data": "true labels"})
    assert shuffled["train accuracy %"] >= 95 and shuffled["test accuracy %"] < 20
    assert true["test accuracy %"] > 80
    assert true["cost after epoch 1"] < shuffled["cost after epoch 1"]
    assert true["epochs to 95% train"] < shuffled["epochs to 95% train"]


def test_seeds_spread_distances_and_line(quick):
    document = report(quick[0], "seeds")
    test = row(document, quantity="test accuracy %")
    assert test["n"] == 6 and test["min"] < test["max"]
    trained = row(document, quantity="||theta_i - theta_j||, trained")
    assert trained["n"] == 15 and trained["min"] > 0
    lines = document["measurements"]["lines"]
    alphas = document["measurements"]["alphas"]
    assert 0.0 in alphas and 1.0 in alphas and set(lines) == {"0-1", "1-2"}


def test_learning_rate_spans_three_orders_and_records_every_run(quick):
    document = report(quick[0], "learning-rate")
    etas = [r["eta"] for r in document["rows"]]
    assert max(etas) / min(etas) >= 1000
    best = max(document["rows"], key=lambda r: r["test accuracy %"])
    assert best["eta"] not in (min(etas), max(etas))
    assert all(r["outcome"] for r in document["rows"])


def test_vanishing_gradients_earlier_sigmoid_layers_learn_slower(quick):
    document = report(quick[0], "vanishing-gradients")
    deepest = [r for r in document["rows"] if r["network"] == "784-30-30-30-30-10"]
    sigmoid = [r["sigmoid, start (median)"] for r in deepest]
    assert sigmoid == sorted(sigmoid) and sigmoid[-1] > 20 * sigmoid[0]
    # the same networks at the start as Nielsen's chapter 5: his speeds, within a factor of 3
    for r in deepest:
        assert r["Nielsen, start"] / 3 < r["sigmoid, start (median)"] < 3 * r["Nielsen, start"]
    relu = [r["ReLU + He, start"] for r in deepest]
    assert max(relu) < 5 * min(relu)


def test_noise_gets_answers_for_every_kind_of_input(quick):
    document = report(quick[0], "noise")
    assert {r["input"] for r in document["rows"]} == {
        "real digits",
        "random pixels",
        "blank",
        "inverted digits",
    }
    for r in document["rows"]:
        assert 0.1 <= r["median confidence"] <= 1
    modern = row(document, network="modern", input="real digits")
    assert modern["median confidence"] > 0.8
