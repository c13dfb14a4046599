"""``/api/neuron/function``: one neuron as a function, through the ASGI test client.

Its numbers are :func:`digitnet.explain.neuron_function`'s, unrounded; moving the bias or a
weight moves z by exactly that much times its input (on a scratch copy); bad slider values, a
neuron that is not there and malformed bodies get a 4xx with a one-line message; and the served
network (its parameters, its version, its answers) never changes.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from web_helpers import local_client, trained_network

from digitnet.explain import MAX_PARAMETER, neuron_function
from digitnet.network import Network
from digitnet.web import create_app

URL = "/api/neuron/function"
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def net(mnist) -> Network:
    return trained_network(mnist)


@pytest.fixture
def client(net: Network, mnist, tmp_path: Path):
    app = create_app(net, None, mnist, save_dir=tmp_path / "live")
    with local_client(app) as c:
        yield c
    app.state.trainer.wait(30)


@pytest.fixture(scope="module")
def pixels(mnist) -> list[float]:
    """Test image 0 (a 7), as the page sends it: 784 numbers in [0, 1]."""
    return np.asarray(mnist.X_test[0], np.float64).tolist()


def assert_error(response: Any, *statuses: int) -> str:
    """A 4xx JSON answer with a one-line message; returns the message."""
    assert response.status_code in statuses, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"], body
    assert "\n" not in body["detail"]
    return body["detail"]


def png_of(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def snapshot(net: Network) -> list[np.ndarray]:
    return [p.copy() for p in net.parameters()]


def unchanged(before: list[np.ndarray], net: Network) -> bool:
    return all(np.array_equal(p, q) for p, q in zip(before, net.parameters(), strict=True))


@pytest.mark.parametrize(
    ("layer", "j", "bias", "weight"),
    [(1, 5, None, None), (1, 17, 2.5, (300, -3.0)), (2, 7, -1.25, None), (2, 0, None, (9, 4.0))],
)
def test_the_answer_is_neuron_function_s(
    client: TestClient, net: Network, pixels: list[float], layer, j, bias, weight
) -> None:
    body: dict[str, Any] = {"pixels": pixels, "layer": layer, "index": j}
    if bias is not None:
        body["bias"] = bias
    if weight is not None:
        body["weight"] = {"k": weight[0], "value": weight[1]}
    r = client.post(URL, json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    x = np.asarray(pixels, np.float32)  # what the route reads
    expected = neuron_function(net, x, layer, j, bias=bias, weight=weight)
    for key, value in expected.items():
        assert got[key] == value, key
    # the strongest incoming connection for this image: the largest |w_jk a_k|
    trace = net.trace(x)
    push = np.abs(net.W[layer - 1][j].astype(np.float64) * trace.a[layer - 1][0])
    assert got["strongest_k"] == int(np.argmax(push))
    assert got["z"] == pytest.approx(float(trace.z[layer][0, j]), rel=1e-6)
    assert got["model_version"] == client.get("/api/model").json()["version"]
    if bias is None and weight is None:
        assert got["moved"] is None
        return
    # z moves by the change of b plus the change of w_jk times a_k, and nothing else
    moved = got["moved"]
    dz = (moved["b"] - got["b"]) + (
        0.0 if weight is None else (weight[1] - moved["old_w_k"]) * got["a_prev"][weight[0]]
    )
    assert moved["z"] == pytest.approx(got["z"] + dz, rel=1e-5, abs=1e-4)
    assert moved["b"] == (got["b"] if bias is None else bias)


def test_a_huge_bias_flips_the_answer_but_not_the_served_network(
    client: TestClient, net: Network, pixels: list[float]
) -> None:
    before = snapshot(net)
    version = client.get("/api/model").json()["version"]
    served = client.post("/api/predict", json={"pixels": pixels}).json()
    out = client.post(URL, json={"pixels": pixels, "layer": 2, "index": 3, "bias": 1000.0}).json()
    assert served["prediction"] == 7 and out["answer"] == 7  # test image 0 is a 7
    assert out["moved"]["answer"] == 3  # output 3's bias of 1000 wins
    assert out["moved"]["probabilities"][3] > 0.99
    assert out["probabilities"] == pytest.approx(served["probabilities"], abs=1e-4)
    for bias in (-5.0, 0.0, 5.0, MAX_PARAMETER, -MAX_PARAMETER):
        body = {"pixels": pixels, "layer": 1, "index": 0, "bias": bias}
        assert client.post(URL, json=body).status_code == 200
    assert unchanged(before, net)
    assert client.get("/api/model").json()["version"] == version
    assert client.post("/api/predict", json={"pixels": pixels}).json() == served


def test_a_png_is_read_as_predict_reads_it(client: TestClient) -> None:
    # a 1x1 white PNG, which preprocessing reads as a blank page: the refusal /api/predict gives
    blank = base64.b64encode(png_of(Image.new("L", (1, 1), 255))).decode("ascii")
    r = client.post(URL, json={"png": blank, "layer": 1, "index": 0})
    predicted = client.post("/api/predict", json={"png": blank})
    assert assert_error(r, 422) == assert_error(predicted, 422)


def raw(body: str, pixels: list[float]) -> bytes:
    """A request body as text (to send NaN and Infinity, which json.dumps does not write), with
    BASE standing for neuron 0 of layer 1 and the image, PIXELS for the image's pixels."""
    base = '"pixels": PIXELS, "layer": 1, "index": 0'
    return body.replace("BASE", base).replace("PIXELS", json.dumps(pixels)).encode()


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ('{BASE, "bias": NaN}', 422, "bias must be a finite"),
        ('{BASE, "bias": Infinity}', 422, "finite"),
        ('{BASE, "bias": -Infinity}', 422, "finite"),
        ('{BASE, "bias": 1e400}', 422, "finite"),
        ('{BASE, "bias": 1e5}', 422, "bias must be at most"),
        ('{BASE, "bias": -10000.5}', 422, "at least -10000"),
        ('{BASE, "bias": "1"}', 422, "bias must be a number"),
        ('{BASE, "bias": true}', 422, "bias"),
        ('{BASE, "weight": {"k": 3, "value": NaN}}', 422, "weight.value must be a finite"),
        ('{BASE, "weight": {"k": 3, "value": 1e9}}', 422, "at most 10000"),
        (
            '{BASE, "weight": {"k": 784, "value": 1}}',
            422,
            "k (a neuron of layer 0) must be from 0 to 783, got 784",
        ),
        (
            '{"pixels": PIXELS, "layer": 2, "index": 0, "weight": {"k": 64, "value": 1}}',
            422,
            "from 0 to 63",
        ),
        ('{BASE, "weight": {"k": -1, "value": 1}}', 422, "at least 0"),
        ('{BASE, "weight": {"k": 1.5, "value": 1}}', 422, "whole number"),
        ('{BASE, "weight": {"value": 1}}', 422, "missing"),
        ('{BASE, "weight": [3, 1]}', 422, "JSON object"),
        ('{BASE, "weight": {"k": 3, "value": 1, "j": 2}}', 422, "not a setting"),
        ('{"pixels": PIXELS, "layer": 1, "index": 64}', 404, "layer 1 has 64 neurons (0..63)"),
        ('{"pixels": PIXELS, "layer": 2, "index": 10}', 404, "there is no neuron 10"),
        ('{"pixels": PIXELS, "layer": 3, "index": 0}', 404, "there is no layer 3"),
        ('{"pixels": PIXELS, "layer": 0, "index": 0}', 422, "layer must be at least 1"),
        ('{"pixels": PIXELS, "layer": 1, "index": -1}', 422, "index must be at least 0"),
        ('{"pixels": PIXELS, "layer": 1, "index": 1e400}', 422, "index"),
        ('{"pixels": PIXELS, "layer": 1}', 422, "index is missing"),
        ('{BASE, "neuron": 0}', 422, "not a setting"),
        ('{"layer": 1, "index": 0, "bias": 1}', 422, "exactly one"),
        ('{"pixels": [NaN], "layer": 1, "index": 0}', 422, "finite"),
        ('{BASE, "bias": 1', 422, "malformed JSON"),
        ("[1, 0, 2.5]", 422, "must be a JSON object"),
    ],
)
def test_bad_input_gets_a_4xx_one_line_and_changes_nothing(
    client: TestClient, net: Network, pixels: list[float], body: str, status: int, words: str
) -> None:
    before = snapshot(net)
    version = client.get("/api/model").json()["version"]
    message = assert_error(client.post(URL, content=raw(body, pixels), headers=JSON), status)
    assert words in message, message
    assert unchanged(before, net)
    assert client.get("/api/model").json()["version"] == version
    # and the server keeps answering
    ok = client.post(URL, json={"pixels": pixels, "layer": 1, "index": 0, "bias": 1.0})
    assert ok.status_code == 200 and ok.json()["moved"]["b"] == 1.0
