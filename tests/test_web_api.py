"""The web API through the ASGI test client: every endpoint, and every kind of bad input.

Good requests are checked against the network's own trace (the API adds no second forward pass);
bad ones must get a 4xx JSON answer with a one-line message, and the server must keep serving.
"""

from __future__ import annotations

import base64
import io
import json
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from web_helpers import trained_network

from digitnet.commands import serve as serve_command
from digitnet.model_io import save_model
from digitnet.network import Network
from digitnet.views.diagram import MAX_NEURONS
from digitnet.web import create_app


@pytest.fixture(scope="module")
def net(mnist) -> Network:
    return trained_network(mnist)


BASE = "http://127.0.0.1:8000"  # the Host the server answers to (any other: 400)


def local(app: Any) -> TestClient:
    """A test client that reaches ``app`` as the page does, at 127.0.0.1."""
    return TestClient(app, base_url=BASE)


@pytest.fixture
def client(net: Network, mnist, tmp_path: Path):
    app = create_app(net, None, mnist, save_dir=tmp_path / "live")
    with local(app) as c:
        yield c
    if app.state.trainer.running:
        app.state.trainer.stop()
    app.state.trainer.wait(30)


def png_of(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def drawn_one() -> bytes:
    """A '1' as a person draws it on the page: a black vertical stroke on white."""
    im = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(im).line([(140, 40), (140, 240)], fill=0, width=20)
    return png_of(im)


def drawn_zero() -> bytes:
    im = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(im).ellipse([(80, 40), (200, 240)], outline=0, width=20)
    return png_of(im)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def assert_error(response: Any, *statuses: int) -> str:
    """A 4xx JSON answer with a one-line message; returns the message."""
    assert response.status_code in statuses, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"], body
    assert "\n" not in body["detail"]
    return body["detail"]


# -- the network and the page --------------------------------------------------------------------


def test_model_describes_the_served_network(client: TestClient, net: Network) -> None:
    m = client.get("/api/model").json()
    assert m["sizes"] == [784, 64, 10]
    assert (m["activation"], m["output"], m["cost"]) == ("relu", "softmax", "cross-entropy")
    assert m["n_params"] == net.n_params == 50_890
    assert m["class_names"] == [str(d) for d in range(10)]
    assert m["explore"] is True
    assert m["diagram_neurons"] == MAX_NEURONS
    assert m["n_inputs"] == 784 and m["image_shape"] == [28, 28]
    assert m["diagram_shown"] == [784, 32, 10]  # every input and output, 32 of the 64 hidden
    assert m["diagram_connections"] == 160 and m["max_eta"] == 100
    assert m["max_live_models"] == 3 and m["candidate"] is None


def page_files(client: TestClient) -> dict[str, str]:
    """The page and every file it loads: the stylesheet and scripts index.html names, and the
    ES modules they import, followed to the end."""
    html = client.get("/").text
    files = {"/": html}
    todo = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    while todo:
        path = todo.pop()
        if path in files:
            continue
        r = client.get(path)
        assert r.status_code == 200, path
        files[path] = r.text
        if path.endswith(".js"):
            folder = path.rsplit("/", 1)[0]
            for name in re.findall(r'from\s+"\./([^"]+)"|import\s+"\./([^"]+)"', r.text):
                todo.append(f"{folder}/{name[0] or name[1]}")
    return files


def test_the_page_ships_inside_the_package_and_fetches_nothing_outside(client: TestClient) -> None:
    files = page_files(client)
    assert '<canvas id="pad"' in files["/"] and 'id="diagram"' in files["/"]
    assert any(p.endswith(".js") for p in files) and "/static/style.css" in files
    assert "touch-action: none" in files["/static/style.css"]  # a finger draws, not scrolls
    for text in files.values():
        assert "http://" not in text and "https://" not in text and "//cdn" not in text
    assert client.get("/openapi.json").json()["info"]["title"] == "digitnet"
    # FastAPI's /docs and /redoc pages would load their scripts from a CDN: they are off
    assert client.get("/docs").status_code == client.get("/redoc").status_code == 404


# -- predictions and the trace -------------------------------------------------------------------


def test_predict_pixels_answers_as_the_network_does(client: TestClient, net, mnist) -> None:
    X = mnist.X_test[:20]
    expected = net.trace(X).output  # (20, 10)
    probabilities = net.predict_proba(X)
    for x, out, p in zip(X, expected, probabilities, strict=True):
        r = client.post("/api/predict", json={"pixels": x.tolist()})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["prediction"] == int(np.argmax(out))
        np.testing.assert_allclose(body["outputs"], out, atol=1e-4)
        np.testing.assert_allclose(body["probabilities"], p, atol=1e-4)
        assert abs(sum(body["probabilities"]) - 1) < 1e-3
        np.testing.assert_allclose(body["image"], x, atol=1e-3)
    # the network is good: most of these 20 test digits are right
    right = np.argmax(expected, axis=1) == mnist.y_test[:20]
    assert right.mean() >= 0.9


def test_probabilities_of_an_output_that_can_be_negative_are_predict_proba(mnist) -> None:
    config = {
        "sizes": [784, 8, 10],
        "activation": "tanh",
        "output": "tanh",
        "cost": "quadratic",
        "init": "normal",
        "dtype": "float32",
    }
    net = Network.from_config(config, seed=4)
    X = mnist.X_test[:5]
    assert (net.feedforward(X) < 0).any()
    with local(create_app(net)) as client:
        for x, p in zip(X, net.predict_proba(X), strict=True):
            body = client.post("/api/predict", json={"pixels": x.tolist()}).json()
            np.testing.assert_allclose(body["probabilities"], p, atol=1e-4)
            assert min(body["probabilities"]) >= 0
            assert body["confidence"] == pytest.approx(p[body["prediction"]], abs=1e-4)


def test_predict_png_goes_through_the_shared_preprocessing(client: TestClient) -> None:
    from digitnet.preprocess import to_mnist

    for png, digit in ((drawn_one(), 1), (drawn_zero(), 0)):
        r = client.post("/api/predict", json={"png": b64(png)})
        assert r.status_code == 200, r.text
        assert r.json()["prediction"] == digit
        np.testing.assert_allclose(r.json()["image"], to_mnist(png), atol=1e-3)
        as_url = client.post("/api/predict", json={"png": "data:image/png;base64," + b64(png)})
        assert as_url.json()["prediction"] == digit
        upload = client.post("/api/predict/upload", files={"file": ("d.png", png, "image/png")})
        assert upload.status_code == 200, upload.text
        assert upload.json()["prediction"] == digit


def test_trace_gives_every_layer_and_the_strongest_connections(client, net, mnist) -> None:
    x = mnist.X_test[0]
    t = client.post("/api/trace", json={"pixels": x.tolist()}).json()
    expected = net.trace(x)
    assert t["sizes"] == [784, 64, 10]
    assert [layer["size"] for layer in t["layers"]] == [784, 64, 10]
    for l, layer in enumerate(t["layers"]):
        np.testing.assert_allclose(layer["a"], expected.a[l][0], atol=1e-3)
        if l:
            np.testing.assert_allclose(layer["z"], expected.z[l][0], atol=1e-3)
    hidden = t["layers"][1]
    assert len(hidden["shown"]) == 32  # of 64: the most active ones
    a1 = expected.a[1][0]
    assert min(a1[hidden["shown"]]) >= np.sort(a1)[-32] - 1e-6
    assert t["layers"][2]["shown"] == list(range(10))
    connections = t["connections"]
    assert connections and {c["layer"] for c in connections} == {1, 2}
    for c in connections[:50]:
        w = net.W[c["layer"] - 1][c["to"], c["from"]]
        a_prev = expected.a[c["layer"] - 1][0][c["from"]]
        assert c["weight"] == pytest.approx(w, abs=1e-4)
        assert c["push"] == pytest.approx(w * a_prev, abs=1e-3)
    first = [abs(c["push"]) for c in connections if c["layer"] == 1]
    assert first == sorted(first, reverse=True)  # strongest first
    assert t["prediction"] == int(np.argmax(expected.output[0]))


def test_neuron_inspection(client: TestClient, net, mnist) -> None:
    x = mnist.X_test[1]
    trace = net.trace(x)
    n = client.post("/api/neuron", json={"layer": 1, "index": 5, "pixels": x.tolist()}).json()
    assert n["weights_shape"] == [28, 28]
    np.testing.assert_allclose(n["weights"], net.W[0][5], atol=1e-4)
    assert n["bias"] == pytest.approx(float(net.b[0][5]), abs=1e-4)
    assert n["z"] == pytest.approx(float(trace.z[1][0, 5]), abs=1e-3)
    assert n["a"] == pytest.approx(float(trace.a[1][0, 5]), abs=1e-3)
    out = client.post("/api/neuron", json={"layer": 2, "index": 7}).json()
    assert out["label"] == "7" and out["weights_shape"] == [1, 64]
    assert out["z"] is None and out["a"] is None


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"layer": 1, "index": 64}, 404, "layer 1 has 64 neurons"),
        ({"layer": 2, "index": 10}, 404, "no neuron 10"),
        ({"layer": 3, "index": 0}, 404, "no layer 3"),
        ({"layer": 0, "index": 0}, 422, "layer"),
        ({"layer": 1, "index": -1}, 422, "index"),
        ({"layer": 1}, 422, "index"),
    ],
)
def test_unknown_neuron_is_refused(client: TestClient, body, status, words) -> None:
    assert words in assert_error(client.post("/api/neuron", json=body), status)


def test_first_layer_weight_images(client: TestClient) -> None:
    w = client.get("/api/weights").json()
    assert (w["layer"], w["shown"], w["of"], w["columns"]) == (1, 64, 64, 8)
    png = base64.b64decode(w["png"].split(",", 1)[1])
    with Image.open(io.BytesIO(png)) as im:
        assert im.size == (8 * 29 + 1, 8 * 29 + 1)
    assert client.get("/api/weights", params={"max_neurons": 10}).json()["shown"] == 10
    assert_error(client.get("/api/weights", params={"max_neurons": 0}), 422)


# -- explore -------------------------------------------------------------------------------------


def test_test_images_random_and_mistakes(client: TestClient, net, mnist) -> None:
    r = client.get("/api/test-images", params={"count": 5, "seed": 3}).json()
    assert len(r["images"]) == 5 and r["total"] == 10_000
    again = client.get("/api/test-images", params={"count": 5, "seed": 3}).json()
    assert [i["index"] for i in r["images"]] == [i["index"] for i in again["images"]]
    for im in r["images"]:
        assert im["label"] == mnist.y_test[im["index"]]
        assert len(im["pixels"]) == 784
    wrong = client.get("/api/test-images", params={"mode": "mistakes", "count": 30}).json()
    predicted = net.predict(mnist.X_test)
    probabilities = net.predict_proba(mnist.X_test)
    assert wrong["mistakes"] == int((predicted != mnist.y_test).sum())
    assert 0 < wrong["mistakes"] < 1000
    for im in wrong["images"]:
        assert im["prediction"] != im["label"]
        assert im["prediction"] == predicted[im["index"]]
        p = probabilities[im["index"], im["prediction"]]
        assert im["confidence"] == pytest.approx(p, abs=1e-4)
    assert_error(client.get("/api/test-images", params={"mode": "best"}), 422)
    assert_error(client.get("/api/test-images", params={"count": 10**6}), 422)


def test_test_images_without_data_is_a_clear_404(net: Network) -> None:
    with local(create_app(net)) as c:
        assert "no test images" in assert_error(c.get("/api/test-images"), 404)


# -- bad input -----------------------------------------------------------------------------------


def noise_png(side: int) -> bytes:
    rng = np.random.default_rng(0)
    return png_of(Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)))


JSON = {"content-type": "application/json"}
ONES = ",".join(["0.5"] * 783)


@pytest.mark.parametrize(
    ("content", "status", "words"),
    [
        (b'{"pixels": [0.1, 0.2', 422, "malformed JSON"),
        (b"not json at all", 422, "malformed JSON"),
        (json.dumps({"pixels": [0.5] * 783}).encode(), 422, "at least 784"),
        (json.dumps({"pixels": [0.5] * 785}).encode(), 422, "at most 784"),
        (('{"pixels": [NaN, ' + ONES + "]}").encode(), 422, "finite"),
        (('{"pixels": [Infinity, ' + ONES + "]}").encode(), 422, "finite"),
        (json.dumps({"pixels": [1.5] + [0.5] * 783}).encode(), 422, "pixel 0 must be at most 1"),
        (json.dumps({"pixels": [-0.1] + [0.5] * 783}).encode(), 422, "pixel 0 must be at least 0"),
        (json.dumps({"pixels": ["a"] * 784}).encode(), 422, "pixel 0 must be a number"),
        (json.dumps({"pixels": [[0.5]] * 784}).encode(), 422, "pixel 0 must be a number"),
        (json.dumps({}).encode(), 422, "exactly one"),
        (json.dumps({"pixels": [0.5] * 784, "png": "AAAA"}).encode(), 422, "exactly one"),
        (json.dumps({"pixel": [0.5] * 784}).encode(), 422, "pixel"),
        (json.dumps([0.5] * 784).encode(), 422, "must be a JSON object"),
        (json.dumps({"png": "***not base64***"}).encode(), 422, "base64"),
        (json.dumps({"png": b64(b"GIF89a not a png")}).encode(), 415, "not a PNG"),
        (json.dumps({"png": b64(b"\x89PNG\r\n\x1a\n")}).encode(), 422, "header"),
        (json.dumps({"png": b64(drawn_one()[:200])}).encode(), 422, "truncated"),
        (json.dumps({"png": b64(png_of(Image.new("L", (50, 50), 255)))}).encode(), 422, "blank"),
        (json.dumps({"png": b64(png_of(Image.new("L", (2001, 20))))}).encode(), 413, "2001x20"),
        (json.dumps({"png": b64(png_of(Image.new("L", (20, 5000))))}).encode(), 413, "2000x2000"),
        (json.dumps({"png": b64(noise_png(640))}).encode(), 413, "1,000,000"),
        (b'{"png": "' + b"A" * 2_100_000 + b'"}', 413, "larger than"),
    ],
)
def test_bad_images_get_a_4xx_with_a_message(client: TestClient, content, status, words) -> None:
    for path in ("/api/predict", "/api/trace"):
        message = assert_error(client.post(path, content=content, headers=JSON), status)
        assert words in message, message
    # and the server keeps serving
    assert client.post("/api/predict", json={"pixels": [0.0] * 784}).status_code == 200


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"this is text", 415, "not a PNG"),
        (b"", 415, "not a PNG"),
        (png_of(Image.new("L", (3000, 10))), 413, "3000x10"),
        (noise_png(640), 413, "1,000,000"),
    ],
)
def test_bad_uploads_get_a_4xx_with_a_message(client: TestClient, data, status, words) -> None:
    r = client.post("/api/predict/upload", files={"file": ("x.png", data, "image/png")})
    assert words in assert_error(r, status)


def test_upload_without_a_file_and_wrong_methods(client: TestClient) -> None:
    assert_error(client.post("/api/predict/upload"), 422)
    assert_error(client.post("/api/predict/upload", content=b"raw", headers=JSON), 422)
    assert_error(client.get("/api/predict"), 405)
    assert_error(client.get("/api/nothing-here"), 404)


def test_huge_chunked_body_is_refused_while_it_arrives(client: TestClient) -> None:
    def chunks():
        yield b'{"png": "'
        for _ in range(30):
            yield b"A" * 100_000
        yield b'"}'

    r = client.post("/api/predict", content=chunks(), headers=JSON)
    assert "larger than" in assert_error(r, 413)
    assert client.post("/api/predict", json={"pixels": [0.0] * 784}).status_code == 200


def test_huge_body_is_refused_from_its_length(client: TestClient) -> None:
    r = client.post(
        "/api/predict", content=b"x", headers={**JSON, "content-length": "999999999999"}
    )
    assert "larger than" in assert_error(r, 413)


# -- train live ----------------------------------------------------------------------------------

SMALL = {"hidden": [8], "epochs": 2, "train_examples": 600, "batch_size": 32, "lr": 0.1}


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"epochs": 10**6}, "epochs"),
        ({"hidden": [10**7]}, "hidden layer 1 must be at most 2,048"),
        ({"hidden": [2048, 2048]}, "weights"),
        ({"hidden": [16] * 10}, "hidden"),
        ({"hidden": [0]}, "hidden"),
        ({"lr": -1}, "lr"),
        ({"lr": 1e9}, "lr"),
        ({"batch_size": 0}, "batch_size"),
        ({"train_examples": 10**9}, "train_examples"),
        ({"train_examples": 60_000}, "at most 50,000"),
        ({"activation": "softmax"}, "activation"),
        ({"dataset": "imagenet"}, "dataset"),
        ({"cost": "cross-entropy", "output": "relu"}, "cross-entropy"),
        ({"layers": [784, 10]}, "layers"),
    ],
)
def test_absurd_training_settings_are_refused(client: TestClient, settings, words) -> None:
    message = assert_error(client.post("/api/train", json=settings), 422)
    assert words in message
    for internal in ("Value error", "hidden.0", "body.", "Input should"):
        assert internal not in message
    assert client.get("/api/train/status").json()["state"] == "idle"


def test_bad_training_json_is_refused(client: TestClient) -> None:
    assert "malformed" in assert_error(client.post("/api/train", content=b"{", headers=JSON), 422)
    body = b'{"lr": NaN}'
    assert "lr" in assert_error(client.post("/api/train", content=body, headers=JSON), 422)


def events_of(client: TestClient) -> list[tuple[str, dict]]:
    """The server-sent events of the current job (the stream ends with the job)."""
    events = []
    with client.stream("GET", "/api/train/events") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    return events


def test_live_training_streams_epochs_and_waits_as_a_candidate_until_adopted(
    client: TestClient, net: Network, tmp_path: Path
) -> None:
    assert "no training run" in assert_error(client.get("/api/train/events"), 404)
    assert "no training run" in assert_error(client.post("/api/train/stop", json={}), 409)
    before = [p.copy() for p in net.parameters()]
    started = client.post("/api/train", json=SMALL)
    assert started.status_code == 200, started.text
    assert started.json()["settings"]["hidden"] == [8]
    events = events_of(client)
    kinds = [k for k, _ in events]
    assert kinds[0] == "status" and kinds[-1] == "end"
    epochs = [d for k, d in events if k == "epoch"]
    assert [e["record"]["epoch"] for e in epochs] == [1, 2]
    assert all(0 <= e["record"]["validation_accuracy"] <= 1 for e in epochs)
    assert epochs[-1]["weights"]["png"].startswith("data:image/png;base64,")
    assert epochs[-1]["weights"]["shown"] == 8
    progress = [d for k, d in events if k == "progress"]
    assert all(d["batches_done"] <= 2 * 19 for d in progress)  # 600 images, 32 a batch: 19
    end = events[-1][1]["summary"]
    assert end["state"] == "finished" and end["epochs_done"] == 2
    assert end["batches_done"] == 2 * 19
    assert end["message"].startswith("finished all 2 epochs") and "(finished)" not in end["message"]
    # the served network is untouched: same shape, same numbers, same version
    model = client.get("/api/model").json()
    assert model["sizes"] == [784, 64, 10] and model["version"] == 1
    assert client.get("/api/weights").json()["of"] == 64
    assert all(np.array_equal(p, q) for p, q in zip(before, net.parameters(), strict=True))
    candidate = model["candidate"]
    assert candidate["sizes"] == [784, 8, 10] and candidate["epochs_trained"] == 2
    assert 0 < candidate["test_accuracy"] <= 1 and len(candidate["history"]) == 2
    assert candidate["file"].startswith("candidate-")
    status = client.get("/api/train/status").json()
    assert status["state"] == "finished" and not status["running"]
    assert status["candidate"] == candidate and status["served_version"] == 1
    # adopting it serves it
    adopted = client.post("/api/train/adopt", json={"job": candidate["job"]})
    assert adopted.status_code == 200, adopted.text
    assert adopted.json()["sizes"] == [784, 8, 10] and adopted.json()["version"] == 2
    model = client.get("/api/model").json()
    assert model["sizes"] == [784, 8, 10] and model["epochs_trained"] == 2
    assert model["candidate"] is None
    assert client.get("/api/weights").json()["of"] == 8
    files = [p.name for p in (tmp_path / "live").glob("*.npz")]
    assert files == ["live-" + candidate["file"].removeprefix("candidate-")]
    assert "no finished live run" in assert_error(client.post("/api/train/adopt", json={}), 409)


def test_one_training_job_at_a_time_and_stop(client: TestClient) -> None:
    slow = {"hidden": [256, 256], "epochs": 50, "train_examples": 50_000, "batch_size": 1}
    assert client.post("/api/train", json=slow).status_code == 200
    second = client.post("/api/train", json=SMALL)
    assert "already running" in assert_error(second, 409)
    assert client.get("/api/train/status").json()["running"]
    # predictions go on while it trains
    assert client.post("/api/predict", json={"pixels": [0.0] * 784}).status_code == 200
    deadline = time.monotonic() + 20
    while (
        client.get("/api/train/status").json()["state"] == "loading" and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    stop = client.post("/api/train/stop", json={})
    assert stop.status_code == 200 and stop.json()["stopping"]
    events = events_of(client)  # ends when the job has stopped
    end = events[-1][1]["summary"]
    assert end["state"] == "stopped" and end["epochs_done"] == 0
    assert end["message"].startswith("stopped after")
    assert client.get("/api/model").json()["version"] == 1  # a stopped run replaces nothing
    assert client.post("/api/train", json=SMALL).status_code == 200  # free again
    events_of(client)


def test_a_failed_dataset_load_is_reported_not_raised(net: Network) -> None:
    def no_data(name: str):
        from digitnet.errors import DigitnetError

        raise DigitnetError(f"{name} is not here")

    app = create_app(net, None, None, load_data=no_data)
    with local(app) as c:
        assert c.post("/api/train", json={**SMALL, "dataset": "fashion-mnist"}).status_code == 200
        end = events_of(c)[-1][1]["summary"]
        assert end["state"] == "failed" and "fashion-mnist is not here" in end["message"]
        assert c.post("/api/predict", json={"pixels": [0.0] * 784}).status_code == 200


# -- digitnet serve ------------------------------------------------------------------------------


def test_serve_command_loads_the_newest_model_and_binds_localhost(
    net: Network, tmp_path: Path, monkeypatch, capsys, mnist_dir: Path
) -> None:
    runs = tmp_path / "runs"
    old = save_model(runs / "a" / "model.npz", net)
    save_model(runs / "a" / "model.checkpoint.npz", net)
    time.sleep(0.01)
    newest = save_model(runs / "b" / "model.npz", net, dataset={"name": "mnist"})
    time.sleep(0.01)
    np.savez(runs / "b" / "not-a-model.npz", x=np.zeros(3))  # newer, but no model: skipped
    assert serve_command.newest_model(runs) == newest != old
    assert serve_command.newest_model(tmp_path / "nothing") is None

    calls = []
    monkeypatch.setattr("digitnet.web.server.serve", lambda *a, **k: calls.append(a))
    from digitnet.cli import main

    assert main(["serve", "--runs", str(runs), "--port", "8123", "--data-dir", str(mnist_dir)]) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8123/" in out and str(newest) in out
    (app, host, port) = calls[0]
    assert (host, port) == ("127.0.0.1", 8123)
    assert main(["serve", str(tmp_path / "missing.npz")]) == 1
    assert main(["serve", str(newest), "--port", "0"]) == 1


def test_serve_without_a_model_trains_the_lessons_network_first(
    net: Network, tmp_path: Path, monkeypatch, capsys
) -> None:
    trained = []

    def fake_run_training(recipe, out, data_dir, validation, resume=False):
        from digitnet.commands.run import Run
        from digitnet.train import History

        trained.append(recipe)
        save_model(out, net)
        return Run(net, History(), None)

    monkeypatch.setattr("digitnet.commands.run.run_training", fake_run_training)
    monkeypatch.setattr("digitnet.web.server.serve", lambda *a, **k: None)
    from digitnet.cli import main

    runs = tmp_path / "runs"
    assert main(["serve", "--runs", str(runs), "--host", "0.0.0.0", "--port", "8124"]) == 0
    captured = capsys.readouterr()
    assert trained[0]["preset"] == "lessons"
    assert trained[0]["network"]["sizes"] == [784, 16, 16, 10]
    assert "training the lessons' network first" in captured.out
    assert (runs / "model.npz").exists()
    assert "http://0.0.0.0:8124/" in captured.out
    assert "anyone who can reach port 8124 can use this server" in captured.err
