"""``nexthop serve [FILE]``: restore the stored state, apply FILE, serve the REST API.

Beyond loopback the server refuses to start without ``--token`` (or
``NEXTHOP_TOKEN``); changes then need ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from nexthop.api import create_app
from nexthop.cli.apply import changes_table, read_file
from nexthop.cli.options import DbOption, TokenOption, fail
from nexthop.cli.render import progress
from nexthop.clock import SystemClock
from nexthop.service import ControlPlane, ControlPlaneError
from nexthop.store import Store, StoreError

__all__ = ["DEFAULT_PORT", "open_and_apply", "serve"]

DEFAULT_PORT = 8179


def open_and_apply(db: Path | None, file: Path | None, console: Console) -> ControlPlane:
    """Open the store (restoring every resource), then apply ``file`` if given and print
    the changes; exits 1 with the message on any error."""
    try:
        cp = ControlPlane(Store(db), SystemClock())
    except (ControlPlaneError, StoreError) as exc:
        raise fail(str(exc)) from None
    if file is not None:
        try:
            result = cp.apply_text(read_file(file), str(file))
        except ControlPlaneError as exc:
            cp.close()
            raise fail(str(exc)) from None
        if result.changes:
            console.print(changes_table([c.to_json() for c in result.changes], "Applied"))
        for warning in result.warnings:
            console.print(f"warning: {warning}")
    return cp


def serve(  # noqa: PLR0917 - Typer maps parameters to options
    file: Annotated[Path | None, typer.Argument(help="Topology file to apply first.")] = None,
    host: Annotated[str, typer.Option("--host", help="Listen address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Listen port.")] = DEFAULT_PORT,
    db: DbOption = None,
    token: TokenOption = None,
    log_level: Annotated[str, typer.Option("--log-level")] = "warning",
) -> None:
    """Run the control plane and its REST API (OpenAPI docs at /docs)."""
    console = Console(stderr=True)
    with progress(console) as bar:
        bar.add_task("restoring state and applying", total=None)
        cp = open_and_apply(db, file, console)
    try:
        app = create_app(cp, token=token, bind_host=host)
    except ValueError as exc:
        cp.close()
        raise fail(str(exc)) from None
    console.print(
        f"nexthop serving on http://{host}:{port} (docs at /docs, state in {cp.store.path})"
    )
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        cp.close()
