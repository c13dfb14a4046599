"""Bad input, command by command: every case is one line on stderr, a non-zero exit, no
traceback, no file changed, in bounded time (a timeout) and memory (an address-space limit).

Each case runs the real CLI in a new process, in a folder holding a valid model, a valid digit,
and the hostile files below. The model-file and sweep-database cases are in test_model_io.py,
test_fuzz_loaders.py and test_sweep*.py; the output-path cases in test_outputs.py.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitnet.network import Network

MEMORY_LIMIT = 3 * 1024**3  # no case may need more than this
TIMEOUT = 120  # seconds; a case that takes longer hangs

# (command line, words its one line must hold); files named here are made by `folder`
CASES: dict[str, tuple[list[str], list[str]]] = {
    # predict: images that are not images, or not digits
    "predict-missing": (["predict", "m.npz", "nothing.png"], ["nothing.png"]),
    "predict-empty": (["predict", "m.npz", "empty.png"], ["empty.png"]),
    "predict-text": (["predict", "m.npz", "text.png"], ["text.png", "not an image"]),
    "predict-truncated": (["predict", "m.npz", "truncated.png"], ["truncated.png"]),
    "predict-bomb": (["predict", "m.npz", "bomb.png"], ["bomb.png", "pixels"]),
    "predict-blank": (["predict", "m.npz", "blank.png"], ["blank.png", "no ink"]),
    "predict-folder": (["predict", "m.npz", "folder"], ["folder"]),
    "predict-fifo": (["predict", "m.npz", "fifo"], ["fifo"]),
    "predict-gzip": (["predict", "m.npz", "digit.png.gz"], ["digit.png.gz"]),
    "predict-no-model": (["predict", "nothing.npz", "digit.png"], ["nothing.npz"]),
    "predict-image-as-model": (["predict", "digit.png", "digit.png"], ["digit.png"]),
    "predict-other-npz": (["predict", "other.npz", "digit.png"], ["other.npz"]),
    # eval and the data it reads
    "eval-empty-data-dir": (["eval", "m.npz", "--data-dir", "empty"], ["empty"]),
    "eval-truncated-idx": (["eval", "m.npz", "--data-dir", "broken"], ["t10k"]),
    "eval-unknown-dataset": (["eval", "m.npz", "--dataset", "cifar"], ["cifar"]),
    "eval-data-dir-is-a-file": (["eval", "m.npz", "--data-dir", "text.png"], ["text.png"]),
    # explain and gradcheck: numbers out of range
    "explain-layer-0": (
        ["explain", "m.npz", "--image", "0", "--layer", "0", "--weight", "1,1"],
        ["--layer"],
    ),
    "explain-layer-too-deep": (
        ["explain", "m.npz", "--image", "0", "--layer", "9", "--weight", "1,1"],
        ["layer"],
    ),
    "explain-weight-outside": (
        ["explain", "m.npz", "--image", "0", "--layer", "1", "--weight", "99,1"],
        ["99"],
    ),
    "explain-weight-garbage": (
        ["explain", "m.npz", "--image", "0", "--layer", "1", "--weight", "x"],
        ["--weight"],
    ),
    "explain-image-past-the-end": (
        ["explain", "m.npz", "--image", "99999999", "--layer", "1", "--weight", "1,1"],
        ["99999999"],
    ),
    "gradcheck-tolerance-nan": (["gradcheck", "--tolerance", "nan"], ["--tolerance"]),
    "gradcheck-layers-garbage": (["gradcheck", "--layers", "784,x"], ["784,x"]),
    "gradcheck-layers-huge": (["gradcheck", "--layers", "784,4000000,10"], ["allowed"]),
    "gradcheck-activation-unknown": (["gradcheck", "--activation", "swish"], ["swish"]),
    # plot: options and inputs
    "plot-unknown-view": (["plot", "colours", "m.npz", "-o", "a.png"], ["colours"]),
    "plot-bad-suffix": (["plot", "weights", "m.npz", "-o", "a.jpg"], ["a.jpg"]),
    "plot-layer-too-deep": (["plot", "weights", "m.npz", "-o", "a.png", "--layer", "7"], ["7"]),
    "plot-dpi-huge": (["plot", "weights", "m.npz", "-o", "a.png", "--dpi", "100000"], ["--dpi"]),
    "plot-dpi-zero": (["plot", "weights", "m.npz", "-o", "a.png", "--dpi", "0"], ["--dpi"]),
    "plot-steps-huge": (
        ["plot", "landscape", "m.npz", "-o", "a.png", "--steps", "99999"],
        ["--steps"],
    ),
    "plot-count-huge": (
        ["plot", "mistakes", "m.npz", "-o", "a.png", "--count", "99999999"],
        ["--count"],
    ),
    "plot-image-past-the-end": (
        ["plot", "network", "m.npz", "-o", "a.png", "--image", "99999999"],
        ["99999999"],
    ),
    "plot-sweep-of-a-model": (["plot", "sweep", "m.npz", "-o", "a.png"], ["m.npz"]),
    # train: options
    "train-layers-empty": (["train", "--layers", "", "--out", "n.npz"], ["--layers"]),
    "train-layers-one": (["train", "--layers", "784", "--out", "n.npz"], ["--layers"]),
    "train-layers-negative": (["train", "--layers", "784,-3,10", "--out", "n.npz"], ["--layers"]),
    "train-layers-huge": (["train", "--layers", "784,4000000,10", "--out", "n.npz"], ["allowed"]),
    "train-layers-wrong-input": (
        ["train", "--layers", "100,10", "--epochs", "1", "--out", "n.npz"],
        ["100"],
    ),
    "train-lr-nan": (["train", "--lr", "nan", "--out", "n.npz"], ["--lr"]),
    "train-lr-negative": (["train", "--lr", "-1", "--out", "n.npz"], ["lr"]),
    "train-weight-decay-inf": (["train", "--weight-decay", "inf", "--out", "n.npz"], ["--weight"]),
    "train-momentum-one": (["train", "--momentum", "1", "--out", "n.npz"], ["momentum"]),
    "train-dropout-one": (["train", "--dropout", "1", "--out", "n.npz"], ["dropout"]),
    "train-epochs-zero": (["train", "--epochs", "0", "--out", "n.npz"], ["--epochs"]),
    "train-seed-negative": (["train", "--seed", "-1", "--out", "n.npz"], ["--seed"]),
    "train-augment-garbage": (["train", "--augment", "twist=9", "--out", "n.npz"], ["twist"]),
    "train-resume-nothing": (["train", "--resume", "--out", "n.npz"], ["nothing to resume"]),
    "train-out-over-the-digit-folder": (["train", "--out", "folder"], ["folder"]),
    # serve, export, import
    "serve-port-zero": (["serve", "m.npz", "--port", "0"], ["--port"]),
    "serve-port-huge": (["serve", "m.npz", "--port", "70000"], ["--port"]),
    "serve-host-empty": (["serve", "m.npz", "--host", ""], ["--host"]),
    "serve-host-unknown": (["serve", "m.npz", "--host", "no.such.host.invalid"], ["--host"]),
    "export-over-its-model": (["export", "m.npz", "-o", "m.npz"], ["m.npz"]),
    "import-not-onnx": (["import", "text.png", "-o", "n.npz"], ["text.png"]),
    "import-a-model": (["import", "m.npz", "-o", "n.npz"], ["m.npz"]),
    # nothing at all
    "no-command": ([], ["COMMAND", "train"]),
    "unknown-command": (["fly"], ["fly"]),
}


def png_bytes(a: np.ndarray) -> bytes:
    import io

    out = io.BytesIO()
    Image.fromarray(a).save(out, format="PNG")
    return out.getvalue()


def bomb_png(side: int = 100_000) -> bytes:
    """A tiny PNG whose header declares side x side pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0"))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, mnist) -> Path:
    root = tmp_path_factory.mktemp("bad-input")
    Network([784, 16, 10], seed=0).save(root / "m.npz")
    digit = png_bytes((255 * mnist.X_test[0].reshape(28, 28)).astype(np.uint8))
    (root / "digit.png").write_bytes(digit)
    (root / "digit.png.gz").write_bytes(gzip.compress(digit))
    (root / "empty.png").write_bytes(b"")
    (root / "text.png").write_text("this is not a picture\n")
    (root / "truncated.png").write_bytes(digit[: len(digit) // 2])
    (root / "bomb.png").write_bytes(bomb_png())
    (root / "blank.png").write_bytes(png_bytes(np.full((28, 28), 255, np.uint8)))
    np.savez(root / "other.npz", x=np.arange(10))
    (root / "folder").mkdir()
    (root / "empty").mkdir()
    os.mkfifo(root / "fifo")
    broken = root / "broken" / "mnist"
    broken.mkdir(parents=True)
    source = mnist_files()
    for name, data in source.items():
        if name.startswith("t10k-images"):
            data = data[: len(data) // 3]
        (broken / name).write_bytes(data)
    return root


def mnist_files() -> dict[str, bytes]:
    from conftest import shared_data_dir

    return {p.name: p.read_bytes() for p in sorted((shared_data_dir() / "mnist").iterdir())}


def snapshot(root: Path) -> dict[str, str]:
    """Every regular file's content hash, by relative path (a fifo is left alone)."""
    files = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_fifo():
            files[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return files


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_and_changes_nothing(folder: Path, case: str) -> None:
    args, words = CASES[case]
    before = snapshot(folder)
    env = {**os.environ, "DIGITNET_DATA": "", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "digitnet", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        preexec_fn=limited,
        stdin=subprocess.DEVNULL,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert snapshot(folder) == before
