"""Live training in the browser, TensorFlow Playground style: settings from the page's URL, a
double click on Start sends one run, Step takes exactly one mini-batch while paused (and the
live diagram and test digits follow), the finished run is shown beside the served network, which
stays served until "Use this network"; the header is fresh after Stop; an answer that arrives
after the run ended does not bring it back, and a broken event stream is opened again. And the
server's guards seen from a browser: another site's text/plain POST changes nothing, and a page
reached through another host name (DNS rebinding) is refused.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from browser_helpers import open_page, save_png, serving
from playwright.sync_api import Browser, Page, Route
from web_helpers import trained_network

SETUP = "/?hidden=12&epochs=1&train_examples=1000&batch_size=50&lr=0.1&paused=1&eta=0.25"


@pytest.fixture(scope="module")
def base_url(mnist, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(trained_network(mnist), mnist, tmp_path_factory.mktemp("live")) as (url, _):
        yield url


def status(page: Page) -> dict:
    return page.evaluate("fetch('/api/train/status').then(r => r.json())")


def model(page: Page) -> dict:
    return page.evaluate("fetch('/api/model').then(r => r.json())")


def test_step_by_step_then_adopt(chromium: Browser, base_url: str) -> None:
    with open_page(chromium, base_url, SETUP) as page:
        form = "#train-form [name={}]".format
        # the settings came from the URL
        assert page.input_value(form("hidden")) == "12"
        assert page.input_value(form("batch_size")) == "50"
        assert page.is_checked(form("paused"))
        assert page.input_value("#teach-eta") == "0.25"
        served = model(page)
        starts: list[str] = []
        page.on(
            "request",
            lambda r: (
                starts.append(r.url)
                if r.method == "POST" and r.url.endswith("/api/train")
                else None
            ),
        )
        page.dblclick("#train-start")  # one run, not two
        page.wait_for_function("!document.getElementById('train-step').disabled")
        assert len(starts) == 1, starts
        assert status(page)["batches_done"] == 0
        assert page.get_attribute("#train-pause", "aria-pressed") == "true"
        # each Step is exactly one mini-batch
        for n in (1, 2, 3):
            with page.expect_response("**/api/train/step"):
                page.click("#train-step")
            page.wait_for_function(
                f"document.getElementById('train-status').dataset.batches === '{n}'"
            )
            s = status(page)
            assert (s["batches_done"], s["batch_in_epoch"], s["state"]) == (n, n, "paused")
            assert f"mini-batch {n} of 20" in page.inner_text("#train-status")
        # the live network's diagram and test digits follow it
        page.wait_for_function("document.querySelectorAll('#live-digits figure').length === 8")
        assert "live network" in page.get_attribute("#live-diagram", "aria-label")
        # resume: the run ends, its network is a candidate; the served one is still served
        page.click("#train-pause")
        page.wait_for_function(
            "document.getElementById('train-status').dataset.state === 'finished'",
            timeout=60_000,
        )
        page.wait_for_selector("#candidate:not([hidden])")
        page.wait_for_function("document.querySelectorAll('#live-digits figure').length === 8")
        shots = Path(os.environ.get("DIGITNET_SHOTS") or tempfile.mkdtemp())
        save_png(page.locator("#train-panel").screenshot(), shots / "train.png")
        table = page.inner_text("#candidate-table")
        assert "784-12-10" in table and "784-64-10" in table
        assert model(page)["version"] == served["version"]
        assert model(page)["sizes"] == [784, 64, 10]
        assert page.inner_text("#model-desc").startswith("784-64-10")
        # a neuron of the served network is being inspected (layer 1 has 64, the candidate 12)
        with page.expect_response("**/api/neuron"):
            page.evaluate("digitnet.select(1, 40)")
        page.wait_for_function("document.getElementById('inspect').innerText.includes('neuron 40')")
        # only "Use this network" serves it; the panel lets go of the neuron it no longer has
        with page.expect_response("**/api/train/adopt"):
            page.click("#adopt")
        page.wait_for_function(
            "document.getElementById('model-desc').textContent.startsWith('784-12-10')"
        )
        assert "served network changed" in page.inner_text("#inspect")
        assert page.evaluate("digitnet.state.selected") is None
        now = model(page)
        assert now["version"] == served["version"] + 1 and now["sizes"] == [784, 12, 10]
        assert page.is_hidden("#candidate")
        # the URL holds the settings as they are now
        page.fill(form("hidden"), "20,10")
        query = parse_qs(page.evaluate("location.search").lstrip("?"))
        assert query["hidden"] == ["20,10"] and query["lr"] == ["0.1"]


def test_stop_leaves_the_header_fresh(chromium: Browser, base_url: str) -> None:
    path = "/?hidden=16&epochs=50&train_examples=50000&batch_size=1&lr=0.01"
    with open_page(chromium, base_url, path) as page:
        page.click("#train-start")
        page.wait_for_function("!document.getElementById('train-stop').disabled")
        page.wait_for_function(
            "Number(document.getElementById('train-status').dataset.batches) > 3"
        )
        page.click("#train-stop")
        page.wait_for_function(
            "document.getElementById('train-status').dataset.state === 'stopped'", timeout=30_000
        )
        assert "(stopped" not in page.inner_text("#train-status")  # no "stopped (stopped)"
        m = model(page)
        page.wait_for_function(
            f"document.getElementById('model-desc').dataset.version === '{m['version']}'"
        )
        header = page.inner_text("#model-desc")
        assert header.startswith("-".join(map(str, m["sizes"])))
        if m["test_accuracy"] is not None:
            assert f"{100 * m['test_accuracy']:.2f}%" in header


@contextmanager
def other_site() -> Iterator[str]:
    """Another site on this machine (another port is another origin): its base URL."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = b"<!doctype html><title>another site</title><p>another site</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_another_site_cannot_drive_the_run(chromium: Browser, base_url: str) -> None:
    with open_page(chromium, base_url, SETUP) as page:
        page.click("#train-start")
        page.wait_for_function("!document.getElementById('train-step').disabled")
        ctx = chromium.new_context()
        evil = ctx.new_page()
        with other_site() as other:
            evil.goto(other)
            for path in ("/api/train/step", "/api/train/resume", "/api/train/stop"):
                sent = evil.evaluate(
                    """url => fetch(url, {method: 'POST', mode: 'no-cors',
                        headers: {'Content-Type': 'text/plain'}, body: '{}'})
                        .then(() => 'sent', err => String(err))""",
                    base_url + path,
                )
                assert sent == "sent"  # it reached the server, which refused it
        s = status(page)
        assert (s["state"], s["batches_done"]) == ("paused", 0)
        # a page reached through another name for this machine is refused (DNS rebinding)
        port = urlparse(base_url).port
        rebound = evil.goto(f"http://rebind.test:{port}/")
        assert rebound is not None and rebound.status == 400
        ctx.close()
        page.click("#train-stop")
        page.wait_for_function(
            "['stopped', 'finished']"
            ".includes(document.getElementById('train-status').dataset.state)",
            timeout=30_000,
        )


def test_a_late_answer_does_not_bring_an_ended_run_back(chromium: Browser, base_url: str) -> None:
    """The answer to Stop describes the run before it ended; when it arrives after the event
    stream's "end" (a busy machine), the page still shows the run as stopped."""
    with open_page(chromium, base_url, SETUP) as page:
        page.click("#train-start")
        page.wait_for_function("document.getElementById('train-status').dataset.state === 'paused'")
        before = status(page)
        assert (before["state"], before["running"]) == ("paused", True)
        held: list = []
        page.route("**/api/train/stop", lambda route: held.append((route, route.fetch())))
        page.evaluate(
            """() => { const fetch0 = window.fetch;
                window.fetch = (...args) => fetch0(...args).then((r) => {
                    if (String(args[0]).endsWith('/api/train/stop'))
                        r.clone().json().then(() => { window.stopAnswerRead = true; });
                    return r; }); }"""
        )
        page.click("#train-stop")
        # the run has ended and the stream said so, while the answer to Stop is held back
        page.wait_for_function(
            "document.getElementById('train-status').dataset.state === 'stopped'", timeout=30_000
        )
        assert len(held) == 1
        route, answer = held[0]
        assert answer.status == 200
        # the answer as the server gives it when it is made before the run reaches its next step
        route.fulfill(response=answer, json={**before, "stopping": True})
        page.wait_for_function("window.stopAnswerRead === true")
        page.evaluate("new Promise((done) => setTimeout(done, 100))")
        assert page.get_attribute("#train-status", "data-state") == "stopped"
        assert page.is_enabled("#train-start") and page.is_disabled("#train-stop")
        assert page.inner_text("#train-status").startswith("Run #")


def test_a_broken_event_stream_is_opened_again(chromium: Browser, base_url: str) -> None:
    """If the event stream breaks while the run goes on, the page listens again and still
    learns how the run ends."""
    with open_page(chromium, base_url, SETUP) as page:
        streams: list[str] = []

        def events(route: Route) -> None:
            streams.append(route.request.url)
            if len(streams) == 1:  # a stream that ends at once, as when a proxy cuts it
                route.fulfill(status=200, content_type="text/event-stream", body=": cut\n\n")
            else:
                route.continue_()

        page.route("**/api/train/events", events)
        page.click("#train-start")
        page.wait_for_function("!document.getElementById('train-step').disabled")
        with page.expect_request("**/api/train/events", timeout=10_000):
            pass  # the second stream, opened after the first one failed
        page.wait_for_function("document.getElementById('train-status').dataset.state === 'paused'")
        page.click("#train-stop")
        page.wait_for_function(
            "document.getElementById('train-status').dataset.state === 'stopped'", timeout=30_000
        )
        assert len(streams) == 2
