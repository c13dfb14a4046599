"""Live training in slow motion, through the API: every mini-batch's cost (the very cost of the
mini-batch :func:`digitnet.train.train` takes) and its running average, a slow step's nudges (each
example's wishes, their average, the cost before and after), the speed control and its refusals,
the landscape slice through the run's start with the path at its real costs, and the teach
panel's mini-batch of per-example wishes.
"""

from __future__ import annotations

import json
import math
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
from digitnet.views.landscape import slice_point, start_slice
from digitnet.views.nudges import example_wishes
from digitnet.web.training import AVERAGE_OVER, COST_EVERY, PATH_EVERY, SLICE_EXAMPLES

# 1,000 images in mini-batches of 50: 20 steps an epoch
TINY = {"hidden": [8], "epochs": 2, "train_examples": 1000, "batch_size": 50, "lr": 0.1}


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


def wait_for(c: TestClient, test: Any, seconds: float = 60) -> dict[str, Any]:
    return wait_for_status(c, test, seconds)


def start_paused(c: TestClient, **settings: Any) -> dict[str, Any]:
    r = c.post("/api/train", json={**TINY, "paused": True, **settings})
    assert r.status_code == 200, r.text
    return wait_for(c, lambda s: s["state"] == "paused" and s["epoch"] == 1 and s["landscape"])


class _FirstBatches(Callback):
    """Keeps the first ``n`` mini-batches train() takes, each with the network before its step."""

    batch_report_every = 1

    def __init__(self, net: Network, n: int) -> None:
        self.net, self.n = net, n
        self.batches: list[tuple[np.ndarray, np.ndarray, float, Any]] = []

    def on_batch_start(self, epoch: int, i: int, X: np.ndarray, y: np.ndarray) -> None:
        wishes = example_wishes(self.net, self.net.trace(X), y)
        self.batches.append((X.copy(), y.copy(), self.net.total_cost(X, y), wishes))

    def on_batches(self, epoch: int, done: int, n_batches: int) -> None:
        self.stop_requested = len(self.batches) >= self.n


def reference_batches(mnist, n: int) -> list[tuple[np.ndarray, np.ndarray, float, Any]]:
    """The first n mini-batches of TINY's run as digitnet.train.train takes them."""
    net = Network.from_config(
        {"sizes": [784, 8, 10], "activation": "relu", "output": "softmax",
         "cost": "cross-entropy", "init": "he", "dtype": "float32"},
        seed=0,
    )  # fmt: skip
    config = TrainConfig(
        epochs=2, batch_size=50, lr=0.1, optimizer="momentum", schedule="constant", seed=0
    )
    watch = _FirstBatches(net, n)
    train(net, mnist.X_train[:1000], mnist.y_train[:1000], config, callback=watch)
    return watch.batches


# -- the cost of every mini-batch -------------------------------------------------------------


def test_every_mini_batch_cost_is_recorded_with_its_running_average(client, mnist) -> None:
    assert "no training run" in assert_error(client.get("/api/train/costs"), 404)
    # 20 steps a second: the first epoch's 20 steps take a second at least
    assert client.post("/api/train", json={**TINY, "steps_per_second": 20}).status_code == 200
    events = events_of(client)
    end = events[-1][1]["summary"]
    assert end["state"] == "finished" and end["batches_done"] == 40
    costs = client.get("/api/train/costs").json()
    assert costs["count"] == 40 and costs["average_over"] == AVERAGE_OVER == 20
    rows = costs["costs"]
    assert [r["step"] for r in rows] == list(range(1, 41))
    assert [(r["epoch"], r["batch"]) for r in rows[:2]] == [(1, 1), (1, 2)]
    assert [(r["epoch"], r["batch"]) for r in rows[19:21]] == [(1, 20), (2, 1)]
    values = np.array([r["cost"] for r in rows])
    for k, r in enumerate(rows):  # the mean of the latest 20 mini-batches, this one included
        assert r["average"] == pytest.approx(values[max(0, k - 19) : k + 1].mean(), rel=1e-9)
    assert all(b["seconds"] >= a["seconds"] for a, b in zip(rows, rows[1:], strict=False))
    # each is the cost of the very mini-batch train() takes, before its step
    first = reference_batches(mnist, 3)
    for r, (_, _, cost, _) in zip(rows, first, strict=False):
        assert r["cost"] == pytest.approx(cost, rel=1e-6)
    # the stream told of the costs as they came: several times before the first epoch ended
    streamed = [e for kind, e in events if kind == "progress"]
    assert sum(len(e["costs"]) for e in streamed) == 40
    before_epoch = []
    for kind, e in events:
        if kind == "epoch":
            break
        if kind == "progress" and e["costs"]:
            before_epoch.append(e)
    assert len(before_epoch) >= 2, [len(e["costs"]) for e in streamed]
    later = client.get("/api/train/costs", params={"since": 38}).json()
    assert [r["step"] for r in later["costs"]] == [39, 40] and later["count"] == 40


# -- a slow step's nudges ---------------------------------------------------------------------


def test_a_step_shows_its_mini_batch_nudges(client, app, mnist) -> None:
    start_paused(client)
    assert "no step" in assert_error(client.get("/api/train/nudges"), 404)
    first = reference_batches(mnist, 2)
    for n in (1, 2):
        stepped = client.post("/api/train/step", json={}).json()
        assert stepped["batches_done"] == n and stepped["last_step"] == n
        nudges = client.get("/api/train/nudges").json()
        X, y, cost, wishes = first[n - 1]
        assert (nudges["step"], nudges["epoch"], nudges["batch"]) == (n, 1, n)
        assert nudges["size"] == 50 and nudges["labels"] == y.tolist()
        assert nudges["class_names"] == [str(d) for d in range(10)]
        rows = np.array(nudges["wishes"])
        assert rows.shape == (50, 10)
        np.testing.assert_allclose(rows, wishes.rows, rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(nudges["average"], rows.mean(axis=0), rtol=1e-5, atol=1e-9)
        # cross-entropy with softmax: each example wants only its own label's output up
        assert all(row[label] > 0 for row, label in zip(rows, y, strict=True))
        assert nudges["cost_before"] == pytest.approx(cost, rel=1e-6)
        after = app.state.trainer.job.net.total_cost(X, y)
        assert nudges["cost_after"] == pytest.approx(after, rel=1e-6)
        change = nudges["cost_after"] - nudges["cost_before"]
        assert nudges["cost_change"] == pytest.approx(change, rel=1e-9)
        assert nudges["lr"] == 0.1
        step_cost = client.get("/api/train/costs").json()["costs"][-1]
        assert step_cost["step"] == n and step_cost["cost"] == nudges["cost_before"]


# -- the speed --------------------------------------------------------------------------------

BAD_SPEEDS = ["0", "-1", "-0.5", "NaN", "Infinity", "-Infinity", "1e309", "1e9", "101", '"fast"',
              "true", "[5]"]  # fmt: skip


def test_bad_speeds_are_refused_and_nothing_changes(client) -> None:
    assert "no training run" in assert_error(
        client.post("/api/train/speed", json={"steps_per_second": 5}), 409
    )
    for bad in BAD_SPEEDS:  # at the start: no run begins
        body = '{"hidden": [8], "train_examples": 1000, "steps_per_second": ' + bad + "}"
        r = client.post("/api/train", content=body, headers={"content-type": "application/json"})
        assert "steps_per_second" in assert_error(r, 422), bad
    assert status(client)["job"] is None
    start_paused(client, steps_per_second=5)
    assert client.post("/api/train/step", json={}).status_code == 200
    before = status(client)
    assert before["steps_per_second"] == 5 and before["batches_done"] == 1
    for bad in [*BAD_SPEEDS, "{}"]:
        body = bad if bad == "{}" else '{"steps_per_second": ' + bad + "}"
        r = client.post(
            "/api/train/speed", content=body, headers={"content-type": "application/json"}
        )
        assert "steps_per_second" in assert_error(r, 422), bad
    r = client.post("/api/train/speed", json={"steps_per_second": 5, "extra": 1})
    assert_error(r, 422)
    after = status(client)
    assert after == before
    assert app_speed(client) == 5


def app_speed(client: TestClient) -> float | None:
    return status(client)["steps_per_second"]


def test_the_speed_spaces_the_steps_and_full_speed_lifts_it(client) -> None:
    start_paused(client, steps_per_second=50)
    r = client.post("/api/train/speed", json={"steps_per_second": 4})
    assert r.status_code == 200 and r.json()["steps_per_second"] == 4
    client.post("/api/train/resume", json={})
    wait_for(client, lambda s: s["batches_done"] >= 4)
    assert (
        client.post("/api/train/speed", json={"steps_per_second": None}).json()["steps_per_second"]
        is None
    )
    assert events_of(client)[-1][1]["summary"]["state"] == "finished"
    rows = client.get("/api/train/costs").json()["costs"]
    steps = [r["step"] for r in rows]
    slow = next(k for k, step in enumerate(steps, start=1) if step != k)  # the first sampled
    assert steps[: slow - 1] == list(range(1, slow)) and slow > 4
    assert all(step % COST_EVERY == 0 for step in steps[slow:]) and steps[-1] == 40
    t = [r["seconds"] for r in rows]
    # at 4 steps a second no two steps are closer than a quarter of a second
    assert all(b - a >= 0.25 - 1e-3 for a, b in zip(t[:4], t[1:4], strict=False))
    # slowed down, every step keeps its nudges; at full speed they are not made
    assert 4 <= client.get("/api/train/nudges").json()["step"] < 40


# -- the landscape ----------------------------------------------------------------------------


def test_the_landscape_path_is_at_the_real_cost_of_each_step(client, app) -> None:
    assert "no training run" in assert_error(client.get("/api/train/landscape"), 404)
    start_paused(client)
    job = app.state.trainer.job
    s = job.slice
    assert len(s.y) == SLICE_EXAMPLES
    for n in (1, 2, 3):
        client.post("/api/train/step", json={})
        sent = client.get("/api/train/landscape", params={"since": n}).json()
        assert sent["points"] == n + 1 and [p["step"] for p in sent["path"]] == [n]
        p = sent["path"][0]
        # the height is the real cost at the run's weights now, on the slice's examples
        assert p["cost"] == pytest.approx(job.net.total_cost(s.X, s.y), rel=1e-6)
        theta = job.net.parameter_vector().astype(np.float64) - s.theta0
        assert p["alpha"] == pytest.approx(theta @ s.d1, rel=1e-6, abs=1e-12)
        assert p["beta"] == pytest.approx(theta @ s.d2, rel=1e-6, abs=1e-12)
        assert 0 < p["off_plane"] <= 1 and math.isfinite(p["slice_cost"])
    whole = client.get("/api/train/landscape").json()
    start = whole["path"][0]
    assert start["step"] == 0 and start["off_plane"] == 0
    assert start["cost"] == pytest.approx(start["slice_cost"], rel=1e-6)
    grid = whole["grid"]
    assert len(grid["alphas"]) == len(grid["betas"]) == 13 and grid["examples"] == 200
    assert np.shape(grid["costs"]) == (13, 13)
    assert "-grad C" in grid["alpha_is"]
    for bad in (-1, 10**10, "x"):
        assert_error(client.get("/api/train/landscape", params={"since": bad}), 422)
        assert_error(client.get("/api/train/costs", params={"since": bad}), 422)


def test_start_slice_and_slice_point(net: Network, mnist) -> None:
    X, y = mnist.X_val[:100], mnist.y_val[:100]
    s = start_slice(net, X, y, seed=3, steps=5)
    assert abs(float(s.d1 @ s.d2)) < 1e-9
    assert np.linalg.norm(s.d1) == pytest.approx(1) and np.linalg.norm(s.d2) == pytest.approx(1)
    g = net.gradient(X, y)  # d1 points down the gradient
    flat = np.concatenate([np.ravel(a) for pair in zip(g.W, g.b, strict=True) for a in pair])
    assert float(flat @ s.d1) < 0
    # each grid cost is the real cost at that point of the plane
    probe = net.copy()
    for i, j in ((0, 0), (2, 3), (4, 1)):
        probe.set_parameter_vector(s.theta0 + s.alphas[j] * s.d1 + s.betas[i] * s.d2)
        assert s.C[i, j] == pytest.approx(probe.total_cost(X, y), rel=1e-6)
    # on the plane: the point is where it was put, the two costs agree
    probe.set_parameter_vector(s.theta0 + 0.3 * s.d1 - 0.2 * s.d2)
    p = slice_point(s, probe)
    assert (p.alpha, p.beta) == (pytest.approx(0.3, abs=1e-5), pytest.approx(-0.2, abs=1e-5))
    assert p.off_plane < 1e-4 and p.cost == pytest.approx(p.slice_cost, rel=1e-4)
    # off the plane: the height is the real cost, the slice's cost differs
    rng = np.random.default_rng(0)
    moved = s.theta0 + 0.05 * rng.standard_normal(len(s.theta0)) * np.abs(s.theta0)
    probe.set_parameter_vector(moved)
    p = slice_point(s, probe)
    assert p.cost == pytest.approx(probe.total_cost(X, y), rel=1e-6)
    assert p.off_plane > 0.9 and p.cost != pytest.approx(p.slice_cost, rel=1e-6)
    assert net.parameter_vector() == pytest.approx(s.theta0.astype(np.float32))


def test_at_full_speed_costs_and_path_points_are_every_few_steps(client) -> None:
    assert client.post("/api/train", json=TINY).status_code == 200
    events_of(client)
    costs = client.get("/api/train/costs").json()["costs"]
    assert [c["step"] for c in costs] == list(range(COST_EVERY, 41, COST_EVERY))
    steps = [p["step"] for p in client.get("/api/train/landscape").json()["path"]]
    assert steps == list(range(0, 41, PATH_EVERY))


# -- the teach panel's mini-batch --------------------------------------------------------------


def test_a_teach_mini_batch_gives_each_examples_wishes_then_the_average(client, mnist) -> None:
    r = client.post("/api/backprop/batch", json={"size": 6, "seed": 4})
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["size"] == 6 and len(b["indices"]) == 6 == len(set(b["indices"]))
    assert b["labels"] == [int(mnist.y_test[i]) for i in b["indices"]]
    rows = np.array(b["wishes"])
    assert rows.shape == (6, 10)
    np.testing.assert_allclose(b["average"], rows.mean(axis=0), rtol=1e-5, atol=1e-9)
    # row i is what that image alone wants: the teach panel's single-image wishes
    for i, row in zip(b["indices"], rows, strict=True):
        one = client.post(
            "/api/backprop",
            json={"pixels": mnist.X_test[i].tolist(), "label": int(mnist.y_test[i])},
        ).json()
        np.testing.assert_allclose(row, one["wanted_a"], rtol=1e-4, atol=1e-9)
    assert len(b["pixels"]) == 6 and len(b["pixels"][0]) == 784
    again = client.post("/api/backprop/batch", json={"size": 6, "seed": 4}).json()
    assert again["indices"] == b["indices"]
    for bad in ({"size": 1}, {"size": 33}, {"size": -2}, {"size": 4.5}, {"seed": -1},
                {"size": 4, "x": 1}, {"size": "4"}):  # fmt: skip
        assert_error(client.post("/api/backprop/batch", json=bad), 422)
    nan = client.post(
        "/api/backprop/batch",
        content=json.dumps({"size": float("nan")}),
        headers={"content-type": "application/json"},
    )
    assert_error(nan, 422)
