"""The command-line commands, one module each, and the option types they share.

Each of ``train`` (with ``demo``), ``evaluate``, ``serve``, ``inside``, ``convert``, ``sweep`` and
``experiment`` is a module with ``register(subparsers)``; ``digitnet data`` is
:mod:`digitnet.data.cli`. Two modules are not commands but what several share:
:mod:`.recipe`, the recipe options and the data they name, and :mod:`.run`, the one checkpointed
training run that ``train``, ``demo`` and ``serve`` go through.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from digitnet.errors import DigitnetError

if TYPE_CHECKING:
    from digitnet.data import Dataset
    from digitnet.network import Network


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def positive_int(text: str) -> int:
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An option type: a whole number from ``low`` to ``high`` (the documented limits)."""

    def parse(text: str) -> int:
        value = whole_number(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high:,}, got {text}")
        return value

    return parse


def finite_float(text: str) -> float:
    """An option type: a finite number (NaN and infinity are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


MAX_WAIT = 3600.0  # seconds a --timeout may wait for a Dask scheduler and its first worker


def wait_seconds(text: str) -> float:
    """``--timeout``: a finite number of seconds above 0 and at most MAX_WAIT."""
    value = finite_float(text)
    if not 0 < value <= MAX_WAIT:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds above 0 and at most {MAX_WAIT:g}, got {text}"
        )
    return value


def check_fits(
    model: Path, net: Network, data: Dataset | None, command: str, outputs: bool = True
) -> None:
    """Refuse, in one line, a model that ``command`` cannot run on ``data``'s images: one whose
    input layer is not one neuron per pixel, or (with ``outputs``) whose output layer is not
    one neuron per class. Without ``data``, the images are 28x28 drawings or photos."""
    from digitnet.data.load import PIXELS

    pixels = PIXELS if data is None else data.X_test.shape[1]
    on = "" if data is None else f" on {data.name}"
    if net.sizes[0] != pixels:
        raise DigitnetError(
            f"{model} has {net.sizes[0]} inputs; `{command}`{on} needs {pixels} (one per pixel)"
        )
    if outputs and data is not None and net.sizes[-1] != len(data.class_names):
        raise DigitnetError(
            f"{model} has {net.sizes[-1]} outputs; `{command}`{on} needs "
            f"{len(data.class_names)} (one per class)"
        )
