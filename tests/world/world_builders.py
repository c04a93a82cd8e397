"""Helpers for the world-model tests: the example topologies, as files or edited."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from nexthop.config import Topology, load_topology, load_topology_text
from nexthop.world import World, WorldOptions

EXAMPLES = Path(__file__).parents[2] / "examples"


def example(name: str) -> Topology:
    return load_topology(EXAMPLES / f"{name}.yaml").topology


def edited(name: str, edit: Callable[[dict[str, Any]], None]) -> Topology:
    """The example with ``edit`` applied to its YAML data, validated again."""
    data = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    edit(data)
    return load_topology_text(yaml.safe_dump(data), source=f"{name}-edited").topology


def world(name: str, now: float = 0.0, options: WorldOptions | None = None) -> World:
    return World.from_topology(example(name), now, options)
