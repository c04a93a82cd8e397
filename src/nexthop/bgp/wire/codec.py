"""Whole messages: ``encode_message``, ``decode_message`` and ``MessageReader``.

RFC 4271 §4 (message types and framing). The reader follows h11's shape: bytes
go in with ``feed()``, and ``next_message()`` returns one decoded message or None
when more bytes are needed, so a stream split at any octet yields the same
messages. Decoding dispatches on the type through one table.
"""

from __future__ import annotations

from collections.abc import Callable

from nexthop.bgp.constants import HEADER_LENGTH, MARKER, MessageType
from nexthop.bgp.wire.errors import LocalProtocolError
from nexthop.bgp.wire.framing import LENGTH_BOUNDS, bad_length, encode_header, parse_header
from nexthop.bgp.wire.messages import (
    Keepalive,
    Message,
    Notification,
    Open,
    RouteRefresh,
    Update,
)
from nexthop.bgp.wire.negotiated import Negotiated
from nexthop.bgp.wire.notification import (
    decode_notification,
    decode_route_refresh,
    encode_notification,
    encode_route_refresh,
)
from nexthop.bgp.wire.open import decode_open, encode_open
from nexthop.bgp.wire.update import AttributeCache, decode_update, encode_update

__all__ = ["MessageReader", "decode_message", "encode_message"]

_Decoder = Callable[[bytes, Negotiated, "AttributeCache | None"], Message]

_DECODERS: dict[int, _Decoder] = {
    MessageType.OPEN: lambda body, _n, _c: decode_open(body),
    MessageType.UPDATE: decode_update,
    MessageType.NOTIFICATION: lambda body, _n, _c: decode_notification(body),
    MessageType.KEEPALIVE: lambda _body, _n, _c: Keepalive(),
    MessageType.ROUTE_REFRESH: lambda body, _n, _c: decode_route_refresh(body),
}


_UPDATE = int(MessageType.UPDATE)
_UPDATE_MIN = LENGTH_BOUNDS[MessageType.UPDATE][0]


def _body(msg: Message, n: Negotiated) -> tuple[int, bytes]:
    match msg:
        case Update():
            return MessageType.UPDATE, encode_update(msg, n)
        case Keepalive():
            return MessageType.KEEPALIVE, b""
        case Open():
            return MessageType.OPEN, encode_open(msg)
        case Notification():
            return MessageType.NOTIFICATION, encode_notification(msg)
        case RouteRefresh():
            return MessageType.ROUTE_REFRESH, encode_route_refresh(msg)
    msg_type = type(msg).__name__  # pragma: no cover - exhaustive match above
    raise TypeError(msg_type)  # pragma: no cover


def encode_message(msg: Message, negotiated: Negotiated) -> bytes:
    """The full message with its header. Raises ``LocalProtocolError`` when it
    would exceed the negotiated maximum length (RFC 8654)."""
    msg_type, body = _body(msg, negotiated)
    # OPEN and KEEPALIVE keep their fixed limits (RFC 8654 §4), the same table the reader checks.
    maximum = LENGTH_BOUNDS[msg_type][1] or negotiated.max_message_length
    if HEADER_LENGTH + len(body) > maximum:
        text = f"{MessageType(msg_type).name} of {HEADER_LENGTH + len(body)} octets > {maximum}"
        raise LocalProtocolError(text)
    return encode_header(msg_type, len(body)) + body


def decode_message(
    data: bytes, negotiated: Negotiated, cache: AttributeCache | None = None
) -> Message:
    """Decode exactly one complete message (header included).

    Raises ``MessageError`` (with the NOTIFICATION RFC 4271 §6.1 asks for) and
    nothing else, whatever ``data`` holds: a buffer shorter than the 19-octet
    header is a Bad Message Length whose data is the buffer's length."""
    if len(data) < HEADER_LENGTH:
        raise bad_length(
            len(data), f"{len(data)} octets is shorter than the {HEADER_LENGTH}-octet header"
        )
    length, msg_type = parse_header(data[:HEADER_LENGTH], negotiated)
    if length != len(data):
        raise bad_length(length, f"header says {length} octets, got {len(data)}")
    return _DECODERS[msg_type](bytes(data[HEADER_LENGTH:]), negotiated, cache)


class MessageReader:
    """Incremental reader: ``feed()`` bytes, then call ``next_message()`` until None.

    With ``intern_attributes=True`` identical attribute bytes across UPDATEs
    decode to the same ``PathAttributes`` object (memory and identity compares
    in the RIBs). After a ``MessageError`` from a bad header the stream cannot be
    resynchronised; the session is expected to send the NOTIFICATION and close.
    A body error has already consumed its message.

    The buffer is immutable ``bytes``: a read that starts on a message boundary
    is kept as it is (no copy), and each message body is one slice of it."""

    __slots__ = ("_buffer", "_cache", "_position")

    def __init__(self, *, intern_attributes: bool = False, intern_limit: int = 1 << 16) -> None:
        self._buffer = b""
        self._position = 0
        self._cache = AttributeCache(intern_limit) if intern_attributes else None

    @property
    def interned(self) -> int:
        """How many attribute sets the interning cache holds (0 when disabled)."""
        return 0 if self._cache is None else len(self._cache)

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if self._position >= len(self._buffer):
            self._buffer = bytes(data)  # no copy when it is bytes already
        else:
            self._buffer = self._buffer[self._position :] + data
        self._position = 0

    @property
    def buffered(self) -> int:
        """Octets received but not yet returned as messages."""
        return len(self._buffer) - self._position

    def next_message(self, negotiated: Negotiated) -> Message | None:
        buf, start = self._buffer, self._position
        available = len(buf) - start
        if available < HEADER_LENGTH:
            return None
        length = (buf[start + 16] << 8) | buf[start + 17]
        msg_type = buf[start + 18]
        # An UPDATE whose header is plainly valid skips the general header check.
        plain_update = (
            msg_type == _UPDATE
            and _UPDATE_MIN <= length <= negotiated.max_message_length
            and buf.startswith(MARKER, start)
        )
        if not plain_update:
            length, msg_type = parse_header(buf[start : start + HEADER_LENGTH], negotiated)
        if available < length:
            return None
        self._position = start + length
        body = buf[start + HEADER_LENGTH : start + length]
        if plain_update:
            return decode_update(body, negotiated, self._cache)
        return _DECODERS[msg_type](body, negotiated, self._cache)
