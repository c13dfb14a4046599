"""The one-line warning for learning rates known to go wrong (benchmarks/ETA.md)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from digitnet.advice import lr_warning, suggested_lr
from digitnet.presets import PRESETS


def test_relu_at_the_lessons_eta_is_warned_with_a_better_eta() -> None:
    warning = lr_warning("relu", "sgd", 1.5, 10)
    assert warning is not None and "\n" not in warning
    assert f"--lr {suggested_lr('relu', 'sgd', 10):g}" in warning
    assert lr_warning("relu", "sgd", suggested_lr("relu", "sgd", 10), 10) is None


@pytest.mark.parametrize("name", list(PRESETS))
def test_no_preset_is_warned_about(name: str) -> None:
    p = PRESETS[name]
    training = p.training
    assert (
        lr_warning(
            p.network["activation"],
            training.get("optimizer", "sgd"),
            training.get("lr", 1.5),
            training.get("batch_size", 10),
        )
        is None
    )


def test_sigmoid_is_never_warned_and_larger_batches_allow_larger_eta() -> None:
    assert lr_warning("sigmoid", "sgd", 3.0, 10) is None
    assert lr_warning("relu", "momentum", 0.1, 10) is not None
    assert lr_warning("relu", "momentum", 0.1, 128) is None


def test_train_prints_the_warning_once_on_stderr(tmp_path) -> None:
    env = {**os.environ, "DIGITNET_DATA": "", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "digitnet", "train", "--activation", "relu", "--epochs", "1",
         "--layers", "784,16,10", "--out", str(tmp_path / "m.npz")],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "try --lr 0.3" in warnings[0]


def test_train_without_numba_says_once_how_to_get_the_fast_step(tmp_path) -> None:
    code = (
        "import sys; sys.modules['numba'] = None; from digitnet.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    env = {**os.environ, "DIGITNET_DATA": "", "OPENBLAS_NUM_THREADS": "1"}
    args = ["train", "--epochs", "1", "--layers", "784,16,10", "--out", str(tmp_path / "m.npz")]
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if "digitnet[fast]" in line]
    assert len(notes) == 1
    with_numba = subprocess.run(
        [sys.executable, "-m", "digitnet", *args], env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert with_numba.returncode == 0 and "digitnet[fast]" not in with_numba.stderr


def test_a_diverged_run_names_a_smaller_eta_to_try() -> None:
    import numpy as np

    from digitnet.errors import TrainingDiverged
    from digitnet.network import Network
    from digitnet.train import TrainConfig, train

    rng = np.random.default_rng(0)
    X, y = rng.random((200, 784)).astype(np.float32), rng.integers(0, 10, 200)
    net = Network([784, 16, 10], activation="identity", seed=0)  # nothing saturates: it blows up
    config = TrainConfig(epochs=3, lr=1e6, batch_size=10)
    with pytest.raises(TrainingDiverged) as caught:
        train(net, X, y, config)
    message = str(caught.value)
    better = float(message.rsplit("try --lr ", 1)[1])
    assert "\n" not in message and better == min(suggested_lr("identity", "sgd", 10), 1e6 / 10)
