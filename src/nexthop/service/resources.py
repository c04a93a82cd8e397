"""A ``Topology`` as a set of named resources, and the diff between two of them.

Each tuple field of the topology file (``vnets``, ``route_servers``, …) is a
resource kind whose items are keyed by ``name``; the file's scalar fields
(``name``, ``description``, ``region``) are the single ``settings/topology``
resource. Bodies are the JSON form of the pydantic models (``model_dump(mode=
"json")``), so a stored body validates back to the same model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from nexthop.config import Topology
from nexthop.store import Resource

__all__ = [
    "KINDS",
    "SETTINGS_KIND",
    "SETTINGS_NAME",
    "SINGULAR",
    "Action",
    "Change",
    "diff_resources",
    "from_resources",
    "to_resources",
]

SETTINGS_KIND = "settings"
SETTINGS_NAME = "topology"
SETTINGS_FIELDS = ("name", "description", "region")

# Creation order (referenced kinds first); deletions run in reverse.
KINDS: tuple[str, ...] = (
    SETTINGS_KIND,
    "vnets",
    "route_tables",
    "peerings",
    "virtual_network_gateways",
    "route_servers",
    "nvas",
    "vms",
    "load_balancers",
    "branches",
)


SINGULAR = {
    SETTINGS_KIND: "settings",
    "vnets": "virtual network",
    "route_tables": "route table",
    "peerings": "virtual network peering",
    "virtual_network_gateways": "virtual network gateway",
    "route_servers": "route server",
    "nvas": "NVA",
    "vms": "VM",
    "load_balancers": "load balancer",
    "branches": "branch",
}
"""How messages name one resource of each kind."""


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One resource created, updated (``detail`` names the changed fields) or deleted."""

    action: Action
    kind: str
    name: str
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "action": str(self.action),
            "kind": self.kind,
            "name": self.name,
            "detail": self.detail,
        }


def to_resources(topology: Topology) -> list[Resource]:
    """Every resource of ``topology``, in ``KINDS`` order and file order."""
    data = topology.model_dump(mode="json")
    out = [
        Resource(
            kind=SETTINGS_KIND,
            name=SETTINGS_NAME,
            position=0,
            body={key: data[key] for key in SETTINGS_FIELDS},
        )
    ]
    for kind in KINDS[1:]:
        out.extend(
            Resource(kind=kind, name=item["name"], position=i, body=item)
            for i, item in enumerate(data[kind])
        )
    return out


def from_resources(resources: Iterable[Resource]) -> dict[str, Any]:
    """The topology document (plain data, not yet validated) the resources make up."""
    data: dict[str, Any] = {kind: [] for kind in KINDS[1:]}
    ordered = sorted(resources, key=lambda r: (r.kind, r.position, r.name))
    for r in ordered:
        if r.kind == SETTINGS_KIND:
            data.update(r.body)
        else:
            data.setdefault(r.kind, []).append(r.body)
    return data


def _changed_fields(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    return "changed: " + ", ".join(keys)


def diff_resources(old: Iterable[Resource], new: Iterable[Resource]) -> list[Change]:
    """Changes turning ``old`` into ``new``: creates and updates in ``KINDS`` order,
    then deletes in reverse order. Reordering alone is not a change."""
    before = {(r.kind, r.name): r.body for r in old}
    after = {(r.kind, r.name): r.body for r in new}
    rank = {kind: i for i, kind in enumerate(KINDS)}

    def order(key: tuple[str, str]) -> tuple[int, str]:
        return rank.get(key[0], len(KINDS)), key[1]

    changes: list[Change] = []
    for key in sorted(after, key=order):
        if key not in before:
            changes.append(Change(action=Action.CREATE, kind=key[0], name=key[1]))
        elif before[key] != after[key]:
            detail = _changed_fields(before[key], after[key])
            changes.append(Change(action=Action.UPDATE, kind=key[0], name=key[1], detail=detail))
    for key in sorted(before.keys() - after.keys(), key=order, reverse=True):
        changes.append(Change(action=Action.DELETE, kind=key[0], name=key[1]))
    return changes
