"""Fixtures: a control plane over a fresh SQLite file, and the example topology text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nexthop.clock import ManualClock
from nexthop.service import ControlPlane
from nexthop.store import Store

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"


@pytest.fixture
def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "nexthop.db"


@pytest.fixture
def cp(db_path: Path) -> Iterator[ControlPlane]:
    plane = ControlPlane(Store(db_path), ManualClock(1000.0))
    yield plane
    plane.close()


@pytest.fixture
def applied(cp: ControlPlane) -> ControlPlane:
    cp.apply_file(str(EXAMPLE))
    return cp
