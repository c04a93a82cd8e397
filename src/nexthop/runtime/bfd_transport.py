"""BFD over UDP/IPv4: the asyncio edge of ``nexthop.bfd.BfdSession``.

Single hop (RFC 5881): Control packets go to UDP port 3784; each session sends
from its own source port in 49152-65535 (§4: "MUST be in the range", "SHOULD be
unique among all BFD sessions"), with IP TTL 255, and a received packet whose
TTL is not 255 is discarded (§5, the GTSM rule). Multihop (RFC 5883): port 4784,
any TTL accepted (§5 leaves the check to configuration; we send 255).

Receiving sockets are bound to the local address of the sessions (for the route
server, an instance's BGP listen address: a 127.x stand-in in tests and in the
lab, the instance IP in ``--bind real``) with ``SO_REUSEADDR``, so they coexist
with a daemon such as FRR's ``bfdd`` bound to the wildcard address on the same
host. Ports above 1023 need no privilege. The TTL comes from ``IP_RECVTTL``
ancillary data. A packet is given to the session its Your Discriminator names
(RFC 5880 §6.8.6), or, when that is zero, to the session of (local address,
source address).

Each session's single deadline (``BfdSession.get_timer``) is one
``loop.call_at``; after every input the session's datagrams are sent and its
state changes handed to ``on_change``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import structlog

from nexthop.bfd import BfdConfig, BfdSession, BfdStatus, StateChanged

__all__ = [
    "MULTIHOP_PORT",
    "SINGLE_HOP_PORT",
    "SOURCE_PORTS",
    "BfdTransport",
]

SINGLE_HOP_PORT = 3784  # RFC 5881 §4
MULTIHOP_PORT = 4784  # RFC 5883 §5
SOURCE_PORTS = range(49152, 65536)  # RFC 5881 §4
REQUIRED_TTL = 255  # RFC 5881 §5
_IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)  # Linux value; Python lacks the name
_MAX_DATAGRAM = 512

ChangeHandler = Callable[[Hashable, StateChanged], None]


@dataclass(eq=False, slots=True)
class _Entry:
    key: Hashable
    local: str
    remote: str
    session: BfdSession
    sock: socket.socket
    timer: asyncio.TimerHandle | None = None
    send_errors: int = 0


@dataclass(eq=False, slots=True)
class _Listener:
    sock: socket.socket
    multihop: bool
    users: set[Hashable] = field(default_factory=set)


class BfdTransport:
    """BFD sessions keyed by the caller's ``key`` (the route server uses
    (instance, peering)); see the module docstring."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        on_change: ChangeHandler,
        rng: random.Random | None = None,
        log: Any = None,
    ) -> None:
        self._loop = loop
        self._on_change = on_change
        self._rng = rng or random.SystemRandom()
        self._entries: dict[Hashable, _Entry] = {}
        self._by_disc: dict[int, _Entry] = {}
        self._by_addr: dict[tuple[str, str, bool], _Entry] = {}
        self._listeners: dict[tuple[str, bool], _Listener] = {}
        self.ttl_discards = 0
        self.unmatched = 0
        self.log = log if log is not None else structlog.get_logger("nexthop.bfd")

    # --- sessions ------------------------------------------------------------------

    def add(self, key: Hashable, *, local: str, remote: str, config: BfdConfig) -> None:
        """Start a session from ``local`` to ``remote`` (``OSError`` if a socket
        cannot be bound; nothing is left half-made then)."""
        if key in self._entries:
            self.remove(key)
        listener = self._listener(local, config.multihop)
        try:
            sock = self._sender(local)
        except OSError:
            self._release(listener, key)
            raise
        listener.users.add(key)
        session = BfdSession(
            config, local_discriminator=self._discriminator(), rng=self._rng, now=self._loop.time()
        )
        entry = _Entry(key=key, local=local, remote=remote, session=session, sock=sock)
        self._entries[key] = entry
        self._by_disc[session.local_discriminator] = entry
        self._by_addr[(local, remote, config.multihop)] = entry
        self.log.info("bfd_session_added", key=str(key), local=local, remote=remote)
        self._service(entry)

    def remove(self, key: Hashable) -> None:
        """AdminDown to the remote (RFC 5880 §6.8.16), then forget the session."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        session = entry.session
        session.disable(self._loop.time())
        self._flush(entry)
        if entry.timer is not None:
            entry.timer.cancel()
        del self._by_disc[session.local_discriminator]
        self._by_addr.pop((entry.local, entry.remote, session.config.multihop), None)
        entry.sock.close()
        listener = self._listeners.get((entry.local, session.config.multihop))
        if listener is not None:
            self._release(listener, key)

    def close(self) -> None:
        for key in list(self._entries):
            self.remove(key)

    def running(self) -> list[Hashable]:
        return list(self._entries)

    def config(self, key: Hashable) -> tuple[str, str, BfdConfig] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        return entry.local, entry.remote, entry.session.config

    def status(self, key: Hashable) -> BfdStatus | None:
        entry = self._entries.get(key)
        return entry.session.status() if entry is not None else None

    # --- sockets ---------------------------------------------------------------------

    def _listener(self, local: str, multihop: bool) -> _Listener:
        found = self._listeners.get((local, multihop))
        if found is not None:
            return found
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.IPPROTO_IP, _IP_RECVTTL, 1)
            sock.setblocking(False)
            sock.bind((local, MULTIHOP_PORT if multihop else SINGLE_HOP_PORT))
        except OSError:
            sock.close()
            raise
        listener = _Listener(sock=sock, multihop=multihop)
        self._listeners[(local, multihop)] = listener
        self._loop.add_reader(sock.fileno(), self._readable, listener, local)
        return listener

    def _release(self, listener: _Listener, key: Hashable) -> None:
        listener.users.discard(key)
        if listener.users:
            return
        for where, found in list(self._listeners.items()):
            if found is listener:
                del self._listeners[where]
        self._loop.remove_reader(listener.sock.fileno())
        listener.sock.close()

    def _sender(self, local: str) -> socket.socket:
        """A socket bound to ``local`` and a free port in 49152-65535, TTL 255."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, REQUIRED_TTL)
            sock.setblocking(False)
            start = self._rng.randrange(len(SOURCE_PORTS))
            for i in range(len(SOURCE_PORTS)):
                port = SOURCE_PORTS[(start + i) % len(SOURCE_PORTS)]
                try:
                    sock.bind((local, port))
                except OSError:
                    continue
                return sock
            msg = f"no free UDP source port in 49152-65535 on {local}"
            raise OSError(msg)
        except OSError:
            sock.close()
            raise

    def _discriminator(self) -> int:
        while True:
            value = self._rng.randrange(1, 1 << 32)
            if value not in self._by_disc:
                return value

    # --- receive -------------------------------------------------------------------------

    def _readable(self, listener: _Listener, local: str) -> None:
        space = socket.CMSG_SPACE(4)
        for _ in range(64):  # bounded per wake-up; the loop calls again
            try:
                data, ancillary, _, (source, _port) = listener.sock.recvmsg(_MAX_DATAGRAM, space)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.log.warning("bfd_receive_failed", local=local, error=str(exc))
                return
            ttl = _ttl(ancillary)
            if not listener.multihop and ttl != REQUIRED_TTL:
                self.ttl_discards += 1
                continue
            entry = self._match(data, local, source, listener.multihop)
            if entry is None:
                self.unmatched += 1
                continue
            entry.session.receive(data, self._loop.time())
            self._service(entry)

    def _match(self, data: bytes, local: str, source: str, multihop: bool) -> _Entry | None:
        """RFC 5880 §6.8.6: by Your Discriminator when non-zero, else by addresses."""
        if len(data) >= 12:
            (your,) = struct.unpack_from("!I", data, 8)
            if your:
                # The discriminator alone selects the session; the source may
                # differ (FRR's bfdd sends from the host's primary address until
                # bgpd tells it the session's local address).
                return self._by_disc.get(your)
        return self._by_addr.get((local, source, multihop))

    # --- timers and output ------------------------------------------------------------------

    def _fire(self, entry: _Entry) -> None:
        entry.timer = None
        if self._entries.get(entry.key) is not entry:
            return
        entry.session.handle_timer(self._loop.time())
        self._service(entry)

    def _service(self, entry: _Entry) -> None:
        self._flush(entry)
        session = entry.session
        while (event := session.next_event()) is not None:
            self.log.info(
                "bfd_state_changed",
                key=str(entry.key),
                old=event.old.name,
                new=event.new.name,
                diagnostic=event.diagnostic.name,
            )
            try:
                self._on_change(entry.key, event)
            except Exception:  # a client error must not stop the session
                self.log.exception("bfd_client_failed", key=str(entry.key))
        if self._entries.get(entry.key) is not entry:
            return  # removed by the client
        deadline = session.get_timer()
        if entry.timer is not None:
            entry.timer.cancel()
            entry.timer = None
        if deadline is not None:
            entry.timer = self._loop.call_at(deadline, self._fire, entry)

    def _flush(self, entry: _Entry) -> None:
        port = MULTIHOP_PORT if entry.session.config.multihop else SINGLE_HOP_PORT
        for datagram in entry.session.datagrams_to_send():
            try:
                entry.sock.sendto(datagram, (entry.remote, port))
            except OSError:  # a full buffer or no route: BFD tolerates a lost packet
                entry.send_errors += 1


def _ttl(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    for level, kind, value in ancillary:
        if level == socket.IPPROTO_IP and kind == socket.IP_TTL and len(value) >= 1:
            with contextlib.suppress(struct.error):
                return int(struct.unpack("i", value[:4])[0]) if len(value) >= 4 else value[0]
    return None
