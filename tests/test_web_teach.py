"""Teaching the network one image: POST /api/backprop and /api/backprop/step.

The numbers must be the lessons' own: those of ``digitnet plot nudges``
(:func:`digitnet.views.nudges.backprop_nudges`) and of ``digitnet explain``
(:func:`digitnet.explain.explain`, the chain rule with a finite difference beside it), for the
same image and label; the connections and neurons those of ``/api/trace``. A step of gradient
descent with a positive eta must raise the label's probability, and the served network must
never change. Every bad request gets a 4xx with one plain line.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from test_web_api import assert_error, b64, drawn_one, local, png_of
from web_helpers import trained_network

from digitnet.explain import explain
from digitnet.network import Network
from digitnet.views.nudges import backprop_nudges
from digitnet.web import create_app

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def net(mnist) -> Network:
    return trained_network(mnist)


@pytest.fixture(scope="module")
def deep() -> Network:
    """The lessons' shape, 784-16-16-10 sigmoid with the quadratic cost, in float64."""
    return Network(
        [784, 16, 16, 10], activation="sigmoid", cost="quadratic", seed=3, dtype="float64"
    )


@pytest.fixture
def client(net: Network, mnist):
    with local(create_app(net, None, mnist)) as c:
        yield c


def close(got: Any, expected: Any, rtol: float = 1e-5, atol: float = 1e-12) -> None:
    """The API sends 6 significant digits: equal to that."""
    np.testing.assert_allclose(np.asarray(got, np.float64), expected, rtol=rtol, atol=atol)


def check_against_the_lessons(c: TestClient, net: Network, x: np.ndarray, y: int) -> None:
    r = c.post("/api/backprop", json={"pixels": x.tolist(), "label": y})
    assert r.status_code == 200, r.text
    body = r.json()
    L = net.n_layers
    trace = net.trace(x)
    nudges = backprop_nudges(net, trace, np.array([y]))  # digitnet plot nudges' numbers
    assert (body["label"], body["label_name"]) == (y, str(y))
    assert body["prediction"] == int(np.argmax(trace.output[0]))
    close(body["outputs"], trace.output[0])
    close(body["wanted_a"], nudges.wanted_a)
    close(body["via_bias"], nudges.via_bias)
    close(body["via_weights"], nudges.via_weights)
    close(body["via_activations"], nudges.via_activations)
    close(body["wanted_prev"], nudges.wanted_prev)
    assert [layer["layer"] for layer in body["layers"]] == list(range(1, L + 1))
    for layer in body["layers"]:
        l = layer["layer"]
        minus_dW = nudges.minus_grad_W[l - 1]
        close(layer["dC_db"], -nudges.minus_grad_b[l - 1])
        close(layer["delta"], -nudges.minus_grad_b[l - 1])
        close(layer["max_abs_dC_dW"], np.abs(minus_dW).max())
        close(layer["norm_dC_dW"], np.linalg.norm(minus_dW))
    close(body["layers"][-1]["wanted_a"], nudges.wanted_a)
    # the diagram's neurons and connections are /api/trace's, in the same order
    t = c.post("/api/trace", json={"pixels": x.tolist()}).json()
    assert [layer["shown"] for layer in body["layers"]] == [
        layer["shown"] for layer in t["layers"][1:]
    ]
    assert [(e["layer"], e["from"], e["to"]) for e in body["connections"]] == [
        (e["layer"], e["from"], e["to"]) for e in t["connections"]
    ]
    for e in body["connections"]:
        close(e["dC_dw"], -nudges.minus_grad_W[e["layer"] - 1][e["to"], e["from"]])
    if net.dtype != np.float64:
        return  # explain works in float64: compared on float64 networks, to the digits sent
    # and digitnet explain's chain rule, for a few weights of every layer
    for l in range(1, L + 1):
        layer = body["layers"][l - 1]
        for e in [e for e in body["connections"] if e["layer"] == l][:3]:
            ex = explain(net, x, y, l, e["to"], e["from"])
            assert e["dC_dw"] == pytest.approx(ex.backprop_w, rel=1e-5, abs=1e-15)
            assert e["dC_dw"] == pytest.approx(ex.product, rel=1e-5, abs=1e-15)
            assert layer["dC_db"][e["to"]] == pytest.approx(ex.backprop_b, rel=1e-5, abs=1e-15)
            assert layer["wanted_a"][e["to"]] == pytest.approx(-ex.dC_da, rel=1e-5, abs=1e-15)
            assert body["cost"] == pytest.approx(ex.C, rel=1e-5)


def test_backprop_gives_the_numbers_of_plot_nudges_and_explain(client, net, mnist) -> None:
    for i in (0, 1, 7):
        x, y = mnist.X_test[i], int(mnist.y_test[i])
        check_against_the_lessons(client, net, x, y)  # the served float32 network: nudges
        check_against_the_lessons(client, net, x, (y + 3) % 10)  # a wrong label too
    twin = net.copy("float64")
    with local(create_app(twin)) as c:
        for i in (0, 1, 7):
            x, y = mnist.X_test[i], int(mnist.y_test[i])
            check_against_the_lessons(c, twin, x, y)  # and explain
            check_against_the_lessons(c, twin, x, (y + 3) % 10)


def test_backprop_of_the_lessons_three_layer_network(deep: Network, mnist) -> None:
    with local(create_app(deep)) as c:
        for i in (0, 4):
            check_against_the_lessons(c, deep, mnist.X_test[i], int(mnist.y_test[i]))


def test_backprop_takes_a_drawn_png_too(client: TestClient) -> None:
    r = client.post("/api/backprop", json={"png": b64(drawn_one()), "label": 1})
    assert r.status_code == 200, r.text
    assert r.json()["wanted_a"][1] > 0  # the 1 should go up
    assert all(v <= 0 for j, v in enumerate(r.json()["wanted_a"]) if j != 1)


def params(net: Network) -> list[np.ndarray]:
    return [p.copy() for p in net.parameters()]


def unchanged(before: list[np.ndarray], net: Network) -> bool:
    return all(np.array_equal(p, q) for p, q in zip(before, net.parameters(), strict=True))


def test_a_step_raises_the_labels_probability_on_a_copy_only(client, net, mnist) -> None:
    before = params(net)
    version = client.get("/api/model").json()["version"]
    for i in range(5):
        x = mnist.X_test[i]
        answer = client.post("/api/predict", json={"pixels": x.tolist()}).json()
        for label in (int(mnist.y_test[i]), (int(mnist.y_test[i]) + 1) % 10):
            r = client.post(
                "/api/backprop/step", json={"pixels": x.tolist(), "label": label, "eta": 0.5}
            )
            assert r.status_code == 200, r.text
            s = r.json()
            assert s["cost_after"] < s["cost_before"]
            if s["label_probability_before"] < 0.999:  # else it rises in digits not sent
                assert s["label_probability_after"] > s["label_probability_before"]
            assert s["label_probability_after"] >= s["label_probability_before"]
            assert s["probabilities_after"][label] == pytest.approx(
                s["label_probability_after"], abs=1e-5
            )
            assert s["probabilities_before"] == pytest.approx(answer["probabilities"], abs=1e-4)
            assert s["model_version"] == version
    assert unchanged(before, net)  # the served network never moved


def test_a_step_is_one_gradient_descent_step(deep: Network, mnist) -> None:
    """The after-probabilities are those of W - eta dC/dW, b - eta dC/db, worked here by hand."""
    x, y, eta = mnist.X_test[3], 4, 2.0
    grads = deep.gradient(x[None, :], np.array([y]))
    by_hand = deep.copy()
    for l in range(deep.n_layers):
        by_hand.W[l] -= eta * grads.W[l]
        by_hand.b[l] -= eta * grads.b[l]
    with local(create_app(deep)) as c:
        s = c.post("/api/backprop/step", json={"pixels": x.tolist(), "label": y, "eta": eta})
    assert s.status_code == 200, s.text
    close(s.json()["probabilities_after"], by_hand.predict_proba(x)[0], rtol=0, atol=1e-6)
    close(s.json()["cost_after"], by_hand.total_cost(x[None, :], np.array([y])))


PIXELS = ",".join(["0.5"] * 784)


@pytest.mark.parametrize(
    ("path", "content", "status", "words"),
    [
        ("/api/backprop", {"label": 10}, 422, "label 10 is not one of this model's classes"),
        ("/api/backprop", {"label": 99}, 422, "0..9"),
        ("/api/backprop", {"label": -1}, 422, "label must be at least 0"),
        ("/api/backprop", {"label": "3"}, 422, "label must be a whole number"),
        ("/api/backprop", {"label": 2.5}, 422, "label must be a whole number"),
        ("/api/backprop", {}, 422, "label is missing"),
        ("/api/backprop", {"label": 1, "pixels": [0.0] * 784}, 422, "blank"),
        ("/api/backprop", {"label": 1, "pixels": [0.01] * 784}, 422, "blank"),
        ("/api/backprop/step", {"label": 1, "eta": 0}, 422, "eta must be greater than 0"),
        ("/api/backprop/step", {"label": 1, "eta": -1}, 422, "eta must be greater than 0"),
        ("/api/backprop/step", {"label": 1, "eta": 1e9}, 422, "eta must be at most 100"),
        ("/api/backprop/step", {"label": 1, "eta": 100.5}, 422, "eta must be at most 100"),
        ("/api/backprop/step", {"label": 1}, 422, "eta is missing"),
        ("/api/backprop/step", {"label": 1, "eta": "1"}, 422, "eta must be a number"),
        ("/api/backprop/step", {"label": 12, "eta": 1}, 422, "label 12"),
        ("/api/backprop/step", b'{"label": 1, "eta": NaN, "pixels": [' + PIXELS.encode() + b"]}",
         422, "eta must be a finite number"),
        ("/api/backprop/step",
         b'{"label": 1, "eta": Infinity, "pixels": [' + PIXELS.encode() + b"]}", 422, "finite"),
        ("/api/backprop/step", {"label": 1, "eta": 1, "pixels": [0.0] * 784}, 422, "blank"),
        ("/api/backprop", {"label": 1, "png": b64(png_of(Image.new("L", (50, 50), 255)))},
         422, "blank"),
    ],
)  # fmt: skip
def test_bad_teaching_requests_get_a_plain_4xx(client, net, mnist, path, content, status, words):
    before = params(net)
    if isinstance(content, dict):
        if "pixels" not in content and "png" not in content:
            content = {**content, "pixels": mnist.X_test[0].tolist()}
        r = client.post(path, json=content)
    else:
        r = client.post(path, content=content, headers=JSON)
    message = assert_error(r, status)
    assert words in message, message
    for internal in ("Value error", "Input should", "body."):
        assert internal not in message
    assert unchanged(before, net)
    ok = {"pixels": mnist.X_test[0].tolist(), "label": 7, "eta": 0.1}
    assert client.post("/api/backprop/step", json=ok).status_code == 200


def test_a_step_must_be_json_from_the_page_itself(client, mnist) -> None:
    body = json.dumps({"pixels": mnist.X_test[0].tolist(), "label": 7, "eta": 1.0})
    plain = client.post("/api/backprop/step", content=body, headers={"content-type": "text/plain"})
    assert "only JSON" in assert_error(plain, 403)
    foreign = client.post(
        "/api/backprop/step", content=body, headers={**JSON, "origin": "http://evil.example"}
    )
    assert "another page" in assert_error(foreign, 403)
    own = client.post(
        "/api/backprop/step", content=body, headers={**JSON, "origin": "http://127.0.0.1:8000"}
    )
    assert own.status_code == 200, own.text


def test_the_schema_describes_teaching(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert "/api/backprop" in paths and "/api/backprop/step" in paths
    components = schema["components"]["schemas"]
    step = components["StepInput"]["properties"]
    assert "description" in step["eta"] and step["eta"]["exclusiveMinimum"] == 0
    assert "description" in components["TeachInput"]["properties"]["label"]
    answer = components["BackpropAnswer"]["properties"]
    for name in ("wanted_a", "via_bias", "via_weights", "via_activations", "wanted_prev", "layers"):
        assert answer[name]["description"]


def test_a_step_that_leaps_says_so(net: Network, mnist) -> None:
    """The warning is there exactly when one step moves P(label) by more than 30 points; on the
    trained network a small eta nudges and a large one leaps."""
    x, y = mnist.X_test[0], 9  # a 7, taught as a 9
    warned = []
    with local(create_app(net)) as c:
        for eta in (0.01, 0.1, 1.0, 10.0, 100.0):
            s = c.post("/api/backprop/step", json={"pixels": x.tolist(), "label": y, "eta": eta})
            assert s.status_code == 200, s.text
            body = s.json()
            change = body["label_probability_after"] - body["label_probability_before"]
            close(body["label_probability_change"], change, rtol=1e-3, atol=1e-6)
            assert (body["warning"] is not None) == (abs(change) > 0.30)
            if body["warning"]:
                assert "leap" in body["warning"] and f"try eta {eta / 10:g}" in body["warning"]
            warned.append(body["warning"] is not None)
    assert warned[0] is False and warned[-1] is True, warned
