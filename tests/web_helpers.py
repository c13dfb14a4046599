"""Shared by the web tests: one small network trained on full MNIST, once per test run.

A 784-64-10 ReLU/softmax network after two epochs (about 97% on the test set) recognises drawn
digits reliably, so the browser test can check the answers. It is cached in the process, so the
three web test files train it once between them.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from digitnet.network import Network
from digitnet.train import TrainConfig, train


@functools.cache
def trained_network(data: Any) -> Network:
    net = Network(
        [784, 64, 10], activation="relu", output="softmax", cost="cross-entropy", init="he", seed=1
    )
    config = TrainConfig(epochs=2, batch_size=32, lr=0.05, optimizer="momentum", seed=1)
    train(net, data.X_train, data.y_train, config)
    return net


LOCAL = "http://127.0.0.1:8000"  # a Host the server answers to (any other name gets 400)


def local_client(app: Any) -> TestClient:
    """A test client that reaches ``app`` as the page does, at 127.0.0.1."""
    return TestClient(app, base_url=LOCAL)


@contextmanager
def live_app(net: Network, data: Any, save_dir: Path) -> Iterator[Any]:
    """The web app serving ``net``, its live runs saved under ``save_dir``; a run still going
    is stopped on leaving."""
    from digitnet.web import create_app

    app = create_app(net, None, data, save_dir=save_dir)
    try:
        yield app
    finally:
        if app.state.trainer.running:
            app.state.trainer.stop()
        app.state.trainer.wait(30)


def train_status(c: TestClient) -> dict[str, Any]:
    return c.get("/api/train/status").json()


def wait_for_status(c: TestClient, test: Any, seconds: float = 60) -> dict[str, Any]:
    """Poll /api/train/status until ``test(status)`` holds; its status, or fail after
    ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        s = train_status(c)
        if test(s):
            return s
        time.sleep(0.02)
    raise AssertionError(f"timed out: {train_status(c)}")
