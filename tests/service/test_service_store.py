"""The SQLite store: schema versioning, atomic replacement, state and events."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from nexthop.store import DB_ENV, SCHEMA_VERSION, Resource, Store, StoreError, default_db_path


def _r(kind: str, name: str, position: int = 0, **body: object) -> Resource:
    return Resource(kind=kind, name=name, position=position, body={"name": name, **body})


def test_new_file_gets_the_schema_version_and_wal(tmp_path: Path) -> None:
    db = tmp_path / "n.db"  # an explicit path's directory must exist: tests/store
    with Store(db) as store:
        assert store.schema_version() == SCHEMA_VERSION
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    Store(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}"):
        Store(db)


def test_replace_all_keeps_unchanged_rows_and_logs_the_event(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    with Store(db) as store:
        store.replace_all([_r("vms", "a", 0, x=1), _r("vms", "b", 1)], event=("apply", {"n": 1}))
        with sqlite3.connect(db) as conn:
            stamp_b = conn.execute("SELECT updated_at FROM resources WHERE name='b'").fetchone()
        store.replace_all([_r("vms", "b", 1), _r("vnets", "c", 0)])
        assert [(r.kind, r.name) for r in store.resources()] == [("vms", "b"), ("vnets", "c")]
        assert store.resources("vms")[0].body == {"name": "b"}
        with sqlite3.connect(db) as conn:
            assert (
                conn.execute("SELECT updated_at FROM resources WHERE name='b'").fetchone()
                == stamp_b
            )
        assert [(e.kind, e.detail) for e in store.events()] == [("apply", {"n": 1})]


def test_a_failing_transaction_leaves_the_previous_rows(tmp_path: Path) -> None:
    with Store(tmp_path / "n.db") as store:
        store.replace_all([_r("vms", "a")])
        unserialisable = Resource(kind="vms", name="z", position=0, body={"bad": object()})
        with pytest.raises(TypeError):
            store.replace_all([_r("vms", "b"), unserialisable])
        assert [r.name for r in store.resources()] == ["a"]


def test_state_values_and_default_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(tmp_path / "n.db") as store:
        assert store.get_state("k", []) == []
        store.set_state("k", ["nva1"])
        store.set_state("k", ["nva2"])
        assert store.get_state("k") == ["nva2"]
    monkeypatch.setenv(DB_ENV, str(tmp_path / "env.db"))
    assert default_db_path() == tmp_path / "env.db"
    monkeypatch.delenv(DB_ENV)
    assert default_db_path().name == "nexthop.db"
