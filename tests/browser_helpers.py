"""Shared by the browser tests: a server on 127.0.0.1 started by the test, Debian's chromium
driven by Playwright, digits drawn as a person draws them, and the checks every page gets (no
console errors, nothing fetched from outside).

Chromium and the playwright package come from ``make test``; when either is missing the tests
fail (they never skip).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

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
    # a name of another site that resolves to this machine: what DNS rebinding does
    "--host-resolver-rules=MAP rebind.test 127.0.0.1",
]
DOCS = Path(__file__).resolve().parents[1] / "docs"
REFUSED = re.compile(r"Failed to load resource: the server responded with a status of 4\d\d ")

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


@contextmanager
def serving(net: Any, data: Any, save_dir: Path, **options: Any) -> Iterator[tuple[str, Any]]:
    """The web app for ``net`` on 127.0.0.1 in this process: (base URL, app); stopped after."""
    app = create_app(net, None, data, save_dir=save_dir, **options)
    server, thread, url = start_in_thread(app, "127.0.0.1")
    try:
        yield url, app
    finally:
        trainer = app.state.trainer
        if trainer.running:
            trainer.stop()
        trainer.wait(30)
        server.should_exit = True
        thread.join(10)


@contextmanager
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@contextmanager
def open_page(b: Browser, base_url: str, path: str = "/", **context: Any) -> Iterator[Page]:
    """A new page at ``base_url + path``, ready; on leaving, it must have logged no console error
    and fetched nothing but this server's files, its API and data: URLs."""
    ctx = b.new_context(**({"viewport": {"width": 1280, "height": 860}} | context))
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))

    def console(m: Any) -> None:
        # the browser logs every 4xx answer as an error; the tests that send bad input expect
        # them (and check the page's message): only a 5xx or a script's error counts
        if m.type == "error" and not REFUSED.match(m.text):
            errors.append(f"console {m.type}: {m.text}")

    page.on("console", console)
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    page.goto(base_url + path)
    page.wait_for_selector("body[data-ready=true]")
    try:
        yield page
    finally:
        ctx.close()
    assert not errors, errors
    outside = [u for u in urls if not u.startswith((base_url + "/", "data:", "blob:"))]
    assert not outside, outside
    assert any("/static/main.js" in u for u in urls) and any("/api/model" in u for u in urls)


def draw(page: Page, strokes: list[Stroke]) -> None:
    """Draw ``strokes`` with the mouse; wait for the answer to the last one."""
    page.locator("#pad").scroll_into_view_if_needed()
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


def touch_draw(page: Page, stroke: Stroke, pointer: str = "touch") -> None:
    """One stroke by a finger (or pen): pointer events as a touch screen sends them."""
    with page.expect_response("**/api/trace"):
        page.evaluate(
            """([pointer, stroke]) => {
                const pad = document.getElementById('pad');
                const r = pad.getBoundingClientRect();
                const sx = r.width / pad.width, sy = r.height / pad.height;
                const at = (type, [x, y]) => pad.dispatchEvent(new PointerEvent(type, {
                    pointerId: 7, pointerType: pointer, isPrimary: true, bubbles: true,
                    cancelable: true, clientX: r.left + x * sx, clientY: r.top + y * sy,
                    pressure: 0.5}));
                at('pointerdown', stroke[0]);
                for (const p of stroke.slice(1)) at('pointermove', p);
                at('pointerup', stroke[stroke.length - 1]);
            }""",
            [pointer, [list(p) for p in stroke]],
        )


def neuron_at(
    page: Page, layer: int, nth: int = 0, index: int | None = None
) -> tuple[float, float]:
    """Where the diagram drew a neuron, in page coordinates: the ``nth`` drawn in ``layer``, or
    the one with ``index``."""
    x, y = page.evaluate(
        """([layer, nth, index]) => {
            const all = digitnet.diagram.positions.filter(p => p.layer === layer);
            const p = index === null ? all[nth] : all.find(p => p.index === index);
            const r = document.getElementById('diagram').getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""",
        [layer, nth, index],
    )
    return x, y


def served(page: Page) -> dict:
    """The served network's version and its answer for the image on show, from the API."""
    return page.evaluate(
        """async () => {
            const m = await (await fetch('/api/model')).json();
            const t = await (await fetch('/api/predict', {method: 'POST',
                headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({pixels: digitnet.state.input})})).json();
            return {version: m.version, probabilities: t.probabilities};
        }"""
    )


def save_png(png: bytes, path: Path, colours: int = 256) -> None:
    """A screenshot as a small PNG (256 colours keep the README's pictures small)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(io.BytesIO(png)) as shot:
        shot.convert("RGB").quantize(colours, dither=Image.Dither.NONE).save(path, optimize=True)
