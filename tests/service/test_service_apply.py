"""Declarative apply: diff, dry run, idempotence, transactional rejection, restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from nexthop.clock import ManualClock
from nexthop.service import Action, ControlPlane, ControlPlaneError, Unavailable
from nexthop.store import Store

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"


def _rows(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT kind, name, body FROM resources ORDER BY kind, name").fetchall()


def test_first_apply_creates_every_resource(cp: ControlPlane) -> None:
    result = cp.apply_file(str(EXAMPLE))
    assert result.applied
    created = {(c.kind, c.name) for c in result.changes if c.action is Action.CREATE}
    assert created == {
        ("settings", "topology"),
        ("vnets", "hub"),
        ("route_servers", "rs"),
        ("load_balancers", "ilb"),
        ("nvas", "nva1"),
        ("nvas", "nva2"),
        ("vms", "vm1"),
        ("branches", "onprem"),
    }
    assert [c.action for c in result.changes] == [Action.CREATE] * len(result.changes)
    # referenced kinds are created before the resources that use them
    kinds = [c.kind for c in result.changes]
    assert kinds.index("vnets") < kinds.index("nvas") < kinds.index("load_balancers")


def test_reapplying_the_same_file_changes_nothing(applied: ControlPlane, example_text: str) -> None:
    result = applied.apply_text(example_text)
    assert result.changes == []
    assert not result.applied


def test_dry_run_reports_the_diff_and_writes_nothing(
    applied: ControlPlane, example_text: str, db_path: Path
) -> None:
    before = _rows(db_path)
    edited = example_text.replace("members: [nva1, nva2]", "members: [nva1]").replace(
        "  - name: vm1\n    nic: {vnet: hub, subnet: workload, ip: 10.1.2.4}\n", ""
    )
    edited = edited.replace("vms:\n", "vms: []\n")
    result = applied.apply_text(edited, dry_run=True)
    assert not result.applied
    assert [(c.action, c.kind, c.name) for c in result.changes] == [
        (Action.UPDATE, "load_balancers", "ilb"),
        (Action.DELETE, "vms", "vm1"),
    ]
    assert result.changes[0].detail == "changed: backend_pool"
    assert _rows(db_path) == before
    assert applied.get_resource("load_balancers", "ilb")["backend_pool"]["members"] == [
        "nva1",
        "nva2",
    ]
    # the real apply then commits exactly that
    assert applied.apply_text(edited).applied
    assert applied.list_resources("vms") == []
    assert len(_rows(db_path)) == len(before) - 1


def test_rejected_apply_leaves_db_and_memory_untouched(
    applied: ControlPlane, example_text: str, db_path: Path
) -> None:
    before_rows = _rows(db_path)
    before_topology = applied.topology
    before_world = applied.world
    before_routes = applied.learned_routes("rs", "nva1")
    bad = example_text.replace("members: [nva1, nva2]", "members: [nva1, nva3]").replace(
        "prefixes: [192.168.0.0/16]", "prefixes: [192.168.0.0/16, 172.16.0.0/12]"
    )
    with pytest.raises(ControlPlaneError) as info:
        applied.apply_text(bad, "bad.yaml")
    assert "'nva3' is not a declared NVA or VM" in info.value.message
    assert _rows(db_path) == before_rows
    assert applied.topology is before_topology
    assert applied.world is before_world
    assert applied.learned_routes("rs", "nva1") == before_routes
    assert [e["kind"] for e in applied.events()] == ["apply"]


def test_restart_restores_resources_and_views(db_path: Path) -> None:
    first = ControlPlane(Store(db_path), ManualClock(10.0))
    first.apply_file(str(EXAMPLE))
    first.lab_fail("nva2")
    resources = {k: first.list_resources(k) for k in first.kinds()}
    learned = first.learned_routes("rs", "nva1")
    advertised = first.advertised_routes("rs", "nva1")
    effective = first.effective_route_table("vm1")
    peerings = first.routeserver_peerings("rs")
    status = first.lab_status()
    topology = first.topology
    first.close()

    second = ControlPlane(Store(db_path), ManualClock(10.0))
    try:
        assert {k: second.list_resources(k) for k in second.kinds()} == resources
        assert second.topology == topology
        assert second.learned_routes("rs", "nva1") == learned
        assert second.advertised_routes("rs", "nva1") == advertised
        assert second.effective_route_table("vm1") == effective
        assert second.routeserver_peerings("rs") == peerings
        assert second.lab_status() == status
        assert second.lab_status()["failed"] == ["nva2"]
    finally:
        second.close()


def test_empty_control_plane_explains_what_to_do(cp: ControlPlane) -> None:
    with pytest.raises(ControlPlaneError, match="no topology applied yet"):
        cp.learned_routes("rs", "nva1")
    assert cp.list_resources("vnets") == []


def test_a_locked_database_refuses_the_write_and_changes_nothing(
    example_text: str, db_path: Path
) -> None:
    cp = ControlPlane(Store(db_path, busy_timeout=0.05), ManualClock(0.0))
    try:
        cp.apply_text(example_text)
        before_topology, before_world = cp.topology, cp.world
        edited = example_text.replace("members: [nva1, nva2]", "members: [nva1]")
        other = sqlite3.connect(db_path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
            with pytest.raises(Unavailable) as info:
                cp.apply_text(edited)
            assert info.value.code == "store_unavailable"
            assert "database is locked" in info.value.message
            with pytest.raises(Unavailable):
                cp.lab_fail("nva1")
            other.execute("ROLLBACK")
        finally:
            other.close()
        assert cp.topology is before_topology
        assert cp.world is before_world
        assert cp.lab_status()["failed"] == []
        assert cp.get_resource("load_balancers", "ilb")["backend_pool"]["members"] == [
            "nva1",
            "nva2",
        ]
        assert cp.apply_text(edited).applied  # once the lock is gone, it goes through
    finally:
        cp.close()
