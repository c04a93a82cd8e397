"""A process killed (SIGKILL) in the middle of ``Store.replace_all`` leaves the
previous resource set, whole, for the next process that opens the database.

Deterministic complement of test_crash_apply (whose random kills mostly land
outside the few milliseconds a write lasts): the child process dies from inside
the transaction, after ``KILL_AT`` of the new rows were already written. It
serializes each body with ``json.dumps`` inside the transaction, and the C
encoder reads a dict subclass through its ``items()``, which is where the child
kills itself.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nexthop.store import Resource, Store

ROWS = 50


def resources(generation: int) -> list[Resource]:
    return [
        Resource(kind="vms", name=f"g{generation}-vm{i}", position=i, body={"g": generation})
        for i in range(ROWS)
    ]


CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from nexthop.store import Resource, Store

    db, kill_at, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    seen = 0

    class Bomb(dict):
        def items(self):
            global seen
            seen += 1
            if seen > kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return super().items()

    store = Store(db)
    new = [
        Resource(kind="vms", name=f"g1-vm{i}", position=i, body=Bomb(g=1)) for i in range(rows)
    ]
    store.replace_all(new, event=("apply", {"generation": 1}), state={"generation": 1})
    print("committed")
    """
)


@pytest.mark.parametrize("kill_at", [0, 1, ROWS // 2, ROWS - 1, ROWS])
def test_sigkill_inside_replace_all_keeps_the_old_set(tmp_path: Path, kill_at: int) -> None:
    db = tmp_path / "n.db"
    with Store(db) as store:
        store.replace_all(resources(0), event=("apply", {"generation": 0}), state={"generation": 0})
        events_before = store.events()
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), str(kill_at), str(ROWS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    with Store(db) as store:
        stored = store.resources()
        if kill_at < ROWS:
            assert child.returncode == -9, child.stderr  # died inside the transaction
            assert stored == resources(0)
            assert store.get_state("generation") == 0
            assert store.events() == events_before
        else:  # the control: every body serialized, the transaction committed
            assert child.returncode == 0, child.stderr
            assert [(r.name, r.body) for r in stored] == [(r.name, r.body) for r in resources(1)]
            assert store.get_state("generation") == 1
            assert len(store.events()) == len(events_before) + 1
