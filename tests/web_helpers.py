"""Shared by the web tests: one small network trained on full MNIST, once per test run.

A 784-64-10 ReLU/softmax network after two epochs (about 97% on the test set) recognises drawn
digits reliably, so the browser test can check the answers. It is cached in the process, so the
three web test files train it once between them.
"""

from __future__ import annotations

import functools
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
