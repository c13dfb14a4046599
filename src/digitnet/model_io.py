"""Model files: the weights and biases in an ``.npz``, described by a JSON header inside it.

The format (documented for other programs in ``docs/model-format.md``, which this module follows
to the letter): a NumPy ``.npz`` (a zip of ``.npy`` arrays) holding ``W1, b1, ..., WL, bL``
(``Wl`` has shape ``(n_l, n_{l-1})``, ``bl`` shape ``(n_l,)``, numbered like the lessons' layers,
in the header's dtype), ``header`` (the UTF-8 bytes of a strict JSON object, dtype uint8) and
optionally ``trajectory``. Any other array is ignored and never read.

:func:`model_header` is the one place a header is built: :func:`save_model`, ``digitnet train``
and the web app's live training all go through it. Files are written atomically (a temporary
file, then a rename) and read with ``allow_pickle=False``; every field, shape and dtype is checked
before a network is built.
"""

from __future__ import annotations

import json
import math
import os
import re
import zipfile
import zlib
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING, Any

import numpy as np

from digitnet.atomic_files import atomic_write
from digitnet.errors import DigitnetError
from digitnet.limits import MAX_LAYERS, MAX_PARAMS, count_params
from digitnet.network import CONFIG_KEYS, Network
from digitnet.version import __version__

if TYPE_CHECKING:
    from digitnet.train import TrainingState

FORMAT = "digitnet-model"
FORMAT_VERSION = 1
INPUT = {
    "shape": [28, 28],
    "layout": "row-major, one image per row of 784 values",
    "scale": "pixel / 255: 0.0 is background, 1.0 is full ink (MNIST's convention)",
}
#: Header fields written from the network itself; extras cannot replace them.
RESERVED = ("format", "format_version", "digitnet_version", *CONFIG_KEYS, "input")
#: Header fields a reader needs (``init`` may be absent: it only says how training started).
REQUIRED = ("sizes", "activation", "output", "cost", "dtype")
DEFAULT_INIT = "normal"
# The largest network a model file may describe is digitnet.limits' MAX_PARAMS weights and
# biases in at most MAX_LAYERS layers (input and output included), as for a network trained here.
#: The largest JSON header a model file may hold, in bytes.
MAX_HEADER_BYTES = 16 * 2**20
#: Deflate never expands data more than about 1032 times; a zip member that claims more
#: uncompressed bytes than that from its compressed ones is lying about its size.
DEFLATE_MAX_RATIO = 1032


# -- writing ------------------------------------------------------------------------------------


def model_header(
    net: Network,
    *,
    recipe: dict[str, Any] | None = None,
    dataset: Any = None,
    training: Any = None,
    history: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    """The JSON header describing ``net``, as :func:`save_model` writes it.

    The network fields come from ``net.config()``. The optional fields describe how the model was
    made, and are left out when not given:

    - ``recipe``: what ``digitnet train`` trained, ``{"preset", "network", "training", "augment",
      "dataset", "validation"}`` (see :func:`recipe_of`);
    - ``dataset``: a :class:`digitnet.data.Dataset` or a dict ``{"name", "checksum", "source"}``;
      its ``source`` is made portable by :func:`portable_source`;
    - ``training``: a :class:`digitnet.train.TrainConfig` or its ``to_dict()``;
    - ``history``: a :class:`digitnet.train.History` or its ``to_dict()``.

    Any other keyword becomes a header field of that name; one that would replace a field written
    from the network (:data:`RESERVED`) raises :class:`DigitnetError`. Every number that is not
    finite (a NaN cost in a history) becomes None, so the header is strict JSON.
    """
    clash = [key for key in extra if key in RESERVED]
    if clash:
        raise DigitnetError(
            f"header field {clash[0]!r} is written from the network and cannot be given as an extra"
        )
    header: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "digitnet_version": __version__,
        **net.config(),
        "input": INPUT,
    }
    described = {
        "recipe": recipe,
        "dataset": None if dataset is None else dataset_record(dataset),
        "training": _as_dict(training),
        "history": _as_dict(history),
    }
    header.update({key: value for key, value in described.items() if value is not None})
    header.update(extra)
    return strict_json(header)


def dataset_record(dataset: Any) -> dict[str, Any]:
    """The header's ``dataset`` field for a :class:`digitnet.data.Dataset` or a dict of the same
    fields: ``{"name", "checksum", "source"}`` (those given), with a portable ``source``."""
    if isinstance(dataset, dict):
        record = dict(dataset)
    else:
        record = {key: getattr(dataset, key) for key in ("name", "checksum", "source")}
    if isinstance(record.get("source"), str):
        record["source"] = portable_source(record["source"])
    return record


_FROM_FOLDER = re.compile(r"^(?P<what>.+?) from (?P<folder>.+?)(?P<where> \([^()]*\))?$")
_ABSOLUTE_PATH = re.compile(r"(?<!\S)(?:[A-Za-z]:[\\/]|~?[\\/])\S+")


def portable_source(source: str) -> str:
    """``source`` (a :class:`digitnet.data.Dataset`'s one line for the user) without anything
    that belongs to the trainer's machine.

    The folder the data came from keeps only its last component: ``full MNIST from
    /home/ann/data/mnist (DIGITNET_DATA)`` becomes ``full MNIST from .../mnist (DIGITNET_DATA)``;
    the advice after the first ``": "`` (why the embedded sample was used, how to get the full
    data) is dropped: ``embedded sample of MNIST (10,000 train / 2,000 test)``. Any other absolute
    path in the line keeps only its last component too. Applying it twice changes nothing.
    """
    line = source.split(": ", 1)[0]
    match = _FROM_FOLDER.match(line)
    if match:
        name = PureWindowsPath(match["folder"]).name or match["folder"]
        line = f"{match['what']} from .../{name}{match['where'] or ''}"
    return _ABSOLUTE_PATH.sub(lambda m: ".../" + PureWindowsPath(m[0]).name, line)


def recipe_of(net: Network, config: Any, data: Any, preset: str | None = None) -> dict[str, Any]:
    """The header's ``recipe`` for ``net`` trained with ``config`` (a TrainConfig) on ``data``
    (a Dataset), in the shape ``digitnet train`` writes: ``{"preset", "network", "training",
    "augment", "dataset", "validation"}``. ``validation`` is counted as ``digitnet train
    --validation`` takes it (for the embedded sample, as a share of the full 60,000 images)."""
    training = config.to_dict()
    augment = training.pop("augment")
    return {
        "preset": preset,
        "network": net.config(),
        "training": training,
        "augment": augment,
        "dataset": data.name,
        "validation": _requested_validation(data),
    }


def _requested_validation(data: Any) -> int:
    """The ``validation`` that ``digitnet.data.load`` was given to make ``data``'s split.

    For full data that is the split's size. The embedded sample's split is the same share of its
    own images, rounded, so a few requests give the same split; the roundest of them (the most
    trailing zeros) is taken: 10,000 for the 1,667 of the default split.
    """
    held_out = len(data.y_val)
    if not getattr(data, "embedded", False):
        return held_out
    from digitnet.data.registry import N_TRAIN

    n = held_out + len(data.y_train)
    first = max(0, math.floor((held_out - 1) * N_TRAIN / n))
    last = math.ceil((held_out + 1) * N_TRAIN / n)
    requests = [v for v in range(first, last + 1) if round(v * n / N_TRAIN) == held_out]
    return max(requests, key=lambda v: (_trailing_zeros(v), -v), default=held_out)


def _trailing_zeros(v: int) -> int:
    digits = str(v)
    return len(digits) - len(digits.rstrip("0"))


def _as_dict(value: Any) -> Any:
    return value.to_dict() if hasattr(value, "to_dict") else value


def strict_json(value: Any) -> Any:
    """``value`` as plain JSON data: NaN and infinities become None, NumPy scalars and arrays
    Python numbers and lists, tuples lists, and dict keys strings."""
    if isinstance(value, np.ndarray):
        return strict_json(value.tolist())
    if isinstance(value, np.generic):
        return strict_json(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    return value


def save_model(
    path: str | os.PathLike,
    net: Network,
    trajectory: np.ndarray | None = None,
    state: TrainingState | None = None,
    **extra: Any,
) -> Path:
    """Write ``net`` to ``path`` (an ``.npz``) atomically, with the header :func:`model_header`
    builds from ``extra`` (``recipe``, ``dataset``, ``training``, ``history``, any other field).

    ``trajectory`` (T, n_params) holds the parameters, flattened in the order of
    ``Network.parameters()``, at T moments of training; it is stored as float32. ``state`` is
    the :class:`~digitnet.train.TrainingState` that lets ``digitnet train --resume`` continue
    the run exactly: the header's ``state`` field and the arrays ``state.NAME``.
    """
    path = Path(path)
    if state is not None and state.started:
        extra["state"] = {"rng": state.rng, "optimizer": state.optimizer_name}
    header = model_header(net, **extra)
    try:
        text = json.dumps(header, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as err:
        raise DigitnetError(f"{path}: the header cannot be written as JSON ({err})") from None
    arrays: dict[str, Any] = {}  # name -> array; Any, as NumPy types savez(**kwds) by its flag
    for l, (W, b) in enumerate(zip(net.W, net.b, strict=True), start=1):
        arrays[f"W{l}"], arrays[f"b{l}"] = W, b
    if trajectory is not None:
        arrays["trajectory"] = np.asarray(trajectory, dtype=np.float32)
    if state is not None and state.started:
        for name, value in state.optimizer.items():
            arrays[f"state.{name}"] = value
        for name in ("best", "average", "weights"):
            if getattr(state, name) is not None:
                arrays[f"state.{name}"] = getattr(state, name)
    arrays["header"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    with atomic_write(path) as f:
        np.savez(f, **arrays)
    return path


# -- reading ------------------------------------------------------------------------------------


def read_header(path: str | os.PathLike) -> dict[str, Any]:
    """Only the JSON header of a model file, validated as :func:`load_model` does."""
    with _Archive(Path(path)) as archive:
        return archive.header()


def read_trajectory(path: str | os.PathLike) -> np.ndarray | None:
    """The training trajectory (T, n_params) stored with the model, or None if there is none."""
    with _Archive(Path(path)) as archive:
        n_params = n_parameters(archive.header()["sizes"])
        if "trajectory" not in archive.members:
            return None
        shape, dtype = archive.declared("trajectory")
        if len(shape) != 2 or shape[1] != n_params or dtype.kind != "f":
            raise DigitnetError(
                f"{archive.path}: array trajectory has shape {shape} and dtype {dtype}, "
                f"but the network has {n_params} parameters"
            )
        return archive.read("trajectory")


def read_state(path: str | os.PathLike) -> TrainingState | None:
    """The training state saved with the model (see :func:`save_model`), or None if it has
    none. Raises :class:`DigitnetError` for a state that is damaged or does not fit."""
    from digitnet.train import TrainingState

    with _Archive(Path(path)) as archive:
        header = archive.header()
        saved = header.get("state")
        if saved is None:
            return None
        n_params = n_parameters(header["sizes"])
        arrays = {}
        for name in archive.members:
            if not name.startswith("state."):
                continue
            shape, dtype = archive.declared(name)
            expected = (1,) if name == "state.t" else (n_params,)
            if shape != expected or dtype.kind not in "fi":
                raise DigitnetError(
                    f"{archive.path}: array {name} has shape {shape} and dtype {dtype}, not a "
                    f"state of this network's {n_params} parameters"
                )
            a = archive.read(name)
            if not np.all(np.isfinite(a)):
                raise DigitnetError(f"{archive.path}: array {name} holds NaN or infinite values")
            arrays[name.removeprefix("state.")] = a
    best, average, weights = (arrays.pop(name, None) for name in ("best", "average", "weights"))
    if "t" not in arrays:
        raise DigitnetError(f"{path}: the training state lacks its step count (state.t)")
    if (average is None) != (weights is None):
        raise DigitnetError(
            f"{path}: the training state has only one of state.average and state.weights"
        )
    return TrainingState(saved["rng"], arrays, saved.get("optimizer", ""), best, average, weights)


def load_model(path: str | os.PathLike) -> tuple[Network, dict[str, Any]]:
    """The network stored in ``path`` and its header.

    Nothing is allocated before it is known to fit: the header is checked first, then every
    ``Wl`` and ``bl``'s declared shape and dtype (from the ``.npy`` header inside the zip) against
    the header's ``sizes`` and ``dtype``, and only then is the network built (with
    :meth:`Network.from_config`, ``init`` ``"normal"`` when absent) and the arrays read, which
    must hold finite values. Raises :class:`DigitnetError` naming the first problem.
    """
    with _Archive(Path(path)) as archive:
        header = archive.header()
        sizes, dtype = header["sizes"], np.dtype(header["dtype"])
        names = []
        for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=False), start=1):
            for name, shape in ((f"W{l}", (n_out, n_in)), (f"b{l}", (n_out,))):
                if name not in archive.members:
                    raise DigitnetError(f"{archive.path}: array {name} is missing")
                declared, kind = archive.declared(name)
                if declared != shape:
                    raise DigitnetError(
                        f"{archive.path}: array {name} has shape {declared}, but the header's "
                        f"sizes {sizes} need {shape}"
                    )
                if kind != dtype:
                    raise DigitnetError(
                        f"{archive.path}: array {name} has dtype {kind}, but the header says "
                        f"{dtype.name}"
                    )
                names.append(name)
        config = {key: header[key] for key in CONFIG_KEYS if key != "init"}
        config["init"] = header.get("init", DEFAULT_INIT)
        try:
            net = Network.from_config(config, seed=None)
        except DigitnetError as err:
            raise DigitnetError(
                f"{archive.path}: header does not describe a valid network: {err}"
            ) from None
        params = []
        for name in names:
            a = archive.read(name)
            # Refused rather than loaded with a warning: one NaN weight makes every answer of
            # the network NaN (or the lowest neuron, by argmax), silently wrong for any input.
            if not np.all(np.isfinite(a)):
                raise DigitnetError(f"{archive.path}: array {name} holds NaN or infinite values")
            params.append(a)
    net.set_parameters(params)
    return net, header


def n_parameters(sizes: list[int]) -> int:
    """The number of weights and biases of a network of ``sizes``."""
    return count_params(sizes)


_ZIP_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, ValueError)


class _Archive:
    """A model file's zip, read without pickle and without trusting its sizes.

    Each array is a ``.npy`` member. Its declared shape and dtype are read from the member's
    own small header (:meth:`declared`) before any of its data, and must agree with the member's
    uncompressed size in the zip, which in turn must be bytes the file really holds: stored
    members take their size in the file, deflated ones at most :data:`DEFLATE_MAX_RATIO` times
    it. So :meth:`read` never allocates more than the file could hold.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_dir():
            raise DigitnetError(f"{path}: is a folder, not a model file")
        if not path.is_file():
            raise DigitnetError(f"{path}: no such model file")
        try:
            self.size = path.stat().st_size
            if not zipfile.is_zipfile(path):
                raise DigitnetError(f"{path}: not a readable .npz model file (not a zip archive)")
            self.zip = zipfile.ZipFile(path)
        except _ZIP_ERRORS as err:
            raise DigitnetError(f"{path}: not a readable .npz model file ({err})") from None
        self.members = {
            info.filename.removesuffix(".npy"): info
            for info in self.zip.infolist()
            if not info.is_dir()
        }
        self._declared: dict[str, tuple[tuple[int, ...], np.dtype, bool, int]] = {}

    def __enter__(self) -> _Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zip.close()

    def declared(self, name: str) -> tuple[tuple[int, ...], np.dtype]:
        """The shape and dtype member ``name`` declares, checked against its size in the zip."""
        if name not in self._declared:
            self._declared[name] = self._read_npy_header(name)
        shape, dtype, _, _ = self._declared[name]
        return shape, dtype

    def _read_npy_header(self, name: str) -> tuple[tuple[int, ...], np.dtype, bool, int]:
        info, where = self.members[name], f"{self.path}: array {name}"
        if info.flag_bits & 0x1:
            raise DigitnetError(f"{where} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise DigitnetError(f"{where} uses an unsupported compression (not stored or deflated)")
        if info.header_offset + info.compress_size > self.size:
            raise DigitnetError(f"{where} is cut short: the file ends inside it (truncated)")
        limit = info.compress_size * (
            1 if info.compress_type == zipfile.ZIP_STORED else DEFLATE_MAX_RATIO
        )
        if info.file_size > limit + 1024:
            raise DigitnetError(
                f"{where} claims {info.file_size} bytes, more than its {info.compress_size} "
                "bytes in the file can hold"
            )
        try:
            with self.zip.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                else:
                    raise ValueError(f"unsupported .npy version {version[0]}.{version[1]}")
                offset = f.tell()
        except (*_ZIP_ERRORS, SyntaxError, TypeError, RecursionError) as err:
            raise DigitnetError(f"{where} is not a readable .npy array ({err})") from None
        if dtype.hasobject:
            raise DigitnetError(f"{where} holds pickled objects; refusing to load it")
        if dtype.itemsize == 0 or dtype.fields is not None or dtype.subdtype is not None:
            raise DigitnetError(f"{where} has dtype {dtype}, not numbers")
        nbytes = math.prod(shape) * dtype.itemsize
        if offset + nbytes != info.file_size:
            raise DigitnetError(
                f"{where} declares shape {shape} of {dtype} ({nbytes} bytes), but the file "
                f"holds {info.file_size - offset} bytes of it"
            )
        return shape, dtype, fortran, offset

    def read(self, name: str) -> np.ndarray:
        """Member ``name``'s data, as :meth:`declared` describes it (checked first)."""
        shape, dtype = self.declared(name)
        fortran = self._declared[name][2]
        flat = np.empty(math.prod(shape), dtype=dtype)
        buffer = flat.view(np.uint8).data  # the array's own memory, written in place
        try:
            with self.zip.open(self.members[name]) as f:
                f.seek(self._declared[name][3])
                done = 0
                while done < len(buffer):
                    # ZipFile.open is typed IO[bytes]; it returns a ZipExtFile, which has readinto
                    n = f.readinto(buffer[done : done + _CHUNK])  # type: ignore[attr-defined]
                    if not n:
                        raise EOFError("the data ends early")
                    done += n
                f.read(1)  # reaching the end checks the member's CRC
        except _ZIP_ERRORS as err:
            raise DigitnetError(f"{self.path}: array {name} is unreadable ({err})") from None
        if fortran:
            return flat.reshape(shape[::-1]).T
        return flat.reshape(shape)

    def header(self) -> dict[str, Any]:
        """The JSON header, checked as docs/model-format.md says a reader must."""
        path = self.path
        if "header" not in self.members:
            raise DigitnetError(f"{path}: not a digitnet model file (no header)")
        shape, dtype = self.declared("header")
        if dtype != np.uint8 or len(shape) != 1:
            raise DigitnetError(f"{path}: unreadable header (header is not a byte array)")
        if shape[0] > MAX_HEADER_BYTES:
            raise DigitnetError(
                f"{path}: header of {shape[0]} bytes is larger than {MAX_HEADER_BYTES} bytes"
            )
        raw = self.read("header")
        try:
            header = json.loads(raw.tobytes().decode("utf-8"))
            if not isinstance(header, dict):
                raise ValueError("header is not a JSON object")
        except (ValueError, RecursionError) as err:
            reason = "nested too deeply" if isinstance(err, RecursionError) else err
            raise DigitnetError(f"{path}: unreadable header ({reason})") from None
        _check_header(path, header)
        return header


_CHUNK = 1 << 24


def _check_header(path: Path, header: dict[str, Any]) -> None:
    """The required fields, the network's size and every optional field digitnet reads back."""
    if header.get("format") != FORMAT:
        raise DigitnetError(
            f"{path}: not a digitnet model file (format {_short(header.get('format'))})"
        )
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version != FORMAT_VERSION:
        raise DigitnetError(
            f"{path}: model format version {_short(version)} is not supported "
            f"(this digitnet reads version {FORMAT_VERSION})"
        )
    for key in REQUIRED:
        kind = list if key == "sizes" else str
        if not isinstance(header.get(key), kind):
            raise DigitnetError(f"{path}: header field {key!r} is missing or not a {kind.__name__}")
    if "init" in header and not isinstance(header["init"], str):
        raise DigitnetError(f"{path}: header field 'init' is not a str")
    sizes = header["sizes"]
    if len(sizes) < 2 or not all(
        isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes
    ):
        raise DigitnetError(
            f"{path}: header field 'sizes' must list at least two positive integers"
        )
    if len(sizes) > MAX_LAYERS or n_parameters(sizes) > MAX_PARAMS:
        raise DigitnetError(
            f"{path}: header field 'sizes' describes {len(sizes)} layers of "
            f"{n_parameters(sizes):,} weights and biases; a model file holds at most "
            f"{MAX_LAYERS} layers and {MAX_PARAMS:,} parameters"
        )
    if header["dtype"] not in ("float32", "float64"):
        raise DigitnetError(
            f"{path}: header field 'dtype' is {_short(header['dtype'])}, not float32 or float64"
        )
    from digitnet.model_schema import check_fields

    try:
        check_fields(header)
    except DigitnetError as err:
        raise DigitnetError(f"{path}: {err}") from None


def _short(value: Any) -> str:
    """``repr(value)``, cut to fit in a one-line message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
