"""The page in a real browser: Playwright drives Debian's chromium against the web app, which the
test starts on 127.0.0.1 (and stops).

It draws digits with mouse, touch and pen strokes and checks the answer, clicks neurons in the
diagram, browses the test set, and checks the page bugs of issue 14: the neuron panel after
Clear, the test-image note after drawing, a fully scribbled pad, a selected neuron that must stay
on the diagram, the canvases' text alternatives. It takes the screenshot the README shows
(``docs/web-app.png``, rewritten when DIGITNET_SCREENSHOT=1; otherwise to a temporary folder).
Teaching is tested in test_web_teach_browser.py, live training in test_web_train_browser.py, a
phone in test_web_phone_browser.py.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import (
    DIGITS,
    DOCS,
    browser,
    draw,
    neuron_at,
    open_page,
    save_png,
    serving,
    touch_draw,
)
from playwright.sync_api import Page
from web_helpers import trained_network


@pytest.fixture(scope="module")
def base_url(mnist, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(trained_network(mnist), mnist, tmp_path_factory.mktemp("live")) as (url, _):
        yield url


@pytest.fixture(scope="module")
def page(base_url: str) -> Iterator[Page]:
    with browser() as b, open_page(b, base_url) as page:
        yield page


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
        assert page.inner_text("#bars .bar-row.best .name") == str(digit)
        # the 28x28 image the network sees has ink in it
        ink = page.eval_on_selector(
            "#seen",
            "c => c.getContext('2d').getImageData(0, 0, 28, 28).data.filter((v, i) => i % 4 == 0"
            " && v > 128).length",
        )
        assert ink > 10
        # every canvas is an image whose text alternative states the answer
        for canvas in ("#pad", "#seen", "#diagram"):
            assert page.get_attribute(canvas, "role") == "img"
            assert f"answers {digit}" in page.get_attribute(canvas, "aria-label")
    # the bars say what they are: a softmax network's probabilities
    assert "softmax" in page.inner_text("#bars-title")
    assert "probability" in page.inner_text("#confidence")
    for region in ("#model-desc", "#pad-note", "#train-status", "#teach-status", "#inspect"):
        assert page.get_attribute(region, "aria-live") == "polite", region
    assert page.get_attribute("#draw-error", "role") == "alert"


def test_undo_and_inspecting_a_neuron(page: Page) -> None:
    page.click("#clear")
    draw(page, DIGITS[1])
    box = page.locator("#pad").bounding_box()
    assert box is not None
    with page.expect_response("**/api/trace"):
        page.mouse.move(box["x"] + 60, box["y"] + 140)
        page.mouse.down()
        page.mouse.move(box["x"] + 220, box["y"] + 140, steps=6)
        page.mouse.up()
    with page.expect_response("**/api/trace"):
        page.keyboard.press("Control+z")  # undo: back to the plain 1
    page.wait_for_function("document.getElementById('prediction').textContent === '1'")
    # click the output neuron for "1" on the diagram
    with page.expect_response("**/api/neuron"):
        page.mouse.click(*neuron_at(page, 2, index=1))
    page.wait_for_selector("#inspect .formula")
    text = page.inner_text("#inspect")
    assert 'Output neuron 1 ("1")' in text and "z = " in text and "a = softmax(z)" in text
    # a first-layer neuron shows its 784 weights as a 28x28 picture
    with page.expect_response("**/api/neuron"):
        page.mouse.click(*neuron_at(page, 1, nth=0))
    # (the output neuron shown before also had 2 pictures: wait for the new neuron's)
    page.wait_for_function("document.getElementById('inspect').innerText.includes('Layer 1,')")
    page.wait_for_function("document.querySelectorAll('#inspect canvas').length === 2")
    assert page.eval_on_selector("#inspect canvas", "c => [c.width, c.height]") == [28, 28]
    assert page.eval_on_selector("#weights-img", "img => img.naturalWidth") > 200


def test_clear_leaves_no_stale_neuron_numbers(page: Page) -> None:
    page.click("#clear")
    draw(page, DIGITS[7])
    with page.expect_response("**/api/neuron"):
        page.mouse.click(*neuron_at(page, 1, nth=2))
    page.wait_for_function("document.getElementById('inspect').innerText.includes('z = ')")
    with page.expect_response("**/api/neuron"):
        page.click("#clear")
    page.wait_for_function("!document.getElementById('inspect').innerText.includes('z = ')")
    text = page.inner_text("#inspect")
    assert "no image" in text and "b = " in text
    assert page.locator("#inspect canvas").count() == 1  # its weights, no w x a of an old image


def test_a_selected_neuron_stays_on_the_diagram_when_the_drawing_changes(page: Page) -> None:
    page.click("#clear")
    draw(page, DIGITS[0])
    shown_for_0 = set(page.evaluate("digitnet.state.trace.layers[1].shown"))
    page.click("#clear")
    draw(page, DIGITS[1])
    shown_for_1 = page.evaluate("digitnet.state.trace.layers[1].shown")
    only_1 = [j for j in shown_for_1 if j not in shown_for_0]
    assert only_1, "the 0 and the 1 light up the same neurons: choose other drawings"
    with page.expect_response("**/api/neuron"):
        page.mouse.click(*neuron_at(page, 1, index=only_1[0]))
    page.click("#clear")
    draw(page, DIGITS[0])
    drawn = page.evaluate("digitnet.diagram.positions.filter(p => p.layer === 1).map(p => p.index)")
    assert only_1[0] in drawn and len(drawn) == len(shown_for_0) + 1
    assert page.evaluate("digitnet.state.selected") == {"layer": 1, "index": only_1[0]}


def test_a_fully_scribbled_pad_is_not_called_blank(page: Page) -> None:
    page.click("#clear")
    box = page.locator("#pad").bounding_box()
    assert box is not None
    for y in range(5, 280, 12):  # zigzag strokes until the whole pad is ink
        page.mouse.move(box["x"] + 2, box["y"] + y)
        page.mouse.down()
        page.mouse.move(box["x"] + 278, box["y"] + y, steps=3)
        page.mouse.up()
    page.wait_for_function("document.getElementById('draw-error').textContent !== ''")
    message = page.inner_text("#draw-error")
    assert "ink" in message and "blank" not in message, message
    assert page.inner_text("#prediction") == "?"
    page.click("#clear")
    assert page.inner_text("#draw-error") == ""


def test_explore_mistakes_then_screenshot(page: Page) -> None:
    page.click("#explore-mistakes")
    page.wait_for_selector("#explore-grid .tile")
    assert page.locator("#explore-grid .tile").count() == 24
    assert page.locator("#explore-grid .tile.wrong").count() == 24
    assert page.eval_on_selector("#explore-grid .tile", "t => t.tagName") == "BUTTON"
    # a test image chosen goes through the network: the page shows the tile's answer
    tile = page.locator("#explore-grid .tile").first
    answer = tile.inner_text().split("→")[1].strip()
    with page.expect_response("**/api/trace"):
        tile.click()
    page.wait_for_function(f"document.getElementById('prediction').textContent === {answer!r}")
    assert "Showing test image" in page.inner_text("#pad-note")
    # drawing replaces the test image, and its note goes
    page.click("#clear")
    draw(page, DIGITS[7])
    assert "Showing test image" not in page.inner_text("#pad-note")
    with page.expect_response("**/api/neuron"):
        page.mouse.click(*neuron_at(page, 1, nth=3))
    page.wait_for_selector("#inspect canvas")
    page.evaluate("window.scrollTo(0, 0)")
    path = (
        DOCS / "web-app.png"
        if os.environ.get("DIGITNET_SCREENSHOT") == "1"
        else Path(tempfile.mkdtemp()) / "web-app.png"
    )
    save_png(page.screenshot(clip={"x": 0, "y": 0, "width": 1280, "height": 760}), path)
    assert 20_000 < path.stat().st_size < 300_000


@pytest.mark.parametrize("pointer", ["touch", "pen"])
def test_touch_and_pen_strokes_draw_too(page: Page, pointer: str) -> None:
    page.click("#clear")
    before = page.evaluate("window.scrollY")
    touch_draw(page, [(140, y) for y in range(40, 250, 10)], pointer)
    page.wait_for_function("document.getElementById('prediction').textContent === '1'")
    assert page.evaluate("window.scrollY") == before
