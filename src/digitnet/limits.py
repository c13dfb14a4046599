"""How big things may get, checked before memory or time is spent on them.

Each limit is a constant here, documented in ``docs/limits.md``; the checks raise a
:class:`~digitnet.errors.DigitnetError` whose one line says what was asked and what the limit (or
this machine) allows, so that an oversized request fails at once instead of swapping, being
killed by the kernel, or ending in a MemoryError traceback.
"""

from __future__ import annotations

import math
import os
import resource
from collections.abc import Sequence

from digitnet.errors import DigitnetError

MAX_PARAMS = 100_000_000  # weights and biases of one network (400 MB in float32)
MAX_LAYERS = 100  # layers of one network, input and output included
MAX_DPI = 1200  # resolution of a picture
MAX_FIGURE_PIXELS = 50_000_000  # pixels of one picture (a 7000x7000 PNG)

# Training holds the parameters several times over: theta, its gradient, the optimizer's state
# (up to two more for Adam), the running average and the copy a checkpoint writes.
TRAINING_COPIES = 6
EVALUATION_ROWS = 10_000  # images evaluated in one product (``Network.evaluate``'s batch)


def count_params(sizes: Sequence[int]) -> int:
    """Weights and biases of a network of these layer sizes: sum over l of n_l (n_(l-1) + 1)."""
    return sum(n * (m + 1) for m, n in zip(sizes[:-1], sizes[1:], strict=False))


def describe_bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


def available_memory() -> int | None:
    """Bytes this process may still take: the kernel's estimate of available memory, capped by
    an address-space limit if one is set; None where neither can be read."""
    limits = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError):
        pass
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        limits.append(max(0, soft - _address_space_used()))
    return min(limits) if limits else None


def _address_space_used() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def check_sizes(sizes: Sequence[int], option: str = "--layers") -> None:
    """Refuse layer sizes that are not a network or exceed MAX_LAYERS / MAX_PARAMS."""
    if len(sizes) < 2 or any(s < 1 for s in sizes):
        raise DigitnetError(
            f"{option} must list at least two positive layer sizes (input and output), got "
            f"{','.join(map(str, sizes)) or 'nothing'}"
        )
    if len(sizes) > MAX_LAYERS:
        raise DigitnetError(f"{option}: {len(sizes)} layers, more than the {MAX_LAYERS} allowed")
    n = count_params(sizes)
    if n > MAX_PARAMS:
        raise DigitnetError(
            f"{option} {'-'.join(map(str, sizes))} has {n:,} weights and biases, more than the "
            f"{MAX_PARAMS:,} allowed"
        )


def check_memory(needed: int, what: str) -> None:
    """Refuse to start ``what`` if it needs more bytes than this process can have."""
    available = available_memory()
    if available is not None and needed > available:
        raise DigitnetError(
            f"{what} needs about {describe_bytes(needed)} of memory; "
            f"{describe_bytes(available)} is available"
        )


def training_bytes(sizes: Sequence[int], itemsize: int, batch_size: int, n_train: int) -> int:
    """About how many bytes training a network of ``sizes`` takes: its parameters
    TRAINING_COPIES times, z, a and delta of every layer for one mini-batch, and z and a of every
    layer for the EVALUATION_ROWS images measured at a time after each epoch."""
    batch = max(1, min(batch_size, n_train))
    rows = max(1, min(EVALUATION_ROWS, n_train))
    per_image = sum(sizes)
    return itemsize * (TRAINING_COPIES * count_params(sizes) + (3 * batch + 2 * rows) * per_image)


def check_picture(width_in: float, height_in: float, dpi: int) -> None:
    """Refuse a picture over MAX_DPI or MAX_FIGURE_PIXELS before it is drawn."""
    if dpi > MAX_DPI:
        raise DigitnetError(f"--dpi {dpi} is more than the {MAX_DPI} allowed")
    pixels = math.ceil(width_in * dpi) * math.ceil(height_in * dpi)
    if pixels > MAX_FIGURE_PIXELS:
        raise DigitnetError(
            f"the picture would have {pixels:,} pixels at --dpi {dpi}, more than the "
            f"{MAX_FIGURE_PIXELS:,} allowed; lower --dpi"
        )
