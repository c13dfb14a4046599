"""``digitnet sweep`` under faults: bad numbers, damaged databases, a full disk, killed drivers.

Every bad input and every damaged database runs the real command line as a subprocess and must
end with a non-zero exit, exactly one line on stderr, no traceback, and the database file as it
was. A driver SIGKILLed mid-run on a ``dask scheduler`` started here leaves its run to be
cancelled on the worker, and the next sweep starts at once; SIGTERM stops a sweep as Ctrl-C does.
The sweeps train tiny networks on the embedded MNIST sample.
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sweep_helpers import (
    DaskCluster,
    count_rows,
    digest,
    digitnet,
    start_digitnet,
    sweep_env,
    wait_for,
)

from digitnet.errors import DigitnetError
from digitnet.sweep import store

TINY = ["--layers", "784,8,10", "--epochs", "1", "--batch-size", "50", "--train-images", "500"]
ARGV = ["sweep", "run", *TINY, "--grid", "lr=0.5,3"]
# about 0.3 s an epoch on one core: a run of these takes minutes, far beyond any wait below
LONG = ["--layers", "784,100,10", "--epochs", "2000", "--batch-size", "10"]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return sweep_env(tmp_path_factory)


@pytest.fixture(scope="module")
def good_db(env, tmp_path_factory) -> Path:
    """A whole database of ARGV's two runs, written by the real command."""
    db = tmp_path_factory.mktemp("good") / "sweep.db"
    out = digitnet([*ARGV, "--workers", "1", "--db", str(db)], env, timeout=90)
    assert out.returncode == 0, out.stderr
    assert count_rows(db) == 2
    return db


def one_clean_line(out: subprocess.CompletedProcess, *words: str) -> None:
    """A non-zero exit, exactly one line on stderr, no traceback, naming ``words``."""
    assert out.returncode != 0, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout, out.stderr
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("digitnet: error: "), out.stderr
    for word in words:
        assert word in out.stderr, out.stderr


# -- bad numbers and names: refused at parse time, the database unchanged ------------------------
BAD_OPTIONS = [
    (["--timeout", "nan"], "argument --timeout"),
    (["--timeout", "inf"], "argument --timeout"),
    (["--timeout", "1e308"], "at most 3600"),
    (["--seeds", "99999999999999999999"], "seeds run from 0 to 4294967295"),
    (["--seeds", "0,4294967296"], "seeds run from 0 to 4294967295"),
    (["--seeds", "0-99999999"], "more than 10,000 seeds"),
    (["--seed", "99999999999999999999"], "--seed 99999999999999999999: seeds run from 0"),
    (
        ["--seeds", "0-1000", "--grid", "batch-size=10,20,30,40,50,60,70,80,90,100"],
        "20,020 runs (20 points x 1,001 seeds)",
    ),
    (["--random", "dropout=0:0.5", "--samples", "99999999"], "at most 10,000 runs"),
    (["--scheduler", "not-a-url"], "--scheduler not-a-url: expected an address such as tcp://"),
    (["--scheduler", "tcp://127.0.0.1:99999"], "a port from 1 to 65535"),
    (["--scheduler", "gopher://127.0.0.1:8786"], "unknown address scheme"),
    (["--weight-decay", "inf"], "argument --weight-decay: must be a finite number, got inf"),
    (["--weight-decay", "-1"], "--weight-decay -1.0: weight_decay"),
    (["--lr", "inf"], "argument --lr: must be a finite number, got inf"),
    (["--momentum", "nan"], "argument --momentum: must be a finite number, got nan"),
    (["--dropout", "nan"], "argument --dropout: must be a finite number, got nan"),
    (["--average", "inf"], "argument --average: must be a finite number, got inf"),
    (["--layers", ""], "--layers must be sizes like 784,16,16,10, got ''"),
    (["--layers", ","], "--layers must be sizes like"),
    (["--workers", "100000"], "--workers 100000: at most"),
]


@pytest.mark.parametrize(("argv", "words"), BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS])
def test_a_bad_number_or_name_is_one_line_and_the_database_unchanged(
    argv, words, good_db, env, tmp_path
):
    db = tmp_path / "sweep.db"
    shutil.copyfile(good_db, db)
    before = digest(db)
    out = digitnet(["sweep", "run", *TINY, "--grid", "lr=0.5,3", "--db", str(db), *argv], env)
    one_clean_line(out, words)
    assert digest(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.db"]


def not_a_file(kind: str, tmp_path: Path) -> Path:
    if kind == "fifo":
        path = tmp_path / "pipe.db"
        os.mkfifo(path)
        return path
    if kind == "folder":
        path = tmp_path / "folder.db"
        path.mkdir()
        return path
    return Path(kind)


NOT_FILES = [(kind, "run") for kind in ("/dev/null", "/dev/full", "fifo", "folder")]
NOT_FILES += [("fifo", "show"), ("/dev/full", "show"), ("fifo", "plot")]


@pytest.mark.parametrize(("kind", "command"), NOT_FILES)
def test_a_db_that_is_not_a_regular_file_is_refused_before_any_work(kind, command, env, tmp_path):
    """A fifo would block SQLite's open forever; /dev/full gave an OperationalError traceback."""
    path = not_a_file(kind, tmp_path)
    argv = {
        "run": [*ARGV, "--db", str(path)],
        "show": ["sweep", "show", str(path)],
        "plot": ["plot", "sweep", str(path), "-o", str(tmp_path / "p.png")],
    }[command]
    out = digitnet(argv, env, timeout=30)
    if kind == "folder":
        one_clean_line(out, f"{path} is a folder")
        assert list(path.iterdir()) == []
    else:
        one_clean_line(out, f"{path} is not a regular file")
    if kind == "fifo":
        assert path.is_fifo()
    assert not (tmp_path / "p.png").exists()


# -- damaged databases: one line, never read as empty, never changed -----------------------------
def _sql(*statements: str) -> Callable[[Path], None]:
    def damage(db: Path) -> None:
        conn = sqlite3.connect(db)
        try:
            with conn:
                for statement in statements:
                    conn.execute(statement)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()

    return damage


def _root_page(db: Path, name: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)
        ).fetchone()[0]
    finally:
        conn.close()


def _overwrite_page(name: str | int, fill: str = "garbage") -> Callable[[Path], None]:
    """Overwrite one page (the root page of table or index ``name``, or page number ``name``)
    with random bytes or zeros, as a failing disk might."""

    def damage(db: Path) -> None:
        page = name if isinstance(name, int) else _root_page(db, name)
        with open(db, "r+b") as f:
            f.seek(100 if page == 1 else (page - 1) * 4096)  # page 1 keeps the file's header
            size = 4096 - 100 if page == 1 else 4096
            f.write(random.Random(page).randbytes(size) if fill == "garbage" else bytes(size))

    return damage


def _truncate(size: int) -> Callable[[Path], None]:
    def damage(db: Path) -> None:
        with open(db, "r+b") as f:
            f.truncate(size)

    return damage


def _header(db: Path) -> None:
    with open(db, "r+b") as f:
        f.write(b"this is no SQLite header!")


def _other_sqlite(db: Path) -> None:
    db.unlink()
    _sql("CREATE TABLE notes (text TEXT)", "INSERT INTO notes VALUES ('mine')")(db)


DAMAGES = {
    "garbage in the runs table": (_overwrite_page("runs"), "the database is damaged"),
    "garbage in the runs index": (
        _overwrite_page("sqlite_autoindex_runs_1"),
        "the database is damaged",
    ),
    "garbage in the sweep table": (_overwrite_page("sweep"), "the database is damaged"),
    "garbage in the schema page": (_overwrite_page(1), "the database is damaged"),
    "zeros in the runs table": (_overwrite_page("runs", "zeros"), "the database is damaged"),
    "cut in half": (_truncate(4096 * 4), "the database is damaged"),
    "cut inside the header": (_truncate(50), "the database is damaged"),
    "no SQLite header": (_header, "is not a digitnet sweep database (not an SQLite file)"),
    "another program's SQLite file": (_other_sqlite, "it has no table 'sweep'"),
    "bad JSON in a run's params": (
        _sql("UPDATE runs SET params = '{\"lr\": ' WHERE rowid = 2"),
        "params of the run",
    ),
    "bad JSON in a run's history": (
        _sql("UPDATE runs SET history = 'NaN]' WHERE rowid = 1"),
        "history of the run",
    ),
    "params that are a list": (_sql("UPDATE runs SET params = '[1, 2]'"), "params of the run"),
    "a seed that is text": (_sql("UPDATE runs SET seed = 'zero'"), "seed of the run"),
    "an accuracy that is text": (
        _sql("UPDATE runs SET test_accuracy = 'high'"),
        "test_accuracy of the run",
    ),
    "a NULL run id": (_sql("UPDATE runs SET id = NULL WHERE rowid = 1"), "a run's id"),
    "bad JSON in the identity": (
        _sql("UPDATE sweep SET value = '{\"recipe\"' WHERE key = 'identity'"),
        "the value of 'identity'",
    ),
    "an identity that is a number": (
        _sql("UPDATE sweep SET value = '7' WHERE key = 'identity'"),
        "the sweep's identity",
    ),
    "no format": (_sql("DELETE FROM sweep WHERE key = 'format'"), "has no format"),
    "a later format": (
        _sql("UPDATE sweep SET value = '99' WHERE key = 'format'"),
        "sweep database format 99",
    ),
    "the runs table dropped": (_sql("DROP TABLE runs"), "its table 'runs' is missing"),
    "the sweep table dropped": (_sql("DROP TABLE sweep"), "it has no table 'sweep'"),
    "a runs table of another schema": (
        _sql("DROP TABLE runs", "CREATE TABLE runs (id TEXT PRIMARY KEY, score REAL)"),
        "the table 'runs' has no column params",
    ),
    "a driver row with a text pid": (
        _sql("INSERT INTO drivers VALUES ('d', 'h', 'one', 'tcp://x:1', 'now', 0)"),
        "the driver row",
    ),
}


@pytest.fixture(scope="module")
def damaged_dbs(good_db, tmp_path_factory) -> dict[str, Path]:
    """One damaged copy of the good database per damage, made once."""
    folder = tmp_path_factory.mktemp("damaged")
    made = {}
    for k, (name, (damage, _)) in enumerate(DAMAGES.items()):
        db = folder / f"case{k}" / "sweep.db"
        db.parent.mkdir()
        shutil.copyfile(good_db, db)
        damage(db)
        made[name] = db
    return made


# `plot sweep` reads through the same checks as `sweep show`: a few kinds of damage show it does
PLOTTED = {
    "garbage in the runs table",
    "bad JSON in a run's history",
    "the runs table dropped",
    "a runs table of another schema",
    "no SQLite header",
}
# `sweep show` on one of each kind: a garbage page, bad values, a schema not ours
SHOWN = PLOTTED | {
    "garbage in the runs index",
    "cut in half",
    "bad JSON in a run's params",
    "a seed that is text",
    "bad JSON in the identity",
    "the sweep table dropped",
}
DAMAGE_CASES = [
    (damage, command)
    for damage in DAMAGES
    for command in ("run", "show", "plot")
    if command == "run"
    or (command == "show" and damage in SHOWN)
    or (command == "plot" and damage in PLOTTED)
]


@pytest.mark.parametrize(("damage", "command"), DAMAGE_CASES)
def test_a_damaged_database_is_one_line_naming_it_and_left_as_it_was(
    damage, command, damaged_dbs, env, tmp_path
):
    original = damaged_dbs[damage]
    db = tmp_path / "sweep.db"
    shutil.copyfile(original, db)
    before = digest(db)
    argv = {
        "run": [*ARGV, "--db", str(db)],
        "show": ["sweep", "show", str(db)],
        "plot": ["plot", "sweep", str(db), "-o", str(tmp_path / "p.png")],
    }[command]
    out = digitnet(argv, env, timeout=30)
    one_clean_line(out, f"{db}", DAMAGES[damage][1])
    assert "nothing to run" not in out.stdout  # a damaged database is never an empty sweep
    assert digest(db) == before
    assert not (tmp_path / "p.png").exists()


def test_the_undamaged_database_is_read_as_it_is(good_db, env, tmp_path):
    """The control of the table above: the same commands on the good copy succeed."""
    db = tmp_path / "sweep.db"
    shutil.copyfile(good_db, db)
    out = digitnet([*ARGV, "--db", str(db)], env)
    assert out.returncode == 0 and "2 already in" in out.stdout and "nothing to run" in out.stdout
    out = digitnet(["sweep", "show", str(db)], env)
    assert out.returncode == 0 and out.stdout.startswith(f"{db}: 2 runs, 2 points")
    out = digitnet(["plot", "sweep", str(db), "-o", str(tmp_path / "p.png")], env)
    assert out.returncode == 0 and (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


# -- a full disk ----------------------------------------------------------------------------------
def test_a_full_disk_while_recording_is_one_line_and_keeps_the_runs(good_db, tmp_path):
    """SQLite's own 'database or disk is full' (the file may not grow by a page), as a full disk
    gives it."""
    db = tmp_path / "sweep.db"
    shutil.copyfile(good_db, db)
    conn = store.open_for_writing(db, store.read(db).identity, {})
    try:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        row = {
            "id": "x" * 20,
            "params": {"lr": 1.0},
            "seed": 0,
            "recipe": {"notes": "y" * 20_000},  # more than the pages left
            "status": "finished",
            "epochs": 0,
            "history": [],
        }
        with pytest.raises(DigitnetError) as err:
            store.insert(conn, row)
    finally:
        conn.close()
    assert str(err.value) == (
        f"{db}: the disk is full (database or disk is full); free some space, then rerun the "
        "command"
    )
    assert len(store.read(db).runs) == 2


def _file_size_limit(limit: int) -> Callable[[], None]:
    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past it fail with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


def test_a_disk_that_takes_no_more_bytes_stops_the_sweep_in_one_line(good_db, env, tmp_path):
    """The sweep goes on in a database that may not grow (RLIMIT_FSIZE at its size): a write
    fails, in one line naming the file, and the database stays whole with every run recorded."""
    db = tmp_path / "sweep.db"
    shutil.copyfile(good_db, db)
    proc = subprocess.run(
        [sys.executable, "-m", "digitnet", *ARGV, "--seeds", "0-1", "--workers", "1"]
        + ["--db", str(db)],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        preexec_fn=_file_size_limit(db.stat().st_size),
    )
    one_clean_line(proc, f"{db}: cannot read or write the database (disk I/O error); check the")
    assert 2 <= len(store.read(db).runs) < 4


# -- drivers: one at a time, and a dead one's runs cancelled --------------------------------------
def _driver(id: str, pid: int, heartbeat: float, host: str | None = None) -> store.Driver:
    return store.Driver(id, host or socket.gethostname(), pid, "tcp://127.0.0.1:1", heartbeat)


def _gone_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    return proc.pid


def test_a_dead_drivers_runs_are_handed_to_the_next_and_a_live_one_keeps_the_file(
    good_db, tmp_path
):
    db = tmp_path / "sweep.db"
    shutil.copyfile(good_db, db)
    identity = store.read(db).identity
    conn = store.open_for_writing(db, identity, {})
    try:
        dead = _driver("dead", _gone_pid(), time.time())
        silent = _driver("silent", 1, time.time() - store.LEASE_SECONDS - 1, host="elsewhere")
        for driver, key in ((dead, "run-a-1"), (silent, "run-b-2")):  # as each left them
            with conn:
                conn.execute(
                    "INSERT INTO drivers VALUES (?, ?, ?, ?, 'then', ?)",
                    (driver.id, driver.host, driver.pid, driver.scheduler, driver.heartbeat),
                )
            store.started(conn, driver, key, key[4:5])
        # the dead drivers' runs come back once, and the drivers are forgotten
        me = _driver("me", os.getpid(), time.time())
        orphans = store.claim(conn, me)
        assert sorted((o.key, o.run, o.driver.id) for o in orphans) == [
            ("run-a-1", "a", "dead"),
            ("run-b-2", "b", "silent"),
        ]
        assert [d.id for d in store._drivers(db, conn)] == ["me"]
        # this process is alive, with a fresh heartbeat: another driver is refused, in one line
        with pytest.raises(DigitnetError, match="is being written by another sweep \\(pid "):
            store.claim(conn, _driver("other", os.getpid() + 1, time.time()))
        with pytest.raises(DigitnetError, match="kill"):
            store.check(db, identity)
        elsewhere = _driver("far", 1, time.time() - 1, host="elsewhere")
        store.release(conn, me)
        assert store.claim(conn, elsewhere) == []
        with pytest.raises(DigitnetError, match="on elsewhere"):
            store.claim(conn, me)
        store.release(conn, elsewhere)
        assert store.check(db, identity) == {r["id"] for r in store.read(db).runs}
    finally:
        conn.close()


@pytest.fixture
def one_worker(env, tmp_path) -> Iterator[DaskCluster]:
    cluster = DaskCluster(tmp_path, env)
    try:
        cluster.up(workers=1)
        yield cluster
    finally:
        cluster.stop()


def executing(address: str) -> list[str]:
    """The keys the workers of ``address`` are running this moment."""
    from distributed import Client

    with Client(address, timeout=10, set_as_default=False) as client:
        running = client.run(
            lambda dask_worker: [
                str(ts.key) for ts in dask_worker.state.tasks.values() if ts.state == "executing"
            ]
        )
    return [key for keys in running.values() for key in keys]


def test_a_sigkilled_driver_leaves_no_run_on_the_workers_and_the_next_sweep_starts_at_once(
    one_worker, env, tmp_path
):
    """The old driver's run would take minutes more; the next sweep's must not wait for it."""
    address = one_worker.address
    killed = subprocess.Popen(
        [sys.executable, "-m", "digitnet", "sweep", "run", *LONG, "--db", str(tmp_path / "a.db")]
        + ["--scheduler", address],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: executing(address), 60, "the first driver's run to start")
        [orphan] = executing(address)
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
        start = time.monotonic()
        out = digitnet(
            [*ARGV, "--db", str(tmp_path / "b.db"), "--scheduler", address], env, timeout=60
        )
        seconds = time.monotonic() - start
    finally:
        killed.kill()
        killed.wait(timeout=10)
    assert out.returncode == 0, out.stderr
    assert count_rows(tmp_path / "b.db") == 2
    assert orphan not in executing(address)
    print(f"the next sweep ran its 2 runs {seconds:.1f} s after the first driver was killed")


def test_the_next_driver_of_the_same_database_cancels_the_dead_ones_runs(one_worker, env, tmp_path):
    """The database says which runs the dead driver handed out; the next driver cancels them on
    the workers (should the scheduler still hold them) before its own start, and says so."""
    address, db = one_worker.address, tmp_path / "a.db"
    argv = [sys.executable, "-m", "digitnet", "sweep", "run", *LONG, "--db", str(db)]
    argv += ["--scheduler", address]
    killed = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nxt = None
    try:
        wait_for(lambda: executing(address), 60, "the first driver's run to start")
        [orphan] = executing(address)
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
        start = time.monotonic()
        nxt = subprocess.Popen(
            [*argv, "--seeds", "1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(lambda: [k for k in executing(address) if k != orphan], 60, "the next run")
        seconds = time.monotonic() - start
        assert orphan not in executing(address)
        # SIGTERM twice, as Ctrl-C twice: the run in flight is cancelled on the worker too
        nxt.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        nxt.send_signal(signal.SIGTERM)
        out, err = nxt.communicate(timeout=60)
        wait_for(lambda: not executing(address), 30, "the worker to be free")
    finally:
        for proc in (killed, nxt):
            if proc is not None:
                proc.kill()
                proc.wait(timeout=10)
    assert f"the sweep of pid {killed.pid} on {socket.gethostname()}" in out
    assert out.count("cancelled 1 run on the workers") == 1
    assert nxt.returncode == 130 and "Traceback" not in err
    assert err.splitlines()[-1].startswith(f"aborted: 0 runs are recorded in {db}")
    print(f"the next driver's first run started {seconds:.1f} s after the first was killed")


def test_sigterm_stops_a_sweep_as_ctrl_c_does(env, tmp_path):
    """One SIGTERM to the driver alone: no more runs, those in flight recorded, the same exit
    code and line as Ctrl-C's, and the LocalCluster's workers gone."""
    db = tmp_path / "term.db"
    argv = ["sweep", "run", "--layers", "784,100,10", "--epochs", "3", "--batch-size", "10"]
    argv += ["--grid", "lr=0.5,1,2,3", "--seeds", "0-3", "--workers", "2", "--db", str(db)]
    proc = start_digitnet(argv, env)
    try:
        wait_for(lambda: count_rows(db) >= 1, 60, "the first run")
        workers = _children(proc.pid)
        assert len(workers) >= 2
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert proc.returncode == 130 and "Traceback" not in err, err
    kept = count_rows(db)
    assert 1 <= kept < 16
    lines = err.splitlines()
    assert lines[0].startswith("stopping: no more runs are handed out")
    assert lines[-1].startswith(
        f"interrupted: {kept} runs are recorded in {db}; continue with: digitnet sweep run"
    )
    assert len(lines) == 2
    wait_for(lambda: not any(_alive(pid) for pid in workers), 30, "the workers to end")
    conn = sqlite3.connect(db)
    try:  # the driver left no lease behind
        assert conn.execute("SELECT COUNT(*) FROM drivers").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM running").fetchone()[0] == 0
    finally:
        conn.close()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = (
        Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}").exists() else ""
    )
    return state != "Z"  # a zombie has ended


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (b"\x31\x2f" * 512, "what answers there does not speak Dask"),  # a size of exabytes
        (b"", "did not answer Dask's handshake"),  # takes the connection, says nothing
    ],
    ids=["garbage", "silent"],
)
def test_a_scheduler_address_where_something_else_answers_is_one_line(reply, words, env, tmp_path):
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    held = []

    def answer() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            if reply:
                conn.sendall(reply)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        db = tmp_path / "s.db"
        out = digitnet(
            [*ARGV, "--db", str(db), "--scheduler", f"tcp://127.0.0.1:{port}", "--timeout", "3"],
            env,
        )
    finally:
        server.close()
        for conn in held:
            conn.close()
    one_clean_line(out, f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}: ", words)
    assert not db.exists()
