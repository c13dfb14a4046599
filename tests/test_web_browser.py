"""The page in a real browser: Playwright drives Debian's chromium against uvicorn on 127.0.0.1.

It draws digits with mouse strokes on the canvas and checks the digit the page shows, clicks a
neuron in the diagram, browses the test set, trains live for one short epoch, and takes the
screenshot the README shows (``docs/web-app.png``, rewritten when DIGITNET_SCREENSHOT=1).
Chromium and the playwright package come from ``make test``; when either is missing this test
fails (it never skips).
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, sync_playwright
from web_helpers import trained_network

from digitnet.web import create_app
from digitnet.web.server import start_in_thread

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The README's picture is rewritten only on request (DIGITNET_SCREENSHOT=1), so that a test run
# leaves the working tree as it found it; otherwise the screenshot goes to a temporary folder.
README_SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "web-app.png"

Stroke = list[tuple[float, float]]
# Digits as a person draws them on the 280x280 pad: lists of strokes in pad pixels.
DIGITS: dict[int, list[Stroke]] = {
    1: [[(140, 40), (140, 240)]],
    0: [
        [
            (140 + 58 * math.sin(2 * math.pi * i / 40), 140 - 95 * math.cos(2 * math.pi * i / 40))
            for i in range(41)
        ]
    ],
    7: [[(70, 50), (210, 50), (125, 245)]],
    4: [[(110, 40), (80, 160), (215, 160)], [(180, 70), (180, 245)]],
}


@pytest.fixture(scope="module")
def base_url(mnist, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    net = trained_network(mnist)
    app = create_app(net, None, mnist, save_dir=tmp_path_factory.mktemp("live"))
    server, thread, url = start_in_thread(app, "127.0.0.1")
    yield url
    trainer = app.state.trainer
    if trainer.running:
        trainer.stop()
    trainer.wait(30)
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def page(base_url: str) -> Iterator[Page]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        urls: list[str] = []
        page.on("request", lambda r: urls.append(r.url))
        page.goto(base_url + "/")
        page.wait_for_selector("body[data-ready=true]")
        yield page
        browser.close()
        assert not errors, errors
        # the page fetched nothing but this server's files and API (and its own data: images)
        outside = [u for u in urls if not u.startswith((base_url + "/", "data:"))]
        assert not outside, outside
        assert any("/api/model" in u for u in urls)


def draw(page: Page, strokes: list[Stroke]) -> None:
    """Draw ``strokes`` with the mouse; wait for the answer to the last one."""
    box = page.locator("#pad").bounding_box()
    assert box is not None
    for i, stroke in enumerate(strokes):
        x, y = stroke[0]
        page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=6)
        if i < len(strokes) - 1:
            page.mouse.up()
            continue
        with page.expect_response("**/api/trace") as answer:
            page.mouse.up()
        assert answer.value.ok, answer.value.text()
    page.wait_for_function("document.getElementById('prediction').textContent !== '?'")


def test_the_page_recognises_digits_drawn_with_the_mouse(page: Page) -> None:
    pad_style = page.eval_on_selector("#pad", "e => getComputedStyle(e).touchAction")
    assert pad_style == "none"  # a finger draws instead of scrolling the page
    for digit, strokes in DIGITS.items():
        page.click("#clear")
        assert page.inner_text("#prediction") == "?"
        draw(page, strokes)
        shown = page.inner_text("#prediction")
        assert shown == str(digit), f"drew a {digit}, the page says {shown}"
        assert page.locator("#bars .bar-row").count() == 10
        best = page.inner_text("#bars .bar-row.best .name")
        assert best == str(digit)
        # the 28x28 image the network sees has ink in it
        ink = page.eval_on_selector(
            "#seen",
            "c => c.getContext('2d').getImageData(0, 0, 28, 28).data.filter((v, i) => i % 4 == 0"
            " && v > 128).length",
        )
        assert ink > 10


def test_undo_and_inspecting_a_neuron(page: Page) -> None:
    page.click("#clear")
    draw(page, DIGITS[1])
    with page.expect_response("**/api/trace"):
        page.mouse.move(0, 0)
        box = page.locator("#pad").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + 60, box["y"] + 140)
        page.mouse.down()
        page.mouse.move(box["x"] + 220, box["y"] + 140, steps=6)
        page.mouse.up()
    with page.expect_response("**/api/trace"):
        page.keyboard.press("Control+z")  # undo: back to the plain 1
    page.wait_for_function("document.getElementById('prediction').textContent === '1'")
    # click the output neuron for "1" on the diagram: the page knows where it drew it
    where = page.evaluate(
        "() => { const p = state.positions.find(p => p.layer === 2 && p.index === 1);"
        " const c = document.getElementById('diagram'); const r = c.getBoundingClientRect();"
        " return [p.x * r.width / c.width, p.y * r.height / c.height]; }"
    )
    with page.expect_response("**/api/neuron"):
        page.locator("#diagram").click(position={"x": where[0], "y": where[1]})
    page.wait_for_selector("#inspect .formula")
    text = page.inner_text("#inspect")
    assert 'output neuron 1 ("1")' in text and "z = " in text and "a = softmax(z)" in text
    # a first-layer neuron shows its 784 weights as a 28x28 picture
    where = page.evaluate(
        "() => { const p = state.positions.find(p => p.layer === 1);"
        " const c = document.getElementById('diagram'); const r = c.getBoundingClientRect();"
        " return [p.x * r.width / c.width, p.y * r.height / c.height]; }"
    )
    with page.expect_response("**/api/neuron"):
        page.locator("#diagram").click(position={"x": where[0], "y": where[1]})
    page.wait_for_function("document.querySelectorAll('#inspect canvas').length === 2")
    assert page.eval_on_selector("#inspect canvas", "c => [c.width, c.height]") == [28, 28]
    assert page.eval_on_selector("#weights-img", "img => img.naturalWidth") > 200


def test_explore_mistakes_then_screenshot(page: Page) -> None:
    page.click("#explore-mistakes")
    page.wait_for_selector("#explore-grid .tile")
    assert page.locator("#explore-grid .tile").count() == 24
    assert page.locator("#explore-grid .tile.wrong").count() == 24
    # a test image clicked goes through the network: the page shows the tile's answer
    tile = page.locator("#explore-grid .tile").first
    answer = tile.inner_text().split("→")[1].strip()
    with page.expect_response("**/api/trace"):
        tile.click()
    page.wait_for_function(f"document.getElementById('prediction').textContent === {answer!r}")
    assert "Showing test image" in page.inner_text("#pad-note")
    page.click("#clear")
    draw(page, DIGITS[7])
    where = page.evaluate(
        "() => { const p = state.positions.filter(p => p.layer === 1)[3];"
        " const c = document.getElementById('diagram'); const r = c.getBoundingClientRect();"
        " return [p.x * r.width / c.width, p.y * r.height / c.height]; }"
    )
    with page.expect_response("**/api/neuron"):
        page.locator("#diagram").click(position={"x": where[0], "y": where[1]})
    page.wait_for_selector("#inspect canvas")
    page.evaluate("window.scrollTo(0, 0)")
    shot_path = (
        README_SCREENSHOT
        if os.environ.get("DIGITNET_SCREENSHOT") == "1"
        else Path(tempfile.mkdtemp()) / "web-app.png"
    )
    png = page.screenshot(clip={"x": 0, "y": 0, "width": 1280, "height": 760})
    with Image.open(io.BytesIO(png)) as shot:  # 256 colours keep the README's picture small
        shot.convert("RGB").quantize(256, dither=Image.Dither.NONE).save(shot_path, optimize=True)
    assert 20_000 < shot_path.stat().st_size < 300_000


def test_train_live_in_the_page(page: Page) -> None:
    page.fill("#train-form [name=hidden]", "12")
    page.fill("#train-form [name=epochs]", "2")
    page.fill("#train-form [name=train_examples]", "3000")
    page.fill("#train-form [name=batch_size]", "20")
    page.fill("#train-form [name=lr]", "0.05")
    page.click("#train-start")
    page.wait_for_function(
        "document.getElementById('train-status').textContent.includes('job #1 finished')",
        timeout=60_000,
    )
    assert page.eval_on_selector("#train-weights", "img => img.naturalWidth") > 50
    assert page.evaluate("state.records.length") == 2
    page.wait_for_function(
        "document.getElementById('model-desc').textContent.includes('784-12-10')"
    )
    # a second start while one runs is refused with the server's message
    page.fill("#train-form [name=epochs]", "50")
    page.fill("#train-form [name=batch_size]", "1")
    page.fill("#train-form [name=train_examples]", "50000")
    page.click("#train-start")
    page.wait_for_function("!document.getElementById('train-stop').disabled")
    answer = page.evaluate(
        "() => fetch('/api/train', {method: 'POST', headers: {'Content-Type': 'application/json'},"
        " body: '{}'}).then(r => r.json().then(j => [r.status, j.detail]))"
    )
    assert answer[0] == 409 and "already running" in answer[1]
    page.click("#train-stop")
    page.wait_for_function(
        "document.getElementById('train-status').textContent.includes('job #2 stopped')",
        timeout=30_000,
    )


@pytest.mark.parametrize("pointer", ["touch", "pen"])
def test_touch_and_pen_strokes_draw_too(page: Page, pointer: str) -> None:
    page.click("#clear")
    with page.expect_response("**/api/trace"):
        scrolled = page.evaluate(
            """pointer => {
                const pad = document.getElementById('pad');
                const r = pad.getBoundingClientRect();
                const at = (type, x, y) => pad.dispatchEvent(new PointerEvent(type, {
                    pointerId: 7, pointerType: pointer, isPrimary: true, bubbles: true,
                    cancelable: true, clientX: r.left + x, clientY: r.top + y, pressure: 0.5}));
                const before = window.scrollY;
                at('pointerdown', 140, 40);
                for (let y = 40; y <= 240; y += 10) at('pointermove', 140, y);
                at('pointerup', 140, 240);
                return window.scrollY - before;
            }""",
            pointer,
        )
    page.wait_for_function("document.getElementById('prediction').textContent === '1'")
    assert scrolled == 0
