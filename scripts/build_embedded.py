"""Build ``src/digitnet/data/embedded/mnist-sample.npz`` from the full MNIST files, reproducibly.

The sample is stratified: 1,000 training images of each digit (833 drawn from the first 50,000
training images and 167 from the last 10,000, which are the validation set in Nielsen's book) and
200 test images of each digit, all drawn with a fixed seed and kept in their original order.
The file is a compressed ``.npz`` of plain uint8/uint16 arrays, written with fixed timestamps so
the same input gives the same bytes::

    python scripts/build_embedded.py [--data-dir ../shared/data] [--check]

``--check`` rebuilds in memory and compares with the committed file instead of writing it.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import zipfile
from pathlib import Path

import numpy as np

from digitnet.atomic_files import atomic_path
from digitnet.data import idx, sources
from digitnet.data.fetch import verify
from digitnet.data.load import EMBEDDED_KEYS, embedded_path
from digitnet.data.registry import MNIST
from digitnet.errors import DigitnetError

SEED = 20_031_998  # any fixed number; changing it changes the sample
TRAIN_PER_CLASS = 1_000
VALIDATION_PER_CLASS = 167  # of TRAIN_PER_CLASS, drawn from the last 10,000 training images
TEST_PER_CLASS = 200
VALIDATION_START = 50_000
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip file can hold


def select(
    train_labels: np.ndarray, test_labels: np.ndarray, seed: int = SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted positions of the sampled training and test images (uint16)."""
    rng = np.random.default_rng(seed)
    positions = np.arange(len(train_labels))
    head, tail = positions < VALIDATION_START, positions >= VALIDATION_START
    chosen_train, chosen_test = [], []
    for digit in range(10):
        is_digit = train_labels == digit
        for where, k in (
            (head, TRAIN_PER_CLASS - VALIDATION_PER_CLASS),
            (tail, VALIDATION_PER_CLASS),
        ):
            chosen_train.append(rng.choice(positions[is_digit & where], size=k, replace=False))
        test_positions = np.flatnonzero(test_labels == digit)
        chosen_test.append(rng.choice(test_positions, size=TEST_PER_CLASS, replace=False))
    train_index = np.sort(np.concatenate(chosen_train)).astype(np.uint16)
    test_index = np.sort(np.concatenate(chosen_test)).astype(np.uint16)
    return train_index, test_index


def read_full(data_dir: Path | None) -> dict[str, np.ndarray]:
    """The four verified uint8 arrays of full MNIST, found as ``load`` would find them."""
    found, notes = sources.locate(MNIST, data_dir)
    if found is None:
        raise DigitnetError(f"full MNIST not found ({'; '.join(notes)})")
    keys = ("train_images", "train_labels", "test_images", "test_labels")
    arrays = {}
    for key, spec, path in zip(keys, MNIST.files, found.paths, strict=True):
        data = idx.read_bytes(path, max_size=spec.size)
        _, arrays[key] = verify(data, spec, str(path), MNIST.title)
    return arrays


def build(full: dict[str, np.ndarray], seed: int = SEED) -> dict[str, np.ndarray]:
    """The arrays of the sample, keyed as in ``EMBEDDED_KEYS``."""
    train_index, test_index = select(full["train_labels"], full["test_labels"], seed)
    return {
        "train_images": np.ascontiguousarray(full["train_images"][train_index]),
        "train_labels": np.ascontiguousarray(full["train_labels"][train_index]),
        "test_images": np.ascontiguousarray(full["test_images"][test_index]),
        "test_labels": np.ascontiguousarray(full["test_labels"][test_index]),
        "train_index": train_index,
        "test_index": test_index,
    }


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A compressed ``.npz`` of ``arrays`` whose bytes depend on nothing but the arrays."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for key in EMBEDDED_KEYS:
            member = io.BytesIO()
            np.lib.format.write_array(member, arrays[key], allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue(), zipfile.ZIP_DEFLATED, compresslevel=6)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="a folder holding mnist/")
    parser.add_argument("--out", type=Path, default=embedded_path(), help="the .npz to write")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    try:
        content = npz_bytes(build(read_full(args.data_dir)))
    except DigitnetError as err:
        print(f"build_embedded: error: {err}", file=sys.stderr)
        return 1
    if args.check:
        same = args.out.is_file() and args.out.read_bytes() == content
        print(f"{args.out}: {'up to date' if same else 'DIFFERS from a fresh build'}")
        return 0 if same else 1
    with atomic_path(args.out) as tmp:
        tmp.write_bytes(content)
    os.chmod(args.out, 0o644)
    print(f"wrote {args.out} ({len(content) / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
