"""The page on a phone: a 390x844 touch screen (Chromium's mobile emulation). The answer stays in
view while a finger draws, the diagram's text is at least 11 CSS px and every neuron is hit
within a 24 px target, keyboard hints are hidden, and a Fashion-MNIST network with a sigmoid
output (long class names, outputs that are not probabilities) fits and says what it shows.
Screenshots: docs/web-phone.png (rewritten when DIGITNET_SCREENSHOT=1, else a temporary folder).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import DOCS, neuron_at, open_page, save_png, serving, touch_draw
from playwright.sync_api import Browser, Page
from web_helpers import trained_network

from digitnet.network import Network
from digitnet.train import TrainConfig, train

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
SEVEN = [(70, 50), (210, 50), (190, 90), (160, 150), (125, 245)]


def shot_path(name: str) -> Path:
    if os.environ.get("DIGITNET_SCREENSHOT") == "1":
        return DOCS / name
    return Path(tempfile.mkdtemp()) / name


@pytest.fixture(scope="module")
def mnist_url(mnist, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(trained_network(mnist), mnist, tmp_path_factory.mktemp("live")) as (url, _):
        yield url


@pytest.fixture(scope="module")
def fashion_url(shared_data, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from digitnet.data import load

    data = load("fashion-mnist", data_dir=shared_data, validation=10_000)
    net = Network([784, 16, 10], activation="sigmoid", output="sigmoid", cost="quadratic", seed=0)
    train(net, data.X_train[:5000], data.y_train[:5000], TrainConfig(epochs=1, lr=3.0, seed=0))
    with serving(net, data, tmp_path_factory.mktemp("live")) as (url, _):
        yield url


def in_view(page: Page, selector: str) -> bool:
    return page.eval_on_selector(
        selector,
        "e => { const r = e.getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth; }",
    )


def test_phone_layout(chromium: Browser, mnist_url: str) -> None:
    with open_page(chromium, mnist_url, **PHONE) as page:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing overflows
        # keyboard hints are hidden on a touch screen
        hints = page.locator(".keys-only")
        assert hints.count() == 2
        assert all(hints.nth(i).is_hidden() for i in range(2))
        assert page.is_visible(".touch-only")
        # the answer is in view while the finger is on the pad
        page.locator("#pad").scroll_into_view_if_needed()
        assert in_view(page, "#pad")
        touch_draw(page, SEVEN)
        page.wait_for_function("document.getElementById('prediction').textContent !== '?'")
        assert page.inner_text("#prediction") == "7"
        assert in_view(page, "#prediction") and in_view(page, "#bars")
        assert in_view(page, "#pad")
        save_png(page.screenshot(), shot_path("web-phone.png"))
        # the diagram: drawn at the CSS size it is shown (12 px text stays 12 px)...
        ratio = page.evaluate(
            "(() => { const c = document.getElementById('diagram');"
            " return c.width / devicePixelRatio / c.getBoundingClientRect().width; })()"
        )
        assert ratio == pytest.approx(1, abs=0.01)
        font = page.evaluate("parseFloat(document.getElementById('diagram').getContext('2d').font)")
        assert font >= 11
        # ...and every neuron answers a tap anywhere within its 24 px square
        page.locator("#diagram").scroll_into_view_if_needed()
        positions = page.evaluate("digitnet.diagram.positions")
        assert len(positions) == 32 + 10
        for p in positions[::5]:
            x, y = neuron_at(page, p["layer"], index=p["index"])
            page.evaluate("y => window.scrollBy(0, y - innerHeight / 2)", y)
            x, y = neuron_at(page, p["layer"], index=p["index"])
            for dx, dy in ((-11, -11), (11, 11), (11, -11), (0, 0)):
                with page.expect_response("**/api/neuron"):
                    page.touchscreen.tap(x + dx, y + dy)
                assert page.evaluate("digitnet.state.selected") == {
                    "layer": p["layer"],
                    "index": p["index"],
                }, (p, dx, dy)
        shot = page.locator("#diagram-panel").screenshot(scale="css")
        save_png(shot, shot_path("web-phone-diagram.png"))
        # teaching fits the phone too
        with page.expect_response("**/api/backprop"):
            page.select_option("#teach-label", "3")
        with page.expect_response("**/api/backprop/step"):
            page.tap("#teach-step")
        page.wait_for_selector("#teach-summary")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        teach = page.locator("#teach-panel").screenshot(scale="css")
        save_png(teach, Path(os.environ.get("DIGITNET_SHOTS", tempfile.mkdtemp())) / "teach.png")


def test_fashion_and_sigmoid_say_what_they_show(chromium: Browser, fashion_url: str) -> None:
    for context in (PHONE, {"viewport": {"width": 1280, "height": 860}}):
        with open_page(chromium, fashion_url, **context) as page:
            width = context["viewport"]["width"]
            assert "Draw a picture" in page.inner_text("#draw-title")
            assert "digit" not in page.inner_text("#pad-note")
            names = page.locator("#bars .bar-row .name").all_inner_texts()
            assert "Ankle boot" in names and "T-shirt/top" in names
            touch_draw(page, [(140, 40), (140, 240)])
            page.wait_for_function("document.getElementById('prediction').textContent !== '?'")
            assert page.inner_text("#prediction") in names
            # nothing sticks out of its card or the screen
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            overflow = page.eval_on_selector("#answer-panel", "e => e.scrollWidth - e.clientWidth")
            assert overflow <= 0
            # the bars are predict_proba's shares, and say so; the diagram shows a itself
            assert "predict_proba" in page.inner_text("#bars-title") or width < 700
            assert "share of the outputs" in page.inner_text("#confidence")
            assert "sure" not in page.inner_text("#answer-panel")
            outputs = page.evaluate("digitnet.state.trace.outputs")
            assert "output activations are" in page.get_attribute("#diagram", "aria-label")
            assert f"{outputs[0]:.2f}" in page.get_attribute("#diagram", "aria-label")
