"""A neuron as a function, in the browser: a test image traced, a neuron opened, its bias and
one weight moved with the sliders (by keyboard, as a person moves a range input). The z shown
is the one /api/neuron/function gives for the sliders' values, the point moves along the curve,
the answer bars show the scratch copy's answer, Reset brings the served values back, and the
served network (its parameters, version and answers) never changes. The picture
docs/web-neuron.png is rewritten when DIGITNET_SCREENSHOT=1 (otherwise it goes to a temporary
folder).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from browser_helpers import DOCS, browser, neuron_at, open_page, save_png, served, serving
from playwright.sync_api import Page
from web_helpers import trained_network

from digitnet.network import Network


@pytest.fixture(scope="module")
def net(mnist) -> Network:
    return trained_network(mnist)


@pytest.fixture(scope="module")
def page(net: Network, mnist, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    with (
        serving(net, mnist, tmp_path_factory.mktemp("live")) as (url, _),
        browser() as b,
        open_page(b, url) as page,
    ):
        yield page


def api_for_sliders(page: Page) -> dict:
    """/api/neuron/function's answer for the sliders' values as they stand."""
    return page.evaluate(
        """async () => {
            const s = digitnet.state.selected;
            const v = (id) => Number(document.getElementById(id).dataset.value);
            const body = {pixels: digitnet.state.input, layer: s.layer, index: s.index,
                bias: v('fn-bias'), weight: {k: Number(document.getElementById('fn-k').value),
                value: v('fn-weight')}};
            const r = await fetch('/api/neuron/function', {method: 'POST',
                headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
            return await r.json();
        }"""
    )


def settled(page: Page) -> None:
    """Wait until the numbers shown are the answer for the sliders' values (the sliders send
    their values a moment after the last move)."""
    page.wait_for_function(
        """() => {
            const n = document.getElementById('fn-numbers')?.dataset;
            const v = (id) => Number(document.getElementById(id)?.dataset.value);
            if (n === undefined) return false;
            return Number(n.b) === v('fn-bias') && Number(n.w) === v('fn-weight');
        }"""
    )


def shown(page: Page) -> dict:
    return page.evaluate(
        """() => {
            const n = document.getElementById('fn-numbers');
            return {z: Number(n.dataset.z), a: Number(n.dataset.a), text: n.innerText,
                    moved: document.querySelectorAll('#fn-curve circle.moved').length,
                    what_if: document.getElementById('bars').classList.contains('what-if'),
                    best: document.querySelector('#bars .bar-row.best .name').textContent};
        }"""
    )


def still(page: Page) -> None:
    """Wait until the page has stopped scrolling (the diagram's neurons stay where they are)."""
    page.evaluate(
        """() => new Promise((done) => {
            let y = null;
            const look = () => {
                if (window.scrollY === y) done();
                else { y = window.scrollY; setTimeout(look, 150); }
            };
            look();
        })"""
    )


def open_least_sure_mistake(page: Page, layer: int, index: int) -> dict:
    """Trace the test mistake on show the network is least sure of, open a neuron: the
    first answer."""
    page.click("#explore-mistakes")
    page.wait_for_selector("#explore-grid .tile")
    sure = [
        float(re.search(r"\(([\d.]+)%\)", t).group(1))
        for t in page.eval_on_selector_all("#explore-grid .tile", "ts => ts.map(t => t.title)")
    ]
    still(page)
    with page.expect_response("**/api/trace"):
        page.locator("#explore-grid .tile").nth(int(np.argmin(sure))).click()
    page.wait_for_function("document.getElementById('prediction').textContent !== '?'")
    with page.expect_response("**/api/neuron/function") as first:
        page.evaluate(f"digitnet.select({layer}, {index})")
    page.wait_for_selector("#fn-numbers[data-z]")
    return first.value.json()


def test_the_bias_and_weight_sliders_move_z_and_not_the_served_network(
    page: Page, net: Network
) -> None:
    parameters = [p.copy() for p in net.parameters()]
    page.click("#explore-random")
    page.wait_for_selector("#explore-grid .tile")
    with page.expect_response("**/api/trace"):
        page.locator("#explore-grid .tile").first.click()
    page.wait_for_function("document.getElementById('prediction').textContent !== '?'")
    before = served(page)
    still(page)  # choosing a tile scrolls the answer into view, smoothly
    # open a first-layer neuron by clicking it on the diagram
    with page.expect_response("**/api/neuron/function") as first:
        page.mouse.click(*neuron_at(page, 1, nth=1))
    page.wait_for_selector("#fn-numbers[data-z]")
    f = first.value.json()
    now = shown(page)
    assert now["z"] == f["z"] and now["a"] == f["a"] and f["moved"] is None
    assert f"z = Σ w·a + b = {f['z']:.4f}" in now["text"] and now["moved"] == 0
    assert page.locator("#fn-curve path.curve").count() == 1
    assert page.locator("#fn-curve circle.served").count() == 1
    assert page.input_value("#fn-k") == str(f["strongest_k"])
    assert float(page.get_attribute("#fn-bias", "data-value")) == f["b"]
    assert "relu" in page.inner_text(".neuron-fn h3")
    assert "unchanged" in page.inner_text("#fn-served")

    # the bias slider, moved up by keyboard: z moves by as much as b did
    page.focus("#fn-bias")
    for _ in range(3):
        page.keyboard.press("PageUp")
    settled(page)
    now, api = shown(page), api_for_sliders(page)
    moved = api["moved"]
    assert now["z"] == moved["z"] != f["z"] and now["a"] == moved["a"]
    assert moved["b"] > f["b"] + 1
    assert moved["z"] - f["z"] == pytest.approx(moved["b"] - f["b"], abs=1e-4)
    assert f"z = Σ w·a + b = {moved['z']:.4f}" in now["text"] and "served: z =" in now["text"]
    assert now["moved"] == 1 and now["what_if"]
    cx = page.eval_on_selector_all(
        "#fn-curve circle", "cs => cs.map(c => Number(c.getAttribute('cx')))"
    )
    assert cx[1] > cx[0]  # the moved point sits right of the served one on the curve

    # the strongest weight, moved down: z moves by a_k times its change
    k = f["strongest_k"]
    page.focus("#fn-weight")
    for _ in range(2):
        page.keyboard.press("PageDown")
    settled(page)
    now, api = shown(page), api_for_sliders(page)
    moved = api["moved"]
    assert now["z"] == moved["z"] and moved["k"] == k and moved["w_k"] < f["w"][k]
    expected = f["z"] + (moved["b"] - f["b"]) + (moved["w_k"] - f["w"][k]) * f["a_prev"][k]
    assert moved["z"] == pytest.approx(expected, abs=1e-3)

    path = (
        DOCS / "web-neuron.png"
        if os.environ.get("DIGITNET_SCREENSHOT") == "1"
        else Path(tempfile.mkdtemp()) / "web-neuron.png"
    )
    # the answer bars (the scratch copy's answer) and the neuron panel, in one picture
    page.evaluate("window.scrollTo(0, 0)")
    bottom = page.evaluate(
        "document.getElementById('inspect-panel').getBoundingClientRect().bottom"
    )
    clip = {"x": 0, "y": 0, "width": 1280, "height": bottom + 12}
    save_png(page.screenshot(full_page=True, clip=clip), path)
    assert 20_000 < path.stat().st_size < 400_000

    # Reset: the served values, the served answer on the bars
    page.click("#fn-reset")
    now = shown(page)
    assert now["z"] == f["z"] and now["moved"] == 0 and not now["what_if"]
    assert page.input_value("#fn-bias") == page.input_value("#fn-weight") == "0"
    assert float(page.get_attribute("#fn-bias", "data-value")) == f["b"]
    assert float(page.get_attribute("#fn-weight", "data-value")) == f["w"][k]
    assert served(page) == before
    assert all(np.array_equal(p, q) for p, q in zip(parameters, net.parameters(), strict=True))


def test_an_output_neuron_s_bias_changes_the_answer_on_the_bars(page: Page, net: Network) -> None:
    parameters = [p.copy() for p in net.parameters()]
    first = open_least_sure_mistake(page, 2, 0)
    answer = first["answer"]
    # the runner-up: a bias 10 higher makes it the answer when its z is less than 10 behind
    p = np.asarray(first["probabilities"])
    j = int(np.argsort(p)[-2])
    assert np.log(p[answer] / p[j]) < 9, "the least sure mistake is sure: choose another image"
    with page.expect_response("**/api/neuron/function") as opened:
        page.evaluate(f"digitnet.select(2, {j})")
    page.wait_for_function(f"document.querySelector('.neuron-fn h3')?.innerText.includes('_{j}')")
    f = opened.value.json()
    assert "softmax" in page.inner_text(".neuron-fn h3")
    assert shown(page)["best"] == str(answer)
    page.focus("#fn-bias")
    page.keyboard.press("End")  # b + 10
    settled(page)
    now, api = shown(page), api_for_sliders(page)
    assert api["moved"]["b"] == pytest.approx(f["b"] + 10)
    assert now["z"] == api["moved"]["z"]
    assert api["moved"]["answer"] == j and now["best"] == str(j) and now["what_if"]
    assert f'answer: "{j}"' in now["text"] and f'the served network says "{answer}"' in now["text"]
    # another incoming weight, typed: its slider starts at its served value; a k not there is
    # refused in the page and the strongest is chosen again
    page.fill("#fn-k", "5")
    page.keyboard.press("Tab")
    page.wait_for_function(
        f"document.querySelector('.fn-slider:last-of-type span')?.textContent === 'weight w_{j},5'"
    )
    settled(page)
    api = api_for_sliders(page)
    assert api["moved"]["k"] == 5 and shown(page)["z"] == api["moved"]["z"]
    assert float(page.get_attribute("#fn-weight", "data-value")) == f["w"][5]
    page.fill("#fn-k", "999")
    page.keyboard.press("Tab")
    page.wait_for_function("document.getElementById('fn-k-note')?.textContent.includes('0 to 63')")
    assert page.input_value("#fn-k") == str(f["strongest_k"])
    settled(page)
    # the big answer and /api/predict stay the served network's
    assert page.inner_text("#prediction") == str(answer)
    assert page.evaluate("digitnet.state.trace.prediction") == answer
    page.click("#fn-reset")
    assert shown(page)["best"] == str(answer) and not shown(page)["what_if"]
    assert all(np.array_equal(p, q) for p, q in zip(parameters, net.parameters(), strict=True))
