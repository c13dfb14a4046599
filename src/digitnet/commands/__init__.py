"""The command-line commands, one module each, and the option types they share.

Each of ``train`` (with ``demo``), ``evaluate``, ``serve``, ``inside``, ``convert``, ``sweep`` and
``experiment`` is a module with ``register(subparsers)``; ``digitnet data`` is
:mod:`digitnet.data.cli`. Two modules are not commands but what several share:
:mod:`.recipe`, the recipe options and the data they name, and :mod:`.run`, the one checkpointed
training run that ``train``, ``demo`` and ``serve`` go through.
"""

from __future__ import annotations

import argparse


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
