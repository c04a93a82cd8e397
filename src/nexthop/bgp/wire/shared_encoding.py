"""Encode an UPDATE once for every session that sends it with the same parameters.

A route server hands the very same ``Update`` objects to several clients (the
packed UPDATEs of one round are shared between clients with identical changes).
Their octets depend only on what the OPEN exchange agreed on for encoding:

* 4-octet AS (RFC 6793 §4): AS_PATH/AGGREGATOR width, AS4_PATH/AS4_AGGREGATOR;
* ADD-PATH send per family (RFC 7911 §3): path identifiers before each prefix;
* extended message (RFC 8654 §4): the maximum length the message is checked against.

``SharedEncoder`` memoises ``encode_message`` by the ``Update``'s identity and
those parameters. An entry keeps its ``Update`` alive, so an identity cannot be
reused while its entry exists. The owner bounds the memo by octets (oldest
entries go first) and usually ``clear()``s it once a batch of sends is done.
"""

from __future__ import annotations

from nexthop.bgp.wire.codec import encode_message
from nexthop.bgp.wire.messages import Update
from nexthop.bgp.wire.negotiated import Family, Negotiated

__all__ = ["EncodingKey", "SharedEncoder", "encoding_key"]

EncodingKey = tuple[bool, frozenset[Family], bool]
DEFAULT_LIMIT = 1 << 24  # octets of encoded UPDATEs held at most


def encoding_key(negotiated: Negotiated) -> EncodingKey:
    """Every ``Negotiated`` field an UPDATE's encoding reads."""
    return (negotiated.asn4, negotiated.add_path_send, negotiated.extended_message)


class SharedEncoder:
    """``encode_message`` for UPDATEs, once per (``Update`` object, encoding key)."""

    __slots__ = ("_entries", "_octets", "encoded", "limit", "reused")

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._entries: dict[tuple[int, EncodingKey], tuple[Update, bytes]] = {}
        self._octets = 0
        self.encoded = 0  # messages encoded
        self.reused = 0  # messages handed out again without encoding

    def __len__(self) -> int:
        return len(self._entries)

    def message(self, update: Update, negotiated: Negotiated) -> bytes:
        """The full UPDATE message for a session with ``negotiated``; raises
        ``LocalProtocolError`` like ``encode_message`` (nothing is memoised then)."""
        key = (id(update), encoding_key(negotiated))
        entry = self._entries.get(key)
        if entry is not None:
            self.reused += 1
            return entry[1]
        data = encode_message(update, negotiated)
        self.encoded += 1
        self._entries[key] = (update, data)
        self._octets += len(data)
        if self._octets > self.limit:
            self._evict()
        return data

    def clear(self) -> None:
        self._entries.clear()
        self._octets = 0

    def _evict(self) -> None:
        entries = self._entries
        while self._octets > self.limit and entries:
            _update, data = entries.pop(next(iter(entries)))
            self._octets -= len(data)
