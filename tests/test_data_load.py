"""load(): full data from each source, the validation split, the decoded cache, the fallbacks."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from digitnet.data import DATASETS, Dataset, idx, load
from digitnet.data.load import combined_checksum
from digitnet.errors import DigitnetError


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("DIGITNET_CACHE", str(cache))
    return cache


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIGITNET_DATA", raising=False)


def test_full_mnist(mnist: Dataset, shared_data: Path) -> None:
    assert mnist.name == "mnist" and not mnist.embedded
    assert mnist.source == f"full MNIST from {shared_data / 'mnist'} (--data-dir)"
    assert mnist.X_train.shape == (50_000, 784) and mnist.X_train.dtype == np.float32
    assert mnist.X_val.shape == (10_000, 784) and mnist.X_test.shape == (10_000, 784)
    for y in (mnist.y_train, mnist.y_val, mnist.y_test):
        assert y.dtype == np.intp and y.ndim == 1 and 0 <= y.min() and y.max() <= 9
    assert mnist.y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert mnist.y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert mnist.X_train.min() == 0.0 and mnist.X_train.max() == 1.0
    assert mnist.class_names == tuple("0123456789")
    expected = combined_checksum([f.sha256 for f in DATASETS["mnist"].files])
    assert mnist.checksum == expected
    assert not mnist.X_train.flags.writeable
    assert "train=50,000" in repr(mnist) and "array" not in repr(mnist)


def test_validation_is_the_last_training_images(mnist: Dataset, shared_data: Path) -> None:
    none = load("mnist", data_dir=shared_data, validation=0)
    assert none.X_val.shape == (0, 784) and none.y_val.shape == (0,)
    assert none.X_train.shape == (60_000, 784)
    assert np.array_equal(none.X_train[50_000:], mnist.X_val)
    assert np.array_equal(none.y_train[:50_000], mnist.y_train)
    assert none.checksum == mnist.checksum


def test_second_load_reads_the_decoded_copy_instead_of_the_idx_files(
    shared_data: Path, empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first load decodes and verifies the IDX files and keeps a decoded copy in the cache;
    the second reads that copy and decodes nothing (how long each takes is measured in the
    benchmarks, not here)."""
    first = load("mnist", data_dir=shared_data)
    decoded = list((empty_cache / "decoded").glob("mnist-*/*.npy"))
    assert len(decoded) == 4, decoded

    def no_decoding(*args, **kwargs):
        raise AssertionError("the second load decoded an IDX file")

    monkeypatch.setattr(idx, "read_bytes", no_decoding)
    second = load("mnist", data_dir=shared_data)
    assert np.array_equal(first.X_train, second.X_train)
    assert np.array_equal(first.y_test, second.y_test)
    assert first.checksum == second.checksum


def test_damaged_decoded_copy_is_ignored(shared_data: Path, empty_cache: Path) -> None:
    good = load("mnist", data_dir=shared_data, validation=0)
    (images,) = (empty_cache / "decoded").glob("mnist-*/train_images.npy")
    raw = bytearray(images.read_bytes())
    raw[-1] ^= 0xFF  # one pixel flipped: same shape, wrong content
    images.write_bytes(bytes(raw))
    (labels,) = (empty_cache / "decoded").glob("mnist-*/test_labels.npy")
    labels.write_bytes(labels.read_bytes()[:-10])  # truncated
    again = load("mnist", data_dir=shared_data, validation=0)
    assert np.array_equal(again.X_train, good.X_train)
    assert np.array_equal(again.y_test, good.y_test)
    third = load("mnist", data_dir=shared_data, validation=0)  # the copy was rewritten
    assert np.array_equal(third.X_train, good.X_train)


def test_environment_variable_and_cache(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_cache: Path
) -> None:
    monkeypatch.setenv("DIGITNET_DATA", str(shared_data))
    data = load("fashion-mnist", validation=5_000)
    assert data.source == f"full Fashion-MNIST from {shared_data / 'fashion-mnist'} (DIGITNET_DATA)"
    assert data.class_names[0] == "T-shirt/top" and data.class_names[9] == "Ankle boot"
    assert len(data.y_train) == 55_000 and len(data.y_val) == 5_000
    # The user cache is searched last; a folder named explicitly is the only one searched.
    monkeypatch.delenv("DIGITNET_DATA")
    shutil.copytree(shared_data / "fashion-mnist", empty_cache / "fashion-mnist")
    data = load("fashion-mnist")
    assert data.source == f"full Fashion-MNIST from {empty_cache / 'fashion-mnist'} (cache)"


def test_a_named_data_dir_that_lacks_the_dataset_is_an_error_not_a_fallback(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$DIGITNET_DATA has MNIST, and the embedded sample is there too: neither stands in for the
    folder the user named. The message lists what was looked for."""
    monkeypatch.setenv("DIGITNET_DATA", str(shared_data))
    (tmp_path / "mnist").mkdir()
    with pytest.raises(DigitnetError) as err:
        load("mnist", data_dir=tmp_path)
    message = str(err.value)
    assert f"--data-dir {tmp_path / 'mnist'}: missing train-images-idx3-ubyte" in message
    assert "DIGITNET_DATA" not in message and "\n" not in message
    with pytest.raises(DigitnetError, match="no such folder"):
        load("mnist", data_dir=tmp_path / "nowhere")


def test_embedded_fallback(tmp_path: Path, empty_cache: Path, no_env: None) -> None:
    data = load("mnist")
    assert data.embedded
    assert data.source.startswith(
        "embedded sample of MNIST (10,000 train / 2,000 test): full data not found"
    )
    assert "\n" not in data.source
    # 10,000 of 60,000 for validation becomes the same fraction of the sample.
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (8_333, 1_667, 2_000)
    assert data.X_train.dtype == np.float32 and data.X_train.shape[1] == 784
    assert 0.0 <= data.X_train.min() and data.X_train.max() <= 1.0
    assert data.y_train.dtype == np.intp
    assert len(data.checksum) == 64
    assert load("mnist", validation=0).X_val.shape == (0, 784)


def test_no_fallback_without_permission_or_for_other_datasets(
    tmp_path: Path, empty_cache: Path, no_env: None
) -> None:
    with pytest.raises(DigitnetError) as err:
        load("mnist", data_dir=tmp_path, allow_embedded=False)
    assert "digitnet data fetch mnist" in str(err.value) and "\n" not in str(err.value)
    for name in ("fashion-mnist", "kmnist"):
        with pytest.raises(DigitnetError, match=f"digitnet data fetch {name}"):
            load(name, data_dir=tmp_path)


def test_corrupt_full_data_is_an_error_not_a_fallback(
    shared_data: Path, tmp_path: Path, empty_cache: Path
) -> None:
    folder = tmp_path / "mnist"
    shutil.copytree(shared_data / "mnist", folder)
    bad = folder / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-100])
    with pytest.raises(DigitnetError) as err:
        load("mnist", data_dir=tmp_path)
    assert str(bad) in str(err.value) and "\n" not in str(err.value)


def test_fashion_files_are_not_mnist(shared_data: Path, tmp_path: Path) -> None:
    shutil.copytree(shared_data / "fashion-mnist", tmp_path / "mnist")
    with pytest.raises(DigitnetError, match="sha256 .* does not match MNIST"):
        load("mnist", data_dir=tmp_path)


def test_bad_arguments(shared_data: Path) -> None:
    with pytest.raises(DigitnetError, match="unknown dataset 'cifar'.*mnist, fashion-mnist"):
        load("cifar")
    for bad in (-1, 60_000, 2.5, True):
        with pytest.raises(DigitnetError, match="validation"):
            load("mnist", data_dir=shared_data, validation=bad)


def test_arrays_are_fresh_and_hashable(mnist: Dataset) -> None:
    with pytest.raises(ValueError, match="read-only"):
        mnist.X_train[0, 0] = 1.0
    shuffled = mnist.X_train[np.random.default_rng(0).permutation(10)]  # indexing copies
    shuffled[0, 0] = 0.5
    assert (
        hashlib.sha256(mnist.X_train[:10].tobytes()).hexdigest()
        != hashlib.sha256(shuffled.tobytes()).hexdigest()
    )
