"""What the sweep tests share: the sweeps' environment, the CLI as a subprocess, the database
read back, and a real Dask cluster (``dask scheduler`` and ``dask worker`` processes on 127.0.0.1,
each stopped by its pid)."""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

DASK = Path(sys.executable).with_name("dask")


def sweep_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of the sweeps: the embedded sample (no full data anywhere), one BLAS
    thread."""
    empty = tmp_path_factory.mktemp("no-data")
    return dict(
        os.environ,
        DIGITNET_DATA=str(empty),
        DIGITNET_CACHE=str(tmp_path_factory.mktemp("cache")),
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )


def start_digitnet(args: list[str], env: dict[str, str], **popen: Any) -> subprocess.Popen:
    """``python -m digitnet ARGS`` started in the background, its output captured as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "digitnet", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def digitnet(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "digitnet", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def rows(db: Path, columns: str = "*") -> list[sqlite3.Row]:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(f"SELECT {columns} FROM runs").fetchall()
    finally:
        conn.close()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def count_rows(db: Path) -> int:
    try:
        return len(rows(db, "id"))
    except sqlite3.Error:  # not created yet
        return 0


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DaskCluster:
    """A ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, stopped by pid."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("w")
        proc = subprocess.Popen(
            [str(DASK), *argv], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text()

    def up(self, workers: int) -> None:
        self.start(
            "scheduler",
            ["scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"],
        )
        wait_for(lambda: "Scheduler at:" in self.log("scheduler"), 30, "the scheduler")
        for k in range(workers):
            self.start_worker(k)
        for k in range(workers):
            self.wait_for_worker(k)

    def start_worker(self, k: int) -> subprocess.Popen:
        return self.start(
            f"worker{k}",
            ["worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard"]
            + ["--host", "127.0.0.1", "--name", f"worker{k}"],
        )

    def wait_for_worker(self, k: int) -> None:
        wait_for(lambda: "Registered to" in self.log(f"worker{k}"), 30, f"worker{k}")

    def worker_address(self, name: str) -> str:
        for line in self.log(name).splitlines():
            if "Start worker at:" in line:
                return line.split("Start worker at:")[1].strip()
        raise AssertionError(f"{name} did not say its address")

    def stop(self) -> None:
        """The workers first, then the scheduler: SIGTERM, and SIGKILL after 5 s."""
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
