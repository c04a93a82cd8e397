"""``nexthop diff A.yaml B.yaml``: differential reachability between two designs
(``nexthop.service.compare``), as tables or JSON. Exit status as diff(1): 0 the
designs behave alike, 1 they differ, 2 a file is invalid."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from nexthop.cli.apply import read_file
from nexthop.cli.options import OutputOption
from nexthop.cli.render import Output, emit, key, rows_table
from nexthop.config import Topology, TopologyError, load_topology_text
from nexthop.service.compare import DiffFlow, compare_designs

__all__ = ["diff"]

_DIFFER, _INVALID = 1, 2


def _load(file: Path) -> Topology:
    try:
        return load_topology_text(read_file(file), str(file)).topology
    except TopologyError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(_INVALID) from None


def _parse_flow(text: str) -> DiffFlow:
    """``SRC DST [PROTO] [PORT]``, e.g. ``vm1 192.168.1.10 tcp 443``."""
    parts = text.split()
    if not 2 <= len(parts) <= 4:
        raise typer.BadParameter(f"{text!r}: give SRC DST [PROTO] [PORT]", param_hint="--flow")
    protocol = parts[2] if len(parts) > 2 else "tcp"
    try:
        port = int(parts[3]) if len(parts) > 3 else 443
    except ValueError:
        raise typer.BadParameter(f"{text!r}: PORT must be a number", param_hint="--flow") from None
    return DiffFlow(parts[0], parts[1], protocol, port)


def _tables(data: dict[str, Any]) -> list[Table]:
    flows = [
        {
            "flow": f["flow"],
            "changed": ", ".join(f["changed"]),
            "A": f["before"].get("reason", ""),
            "B": f["after"].get("reason", ""),
        }
        for f in data["flows"]
    ]
    effective = [
        {
            "nic": f"{c['nic']} ({c['owner']})",
            "change": f"only in {c['onlyIn']}" if "onlyIn" in c else "",
            "added": [_route_text(r) for r in c.get("added", [])],
            "removed": [_route_text(r) for r in c.get("removed", [])],
        }
        for c in data["effectiveRoutes"]
    ]
    learned = [
        {
            "where": f"{c['routeServer']}/{c['peering']}"
            + (f" {c['instance']} {c['kind']}" if "instance" in c else ""),
            "change": f"only in {c['onlyIn']}" if "onlyIn" in c else "",
            "added": [
                f"{r['network']} via {r['nextHop']} [{r['asPath']}]" for r in c.get("added", [])
            ],
            "removed": [
                f"{r['network']} via {r['nextHop']} [{r['asPath']}]" for r in c.get("removed", [])
            ],
        }
        for c in data["routeServerRoutes"]
    ]
    verdict = "the designs behave alike" if data["same"] else "the designs differ"
    columns = ("change", "added", "removed")
    return [
        rows_table(
            flows,
            [(n, key(n)) for n in ("flow", "changed", "A", "B")],
            f"Flows ({data['flowsCompared']} compared; {verdict})",
        ),
        rows_table(
            effective, [("NIC", key("nic"))] + [(n, key(n)) for n in columns], "Effective routes"
        ),
        rows_table(
            learned,
            [("Peering", key("where"))] + [(n, key(n)) for n in columns],
            "Route server learned/advertised routes",
        ),
    ]


def _learned_text(row: dict[str, str]) -> str:
    return f"{row['network']} via {row['nextHop']} [{row['asPath']}]"


def _route_text(row: dict[str, str]) -> str:
    hop = f" {row['nextHopIpAddress']}" if row["nextHopIpAddress"] else ""
    return f"{row['addressPrefix']} -> {row['nextHopType']}{hop} ({row['state']})"


def diff(
    a: Annotated[Path, typer.Argument(help="The current design (topology YAML).")],
    b: Annotated[Path, typer.Argument(help="The proposed design.")],
    flow: Annotated[
        list[str] | None,
        typer.Option("--flow", help="'SRC DST [PROTO] [PORT]' (repeat); default: generated."),
    ] = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Compare two designs in the model: flows whose path, NVA, verdict or symmetry
    change; effective routes per NIC; learned/advertised routes per peering."""
    flows = [_parse_flow(text) for text in flow] if flow else None
    result = compare_designs(_load(a), _load(b), flows)
    data = result.to_json()
    emit(data, output, _tables)
    if not result.same:
        raise typer.Exit(_DIFFER)
