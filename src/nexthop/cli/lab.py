"""``nexthop lab status|fail NVA|restore NVA|traffic``: fault injection on the model."""

from __future__ import annotations

import asyncio
import secrets
import socket
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from nexthop.cli import options
from nexthop.cli.lab_runtime import run_lab
from nexthop.cli.options import (
    DbOption,
    LogFormatOption,
    LogLevelOption,
    OutputOption,
    ServerOption,
    TokenOption,
    run,
)
from nexthop.cli.render import Output, emit, key, progress, rows_table
from nexthop.cli.serve import (
    DEFAULT_PORT,
    api_url,
    listen_socket,
    open_and_apply,
    own_database,
)
from nexthop.lab import Lab, LabError
from nexthop.logs import LogFormat, LogLevel, configure_logging
from nexthop.runfile import DbLock, live_run
from nexthop.service import ControlPlane, ControlPlaneError
from nexthop.store import default_db_path

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
def up(  # noqa: PLR0917 - Typer maps parameters to options
    file: Annotated[Path | None, typer.Argument(help="Topology file to apply first.")] = None,
    host: Annotated[str, typer.Option("--host", help="API listen address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="API listen port.")] = DEFAULT_PORT,
    fast: Annotated[
        bool, typer.Option("--fast/--topology-timers", help="Sub-second probes and BGP timers.")
    ] = True,
    bgp_port: Annotated[
        int | None, typer.Option("--bgp-port", help="BGP port of the loopback stand-ins.")
    ] = None,
    port_offset: Annotated[
        int | None,
        typer.Option("--port-offset", help="Added to probe ports below 1024 (default 10000)."),
    ] = None,
    db: DbOption = None,
    token: TokenOption = None,
    log_level: LogLevelOption = LogLevel.WARNING,
    log_format: LogFormatOption = LogFormat.AUTO,
) -> None:
    """Run the topology live on loopback (route servers, NVAs, probes) and serve the API;
    the views then answer from the live lab. Ctrl-C brings it down."""
    configure_logging(log_level, log_format)
    console = Console(stderr=True)
    lock = own_database(db)
    try:
        sock = listen_socket(host, port)
    except BaseException:
        lock.release()
        raise
    try:
        with progress(console) as bar:
            bar.add_task("restoring state", total=None)
            cp = open_and_apply(db, file, console)
        url = api_url(sock)
        lock.write_run(url, "lab up")
        _run(cp, host, sock, lock, url, token, fast, bgp_port, port_offset, log_level, console)
    finally:
        sock.close()
        lock.release()


def _run(  # noqa: PLR0917 - the options of up()
    cp: ControlPlane,
    host: str,
    sock: socket.socket,
    lock: DbLock,
    url: str,
    token: str | None,
    fast: bool,
    bgp_port: int | None,
    port_offset: int | None,
    log_level: str,
    console: Console,
) -> None:
    def announce(lab: Lab) -> None:
        console.print(
            f"lab up: {len(lab.hosts)} route server(s), {len(lab.nvas)} NVA(s) on loopback;"
            f" API on {url} (docs at /docs)"
        )

    try:
        asyncio.run(
            run_lab(
                cp,
                host=host,
                sock=sock,
                lock=lock,
                token=token,
                fast=fast,
                bgp_port=bgp_port,
                port_offset=port_offset,
                log_level=log_level,
                on_up=announce,
            )
        )
    except (ControlPlaneError, LabError, ValueError, OSError) as exc:
        raise options.fail(str(exc)) from None
    finally:
        cp.close()


@app.command()
def down(
    output: OutputOption = Output.TABLE,
    db: DbOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Stop the live lab of a running `nexthop lab up` (the model answers again): at
    --server, else the one owning the database (its run file), else the default URL."""
    path = db if db is not None else default_db_path()
    owner = live_run(path)
    url = server or (owner.url if owner else f"http://127.0.0.1:{DEFAULT_PORT}")
    emit(run(None, url, token, lambda c: c.lab_down()), output, _status_table)


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
    seed: Annotated[
        int | None,
        typer.Option("--seed", min=0, help="Seed of the flows (default: fresh; printed)."),
    ] = None,
    output: OutputOption = Output.TABLE,
    db: DbOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Run flows and count where they went; the same --seed gives the same flows."""
    chosen = secrets.randbelow(2**63) if seed is None else seed
    with progress(Console(stderr=True)) as bar:
        bar.add_task(f"running {flows} flow(s)", total=None)
        data = run(db, server, token, lambda c: c.lab_traffic(flows, source, destination, chosen))
    emit(data, output, _traffic_tables)


def _traffic_tables(d: dict[str, Any]) -> list[Table]:
    summary = Table(title="Traffic", title_justify="left", show_header=False)
    for label in ("seed", "total", "delivered", "failed", "symmetric", "asymmetric"):
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
