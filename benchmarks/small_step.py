"""Where a step of W1 and W2 (batch 10, the compiled small-network step) spends its time.

    .venv/bin/python benchmarks/small_step.py

For each workload, on one thread, the median over rounds of an epoch's 6,000 steps timed as:
the training loop's own work (gather the mini-batch, then the step); the step alone on one
batch that stays in the cache; the gather alone, from the whole training set (188 MB, in the
epoch's random order) and from 2,000 images that fit in the cache. Then the two matrix
products of the first layer at their shapes, as the compiled step makes them (through BLAS),
as GFLOP/s. Prints a Markdown table.
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
from workloads import WORKLOADS, make_network

from digitnet.data import load
from digitnet.train import TrainConfig, make_step

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ROUNDS = 7


def median_us_per_step(f: Callable[[], int]) -> float:
    f()
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        steps = f()
        times.append((time.perf_counter() - start) / steps)
    return 1e6 * statistics.median(times)


def products_gflops(n: int, n_in: int, n_out: int, repeats: int = 20_000) -> tuple[float, float]:
    """GFLOP/s of z = a W^T and dW = delta^T a, inside one compiled loop each."""
    import numba

    @numba.njit
    def forward(a, W, repeats):  # noqa: ANN001, ANN202
        for _ in range(repeats):
            z = np.dot(a, W.T)
        return z

    @numba.njit
    def weight_gradient(delta, a, repeats):  # noqa: ANN001, ANN202
        for _ in range(repeats):
            dW = np.dot(delta.T, a)
        return dW

    rng = np.random.default_rng(0)
    a = rng.random((n, n_in), dtype=np.float32)
    W = rng.random((n_out, n_in), dtype=np.float32)
    delta = rng.random((n, n_out), dtype=np.float32)
    flops = 2.0 * n * n_in * n_out * repeats
    rates = []
    for f, args in ((forward, (a, W)), (weight_gradient, (delta, a))):
        f(*args, 1)
        start = time.perf_counter()
        f(*args, repeats)
        rates.append(flops / (time.perf_counter() - start) / 1e9)
    return rates[0], rates[1]


def anatomy(name: str, data) -> list[str]:  # noqa: ANN001
    w = WORKLOADS[name]
    net = make_network(w, 0)
    bs = w.batch_size
    config = TrainConfig(epochs=1, batch_size=bs, lr=w.lr, optimizer=w.optimizer, seed=0)
    step = make_step(net, config, bs, real_targets=False)
    X_train, y_train = data.X_train, data.y_train
    n_steps = len(X_train) // bs
    rng = np.random.default_rng(0)
    X_batch = np.empty((bs, X_train.shape[1]), X_train.dtype)
    y_batch = np.empty(bs, y_train.dtype)
    cached = np.ascontiguousarray(X_train[:2000])

    def loop() -> int:  # the training loop's work, as digitnet.train does it
        perm = rng.permutation(len(X_train))
        for i in range(n_steps):
            idx = perm[i * bs : (i + 1) * bs]
            X = X_train.take(idx, axis=0, out=X_batch, mode="clip")
            y = y_train.take(idx, axis=0, out=y_batch, mode="clip")
            step(X, y, 0.0, rng)
        return n_steps

    def step_alone() -> int:
        X, y = X_train[:bs].copy(), y_train[:bs].copy()
        for _ in range(n_steps):
            step(X, y, 0.0, rng)
        return n_steps

    def gather(source: np.ndarray) -> Callable[[], int]:
        def run() -> int:
            perm = rng.permutation(len(X_train)) % len(source)
            for i in range(n_steps):
                source.take(perm[i * bs : (i + 1) * bs], axis=0, out=X_batch, mode="clip")
            return n_steps

        return run

    forward, weight_gradient = products_gflops(bs, net.sizes[0], net.sizes[1])
    row = [
        median_us_per_step(loop),
        median_us_per_step(step_alone),
        median_us_per_step(gather(X_train)),
        median_us_per_step(gather(cached)),
    ]
    cells = [f"{v:.1f}" for v in row] + [f"{forward:.0f}", f"{weight_gradient:.0f}"]
    return [f"{name} ({'-'.join(map(str, net.sizes))})", *cells]


def main() -> int:
    data = load("mnist", data_dir=Path(os.environ.get("DIGITNET_DATA", SHARED_DATA)))
    print(
        "| workload | loop: gather + step (us) | step alone (us) | gather from 60,000 (us) "
        "| gather from 2,000 (us) | z = a W^T (GFLOP/s) | dW = delta^T a (GFLOP/s) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with threadpool_limits(1):
        for name in ("W1", "W2"):
            print("| " + " | ".join(anatomy(name, data)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
