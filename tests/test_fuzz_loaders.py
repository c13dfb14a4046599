"""Fuzzing the two readers of untrusted files: the model loader and the IDX reader.

For any bytes (random ones, and mutations of a valid file: bytes changed, cut, inserted, sizes
rewritten), a reader either returns a valid object or raises :class:`DigitnetError` with a
one-line message; never any other exception. Run briefly in every test run (200 examples each).
"""

from __future__ import annotations

import gzip
import io
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digitnet.data import idx
from digitnet.errors import DigitnetError
from digitnet.model_io import load_model, read_state, read_trajectory, save_model
from digitnet.network import Network
from digitnet.train import TrainConfig, TrainingState, train

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def valid_model_bytes() -> bytes:
    """A small trained model with a trajectory and a training state: every array kind."""
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 6)).astype(np.float32), rng.integers(0, 3, 40)
    net = Network([6, 4, 3], init="lecun", seed=0)
    config = TrainConfig(epochs=1, batch_size=10, lr=0.5, optimizer="momentum")
    start = net.parameter_vector().astype(np.float32)
    state = TrainingState()
    history = train(net, X, y, config, state=state)
    trajectory = np.stack([start, net.parameter_vector().astype(np.float32)])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.npz"
        save_model(path, net, trajectory, state, history=history, training=config)
        return path.read_bytes()


def valid_idx_bytes() -> bytes:
    images = np.random.default_rng(1).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    return struct.pack(">iiii", 2051, 3, 28, 28) + images.tobytes()


MODEL = valid_model_bytes()
IDX_IMAGES = valid_idx_bytes()
IDX_LABELS = struct.pack(">ii", 2049, 3) + bytes([1, 2, 3])


@st.composite
def mutations(draw: st.DrawFn, valid: bytes) -> bytes:
    """``valid`` with a few bytes changed, a piece cut out or inserted, or cut short."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "truncate", "int32"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif kind == "truncate":
            del data[at:]
        elif kind == "int32" and at + 4 <= len(data):  # a size or an offset, rewritten
            value = draw(st.sampled_from([0, 1, 2**31 - 1, 2**32 - 1, len(data), 10**9]))
            struct.pack_into("<I", data, at, value)
    return bytes(data)


def one_line(err: DigitnetError) -> None:
    message = str(err)
    assert message and "\n" not in message, message


def load_all(data: bytes) -> None:
    """Every reader of a model file on ``data``: a valid network, or a one-line DigitnetError."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzzed.npz"
        path.write_bytes(data)
        for read in (load_model, read_trajectory, read_state):
            try:
                result = read(path)
            except DigitnetError as err:
                one_line(err)
                continue
            if read is load_model:
                net, header = result
                assert isinstance(header, dict)
                assert all(np.isfinite(p).all() for p in net.parameters())
        assert path.read_bytes() == data


def read_idx(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzzed-idx"
        path.write_bytes(data)
        for read in (idx.read_images, idx.read_labels):
            try:
                array = read(path)
            except DigitnetError as err:
                one_line(err)
                continue
            assert array.dtype == np.uint8


def test_the_valid_files_load():
    load_all(MODEL)
    assert read_trajectory(_saved(MODEL)).shape == (2, 6 * 4 + 4 + 4 * 3 + 3)
    assert read_state(_saved(MODEL)).optimizer["v"].shape == (43,)
    read_idx(IDX_IMAGES)
    assert idx.read_labels(_saved(IDX_LABELS)).tolist() == [1, 2, 3]


_KEEP: list[tempfile.TemporaryDirectory] = []


def _saved(data: bytes) -> Path:
    folder = tempfile.TemporaryDirectory()
    _KEEP.append(folder)
    path = Path(folder.name) / "file"
    path.write_bytes(data)
    return path


@FUZZ
@given(st.binary(max_size=4096))
def test_model_loader_on_random_bytes(data):
    load_all(data)


@FUZZ
@given(mutations(MODEL))
def test_model_loader_on_mutated_models(data):
    load_all(data)


@FUZZ
@given(st.binary(max_size=2048))
def test_idx_reader_on_random_bytes(data):
    read_idx(data)


@FUZZ
@given(st.one_of(mutations(IDX_IMAGES), mutations(IDX_LABELS)), st.booleans())
def test_idx_reader_on_mutated_files(data, compressed):
    if compressed:
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as f:
            f.write(data)
        data = buffer.getvalue()
    read_idx(data)


@FUZZ
@given(mutations(gzip.compress(IDX_IMAGES, mtime=0)))
def test_idx_reader_on_mutated_gzip(data):
    read_idx(data)


@pytest.fixture(autouse=True, scope="module")
def _cleanup():
    yield
    for folder in _KEEP:
        folder.cleanup()
