"""The MNIST sample shipped inside the package: small, plain, stratified, real, reproducible."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import numpy as np
import pytest

from digitnet.data import idx
from digitnet.data.load import EMBEDDED_KEYS, embedded_path, read_embedded

SCRIPT = Path(__file__).parents[1] / "scripts" / "build_embedded.py"


@pytest.fixture(scope="module")
def build_script():
    spec = importlib.util.spec_from_file_location("build_embedded", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_present_small_and_plain() -> None:
    path = embedded_path()
    assert path.is_file()
    assert path.stat().st_size < 3_000_000
    with zipfile.ZipFile(path) as archive:  # a compressed npz
        assert sorted(archive.namelist()) == sorted(f"{k}.npy" for k in EMBEDDED_KEYS)
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())
    with np.load(path, allow_pickle=False) as npz:  # plain arrays: no pickle needed
        assert npz["train_images"].shape == (10_000, 28, 28)
        assert npz["test_images"].shape == (2_000, 28, 28)
        assert npz["train_images"].dtype == np.uint8 and npz["train_labels"].dtype == np.uint8


def test_stratified() -> None:
    sample = read_embedded()
    train = np.bincount(sample["train_labels"], minlength=10) / 10_000
    test = np.bincount(sample["test_labels"], minlength=10) / 2_000
    assert np.allclose(train, 0.1) and np.allclose(test, 0.1)
    # Positions are increasing, and the last sixth comes from the last 10,000 training images,
    # so the scaled validation split is drawn from the book's validation set.
    assert (np.diff(sample["train_index"].astype(int)) > 0).all()
    assert (sample["train_index"][-1_670:] >= 50_000).all()
    assert (sample["train_index"][:-1_670] < 50_000).all()


def test_is_real_mnist(shared_data: Path) -> None:
    sample = read_embedded()
    folder = shared_data / "mnist"
    train_labels = idx.read_labels(folder / "train-labels-idx1-ubyte.gz")
    test_images = idx.read_images(folder / "t10k-images-idx3-ubyte.gz")
    assert np.array_equal(sample["train_labels"], train_labels[sample["train_index"]])
    assert np.array_equal(sample["test_images"], test_images[sample["test_index"]])


def test_rebuilds_byte_for_byte(build_script, shared_data: Path) -> None:
    content = build_script.npz_bytes(build_script.build(build_script.read_full(shared_data)))
    assert content == embedded_path().read_bytes()
