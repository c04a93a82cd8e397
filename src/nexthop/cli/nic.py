"""``nexthop nic show-effective-route-table`` (``az network nic show-effective-route-table``)."""

from __future__ import annotations

from typing import Annotated

import typer

from nexthop.cli.options import DbOption, OutputOption, ServerOption, TokenOption, run
from nexthop.cli.paging import PrefixOption, SkipOption, TopOption, fetch_pages
from nexthop.cli.render import Output, emit, key, rows_table

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Network interfaces (az network nic).")


@app.command("show-effective-route-table")
def show_effective_route_table(  # noqa: PLR0917 - Typer maps parameters to options
    name: Annotated[str, typer.Option("--name", "-n", help="NIC name, or its VM/NVA.")],
    output: OutputOption = Output.TABLE,
    db: DbOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
    top: TopOption = None,
    skip: SkipOption = 0,
    prefix: PrefixOption = None,
) -> None:
    """The routes in effect on a NIC: system, BGP (from route servers) and user routes
    (every route, or one page with ``--top``; ``--prefix``: that prefix and more
    specifics)."""
    data = run(
        db,
        server,
        token,
        lambda c: fetch_pages(
            lambda at, n: c.effective_route_table(name, prefix=prefix, skip=at, top=n), skip, top
        ),
    )
    columns = (
        ("Source", key("source")),
        ("State", key("state")),
        ("Address Prefix", key("addressPrefix")),
        ("Next Hop Type", key("nextHopType")),
        ("Next Hop IP", key("nextHopIpAddress")),
    )
    emit(data, output, lambda d: rows_table(d["value"], columns, f"Effective routes of {name}"))
