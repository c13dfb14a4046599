"""Live training in the web app: play, pause, one mini-batch at a time, and the candidate.

A paused run takes exactly one mini-batch per step, the very one :func:`digitnet.train.train`
takes first (checked parameter for parameter); a finished run waits beside the served network as
a candidate and is served only when adopted; at most ``MAX_LIVE_MODELS`` files are kept.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from test_web_api import assert_error, events_of, local
from web_helpers import live_app, train_status, trained_network, wait_for_status

from digitnet.network import Network
from digitnet.train import Callback, TrainConfig, train
from digitnet.web import create_app
from digitnet.web.app import MAX_LIVE_MODELS

TINY = {"hidden": [8], "epochs": 2, "train_examples": 500, "batch_size": 50, "lr": 0.1}


@pytest.fixture(scope="module")
def net(mnist) -> Network:
    return trained_network(mnist)


@pytest.fixture
def app(net: Network, mnist, tmp_path: Path) -> Iterator[Any]:
    with live_app(net, mnist, tmp_path / "live") as app:
        yield app


@pytest.fixture
def client(app: Any):
    with local(app) as c:
        yield c


status = train_status


def wait_for(c: TestClient, test: Any, seconds: float = 30) -> dict[str, Any]:
    return wait_for_status(c, test, seconds)


class _FirstBatchOnly(Callback):
    """train() checks stop_requested after each mini-batch step: this stops after the first."""

    stop_requested = True


def first_batch_by_train(mnist, settings: dict[str, Any]) -> Network:
    """What digitnet.train.train makes of a run's network after its first mini-batch."""
    reference = Network.from_config(
        {
            "sizes": [784, *settings["hidden"], 10],
            "activation": "relu",
            "output": "softmax",
            "cost": "cross-entropy",
            "init": "he",
            "dtype": "float32",
        },
        seed=0,
    )
    config = TrainConfig(
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        lr=settings["lr"],
        optimizer="momentum",
        schedule="constant",
        seed=0,
    )
    n = settings["train_examples"]
    train(reference, mnist.X_train[:n], mnist.y_train[:n], config, callback=_FirstBatchOnly())
    return reference


def test_a_paused_run_steps_exactly_one_mini_batch(client, app, net, mnist) -> None:
    served = [p.copy() for p in net.parameters()]
    r = client.post("/api/train", json={**TINY, "paused": True})
    assert r.status_code == 200, r.text
    s = wait_for(client, lambda s: s["state"] == "paused" and s["epoch"] == 1)
    job = app.state.trainer.job
    start = [p.copy() for p in job.net.parameters()]
    time.sleep(0.3)
    s = status(client)
    assert s["batches_done"] == 0 and s["paused"] and s["running"]
    assert all(np.array_equal(p, q) for p, q in zip(start, job.net.parameters(), strict=True))

    stepped = client.post("/api/train/step", json={})
    assert stepped.status_code == 200, stepped.text
    s = stepped.json()
    assert s["batches_done"] == 1 and s["batch_in_epoch"] == 1 and s["state"] == "paused"
    assert s["batches_per_epoch"] == 10 and s["epochs_done"] == 0
    time.sleep(0.3)
    assert status(client)["batches_done"] == 1  # and no more while paused
    reference = first_batch_by_train(mnist, TINY)
    for mine, theirs in zip(job.net.parameters(), reference.parameters(), strict=True):
        np.testing.assert_array_equal(mine, theirs)

    for expected in (2, 3):
        assert client.post("/api/train/step", json={}).json()["batches_done"] == expected
    # stepping across an epoch's end records the epoch
    for _ in range(7):
        s = client.post("/api/train/step", json={}).json()
    assert s["batches_done"] == 10 and s["epochs_done"] == 1 and s["state"] == "paused"
    assert s["records"][0]["epoch"] == 1

    resumed = client.post("/api/train/resume", json={})
    assert resumed.status_code == 200 and not resumed.json()["paused"]
    end = events_of(client)[-1][1]["summary"]
    assert end["state"] == "finished" and end["batches_done"] == 20
    assert all(np.array_equal(p, q) for p, q in zip(served, net.parameters(), strict=True))


def test_pause_a_running_run_then_step_and_stop(client, app) -> None:
    slow = {"hidden": [64], "epochs": 5, "train_examples": 50_000, "batch_size": 1}
    assert client.post("/api/train", json=slow).status_code == 200
    wait_for(client, lambda s: s["batches_done"] > 5)
    paused = client.post("/api/train/pause", json={})
    assert paused.status_code == 200, paused.text
    k = paused.json()["batches_done"]
    assert paused.json()["state"] == "paused" and app.state.trainer.job.resting
    time.sleep(0.3)
    assert status(client)["batches_done"] == k
    assert client.post("/api/train/step", json={}).json()["batches_done"] == k + 1
    assert "already running" in assert_error(client.post("/api/train", json=TINY), 409)
    stopped = client.post("/api/train/stop", json={})
    assert stopped.status_code == 200 and stopped.json()["stopping"]
    end = events_of(client)[-1][1]["summary"]
    assert end["state"] == "stopped" and end["batches_done"] == k + 1
    assert end["message"].startswith(
        f"stopped after {k + 1:,} mini-batches (0 of 5 epochs complete)"
    )


def test_controls_without_a_paused_run_are_refused(client) -> None:
    for path in ("/api/train/pause", "/api/train/resume", "/api/train/step", "/api/train/stop"):
        assert "no training run is going" in assert_error(client.post(path, json={}), 409)
    assert client.post("/api/train", json={**TINY, "epochs": 50}).status_code == 200
    message = assert_error(client.post("/api/train/step", json={}), 409)
    assert "not paused" in message
    client.post("/api/train/stop", json={})
    events_of(client)


def test_the_served_network_stays_until_adopt(client, app, net) -> None:
    served = [p.copy() for p in net.parameters()]
    assert client.post("/api/train", json={**TINY, "hidden": [8, 8]}).status_code == 200
    events_of(client)
    # the finished run has another shape; the page's neuron panel still sees the served one
    model = client.get("/api/model").json()
    assert model["sizes"] == [784, 64, 10] and model["version"] == 1
    assert model["candidate"]["sizes"] == [784, 8, 8, 10]
    assert client.post("/api/neuron", json={"layer": 1, "index": 40}).status_code == 200
    assert "no layer 3" in assert_error(
        client.post("/api/neuron", json={"layer": 3, "index": 0}), 404
    )
    x = np.full(784, 0.5).tolist()
    assert client.post("/api/trace", json={"pixels": x}).json()["sizes"] == [784, 64, 10]
    assert client.post("/api/train/trace", json={"pixels": x}).json()["sizes"] == [784, 8, 8, 10]
    assert all(np.array_equal(p, q) for p, q in zip(served, net.parameters(), strict=True))
    job = model["candidate"]["job"]
    assert "is not the candidate" in assert_error(
        client.post("/api/train/adopt", json={"job": job + 1}), 409
    )
    adopted = client.post("/api/train/adopt", json={"job": job}).json()
    assert adopted["sizes"] == [784, 8, 8, 10] and adopted["version"] == 2
    assert client.post("/api/neuron", json={"layer": 3, "index": 0}).status_code == 200
    assert "no neuron 40" in assert_error(
        client.post("/api/neuron", json={"layer": 1, "index": 40}), 404
    )
    assert app.state.served[0].net is app.state.trainer.job.net
    assert all(np.array_equal(p, q) for p, q in zip(served, net.parameters(), strict=True))


def test_only_the_newest_live_models_are_kept(client, tmp_path: Path) -> None:
    folder = tmp_path / "live"
    quick = {"hidden": [4], "epochs": 1, "train_examples": 100, "batch_size": 100}
    adopted = None
    for run in range(1, 7):
        assert client.post("/api/train", json={**quick, "seed": run}).status_code == 200
        events_of(client)
        if run == 2:
            adopted = client.post("/api/train/adopt", json={}).json()
        files = sorted(p.name for p in folder.glob("*.npz"))
        assert len(files) <= MAX_LIVE_MODELS, files
    assert MAX_LIVE_MODELS == 3 and len(files) == 3
    # the served (adopted) model's file is never the one deleted
    live = [f for f in files if f.startswith("live-")]
    assert len(live) == 1 and adopted is not None and adopted["version"] == 2
    assert sum(f.startswith("candidate-") for f in files) == 2
    assert client.get("/api/train/status").json()["candidate"]["file"] in files


def test_more_training_images_than_the_split_has_are_refused_or_said(net, mnist) -> None:
    with local(create_app(net, None, mnist)) as c:
        message = assert_error(c.post("/api/train", json={**TINY, "train_examples": 50_001}), 422)
        assert "at most 50,000" in message
    from digitnet.data import load_embedded

    sample = load_embedded(validation=1000)  # fewer than 20,000 training images
    n = len(sample.y_train)
    assert n < 20_000
    app = create_app(net, None, None, load_data=lambda name: sample)
    with local(app) as c:
        body = {**TINY, "train_examples": 20_000, "epochs": 1, "batch_size": 500}
        assert c.post("/api/train", json=body).status_code == 200
        end = events_of(c)[-1][1]["summary"]
        assert end["state"] == "finished" and end["train_examples"] == n
        assert f"training on all {n:,} training images" in end["message"]
        assert "20,000 asked for" in end["message"]


def test_the_next_serve_starts_from_an_adopted_model_never_a_candidate(net, tmp_path) -> None:
    from digitnet.commands.serve import newest_model
    from digitnet.model_io import save_model

    runs = tmp_path / "runs"
    trained = save_model(runs / "model.npz", net)
    time.sleep(0.01)
    save_model(runs / "web" / "candidate-20260101-000000-1-1.npz", net)
    assert newest_model(runs) == trained
    time.sleep(0.01)
    adopted = save_model(runs / "web" / "live-20260101-000000-1-2.npz", net)
    assert newest_model(runs) == adopted
