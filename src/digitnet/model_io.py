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
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING, Any

import numpy as np

from digitnet.atomic_files import atomic_write
from digitnet.errors import DigitnetError
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
#: No network described by a file may have more weights than this (a guard against absurd headers).
MAX_WEIGHTS = 500_000_000


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
    arrays: dict[str, np.ndarray] = {}
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
    path = Path(path)
    with _open(path) as npz:
        return _header(path, npz)


def read_trajectory(path: str | os.PathLike) -> np.ndarray | None:
    """The training trajectory (T, n_params) stored with the model, or None if there is none."""
    path = Path(path)
    with _open(path) as npz:
        header = _header(path, npz)
        if "trajectory" not in npz.files:
            return None
        trajectory = _array(path, npz, "trajectory")
    sizes = header["sizes"]
    n_params = sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=False))
    if trajectory.ndim != 2 or trajectory.shape[1] != n_params or trajectory.dtype.kind != "f":
        raise DigitnetError(
            f"{path}: array trajectory has shape {trajectory.shape} and dtype {trajectory.dtype}, "
            f"but the network has {n_params} parameters"
        )
    return trajectory


def read_state(path: str | os.PathLike) -> TrainingState | None:
    """The training state saved with the model (see :func:`save_model`), or None if it has
    none. Raises :class:`DigitnetError` for a state that is damaged or does not fit."""
    from digitnet.train import TrainingState

    path = Path(path)
    with _open(path) as npz:
        header = _header(path, npz)
        saved = header.get("state")
        if saved is None:
            return None
        if not isinstance(saved, dict) or not isinstance(saved.get("rng"), dict):
            raise DigitnetError(f"{path}: header field 'state' is malformed")
        sizes = header["sizes"]
        n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
        arrays = {}
        for name in npz.files:
            if not name.startswith("state."):
                continue
            a = _array(path, npz, name)
            expected = (1,) if name == "state.t" else (n_params,)
            if a.shape != expected or a.dtype.kind not in "fi" or not np.all(np.isfinite(a)):
                raise DigitnetError(
                    f"{path}: array {name} has shape {a.shape} and dtype {a.dtype}, not a state "
                    f"of this network's {n_params} parameters"
                )
            arrays[name.removeprefix("state.")] = a
    best, average, weights = (arrays.pop(name, None) for name in ("best", "average", "weights"))
    if "t" not in arrays:
        raise DigitnetError(f"{path}: the training state lacks its step count (state.t)")
    if (average is None) != (weights is None):
        raise DigitnetError(
            f"{path}: the training state has only one of state.average and state.weights"
        )
    return TrainingState(
        saved["rng"], arrays, str(saved.get("optimizer", "")), best, average, weights
    )


def load_model(path: str | os.PathLike) -> tuple[Network, dict[str, Any]]:
    """The network stored in ``path`` and its header.

    The network is built with :meth:`Network.from_config` from the header's fields (``init``
    ``"normal"`` when absent); ``W1, b1, ..., WL, bL`` must have the shapes the header's sizes
    give, its dtype and finite values. Raises :class:`DigitnetError` naming the first problem.
    """
    path = Path(path)
    with _open(path) as npz:
        header = _header(path, npz)
        config = {key: header[key] for key in CONFIG_KEYS if key != "init"}
        config["init"] = header.get("init", DEFAULT_INIT)
        try:
            net = Network.from_config(config, seed=None)
        except DigitnetError as err:
            raise DigitnetError(
                f"{path}: header does not describe a valid network: {err}"
            ) from None
        params = []
        for l in range(1, net.n_layers + 1):
            for name, shape in ((f"W{l}", net.W[l - 1].shape), (f"b{l}", net.b[l - 1].shape)):
                if name not in npz.files:
                    raise DigitnetError(f"{path}: array {name} is missing")
                a = _array(path, npz, name)
                if a.shape != shape:
                    raise DigitnetError(
                        f"{path}: array {name} has shape {a.shape}, but the header's sizes "
                        f"{header['sizes']} need {shape}"
                    )
                if a.dtype != net.dtype:
                    raise DigitnetError(
                        f"{path}: array {name} has dtype {a.dtype}, but the header says "
                        f"{net.dtype.name}"
                    )
                if not np.all(np.isfinite(a)):
                    raise DigitnetError(f"{path}: array {name} holds NaN or infinite values")
                params.append(a)
    net.set_parameters(params)
    return net, header


def _open(path: Path) -> Any:
    """The ``.npz`` at ``path`` opened without pickle; arrays are read only when asked for."""
    if not path.is_file():
        raise DigitnetError(f"{path}: no such model file")
    if not zipfile.is_zipfile(path):
        raise DigitnetError(f"{path}: not a readable .npz model file (not a zip archive)")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise DigitnetError(f"{path}: not a readable .npz model file ({err})") from None


def _array(path: Path, npz: Any, name: str) -> np.ndarray:
    """Array ``name`` of the open ``npz``, refusing one that needs pickle."""
    try:
        return npz[name]
    except ValueError as err:
        if "pickle" in str(err):
            raise DigitnetError(f"{path}: holds pickled objects; refusing to load it") from None
        raise DigitnetError(f"{path}: array {name} is unreadable ({err})") from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as err:
        raise DigitnetError(f"{path}: not a readable .npz model file ({err})") from None


def _header(path: Path, npz: Any) -> dict[str, Any]:
    """The header of the open ``npz``, checked as docs/model-format.md says a reader must."""
    if "header" not in npz.files:
        raise DigitnetError(f"{path}: not a digitnet model file (no header)")
    raw = _array(path, npz, "header")
    try:
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise ValueError("header is not a byte array")
        header = json.loads(raw.tobytes().decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("header is not a JSON object")
    except (ValueError, UnicodeDecodeError) as err:
        raise DigitnetError(f"{path}: unreadable header ({err})") from None
    if header.get("format") != FORMAT:
        raise DigitnetError(f"{path}: not a digitnet model file (format {header.get('format')!r})")
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version != FORMAT_VERSION:
        raise DigitnetError(
            f"{path}: model format version {version!r} is not supported "
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
    if sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False)) > MAX_WEIGHTS:
        raise DigitnetError(f"{path}: header describes an absurdly large network")
    return header
