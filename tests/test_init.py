"""``digitnet init``: an untrained network on the command line, which the other commands take."""

from __future__ import annotations

import json

import numpy as np

from digitnet.cli import main
from digitnet.model_io import load_model
from digitnet.network import Network


def run(capsys, *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_init_writes_the_random_start_of_the_lessons_network(tmp_path, capsys):
    out = tmp_path / "runs" / "untrained.npz"
    code, stdout, err = run(capsys, "init", "--out", out, "--seed", 3)
    assert code == 0, err
    assert "784-16-16-10" in stdout and "13,002 weights and biases" in stdout
    net, header = load_model(out)
    assert net.config() == Network([784, 16, 16, 10], init="lecun").config()
    assert header["dataset"] == {"name": "mnist"} and header["untrained"] == {"seed": 3}
    assert "history" not in header
    same = Network([784, 16, 16, 10], init="lecun", seed=3)  # digitnet train's start, seed 3
    for got, want in zip(net.parameters(), same.parameters(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_init_takes_layers_activation_cost_and_a_preset(tmp_path, capsys):
    out = tmp_path / "relu.npz"
    code, _, err = run(capsys, "init", "--layers", "784,32,10", "--activation", "relu",
                       "--cost", "cross-entropy", "--init", "he", "--out", out)  # fmt: skip
    assert code == 0, err
    net, _ = load_model(out)
    assert net.sizes == [784, 32, 10] and net.activation == "relu"
    assert net.output == "softmax" and net.cost.name == "cross-entropy" and net.init == "he"
    code, _, err = run(capsys, "init", "--preset", "fashion", "--out", tmp_path / "f.npz")
    assert code == 0, err
    net, header = load_model(tmp_path / "f.npz")
    assert net.sizes == [784, 1024, 1024, 10] and header["dataset"]["name"] == "fashion-mnist"


def test_other_commands_take_the_untrained_model(tmp_path, shared_data, capsys):
    model = tmp_path / "untrained.npz"
    assert run(capsys, "init", "--out", model)[0] == 0
    data = ("--data-dir", shared_data)
    code, out, err = run(capsys, "eval", model, "--json", *data)
    assert code == 0, err
    accuracy = json.loads(out)["accuracy"]
    assert 0.0 <= accuracy < 0.3  # random weights: near chance, far from a trained network's
    code, out, err = run(capsys, "explain", model, "--image", 0, "--layer", 3, "--weight", "7,2",
                         *data)  # fmt: skip
    assert code == 0, err
    assert "dC/dw" in out
    for view in ("weights", "network", "nudges"):
        picture = tmp_path / f"{view}.png"
        code, _, err = run(capsys, "plot", view, model, "-o", picture, *data)
        assert code == 0, err
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = run(capsys, "plot", "curves", model, "-o", tmp_path / "c.png")
    assert code == 1 and "no training history" in err


def test_init_replaces_only_an_untrained_model_without_force(tmp_path, capsys, shared_data):
    model = tmp_path / "m.npz"
    assert run(capsys, "init", "--out", model, "--seed", 1)[0] == 0
    assert run(capsys, "init", "--out", model, "--seed", 2)[0] == 0  # nothing to lose
    assert load_model(model)[1]["untrained"] == {"seed": 2}
    trained = tmp_path / "trained.npz"
    code = main(["train", "--layers", "784,10", "--epochs", "1", "--batch-size", "100",
                 "--data-dir", str(shared_data), "--out", str(trained)])  # fmt: skip
    assert code == 0
    capsys.readouterr()
    for other in (trained, tmp_path / "notes.npz"):
        if not other.exists():
            other.write_bytes(b"not a model")
        before = other.read_bytes()
        code, _, err = run(capsys, "init", "--out", other)
        assert code == 1 and err.count("\n") == 1 and "exists" in err and "--force" in err
        assert other.read_bytes() == before
    assert run(capsys, "init", "--out", trained, "--force")[0] == 0
    assert load_model(trained)[0].sizes == [784, 16, 16, 10]


def test_init_refuses_bad_options_in_one_line(tmp_path, capsys):
    code, _, err = run(capsys, "init", "--out", tmp_path)
    assert code == 1 and "is a folder" in err
    code, _, err = run(capsys, "init", "--layers", "784,x,10", "--out", tmp_path / "x.npz")
    assert code == 1 and "--layers must be sizes" in err and "Traceback" not in err
    assert not (tmp_path / "x.npz").exists()
