"""Who owns a database: the ``<db>.lock`` lock and the ``<db>.run`` run file.

A server (``nexthop serve``, ``nexthop lab up``) holds an exclusive ``flock`` on
``<db>.lock`` for the life of its process, so two servers never run on one
database. Once its API socket is bound it writes ``<db>.run`` (JSON: ``url``,
``pid``, ``kind``, ``started_at``, ``db``; mode 0600) and removes it on a clean
exit; a run file whose pid is dead is stale and ignored. A local writer (a CLI
command without ``--server``) takes the same lock for its write, so it never
writes behind a server's back; the CLI sends its commands to the URL of a live
run file instead (see ``nexthop.cli.client.open_client``).

``flock`` locks belong to the open file, so the kernel drops the lock when the
process dies however it dies: a crashed server leaves a stale run file but never
a held lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DbHeldError", "DbLock", "RunInfo", "live_run", "lock_path", "run_path", "writer_lock"]

POLL_S = 0.05


class DbHeldError(Exception):
    """Another process holds the database's lock; ``run`` names the server if known."""

    def __init__(self, message: str, run: RunInfo | None) -> None:
        super().__init__(message)
        self.run = run


@dataclass(frozen=True, slots=True, kw_only=True)
class RunInfo:
    """The content of a run file: which server owns the database, and where."""

    url: str
    pid: int
    kind: str
    started_at: float
    db: str

    def describe(self) -> str:
        return f"nexthop {self.kind} (pid {self.pid}) at {self.url}"


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


def run_path(db: Path) -> Path:
    return db.with_name(db.name + ".run")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def live_run(db: Path) -> RunInfo | None:
    """The run file of ``db`` if its server process is alive, else ``None``."""
    try:
        data = json.loads(run_path(db).read_text(encoding="utf-8"))
        info = RunInfo(
            url=str(data["url"]),
            pid=int(data["pid"]),
            kind=str(data["kind"]),
            started_at=float(data["started_at"]),
            db=str(data["db"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent, half-written or not ours: no live server known
    return info if _alive(info.pid) else None


class DbLock:
    """The exclusive lock on ``<db>.lock``, held until ``release()``."""

    def __init__(self, db: Path, *, wait_s: float) -> None:
        """Take the lock, retrying for up to ``wait_s`` seconds while a short local
        write holds it; raise ``DbHeldError`` at once if a live server holds it."""
        self.db = db
        self._run_written = False
        db.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(lock_path(db), os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                run = live_run(db)
                if run is not None or time.monotonic() >= deadline:
                    os.close(self._fd)
                    who = run.describe() if run else "another nexthop process"
                    raise DbHeldError(f"DB {db} is held by {who}", run) from None
                time.sleep(POLL_S)

    def write_run(self, url: str, kind: str) -> None:
        """Publish ``<db>.run`` (mode 0600), replacing any stale one atomically."""
        info = {
            "url": url,
            "pid": os.getpid(),
            "kind": kind,
            "started_at": time.time(),
            "db": str(self.db),
        }
        target = run_path(self.db)
        temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(info, out, sort_keys=True)
        temporary.replace(target)
        self._run_written = True

    def remove_run(self) -> None:
        """Remove our run file (if written): the server is stopping."""
        if self._run_written:
            with contextlib.suppress(FileNotFoundError):
                run_path(self.db).unlink()
            self._run_written = False

    def release(self) -> None:
        """Remove our run file (if written) and drop the lock."""
        self.remove_run()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


@contextlib.contextmanager
def writer_lock(db: Path, *, wait_s: float = 10.0) -> Iterator[None]:
    """Hold the database's lock for one local write; ``DbHeldError`` if a server owns it."""
    lock = DbLock(db, wait_s=wait_s)
    try:
        yield
    finally:
        lock.release()
