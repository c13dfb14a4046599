"""What augmenting a mini-batch costs, against the training step it feeds.

    .venv/bin/python benchmarks/augment_speed.py

Times, on 128 real MNIST digits (the ``best`` preset's batch and augmentation: shifts of up to
2 pixels, rotations of up to 10 degrees, elastic distortion alpha 34, sigma 6), the median of
many calls of: the whole ``augment_batch``; its elastic fields; its resampling compiled
(:mod:`digitnet.engine.augment`) and in NumPy (``warp_numpy``); the NumPy path as a whole
(Numba hidden, the fallback); and one training step of the ``best`` network on 2 threads.
Prints a Markdown table.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from digitnet.commands.train import make_config
from digitnet.data import Augmentation, augment_batch, load
from digitnet.data.augment import elastic_field, warp, warp_numpy
from digitnet.network import Network
from digitnet.presets import get_preset
from digitnet.train import make_step

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def median_ms(f: Callable[[], object], repeats: int = 300) -> float:
    f()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> int:
    preset = get_preset("best")
    data = load("mnist", data_dir=Path(os.environ.get("DIGITNET_DATA", SHARED_DATA)))
    X, y = data.X_train[:128].copy(), data.y_train[:128].copy()
    aug = Augmentation(**preset.augment)
    rng = np.random.default_rng(0)
    n = len(X)
    shifts = rng.integers(-2, 3, size=(n, 2))
    angles = np.deg2rad(rng.uniform(-10, 10, n))
    fields = elastic_field(n, aug.elastic_alpha, aug.elastic_sigma, rng)
    rows = [
        ("augment_batch (compiled resampling)", median_ms(lambda: augment_batch(X, aug, rng))),
        (
            "  elastic fields",
            median_ms(lambda: elastic_field(n, aug.elastic_alpha, aug.elastic_sigma, rng)),
        ),
        ("  resampling, compiled", median_ms(lambda: warp(X, shifts, angles, fields))),
        ("  resampling, NumPy", median_ms(lambda: warp_numpy(X, shifts, angles, fields))),
    ]
    sys.modules["numba"] = None  # type: ignore[assignment]  # the fallback, as without Numba
    from digitnet.engine import augment as compiled

    compiled._KERNEL.clear()
    rows.append(("augment_batch without Numba", median_ms(lambda: augment_batch(X, aug, rng))))
    with threadpool_limits(2):
        config = make_config(preset.training, preset.augment)
        net = Network.from_config(preset.network, seed=0)
        step = make_step(net, config, n)
        rows.append(
            ("training step of `best` (2 threads)", median_ms(lambda: step(X, y, 0.01, rng), 100))
        )
    step_ms = rows[-1][1]
    print(f"| 128 images | ms | share of a step ({step_ms:.2f} ms) |")
    print("| --- | ---: | ---: |")
    for what, ms in rows:
        print(f"| {what} | {ms:.3f} | {100 * ms / step_ms:.0f}% |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
