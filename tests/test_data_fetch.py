"""Downloads end to end against an HTTP server on 127.0.0.1 serving copies of the real files.

Mirrors under test: ``/good/`` (the real archives, labels recompressed as a mirror might),
``/bad/`` (train labels with one label changed: a checksum mismatch), ``/trunc/`` (train images
cut off half way, with the full Content-Length), ``/missing/`` (404 for everything), and a
port where nothing listens (connection refused). Never the internet.
"""

from __future__ import annotations

import gzip
import importlib
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from digitnet.cli import main
from digitnet.data import DATASETS, fetch, load
from digitnet.errors import DigitnetError

MNIST = DATASETS["mnist"]


class Server:
    """Routes ``/<mirror>/<file>`` to bytes; ``/trunc/`` sends half and hangs up."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
                outer.requests.append(self.path)
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path.startswith("/trunc/"):
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                else:
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:  # keep the test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def mirror(self, name: str) -> str:
        return f"{self.url}/{name}/"


@pytest.fixture(scope="module")
def server(shared_data: Path) -> Iterator[Server]:
    files = {}
    for spec in MNIST.files:
        archive = (shared_data / "mnist" / f"{spec.name}.gz").read_bytes()
        if spec.kind == "labels":  # a mirror that recompressed: only the content must match
            archive = gzip.compress(gzip.decompress(archive), compresslevel=9, mtime=0)
        files[f"/good/{spec.name}.gz"] = archive
        files[f"/bad/{spec.name}.gz"] = archive
        files[f"/trunc/{spec.name}.gz"] = archive
    labels = bytearray(gzip.decompress(files["/good/train-labels-idx1-ubyte.gz"]))
    labels[8 + 1000] = (labels[8 + 1000] + 1) % 10  # still a valid file, just not MNIST's
    files["/bad/train-labels-idx1-ubyte.gz"] = gzip.compress(bytes(labels), mtime=0)
    srv = Server(files)
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()
    srv.thread.join(timeout=5)


@pytest.fixture
def refused() -> str:
    """A base URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def leftovers(folder: Path) -> list[str]:
    """Temporary or partial files that must never survive a fetch."""
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith(".") or "part" in p.name)


def test_fetch_success(server: Server, tmp_path: Path) -> None:
    result = fetch("mnist", cache_dir=tmp_path, mirrors=[server.mirror("good")], progress=False)
    folder = tmp_path / "mnist"
    assert result.folder == folder
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{f.name}.gz" for f in MNIST.files)
    assert all(r.origin.startswith(server.mirror("good")) and not r.failures for r in result.files)
    assert leftovers(tmp_path) == []
    data = load("mnist", data_dir=tmp_path, allow_embedded=False)
    assert data.y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert data.y_test[:5].tolist() == [7, 2, 1, 0, 4]

    # A second fetch finds everything in place and asks no mirror.
    again = fetch("mnist", cache_dir=tmp_path, mirrors=["http://127.0.0.1:9/none/"])
    assert [r.origin for r in again.files] == ["already in the cache"] * 4


def test_checksum_mismatch(server: Server, tmp_path: Path) -> None:
    with pytest.raises(DigitnetError) as err:
        fetch("mnist", cache_dir=tmp_path, mirrors=[server.mirror("bad")], progress=False)
    message = str(err.value)
    assert "\n" not in message
    assert "train-labels-idx1-ubyte" in message and "sha256" in message
    assert server.mirror("bad") in message  # names the URL, not a temporary file
    folder = tmp_path / "mnist"
    # The images came first and were verified, so they stay; the bad labels never land.
    assert sorted(p.name for p in folder.iterdir()) == ["train-images-idx3-ubyte.gz"]
    assert leftovers(tmp_path) == []


def test_truncated_transfer(server: Server, tmp_path: Path) -> None:
    with pytest.raises(DigitnetError) as err:
        fetch("mnist", cache_dir=tmp_path, mirrors=[server.mirror("trunc")], progress=False)
    assert "transfer truncated at" in str(err.value) and "train-images-idx3-ubyte" in str(err.value)
    assert not (tmp_path / "mnist").exists()  # nothing, not even an empty folder
    assert leftovers(tmp_path) == []


def test_404_then_next_mirror(server: Server, tmp_path: Path) -> None:
    mirrors = [server.mirror("missing"), server.mirror("good")]
    result = fetch("mnist", cache_dir=tmp_path, mirrors=mirrors, progress=False)
    for record in result.files:
        assert record.origin.startswith(server.mirror("good"))
        assert len(record.failures) == 1 and "HTTP 404" in record.failures[0]
    assert leftovers(tmp_path) == []


def test_no_network(refused: str, tmp_path: Path) -> None:
    with pytest.raises(DigitnetError) as err:
        fetch("mnist", cache_dir=tmp_path, mirrors=[refused, refused], progress=False)
    message = str(err.value)
    assert "\n" not in message
    assert message.count("connection refused") == 2
    assert not (tmp_path / "mnist").exists()  # nothing, not even an empty folder


def test_invalid_cached_file_is_replaced(server: Server, tmp_path: Path) -> None:
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8bgarbage")
    (folder / "t10k-labels-idx1-ubyte").write_bytes(b"stale uncompressed copy")
    result = fetch("mnist", cache_dir=tmp_path, mirrors=[server.mirror("good")], progress=False)
    record = result.files[3]
    assert record.failures and "replaced an invalid copy" in record.failures[0]
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{f.name}.gz" for f in MNIST.files)


def test_cli_fetch(server: Server, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    mirrors = ["--mirror", server.mirror("missing"), "--mirror", server.mirror("good")]
    code = main(["data", "fetch", "mnist", "--cache-dir", str(tmp_path), *mirrors])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "MNIST is ready in" in out and "4 files verified by sha256" in out
    assert "HTTP 404" in out
    assert err == ""  # no progress bar when stderr is not a terminal


def test_cli_fetch_failure(refused: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["data", "fetch", "mnist", "--cache-dir", str(tmp_path), "--mirror", refused])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("digitnet: error: could not download")
    assert "Traceback" not in err


def test_load_downloads_only_when_allowed(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_module = importlib.import_module("digitnet.data.load")
    real_fetch = load_module.fetch
    calls = []

    def local_fetch(spec):  # the registry's mirrors replaced by the local server
        calls.append(spec.name)
        return real_fetch(spec, mirrors=[server.mirror("good")], progress=False)

    monkeypatch.setattr(load_module, "fetch", local_fetch)
    monkeypatch.setenv("DIGITNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DIGITNET_DATA", raising=False)
    data = load("mnist")  # not allowed: the embedded sample, no request
    assert data.embedded and calls == []
    data = load("mnist", allow_download=True)
    assert calls == ["mnist"] and not data.embedded
    assert data.source == f"full MNIST from {tmp_path / 'cache' / 'mnist'} (downloaded)"
    assert np.array_equal(data.y_test[:5], [7, 2, 1, 0, 4])


def test_load_falls_back_when_download_fails(
    refused: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_module = importlib.import_module("digitnet.data.load")
    real_fetch = load_module.fetch
    monkeypatch.setattr(load_module, "fetch", lambda spec: real_fetch(spec, mirrors=[refused]))
    monkeypatch.setenv("DIGITNET_CACHE", str(tmp_path))
    monkeypatch.delenv("DIGITNET_DATA", raising=False)
    data = load("mnist", allow_download=True)
    assert data.embedded and "download failed" in data.source
    with pytest.raises(DigitnetError, match="connection refused"):
        load("mnist", allow_download=True, allow_embedded=False)
    with pytest.raises(DigitnetError, match="connection refused"):  # a named folder: no sample
        load("mnist", data_dir=tmp_path / "nowhere", allow_download=True)
    assert leftovers(tmp_path) == []


def test_a_failed_first_fetch_leaves_no_empty_dataset_folder(refused: str, tmp_path: Path) -> None:
    with pytest.raises(DigitnetError, match="connection refused"):
        fetch("mnist", cache_dir=tmp_path, mirrors=[refused], progress=False)
    assert not (tmp_path / "mnist").exists()
    (tmp_path / "mnist").mkdir()  # a folder that was there before stays
    with pytest.raises(DigitnetError, match="connection refused"):
        fetch("mnist", cache_dir=tmp_path, mirrors=[refused], progress=False)
    assert (tmp_path / "mnist").is_dir()
