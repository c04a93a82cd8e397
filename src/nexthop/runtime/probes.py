"""Health probes against real sockets, and a tiny probe responder for the lab.

The asyncio edge of ``nexthop.lb.health`` (style guide §1, aioquic ``transmit()``
shape): ``ProbeRunner`` asks its scheduler (a ``ProbeTracker`` or a
``LoadBalancerEngine``) which probes are due with ``now`` from the loop clock, runs
each one as a task, feeds the outcome back with the loop's ``now``, and re-arms one
``loop.call_at`` timer at ``next_deadline()``.

Probe semantics (route-server-spec §3, PROBE):

* TCP: success when the three-way handshake completes within the timeout; a refused
  connection (RST) or a timeout is a failure.
* HTTP/HTTPS: ``GET <path>``; success only on status 200; any other status is a
  failure of kind ``HTTP_STATUS`` with the status as detail (the tracker then marks the
  backend down at once). HTTPS does not validate the certificate, like Azure's probe.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import shutil
import ssl
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from enum import Enum
from http import HTTPStatus
from pathlib import Path
from typing import Protocol

from nexthop.lb.health import (
    BackendMarkedDown,
    BackendMarkedUp,
    FailureKind,
    ProbeOutcome,
    ProbeTask,
)
from nexthop.lb.model import ProbeProtocol

__all__ = [
    "ProbeResponder",
    "ProbeRunner",
    "ProbeScheduler",
    "ResponderMode",
    "http_probe",
    "run_probe",
    "self_signed_context",
    "tcp_probe",
]

USER_AGENT = "nexthop-probe/1"
MAX_STATUS_LINE = 1024

HealthEvent = BackendMarkedUp | BackendMarkedDown


def _ok() -> ProbeOutcome:
    return ProbeOutcome(success=True)


def _fail(kind: FailureKind, detail: str) -> ProbeOutcome:
    return ProbeOutcome(success=False, kind=kind, detail=detail)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def _local(source: str | None) -> tuple[str, int] | None:
    return None if source is None else (source, 0)


async def tcp_probe(
    host: str, port: int, timeout: float, *, source: str | None = None
) -> ProbeOutcome:
    """Success when a TCP handshake with ``host:port`` completes within ``timeout``.

    ``source`` binds the probe's source address (Azure probes come from 168.63.129.16;
    a lab can pick a loopback address to play that role)."""
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port, local_addr=_local(source))
    except TimeoutError:
        return _fail(FailureKind.TIMEOUT, f"no handshake within {timeout:g}s")
    except ConnectionRefusedError as exc:
        return _fail(FailureKind.REFUSED, exc.strerror or "connection refused")
    except OSError as exc:
        return _fail(FailureKind.ERROR, exc.strerror or type(exc).__name__)
    await _close(writer)
    return _ok()


def _tls_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # probes do not validate certificates
    return ctx


async def http_probe(
    host: str,
    port: int,
    path: str,
    timeout: float,
    *,
    tls: bool = False,
    source: str | None = None,
) -> ProbeOutcome:
    """``GET path``; success only on status 200."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                host, port, ssl=_tls_context() if tls else None, local_addr=_local(source)
            )
            try:
                request = (
                    f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"User-Agent: {USER_AGENT}\r\nConnection: close\r\n\r\n"
                )
                writer.write(request.encode("ascii"))
                await writer.drain()
                line = await reader.readline()
            finally:
                await _close(writer)
    except TimeoutError:
        return _fail(FailureKind.TIMEOUT, f"no answer within {timeout:g}s")
    except ConnectionRefusedError as exc:
        return _fail(FailureKind.REFUSED, exc.strerror or "connection refused")
    except (OSError, ssl.SSLError) as exc:
        return _fail(FailureKind.ERROR, str(exc) or type(exc).__name__)
    parts = line[:MAX_STATUS_LINE].decode("latin-1").split()
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return _fail(FailureKind.ERROR, f"malformed status line {line[:80]!r}")
    status = int(parts[1])
    if status == HTTPStatus.OK:
        return _ok()
    return _fail(FailureKind.HTTP_STATUS, str(status))


async def run_probe(task: ProbeTask, *, source: str | None = None) -> ProbeOutcome:
    """Run the probe a ``ProbeTask`` describes."""
    host = str(task.ip)
    if task.protocol is ProbeProtocol.TCP:
        return await tcp_probe(host, task.port, task.timeout, source=source)
    return await http_probe(
        host,
        task.port,
        task.path or "/",
        task.timeout,
        tls=task.protocol is ProbeProtocol.HTTPS,
        source=source,
    )


class ProbeScheduler(Protocol):
    """What the runner drives: ``ProbeTracker`` and ``LoadBalancerEngine`` both fit."""

    def due_probes(self, now: float) -> list[ProbeTask]: ...

    def record_probe(
        self, task: ProbeTask, outcome: ProbeOutcome, now: float
    ) -> Sequence[HealthEvent]: ...

    def next_deadline(self) -> float | None: ...


ProbeFn = Callable[[ProbeTask], Awaitable[ProbeOutcome]]


class ProbeRunner:
    """Runs due probes on the event loop and feeds results back to the scheduler."""

    def __init__(
        self,
        scheduler: ProbeScheduler,
        *,
        on_events: Callable[[Sequence[HealthEvent]], None] | None = None,
        on_result: Callable[[ProbeTask, ProbeOutcome], None] | None = None,
        probe: ProbeFn | None = None,
        source: str | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._on_events = on_events
        self._on_result = on_result
        self._probe = probe or functools.partial(run_probe, source=source)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.probes_run = 0

    def start(self) -> None:
        """Start probing; call from inside the running loop."""
        self._loop = asyncio.get_running_loop()
        self._wake()

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop = None

    def _wake(self) -> None:
        self._timer = None
        loop = self._loop
        if loop is None:
            return
        for task in self._scheduler.due_probes(loop.time()):
            t = loop.create_task(self._run(task))
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)
        self._rearm()

    def _rearm(self) -> None:
        loop = self._loop
        if loop is None:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self._scheduler.next_deadline()
        if deadline is not None:
            self._timer = loop.call_at(deadline, self._wake)

    async def _run(self, task: ProbeTask) -> None:
        outcome = await self._probe(task)
        loop = self._loop
        if loop is None:
            return
        self.probes_run += 1
        events = self._scheduler.record_probe(task, outcome, loop.time())
        if self._on_result is not None:
            self._on_result(task, outcome)
        if events and self._on_events is not None:
            self._on_events(events)
        self._rearm()


async def self_signed_context(common_name: str) -> ssl.SSLContext | None:
    """A server TLS context with a fresh self-signed certificate (``openssl req``),
    for HTTPS probe responders; None without openssl. Azure's HTTPS probe does not
    validate the certificate, and neither do this module's probes."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    with tempfile.TemporaryDirectory(prefix="nexthop-tls-") as tmp:
        key, cert = Path(tmp) / "key.pem", Path(tmp) / "cert.pem"
        process = await asyncio.create_subprocess_exec(
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "30",
            "-subj",
            f"/CN={common_name}",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        if await process.wait() != 0:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        return context


class ResponderMode(Enum):
    TCP = "Tcp"  # accept and close
    HTTP = "Http"  # answer every request with the current status


class ProbeResponder:
    """A probe target for the lab and tests: TCP accept, or HTTP answering a status.

    Pass a server ``tls`` context to answer HTTPS probes.
    ``status`` can be switched while running (200 healthy, 503 draining); ``hang``
    makes HTTP answers never come (probe timeouts); ``stop()`` closes the listener so
    new connections are refused.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        mode: ResponderMode = ResponderMode.HTTP,
        status: int = HTTPStatus.OK,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.tls = tls
        self.mode = mode
        self.status = status
        self.hang = False
        self.connections = 0
        self.last_peer: str | None = None
        self.requests = 0
        self._port = port
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        return self._port

    @property
    def running(self) -> bool:
        return self._server is not None

    def set_status(self, status: int) -> None:
        self.status = status

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, self.host, self._port, ssl=self.tls)
        self._port = self._server.sockets[0].getsockname()[1]
        return self._port

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for w in list(self._conns):
            w.close()
        await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        self.connections += 1
        peer = writer.get_extra_info("peername")
        self.last_peer = str(peer[0]) if peer else None
        try:
            if self.mode is ResponderMode.HTTP:
                await self._answer_http(reader, writer)
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._conns.discard(writer)
            await _close(writer)

    async def _answer_http(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while (await reader.readline()).strip():
            pass  # request line and headers, up to the blank line
        self.requests += 1
        if self.hang:
            await reader.read()  # wait until the prober gives up and closes
            return
        status = HTTPStatus(self.status)
        body = f"{status.value} {status.phrase}\n".encode()
        head = (
            f"HTTP/1.1 {status.value} {status.phrase}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode("ascii") + body)
        await writer.drain()
