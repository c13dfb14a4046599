"""Shared fixtures: the real datasets in ../shared/data (or $DIGITNET_DATA), a private cache.

Tests that need real data fail, never skip, when it is missing: CI has it beside the repo.
No test writes the user's cache: ``$DIGITNET_CACHE`` points at a temporary folder for the run.
"""

from __future__ import annotations

import os

# One BLAS thread per test process: the tests' networks are small, and OpenBLAS's spinning threads
# slow a run a hundredfold when another process (a test server, a second job) holds a core.
# Speed is measured in benchmarks/, with the thread count stated there.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Property tests explore new examples on every local run (and remember failures in
# .hypothesis/); under CI (CI=true, as .ci/run sets it) they are derandomized and keep no database,
# so a clone's `make test` passes or fails the same way every time.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", settings.get_profile("default"))
settings.load_profile("ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev")


def shared_data_dir() -> Path:
    env = os.environ.get("DIGITNET_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    assert (path / "mnist").is_dir(), f"the shared datasets are missing at {path}"
    return path


@pytest.fixture(scope="session")
def mnist_dir(shared_data: Path) -> Path:
    """Alias of ``shared_data``: the ``data_dir`` (holding ``mnist/``) to pass to ``load``."""
    return shared_data


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``$DIGITNET_CACHE`` is one temporary folder for the whole run (decoded copies are shared
    between tests); a test that needs an empty cache sets its own with monkeypatch."""
    patch = pytest.MonkeyPatch()
    cache = tmp_path_factory.mktemp("digitnet-cache")
    patch.setenv("DIGITNET_CACHE", str(cache))
    yield cache
    patch.undo()


@pytest.fixture(scope="session")
def mnist(shared_data: Path):
    """Full MNIST, loaded once per test session: 50,000 train, 10,000 validation, 10,000 test."""
    from digitnet.data import load

    data = load("mnist", data_dir=shared_data, validation=10_000)
    assert not data.embedded and len(data.y_train) == 50_000
    return data


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium under Playwright, one per test module (``browser_helpers.browser``)."""
    from browser_helpers import browser

    with browser() as b:
        yield b
