"""asyncio adapter between TCP connections and the sans-IO BGP ``Session``.

The shape is aioquic's ``asyncio/protocol.py`` ``transmit()`` (style guide §1):
bytes from the socket go into ``Session.receive_data(data, loop.time())``, whatever
the session queued comes out of ``data_to_send()`` and is written, and ONE
``loop.call_at`` timer is re-armed at ``Session.get_timer()`` after every
interaction; its callback calls ``handle_timer``. The session asks for TCP work
with ``ConnectRequested`` (RFC 4271 §8.2.2, Connect state: initiate a connection)
and ``CloseRequested`` (drop the connection after writing any queued
NOTIFICATION); every other event goes to the owner's callback.

Received bytes are decoded in bounded slices (issue 10: no event-loop turn
longer than 50 ms): a read larger than ``RX_SLICE`` goes into a receive
backlog that the loop's ``TurnScheduler`` works through a slice at a time,
sharing each turn's budget with every other session and route-server job.
While the backlog holds ``RX_HIGH`` octets or more the transport stops reading
(``pause_reading``), so TCP flow control pushes back on the sender; below
``RX_LOW`` it reads again. A timer that fires with a backlog first decodes one
slice of it, so messages already received restart the hold timer (RFC 4271
§6.5) before it is judged; our own KEEPALIVEs go out between turns. A peer that
closes the connection has its backlog decoded before the loss is reported, in
order, as if it had been read at once.

A ``SessionDriver`` outlives single TCP connections: after a failure the session
idles (RFC 4271 §8.1.1 IdleHoldTimer), restarts itself and asks for a new
connection, which the driver opens. Inbound connections are handed to a driver by
its owner with ``attach()``.

Logging is structlog with the peer bound: one canonical line per state change,
one per NOTIFICATION sent or received (code/subcode names and the RFC 8203/9003
shutdown communication).

No exception leaves a session's handler: every asyncio callback that runs a
session's code (bytes received, timer, write buffer drained, connection lost,
the owner's flush, an UPDATE the owner queues while handling another session)
goes through ``SessionDriver.run_guarded``, which logs the traceback and resets
only that session with a NOTIFICATION Cease, subcode 0 Unspecific (RFC 4271
§6.7: a speaker may close with Cease "in the absence of any fatal errors";
§4.5: subcode 0 when no specific one applies). Not an FSM Error (§6.6): that
would tell the peer it sent something unexpected, and it did not. The same
edge bounds what is queued for a peer (``Session.check_outbound`` with the
transport's write buffer, Cease/Out of Resources, RFC 4486 §4) and gives a
closing connection ``CLOSE_LINGER`` seconds to flush its last bytes (the
NOTIFICATION) before it is aborted, so a peer that never reads cannot keep a
closed session's buffer alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from nexthop.bgp.constants import (
    CeaseSubcode,
    ErrorCode,
    FsmErrorSubcode,
    HeaderErrorSubcode,
    OpenErrorSubcode,
    RouteRefreshErrorSubcode,
    UpdateErrorSubcode,
)
from nexthop.bgp.fsm import (
    CloseRequested,
    ConnectRequested,
    Event,
    NotificationReceived,
    Session,
    SessionDown,
    SessionEstablished,
    SessionState,
    UpdateReceived,
)
from nexthop.bgp.wire import Notification, RouteRefresh, Update, shutdown_communication
from nexthop.runtime.turns import TurnScheduler

__all__ = [
    "CLOSE_LINGER",
    "RX_HIGH",
    "RX_LOW",
    "RX_SLICE",
    "WRITE_CHUNK",
    "BgpStream",
    "ConnectionInfo",
    "SessionDriver",
    "describe_notification",
]

WRITE_CHUNK = 65536  # octets handed to the transport per write while it is not paused
CLOSE_LINGER = 15.0  # seconds a closed connection may take to flush before it is aborted
_HANDLER_FAILED = Notification(code=ErrorCode.CEASE, subcode=0)  # Unspecific (RFC 4271 §4.5)
RX_SLICE = 8192  # octets decoded per unit of receive work (~100 small UPDATEs)
RX_HIGH = 262144  # receive backlog at which the transport stops reading
RX_LOW = 65536  # ... and at which it reads again

_SUBCODES: dict[int, type[Any]] = {
    ErrorCode.MESSAGE_HEADER: HeaderErrorSubcode,
    ErrorCode.OPEN_MESSAGE: OpenErrorSubcode,
    ErrorCode.UPDATE_MESSAGE: UpdateErrorSubcode,
    ErrorCode.FSM: FsmErrorSubcode,
    ErrorCode.CEASE: CeaseSubcode,
    ErrorCode.ROUTE_REFRESH_MESSAGE: RouteRefreshErrorSubcode,
}


def _name(enum: type[Any] | None, value: int) -> str:
    if enum is None:
        return str(value)
    try:
        return str(enum(value).name)
    except ValueError:
        return str(value)


def describe_notification(notification: Notification) -> dict[str, object]:
    """Log fields for a NOTIFICATION: code/subcode numbers and names, and the
    shutdown communication when there is one (RFC 8203/9003)."""
    fields: dict[str, object] = {
        "code": int(notification.code),
        "subcode": int(notification.subcode),
        "error": _name(ErrorCode, notification.code),
        "suberror": _name(_SUBCODES.get(notification.code), notification.subcode),
    }
    message = shutdown_communication(notification)
    if message is not None:
        fields["communication"] = message
    elif notification.data:
        fields["data"] = notification.data.hex()
    return fields


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionInfo:
    """One TCP connection as the kernel sees it; ``ttl`` is the IP TTL (IPv6 hop
    limit) our packets leave with; ``inbound`` when the peer opened it."""

    local: tuple[str, int]
    remote: tuple[str, int]
    ttl: int | None
    inbound: bool


class BgpStream(asyncio.Protocol):
    """One TCP connection. Forwards everything to its driver; without a driver
    (an inbound connection not yet claimed) it asks ``on_inbound`` for one."""

    def __init__(self, on_inbound: Callable[[BgpStream], None] | None = None) -> None:
        self.driver: SessionDriver | None = None
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._on_inbound = on_inbound
        self._early: list[bytes] = []
        # asyncio flow control: while the kernel and transport buffers are above
        # the high-water mark, queued BGP messages stay in the Session's buffer
        # instead of piling up in the transport (updates are paced by the peer's
        # reading speed).
        self.paused = False

    @property
    def peername(self) -> tuple[str, int]:
        info = self.transport.get_extra_info("peername") if self.transport else None
        return (str(info[0]), int(info[1])) if info else ("", 0)

    @property
    def sockname(self) -> tuple[str, int]:
        info = self.transport.get_extra_info("sockname") if self.transport else None
        return (str(info[0]), int(info[1])) if info else ("", 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.driver is None and self._on_inbound is not None:
            try:
                self._on_inbound(self)
            except Exception:  # no session to reset yet: drop the connection
                structlog.get_logger("nexthop.bgp").exception(
                    "inbound_handler_failed", remote=self.peername
                )
                if self.driver is not None:
                    self.driver.reset_after_error()
                else:
                    self.abort()

    def data_received(self, data: bytes) -> None:
        if self.driver is not None:
            self.driver.run_guarded(self.driver.stream_data, self, data)
        else:
            self._early.append(data)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.driver is not None:
            self.driver.run_guarded(self.driver.transmit)

    def take_early_data(self) -> bytes:
        data, self._early = b"".join(self._early), []
        return data

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.closed.done():
            self.closed.set_result(None)
        if self.driver is not None:
            self.driver.run_guarded(self.driver.stream_lost, self)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class SessionDriver:
    """Drives one ``Session`` over asyncio: timers, connects, writes, events.

    ``on_event(driver, event)`` receives every event except ``ConnectRequested``
    and ``CloseRequested``, which the driver handles itself.
    """

    def __init__(
        self,
        session: Session,
        *,
        remote: tuple[str, int],
        on_event: Callable[[SessionDriver, Event], None],
        local_address: str | None = None,
        ttl: int | None = None,
        on_state: Callable[[SessionDriver, SessionState], None] | None = None,
        log: Any = None,
        turns: TurnScheduler | None = None,
    ) -> None:
        self.session = session
        self.remote = remote
        self.local_address = local_address
        self.ttl = ttl
        self.inbound = False  # True once an accepted (not initiated) connection is attached
        self.stream: BgpStream | None = None
        self.log = log if log is not None else structlog.get_logger("nexthop.bgp")
        self._on_event = on_event
        self._on_state = on_state
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._state = session.state
        self._closed = False
        self._turns = turns if turns is not None else TurnScheduler.for_loop(self._loop)
        self._rx = bytearray()  # received and not yet decoded (see the module docstring)
        self._rx_paused = False  # we paused the transport's reading
        self._rx_lost = False  # the connection went away with a backlog still to decode

    # --- public operations (each ends with transmit) -------------------------

    @property
    def state(self) -> SessionState:
        return self.session.state

    def now(self) -> float:
        return self._loop.time()

    def start(self) -> None:
        self._process(self.session.start(self.now()))

    def stop(self, notification: Notification | None = None) -> None:
        self._process(self.session.stop(self.now(), notification))

    def collision_dump(self) -> None:
        """This connection lost a collision (RFC 4271 §6.8): Cease / Connection
        Collision Resolution, then close (``Session.collision_dump``)."""
        self._process(self.session.collision_dump(self.now()))

    def resume(self) -> None:
        """Read on after the session paused at an OPEN (``Session.resume``); the
        bytes buffered since are handled now, so through ``run_guarded``."""
        if not self._closed:
            self.run_guarded(self._resume)

    def _resume(self) -> None:
        self._process(self.session.resume(self.now()))

    def attach(self, stream: BgpStream) -> None:
        """Adopt an accepted connection (the session must be waiting for one)."""
        if self._connecting is not None:
            self._connecting.cancel()
            self._connecting = None
        self._drop_backlog()
        self.stream = stream
        self.inbound = True
        stream.driver = self
        self._apply_ttl(stream)
        self._process(self.session.connection_made(self.now()))
        early = stream.take_early_data()
        if early:
            self.stream_data(stream, early)

    def send_update(self, update: Update) -> None:
        """Queue and write an UPDATE; ``LocalProtocolError`` goes to the caller."""
        self.session.send_update(update)
        self.transmit()

    def queue_update(self, update: Update) -> None:
        """Queue an UPDATE in the session without writing it: the owner calls
        ``transmit()`` once after a batch, so a batch is one write, not one per UPDATE.
        The owner calls it while handling another session's event, so a failure
        resets this session, not that one (``run_guarded``)."""
        self.run_guarded(self.session.send_update, update)

    def send_route_refresh(self, refresh: RouteRefresh) -> None:
        """``LocalProtocolError`` (not negotiated) goes to the caller."""
        self.session.send_route_refresh(refresh.afi, refresh.safi, refresh.subtype)
        self.transmit()

    # --- the handler guard ---------------------------------------------------

    def run_guarded(self, handler: Callable[..., None], *args: Any) -> None:
        """Run ``handler(*args)``, code of this session called from the event
        loop or by the owner. An exception is logged with its traceback and
        resets this session only (``reset_after_error``); it never propagates."""
        try:
            handler(*args)
        except Exception:
            self.log.exception(
                "session_handler_failed",
                handler=getattr(handler, "__name__", repr(handler)),
                state=self.session.state.value,
            )
            self.reset_after_error()

    def reset_after_error(self) -> None:
        """NOTIFICATION Cease/Unspecific (module docstring) and close; if even
        that fails, the connection is closed with whatever was queued."""
        try:
            if self.session.state is not SessionState.IDLE:
                self._process(self.session.teardown(self.now(), _HANDLER_FAILED))
        except Exception:
            self.log.exception("session_reset_failed", state=self.session.state.value)
        if self.stream is not None and self.session.state is SessionState.IDLE:
            self._close_stream()

    def connection_info(self) -> ConnectionInfo | None:
        stream = self.stream
        if stream is None or stream.transport is None:
            return None
        ttl = None
        sock = stream.transport.get_extra_info("socket")
        with contextlib.suppress(OSError, AttributeError):
            if sock.family == socket.AF_INET6:
                ttl = sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS)
            else:
                ttl = sock.getsockopt(socket.IPPROTO_IP, socket.IP_TTL)
        return ConnectionInfo(
            local=stream.sockname, remote=stream.peername, ttl=ttl, inbound=self.inbound
        )

    def close(self) -> None:
        """Forget the session: cancel the timer and any connect, drop the socket."""
        self._closed = True
        self._drop_backlog()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._connecting is not None:
            self._connecting.cancel()
            self._connecting = None
        if self.stream is not None:
            self.stream.driver = None
            self.stream.close()
            self.stream = None

    # --- called by BgpStream --------------------------------------------------

    def stream_data(self, stream: BgpStream, data: bytes) -> None:
        """Bytes from ``stream`` (through ``run_guarded``): a small read is handled
        at once, a larger one is queued as receive work (``_receive_step``)."""
        if stream is not self.stream:
            return
        if not self._rx and len(data) <= RX_SLICE:  # the usual small read: at once
            self._process(self.session.receive_data(data, self.now()))
            return
        self._rx += data
        if len(self._rx) >= RX_HIGH and not self._rx_paused and stream.transport is not None:
            stream.transport.pause_reading()  # TCP flow control holds the sender back
            self._rx_paused = True
        self._turns.add(self._receive_step)

    def stream_lost(self, stream: BgpStream) -> None:
        if stream is not self.stream:
            return
        if self._rx and not self._closed:
            self._rx_lost = True  # reported once the backlog is decoded, in order
            return
        self._lost()

    def _lost(self) -> None:
        self.stream = None
        self._rx_lost = False
        self._rx_paused = False
        if not self._closed:
            self._process(self.session.connection_lost(self.now()))

    @property
    def receive_backlog(self) -> int:
        """Octets received and not yet decoded."""
        return len(self._rx)

    def _receive_step(self, deadline: float) -> bool:
        """One ``TurnScheduler`` step of receive work, through ``run_guarded``
        (a fault resets this session; its backlog is dropped with it)."""
        more = [False]

        def step() -> None:
            more[0] = self._decode_until(deadline)

        self.run_guarded(step)
        if self._closed or self.stream is None:
            self._rx.clear()
            return False
        return more[0]

    def _decode_until(self, deadline: float) -> bool:
        """Decode the backlog a slice at a time until ``deadline``; True while
        some is left."""
        clock = self._turns.clock
        while self._rx:
            self._receive_slice()
            if clock() >= deadline:
                break
        stream = self.stream
        if self._rx_paused and len(self._rx) <= RX_LOW:
            self._rx_paused = False
            if stream is not None and stream.transport is not None:
                stream.transport.resume_reading()
        if not self._rx and self._rx_lost:
            self._lost()
        return bool(self._rx)

    def _receive_slice(self) -> None:
        data = bytes(self._rx[:RX_SLICE])
        del self._rx[:RX_SLICE]
        self._process(self.session.receive_data(data, self.now()))

    def _drop_backlog(self) -> None:
        """The connection the backlog came from is no longer ours to read."""
        self._rx.clear()
        self._rx_lost = False
        self._rx_paused = False
        self._turns.discard(self._receive_step)

    # --- the aioquic transmit() loop -----------------------------------------

    def transmit(self) -> None:
        """Write what the session queued (unless the transport asked us to pause,
        RFC-agnostic pacing by TCP back-pressure) and re-arm the single timer."""
        stream = self.stream
        if stream is None or stream.transport is None:
            self.session.data_to_send()  # no connection: nothing to write it to
        else:
            # Chunked so that the transport's pause_writing() (called from inside
            # write() at the high-water mark) stops us with the rest still queued
            # in the session; resume_writing() comes back here.
            transport = stream.transport
            while not stream.paused:
                chunk = self.session.data_to_send(WRITE_CHUNK)
                if not chunk:
                    break
                transport.write(chunk)
            if self.session.bytes_pending:  # paused: bound what waits for the peer
                in_flight = transport.get_write_buffer_size()
                pending = self.session.bytes_pending
                overflow = self.session.check_outbound(self.now(), in_flight)
                if overflow:
                    self.log.warning(
                        "outbound_limit_exceeded",
                        queued=pending,
                        in_transport=in_flight,
                        limit=self.session.config.outbound_limit,
                    )
                    self._process(overflow)  # Cease/Out of Resources, then close
                    return
        if self._closed:
            return
        deadline = self.session.get_timer()
        if deadline == self._timer_at and (deadline is None or self._timer is not None):
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self.run_guarded(self._handle_timer)

    def _handle_timer(self) -> None:
        if self._rx:  # messages already received count before the hold timer does
            self._receive_slice()
        self._process(self.session.handle_timer(self.now()))

    def _process(self, events: list[Event]) -> None:
        on_event = self._on_event
        for event in events:
            if type(event) is UpdateReceived:  # most events; nothing to log or do here
                on_event(self, event)
                continue
            self._log_event(event)
            match event:
                case ConnectRequested():
                    self._connect()
                case CloseRequested():
                    self._close_stream()
                case _:
                    on_event(self, event)
        self._log_state()
        self.transmit()

    # --- TCP ------------------------------------------------------------------

    def _connect(self) -> None:
        if self._closed:
            return
        if self._connecting is not None:  # ConnectRetry expired on a hanging attempt
            self._connecting.cancel()
        self._connecting = self._loop.create_task(self._open_connection())

    async def _open_connection(self) -> None:
        host, port = self.remote
        local = (self.local_address, 0) if self.local_address else None
        try:
            _, stream = await self._loop.create_connection(BgpStream, host, port, local_addr=local)
        except OSError as exc:
            if self._connecting is not asyncio.current_task():
                return
            self._connecting = None
            self.log.debug("connect_failed", error=str(exc))
            if not self._closed:
                self._process(self.session.connection_failed(self.now()))
            return
        if self._connecting is not asyncio.current_task():  # superseded meanwhile
            stream.abort()
            return
        self._connecting = None
        if self._closed or self.session.state not in (SessionState.CONNECT, SessionState.ACTIVE):
            stream.abort()
            return
        self._drop_backlog()
        self.stream = stream
        self.inbound = False
        stream.driver = self
        self._apply_ttl(stream)
        self.log.debug("connected", local=stream.sockname, remote=stream.peername)
        self.run_guarded(self._connected)

    def _connected(self) -> None:
        self._process(self.session.connection_made(self.now()))

    def _close_stream(self) -> None:
        stream, self.stream = self.stream, None
        self._drop_backlog()
        if stream is None:
            return
        data = self.session.data_to_send()
        if data and stream.transport is not None:
            stream.transport.write(data)
        stream.driver = None
        stream.close()  # asyncio flushes the write buffer before closing...
        if not stream.closed.done():  # ...unless the peer never reads it
            self._loop.call_later(CLOSE_LINGER, stream.abort)

    def _apply_ttl(self, stream: BgpStream) -> None:
        if self.ttl is None or stream.transport is None:
            return
        sock = stream.transport.get_extra_info("socket")
        if sock is not None and sock.family == socket.AF_INET:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, self.ttl)
        elif sock is not None and sock.family == socket.AF_INET6:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, self.ttl)

    # --- logging --------------------------------------------------------------

    def _log_state(self) -> None:
        state = self.session.state
        if state is not self._state:
            self.log.info("bgp_state_changed", old=self._state.value, new=state.value)
            self._state = state
            if self._on_state is not None:
                self._on_state(self, state)

    def _log_event(self, event: Event) -> None:
        match event:
            case NotificationReceived(notification=n):
                self.log.warning("notification_received", **describe_notification(n))
            case SessionDown(reason=reason, notification=n, sent=True) if n is not None:
                self.log.warning(
                    "notification_sent", reason=reason.value, **describe_notification(n)
                )
            case SessionDown(reason=reason):
                self.log.info("session_down", reason=reason.value)
            case SessionEstablished(negotiated=n):
                self.log.info(
                    "session_established",
                    peer_asn=n.peer_asn,
                    peer_bgp_id=str(ipaddress.IPv4Address(n.peer_bgp_id)),
                    hold_time=n.hold_time,
                    families=sorted(f"{afi}/{safi}" for afi, safi in n.families),
                    asn4=n.asn4,
                    enhanced_route_refresh=n.enhanced_route_refresh,
                )
            case _:
                pass
