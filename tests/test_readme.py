"""README.md and the docs' how-to pages run as written: every ```sh and ```python block, in order,
in one temporary folder.

The pages run are DOCUMENTS, in that order: the README, then the pages it sends a new user to.
The folder is what a new user has after ``make demo`` in a fresh clone: the virtual environment
``.venv`` (a link to the one running this test) and the example photos of ``docs/photo-digits/``
(copied). The blocks run in order, so a model written by one block is there for the next.
Python blocks run with the venv's python; shell blocks with ``bash -e``, ``.venv/bin`` first on
PATH (what ``. .venv/bin/activate`` gives). Full MNIST and Fashion-MNIST come from the shared data
through ``$DIGITNET_DATA`` (missing data fail the test, as everywhere in this suite); the dataset
cache is a folder of this test.

Nothing is changed or left out silently. What the test changes in a line before running it is in
REWRITES; what it does not run is in EXCEPTIONS; what it runs differently (in the background, or
stopped with Ctrl-C) is in SERVERS and INTERRUPTED. Every entry must match a page, so the
tables cannot go stale; every other line must exit 0. Where a Python line says what it prints
(a comment ending ``prints VALUE``), the block's output must hold that line, in order, and such a
block must run unchanged. A failure names the page, the block (its first line and line number),
the line, and the tail of its output.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
# The pages whose blocks run, in this order (a later page may use what an earlier one wrote).
DOCUMENTS = [
    "README.md",
    "docs/getting-started.md",
    "docs/how-to/cli.md",
    "docs/how-to/views.md",
    "docs/how-to/web-app.md",
    "docs/how-to/sklearn.md",
    "docs/how-to/onnx.md",
    "docs/how-to/sweeps.md",
    "docs/how-to/experiments.md",
]
README_MAX_LINES = 150  # the README is the front door; the rest lives in docs/
# "# ... prints VALUE" at the end of a Python line: the block prints the line VALUE
PRINTS = re.compile(r"#.*\bprints (.+?)\s*$")

# (pattern, replacement, why). Applied in this order with re.sub to each shell command (its
# continuation lines joined, its comment removed) and to each Python block's text. {port},
# {mirror} and {data} are filled in when the line runs.
REWRITES: list[tuple[str, str, str]] = [
    (
        r"^make demo$",
        "digitnet demo",
        "what `make demo` runs once it has made .venv and installed digitnet (the test runs in "
        "that venv; test_make_demo_runs_digitnet_demo checks the Makefile)",
    ),
    (
        r"--epochs \d+",
        "--epochs 1",
        "1 epoch instead of the page's number: the test checks that lines run, not accuracy",
    ),
    (
        r"^digitnet train --preset modern --out runs/modern\.npz$",
        r"\g<0> --epochs 2",
        "2 epochs, so that Ctrl-C (INTERRUPTED) stops it after the first and the page's "
        "--resume line has a run to continue",
    ),
    (
        r"^digitnet (?:train|demo)\b(?!.*--epochs)(?!.*--resume).*$",
        r"\g<0> --epochs 1",
        "1 epoch instead of the preset's 30 to 120 (--resume continues with the run's own)",
    ),
    (
        r"--port \d+",
        "--port {port}",
        "a free port on 127.0.0.1: 8000 may be taken on the machine running the tests",
    ),
    (
        r"^digitnet serve\b(?!.*--port).*$",
        r"\g<0> --port {port}",
        "a free port on 127.0.0.1 instead of the default 8000, as above",
    ),
    (
        r"^digitnet data fetch (\S+)$",
        r"\g<0> --mirror {mirror}\1/",
        "no internet in tests: a server on 127.0.0.1 serves the shared data's files (the same "
        "bytes, checked against the same sha256)",
    ),
    (
        r"/usr/share/datasets/fashion-mnist",
        "{data}/fashion-mnist",
        "Debian's dataset-fashion-mnist is not installed here; the shared data hold the same files",
    ),
    (r"\bepochs=30\b", "epochs=1", "1 epoch instead of 30, as for the command line"),
]

# Shell commands (comment removed) that are not run, and why.
EXCEPTIONS: dict[str, str] = {
    "make test": "runs the whole suite, this test included: it would run itself",
    "dask scheduler --port 8786": "a cluster's scheduler serves until stopped, on a fixed port; "
    "tests/test_sweep.py starts dask scheduler and dask worker processes on free ports",
    "dask worker tcp://HOST:8786 --nworkers -1 --nthreads 1": "HOST names the scheduler's "
    "machine; tests/test_sweep.py runs sweeps through dask worker processes it starts",
    "digitnet sweep run --scheduler tcp://HOST:8786 --grid layers=784-16-16-10,784-32-10 "
    "--seeds 0-4 --db runs/wide.db": "needs the cluster above; tests/test_sweep.py runs "
    "digitnet sweep run --scheduler against a real dask scheduler",
}

# Shell commands that run until stopped: started in the background, they must answer GET / and
# GET /api/model with 200; then Ctrl-C (SIGINT, sent to their pid) must stop them.
SERVERS: dict[str, str] = {
    r"^digitnet serve\b": "the web app serves until Ctrl-C",
}

# Shell commands stopped with Ctrl-C (SIGINT to their pid) once the file named here exists; they
# must exit 130 and print, as the way to resume, the page's next command.
INTERRUPTED: dict[str, tuple[str, str]] = {
    "digitnet train --preset modern --out runs/modern.npz": (
        "runs/modern.checkpoint.npz",
        "the page's next line resumes it 'after Ctrl-C'",
    ),
}

LANGUAGES = {"sh": "shell", "bash": "shell", "python": "python"}
TIMEOUT = 600  # seconds for one segment


@dataclass
class Block:
    lang: str
    line: int  # the page's line of the block's first line of code
    text: str
    path: str = "README.md"  # the page, relative to the repository

    @property
    def first(self) -> str:
        return self.text.splitlines()[0] if self.text.strip() else ""


@dataclass
class Command:
    line: int  # the page's line where the command starts
    text: str  # as on the page: continuation lines joined, comment removed


def blocks_of(path: str) -> list[Block]:
    blocks: list[Block] = []
    lang: str | None = None
    start, lines = 0, []
    for number, line in enumerate((REPO / path).read_text().splitlines(), 1):
        if lang is None:
            fence = re.match(r"^```(\S*)\s*$", line)
            if fence:
                lang, start, lines = fence.group(1), number + 1, []
        elif line.startswith("```"):
            blocks.append(Block(lang, start, "\n".join(lines) + "\n", path))
            lang = None
        else:
            lines.append(line)
    assert lang is None, f"{path}: the block opened before line {start} is never closed"
    return blocks


def readme_blocks() -> list[Block]:
    return blocks_of("README.md")


def printed_claims(block: Block) -> list[tuple[int, str]]:
    """(page line, the line printed) for each Python line that says what it prints."""
    claims = []
    for i, line in enumerate(block.text.splitlines()):
        match = PRINTS.search(line)
        if match:
            claims.append((block.line + i, match.group(1)))
    return claims


def shell_commands(block: Block) -> list[Command]:
    commands, pending, first = [], "", block.line
    for i, raw in enumerate(block.text.splitlines()):
        if not pending:
            first = block.line + i
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        text = (pending + line.strip()).strip()
        pending = ""
        if text:
            commands.append(Command(first, text))
    return commands


def rewrite(text: str, used: set[str]) -> str:
    for pattern, replacement, _ in REWRITES:
        text, n = re.subn(pattern, replacement, text)
        if n:
            used.add(pattern)
    return text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def local_mirror(root: Path) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving ``root`` (``<dataset>/<file>.gz``): the URL."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


class Runner:
    """Runs the pages' blocks in ``work``; collects every failure's report."""

    def __init__(self, work: Path, env: dict[str, str], mirror: str, data: Path) -> None:
        self.work, self.env, self.mirror, self.data = work, env, mirror, data
        self.used: set[str] = set()
        self.log: list[tuple[str, int, str, float]] = []  # (page, line, what ran, seconds)
        self.page = "README.md"  # the page whose blocks are running
        self.logs = work.parent / "logs"
        self.logs.mkdir()

    def fill(self, text: str) -> str:
        """The rewritten text, with a fresh free port per line."""
        text = rewrite(text, self.used)
        text = text.replace("{mirror}", self.mirror).replace("{data}", str(self.data))
        return text.replace("{port}", str(free_port())) if "{port}" in text else text

    def failure(self, block: Block, line: int, what: str, out: str, err: str = "") -> str:
        return (
            f"{block.path} line {block.line}: the {block.lang} block starting {block.first!r}, "
            f"at {block.path} line {line}: {what}\n"
            f"--- stdout (tail) ---\n{tail(out)}\n--- stderr (tail) ---\n{tail(err)}"
        )

    def run(self, argv: list[str], line: int, label: str, stdin: str | None = None):
        start = time.monotonic()
        try:
            result = subprocess.run(
                argv,
                cwd=self.work,
                env=self.env,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
            )
        except subprocess.TimeoutExpired as err:
            out = err.stdout.decode() if isinstance(err.stdout, bytes) else err.stdout or ""
            result = subprocess.CompletedProcess(argv, -1, out, f"timed out after {TIMEOUT} s")
        self.log.append((self.page, line, label, time.monotonic() - start))
        return result

    def python_block(self, block: Block) -> str | None:
        code = self.fill(block.text)
        claims = printed_claims(block)
        if claims and code != block.text:
            return self.failure(
                block,
                claims[0][0],
                "this block says what it prints, so it must run as written, but the test "
                f"rewrote it (REWRITES); it would have run:\n{code}",
                "",
            )
        result = self.run([sys.executable, "-"], block.line, "python block", stdin=code)
        if result.returncode != 0:
            return self.failure(
                block,
                block.line,
                f"python exited {result.returncode} (<stdin> line N is {block.path} line "
                f"{block.line} + N - 1); it ran:\n{code}",
                result.stdout,
                result.stderr,
            )
        printed = [line.strip() for line in result.stdout.splitlines()]
        at = 0
        for line, expected in claims:
            try:
                at = printed.index(expected, at) + 1
            except ValueError:
                return self.failure(
                    block,
                    line,
                    f"the page says this prints {expected!r}, but no line of the output (after "
                    "the previous claim's) is that",
                    result.stdout,
                    result.stderr,
                )
        return None

    def shell_block(self, block: Block) -> str | None:
        commands = shell_commands(block)
        plain: list[tuple[Command, str]] = []

        def flush() -> str | None:
            if not plain:
                return None
            script = "\n".join(text for _, text in plain)
            line = plain[0][0].line
            plain.clear()
            result = self.run(["bash", "-e", "-x", "-o", "pipefail", "-c", script], line, script)
            if result.returncode != 0:
                return self.failure(
                    block,
                    line,
                    f"bash exited {result.returncode} running (the last '+ ' line of stderr is "
                    f"the one that failed):\n{script}",
                    result.stdout,
                    result.stderr,
                )
            return None

        for i, command in enumerate(commands):
            if command.text in EXCEPTIONS:
                self.used.add(command.text)
                self.log.append((self.page, command.line, f"not run: {command.text}", 0.0))
                continue
            server = next((p for p in SERVERS if re.search(p, command.text)), None)
            if server is not None or command.text in INTERRUPTED:
                problem = flush()
                if problem:
                    return problem
                text = self.fill(command.text)
                if server is not None:
                    self.used.add(server)
                    problem = self.server(block, command, text)
                else:
                    self.used.add(command.text)
                    following = commands[i + 1].text if i + 1 < len(commands) else None
                    problem = self.interrupted(block, command, text, following)
                if problem:
                    return problem
                continue
            plain.append((command, self.fill(command.text)))
        return flush()

    def background(self, text: str, name: str) -> tuple[subprocess.Popen, Path, Path]:
        argv = shlex.split(text)
        argv[0] = shutil.which(argv[0], path=self.env["PATH"]) or argv[0]
        out, err = self.logs / f"{name}.out", self.logs / f"{name}.err"
        with out.open("w") as o, err.open("w") as e:
            proc = subprocess.Popen(argv, cwd=self.work, env=self.env, stdout=o, stderr=e)
        return proc, out, err

    def server(self, block: Block, command: Command, text: str) -> str | None:
        port = int(re.search(r"--port (\d+)", text).group(1))
        start = time.monotonic()
        proc, out, err = self.background(text, f"line-{command.line}")
        problem = None
        try:
            deadline = time.monotonic() + 120
            for path in ("/", "/api/model"):
                while problem is None:
                    try:
                        with urllib.request.urlopen(
                            f"http://127.0.0.1:{port}{path}", timeout=30
                        ) as reply:
                            if reply.status != 200:
                                problem = f"GET {path} answered {reply.status}"
                            break
                    except urllib.error.HTTPError as error:
                        with closing(error):
                            problem = f"GET {path} answered {error.code}"
                    except OSError:
                        if proc.poll() is not None:
                            problem = f"it exited {proc.returncode} before answering GET {path}"
                        elif time.monotonic() > deadline:
                            problem = f"no answer to GET {path} within 120 s"
                        else:
                            time.sleep(0.2)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # Ctrl-C
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    problem = problem or "Ctrl-C did not stop it within 30 s"
            if problem is None and proc.returncode not in (0, 130):
                problem = f"after Ctrl-C it exited {proc.returncode}"
        self.log.append(
            (self.page, command.line, f"{text} (served, then Ctrl-C)", time.monotonic() - start)
        )
        if problem:
            return self.failure(
                block, command.line, f"{text}: {problem}", out.read_text(), err.read_text()
            )
        return None

    def interrupted(
        self, block: Block, command: Command, text: str, following: str | None
    ) -> str | None:
        wait_for, _ = INTERRUPTED[command.text]
        start = time.monotonic()
        proc, out, err = self.background(text, f"line-{command.line}")
        deadline = time.monotonic() + TIMEOUT
        while not (self.work / wait_for).exists() and proc.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        problem = None
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            problem = "Ctrl-C did not stop it within 60 s"
        self.log.append((self.page, command.line, f"{text} (Ctrl-C)", time.monotonic() - start))
        hint = re.search(r"resume with: (.+)$", err.read_text(), re.MULTILINE)
        if problem is None and proc.returncode != 130:
            problem = f"after Ctrl-C it exited {proc.returncode}, not 130"
        elif problem is None and (hint is None or hint.group(1).strip() != following):
            problem = f"it should print 'resume with: {following}', the page's next line"
        if problem:
            return self.failure(
                block, command.line, f"{text}: {problem}", out.read_text(), err.read_text()
            )
        return None


@pytest.mark.slow
def test_readme_and_docs_run_as_written(shared_data: Path, tmp_path: Path) -> None:
    work = tmp_path / "clone"
    work.mkdir()
    (work / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    shutil.copytree(REPO / "docs" / "photo-digits", work / "docs" / "photo-digits")
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        DIGITNET_DATA=str(shared_data),
        DIGITNET_CACHE=str(tmp_path / "cache"),
    )
    pages = {path: blocks_of(path) for path in DOCUMENTS}
    blocks = [block for page in pages.values() for block in page]
    unknown = [f"{b.path} line {b.line}: ```{b.lang}" for b in blocks if b.lang not in LANGUAGES]
    assert not unknown, f"blocks this test does not know how to run: {unknown}"
    assert {LANGUAGES[b.lang] for b in blocks} == {"shell", "python"}
    empty = [path for path, page in pages.items() if not page]
    assert not empty, f"pages in DOCUMENTS without a block to run: {empty}"

    with local_mirror(shared_data) as mirror:
        runner = Runner(work, env, mirror, shared_data)
        for block in blocks:
            runner.page = block.path
            if LANGUAGES[block.lang] == "python":
                problem = runner.python_block(block)
            else:
                problem = runner.shell_block(block)
            assert problem is None, problem

    print("\n".join(f"{p}:{line:<4} {s:6.1f} s  {what}" for p, line, what, s in runner.log))
    tables = [p for p, _, _ in REWRITES] + list(EXCEPTIONS) + list(SERVERS) + list(INTERRUPTED)
    stale = [entry for entry in tables if entry not in runner.used]
    assert not stale, f"table entries that no longer match any page's line: {stale}"


def test_printed_claims_are_found_and_must_match(tmp_path: Path) -> None:
    """The sklearn page states the numbers it prints (issue 24: they had drifted); a claim that
    the output does not hold fails, naming the page and the line."""
    claims = [c for b in blocks_of("docs/how-to/sklearn.md") for c in printed_claims(b)]
    assert [value for _, value in claims][:2] == ["0.9113", "[0.879 0.891 0.877]"]
    (tmp_path / "work").mkdir()
    runner = Runner(tmp_path / "work", dict(os.environ), "", tmp_path)
    wrong = runner.python_block(Block("python", 10, "print(1 + 1)  # prints 3\n", "docs/x.md"))
    assert wrong and "docs/x.md line 10" in wrong and "prints '3'" in wrong
    assert runner.python_block(Block("python", 1, "print(1 + 1)  # prints 2\n")) is None
    rewritten = runner.python_block(Block("python", 1, "f(epochs=30)  # prints 2\n"))
    assert rewritten and "must run as written" in rewritten


def test_readme_is_short_and_its_links_exist() -> None:
    text = README.read_text()
    lines = text.splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines, more than {README_MAX_LINES}: move detail to docs/"
    )
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [link.split("#")[0] for link in links if not re.match(r"[a-z]+:", link)]
    assert len(local) >= 10
    missing = [link for link in local if link and not (REPO / link).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"
    for path in DOCUMENTS[1:]:
        assert f"]({path})" in text, f"README.md does not link to {path}, whose blocks run here"


def test_first_python_block_imports_only_from_digitnet() -> None:
    """Issue 12: the README's first example uses only ``from digitnet import ...``."""
    block = next(b for b in readme_blocks() if b.lang == "python")
    imports = [
        node
        for node in ast.walk(ast.parse(block.text))
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert imports, "the first Python block imports nothing"
    for node in imports:
        assert isinstance(node, ast.ImportFrom) and node.module == "digitnet" and not node.level, (
            f"README.md line {block.line + node.lineno - 1}: {ast.unparse(node)} "
            "(the first example imports only from digitnet)"
        )


def test_make_demo_runs_digitnet_demo() -> None:
    """REWRITES runs `make demo` as `digitnet demo` in the installed venv: that is its recipe."""
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert recipe and recipe.group(1).split() == ["$(PY)", "-m", "digitnet", "demo"]
