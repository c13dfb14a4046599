"""The web app on a shared machine: only this server's Host, only its own page may change state.

A page on another site can make a browser send requests to 127.0.0.1 (a form, a ``text/plain``
fetch) or rebind its own name to 127.0.0.1 (DNS rebinding): the first carries a foreign
``Origin`` or a non-JSON body (403), the second a foreign ``Host`` (400). These are checked
through the test client and through a real server on a real socket; no answer may hold an
absolute path of the server's files.
"""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_web_api import assert_error, events_of, local
from web_helpers import trained_network

from digitnet.cli import main
from digitnet.errors import DigitnetError
from digitnet.network import Network
from digitnet.web import create_app
from digitnet.web.app import STATE_CHANGING, public
from digitnet.web.server import start_in_thread

JSON = {"content-type": "application/json"}
TINY = {"hidden": [4], "epochs": 1, "train_examples": 200, "batch_size": 100}


@pytest.fixture(scope="module")
def net(mnist) -> Network:
    return trained_network(mnist)


@pytest.fixture
def client(net: Network, mnist, tmp_path: Path):
    app = create_app(net, None, mnist, save_dir=tmp_path / "live")
    with local(app) as c:
        yield c
    if app.state.trainer.running:
        app.state.trainer.stop()
    app.state.trainer.wait(30)


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:8000", "127.0.0.1:9999", "127.0.0.1.evil.example:8000",
     "127.0.0.1:8000:1", "127.0.0.1:abc", "[::1", "", "localhost.:8000"],
)  # fmt: skip
def test_a_foreign_host_is_refused(client: TestClient, host: str) -> None:
    for method, path in (("GET", "/api/model"), ("GET", "/"), ("POST", "/api/predict")):
        r = client.request(method, path, headers={"host": host}, json={"pixels": [0.0] * 784})
        assert "does not name this server" in assert_error(r, 400)


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8000", "localhost:8000", "LOCALHOST:8000", "[::1]:8000"]
)
def test_the_loopback_names_are_served(client: TestClient, host: str) -> None:
    assert client.get("/api/model", headers={"host": host}).status_code == 200


def test_a_named_host_is_served_too(net: Network) -> None:
    with TestClient(create_app(net, hosts=("lab-pc",)), base_url="http://lab-pc:8000") as c:
        assert c.get("/api/model").status_code == 200
        assert c.get("/api/model", headers={"host": "other-pc:8000"}).status_code == 400


def test_state_changing_requests_must_be_json(client: TestClient) -> None:
    assert STATE_CHANGING >= {"/api/train", "/api/train/stop", "/api/train/adopt"}
    for path in sorted(STATE_CHANGING):
        for headers in (
            {"content-type": "text/plain"},
            {},
            {"content-type": "multipart/form-data"},
        ):
            r = client.post(path, content=b"{}", headers=headers)
            assert "only JSON" in assert_error(r, 403), path
        r = client.post(path, content=b"{}", headers={**JSON, "origin": "https://evil.example"})
        assert "another page" in assert_error(r, 403)
        r = client.post(path, content=b"{}", headers={**JSON, "origin": "null"})
        assert_error(r, 403)
    assert client.get("/api/train/status").json()["state"] == "idle"  # nothing was started


def test_a_cross_site_text_plain_stop_does_not_stop_the_run(client: TestClient) -> None:
    assert client.post("/api/train", json={**TINY, "paused": True}).status_code == 200
    cross_site = client.post(
        "/api/train/stop",
        content=b"stop",
        headers={"content-type": "text/plain", "origin": "https://evil.example"},
    )
    assert_error(cross_site, 403)
    assert_error(
        client.post("/api/train/stop", content=b"", headers={"content-type": "text/plain"}), 403
    )
    s = client.get("/api/train/status").json()
    assert s["running"] and s["state"] == "paused" and s.get("stopping") is None
    own = client.post("/api/train/stop", json={}, headers={"origin": "http://127.0.0.1:8000"})
    assert own.status_code == 200 and own.json()["stopping"]
    assert events_of(client)[-1][1]["summary"]["state"] == "stopped"


def test_reading_from_another_origin_is_allowed_but_not_shared(client: TestClient) -> None:
    r = client.get("/api/model", headers={"origin": "https://evil.example"})
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers  # a browser hides it from that page


def all_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *all_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in all_strings(v)]
    return []


def test_no_answer_holds_an_absolute_path(net, mnist, tmp_path: Path, shared_data: Path) -> None:
    save = tmp_path / "live"
    app = create_app(net, None, mnist, save_dir=save)
    secret = (str(tmp_path), str(shared_data), str(Path.home()), "/work/")
    answers = []
    with local(app) as c:
        assert c.post("/api/train", json=TINY).status_code == 200
        answers += [d for _, d in events_of(c)]
        answers += [
            c.get("/api/model").json(),
            c.get("/api/train/status").json(),
            c.get("/api/test-images", params={"count": 3}).json(),
            c.get("/openapi.json").json(),
            c.post("/api/train/adopt", json={}).json(),
            c.get("/api/train/status").json(),
        ]
    assert list(save.glob("live-*.npz"))  # it was saved, under an absolute path

    def no_data(name: str):
        raise DigitnetError(f"no {name} in {tmp_path / 'data' / name} (looked in $DIGITNET_DATA)")

    with local(create_app(net, None, None, load_data=no_data)) as c:
        assert c.post("/api/train", json=TINY).status_code == 200
        failed = events_of(c)
        answers += [d for _, d in failed] + [c.get("/api/train/status").json()]
    message = failed[-1][1]["summary"]["message"]
    assert message == "no mnist in .../mnist (looked in $DIGITNET_DATA)"
    for text in all_strings(answers):
        for path in secret:
            assert path not in text, (path, text[:200])


def test_public_keeps_a_line_without_paths() -> None:
    assert public("could not save /home/ann/runs/web/x.npz: disk full") == (
        "could not save .../x.npz: disk full"
    )
    assert public("a\nb  c") == "a b c"
    assert public("eta must be at most 100, got 1e+09") == "eta must be at most 100, got 1e+09"
    assert public("(see C:\\Users\\ann\\data)") == "(see .../data)"


# -- a real server on a real socket -------------------------------------------------------------


@pytest.fixture(scope="module")
def server(net, mnist, tmp_path_factory):
    app = create_app(net, None, mnist, save_dir=tmp_path_factory.mktemp("live"))
    server, thread, url = start_in_thread(app, "127.0.0.1")
    yield url
    server.should_exit = True
    thread.join(10)


def raw(url: str, method: str, path: str, body: bytes = b"", **headers: str) -> tuple[int, dict]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name.replace("_", "-"), value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        data = r.read()
        try:
            return r.status, json.loads(data or b"{}")
        except ValueError:  # uvicorn's own refusal of a request it cannot parse
            return r.status, {"detail": data.decode("latin-1")}
    finally:
        conn.close()


def test_a_real_server_checks_host_port_and_origin(server: str) -> None:
    own = server.removeprefix("http://")
    port = own.split(":")[1]
    assert raw(server, "GET", "/api/model", Host=own)[0] == 200
    assert raw(server, "GET", "/api/model", Host=f"localhost:{port}")[0] == 200
    status, body = raw(server, "GET", "/api/model", Host=f"rebound.example:{port}")
    assert status == 400 and "does not name this server" in body["detail"]
    assert raw(server, "GET", "/api/model", Host="127.0.0.1:1")[0] == 400  # another port
    assert raw(server, "GET", "/api/model")[0] == 400  # no Host at all
    status, body = raw(
        server,
        "POST",
        "/api/train/stop",
        b"x",
        Host=own,
        Origin="https://evil.example",
        Content_Type="text/plain",
    )
    assert status == 403 and "\n" not in body["detail"]
    status, body = raw(
        server,
        "POST",
        "/api/train/stop",
        b"{}",
        Host=own,
        Content_Type="application/json",
        Origin=f"http://{own}",
    )
    assert status == 409 and "no training run" in body["detail"]


# -- digitnet serve ------------------------------------------------------------------------------


def test_serve_refuses_an_empty_host(capsys) -> None:
    assert main(["serve", "--host", "", "--port", "8125"]) == 1
    err = capsys.readouterr().err.strip()
    assert "--host" in err and "127.0.0.1" in err and len(err.splitlines()) == 1


def test_serve_warns_beyond_loopback_and_answers_to_its_host(net, tmp_path, monkeypatch, capsys):
    from digitnet.model_io import save_model

    model = save_model(tmp_path / "m.npz", net)
    apps = []
    monkeypatch.setattr("digitnet.web.server.serve", lambda app, *a, **k: apps.append(app))
    # 192.0.2.7 (a documentation address) is no interface of this machine: bind nothing real
    monkeypatch.setattr("digitnet.commands.serve.listen", lambda host, port: socket.socket())
    assert main(["serve", str(model), "--host", "192.0.2.7", "--port", "8126"]) == 0
    err = capsys.readouterr().err
    assert "anyone who can reach port 8126 can use this server" in err
    with TestClient(apps[0], base_url="http://192.0.2.7:8126") as c:
        assert c.get("/api/model").status_code == 200
        assert c.get("/api/model", headers={"host": "evil.example:8126"}).status_code == 400
    assert main(["serve", str(model), "--host", "localhost", "--port", "8127"]) == 0
    assert "anyone who can reach" not in capsys.readouterr().err
