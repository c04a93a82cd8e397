"""``nexthop serve [FILE]``: restore the stored state, apply FILE, serve the REST API
and run the topology's BGP-4 route servers and probes (``nexthop.runtime.network``).

Beyond loopback the server refuses to start without ``--token`` (or
``NEXTHOP_TOKEN``); changes then need ``Authorization: Bearer <token>``.

BGP: by default (neither ``--bgp`` nor ``--no-bgp``) the route servers are started
if they can listen; if they cannot (the port is taken), a warning is printed and
the API serves the model alone. ``--bgp`` makes that an error, ``--no-bgp`` skips
BGP. With BGP, the load balancers' backends are health-probed over real TCP/HTTP
(``--no-probes``: the model's health). See docs/serve.md.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI
from rich.console import Console

from nexthop.api import create_app
from nexthop.cli.apply import changes_table, read_file
from nexthop.cli.options import DbOption, TokenOption, fail
from nexthop.cli.render import progress
from nexthop.clock import SystemClock
from nexthop.runtime.listen import BgpListen, BindMode, parse_bgp_address
from nexthop.runtime.network import LiveNetwork
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


class _BgpServer(uvicorn.Server):
    """Uvicorn with the route servers stopped (Cease to every peer) as part of its
    graceful shutdown: uvicorn re-raises SIGTERM/SIGINT once ``serve()`` returns,
    so work after it would not run."""

    def __init__(self, config: uvicorn.Config, runtime: LiveNetwork) -> None:
        super().__init__(config)
        self.runtime = runtime

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self.runtime.stop()
        await super().shutdown(sockets)


async def _serve_with_bgp(
    cp: ControlPlane,
    app: FastAPI,
    *,
    host: str,
    port: int,
    log_level: str,
    listen: BgpListen,
    required: bool,
    probes: bool,
    console: Console,
) -> None:
    runtime = LiveNetwork(asyncio.get_running_loop(), listen=listen, probes=probes)
    try:
        await runtime.start(cp.topology)
    except OSError as exc:
        if required:
            raise fail(f"BGP: cannot listen: {exc}") from None
        console.print(
            f"warning: BGP not started ({exc}); serving the model only"
            " (--bgp makes this an error, --no-bgp skips BGP)"
        )
        await uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level)).serve()
        return
    for row in runtime.listen_addresses():
        console.print(
            f"BGP route server {row.route_server} {row.instance} ({row.instance_ip}, AS 65515)"
            f" listening on {row.address}:{row.port}",
            soft_wrap=True,
        )
    cp.attach_runtime(runtime)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level)
    try:
        await _BgpServer(config, runtime).serve()
    finally:
        await runtime.stop()


def _listen_plan(bind: str, bgp_port: int | None, bgp_address: list[str] | None) -> BgpListen:
    try:
        mode = BindMode(bind)
        overrides = dict(parse_bgp_address(text) for text in bgp_address or [])
    except ValueError as exc:
        raise fail(f"--bgp-bind/--bgp-address: {exc}") from None
    if bgp_port is not None and not 0 < bgp_port < 2**16:
        raise fail(f"--bgp-port: {bgp_port} is not a TCP port")
    return BgpListen(mode=mode, port=bgp_port, overrides=overrides)


def serve(  # noqa: PLR0917 - Typer maps parameters to options
    file: Annotated[Path | None, typer.Argument(help="Topology file to apply first.")] = None,
    host: Annotated[str, typer.Option("--host", help="Listen address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Listen port.")] = DEFAULT_PORT,
    db: DbOption = None,
    token: TokenOption = None,
    log_level: Annotated[str, typer.Option("--log-level")] = "warning",
    bgp: Annotated[
        bool | None,
        typer.Option(
            "--bgp/--no-bgp",
            help="Run the BGP route servers (default: if they can listen; --bgp: required).",
            show_default=False,
        ),
    ] = None,
    bgp_bind: Annotated[
        str,
        typer.Option(
            "--bgp-bind",
            help="standin: the instance IPs' loopback stand-ins (port 1790);"
            " real: the instance IPs themselves (port 179).",
        ),
    ] = BindMode.STAND_IN.value,
    bgp_port: Annotated[
        int | None,
        typer.Option("--bgp-port", help="BGP listen port (default 1790 standin, 179 real)."),
    ] = None,
    bgp_address: Annotated[
        list[str] | None,
        typer.Option(
            "--bgp-address",
            help="IN_0=ADDR:PORT (or RS/IN_1=...): where that instance listens instead.",
        ),
    ] = None,
    probes: Annotated[
        bool,
        typer.Option(
            "--probes/--no-probes",
            help="Health-probe the load balancers' backends over TCP/HTTP (with BGP);"
            " --no-probes: the model's health.",
        ),
    ] = True,
) -> None:
    """Run the control plane, its REST API (OpenAPI docs at /docs) and the topology's
    BGP route servers (AS 65515, two instances each) that NVAs peer with."""
    console = Console(stderr=True)
    listen = _listen_plan(bgp_bind, bgp_port, bgp_address)
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
        if bgp is False:
            uvicorn.run(app, host=host, port=port, log_level=log_level)
        else:
            asyncio.run(
                _serve_with_bgp(
                    cp,
                    app,
                    host=host,
                    port=port,
                    log_level=log_level,
                    listen=listen,
                    required=bgp is True,
                    probes=probes,
                    console=console,
                )
            )
    finally:
        cp.close()
