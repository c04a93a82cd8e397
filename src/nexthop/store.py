"""SQLite persistence of the desired topology: one row per resource, a small
key/value ``state`` table (lab faults) and an event log.

The ``ControlPlane`` is the only writer. ``replace_all`` swaps the whole set of
resources inside ONE transaction (``BEGIN IMMEDIATE`` … ``COMMIT``), so a crash
or an exception mid-write leaves the previous state intact. The database runs
in WAL mode (readers such as a CLI ``--db`` query do not block ``nexthop
serve``) and carries a ``schema_version`` table; opening a file written by a
newer schema fails instead of guessing.

Default location: ``platformdirs.user_data_dir("nexthop")/nexthop.db``,
overridden by the ``NEXTHOP_DB`` environment variable or an explicit path.
``check_db_path`` runs before anything touches the file: the default location's
directory is created on first use, an explicit path's directory must exist (a
typo in ``--db`` must not start an empty server), and a path that cannot hold a
database (under a regular file, a read-only or missing directory, a directory
itself, a file that is not writable) is a ``StoreError`` naming the culprit.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

__all__ = [
    "DB_ENV",
    "SCHEMA_VERSION",
    "Event",
    "Resource",
    "Store",
    "StoreError",
    "check_db_path",
    "default_db_path",
]

DB_ENV = "NEXTHOP_DB"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS resources (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    body TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (kind, name)
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""


class StoreError(Exception):
    """The database cannot be opened or has an unknown schema."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    """One stored resource. ``position`` keeps the file's order within a kind."""

    kind: str
    name: str
    position: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One entry of the event log (e.g. an applied change set)."""

    id: int
    at: float
    kind: str
    detail: dict[str, Any]


def default_db_path() -> Path:
    """``$NEXTHOP_DB`` if set, else ``<user data dir>/nexthop/nexthop.db``."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("nexthop")) / "nexthop.db"


def _first_existing(path: Path) -> Path:
    """``path`` or the nearest ancestor of it that exists (``lstat``: a dangling link counts)."""
    for candidate in (path, *path.parents):
        try:
            candidate.lstat()
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError:
            return candidate  # exists but cannot be inspected; the checks below say why
        return candidate
    return Path(path.anchor or ".")


def _probe_writable(directory: Path, where: str) -> None:
    """Create and remove a file in ``directory``: the one test that also holds for
    root and for read-only file systems (``os.access`` answers yes for root)."""
    probe = directory / f".nexthop-probe-{os.getpid()}"
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        probe.unlink()
    except OSError as exc:
        raise StoreError(
            f"{where}: the directory {directory} is not writable ({exc.strerror};"
            " the database, its journal and its lock file live there)"
        ) from None


def check_db_path(path: str | os.PathLike[str] | None) -> Path:
    """``path`` (``None``: ``default_db_path()``) if a database can live there, else
    ``StoreError`` saying why. Only the platform's default location (no path, no
    ``$NEXTHOP_DB``) has its directory created."""
    create_parent = path is None and not os.environ.get(DB_ENV)
    db = Path(path) if path is not None else default_db_path()
    if str(db) == ":memory:":
        return db
    where = f"cannot use the database {db}"
    if db.is_dir():
        raise StoreError(f"{where}: it is a directory, not a file")
    parent = db.parent
    existing = _first_existing(parent)
    if not existing.is_dir():
        raise StoreError(f"{where}: {existing} is a file, not a directory")
    if existing != parent:
        if not create_parent:
            raise StoreError(f"{where}: the directory {parent} does not exist (create it first)")
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{where}: cannot create {parent}: {exc.strerror}") from None
    _probe_writable(parent, where)
    if db.exists() and not os.access(db, os.R_OK | os.W_OK):
        raise StoreError(f"{where}: the file is not readable and writable")
    return db


class Store:
    """The SQLite file holding resources and events. Use as a context manager or ``close()``."""

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, busy_timeout: float = 10.0
    ) -> None:
        """Open (creating if needed) the database at ``path``; a write waits up to
        ``busy_timeout`` seconds for another writer before failing with ``StoreError``."""
        self.path = check_db_path(path)
        try:
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from None

    def _migrate(self) -> None:
        with self._transaction():
            for statement in _SCHEMA.strip().split(";"):
                if statement.strip():
                    self._db.execute(statement)
            row = self._db.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                self._db.execute(
                    "INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,)
                )
            elif row[0] > SCHEMA_VERSION:
                msg = (
                    f"the database {self.path} has schema version {row[0]}; "
                    f"this nexthop understands up to {SCHEMA_VERSION}"
                )
                raise StoreError(msg)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"cannot write the database {self.path}: {exc}") from None
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"cannot write the database {self.path}: {exc}") from None
            raise

    # --- reads -----------------------------------------------------------------------

    def schema_version(self) -> int:
        row = self._db.execute("SELECT version FROM schema_version").fetchone()
        return int(row[0])

    def resources(self, kind: str | None = None) -> list[Resource]:
        """Every stored resource (of ``kind``), in kind then file order."""
        query = "SELECT kind, name, position, body FROM resources"
        args: tuple[str, ...] = ()
        if kind is not None:
            query += " WHERE kind = ?"
            args = (kind,)
        rows = self._db.execute(query + " ORDER BY kind, position, name", args).fetchall()
        return [Resource(kind=k, name=n, position=p, body=json.loads(b)) for k, n, p, b in rows]

    def events(self, limit: int = 100) -> list[Event]:
        """The newest ``limit`` events, oldest first."""
        rows = self._db.execute(
            "SELECT id, at, kind, detail FROM events ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [Event(id=i, at=a, kind=k, detail=json.loads(d)) for i, a, k, d in reversed(rows)]

    # --- writes ----------------------------------------------------------------------

    def replace_all(
        self,
        resources: Iterable[Resource],
        *,
        event: tuple[str, dict[str, Any]] | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        """Make the stored set exactly ``resources``, set the ``state`` values and log
        ``event``, all in one transaction."""
        now = time.time()
        wanted = {(r.kind, r.name): r for r in resources}
        with self._transaction() as db:
            stored = {
                (k, n): (p, b)
                for k, n, p, b in db.execute("SELECT kind, name, position, body FROM resources")
            }
            for key in stored.keys() - wanted.keys():
                db.execute("DELETE FROM resources WHERE kind = ? AND name = ?", key)
            for key, r in wanted.items():
                body = json.dumps(r.body, sort_keys=True)
                if stored.get(key) == (r.position, body):
                    continue  # unchanged: keep its updated_at
                db.execute(
                    "INSERT INTO resources (kind, name, position, body, updated_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET"
                    " position = excluded.position, body = excluded.body,"
                    " updated_at = excluded.updated_at",
                    (r.kind, r.name, r.position, body, now),
                )
            for k, v in (state or {}).items():
                self._set_state(db, k, v)
            if event is not None:
                self._log(db, now, *event)

    @staticmethod
    def _log(db: sqlite3.Connection, at: float, kind: str, detail: dict[str, Any]) -> None:
        db.execute(
            "INSERT INTO events (at, kind, detail) VALUES (?, ?, ?)",
            (at, kind, json.dumps(detail, sort_keys=True)),
        )

    @staticmethod
    def _set_state(db: sqlite3.Connection, key: str, value: Any) -> None:
        db.execute(
            "INSERT INTO state (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value, sort_keys=True)),
        )

    def get_state(self, key: str, default: Any = None) -> Any:
        """A small JSON value kept beside the resources (e.g. lab faults)."""
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row is not None else default

    def set_state(
        self, key: str, value: Any, *, event: tuple[str, dict[str, Any]] | None = None
    ) -> None:
        """Set one state value (and log ``event``) in one transaction."""
        with self._transaction() as db:
            self._set_state(db, key, value)
            if event is not None:
                self._log(db, time.time(), *event)

    def log(self, kind: str, detail: dict[str, Any]) -> None:
        """Append one event."""
        with self._transaction() as db:
            self._log(db, time.time(), kind, detail)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
