"""``nexthop trace --from VM --to IP``: every hop of a flow and of its reply."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from nexthop.cli.options import DbOption, OutputOption, ServerOption, TokenOption, run
from nexthop.cli.render import Output, emit, key, rows_table

__all__ = ["trace"]

HOP_COLUMNS = (
    ("#", key("n")),
    ("Kind", key("kind")),
    ("Node", key("node")),
    ("Why", key("reason")),
)


def _tables(data: dict[str, Any]) -> list[Table]:
    tables = []
    for leg in (data.get("forward"), data.get("reverse")):
        if leg is None:
            continue
        rows = [{"n": i, **hop} for i, hop in enumerate(leg["hops"], 1)]
        title = f"{leg['direction']}: {leg['source_ip']} -> {leg['destination_ip']}"
        tables.append(rows_table(rows, HOP_COLUMNS, title))
    verdict = Table(show_header=False)
    verdict.add_row("verdict", str(data.get("reason", "")))
    tables.append(verdict)
    return tables


def trace(  # noqa: PLR0917 - Typer maps parameters to options
    source: Annotated[str, typer.Option("--from", help="VM, NVA or branch (name or IP).")],
    destination: Annotated[str, typer.Option("--to", help="Destination IP address.")],
    protocol: Annotated[str, typer.Option("--protocol", help="tcp, udp or icmp.")] = "tcp",
    port: Annotated[int, typer.Option("--port", help="Destination port.", min=0, max=65535)] = 443,
    output: OutputOption = Output.TABLE,
    db: DbOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Trace a flow hop by hop (routes, load balancer choice, NVA) and its reply."""
    data = run(db, server, token, lambda c: c.trace(source, destination, protocol, port))
    emit(data, output, _tables)
