"""The IDX reader on the real files (checksums, shapes, first labels) and on broken ones."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digitnet.data import DATASETS, idx
from digitnet.data.fetch import verify
from digitnet.errors import DigitnetError

# --- the real files ---------------------------------------------------------------------------

REAL_FILES = [(name, f) for name in ("mnist", "fashion-mnist") for f in DATASETS[name].files]


@pytest.mark.parametrize(("name", "spec"), REAL_FILES, ids=[f"{n}/{f.name}" for n, f in REAL_FILES])
def test_real_file_matches_published_checksums(shared_data: Path, name: str, spec) -> None:
    path = shared_data / name / f"{spec.name}.gz"
    data = idx.read_bytes(path)
    assert len(data) == spec.size
    assert hashlib.sha256(data).hexdigest() == spec.sha256
    assert hashlib.md5(data).hexdigest() == spec.md5
    sha256, array = verify(data, spec, str(path), DATASETS[name].title)
    assert sha256 == spec.sha256 and len(array) == spec.count


def test_real_mnist_shapes_and_first_labels(shared_data: Path) -> None:
    folder = shared_data / "mnist"
    X, y = idx.read_pair(
        folder / "train-images-idx3-ubyte.gz", folder / "train-labels-idx1-ubyte.gz"
    )
    assert X.shape == (60_000, 28, 28) and X.dtype == np.uint8
    assert y.shape == (60_000,) and y.dtype == np.uint8
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert X.max() == 255 and X.min() == 0
    X, y = idx.read_pair(folder / "t10k-images-idx3-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz")
    assert X.shape == (10_000, 28, 28)
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_real_fashion_mnist_shapes_and_balance(shared_data: Path) -> None:
    folder = shared_data / "fashion-mnist"
    X, y = idx.read_pair(
        folder / "train-images-idx3-ubyte.gz", folder / "train-labels-idx1-ubyte.gz"
    )
    assert X.shape == (60_000, 28, 28)
    assert np.bincount(y).tolist() == [6_000] * 10  # Fashion-MNIST is exactly balanced
    y_test = idx.read_labels(folder / "t10k-labels-idx1-ubyte.gz")
    assert np.bincount(y_test).tolist() == [1_000] * 10
    assert y[:5].tolist() == [9, 0, 0, 3, 0]  # ankle boot, T-shirt, T-shirt, dress, T-shirt


def test_reads_uncompressed_files_too(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz"
    plain = tmp_path / "t10k-labels-idx1-ubyte"
    plain.write_bytes(gzip.decompress(src.read_bytes()))
    assert np.array_equal(idx.read_labels(plain), idx.read_labels(src))


# --- broken files -----------------------------------------------------------------------------


def images_bytes(n: int = 3, rows: int = 28, cols: int = 28, magic: int = 2051) -> bytes:
    pixels = np.arange(n * rows * cols, dtype=np.uint32).astype(np.uint8).tobytes()
    return struct.pack(">iiii", magic, n, rows, cols) + pixels


def labels_bytes(labels: list[int], magic: int = 2049, count: int | None = None) -> bytes:
    count = len(labels) if count is None else count
    return struct.pack(">ii", magic, count) + bytes(labels)


def write(path: Path, data: bytes, compress: bool = True) -> Path:
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def assert_one_line_naming(err: pytest.ExceptionInfo, path: Path, *words: str) -> None:
    message = str(err.value)
    assert "\n" not in message
    assert str(path) in message
    for word in words:
        assert word in message, message


def test_small_valid_pair(tmp_path: Path) -> None:
    images = write(tmp_path / "i.gz", images_bytes(3))
    labels = write(tmp_path / "l.gz", labels_bytes([0, 9, 3]))
    X, y = idx.read_pair(images, labels)
    assert X.shape == (3, 28, 28) and y.tolist() == [0, 9, 3]


def test_truncated_images(tmp_path: Path) -> None:
    path = write(tmp_path / "train-images-idx3-ubyte.gz", images_bytes(3)[:-100])
    with pytest.raises(DigitnetError) as err:
        idx.read_images(path)
    assert_one_line_naming(err, path, "truncated")


def test_extra_bytes(tmp_path: Path) -> None:
    path = write(tmp_path / "labels", labels_bytes([1, 2]) + b"\0", compress=False)
    with pytest.raises(DigitnetError) as err:
        idx.read_labels(path)
    assert_one_line_naming(err, path, "unexpected bytes")


def test_wrong_magic(tmp_path: Path) -> None:
    path = write(tmp_path / "train-images-idx3-ubyte.gz", images_bytes(2, magic=2049))
    with pytest.raises(DigitnetError) as err:
        idx.read_images(path)
    assert_one_line_naming(err, path, "magic number 2049", "2051")
    path = write(tmp_path / "labels.gz", labels_bytes([1], magic=1234))
    with pytest.raises(DigitnetError) as err:
        idx.read_labels(path)
    assert_one_line_naming(err, path, "magic number 1234", "2049")


def test_wrong_dimensions(tmp_path: Path) -> None:
    path = write(tmp_path / "images.gz", images_bytes(2, rows=27))
    with pytest.raises(DigitnetError) as err:
        idx.read_images(path)
    assert_one_line_naming(err, path, "27x28", "28x28")


def test_gzip_error(tmp_path: Path) -> None:
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"not really deflate data" * 10)
    with pytest.raises(DigitnetError) as err:
        idx.read_labels(path)
    assert_one_line_naming(err, path, "gzip")


def test_truncated_gzip(tmp_path: Path) -> None:
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(labels_bytes(list(range(10)) * 50))[:-30])
    with pytest.raises(DigitnetError) as err:
        idx.read_labels(path)
    assert_one_line_naming(err, path, "gzip")


def test_label_out_of_range(tmp_path: Path) -> None:
    path = write(tmp_path / "train-labels-idx1-ubyte.gz", labels_bytes([3, 4, 11, 2, 12]))
    with pytest.raises(DigitnetError) as err:
        idx.read_labels(path)
    assert_one_line_naming(err, path, "label 11 at position 2", "2 bad labels")


def test_counts_disagree(tmp_path: Path) -> None:
    images = write(tmp_path / "images.gz", images_bytes(3))
    labels = write(tmp_path / "labels.gz", labels_bytes([1, 2]))
    with pytest.raises(DigitnetError) as err:
        idx.read_pair(images, labels)
    assert_one_line_naming(err, labels, "2 labels for 3 images")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DigitnetError) as err:
        idx.read_images(tmp_path / "nothing.gz")
    assert_one_line_naming(err, tmp_path / "nothing.gz", "not found")
    with pytest.raises(DigitnetError) as err:
        idx.read_images(tmp_path)
    assert_one_line_naming(err, tmp_path, "folder")


def test_decompression_is_bounded(tmp_path: Path) -> None:
    path = write(tmp_path / "bomb.gz", bytes(10_000_000))
    with pytest.raises(DigitnetError) as err:
        idx.read_bytes(path, max_size=1_000)
    assert_one_line_naming(err, path, "more than")


@settings(max_examples=40, deadline=None)
@given(cut=st.integers(min_value=0, max_value=16 + 2 * 784 - 1), compress=st.booleans())
def test_any_truncation_is_reported(tmp_path_factory: pytest.TempPathFactory, cut, compress):
    data = images_bytes(2)
    if compress:
        data = gzip.compress(data)
        cut = cut * len(data) // (16 + 2 * 784)
    path = tmp_path_factory.mktemp("cut") / "images"
    path.write_bytes(data[:cut])
    with pytest.raises(DigitnetError) as err:
        idx.read_images(path)
    assert_one_line_naming(err, path)
