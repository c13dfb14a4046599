"""Bad model files, given to every command that takes a model: one line on stderr, a non-zero
exit, no traceback, the file unchanged, and no large allocation (each batch of command lines runs
under an address-space limit, :data:`cli_batch.MEMORY_LIMIT`)."""

from __future__ import annotations

import io
import json
import socket
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_batch import run_batch
from PIL import Image

from digitnet.commands.inside import VIEW_NAMES
from digitnet.model_io import MAX_PARAMS
from digitnet.network import Network
from digitnet.train import TrainConfig

SIZES = [784, 16, 10]


def good_model(path: Path) -> Path:
    """A model with every optional field digitnet reads back, as ``digitnet train`` writes it."""
    net = Network(SIZES, init="lecun", seed=1)
    training = TrainConfig(epochs=1).to_dict()
    augment = {"translate": 2, "rotate": 10.0, "elastic_alpha": 0.0, "elastic_sigma": 6.0}
    recipe = {
        "preset": None,
        "network": net.config(),
        "training": {k: v for k, v in training.items() if k != "augment"},
        "augment": augment | {"flip": False, "erase": 0.0},
        "dataset": "mnist",
        "validation": 10_000,
    }
    record = {"epoch": 1, "lr": 1.5, "train_cost": 0.1, "train_accuracy": 0.9}
    record |= {"validation_cost": None, "validation_accuracy": 0.9, "test_accuracy": 0.9}
    record |= {"seconds": 1.0, "eval_seconds": 0.1}
    net.save(
        path,
        recipe=recipe,
        dataset={"name": "mnist", "checksum": "0" * 64, "source": "full MNIST"},
        training=training,
        history={"epochs": [record], "stopped": "finished", "best_epoch": None},
    )
    return path


def arrays_of(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def write_npz(path: Path, **arrays: Any) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def with_header(change: Callable[[dict[str, Any]], None]) -> Callable[[Path, Path], None]:
    def make(good: Path, out: Path) -> None:
        content = arrays_of(good)
        header = json.loads(content["header"].tobytes())
        change(header)
        content["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        write_npz(out, **content)

    return make


def with_arrays(**arrays: Any) -> Callable[[Path, Path], None]:
    """The good model with arrays replaced (a value of None removes that array)."""

    def make(good: Path, out: Path) -> None:
        content = arrays_of(good)
        for name, value in arrays.items():
            if value is None:
                content.pop(name)
            else:
                content[name] = value(content[name]) if callable(value) else value
        write_npz(out, **content)

    return make


def with_member(name: str, data: bytes, deflate: bool = False) -> Callable[[Path, Path], None]:
    """The good model with zip member ``name`` holding raw ``data``."""

    def make(good: Path, out: Path) -> None:
        with zipfile.ZipFile(good) as src, zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                if info.filename != name:
                    dst.writestr(info.filename, src.read(info))
            method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            dst.writestr(name, data, compress_type=method)

    return make


def npy(shape: tuple[int, ...], dtype: str = "<f4", data: bytes = b"") -> bytes:
    """An .npy file declaring ``shape`` and ``dtype``, followed by ``data``."""
    f = io.BytesIO()
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(f, header)
    return f.getvalue() + data


def raw(change: Callable[[bytes], bytes]) -> Callable[[Path, Path], None]:
    def make(good: Path, out: Path) -> None:
        out.write_bytes(change(good.read_bytes()))

    return make


def claims_size(member: str, size: int) -> Callable[[Path, Path], None]:
    """The good model with ``member``'s uncompressed size in the central directory rewritten."""

    def make(good: Path, out: Path) -> None:
        data = bytearray(good.read_bytes())
        at = 0
        while True:
            at = data.find(b"PK\x01\x02", at)
            n = struct.unpack_from("<H", data, at + 28)[0]
            if data[at + 46 : at + 46 + n].decode() == member:
                break
            at += 4
        struct.pack_into("<I", data, at + 24, size)
        out.write_bytes(bytes(data))

    return make


def flip_byte_in(member: str) -> Callable[[Path, Path], None]:
    """The good model with one byte of ``member``'s data changed (its CRC no longer matches)."""

    def make(good: Path, out: Path) -> None:
        data = bytearray(good.read_bytes())
        with zipfile.ZipFile(good) as z:
            info = z.getinfo(member)
        at = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
        data[at] ^= 0xFF
        out.write_bytes(bytes(data))

    return make


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


W1_BYTES = 16 * 784 * 4

CASES: dict[str, Callable[[Path, Path], None]] = {
    # not a model file at all
    "zero bytes": raw(lambda b: b""),
    "truncated to half": raw(lambda b: b[: len(b) // 2]),
    "truncated tail": raw(lambda b: b[:-30]),
    "not a zip": raw(lambda b: b"these are my notes, not a model\n" * 20),
    "zip of a text file": lambda good, out: zipfile.ZipFile(out, "w").writestr("a.txt", "hi"),
    "another program's npz": lambda good, out: write_npz(out, a=np.arange(10), b=np.eye(3)),
    "zip without header": with_arrays(header=None),
    "bad CRC in W1": flip_byte_in("W1.npy"),
    # the header array
    "header not JSON": with_member("header.npy", npy((9,), "|u1", b"{not json")),
    "header a JSON list": with_member("header.npy", npy((6,), "|u1", b"[1, 2]")),
    "header not UTF-8": with_member("header.npy", npy((2,), "|u1", b"\xff\xfe")),
    "header nested 100000 deep": with_member("header.npy", npy((200_000,), "|u1", nested(100_000))),
    "header with a 5000-digit number": with_member(
        "header.npy", npy((5002,), "|u1", b"[" + b"9" * 5000 + b"]")
    ),
    "header as float64": with_arrays(header=np.zeros(8)),
    "header declaring 10^12 bytes": with_member("header.npy", npy((10**12,), "|u1", b"{}")),
    "header npy garbage": with_member("header.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': !!!}  \n"),
    # header fields of the wrong type, one each
    "format 7": with_header(lambda h: h.update(format=7)),
    "format_version '1'": with_header(lambda h: h.update(format_version="1")),
    "sizes a string": with_header(lambda h: h.update(sizes="784,16,10")),
    "sizes with a string": with_header(lambda h: h.update(sizes=[784, "16", 10])),
    "sizes with a float": with_header(lambda h: h.update(sizes=[784, 16.0, 10])),
    "sizes with a bool": with_header(lambda h: h.update(sizes=[784, True, 10])),
    "sizes negative": with_header(lambda h: h.update(sizes=[784, -16, 10])),
    "activation 3": with_header(lambda h: h.update(activation=3)),
    "output null": with_header(lambda h: h.update(output=None)),
    "cost a list": with_header(lambda h: h.update(cost=["quadratic"])),
    "dtype float16": with_header(lambda h: h.update(dtype="float16")),
    "init 5": with_header(lambda h: h.update(init=5)),
    "dataset 7": with_header(lambda h: h.update(dataset=7)),
    "dataset name 7": with_header(lambda h: h["dataset"].update(name=7)),
    "recipe missing training": with_header(lambda h: h["recipe"].pop("training")),
    "recipe lr 'fast'": with_header(lambda h: h["recipe"]["training"].update(lr="fast")),
    "recipe lr -1": with_header(lambda h: h["recipe"]["training"].update(lr=-1)),
    "recipe epochs 2.5": with_header(lambda h: h["recipe"]["training"].update(epochs=2.5)),
    "recipe unknown setting": with_header(lambda h: h["recipe"]["training"].update(speed=1)),
    "recipe network null": with_header(lambda h: h["recipe"].update(network=None)),
    "recipe augment rotate 'x'": with_header(lambda h: h["recipe"]["augment"].update(rotate="x")),
    "recipe a list": with_header(lambda h: h.update(recipe=[1])),
    "training lr 'fast'": with_header(lambda h: h["training"].update(lr="fast")),
    "history epochs 3": with_header(lambda h: h["history"].update(epochs=3)),
    "history record lr 'x'": with_header(lambda h: h["history"]["epochs"][0].update(lr="x")),
    "history stopped 'bored'": with_header(lambda h: h["history"].update(stopped="bored")),
    "state rng 3": with_header(lambda h: h.update(state={"rng": 3, "optimizer": "sgd"})),
    # arrays
    "W1 float64": with_arrays(W1=lambda W: W.astype(np.float64)),
    "W1 int32": with_arrays(W1=lambda W: W.astype(np.int32)),
    "W1 complex": with_arrays(W1=lambda W: W.astype(np.complex64)),
    "W1 structured": with_arrays(W1=np.zeros((16, 784), dtype=[("x", "<f4")])),
    "W1 object (pickle)": with_arrays(W1=np.array([object()] * 4, dtype=object)),
    "W1 wrong shape": with_arrays(W1=lambda W: W[:8]),
    "W1 transposed": with_arrays(W1=lambda W: np.ascontiguousarray(W.T)),
    "W1 a scalar": with_arrays(W1=np.float32(1)),
    "b2 missing": with_arrays(b2=None),
    "W1 holds NaN": with_arrays(
        W1=lambda W: np.where(np.arange(W.size).reshape(W.shape) == 5, np.nan, W).astype(np.float32)
    ),  # fmt: skip
    "b1 holds inf": with_arrays(b1=lambda b: np.full_like(b, np.inf)),
    # sizes that would need gigabytes
    "W1 declaring shape (16, 10^12)": with_member(
        "W1.npy", npy((16, 10**12), data=b"\0" * W1_BYTES)
    ),
    "W1 declaring (600000, 784), holding 16 rows": with_member(
        "W1.npy", npy((600_000, 784), data=b"\0" * W1_BYTES)
    ),
    "sizes [784, 60000, 10]": with_header(lambda h: h.update(sizes=[784, 60_000, 10])),
    "sizes [784, 600000, 10]": with_header(lambda h: h.update(sizes=[784, 600_000, 10])),
    "sizes beyond the limit": with_header(lambda h: h.update(sizes=[784, MAX_PARAMS, 10])),
    "sizes of 10^6 layers": with_header(lambda h: h.update(sizes=[784] + [1] * 10**6)),
    "W1 deflated to a 1000x bomb": with_member(
        "W1.npy", npy((16, 784_000), data=b"\0" * (W1_BYTES * 1000)), deflate=True
    ),
    "W1 claiming 4 GB in the zip": claims_size("W1.npy", 0xFFFF_FFF0),
    "header claiming 4 GB in the zip": claims_size("header.npy", 0xFFFF_FFF0),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def model_commands(model: Path, folder: Path, port: int) -> list[list[str]]:
    """Every command line that reads ``model``."""
    m, png, out = str(model), str(folder / "digit.png"), str(folder / "out")
    return [
        ["eval", m],
        ["predict", m, png],
        ["gradcheck", m],
        ["explain", m, "--image", "0", "--layer", "1", "--weight", "0,0"],
        *(["plot", view, m, "-o", out + f"-{view}.png"] for view in VIEW_NAMES),
        ["export", m, "-o", out + ".onnx"],
        ["serve", m, "--port", str(port), "--runs", str(folder / "runs")],
        ["train", "--out", m, "--resume"],
    ]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("bad-models")
    good = good_model(folder / "good.npz")
    image = np.zeros((28, 28), np.uint8)
    image[6:22, 12:16] = 255
    Image.fromarray(image).save(folder / "digit.png")
    files = {}
    for i, (what, make) in enumerate(CASES.items()):
        path = folder / f"case{i:02d}.npz"
        make(good, path)
        files[what] = path
    (folder / "a-folder.npz").mkdir()
    files["a folder"] = folder / "a-folder.npz"
    files["a missing file"] = folder / "missing.npz"
    return folder, files


def test_the_good_model_loads_in_every_command(bad_files, shared_data):
    folder, _ = bad_files
    good = folder / "good.npz"
    commands = [c for c in model_commands(good, folder, 1) if c[0] not in ("serve", "train")]
    for r in run_batch(commands, folder, shared_data):
        assert "Traceback" not in r.stderr, r
        # a dataless plot (curves of a one-epoch history) or predict's one image all succeed
        assert r.code == 0, r


def test_every_command_refuses_every_bad_file_in_one_line(bad_files, shared_data):
    folder, files = bad_files
    before = {what: p.read_bytes() if p.is_file() else None for what, p in files.items()}
    port = free_port()
    batch = [(what, c) for what, p in files.items() for c in model_commands(p, folder, port)]
    results = run_batch([c for _, c in batch], folder, shared_data, timeout=900)
    failures = [
        f"{what}: digitnet {' '.join(r.argv)} -> exit {r.code}: {r.stderr.strip()[-300:]!r}"
        for (what, _), r in zip(batch, results, strict=True)
        if not r.clean_refusal()
    ]
    assert not failures, f"{len(failures)} of {len(results)} not refused cleanly:\n" + "\n".join(
        failures[:40]
    )
    for what, path in files.items():
        assert (path.read_bytes() if path.is_file() else None) == before[what], what
    # each message names the file
    for (what, _), r in zip(batch, results, strict=True):
        assert files[what].name in r.stderr, (what, r.stderr)
    print(f"{len(files)} bad files x {len(results) // len(files)} commands: all refused cleanly")
