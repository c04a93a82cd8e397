"""``nexthop import``: a real Azure description -> a topology file.

Reads a folder of ``az network … show/list -o json`` outputs, an ARM template
export, or Terraform JSON (``terraform show -json``, state or plan) with azurerm
resources; NVA BGP configurations are attached from ``<dir>/<nva>.conf``. The
result is YAML in the topology format (docs/topology.md), validated like any
file, plus the list of what could not be mapped (``ImportResult.unmapped``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nexthop.config import LoadedTopology, TopologyError, load_topology_text
from nexthop.importer.arm import ImportError_, Resource, read_az_folder
from nexthop.importer.mapping import map_resources
from nexthop.importer.terraform import load_terraform_file

__all__ = ["ImportError_", "ImportResult", "import_path", "render_yaml"]


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The YAML text, the validated topology (None with ``errors``), the
    validation problems, what was not mapped and what was assumed."""

    text: str
    loaded: LoadedTopology | None
    errors: tuple[str, ...]
    unmapped: tuple[str, ...]
    assumed: tuple[str, ...]
    resources: int


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None  # bgp_config as a literal block (docs/topology.md)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def render_yaml(document: dict[str, Any], header: str) -> str:
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=100)
    return "".join(f"# {line}\n" for line in header.splitlines()) + body


def _resources(path: Path) -> list[Resource]:
    if not path.exists():
        raise ImportError_(f"{path}: no such file or folder")
    if path.is_file():
        terraform = load_terraform_file(path)
        if terraform is not None:
            return terraform
    return read_az_folder(path)


def import_path(
    path: Path, *, bgp_dir: Path | None = None, name: str | None = None
) -> ImportResult:
    """Import ``path`` (``ImportError_`` if it cannot be read at all)."""
    resources = _resources(path)
    mapped = map_resources(resources, bgp_dir=bgp_dir, name=name or path.stem)
    header = f"Imported by `nexthop import` from {path}"
    for title, lines in (("Not mapped", mapped.unmapped), ("Assumed", mapped.assumed)):
        if lines:
            header += f"\n{title}:\n" + "\n".join(f"  {line}" for line in lines)
    text = render_yaml(mapped.document, header)
    try:
        loaded: LoadedTopology | None = load_topology_text(text, f"{name or path.stem}.yaml")
        errors: tuple[str, ...] = ()
    except TopologyError as exc:
        loaded, errors = None, tuple(str(p) for p in exc.problems)
    return ImportResult(
        text, loaded, errors, tuple(mapped.unmapped), tuple(mapped.assumed), len(resources)
    )
