"""Load on the web app: 200 concurrent prediction requests against a server on 127.0.0.1.

By default it starts ``digitnet serve`` in a separate process on a free port of 127.0.0.1 (with
``--model``, or a 784-64-10 network it trains for one epoch first), sends a warm-up request, then
fires ``--requests`` POST /api/predict requests all at once from one asyncio client, for the
784-numbers body and for a PNG body. Every answer must be 200 with the right digit. It prints
p50/p99 latency and requests per second, and writes them into ``benchmarks/WEB.md``.

Unless ``--no-live-run``, each burst is fired while a live training run trains in the same server
and its server-sent events stream to a second client: the run is started (as the page starts it,
JSON from the page's own origin), the burst is sent once mini-batches are being taken, and the
run is stopped afterwards. The report says how many mini-batches it took and how many events
streamed during each burst.

    python benchmarks/web_load.py                      # start a server, measure, write WEB.md
    python benchmarks/web_load.py --url http://127.0.0.1:8000 --no-write

Traffic goes to loopback addresses only; the request count and every timeout are bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import ipaddress
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "benchmarks" / "WEB.md"
TIMEOUT = 60.0  # seconds, for any one request
#: The live run trained during a burst: long enough never to end before it is stopped.
LIVE_RUN = {"hidden": [64], "epochs": 50, "batch_size": 32, "lr": 0.05, "train_examples": 50_000}


def loopback_only(url: str) -> str:
    host = urlsplit(url).hostname or ""
    if host != "localhost":
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = False
        if not ok:
            raise SystemExit(f"refusing to load {host!r}: only loopback addresses (127.0.0.1)")
    return url.rstrip("/")


def quick_model(path: Path) -> Path:
    """A 784-64-10 ReLU/softmax network trained for one epoch, saved to ``path``."""
    from digitnet.data import load
    from digitnet.model_io import save_model
    from digitnet.network import Network
    from digitnet.train import TrainConfig, train

    data = load("mnist")
    net = Network(
        [784, 64, 10], activation="relu", output="softmax", cost="cross-entropy", init="he"
    )
    train(net, data.X_train, data.y_train, TrainConfig(epochs=1, batch_size=32, lr=0.05,
          optimizer="momentum"))  # fmt: skip
    return save_model(path, net, dataset={"name": data.name, "source": data.source})


def start_server(model: Path, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "digitnet", "serve", str(model), "--port", str(port)]
    command += ["--runs", tempfile.mkdtemp(prefix="digitnet-bench-runs-")]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited:\n{server.stdout.read() if server.stdout else ''}")
        try:
            if httpx.get(url + "/api/model", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server at {url} did not answer within {timeout} s")


def bodies(n: int) -> tuple[list[dict], list[dict], list[int]]:
    """``n`` real test digits as pixel bodies and as PNG bodies, with their labels."""
    from digitnet.data import load

    data = load("mnist")
    rng = np.random.default_rng(0)
    idx = rng.choice(len(data.y_test), n, replace=False)
    pixel_bodies, png_bodies = [], []
    for i in idx:
        x = data.X_test[i]
        pixel_bodies.append({"pixels": np.round(x, 4).tolist()})
        big = Image.fromarray(np.uint8(255 - 255 * x.reshape(28, 28))).resize((280, 280))
        buffer = io.BytesIO()
        big.save(buffer, format="PNG")  # dark ink on white paper, as the page sends it
        png_bodies.append({"png": base64.b64encode(buffer.getvalue()).decode("ascii")})
    return pixel_bodies, png_bodies, [int(data.y_test[i]) for i in idx]


async def fire(url: str, payloads: list[dict]) -> tuple[list[float], list[dict], float]:
    """Send every payload at once; (latencies in s, answers, wall time in s)."""
    limits = httpx.Limits(max_connections=len(payloads), max_keepalive_connections=len(payloads))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=TIMEOUT) as client:
        await client.post("/api/predict", json=payloads[0])  # warm-up

        async def one(body: dict) -> tuple[float, int, dict]:
            start = time.perf_counter()
            r = await client.post("/api/predict", json=body)
            return time.perf_counter() - start, r.status_code, r.json()

        start = time.perf_counter()
        results = await asyncio.gather(*(one(b) for b in payloads))
        wall = time.perf_counter() - start
    failed = [(s, a) for _, s, a in results if s != 200]
    if failed:
        raise SystemExit(f"{len(failed)} of {len(payloads)} requests failed, e.g. {failed[0]}")
    return [t for t, _, _ in results], [a for _, _, a in results], wall


async def status_of(client: httpx.AsyncClient) -> dict:
    r = await client.get("/api/train/status")
    r.raise_for_status()
    return r.json()


async def burst(url: str, payloads: list[dict], live: bool) -> tuple[list, list, float, dict]:
    """:func:`fire` ``payloads``, while a live run trains and streams its events if ``live``;
    also returns the mini-batches the run took and the events streamed during the burst."""
    if not live:
        return (*await fire(url, payloads), {})
    headers = {"Origin": url}
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT, headers=headers) as control:
        r = await control.post("/api/train", json=LIVE_RUN)
        if r.status_code != 200:
            raise SystemExit(f"could not start the live run: {r.status_code} {r.text}")
        deadline = time.monotonic() + TIMEOUT
        while (await status_of(control))["batches_done"] < 20:
            if time.monotonic() > deadline:
                raise SystemExit("the live run took no mini-batch step in time")
            await asyncio.sleep(0.1)
        counted = {"events": 0}

        async def stream() -> None:
            async with control.stream("GET", "/api/train/events") as events:
                async for line in events.aiter_lines():
                    if line.startswith("event: "):
                        counted["events"] += 1

        reader = asyncio.create_task(stream())
        await asyncio.sleep(0.5)  # the stream is open and sending
        before = await status_of(control)
        events_before = counted["events"]
        try:
            latencies, answers, wall = await fire(url, payloads)
            after = await status_of(control)
            if after["state"] not in ("running", "loading"):
                raise SystemExit(f"the live run ended during the burst: {after['message']}")
        finally:
            reader.cancel()
            await control.post("/api/train/stop", json={})
            while (await status_of(control))["running"] and time.monotonic() < deadline + TIMEOUT:
                await asyncio.sleep(0.1)
        live_numbers = {
            "batches": after["batches_done"] - before["batches_done"],
            "events": counted["events"] - events_before,
        }
    return latencies, answers, wall, live_numbers


def summary(name: str, latencies: list[float], wall: float, right: int) -> dict:
    ms = np.array(latencies) * 1000
    return {
        "body": name,
        "requests": len(latencies),
        "ok": len(latencies),
        "right": right,
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "max": float(ms.max()),
        "mean": statistics.fmean(ms),
        "rps": len(latencies) / wall,
        "wall": wall,
    }


def write_report(rows: list[dict], how: str, live: bool) -> None:
    cpu = platform.processor() or platform.machine()
    lines = [
        "# Web app under load",
        "",
        "`python benchmarks/web_load.py`: one asyncio client sends all requests at once to",
        f"`digitnet serve` on 127.0.0.1 ({how});",
        'every answer must be 200 with a well-formed prediction ("right digit" counts answers',
        "equal to the test label). Latency is per request, from send to answer, so it includes",
        "the wait in the queue; requests per second is the count over the wall time of the burst.",
    ]
    if live:
        lines += [
            "Each burst was sent while a live training run (784-64-10, mini-batches of 32) trained",
            "in the same server and streamed its server-sent events to a second client; the last",
            "two columns are the mini-batches it took and the events streamed during the burst.",
        ]
    lines += [
        "",
        "| body | concurrent requests | succeeded | right digit | p50 ms | p99 ms | max ms "
        "| requests/s | live run: mini-batches | events |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['body']} | {r['requests']} | {r['ok']} | {r['right']} | {r['p50']:.0f} "
            f"| {r['p99']:.0f} | {r['max']:.0f} | {r['rps']:.0f} "
            f"| {r.get('batches', '-')} | {r.get('events', '-')} |"
        )
    lines += [
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores ({cpu}), Python "
        f"{platform.python_version()}, one uvicorn worker; client and server share the machine",
        f"(load average {os.getloadavg()[0]:.1f} at the end of the run).",
        "",
    ]
    REPORT.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server on 127.0.0.1 (default: start one)")
    parser.add_argument("--model", type=Path, help="model file for the server it starts")
    parser.add_argument("--requests", type=int, default=200, help="concurrent requests (200)")
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/WEB.md")
    parser.add_argument(
        "--no-live-run", action="store_true", help="fire the bursts without a live run training"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 2000:
        parser.error("--requests must be 1..2000")

    server = None
    try:
        if args.url:
            url = loopback_only(args.url)
            how = f"a server already running at {url}"
        else:
            from digitnet.web.server import free_port

            model = args.model or quick_model(Path(tempfile.mkdtemp()) / "bench-model.npz")
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            server = start_server(model, port)
            wait_until_up(url, server)
            how = "started by the benchmark in its own process"
        pixel_bodies, png_bodies, labels = bodies(args.requests)
        rows = []
        for name, payloads in (("784 numbers (JSON)", pixel_bodies), ("PNG 280x280", png_bodies)):
            latencies, answers, wall, live = asyncio.run(burst(url, payloads, not args.no_live_run))
            right = sum(a["prediction"] == y for a, y in zip(answers, labels, strict=True))
            row = summary(name, latencies, wall, right) | live
            rows.append(row)
            print(
                f"{name:>20}: {row['ok']}/{row['requests']} ok, {right} right digits, "
                f"p50 {row['p50']:.0f} ms, p99 {row['p99']:.0f} ms, {row['rps']:.0f} requests/s"
                + (
                    f"; live run: {live['batches']} mini-batches, {live['events']} events"
                    if live
                    else ""
                )
            )
        if not args.no_write:
            write_report(rows, how, not args.no_live_run)
            print(f"wrote {REPORT.relative_to(ROOT)}")
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
