"""The command line, run in-process through ``main([...])`` on real MNIST."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from digitnet.cli import main
from digitnet.commands import run as run_command
from digitnet.commands import train as train_command
from digitnet.errors import DigitnetError
from digitnet.model_io import load_model, save_model
from digitnet.network import Network


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *words: str) -> None:
    assert code != 0
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0]


@pytest.fixture(scope="module")
def lessons_model(tmp_path_factory, shared_data):
    """The lessons' preset, trained for one epoch through the command line."""
    out = tmp_path_factory.mktemp("lessons") / "model.npz"
    code = main(["train", "--preset", "lessons", "--epochs", "1", "--data-dir", str(shared_data),
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    return out


def test_train_writes_a_model_with_its_recipe_and_history(lessons_model, capsys):
    net, header = load_model(lessons_model)
    assert net.sizes == [784, 16, 16, 10] and net.activation == "sigmoid"
    assert header["cost"] == "quadratic"
    assert header["training"]["lr"] == 1.5 and header["training"]["batch_size"] == 10
    assert header["dataset"]["name"] == "mnist" and len(header["dataset"]["checksum"]) == 64
    epochs = header["history"]["epochs"]
    assert len(epochs) == 1 and epochs[0]["test_accuracy"] > 0.85
    assert not lessons_model.with_name("model.checkpoint.npz").exists()


def test_train_prints_a_row_per_epoch(tmp_path, shared_data, capsys):
    options = "--layers 784,32,10 --activation relu --output softmax --cost cross-entropy "
    options += "--init he --optimizer momentum --lr 0.05 --batch-size 64 --epochs 2"
    code, out, err = run(capsys, "train", *options.split(), "--data-dir", shared_data,
                         "--out", tmp_path / "m.npz")  # fmt: skip
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [row.split()[0] for row in rows] == ["1", "2"]
    assert "% after 2 epochs (finished); model written to " in out
    assert str(tmp_path / "m.npz") in out and "full MNIST" in out


def test_train_reports_the_compile_time_apart_from_the_epochs(tmp_path, shared_data, capsys):
    """The augmentation's compiled resampling is built (or loaded) before the first epoch: its
    seconds are reported on their own, and the epochs' seconds do not include them."""
    options = "--layers 784,16,10 --epochs 1 --batch-size 100 --validation 50000"
    code, out, err = run(capsys, "train", *options.split(), "--augment", "rotate=5",
                         "--data-dir", shared_data, "--out", tmp_path / "m.npz")  # fmt: skip
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("training: "))
    _, header = load_model(tmp_path / "m.npz")
    epochs = sum(e["seconds"] for e in header["history"]["epochs"])
    assert line.startswith(f"training: {epochs:.1f} s in the epochs, ")
    compile_seconds = header["history"]["compile_seconds"]
    assert line.endswith(f", {compile_seconds:.1f} s building or loading compiled code first")
    assert "% after 1 epoch (finished); model written to " in out
    assert isinstance(compile_seconds, float) and math.isfinite(compile_seconds)


def test_eval_json_gives_the_accuracy_as_a_fraction(lessons_model, shared_data, capsys):
    code, out, _ = run(capsys, "eval", lessons_model, "--data-dir", shared_data, "--json")
    assert code == 0
    result = json.loads(out)
    _, header = load_model(lessons_model)
    assert result["accuracy"] == pytest.approx(header["history"]["epochs"][-1]["test_accuracy"])
    assert 0 < result["accuracy"] < 1
    counts = np.array(result["confusion"])
    assert counts.shape == (10, 10) and counts.sum() == 10_000
    assert 0.2 < result["baseline_accuracy"] < 0.25  # Nielsen's average darkness: 22.25%
    code, out, _ = run(capsys, "eval", lessons_model, "--data-dir", shared_data)
    assert "precision" in out and "average-darkness baseline" in out


def test_a_saved_model_predicts_bit_identically_in_a_fresh_process(lessons_model, mnist, tmp_path):
    net, _ = load_model(lessons_model)
    here = net.feedforward(mnist.X_test[:500])
    out = tmp_path / "there.npy"
    script = (
        "import sys, numpy as np; from digitnet.model_io import load_model;"
        "net, _ = load_model(sys.argv[1]); X = np.load(sys.argv[2]);"
        "np.save(sys.argv[3], net.feedforward(X))"
    )
    np.save(tmp_path / "X.npy", mnist.X_test[:500])
    subprocess.run([sys.executable, "-c", script, str(lessons_model), str(tmp_path / "X.npy"),
                    str(out)], check=True)  # fmt: skip
    there = np.load(out)
    assert here.tobytes() == there.tobytes()


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes(tmp_path, shared_data, capsys, monkeypatch):
    out = tmp_path / "m.npz"
    original = run_command.ConsoleProgress.on_batches

    def interrupt_in_epoch_2(self, epoch, done, n_batches):
        original(self, epoch, done, n_batches)
        if epoch == 2:
            self.stop_requested = True  # what the SIGINT handler does

    monkeypatch.setattr(run_command.ConsoleProgress, "on_batches", interrupt_in_epoch_2)
    args = ["train", "--layers", "784,16,10", "--epochs", "3", "--data-dir", shared_data,
            "--out", out]  # fmt: skip
    code, _, err = run(capsys, *args)
    assert code == 130
    assert "resume with" in err and "--resume" in err
    checkpoint = out.with_name("m.checkpoint.npz")
    assert checkpoint.exists() and not out.exists()
    _, header = load_model(checkpoint)
    assert [e["epoch"] for e in header["history"]["epochs"]] == [1]

    monkeypatch.setattr(run_command.ConsoleProgress, "on_batches", original)
    code, stdout, err = run(capsys, *args, "--resume")
    assert code == 0, err
    _, header = load_model(out)
    assert [e["epoch"] for e in header["history"]["epochs"]] == [1, 2, 3]
    assert not checkpoint.exists()


def test_the_validation_split_comes_from_the_preset_unless_given(monkeypatch, capsys):
    import argparse
    import dataclasses

    from digitnet import presets

    all_data = dataclasses.replace(presets.PRESETS["lessons"], validation=0)
    monkeypatch.setitem(presets.PRESETS, "all-data", all_data)
    parser = argparse.ArgumentParser()
    train_command.add_training_options(parser)

    def validation(*argv: str) -> int:
        return train_command.recipe_from_args(parser.parse_args(list(argv)))["validation"]

    assert validation("--preset", "lessons") == 10_000
    assert validation("--preset", "all-data") == 0
    assert validation("--preset", "all-data", "--validation", "5000") == 5000
    with pytest.raises(SystemExit):
        parser.parse_args(["--validation", "-1"])
    assert "--validation" in capsys.readouterr().err


def test_augment_options_become_an_augmentation():
    from digitnet.data import Augmentation

    spec = train_command.parse_augment("translate=1,rotate,elastic=20,flip")
    assert Augmentation(**spec) == Augmentation(
        translate=1, rotate=10.0, elastic_alpha=20.0, flip=True
    )
    assert train_command.parse_augment("none") is None
    assert Augmentation(**train_command.parse_augment("flip,erase")).erase == 0.5
    assert Augmentation(**train_command.parse_augment("erase=0.25")).erase == 0.25
    assert Augmentation(**train_command.parse_augment("scale")).scale == 0.15
    assert Augmentation(**train_command.parse_augment("rotate=5,scale=0.2")).scale == 0.2
    with pytest.raises(DigitnetError, match="scale must be below 1"):
        Augmentation(**train_command.parse_augment("scale=1.5"))
    with pytest.raises(DigitnetError, match="erase"):
        Augmentation(**train_command.parse_augment("erase=2"))
    with pytest.raises(DigitnetError, match="whole number"):
        Augmentation(**train_command.parse_augment("translate=1.5"))
    with pytest.raises(DigitnetError, match="flip"):
        train_command.parse_augment("flip=maybe")


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_the_signal_handler_asks_for_a_stop_then_aborts(name):
    import os
    import signal

    signum = getattr(signal, name)
    before = signal.getsignal(signum)
    progress = run_command.ConsoleProgress(1, lambda: None)
    with run_command.stop_on_signals(progress):
        os.kill(os.getpid(), signum)
        assert progress.stop_requested and progress.stopped_by == signum
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signum) is before


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["train", "--preset", "fastest"], ["invalid choice", "fastest"]),
        (["train", "--activation", "swish"], ["invalid choice", "swish"]),
        (["train", "--batch-size", "0"], ["--batch-size"]),
        (["train", "--lr", "-1", "--epochs", "1"], ["lr"]),
        (["train", "--layers", "784,x,10"], ["--layers"]),
        (["train", "--augment", "blur=3"], ["--augment", "blur"]),
        (["train", "--layers", "100,10", "--epochs", "1"], ["input layer has 100"]),
        (["eval", "/nonexistent/model.npz"], ["no such model file"]),
    ],
)
def test_bad_options_give_one_line_and_a_non_zero_exit(argv, words, capsys, shared_data, tmp_path):
    if argv[0] == "train":
        argv = [*argv, "--data-dir", str(shared_data), "--out", str(tmp_path / "m.npz")]
    code, _, err = run(capsys, *argv)
    assert_one_line_error(code, err, *words)
    assert not (tmp_path / "m.npz").exists()


def test_bad_model_files_are_refused_in_one_line(tmp_path, capsys):
    net = Network([784, 8, 10])
    good = save_model(tmp_path / "good.npz", net)

    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(good.read_bytes()[:300])
    noise = tmp_path / "noise.npz"
    noise.write_bytes(np.random.default_rng(0).bytes(5000))
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, header=np.array([{"evil": 1}], dtype=object), W1=net.W[0])
    mismatched = tmp_path / "mismatched.npz"
    with np.load(good) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["W2"] = np.zeros((10, 9), np.float32)
    np.savez(mismatched, **arrays)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.zeros(3))
    with zipfile.ZipFile(tmp_path / "notnpz.npz", "w") as z:
        z.writestr("hello.txt", "hi")

    cases = {
        corrupt: "not a readable",
        noise: "not a readable",
        pickled: "pickled",
        mismatched: "W2 has shape (10, 9)",
        foreign: "no header",
        tmp_path / "notnpz.npz": "no header",
    }
    for path, words in cases.items():
        code, _, err = run(capsys, "eval", path)
        assert_one_line_error(code, err, str(path), words)


def test_save_never_leaves_a_half_written_model(tmp_path, monkeypatch):
    net = Network([784, 8, 10])
    path = save_model(tmp_path / "m.npz", net)
    before = path.read_bytes()

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError):
        save_model(path, Network([784, 8, 10], seed=1))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def photo_of(image: np.ndarray, path, seed: int) -> None:
    """An MNIST digit as a photo: dark ink on light, slightly noisy paper, large, off-centre."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    ink = Image.fromarray((255 - image.reshape(28, 28) * 255).astype(np.uint8)).resize((240, 240))
    paper = rng.normal(225, 6, (420, 560)).clip(0, 255).astype(np.uint8)
    photo = Image.fromarray(paper)
    region = np.minimum(np.asarray(photo)[60:300, 250:490], np.asarray(ink))
    photo.paste(Image.fromarray(region), (250, 60))
    photo.convert("RGB").save(path, quality=85)


def test_predict_reads_photos_and_prints_digits(lessons_model, mnist, tmp_path, capsys):
    net, _ = load_model(lessons_model)
    right = np.flatnonzero(net.predict(mnist.X_test[:50]) == mnist.y_test[:50])[:6]
    paths = []
    for i in right:
        paths.append(tmp_path / f"digit{i}.jpg")
        photo_of(mnist.X_test[i], paths[-1], seed=int(i))
    code, out, err = run(capsys, "predict", lessons_model, *paths, "--json")
    assert code == 0, err
    results = json.loads(out)
    assert [r["file"] for r in results] == [str(p) for p in paths]
    for r in results:
        assert r["digit"] == int(np.argmax(r["probabilities"]))
        assert sum(r["probabilities"]) == pytest.approx(1)
    hits = sum(r["digit"] == mnist.y_test[i] for r, i in zip(results, right, strict=True))
    assert hits >= len(right) - 1
    code, out, _ = run(capsys, "predict", lessons_model, paths[0])
    assert out.startswith(f"{paths[0]}: {results[0]['digit']}") and "%" in out


def test_predict_refuses_bad_images_in_one_line(lessons_model, tmp_path, capsys):
    from PIL import Image

    text = tmp_path / "notes.png"
    text.write_text("not an image")
    blank = tmp_path / "blank.png"
    Image.new("L", (300, 200), 255).save(blank)
    huge = tmp_path / "huge.png"
    Image.new("1", (20_000, 20_000), 1).save(huge)
    for path, words in ((text, "notes.png"), (blank, "no ink"), (huge, "pixels"),
                        (tmp_path / "missing.png", "missing.png")):  # fmt: skip
        code, _, err = run(capsys, "predict", lessons_model, path)
        assert_one_line_error(code, err, *words.split("|"))


def test_training_records_its_path_for_the_landscape(tmp_path, shared_data, capsys):
    from digitnet.model_io import read_trajectory

    out = tmp_path / "m.npz"
    code, _, err = run(capsys, "train", "--layers", "784,16,10", "--epochs", "2",
                       "--data-dir", shared_data, "--out", out)  # fmt: skip
    assert code == 0, err
    net, _ = load_model(out)
    path = read_trajectory(out)
    assert path.shape == (3, net.n_params)  # the start and the end of each epoch
    final = np.concatenate([p.ravel() for p in net.parameters()])
    np.testing.assert_array_equal(path[-1], final)
    assert not np.array_equal(path[0], path[1])
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    code, out_text, err = run(capsys, "plot", "landscape", out, "-o", tmp_path / "l.png",
                              "--data-dir", shared_data, "--steps", "5")  # fmt: skip
    assert code == 0, err


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
