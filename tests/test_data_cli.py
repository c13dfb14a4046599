"""``digitnet data import | info`` in-process; bad input is one line on stderr, no traceback."""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import pytest

from digitnet.cli import main
from digitnet.data import DATASETS, load

MNIST_FILES = [f"{f.name}.gz" for f in DATASETS["mnist"].files]


def run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 1
    assert err.startswith("digitnet: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("DIGITNET_CACHE", str(path))
    monkeypatch.delenv("DIGITNET_DATA", raising=False)
    return path


@pytest.fixture
def mnist_copy(shared_data: Path, tmp_path: Path) -> Path:
    """A writable copy of the MNIST files in a folder not named after the dataset."""
    folder = tmp_path / "downloads"
    shutil.copytree(shared_data / "mnist", folder)
    return folder


def test_import_one_dataset_folder(shared_data: Path, cache: Path, capsys) -> None:
    # As from Debian's dataset-fashion-mnist: the four files in a folder named after the dataset.
    code, out, err = run(["data", "import", str(shared_data / "fashion-mnist")], capsys)
    assert code == 0, err
    assert out.strip() == (
        f"Fashion-MNIST: imported {shared_data / 'fashion-mnist'} into"
        f" {cache / 'fashion-mnist'} (4 files verified by sha256)"
    )
    assert sorted(p.name for p in (cache / "fashion-mnist").iterdir()) == sorted(MNIST_FILES)
    data = load("fashion-mnist", validation=0)
    assert data.source.endswith("(cache)") and len(data.y_train) == 60_000
    # Importing what is already there is harmless.
    code, out, _ = run(["data", "import", str(cache / "fashion-mnist")], capsys)
    assert code == 0 and "already in" in out


def test_import_recognises_mnist_by_checksum(mnist_copy: Path, cache: Path, capsys) -> None:
    code, out, err = run(["data", "import", str(mnist_copy), "--cache-dir", str(cache)], capsys)
    assert code == 0, err
    assert out.startswith("MNIST: imported")
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == sorted(MNIST_FILES)


def test_import_refuses_mnist_as_kmnist(mnist_copy: Path, cache: Path, capsys) -> None:
    code, _, err = run(["data", "import", str(mnist_copy), "--name", "kmnist"], capsys)
    assert_one_line_error(code, err, "this is MNIST train-images-idx3-ubyte, not Kuzushiji-MNIST")
    assert not (cache / "kmnist").exists()


def labels_file(labels: bytes, magic: int = 2049, count: int | None = None) -> bytes:
    return struct.pack(">ii", magic, len(labels) if count is None else count) + labels


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        ("truncated", ["gzip data ends early"]),
        ("wrong magic", ["magic number 2051, labels need 2049"]),
        ("gzip error", ["corrupt gzip data"]),
        ("label 11", ["label 11 at position 0"]),
        ("count mismatch", ["59,999 labels, MNIST train-labels-idx1-ubyte has 60,000"]),
        ("checksum", ["sha256", "does not match MNIST train-labels-idx1-ubyte"]),
    ],
)
def test_import_bad_file(mnist_copy: Path, cache: Path, capsys, damage: str, words) -> None:
    path = mnist_copy / "train-labels-idx1-ubyte.gz"
    good = gzip.decompress(path.read_bytes())
    labels = good[8:]
    bad = {
        "truncated": path.read_bytes()[:-200],
        "wrong magic": gzip.compress(labels_file(labels, magic=2051)),
        "gzip error": b"\x1f\x8b\x08\x00" + b"\xff" * 1000,
        "label 11": gzip.compress(labels_file(b"\x0b" + labels[1:])),
        "count mismatch": gzip.compress(labels_file(labels[:-1])),
        "checksum": gzip.compress(labels_file(labels[1:] + labels[:1])),
    }[damage]
    path.write_bytes(bad)
    code, out, err = run(["data", "import", str(mnist_copy), "--name", "mnist"], capsys)
    assert_one_line_error(code, err, str(path), *words)
    assert not (cache / "mnist").exists() or list((cache / "mnist").iterdir()) == []


def test_import_folder_without_files(tmp_path: Path, cache: Path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(["data", "import", str(empty)], capsys)
    assert_one_line_error(code, err, str(empty / "train-images-idx3-ubyte.gz"), "not found")
    code, _, err = run(["data", "import", str(empty), "--name", "mnist"], capsys)
    assert_one_line_error(code, err, str(empty / "train-images-idx3-ubyte.gz"), "not found")
    code, _, err = run(["data", "import", str(tmp_path / "nowhere")], capsys)
    assert_one_line_error(code, err, "not a folder")


def test_import_folder_missing_one_file(mnist_copy: Path, cache: Path, capsys) -> None:
    (mnist_copy / "t10k-labels-idx1-ubyte.gz").unlink()
    code, _, err = run(["data", "import", str(mnist_copy), "--name", "mnist"], capsys)
    assert_one_line_error(code, err, str(mnist_copy / "t10k-labels-idx1-ubyte.gz"), "not found")


def test_info(shared_data: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    code, out, _ = run(["data", "info"], capsys)
    assert code == 0
    assert "(not set)" in out and str(cache) in out
    assert "mnist          MNIST            not found (`digitnet data fetch mnist`" in out
    assert "10,000 train / 2,000 test" in out
    monkeypatch.setenv("DIGITNET_DATA", str(shared_data))
    code, out, _ = run(["data", "info", "--verify"], capsys)
    assert code == 0
    assert f"{shared_data / 'mnist'} (DIGITNET_DATA, 11.4 MB), verified" in out
    assert f"{shared_data / 'fashion-mnist'} (DIGITNET_DATA, 30.9 MB), verified" in out
    assert "kmnist         Kuzushiji-MNIST  not found" in out


def test_info_verify_reports_a_bad_file(mnist_copy: Path, tmp_path: Path, cache: Path, capsys):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    mnist_copy.rename(data_dir / "mnist")
    bad = data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:100])
    code, out, _ = run(["data", "info", "--verify", "--data-dir", str(data_dir)], capsys)
    assert code == 1
    assert "INVALID" in out and str(bad) in out


def test_usage_errors(capsys) -> None:
    code, out, _ = run(["data"], capsys)
    assert code == 2 and "fetch" in out and "import" in out and "info" in out
    code, _, err = run(["data", "fetch", "cifar"], capsys)
    assert code == 2 and "invalid choice" in err and err.count("\n") == 1
