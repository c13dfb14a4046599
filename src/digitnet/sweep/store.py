"""The sweep database: one SQLite file, one row per finished run, written only by its driver.

Two tables make the sweep. ``sweep`` holds what makes the sweep itself (``key``/``value`` JSON):
the base recipe without the swept fields (``identity``), the data's checksum, the format. ``runs``
holds one row per run, keyed by the run's identity (a hash of its whole recipe), so no run is
ever recorded twice: the swept values, the seed, the recipe, the status (``finished``, ``pruned``,
``early-stopping`` or ``diverged``), every epoch's record, the final accuracies and costs, the
seconds, the worker that ran it and the model file.

Two more tables say who is writing it. ``drivers`` holds the ``digitnet sweep run`` writing the
file (its host, pid, scheduler, and a heartbeat it renews every few seconds), ``running`` the
Dask key of each run it has handed out and not yet recorded. A driver that died (its pid is gone
on this host, or its heartbeat is older than :data:`LEASE_SECONDS`) leaves its runs there, and the
next driver cancels them on the workers (:func:`claim`); a driver still alive keeps the file to
itself.

The file is opened read-only until the sweep is known to be good (:func:`check`), so bad input
changes nothing; the driver then writes it in WAL mode, one committed row per run. Whatever
SQLite says (a full disk, a damaged file, a schema not ours, a value out of range) is one
:class:`~digitnet.errors.DigitnetError` line naming the file and what to do, and a damaged file
is never read as an empty sweep: every read checks the file's integrity and every row's values.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import stat
import statistics
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digitnet.errors import DigitnetError

if TYPE_CHECKING:
    from digitnet.sweep.plan import SweepIdentity

FORMAT = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
LEASE_SECONDS = 30.0  # a driver silent for this long has ended, whatever its host
HEARTBEAT_SECONDS = 5.0  # how often a driver renews its lease
RUN_COLUMNS = (
    "id",
    "params",
    "seed",
    "recipe",
    "status",
    "epochs",
    "history",
    "test_accuracy",
    "test_cost",
    "validation_accuracy",
    "validation_cost",
    "train_cost",
    "seconds",
    "train_seconds",
    "worker",
    "host",
    "pid",
    "model",
    "message",
    "finished_at",
)
JSON_COLUMNS = ("params", "recipe", "history")
NUMBER_COLUMNS = (
    "test_accuracy",
    "test_cost",
    "validation_accuracy",
    "validation_cost",
    "train_cost",
    "seconds",
    "train_seconds",
)
TEXT_COLUMNS = ("worker", "host", "model", "message", "finished_at")
SCHEMA = """
CREATE TABLE IF NOT EXISTS sweep (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    params TEXT NOT NULL,
    seed INTEGER NOT NULL,
    recipe TEXT NOT NULL,
    status TEXT NOT NULL,
    epochs INTEGER NOT NULL,
    history TEXT NOT NULL,
    test_accuracy REAL,
    test_cost REAL,
    validation_accuracy REAL,
    validation_cost REAL,
    train_cost REAL,
    seconds REAL,
    train_seconds REAL,
    worker TEXT,
    host TEXT,
    pid INTEGER,
    model TEXT,
    message TEXT,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS drivers (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    scheduler TEXT NOT NULL,
    started_at TEXT NOT NULL,
    heartbeat REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS running (
    key TEXT PRIMARY KEY,
    run TEXT NOT NULL,
    driver TEXT NOT NULL
);
"""


@dataclass
class Sweep:
    """A sweep database as read back: its identity, the swept names, and one dict per run."""

    path: Path
    identity: dict[str, Any]
    data: dict[str, Any]
    runs: list[dict[str, Any]]

    @property
    def swept(self) -> list[str]:
        return list(self.identity.get("swept", []))


# -- what SQLite says, in one line ----------------------------------------------------------------
def describe_error(path: Path | str, err: Exception) -> str:
    """One line for an SQLite error on ``path``: what happened and what to do."""
    name = getattr(err, "sqlite_errorname", None) or ""
    reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if isinstance(err, OverflowError) or name in ("SQLITE_TOOBIG", "SQLITE_RANGE"):
        return f"{path}: a value does not fit the database ({reason}); nothing was written"
    if name == "SQLITE_FULL":
        return f"{path}: the disk is full ({reason}); free some space, then rerun the command"
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return damaged(path, reason)
    if name.startswith("SQLITE_IOERR"):
        return (
            f"{path}: cannot read or write the database ({reason}); check the disk (is it full? "
            "still there?), then rerun the command"
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return (
            f"{path}: another process holds the database ({reason}); wait for it to finish, "
            "then rerun the command"
        )
    if name.startswith("SQLITE_READONLY"):
        return f"{path}: the database cannot be written ({reason}); name another --db"
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        return f"{path}: cannot open the database ({reason}); check the file and its folder"
    if name == "SQLITE_ERROR" or isinstance(err, sqlite3.OperationalError):  # e.g. no such table
        return (
            f"{path}: not the schema of a digitnet sweep database ({reason}); move it away and "
            "start a new sweep"
        )
    return f"{path}: SQLite failed ({reason}); move the database away and start a new sweep"


def damaged(path: Path | str, what: str) -> str:
    return f"{path}: the database is damaged ({what}); move it away and start a new sweep"


@contextmanager
def sqlite_errors(path: Path | str) -> Iterator[None]:
    """Every SQLite error (and an integer too large for SQLite) as one DigitnetError line."""
    try:
        yield
    except (sqlite3.Error, OverflowError) as err:
        raise DigitnetError(describe_error(path, err)) from None


class _Connection(sqlite3.Connection):
    """A connection that knows its file, for the messages."""

    path: Path


def _connect(path: Path, read_only: bool) -> _Connection:
    if read_only:
        target, uri = f"{path.resolve().as_uri()}?mode=ro", True
    else:
        target, uri = str(path), False
    conn = sqlite3.connect(target, uri=uri, timeout=30, factory=_Connection)
    conn.path = path
    return conn


def is_file(path: Path) -> bool:
    """Whether ``path`` exists (as a regular file); one line if it exists and is something
    else (a folder, a device such as /dev/null, a pipe), which is never a database."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return False
    except OSError as err:
        raise DigitnetError(f"{path}: {err.strerror}") from None
    if stat.S_ISDIR(mode):
        raise DigitnetError(f"{path} is a folder; name a database file such as {path}/sweep.db")
    if not stat.S_ISREG(mode):
        raise DigitnetError(
            f"{path} is not a regular file (a device, a pipe or a socket); name a database file"
        )
    return True


# -- reading ---------------------------------------------------------------------------------------
def _open_checked(path: Path) -> _Connection | None:
    """A read-only connection to ``path`` once it is known to be a whole digitnet sweep
    database; None for an empty file. One line otherwise."""
    if path.stat().st_size == 0:
        return None
    with open(path, "rb") as f:
        if f.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise DigitnetError(
                f"{path} is not a digitnet sweep database (not an SQLite file); name another --db"
            )
    conn = _connect(path, read_only=True)
    try:
        with sqlite_errors(path):
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check(3)")]
            if problems != ["ok"]:
                raise DigitnetError(damaged(path, problems[0]))
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            if "sweep" not in tables:
                raise DigitnetError(
                    f"{path} is not a digitnet sweep database (it has no table 'sweep'); "
                    "name another --db"
                )
            if "runs" not in tables:
                raise DigitnetError(damaged(path, "its table 'runs' is missing"))
            columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
            missing = [c for c in RUN_COLUMNS if c not in columns]
            if missing:
                raise DigitnetError(damaged(path, f"the table 'runs' has no column {missing[0]}"))
    except BaseException:
        conn.close()
        raise
    return conn


def _meta(path: Path, conn: _Connection) -> dict[str, Any]:
    """The ``sweep`` table as a dict, every value checked."""
    with sqlite_errors(path):
        rows = conn.execute("SELECT key, value FROM sweep").fetchall()
    meta = {}
    for key, value in rows:
        meta[key] = _json(path, value, f"the value of {key!r} in the table 'sweep'")
    if meta.get("format") != FORMAT:
        if "format" not in meta:
            raise DigitnetError(damaged(path, "the table 'sweep' has no format"))
        raise DigitnetError(
            f"{path}: sweep database format {meta.get('format')!r}, this digitnet reads {FORMAT}"
        )
    identity = meta.get("identity")
    if (
        not isinstance(identity, dict)
        or not isinstance(identity.get("recipe"), dict)
        or not isinstance(identity.get("swept"), list)
        or not all(isinstance(name, str) for name in identity["swept"])
    ):
        raise DigitnetError(damaged(path, "the sweep's identity is not a recipe and its names"))
    if not isinstance(meta.get("data", {}), dict):
        raise DigitnetError(damaged(path, "the sweep's data record is not an object"))
    return meta


def _json(path: Path, text: Any, where: str) -> Any:
    if not isinstance(text, str):
        raise DigitnetError(damaged(path, f"{where} is not text"))
    try:
        return json.loads(text)
    except ValueError as err:
        raise DigitnetError(damaged(path, f"{where} is not JSON: {err}")) from None


def _run(path: Path, values: tuple[Any, ...]) -> dict[str, Any]:
    """One row of ``runs`` as a dict, each value of the type it is written as (NULL
    measurements as NaN); one line naming the run if a value is not."""
    run = dict(zip(RUN_COLUMNS, values, strict=True))
    where = f"the run {run['id']!r}" if isinstance(run["id"], str) else "a run"
    if not isinstance(run["id"], str):
        raise DigitnetError(damaged(path, "a run's id is not text"))
    for c in JSON_COLUMNS:
        run[c] = _json(path, run[c], f"{c} of {where}")
    checks = {
        "params": isinstance(run["params"], dict),
        "recipe": isinstance(run["recipe"], dict),
        "history": isinstance(run["history"], list)
        and all(isinstance(e, dict) for e in run["history"]),
        "seed": _is_int(run["seed"]) and run["seed"] >= 0,
        "epochs": _is_int(run["epochs"]) and run["epochs"] >= 0,
        "status": isinstance(run["status"], str),
        "pid": run["pid"] is None or _is_int(run["pid"]),
    }
    for c in NUMBER_COLUMNS:
        checks[c] = run[c] is None or isinstance(run[c], int | float)
    for c in TEXT_COLUMNS:
        checks[c] = run[c] is None or isinstance(run[c], str)
    for c, ok in checks.items():
        if not ok:
            raise DigitnetError(damaged(path, f"{c} of {where} is {run[c]!r}"))
    for c in NUMBER_COLUMNS:
        run[c] = math.nan if run[c] is None else float(run[c])
    return run


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@contextmanager
def _reading(path: Path) -> Iterator[tuple[_Connection, dict[str, Any]] | None]:
    """The checked connection and ``sweep`` table of ``path``, or None for an empty file."""
    conn = _open_checked(path)
    if conn is None:
        yield None
        return
    try:
        yield conn, _meta(path, conn)
    finally:
        conn.close()


def _runs(path: Path, conn: _Connection) -> list[dict[str, Any]]:
    with sqlite_errors(path):
        rows = conn.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs ORDER BY rowid").fetchall()
    return [_run(path, values) for values in rows]


def check(path: Path, identity: SweepIdentity) -> set[str]:
    """The ids of the runs already in ``path`` (none if it does not exist yet), after checking
    that it was written by this same sweep and that no other driver is writing it. Reads only."""
    if not is_file(path):
        return set()
    with _reading(path) as opened:
        if opened is None:
            return set()
        conn, meta = opened
        if meta["identity"] != identity:
            raise DigitnetError(
                f"{path} holds another sweep ({_difference(meta['identity'], identity)}); "
                "name another --db, or give the same recipe to continue it"
            )
        runs = _runs(path, conn)
        for driver in _drivers(path, conn):
            if driver.alive():
                raise DigitnetError(busy(path, driver))
    return {run["id"] for run in runs}


def check_data(path: Path, data: dict[str, Any]) -> None:
    """One line if the sweep in ``path`` trained on other data than ``data`` (its checksum)."""
    if not is_file(path):
        return
    with _reading(path) as opened:
        saved = (opened[1].get("data") if opened else None) or {}
    if saved.get("checksum") not in (None, data.get("checksum")):
        raise DigitnetError(
            f"{path}: the sweep trained on other {saved.get('name')} data (the checksums "
            f"differ from those of {data.get('source')}); name another --db"
        )


def _difference(saved: dict[str, Any], wanted: SweepIdentity) -> str:
    """A few words on how two sweep identities differ."""
    if saved.get("swept") != wanted.get("swept"):
        return f"it swept {', '.join(saved.get('swept', [])) or 'only seeds'}"
    diffs = []
    old, new = saved.get("recipe", {}), wanted.get("recipe", {})
    for section in sorted(set(old) | set(new)):
        a, b = old.get(section), new.get(section)
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if a.get(key) != b.get(key):
                    diffs.append(f"{key} {a.get(key)!r}, not {b.get(key)!r}")
        elif a != b:
            diffs.append(f"{section} {a!r}, not {b!r}")
    return "its recipe has " + "; ".join(diffs[:3])


def read(path: Path) -> Sweep:
    """Every run recorded in ``path``, oldest first (NULL measurements become NaN)."""
    if not is_file(path):
        raise DigitnetError(f"{path}: no such sweep database")
    with _reading(path) as opened:
        if opened is None:
            raise DigitnetError(f"{path} is empty: no sweep has written it")
        conn, meta = opened
        runs = _runs(path, conn)
    return Sweep(path, meta["identity"], meta.get("data", {}), runs)


# -- writing ---------------------------------------------------------------------------------------
def open_for_writing(
    path: Path, identity: SweepIdentity, data: dict[str, Any]
) -> sqlite3.Connection:
    """Create (or open) the database in WAL mode, with the sweep's identity recorded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite_errors(path):
        conn = _connect(path, read_only=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            with conn:
                conn.executescript(SCHEMA)
                for key, value in (("format", FORMAT), ("identity", identity), ("data", data)):
                    conn.execute(
                        "INSERT OR IGNORE INTO sweep (key, value) VALUES (?, ?)",
                        (key, json.dumps(value)),
                    )
        except BaseException:
            conn.close()
            raise
    return conn


def insert(conn: sqlite3.Connection, row: dict[str, Any], key: str | None = None) -> bool:
    """Record one run (and forget ``key``, the Dask key it ran as); False (and nothing
    written) if a row with its id is there already."""
    values = [
        json.dumps(row.get(c), allow_nan=False) if c in JSON_COLUMNS else _plain(row.get(c))
        for c in RUN_COLUMNS
    ]
    with sqlite_errors(_path(conn)), conn:
        cursor = conn.execute(
            f"INSERT OR IGNORE INTO runs ({', '.join(RUN_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(RUN_COLUMNS))})",
            values,
        )
        if key is not None:
            conn.execute("DELETE FROM running WHERE key = ?", (key,))
    return cursor.rowcount == 1


def count(conn: sqlite3.Connection) -> int:
    """How many runs are recorded."""
    with sqlite_errors(_path(conn)):
        return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


def _path(conn: sqlite3.Connection) -> Path | str:
    return getattr(conn, "path", "the sweep database")


def _plain(value: Any) -> Any:
    """NaN and infinities as NULL (SQLite has no NaN)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


# -- who writes the file: drivers, their leases, and the runs they handed out ---------------------
@dataclass(frozen=True)
class Driver:
    """One ``digitnet sweep run`` writing a database, as its row in ``drivers`` says."""

    id: str
    host: str
    pid: int
    scheduler: str
    heartbeat: float  # time.time() of its last sign of life

    @classmethod
    def me(cls, id: str, scheduler: str) -> Driver:
        return cls(id, socket.gethostname(), os.getpid(), scheduler, time.time())

    def alive(self, now: float | None = None) -> bool:
        """Whether it may still be running: a recent heartbeat, and on this host its pid."""
        if (now or time.time()) - self.heartbeat > LEASE_SECONDS:
            return False
        return self.host != socket.gethostname() or _pid_alive(self.pid)

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0
    return True


def busy(path: Path, driver: Driver) -> str:
    age = max(0.0, time.time() - driver.heartbeat)
    return (
        f"{path} is being written by another sweep ({driver.describe()}, heard from {age:.0f} s "
        f"ago); wait for it to end or stop it (Ctrl-C, or kill {driver.pid})"
    )


def _drivers(path: Path, conn: sqlite3.Connection) -> list[Driver]:
    """The rows of ``drivers`` (none in a database written before drivers were recorded)."""
    with sqlite_errors(path):
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "drivers" not in tables:
            return []
        rows = conn.execute("SELECT id, host, pid, scheduler, heartbeat FROM drivers").fetchall()
    drivers = []
    for id, host, pid, scheduler, heartbeat in rows:
        if not (
            isinstance(id, str)
            and isinstance(host, str)
            and _is_int(pid)
            and isinstance(scheduler, str)
            and isinstance(heartbeat, int | float)
        ):
            raise DigitnetError(damaged(path, f"the driver row {id!r} is {pid!r} on {host!r}"))
        drivers.append(Driver(id, host, pid, scheduler, float(heartbeat)))
    return drivers


@dataclass(frozen=True)
class Orphan:
    """A run a dead driver handed out and never recorded: its Dask key and run id."""

    key: str
    run: str
    driver: Driver


def claim(conn: sqlite3.Connection, me: Driver) -> list[Orphan]:
    """Make ``me`` the one driver of the database, in one transaction: one line if another
    driver is alive; the runs of dead drivers are returned (to be cancelled on the workers)
    and forgotten, with the drivers."""
    path = _path(conn)
    with sqlite_errors(path):
        conn.execute("BEGIN IMMEDIATE")
        try:
            drivers = [d for d in _drivers(Path(path), conn) if d.id != me.id]
            for driver in drivers:
                if driver.alive():
                    raise DigitnetError(busy(Path(path), driver))
            orphans = []
            for driver in drivers:
                rows = conn.execute(
                    "SELECT key, run FROM running WHERE driver = ?", (driver.id,)
                ).fetchall()
                orphans += [Orphan(str(key), str(run), driver) for key, run in rows]
                conn.execute("DELETE FROM running WHERE driver = ?", (driver.id,))
                conn.execute("DELETE FROM drivers WHERE id = ?", (driver.id,))
            conn.execute(
                "INSERT OR REPLACE INTO drivers (id, host, pid, scheduler, started_at, heartbeat)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    me.id,
                    me.host,
                    me.pid,
                    me.scheduler,
                    time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    time.time(),
                ),
            )
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
    return orphans


def started(conn: sqlite3.Connection, me: Driver, key: str, run: str) -> None:
    """Note that ``me`` handed out ``run`` as the Dask task ``key``."""
    with sqlite_errors(_path(conn)), conn:
        conn.execute(
            "INSERT OR REPLACE INTO running (key, run, driver) VALUES (?, ?, ?)",
            (key, run, me.id),
        )


def release(conn: sqlite3.Connection, me: Driver) -> None:
    """Forget ``me`` and the runs it handed out: it ends, and cancels those on its way out."""
    with sqlite_errors(_path(conn)), conn:
        conn.execute("DELETE FROM running WHERE driver = ?", (me.id,))
        conn.execute("DELETE FROM drivers WHERE id = ?", (me.id,))


class Heartbeat:
    """A thread that renews ``me``'s lease on the database every :data:`HEARTBEAT_SECONDS`,
    on a connection of its own; :attr:`lost` is set if the row was taken (another driver
    judged this one dead) or cannot be written."""

    def __init__(self, path: Path, me: Driver) -> None:
        self.path, self.me = path, me
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="sweep-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=HEARTBEAT_SECONDS + 30)

    def _beat(self) -> None:
        conn = None
        try:
            conn = _connect(self.path, read_only=False)
            while not self._stop.wait(HEARTBEAT_SECONDS):
                with conn:
                    cursor = conn.execute(
                        "UPDATE drivers SET heartbeat = ? WHERE id = ?", (time.time(), self.me.id)
                    )
                if cursor.rowcount != 1:
                    self.lost = f"{self.path}: another sweep took the database over"
                    return
        except sqlite3.Error as err:
            self.lost = describe_error(self.path, err)
        finally:
            if conn is not None:
                conn.close()


@dataclass
class Group:
    """The runs of one point of the sweep (the same swept values, every seed)."""

    params: dict[str, Any]
    runs: list[dict[str, Any]]

    def values(self, column: str) -> list[float]:
        return [r[column] for r in self.runs if not math.isnan(r[column])]

    def median(self, column: str) -> float:
        values = self.values(column)
        return statistics.median(values) if values else math.nan

    def spread(self, column: str) -> tuple[float, float]:
        values = self.values(column)
        return (min(values), max(values)) if values else (math.nan, math.nan)

    @property
    def diverged(self) -> int:
        return sum(r["status"] == "diverged" for r in self.runs)

    @property
    def pruned(self) -> int:
        return sum(r["status"] == "pruned" for r in self.runs)

    @property
    def score(self) -> float:
        """What ranks the groups: the median validation accuracy (test without a validation
        split)."""
        value = self.median("validation_accuracy")
        return value if not math.isnan(value) else self.median("test_accuracy")


def groups(runs: Iterable[dict[str, Any]]) -> list[Group]:
    """The runs grouped by their swept values, best median first."""
    by_key: dict[str, Group] = {}
    for run in runs:
        key = json.dumps(run["params"], sort_keys=True)
        by_key.setdefault(key, Group(run["params"], [])).runs.append(run)
    ranked = list(by_key.values())
    ranked.sort(key=lambda g: -g.score if not math.isnan(g.score) else math.inf)
    return ranked
