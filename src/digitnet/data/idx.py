"""Read the IDX files of MNIST and its siblings, gzip-compressed or not, checking everything.

The format (from the MNIST page): a big-endian header, then unsigned bytes.

* images: magic 2051, count, rows, cols, then ``count * rows * cols`` pixels (0 = background,
  255 = ink), row by row;
* labels: magic 2049, count, then ``count`` labels, each 0..9.

Whatever is wrong with a file (missing, not gzip after all, truncated, a wrong magic number,
odd dimensions, a label of 11, bytes left over) raises a :class:`DigitnetError` whose one line
names the file and the problem. Images come back as uint8 ``(n, rows, cols)`` and labels as
uint8 ``(n,)``; turning them into float32 in [0, 1] is the loader's job.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from digitnet.data.registry import COLS, IMAGE_MAGIC, LABEL_MAGIC, ROWS
from digitnet.errors import DigitnetError

GZIP_MAGIC = b"\x1f\x8b"
_IMAGE_HEADER = struct.Struct(">iiii")  # magic, count, rows, cols
_LABEL_HEADER = struct.Struct(">ii")  # magic, count


def is_gzip(path: str | Path) -> bool:
    """True when the file starts with the gzip magic bytes (whatever its name says)."""
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def read_bytes(path: str | Path, max_size: int | None = None) -> bytes:
    """The content of ``path``, decompressed if it is gzip; at most ``max_size`` bytes are accepted.

    Gzip is recognised by its magic bytes, not the file name. More than ``max_size`` bytes (after
    decompression) is an error, so a corrupt or hostile archive cannot fill the memory.
    """
    path = Path(path)
    limit = -1 if max_size is None else max_size + 1
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            if compressed:
                with gzip.GzipFile(fileobj=raw, mode="rb") as f:
                    data = f.read(limit)
            else:
                data = raw.read(limit)
    except FileNotFoundError:
        raise DigitnetError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DigitnetError(f"{path}: is a folder, expected an IDX file") from None
    except PermissionError:
        raise DigitnetError(f"{path}: permission denied") from None
    except EOFError:
        raise DigitnetError(f"{path}: gzip data ends early (file truncated?)") from None
    except (gzip.BadGzipFile, zlib.error) as err:
        raise DigitnetError(f"{path}: corrupt gzip data ({err})") from None
    except OSError as err:
        raise DigitnetError(f"{path}: cannot read ({err.strerror or err})") from None
    if max_size is not None and len(data) > max_size:
        raise DigitnetError(f"{path}: more than the expected {max_size:,} bytes of data")
    return data


def parse_images(
    data: bytes, path: str | Path, rows: int | None = ROWS, cols: int | None = COLS
) -> np.ndarray:
    """Images of an IDX file's bytes as uint8 ``(n, rows, cols)``; ``path`` is for error messages.

    ``rows`` and ``cols`` are the dimensions required (``None`` accepts any positive size).
    """
    if len(data) < _IMAGE_HEADER.size:
        raise DigitnetError(f"{path}: only {len(data)} bytes, too short for an IDX image header")
    magic, count, n_rows, n_cols = _IMAGE_HEADER.unpack_from(data)
    if magic != IMAGE_MAGIC:
        hint = " (this is a labels file)" if magic == LABEL_MAGIC else ""
        raise DigitnetError(f"{path}: magic number {magic}, images need {IMAGE_MAGIC}{hint}")
    if count < 0 or n_rows <= 0 or n_cols <= 0:
        raise DigitnetError(f"{path}: impossible dimensions {count} x {n_rows} x {n_cols}")
    if (rows is not None and n_rows != rows) or (cols is not None and n_cols != cols):
        raise DigitnetError(f"{path}: images are {n_rows}x{n_cols}, expected {rows}x{cols}")
    _check_length(data, _IMAGE_HEADER.size + count * n_rows * n_cols, path)
    pixels = np.frombuffer(data, dtype=np.uint8, offset=_IMAGE_HEADER.size)
    return pixels.reshape(count, n_rows, n_cols)


def parse_labels(data: bytes, path: str | Path, n_classes: int = 10) -> np.ndarray:
    """Labels of an IDX file's bytes as uint8 ``(n,)``, each in ``0 .. n_classes - 1``."""
    if len(data) < _LABEL_HEADER.size:
        raise DigitnetError(f"{path}: only {len(data)} bytes, too short for an IDX label header")
    magic, count = _LABEL_HEADER.unpack_from(data)
    if magic != LABEL_MAGIC:
        hint = " (this is an images file)" if magic == IMAGE_MAGIC else ""
        raise DigitnetError(f"{path}: magic number {magic}, labels need {LABEL_MAGIC}{hint}")
    if count < 0:
        raise DigitnetError(f"{path}: impossible label count {count}")
    _check_length(data, _LABEL_HEADER.size + count, path)
    labels = np.frombuffer(data, dtype=np.uint8, offset=_LABEL_HEADER.size)
    check_labels(labels, path, n_classes)
    return labels


def check_labels(labels: np.ndarray, path: str | Path, n_classes: int = 10) -> None:
    """Raise if any label is outside ``0 .. n_classes - 1``, naming the first bad one."""
    bad = np.flatnonzero(labels >= n_classes)
    if bad.size:
        i = int(bad[0])
        raise DigitnetError(
            f"{path}: label {int(labels[i])} at position {i} is not a class 0..{n_classes - 1}"
            f" ({bad.size} bad label{'s' if bad.size > 1 else ''})"
        )


def _check_length(data: bytes, expected: int, path: str | Path) -> None:
    if len(data) < expected:
        raise DigitnetError(
            f"{path}: truncated, the header promises {expected:,} bytes but there are {len(data):,}"
        )
    if len(data) > expected:
        raise DigitnetError(
            f"{path}: {len(data) - expected:,} unexpected bytes after the {expected:,} the header"
            " promises"
        )


def read_images(path: str | Path, rows: int | None = ROWS, cols: int | None = COLS) -> np.ndarray:
    """The images of an IDX file (gzip or not) as uint8 ``(n, rows, cols)``."""
    return parse_images(read_bytes(path), path, rows, cols)


def read_labels(path: str | Path, n_classes: int = 10) -> np.ndarray:
    """The labels of an IDX file (gzip or not) as uint8 ``(n,)``."""
    return parse_labels(read_bytes(path), path, n_classes)


def check_counts(images: np.ndarray, labels: np.ndarray, labels_path: str | Path) -> None:
    """Raise unless there is exactly one label per image."""
    if len(images) != len(labels):
        raise DigitnetError(
            f"{labels_path}: {len(labels):,} labels for {len(images):,} images, counts disagree"
        )


def read_pair(images_path: str | Path, labels_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(n, 28, 28)`` and labels ``(n,)`` of a matching pair of IDX files, both uint8."""
    images = read_images(images_path)
    labels = read_labels(labels_path)
    check_counts(images, labels, labels_path)
    return images, labels
