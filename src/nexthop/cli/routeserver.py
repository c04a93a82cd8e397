"""``nexthop routeserver peering list|show|list-learned-routes|list-advertised-routes``
(the ``az network routeserver peering`` commands and JSON)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from nexthop.cli.client import ApiClient
from nexthop.cli.options import DbOption, OutputOption, ServerOption, TokenOption, run
from nexthop.cli.paging import PrefixOption, SkipOption, TopOption, fetch_pages, rows_only
from nexthop.cli.render import Output, emit, key, rows_table

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Route servers (az network routeserver).")
peering = typer.Typer(no_args_is_help=True, help="BGP peerings of a route server.")
app.add_typer(peering, name="peering")

RsOption = Annotated[str, typer.Option("--routeserver", help="Route server name.")]
NameOption = Annotated[str, typer.Option("--name", "-n", help="Peering name.")]

ROUTE_COLUMNS = (
    ("Instance", key("instance")),
    ("LocalAddress", key("localAddress")),
    ("Network", key("network")),
    ("NextHop", key("nextHop")),
    ("SourcePeer", key("sourcePeer")),
    ("Origin", key("origin")),
    ("AsPath", key("asPath")),
    ("Weight", key("weight")),
)


def _routes_table(title: str) -> Any:
    def build(data: dict[str, Any]) -> Table:
        rows = [
            {"instance": role, **row} for role, routes in rows_only(data).items() for row in routes
        ]
        return rows_table(rows, ROUTE_COLUMNS, title)

    return build


@peering.command("list")
def list_peerings(
    routeserver: RsOption,
    output: OutputOption = Output.TABLE,
    db: DbOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """List the peerings of a route server."""
    data = run(db, server, token, lambda c: c.peerings(routeserver))
    columns = (
        ("Name", key("name")),
        ("PeerAsn", key("peerAsn")),
        ("PeerIp", key("peerIp")),
        ("ConnectionState", key("connectionState")),
        ("ProvisioningState", key("provisioningState")),
    )
    emit(data, output, lambda d: rows_table(d, columns, f"Peerings of {routeserver}"))


@peering.command("show")
def show(  # noqa: PLR0917 - Typer maps parameters to options
    routeserver: RsOption,
    name: NameOption,
    output: OutputOption = Output.TABLE,
    db: DbOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Show one peering: session state and counters on each instance."""
    data = run(db, server, token, lambda c: c.peering(routeserver, name))
    columns = (
        ("Instance", key("instance")),
        ("State", key("state")),
        ("Received", key("received_routes")),
        ("Accepted", key("accepted_routes")),
        ("Rejected", key("rejected_routes")),
        ("Advertised", key("advertised_routes")),
        ("LastError", key("last_error")),
    )
    title = f"{data['name']} (AS {data['peerAsn']}, {data['peerIp']}): {data['connectionState']}"
    emit(data, output, lambda d: rows_table(list(d["instances"].values()), columns, title))


def _show_routes(  # noqa: PLR0917 - the options of the two commands below
    learned: bool,
    routeserver: str,
    name: str,
    output: Output,
    db: Path | None,
    server: str | None,
    token: str | None,
    top: int | None,
    skip: int,
    prefix: str | None,
) -> None:
    """The routes learned from (``learned``) or advertised to peering ``name``."""

    def fetch(c: ApiClient) -> dict[str, Any]:
        view = c.learned_routes if learned else c.advertised_routes
        return fetch_pages(
            lambda at, n: view(routeserver, name, prefix=prefix, skip=at, top=n), skip, top
        )

    title = f"Routes learned from {name}" if learned else f"Routes advertised to {name}"
    emit(run(db, server, token, fetch), output, _routes_table(title))


@peering.command("list-learned-routes")
def list_learned_routes(  # noqa: PLR0917 - Typer maps parameters to options
    routeserver: RsOption,
    name: NameOption,
    output: OutputOption = Output.TABLE,
    db: DbOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
    top: TopOption = None,
    skip: SkipOption = 0,
    prefix: PrefixOption = None,
) -> None:
    """Routes the route server learned from the peer, per instance
    (every row, or one page with ``--top``; ``--prefix``: that prefix and more specifics)."""
    _show_routes(True, routeserver, name, output, db, server, token, top, skip, prefix)


@peering.command("list-advertised-routes")
def list_advertised_routes(  # noqa: PLR0917 - Typer maps parameters to options
    routeserver: RsOption,
    name: NameOption,
    output: OutputOption = Output.TABLE,
    db: DbOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
    top: TopOption = None,
    skip: SkipOption = 0,
    prefix: PrefixOption = None,
) -> None:
    """Routes the route server advertises to the peer, per instance
    (every row, or one page with ``--top``; ``--prefix``: that prefix and more specifics)."""
    _show_routes(False, routeserver, name, output, db, server, token, top, skip, prefix)


class DumpFormat(StrEnum):
    MRT = "mrt"


ROLE_PREFIX = "RouteServiceRole_"


@app.command("dump")
def dump(  # noqa: PLR0917 - Typer maps parameters to options
    routeserver: RsOption,
    file: Annotated[Path, typer.Option("--file", "-f", help="Where to write the dump.")],
    instance: Annotated[
        str, typer.Option("--instance", help="RouteServiceRole_IN_0 (or IN_0) or _IN_1.")
    ] = "RouteServiceRole_IN_0",
    fmt: Annotated[
        DumpFormat, typer.Option("--format", help="mrt: TABLE_DUMP_V2 (RFC 6396).")
    ] = DumpFormat.MRT,
    db: DbOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Write one instance's RIB (every path it holds) as an MRT TABLE_DUMP_V2 file,
    readable by bgpdump, mrtparse or BGPKIT."""
    role = instance if instance.startswith(ROLE_PREFIX) else ROLE_PREFIX + instance
    data: bytes = run(db, server, token, lambda c: c.mrt_dump(routeserver, role))
    file.write_bytes(data)
    typer.echo(f"wrote {len(data)} octets of {fmt.value.upper()} ({role}) to {file}")
