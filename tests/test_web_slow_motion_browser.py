"""Live training in slow motion, in the browser: the mini-batch cost curve grows within the first
epoch (several updates before the first epoch's record), the speed control sets the pace, a step
of one mini-batch moves the dot on the landscape and shows that step's nudges (each example's
wishes, their average, the cost before and after), and the teach panel shows a mini-batch's
per-example rows and their average.

docs/web-live.png is rewritten when DIGITNET_SCREENSHOT=1 (otherwise it goes to a temporary
folder).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from browser_helpers import DOCS, open_page, save_png, serving
from playwright.sync_api import Browser, Page
from web_helpers import trained_network

# 1,000 images in mini-batches of 50: 20 steps in the one epoch; 10 steps a second
SETUP = "/?hidden=12&epochs=1&train_examples=1000&batch_size=50&lr=0.1&speed=10"


@pytest.fixture(scope="module")
def base_url(mnist, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(trained_network(mnist), mnist, tmp_path_factory.mktemp("slow")) as (url, _):
        yield url


def get(page: Page, path: str) -> dict:
    return page.evaluate(f"fetch('{path}').then(r => r.json())")


def drawn(page: Page) -> dict:
    """What the page has drawn: the cost curve's points, the epochs on the epoch curves, the
    landscape's points and its current dot."""
    return page.evaluate(
        """() => {
            const l = document.getElementById('landscape').dataset;
            return {
                costs: Number(document.getElementById('batch-curves').dataset.points || 0),
                epochs: window.digitnet.train().records.length,
                points: Number(l.points || 0), step: Number(l.step || -1),
                alpha: Number(l.alpha), beta: Number(l.beta),
            };
        }"""
    )


def test_slow_motion_curves_speed_step_and_landscape(chromium: Browser, base_url: str) -> None:
    with open_page(chromium, base_url, SETUP) as page:
        assert page.input_value("#train-speed") == "10"  # from the URL
        page.click("#train-start")
        # the cost curve grows step by step within the first epoch
        seen = [0]
        for _ in range(3):
            page.wait_for_function(
                f"Number(document.getElementById('batch-curves').dataset.points) > {seen[-1]}"
            )
            d = drawn(page)
            assert d["epochs"] == 0, seen  # the first epoch has not ended
            seen.append(d["costs"])
        assert seen[-1] < 20
        # slower: at 2 steps a second no two steps are closer than half a second
        with page.expect_response("**/api/train/speed") as answer:
            page.select_option("#train-speed", "2")
        assert answer.value.json()["steps_per_second"] == 2
        first = get(page, "/api/train/costs")["count"]
        page.wait_for_function(
            f"Number(document.getElementById('batch-curves').dataset.points) >= {first + 3}"
        )
        rows = get(page, f"/api/train/costs?since={first}")["costs"]
        t = [r["seconds"] for r in rows]
        assert len(t) >= 3 and all(b - a >= 0.5 - 1e-3 for a, b in zip(t, t[1:], strict=False))

        # pause, then one mini-batch: the dot moves and the step's nudges are shown
        with page.expect_response("**/api/train/pause"):
            page.click("#train-pause")
        page.wait_for_function("!document.getElementById('train-step').disabled")
        done = get(page, "/api/train/status")["batches_done"]
        page.wait_for_function(
            f"Number(document.getElementById('landscape').dataset.step) === {done}"
        )
        before = drawn(page)
        with page.expect_response("**/api/train/step"):
            page.click("#train-step")
        page.wait_for_function(
            f"Number(document.getElementById('landscape').dataset.step) === {done + 1}"
        )
        page.wait_for_function(
            f"document.getElementById('step-nudges').dataset.step === '{done + 1}'"
        )
        after = drawn(page)
        assert after["points"] == before["points"] + 1 and after["costs"] == done + 1
        assert (after["alpha"], after["beta"]) != (before["alpha"], before["beta"])
        point = get(page, f"/api/train/landscape?since={done + 1}")["path"][0]
        assert (point["alpha"], point["beta"]) == (after["alpha"], after["beta"])
        assert f"C = {point['cost']:.4f}" in page.inner_text("#landscape-note")
        nudges = get(page, "/api/train/nudges")
        assert nudges["step"] == done + 1
        table = page.locator("#step-nudges table.wishes")
        assert table.locator("tbody tr.example").count() == 50
        shown_average = [float(v) for v in table.locator("tbody tr.average td").all_inner_texts()]
        np.testing.assert_allclose(shown_average, nudges["average"], atol=0.006)
        cost_line = page.inner_text("#step-cost")
        assert f"{nudges['cost_before']:.4f} before" in cost_line
        assert f"{nudges['cost_after']:.4f} after" in cost_line

        path = (
            DOCS / "web-live.png"
            if os.environ.get("DIGITNET_SCREENSHOT") == "1"
            else Path(tempfile.mkdtemp()) / "web-live.png"
        )
        page.evaluate("window.scrollTo(0, 0)")  # the boxes below are then page coordinates
        panel = page.locator("#train-panel").bounding_box()
        nudge_top = page.locator("#step-nudges").bounding_box()
        assert panel is not None and nudge_top is not None
        clip = {
            "x": panel["x"],
            "y": panel["y"],
            "width": panel["width"],
            "height": nudge_top["y"] - panel["y"] + 260,
        }
        save_png(page.screenshot(full_page=True, clip=clip), path)
        assert 20_000 < path.stat().st_size < 400_000

        # full speed to the end: the curve holds every cost recorded, the last step's too
        with page.expect_response("**/api/train/speed"):
            page.select_option("#train-speed", "")
        assert get(page, "/api/train/status")["steps_per_second"] is None
        with page.expect_response("**/api/train/resume"):
            page.click("#train-pause")
        page.wait_for_function(
            "document.getElementById('train-status').dataset.state === 'finished'"
        )
        costs = get(page, "/api/train/costs")
        assert costs["costs"][-1]["step"] == 20
        page.wait_for_function(
            f"Number(document.getElementById('batch-curves').dataset.points) === {costs['count']}"
        )


def test_teach_panel_shows_each_examples_wishes_then_the_average(
    chromium: Browser, base_url: str
) -> None:
    with open_page(chromium, base_url) as page:
        with page.expect_response("**/api/backprop/batch") as answer:
            page.click("#teach-batch")
        b = answer.value.json()
        table = page.locator("#teach-batch-result table.wishes")
        table.wait_for()
        rows = table.locator("tbody tr.example")
        assert rows.count() == 8 == b["size"]
        for i in (0, 7):
            shown = [float(v) for v in rows.nth(i).locator("td").all_inner_texts()]
            np.testing.assert_allclose(shown, b["wishes"][i], atol=0.006)
            label = b["class_names"][b["labels"][i]]
            assert rows.nth(i).locator("th").inner_text().startswith(f"#{i + 1}: a {label}")
        average = [float(v) for v in table.locator("tbody tr.average td").all_inner_texts()]
        np.testing.assert_allclose(average, np.mean(b["wishes"], axis=0), atol=0.006)
        assert page.locator("#teach-batch-result canvas").count() == 8
        # another mini-batch: other images
        with page.expect_response("**/api/backprop/batch") as again:
            page.click("#teach-batch")
        assert again.value.json()["indices"] != b["indices"]
