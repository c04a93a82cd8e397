"""Azure resources as the importer reads them: one ``Resource`` per ARM object.

``az network ... show/list`` prints ARM objects with their ``properties`` lifted
to the top; an ARM template export (``az group export``) nests them under
``properties`` at every level. ``flatten`` turns both into the lifted shape, so
one mapping (``nexthop.importer.mapping``) reads either, and Terraform state is
converted to the same shape (``nexthop.importer.terraform``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ArmId", "ImportError_", "Resource", "flatten", "parse_id", "read_az_folder"]


class ImportError_(Exception):  # noqa: N801, N818 - "ImportError" is a builtin
    """A file that cannot be read as Azure resources (names the file)."""


@dataclass(frozen=True, slots=True)
class ArmId:
    """The parts of an ARM resource id that name things: ``kind`` chain (e.g.
    ``("virtualNetworks", "subnets")``) and the matching ``names``."""

    kinds: tuple[str, ...]
    names: tuple[str, ...]

    def name_of(self, kind: str) -> str | None:
        for k, n in zip(self.kinds, self.names, strict=True):
            if k.lower() == kind.lower():
                return n
        return None


def parse_id(value: object) -> ArmId | None:
    """``/subscriptions/…/providers/Microsoft.Network/virtualNetworks/hub/subnets/nva``
    -> kinds (virtualNetworks, subnets), names (hub, nva); None if not an ARM id."""
    if not isinstance(value, str) or "/providers/" not in value:
        return None
    tail = value.split("/providers/", 1)[1].strip("/").split("/")
    if len(tail) < 3:
        return None
    pairs = tail[1:]
    return ArmId(tuple(pairs[0::2]), tuple(pairs[1::2][: len(pairs[0::2])]))


@dataclass(frozen=True, slots=True)
class Resource:
    """One ARM object: its ``type`` (``Microsoft.Network/virtualNetworks``), name,
    and its body with ``properties`` lifted (``flatten``); ``source`` names where
    it was read, for messages."""

    type: str
    name: str
    body: dict[str, Any]
    source: str

    @property
    def kind(self) -> str:
        """The type's last part, lower-case (``virtualnetworks``, ``bgpconnections``)."""
        return self.type.rsplit("/", 1)[-1].lower()

    @property
    def parent(self) -> ArmId | None:
        return parse_id(self.body.get("id"))


def flatten(value: Any) -> Any:
    """``properties`` merged into their object, at every level (ARM export -> az shape)."""
    if isinstance(value, list):
        return [flatten(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: flatten(v) for k, v in value.items() if k != "properties"}
    inner = value.get("properties")
    if isinstance(inner, dict):
        for k, v in inner.items():
            out.setdefault(k, flatten(v))
    return out


def _objects(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _objects(item)
    elif isinstance(data, dict):
        if isinstance(data.get("resources"), list) and "type" not in data:  # ARM template
            yield from _objects(data["resources"])
        elif "type" in data:
            yield data


def read_az_folder(path: Path) -> list[Resource]:
    """Every ARM object in the JSON files of ``path`` (a folder of ``az`` outputs or
    one ARM template export, or one file)."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise ImportError_(f"{path}: no *.json files")
    resources: list[Resource] = []
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ImportError_(f"{file}: not readable JSON: {exc}") from None
        for raw in _objects(data):
            body = flatten(raw)
            resources.append(
                Resource(str(body["type"]), str(body.get("name", "")), body, file.name)
            )
    return resources
