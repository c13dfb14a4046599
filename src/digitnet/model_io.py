"""Model files: the weights and biases in an ``.npz``, described by a JSON header inside it.

The format (documented for other programs in ``docs/model-format.md``): a NumPy ``.npz`` (a zip of
``.npy`` arrays) holding ``W1, b1, ..., WL, bL`` (``Wl`` has shape ``(n_l, n_{l-1})``, ``bl``
shape ``(n_l,)``, numbered like the lessons' layers) and ``header``, the UTF-8 bytes of a JSON
object (dtype uint8). Files are written atomically (a temporary file, then a rename) and read with
``allow_pickle=False``; every field and shape is checked before a network is built.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from digitnet import __version__
from digitnet.errors import DigitnetError
from digitnet.files import atomic_write
from digitnet.network import Network

FORMAT = "digitnet-model"
FORMAT_VERSION = 1
INPUT = {
    "shape": [28, 28],
    "layout": "row-major, one image per row of 784 values",
    "scale": "pixel / 255: 0.0 is background, 1.0 is full ink (MNIST's convention)",
}


def header_for(net: Network, **extra: Any) -> dict[str, Any]:
    """The JSON header describing ``net``; ``extra`` adds dataset, training and history."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "digitnet_version": __version__,
        "sizes": net.sizes,
        "activation": net.activation,
        "output": net.output,
        "cost": net.cost.name,
        "init": net.init,
        "dtype": net.dtype.name,
        "input": INPUT,
        **extra,
    }


def save_model(
    path: str | os.PathLike,
    net: Network,
    trajectory: np.ndarray | None = None,
    **extra: Any,
) -> Path:
    """Write ``net`` to ``path`` (an ``.npz``) atomically; ``extra`` goes into the header.

    Typical extras: ``dataset={"name", "checksum", "source"}``, ``training`` (the TrainConfig as a
    dict) and ``history`` (``History.to_dict()``). ``trajectory`` (T, n_params) holds the
    parameters, flattened in the order of ``Network.parameters()``, at T moments of training.
    """
    path = Path(path)
    header = header_for(net, **extra)
    arrays = {}
    for l, (W, b) in enumerate(zip(net.W, net.b, strict=True), start=1):
        arrays[f"W{l}"], arrays[f"b{l}"] = W, b
    if trajectory is not None:
        arrays["trajectory"] = np.asarray(trajectory, dtype=np.float32)
    text = json.dumps(header, allow_nan=True, separators=(",", ":"))
    arrays["header"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    with atomic_write(path) as f:
        np.savez(f, **arrays)
    return path


def read_header(path: str | os.PathLike) -> dict[str, Any]:
    """Only the JSON header of a model file, validated."""
    return _read(Path(path))[0]


def read_trajectory(path: str | os.PathLike) -> np.ndarray | None:
    """The training trajectory (T, n_params) stored with the model, or None if there is none."""
    path = Path(path)
    header, arrays = _read(path)
    if "trajectory" not in arrays:
        return None
    sizes = header["sizes"]
    n_params = sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=False))
    trajectory = arrays["trajectory"]
    if trajectory.ndim != 2 or trajectory.shape[1] != n_params or trajectory.dtype.kind != "f":
        raise DigitnetError(
            f"{path}: array trajectory has shape {trajectory.shape} and dtype {trajectory.dtype}, "
            f"but the network has {n_params} parameters"
        )
    return trajectory


def load_model(path: str | os.PathLike) -> tuple[Network, dict[str, Any]]:
    """The network stored in ``path`` and its header. Raises DigitnetError on any mismatch."""
    path = Path(path)
    header, arrays = _read(path)
    try:
        net = Network(
            header["sizes"],
            activation=header["activation"],
            output=header["output"],
            cost=header["cost"],
            init=header.get("init", "normal"),
            dtype=header["dtype"],
            seed=None,
        )
    except DigitnetError as err:
        raise DigitnetError(f"{path}: header does not describe a valid network: {err}") from None
    params = []
    for l in range(1, len(header["sizes"])):
        for name, shape in ((f"W{l}", net.W[l - 1].shape), (f"b{l}", net.b[l - 1].shape)):
            if name not in arrays:
                raise DigitnetError(f"{path}: array {name} is missing")
            a = arrays[name]
            if a.shape != shape:
                raise DigitnetError(
                    f"{path}: array {name} has shape {a.shape}, but the header's sizes "
                    f"{header['sizes']} need {shape}"
                )
            if a.dtype.kind != "f":
                raise DigitnetError(f"{path}: array {name} has dtype {a.dtype}, not float")
            if not np.all(np.isfinite(a)):
                raise DigitnetError(f"{path}: array {name} holds NaN or infinite values")
            params.append(a)
    net.set_parameters(params)
    return net, header


def _read(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    if not path.is_file():
        raise DigitnetError(f"{path}: no such model file")
    if not zipfile.is_zipfile(path):
        raise DigitnetError(f"{path}: not a readable .npz model file (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except ValueError as err:
        if "pickle" in str(err):
            raise DigitnetError(f"{path}: holds pickled objects; refusing to load it") from None
        raise DigitnetError(f"{path}: not a digitnet model file ({err})") from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as err:
        raise DigitnetError(f"{path}: not a readable .npz model file ({err})") from None
    if "header" not in arrays:
        raise DigitnetError(f"{path}: not a digitnet model file (no header)")
    raw = arrays.pop("header")
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
    if header.get("format_version") != FORMAT_VERSION:
        raise DigitnetError(
            f"{path}: model format version {header.get('format_version')!r} is not supported "
            f"(this digitnet reads version {FORMAT_VERSION})"
        )
    for key, kind in (("sizes", list), ("activation", str), ("output", str), ("cost", str),
                      ("dtype", str)):  # fmt: skip
        if not isinstance(header.get(key), kind):
            raise DigitnetError(f"{path}: header field {key!r} is missing or not a {kind.__name__}")
    if not all(isinstance(s, int) and s > 0 for s in header["sizes"]) or len(header["sizes"]) < 2:
        raise DigitnetError(f"{path}: header field 'sizes' must list positive integers")
    if sum(a * b for a, b in zip(header["sizes"][:-1], header["sizes"][1:], strict=False)) > 5e8:
        raise DigitnetError(f"{path}: header describes an absurdly large network")
    return header, arrays
