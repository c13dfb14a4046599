"""Run many ``digitnet`` command lines in one child process, each as the console script would.

Starting Python and importing NumPy, matplotlib and onnxruntime for each of hundreds of command
lines would take minutes; one child runs them in turn instead. For each command line it points
file descriptors 1 and 2 at files of their own (so output written below Python, by a C library,
is caught too), calls :func:`digitnet.cli.main` as the ``digitnet`` script does, and, for an
exception that escapes ``main``, prints the traceback Python would print. The child runs under
``RLIMIT_AS`` (address space), so a command that tries to allocate gigabytes fails, and within a
time limit.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: Address space a child may use: enough for digitnet with matplotlib, onnxruntime and MNIST.
MEMORY_LIMIT = 3 * 2**30

CHILD = r"""
import json, os, sys, tempfile, traceback
from digitnet.cli import main

results = []
for argv in json.loads(sys.stdin.read()):  # a long list: more than one argument may hold
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        saved = os.dup(1), os.dup(2)
        sys.stdout.flush(); sys.stderr.flush()
        os.dup2(out.fileno(), 1); os.dup2(err.fileno(), 2)
        try:
            code = main(argv)
        except BaseException:
            traceback.print_exc()
            code = 99
        sys.stdout.flush(); sys.stderr.flush()
        os.dup2(saved[0], 1); os.dup2(saved[1], 2)
        os.close(saved[0]); os.close(saved[1])
        out.seek(0); err.seek(0)
        results.append({"argv": argv, "code": code,
                        "stdout": out.read().decode(errors="replace"),
                        "stderr": err.read().decode(errors="replace")})
print(json.dumps(results))
"""


@dataclass
class Result:
    argv: list[str]
    code: int
    stdout: str
    stderr: str

    def clean_refusal(self) -> bool:
        """Exit non-zero with exactly one line, ``digitnet: error: ...``, on stderr."""
        lines = self.stderr.strip().splitlines()
        return (
            self.code != 0
            and len(lines) == 1
            and lines[0].startswith("digitnet: error: ")
            and "Traceback" not in self.stderr
        )


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_batch(
    commands: list[list[str]], cwd: Path, data: Path, timeout: float = 600
) -> list[Result]:
    """Each of ``commands`` (argv lists without the leading ``digitnet``), run in one child that
    finds the datasets in ``data`` (``DIGITNET_DATA``)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg", DIGITNET_DATA=str(data))
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=json.dumps(commands),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_limit_memory,
        check=False,
    )
    assert done.returncode == 0, f"the child failed: {done.stderr[-2000:]}"
    return [Result(**r) for r in json.loads(done.stdout.strip().splitlines()[-1])]
