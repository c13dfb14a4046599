"""The property tests' settings: derandomized without a database under CI, exploring locally."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


@pytest.mark.parametrize(("ci", "derandomized"), [("true", True), ("", False), (None, False)])
def test_ci_chooses_the_derandomized_profile(ci: str | None, derandomized: bool) -> None:
    code = (
        "import conftest; from hypothesis import settings; d = settings.default; "
        "print(d.derandomize, d.database is None)"
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"} | ({} if ci is None else {"CI": ci})
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=TESTS, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(derandomized), str(derandomized)]
