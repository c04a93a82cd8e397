"""``nexthop serve [FILE]``: restore the stored state, apply FILE, serve the REST API
and run the topology's BGP-4 route servers and probes (``nexthop.runtime.network``).

Beyond loopback the server refuses to start without ``--token`` (or
``NEXTHOP_TOKEN``); changes then need ``Authorization: Bearer <token>``.

BGP: by default (neither ``--bgp`` nor ``--no-bgp``) the route servers are started
if they can listen; if they cannot (the port is taken), a warning is printed and
the API serves the model alone. ``--bgp`` makes that an error, ``--no-bgp`` skips
BGP. With BGP, the load balancers' backends are health-probed over real TCP/HTTP
(``--no-probes``: the model's health). See docs/serve.md.

Before anything else the server takes the database's lock (``nexthop.runfile``:
a second server on the same database is refused naming the first) and binds its
API socket (a taken ``--port`` fails before "serving" is printed); the run file
naming its URL is written once the socket listens and removed at exit.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI
from rich.console import Console

from nexthop.api import create_app
from nexthop.cli.apply import changes_table, read_file
from nexthop.cli.options import DbOption, LogFormatOption, LogLevelOption, TokenOption, fail
from nexthop.cli.render import progress
from nexthop.clock import SystemClock
from nexthop.logs import LogFormat, LogLevel, configure_logging
from nexthop.routeserver.instance import REFRESH_INTERVAL
from nexthop.runfile import DbHeldError, DbLock
from nexthop.runtime.admission import AcceptLimits
from nexthop.runtime.listen import BgpListen, BindMode, parse_bgp_address
from nexthop.runtime.network import LiveNetwork
from nexthop.runtime.route_server_host import OUTBOUND_LIMIT, HostTimers
from nexthop.service import ControlPlane, ControlPlaneError
from nexthop.store import Store, StoreError, check_db_path

__all__ = [
    "DEFAULT_PORT",
    "OwnedServer",
    "api_url",
    "listen_socket",
    "open_and_apply",
    "own_database",
    "serve",
]

DEFAULT_PORT = 8179
LOCK_WAIT_S = 5.0  # a local CLI write holds the lock for a moment
LISTEN_BACKLOG = 2048


def own_database(db: Path | None) -> DbLock:
    """Take the lock of ``db`` (default database if ``None``) for this server's life;
    exits 1 naming the server that holds it, or saying why the path cannot hold a
    database (``check_db_path``)."""
    try:
        path = check_db_path(db)
    except StoreError as exc:
        raise fail(str(exc)) from None
    try:
        return DbLock(path, wait_s=LOCK_WAIT_S)
    except DbHeldError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot lock the database {path}: {exc.strerror}") from None


def listen_socket(host: str, port: int) -> socket.socket:
    """The API socket, bound and listening (handed to uvicorn); exits 1 if it cannot."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says
    # TCP, and without it every answer on a kept-alive connection waited ~40 ms
    # (uvicorn writes the head and the body separately: Nagle + delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        why = "address in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
        raise fail(f"cannot listen on {host}:{port}: {why}") from None
    return sock


def api_url(sock: socket.socket) -> str:
    """The URL a local client reaches the API socket at (a wildcard host as loopback)."""
    host, port = sock.getsockname()[:2]
    if host == "0.0.0.0":  # noqa: S104 - mapping the wildcard, not binding it
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


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


class OwnedServer(uvicorn.Server):
    """Uvicorn that removes the database's run file and runs ``stop`` (the route
    servers' or the lab's: Cease to every peer) as part of its graceful shutdown:
    uvicorn re-raises SIGTERM once ``serve()`` returns, so work after it would not run."""

    def __init__(
        self,
        app: FastAPI,
        log_level: str,
        lock: DbLock,
        stop: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        # log_config=None: uvicorn's loggers go through the process's structlog set-up
        # (``nexthop.logs``) instead of uvicorn's own handlers and format
        super().__init__(uvicorn.Config(app, log_level=log_level, log_config=None))
        self.lock = lock
        self.stop = stop

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.lock.remove_run()
        if self.stop is not None:
            await self.stop()
        await super().shutdown(sockets)


async def _serve_with_bgp(
    cp: ControlPlane,
    app: FastAPI,
    *,
    sock: socket.socket,
    lock: DbLock,
    log_level: str,
    listen: BgpListen,
    required: bool,
    probes: bool,
    console: Console,
    timers: HostTimers,
) -> None:
    runtime = LiveNetwork(
        asyncio.get_running_loop(), listen=listen, probes=probes, host_timers=timers
    )
    try:
        await runtime.start(cp.topology)
    except OSError as exc:
        if required:
            raise fail(f"BGP: cannot listen: {exc}") from None
        console.print(
            f"warning: BGP not started ({exc}); serving the model only"
            " (--bgp makes this an error, --no-bgp skips BGP)"
        )
        await OwnedServer(app, log_level, lock).serve(sockets=[sock])
        return
    for row in runtime.listen_addresses():
        console.print(
            f"BGP route server {row.route_server} {row.instance} ({row.instance_ip}, AS 65515)"
            f" listening on {row.address}:{row.port}",
            soft_wrap=True,
        )
    cp.attach_runtime(runtime)
    try:
        await OwnedServer(app, log_level, lock, runtime.stop).serve(sockets=[sock])
    finally:
        await runtime.stop()


def _listen_plan(
    bind: str, bgp_port: int | None, bgp_address: list[str] | None, accept: tuple[float, int]
) -> BgpListen:
    try:
        mode = BindMode(bind)
        overrides = dict(parse_bgp_address(text) for text in bgp_address or [])
    except ValueError as exc:
        raise fail(f"--bgp-bind/--bgp-address: {exc}") from None
    if bgp_port is not None and not 0 < bgp_port < 2**16:
        raise fail(f"--bgp-port: {bgp_port} is not a TCP port")
    try:
        limits = AcceptLimits(rate=accept[0], burst=accept[1])
    except ValueError as exc:
        raise fail(f"--bgp-accept-rate/--bgp-accept-burst: {exc}") from None
    return BgpListen(mode=mode, port=bgp_port, overrides=overrides, accept_limits=limits)


def serve(  # noqa: PLR0917 - Typer maps parameters to options
    file: Annotated[Path | None, typer.Argument(help="Topology file to apply first.")] = None,
    host: Annotated[str, typer.Option("--host", help="Listen address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Listen port.")] = DEFAULT_PORT,
    db: DbOption = None,
    token: TokenOption = None,
    log_level: LogLevelOption = LogLevel.WARNING,
    log_format: LogFormatOption = LogFormat.AUTO,
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
    bgp_accept_rate: Annotated[
        float,
        typer.Option(
            "--bgp-accept-rate",
            help="BGP connections per second one peer address may open (token bucket;"
            " 0: no limit). Unknown addresses are always refused.",
        ),
    ] = AcceptLimits().rate,
    bgp_accept_burst: Annotated[
        int,
        typer.Option(
            "--bgp-accept-burst", help="BGP connections one peer address may open at once."
        ),
    ] = AcceptLimits().burst,
    probes: Annotated[
        bool,
        typer.Option(
            "--probes/--no-probes",
            help="Health-probe the load balancers' backends over TCP/HTTP (with BGP);"
            " --no-probes: the model's health.",
        ),
    ] = True,
    bgp_outbound_limit: Annotated[
        int,
        typer.Option(
            "--bgp-outbound-limit",
            help="Octets queued for one BGP peer that does not read before its session"
            " is reset with Cease/Out of Resources (RFC 4486).",
            min=65536,
        ),
    ] = OUTBOUND_LIMIT,
    bgp_refresh_interval: Annotated[
        float,
        typer.Option(
            "--bgp-refresh-interval",
            help="Seconds between two answers to one peer's ROUTE-REFRESH;"
            " requests in between are merged into one.",
            min=0.0,
        ),
    ] = REFRESH_INTERVAL,
) -> None:
    """Run the control plane, its REST API (OpenAPI docs at /docs) and the topology's
    BGP route servers (AS 65515, two instances each) that NVAs peer with."""
    configure_logging(log_level, log_format)
    console = Console(stderr=True)
    listen = _listen_plan(bgp_bind, bgp_port, bgp_address, (bgp_accept_rate, bgp_accept_burst))
    timers = HostTimers(outbound_limit=bgp_outbound_limit, refresh_interval=bgp_refresh_interval)
    lock = own_database(db)
    try:
        sock = listen_socket(host, port)
    except BaseException:
        lock.release()
        raise
    try:
        _serve_on(
            file, db, token, host, sock, lock, log_level, bgp, listen, probes, console, timers
        )
    finally:
        sock.close()
        lock.release()


def _serve_on(  # noqa: PLR0917 - the options of serve()
    file: Path | None,
    db: Path | None,
    token: str | None,
    host: str,
    sock: socket.socket,
    lock: DbLock,
    log_level: str,
    bgp: bool | None,
    listen: BgpListen,
    probes: bool,
    console: Console,
    timers: HostTimers,
) -> None:
    with progress(console) as bar:
        bar.add_task("restoring state and applying", total=None)
        cp = open_and_apply(db, file, console)
    try:
        app = create_app(cp, token=token, bind_host=host)
    except ValueError as exc:
        cp.close()
        raise fail(str(exc)) from None
    url = api_url(sock)
    console.print(f"nexthop serving on {url} (docs at /docs, state in {cp.store.path})")
    lock.write_run(url, "serve")
    try:
        if bgp is False:
            OwnedServer(app, log_level, lock).run(sockets=[sock])
        else:
            asyncio.run(
                _serve_with_bgp(
                    cp,
                    app,
                    sock=sock,
                    lock=lock,
                    log_level=log_level,
                    listen=listen,
                    required=bgp is True,
                    probes=probes,
                    console=console,
                    timers=timers,
                )
            )
    finally:
        cp.close()
