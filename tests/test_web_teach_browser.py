"""Teaching in the browser: "this is a [digit]" shows the backward pass for the image on show,
with the numbers /api/backprop gives, colours the diagram by the gradient, and one step on a
scratch copy raises the label's probability while the served network stays as it was (picture:
docs/web-teach.png, rewritten when DIGITNET_SCREENSHOT=1). Then the
same by keyboard alone: a test image traced, a neuron selected, a label taught, a step taken.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import DIGITS, DOCS, browser, draw, open_page, save_png, served, serving
from PIL import Image
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


def test_teach_a_drawing_a_label_and_step(page: Page) -> None:
    page.click("#clear")
    assert page.is_disabled("#teach-step")
    draw(page, DIGITS[7])
    before = served(page)
    label = 9  # teach it that the 7 is a 9
    with page.expect_response("**/api/backprop") as answer:
        page.select_option("#teach-label", str(label))
    bp = answer.value.json()
    page.wait_for_selector("#teach-nudges:not([hidden]) .want-row")
    # 1. what each output wants: the API's numbers, up for the label only
    for bars, key in (("#want-a", "wanted_a"), ("#want-z", "via_bias")):
        shown = page.locator(f"{bars} .want-row .value").all_inner_texts()
        assert len(shown) == 10
        for text, value in zip(shown, bp[key], strict=True):
            assert float(text) == pytest.approx(value, rel=5e-3, abs=5e-4), (key, text, value)
    assert bp["wanted_a"][label] > 0 and all(
        v <= 0 for j, v in enumerate(bp["wanted_a"]) if j != label
    )
    text = page.inner_text("#teach-nudges")
    assert f"its bias: −dC/db = +{bp['via_bias'][label]:.3f}" in text
    for part in ("1. What each output wants", "2. Three ways", "3. One layer back", "4. Every"):
        assert part in text
    assert page.locator("#teach-nudges .grad-table tbody tr").count() == 2  # W1, W2
    # the diagram shows the gradient: the view switched, and the lines are the API's connections
    assert page.is_checked("input[name=view][value=gradient]")
    assert "Teaching" in page.inner_text("#diagram-legend")
    drawn = page.evaluate("digitnet.diagram.backprop.connections.length")
    assert drawn == len(bp["connections"]) > 0
    # one step on a scratch copy: the label's probability rises; the served network is unchanged
    page.fill("#teach-eta", "0.5")
    with page.expect_response("**/api/backprop/step") as step:
        page.click("#teach-step")
    result = step.value.json()
    page.wait_for_selector("#teach-summary")
    p_before = float(page.get_attribute("#teach-summary", "data-before"))
    p_after = float(page.get_attribute("#teach-summary", "data-after"))
    assert p_after > p_before
    assert p_before == pytest.approx(before["probabilities"][label], abs=1e-4)
    assert (p_before, p_after) == (
        result["label_probability_before"],
        result["label_probability_after"],
    )
    assert "unchanged" in page.inner_text("#teach-summary")
    after = served(page)
    assert after == before
    # the picture of it: the diagram coloured by the gradient above the teaching panel
    page.locator("#teach-nudges").scroll_into_view_if_needed()
    parts = [page.locator(s).screenshot() for s in ("#diagram-panel", "#teach-panel")]
    with Image.open(io.BytesIO(parts[0])) as top, Image.open(io.BytesIO(parts[1])) as bottom:
        both = Image.new("RGB", (max(top.width, bottom.width), top.height + bottom.height), "white")
        both.paste(top, (0, 0))
        both.paste(bottom, (0, top.height))
        out = io.BytesIO()
        both.save(out, "PNG")
    path = (
        DOCS / "web-teach.png"
        if os.environ.get("DIGITNET_SCREENSHOT") == "1"
        else Path(tempfile.mkdtemp()) / "web-teach.png"
    )
    save_png(out.getvalue(), path)
    assert 20_000 < path.stat().st_size < 400_000
    # the activations view is one click away
    page.check("input[name=view][value=activations]")
    assert "activation" in page.inner_text("#diagram-legend")


def test_bad_steps_get_a_clear_message_and_change_nothing(page: Page) -> None:
    page.click("#clear")
    draw(page, DIGITS[1])
    before = served(page)
    with page.expect_response("**/api/backprop"):
        page.select_option("#teach-label", "1")
    for eta in ("0", "-1", "1e9"):
        page.fill("#teach-eta", eta)
        with page.expect_response("**/api/backprop/step") as answer:
            page.click("#teach-step")
        assert answer.value.status == 422
        page.wait_for_function(
            "document.getElementById('teach-status').classList.contains('error')"
        )
        message = page.inner_text("#teach-status")
        assert "eta" in message and "Value error" not in message, message
    assert served(page) == before
    page.fill("#teach-eta", "0.5")


def tab_to(page: Page, selector: str, limit: int = 120) -> None:
    """Press Tab until the focus is on ``selector`` (as a keyboard user would)."""
    for _ in range(limit):
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_alone_traces_selects_and_teaches(page: Page) -> None:
    page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
    page.keyboard.press("Escape")  # clears the pad
    # a test image, traced
    tab_to(page, "#explore-random")
    with page.expect_response("**/api/test-images*"):
        page.keyboard.press("Enter")
    page.wait_for_selector("#explore-grid .tile")
    tab_to(page, "#explore-grid .tile")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the focus is visible
    label = page.evaluate("document.activeElement.getAttribute('aria-label')")
    with page.expect_response("**/api/trace"):
        page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('prediction').textContent !== '?'")
    assert "Showing test image" in page.inner_text("#pad-note")
    assert page.inner_text("#prediction") in label
    # a neuron, selected: Tab back to the diagram, arrows, Enter
    page.keyboard.press("Shift+Tab")
    for _ in range(200):
        if page.evaluate("document.activeElement.id") == "diagram":
            break
        page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "diagram"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert "layer 1, neuron" in page.inner_text("#diagram-live")
    page.keyboard.press("ArrowRight")
    assert "output" in page.inner_text("#diagram-live")
    with page.expect_response("**/api/neuron"):
        page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('inspect').innerText.includes('Output neuron')")
    # a label taught: the test image's own label is chosen; choose another with the arrows
    tab_to(page, "#teach-label")
    first = page.input_value("#teach-label")
    with page.expect_response("**/api/backprop"):
        page.keyboard.press("ArrowDown" if first != "9" else "ArrowUp")
    assert page.input_value("#teach-label") != first
    tab_to(page, "#teach-show")
    with page.expect_response("**/api/backprop"):
        page.keyboard.press("Enter")
    page.wait_for_selector("#teach-nudges:not([hidden]) .want-row")
    tab_to(page, "#teach-step")
    with page.expect_response("**/api/backprop/step"):
        page.keyboard.press(" ")
    page.wait_for_selector("#teach-summary")
    after = float(page.get_attribute("#teach-summary", "data-after"))
    assert after > float(page.get_attribute("#teach-summary", "data-before"))
