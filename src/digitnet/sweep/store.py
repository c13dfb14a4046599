"""The sweep database: one SQLite file, one row per finished run, written only by the driver.

Two tables. ``sweep`` holds what makes the sweep itself (``key``/``value`` JSON): the base
recipe without the swept fields (``identity``), the data's checksum, the format. ``runs`` holds
one row per run, keyed by the run's identity (a hash of its whole recipe), so no run is ever
recorded twice: the swept values, the seed, the recipe, the status (``finished``,
``early-stopping`` or ``diverged``), every epoch's record, the final accuracies and costs, the
seconds, the worker that ran it and the model file.

The file is opened read-only until the sweep is known to be good (:func:`check`), so bad input
changes nothing; the driver then writes it in WAL mode, one committed row per run.
"""

from __future__ import annotations

import json
import math
import sqlite3
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digitnet.errors import DigitnetError

FORMAT = 1
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


def _connect_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)


def _read_meta(path: Path) -> dict[str, Any] | None:
    """The ``sweep`` table of ``path`` as a dict; None for an empty file. One line if ``path``
    is not a sweep database."""
    if path.is_dir():
        raise DigitnetError(f"{path} is a folder; name a database file such as {path}/sweep.db")
    if path.stat().st_size == 0:
        return None
    try:
        with _connect_read_only(path) as conn:
            rows = conn.execute("SELECT key, value FROM sweep").fetchall()
    except sqlite3.DatabaseError as err:
        raise DigitnetError(
            f"{path} is not a digitnet sweep database ({err}); name another --db"
        ) from None
    meta = {key: json.loads(value) for key, value in rows}
    if meta.get("format") != FORMAT:
        raise DigitnetError(
            f"{path}: sweep database format {meta.get('format')!r}, this digitnet reads {FORMAT}"
        )
    return meta


def check(path: Path, identity: dict[str, Any]) -> set[str]:
    """The ids of the runs already in ``path`` (none if it does not exist yet), after checking
    that it was written by this same sweep. Reads only."""
    if not path.exists():
        return set()
    meta = _read_meta(path)
    if meta is None:
        return set()
    if meta.get("identity") != identity:
        raise DigitnetError(
            f"{path} holds another sweep ({_difference(meta.get('identity', {}), identity)}); "
            "name another --db, or give the same recipe to continue it"
        )
    with _connect_read_only(path) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM runs")}


def check_data(path: Path, data: dict[str, Any]) -> None:
    """One line if the sweep in ``path`` trained on other data than ``data`` (its checksum)."""
    meta = _read_meta(path) if path.exists() else None
    saved = (meta or {}).get("data") or {}
    if saved.get("checksum") not in (None, data.get("checksum")):
        raise DigitnetError(
            f"{path}: the sweep trained on other {saved.get('name')} data (the checksums "
            f"differ from those of {data.get('source')}); name another --db"
        )


def _difference(saved: dict[str, Any], wanted: dict[str, Any]) -> str:
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


def open_for_writing(
    path: Path, identity: dict[str, Any], data: dict[str, Any]
) -> sqlite3.Connection:
    """Create (or open) the database in WAL mode, with the sweep's identity recorded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    with conn:
        conn.executescript(SCHEMA)
        for key, value in (("format", FORMAT), ("identity", identity), ("data", data)):
            conn.execute(
                "INSERT OR IGNORE INTO sweep (key, value) VALUES (?, ?)", (key, json.dumps(value))
            )
    return conn


def insert(conn: sqlite3.Connection, row: dict[str, Any]) -> bool:
    """Record one run; False (and nothing written) if a row with its id is there already."""
    values = [
        json.dumps(row.get(c), allow_nan=False) if c in JSON_COLUMNS else _plain(row.get(c))
        for c in RUN_COLUMNS
    ]
    with conn:
        cursor = conn.execute(
            f"INSERT OR IGNORE INTO runs ({', '.join(RUN_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(RUN_COLUMNS))})",
            values,
        )
    return cursor.rowcount == 1


def _plain(value: Any) -> Any:
    """NaN and infinities as NULL (SQLite has no NaN)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def read(path: Path) -> Sweep:
    """Every run recorded in ``path``, oldest first (NULL measurements become NaN)."""
    if not path.exists():
        raise DigitnetError(f"{path}: no such sweep database")
    meta = _read_meta(path)
    if meta is None:
        raise DigitnetError(f"{path} is empty: no sweep has written it")
    with _connect_read_only(path) as conn:
        cursor = conn.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs ORDER BY rowid")
        runs = []
        for values in cursor:
            run = dict(zip(RUN_COLUMNS, values, strict=True))
            for c in JSON_COLUMNS:
                run[c] = json.loads(run[c])
            for c in ("test_accuracy", "test_cost", "validation_accuracy", "validation_cost"):
                run[c] = math.nan if run[c] is None else run[c]
            runs.append(run)
    return Sweep(path, meta.get("identity", {}), meta.get("data", {}), runs)


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
