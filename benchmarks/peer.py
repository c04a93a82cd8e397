"""A blocking-socket BGP peer for the harness: handshake with the project codec,
then either blast pre-encoded bytes or count what the target sends.

The handshake (RFC 4271 §4.2, §4.4, §8: OPEN, KEEPALIVE, Established) goes
through ``nexthop.bgp.wire`` (``build_open``, ``encode_message``,
``MessageReader``, ``negotiate``). Afterwards a reader thread drains the socket,
answers the keepalive timer and, for monitors, keeps the set of IPv4 NLRI the
target currently announces (withdrawals remove them), using the fast counter in
``benchmarks.bgpbytes`` so the monitor is not the bottleneck.
"""

from __future__ import annotations

import contextlib
import errno
import select
import socket
import threading
import time

from benchmarks.bgpbytes import count_update_nlri, keepalive, split_messages
from nexthop.bgp.constants import HEADER_LENGTH, MessageType
from nexthop.bgp.wire import (
    IPV4_UNICAST,
    Keepalive,
    MessageReader,
    Negotiated,
    Notification,
    Open,
    build_open,
    encode_message,
    negotiate,
)
from nexthop.net.prefix import parse_address

__all__ = ["HandshakeError", "Peer"]

HOLD_TIME = 240


class HandshakeError(RuntimeError):
    """The target closed the connection or sent a NOTIFICATION before Established."""


class Peer:
    """One BGP speaker on ``local_address``; the target connects to ``port``
    (``passive=True``) or we connect to the target."""

    def __init__(self, *, local_address: str, local_asn: int, count: bool = False) -> None:
        self.local_address = local_address
        self.local_asn = local_asn
        self.count_routes = count
        self.seen: set[bytes] = set()
        self.updates_received = 0
        self.negotiated: Negotiated | None = None
        self.error: str | None = None
        self._sock: socket.socket | None = None
        self._listener: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- connection set-up ----------------------------------------------------

    def listen(self, port: int, retry_for: float = 10.0) -> None:
        """Bind and listen; retry while the address is still in use (a previous
        run's sockets may take a moment to go away)."""
        deadline = time.monotonic() + retry_for
        while True:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind((self.local_address, port))
                break
            except OSError as exc:
                listener.close()
                if exc.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        listener.listen(4)
        self._listener = listener

    def accept(self, timeout: float) -> None:
        """Wait for the target's connection and complete the handshake."""
        assert self._listener is not None, "listen() first"
        self._listener.settimeout(timeout)
        sock, _ = self._listener.accept()
        self._listener.close()
        self._listener = None
        self._establish(sock, timeout)

    def connect(self, address: str, port: int, timeout: float) -> None:
        """Dial a passive target (retrying until ``timeout``) and complete the handshake."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock = socket.create_connection(
                    (address, port), timeout=5, source_address=(self.local_address, 0)
                )
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self._establish(sock, timeout)

    def _establish(self, sock: socket.socket, timeout: float) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(timeout)
        bgp_id = parse_address(self.local_address)[1]
        local = build_open(
            asn=self.local_asn,
            bgp_id=bgp_id,
            hold_time=HOLD_TIME,
            families=[IPV4_UNICAST],
            route_refresh=False,
            enhanced_route_refresh=False,
            extended_message=False,
        )
        sock.sendall(encode_message(local, Negotiated()))
        reader = MessageReader()
        pre = Negotiated()
        negotiated: Negotiated | None = None
        while True:
            header = _recv_exact(sock, HEADER_LENGTH)
            length = int.from_bytes(header[16:18], "big")
            reader.feed(header + _recv_exact(sock, length - HEADER_LENGTH))
            msg = reader.next_message(negotiated or pre)
            if isinstance(msg, Open):
                negotiated = negotiate(local, msg)
                sock.sendall(encode_message(Keepalive(), negotiated))
            elif isinstance(msg, Keepalive) and negotiated is not None:
                break
            elif isinstance(msg, Notification):
                msg_text = f"NOTIFICATION {msg.code}/{msg.subcode} {msg.data!r}"
                raise HandshakeError(msg_text)
        self.negotiated = negotiated
        self._sock = sock
        # Blocking socket: sendall() may wait on a slow target's back-pressure for
        # as long as it takes; the reader waits in select() instead of a timeout.
        sock.settimeout(None)
        self._thread = threading.Thread(target=self._read_loop, daemon=True)
        self._thread.start()

    # --- after Established -----------------------------------------------------

    def send(self, data: bytes) -> None:
        assert self._sock is not None
        with self._send_lock:
            self._sock.sendall(data)

    @property
    def count(self) -> int:
        return len(self.seen)

    def _read_loop(self) -> None:
        sock = self._sock
        assert sock is not None
        assert self.negotiated is not None
        interval = max(1, self.negotiated.keepalive_time or HOLD_TIME // 3)
        next_keepalive = time.monotonic() + interval
        buffer = bytearray()
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([sock], [], [], 1.0)
                data = sock.recv(1 << 20) if ready else None
            except (OSError, ValueError) as exc:  # ValueError: fd closed by close()
                self.error = f"socket error: {exc}"
                return
            if data == b"":
                self.error = "connection closed by target"
                return
            if data:
                buffer += data
                for msg_type, body in split_messages(buffer):
                    if msg_type == MessageType.UPDATE:
                        self.updates_received += 1
                        if self.count_routes:
                            count_update_nlri(body, self.seen)
                    elif msg_type == MessageType.NOTIFICATION:
                        self.error = f"NOTIFICATION {body[:2].hex()}"
            if time.monotonic() >= next_keepalive and self.negotiated.hold_time:
                with contextlib.suppress(OSError):
                    self.send(keepalive())
                next_keepalive = time.monotonic() + interval

    def close(self) -> None:
        self._stop.set()
        for sock in (self._sock, self._listener):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()
        if self._thread is not None:
            self._thread.join(timeout=3)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks: list[bytes] = []
    while n:
        data = sock.recv(n)
        if not data:
            msg = "connection closed during handshake"
            raise HandshakeError(msg)
        chunks.append(data)
        n -= len(data)
    return b"".join(chunks)
