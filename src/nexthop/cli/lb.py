"""``nexthop lb show-backend-health``: probe verdicts of every backend, per rule."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from nexthop.cli.options import DbOption, OutputOption, ServerOption, TokenOption, run
from nexthop.cli.render import Output, emit, key, rows_table

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Internal load balancers (az network lb).")


@app.command("show-backend-health")
def show_backend_health(
    name: Annotated[str, typer.Option("--name", "-n", help="Load balancer name.")],
    output: OutputOption = Output.TABLE,
    db: DbOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Health of each backend as the load balancer sees it."""
    data = run(db, server, token, lambda c: c.backend_health(name))
    columns = (
        ("Rule", key("rule")),
        ("Backend", key("name")),
        ("IP", key("ipAddress")),
        ("State", key("state")),
        ("Reason", key("reason")),
        ("Probe", key("probe")),
    )

    def table(d: dict[str, Any]) -> Any:
        rows = [
            {"rule": r["rule"], "probe": r["probe"], **row}
            for r in d["loadBalancingRules"]
            for row in r["loadBalancerBackendAddresses"]
        ]
        return rows_table(rows, columns, f"{d['name']} (frontend {d['frontendIp']})")

    emit(data, output, table)
