"""``nexthop lab status|fail NVA|restore NVA|traffic``: fault injection on the model."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from nexthop.cli.options import DbOption, OutputOption, ServerOption, TokenOption, run
from nexthop.cli.render import Output, emit, key, progress, rows_table

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Lab: fail and restore NVAs, run traffic.")

NvaArg = Annotated[str, typer.Argument(help="NVA name.")]
STATUS_COLUMNS = (
    ("NVA", key("name")),
    ("IP", key("ip")),
    ("Up", key("up")),
    ("Failed (lab)", key("failed")),
    ("BGP sessions", key("established")),
)


def _status_table(data: dict[str, Any]) -> Any:
    return rows_table(data["nvas"], STATUS_COLUMNS, "NVAs")


@app.command()
def status(
    output: OutputOption = Output.TABLE,
    db: DbOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """NVAs: up or failed, BGP sessions established."""
    emit(run(db, server, token, lambda c: c.lab_status()), output, _status_table)


@app.command()
def fail(
    nva: NvaArg,
    output: OutputOption = Output.TABLE,
    db: DbOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Fail an NVA (probes, heartbeats and BGP stop); the model runs until all notice."""
    emit(run(db, server, token, lambda c: c.lab_fail(nva)), output, _status_table)


@app.command()
def restore(
    nva: NvaArg,
    output: OutputOption = Output.TABLE,
    db: DbOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Bring a failed NVA back."""
    emit(run(db, server, token, lambda c: c.lab_restore(nva)), output, _status_table)


@app.command()
def traffic(  # noqa: PLR0917 - Typer maps parameters to options
    flows: Annotated[int, typer.Option("--flows", min=1, help="Number of flows.")] = 100,
    source: Annotated[str | None, typer.Option("--from", help="Source VM/NVA/branch.")] = None,
    destination: Annotated[str | None, typer.Option("--to", help="Destination IP.")] = None,
    output: OutputOption = Output.TABLE,
    db: DbOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Run flows through the model and count where they went."""
    with progress(Console(stderr=True)) as bar:
        bar.add_task(f"running {flows} flow(s)", total=None)
        data = run(db, server, token, lambda c: c.lab_traffic(flows, source, destination))
    emit(data, output, _traffic_tables)


def _traffic_tables(d: dict[str, Any]) -> list[Table]:
    summary = Table(title="Traffic", title_justify="left", show_header=False)
    for label in ("total", "delivered", "failed", "symmetric", "asymmetric"):
        summary.add_row(label, str(d.get(label, "")))
    rows = [{"nva": n, **counts} for n, counts in d.get("per_nva", {}).items()]
    columns = (("NVA", key("nva")), ("Forward", key("forward")), ("Return", key("return")))
    tables = [summary, rows_table(rows, columns, "Flows per NVA")]
    causes = d.get("failure_causes", {})
    if causes:
        cause_rows = [{"cause": c, "flows": n} for c, n in causes.items()]
        tables.append(
            rows_table(cause_rows, (("Cause", key("cause")), ("Flows", key("flows"))), "Failures")
        )
    return tables
