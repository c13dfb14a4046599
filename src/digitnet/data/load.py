"""Load a dataset as float32 arrays ready for the network, with a validation split.

:func:`load` looks for the full dataset where :mod:`digitnet.data.sources` says (``data_dir``,
``$DIGITNET_DATA``, the user cache), verifies it against the registry, and returns a
:class:`Dataset`: images as float32 ``(n, 784)`` in [0, 1], labels as integers (never one-hot;
the cost that needs one-hot vectors makes them). The last ``validation`` training images become
the validation set, as in Nielsen's book.

The first load of a dataset decodes the IDX files and keeps a uint8 copy as ``.npy`` files in the
cache (``decoded/<name>-<checksum>/``), written atomically and checked on every read (shape,
dtype, sha256), so later loads take a fraction of a second. When MNIST is not found anywhere,
the small sample shipped inside the package is used instead, and ``Dataset.source`` says so.
Nothing is downloaded unless ``allow_download=True``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from digitnet.atomic_files import atomic_path
from digitnet.data import idx, registry, sources
from digitnet.data.fetch import fetch, verify
from digitnet.data.registry import DatasetSpec
from digitnet.errors import DigitnetError

log = logging.getLogger(__name__)

PIXELS = registry.ROWS * registry.COLS
EMBEDDED_FILE = "mnist-sample.npz"
EMBEDDED_KEYS = (
    "train_images",
    "train_labels",
    "test_images",
    "test_labels",
    "train_index",
    "test_index",
)
_CACHE_FORMAT = 1
_ARRAY_KEYS = ("train_images", "train_labels", "test_images", "test_labels")  # registry order


@dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset split into train, validation and test, ready for the network.

    ``X_*`` are float32 ``(n, 784)`` in [0, 1] (rows of the 28x28 image, one after another) and
    ``y_*`` are ``np.intp`` ``(n,)`` class indices into ``class_names``. The arrays are read-only:
    shuffle with an index (``X_train[perm]``), which makes a copy. ``checksum`` is a sha256 that
    identifies the data actually used (record it with a run); ``source`` is one line saying where
    the data came from; ``embedded`` is true for the sample shipped inside the package.
    """

    name: str
    source: str
    X_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    X_val: np.ndarray = field(repr=False)
    y_val: np.ndarray = field(repr=False)
    X_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    class_names: tuple[str, ...] = field(repr=False)
    checksum: str = field(repr=False)
    embedded: bool = False

    @property
    def n_classes(self) -> int:
        """The number of classes (10 for all registered datasets)."""
        return len(self.class_names)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train={len(self.y_train):,}, val={len(self.y_val):,},"
            f" test={len(self.y_test):,}, source={self.source!r})"
        )


def load(
    name: str = "mnist",
    data_dir: str | Path | None = None,
    validation: int = 10_000,
    allow_download: bool = False,
    allow_embedded: bool = True,
) -> Dataset:
    """Load dataset ``name`` ("mnist", "fashion-mnist" or "kmnist").

    ``data_dir`` is a folder holding ``<name>/`` with the four IDX files; when it is given, it is
    the only place searched. Without it, ``$DIGITNET_DATA`` and the user cache are. ``validation``
    is how many of the last training images form the validation set (0 for none). If the full
    data is not found, it is downloaded into the cache only when ``allow_download`` is true;
    failing that, and only when no ``data_dir`` was named, MNIST falls back to the embedded
    sample when ``allow_embedded`` is true, with ``validation`` scaled to the sample's size
    (10,000 of 60,000 becomes 1,667 of 10,000). Otherwise raises :class:`DigitnetError` saying
    where it looked and how to get the data. Corrupt files are always an error, never a reason to
    fall back.
    """
    spec = registry.get(name)
    if isinstance(validation, bool) or not isinstance(validation, int | np.integer):
        raise DigitnetError(f"validation must be a whole number of images, got {validation!r}")
    validation = int(validation)
    found, notes = sources.locate(spec, data_dir)
    reason = "full data not found"
    allow_embedded = allow_embedded and data_dir is None
    if found is None and allow_download:
        try:
            result = fetch(spec)
            paths = tuple(record.path for record in result.files)
            place = sources.Place("downloaded", result.folder.parent)
            found = sources.Found(spec, place, result.folder, paths)
        except DigitnetError as err:
            if not (allow_embedded and spec.name == "mnist"):
                raise
            log.info("download of %s failed: %s", spec.name, err)
            reason = "full data not found and the download failed"
    if found is not None:
        arrays, checksum = _read_full(found)
        return _assemble(spec, found.describe(), arrays, checksum, validation, spec.files[0].count)
    if allow_embedded and spec.name == "mnist":
        return load_embedded(validation, reason)
    where = "; ".join(notes)
    raise DigitnetError(
        f"{spec.title} not found ({where}): get it with `digitnet data fetch {spec.name}`"
        f" or `digitnet data import DIR`"
    )


def _assemble(
    spec: DatasetSpec,
    source: str,
    arrays: dict[str, np.ndarray],
    checksum: str,
    validation: int,
    full_train: int,
    embedded: bool = False,
) -> Dataset:
    """Convert uint8 arrays to the float32/intp :class:`Dataset`, splitting off validation."""
    n_train = len(arrays["train_labels"])
    if not 0 <= validation < full_train:
        raise DigitnetError(
            f"validation must be between 0 and {full_train - 1:,} images, got {validation:,}"
        )
    if embedded:  # keep the same fraction of the sample as of the full training set
        validation = round(validation * n_train / full_train)
    X_all, y_all = _as_float(arrays["train_images"]), _as_int(arrays["train_labels"])
    X_test, y_test = _as_float(arrays["test_images"]), _as_int(arrays["test_labels"])
    cut = n_train - validation
    return Dataset(
        name=spec.name,
        source=source,
        X_train=X_all[:cut],
        y_train=y_all[:cut],
        X_val=X_all[cut:],
        y_val=y_all[cut:],
        X_test=X_test,
        y_test=y_test,
        class_names=spec.class_names,
        checksum=checksum,
        embedded=embedded,
    )


def _as_float(images: np.ndarray) -> np.ndarray:
    """uint8 ``(n, 28, 28)`` -> read-only float32 ``(n, 784)`` in [0, 1] (255 maps to exactly 1)."""
    flat = np.asarray(images).reshape(len(images), PIXELS)
    X = np.true_divide(flat, np.float32(255), dtype=np.float32)
    X.flags.writeable = False
    return X


def _as_int(labels: np.ndarray) -> np.ndarray:
    y = np.asarray(labels).astype(np.intp)
    y.flags.writeable = False
    return y


def combined_checksum(sha256s: list[str]) -> str:
    """The checksum of a dataset: sha256 of its four files' sha256 digests, one per line."""
    return hashlib.sha256("\n".join(sha256s).encode()).hexdigest()


# --- the full dataset and its decoded cache -------------------------------------------------


def _stamp(paths: tuple[Path, ...]) -> list[list]:
    """What identifies the source files without reading them: path, size, modification time."""
    stamp = []
    for path in paths:
        st = path.stat()
        stamp.append([str(path.resolve()), st.st_size, st.st_mtime_ns])
    return stamp


def _read_full(found: sources.Found) -> tuple[dict[str, np.ndarray], str]:
    """The four uint8 arrays of ``found`` and the dataset checksum, from the cache if valid."""
    decoded = sources.cache_dir() / "decoded"
    index_path = decoded / f"{found.spec.name}.json"
    try:
        stamp = _stamp(found.paths)
    except OSError as err:
        raise DigitnetError(f"{err.filename}: cannot read ({err.strerror})") from None
    cached = _read_decoded(decoded, index_path, stamp, found.spec)
    if cached is not None:
        return cached
    arrays, sha256s = {}, []
    for key, file_spec, path in zip(_ARRAY_KEYS, found.spec.files, found.paths, strict=True):
        data = idx.read_bytes(path, max_size=file_spec.size)
        sha256, arrays[key] = verify(data, file_spec, str(path), found.spec.title)
        sha256s.append(sha256)
    checksum = combined_checksum(sha256s)
    try:
        _write_decoded(decoded, index_path, stamp, checksum, arrays)
    except OSError as err:  # a read-only home is no reason to fail; loads are just slower
        log.info("could not keep a decoded copy in %s: %s", decoded, err)
    return arrays, checksum


def _array_sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).data).hexdigest()


def _write_decoded(
    decoded: Path, index_path: Path, stamp: list, checksum: str, arrays: dict[str, np.ndarray]
) -> None:
    folder = decoded / f"{index_path.stem}-{checksum[:16]}"
    sums = {}
    for key, array in arrays.items():
        with atomic_path(folder / f"{key}.npy") as tmp, open(tmp, "wb") as f:
            np.save(f, np.ascontiguousarray(array), allow_pickle=False)
        sums[key] = _array_sha256(array)
    index = {"format": _CACHE_FORMAT, "checksum": checksum, "sources": stamp, "sha256": sums}
    with atomic_path(index_path) as tmp:  # written last: it is what makes the copy count
        tmp.write_text(json.dumps(index, indent=1))


def _read_decoded(
    decoded: Path, index_path: Path, stamp: list, spec: DatasetSpec
) -> tuple[dict[str, np.ndarray], str] | None:
    """The cached arrays if the index matches ``stamp`` and every array checks out, else None."""
    try:
        index = json.loads(index_path.read_text())
        if index.get("format") != _CACHE_FORMAT or index.get("sources") != stamp:
            return None
        checksum = index["checksum"]
        folder = decoded / f"{spec.name}-{checksum[:16]}"
        arrays = {}
        for key, file_spec in zip(_ARRAY_KEYS, spec.files, strict=True):
            array = np.load(folder / f"{key}.npy", mmap_mode="r", allow_pickle=False)
            shape = (file_spec.count, registry.ROWS, registry.COLS)
            expected = shape if file_spec.kind == "images" else shape[:1]
            if array.dtype != np.uint8 or array.shape != expected:
                raise ValueError(f"{key}.npy is {array.dtype} {array.shape}")
            if _array_sha256(array) != index["sha256"][key]:
                raise ValueError(f"{key}.npy does not match its checksum")
            arrays[key] = array
        return arrays, checksum
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        log.info("ignoring the decoded copy of %s in %s: %s", spec.name, decoded, err)
        return None


# --- the embedded sample ----------------------------------------------------------------------


def embedded_path() -> Path:
    """The path of the MNIST sample shipped inside the package."""
    return Path(str(resources.files("digitnet.data") / "embedded" / EMBEDDED_FILE))


def read_embedded() -> dict[str, np.ndarray]:
    """The arrays of the embedded sample (uint8 images ``(n, 28, 28)`` and labels, and the
    positions of the images in the full files), checked."""
    path = embedded_path()
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in EMBEDDED_KEYS}
    except (OSError, ValueError, KeyError) as err:
        raise DigitnetError(f"{path}: the embedded sample is unreadable ({err})") from None
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.dtype != np.uint8 or images.shape[1:] != (registry.ROWS, registry.COLS):
            raise DigitnetError(f"{path}: {split}_images is {images.dtype} {images.shape}")
        if labels.dtype != np.uint8 or labels.shape != images.shape[:1]:
            raise DigitnetError(f"{path}: {split}_labels does not match {split}_images")
        idx.check_labels(labels, path)
    return arrays


def load_embedded(validation: int = 10_000, reason: str = "full data not found") -> Dataset:
    """The embedded MNIST sample as a :class:`Dataset`; ``validation`` counts images of the full
    60,000-image training set and is scaled to the sample. ``reason`` ends the ``source`` line."""
    arrays = read_embedded()
    sums = [_array_sha256(arrays[key]) for key in _ARRAY_KEYS]
    n_train, n_test = len(arrays["train_labels"]), len(arrays["test_labels"])
    source = (
        f"embedded sample of MNIST ({n_train:,} train / {n_test:,} test): {reason}"
        " (`digitnet data fetch mnist` gets all 70,000 images)"
    )
    return _assemble(
        registry.MNIST,
        source,
        arrays,
        combined_checksum(sums),
        validation,
        registry.N_TRAIN,
        embedded=True,
    )
