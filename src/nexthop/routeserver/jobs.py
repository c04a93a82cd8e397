"""Stepped route-server jobs: the big bursts done a chunk of prefixes at a time.

Three things a route server does can touch the whole table at once:

* a newly Established client gets the whole Adj-RIB-Out, then End-of-RIB
  (RFC 4271 §9.2, RFC 4724 §2): a ``TableJob``;
* a ROUTE-REFRESH is answered with every route again (RFC 2918 §4), between
  BoRR and EoRR when enhanced route refresh was negotiated (RFC 7313 §4): a
  ``TableJob`` with ``resend``;
* a peer that goes down with a full table loses its Loc-RIB candidates and the
  other clients are sent the withdrawals or the next best routes (RFC 4271
  §9.1.3, §9.2): a ``WithdrawJob``.

A job is data: a cursor over the prefixes it still has to look at. The instance
(``RouteServerInstance.step``) runs one chunk: it computes the outbound table of
those prefixes *now* and sends each peer the difference to its Adj-RIB-Out, the
same ``sync_peer`` an UPDATE's propagation uses. Because every peer's
Adj-RIB-Out is the record of what it was told, UPDATEs handled between two
chunks stay correct (a prefix already sent is not sent again; one sent early by
an UPDATE's propagation is found unchanged by the job), and a peer's messages
stay in the order they were made: no withdrawal overtakes an announcement.

A ``TableJob`` belongs to one session of its peer (``session``, a number the
instance bumps whenever the peer comes up or goes down): once that session is
gone the job ends without sending anything, so a reconnecting peer never gets
a stale chunk; its new session gets a job of its own.

Sans-IO: nothing here knows about turns or clocks. The caller decides how many
prefixes a step may look at; without stepping the instance runs a job whole
within the call that made it (the model, the unit tests).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from nexthop.net.prefix import Prefix
from nexthop.routeserver.outputs import Output

__all__ = ["Job", "PrefixCursor", "TableJob", "WithdrawJob"]


class PrefixCursor:
    """Walks segments of prefixes (lists kept as given, never concatenated:
    a snapshot of a million Loc-RIB keys is not copied again), ``n`` at a time."""

    __slots__ = ("_position", "_segment", "_segments")

    def __init__(self, segments: Iterable[Sequence[Prefix]] = ()) -> None:
        self._segments = [s for s in segments if s]
        self._segment = 0
        self._position = 0

    @property
    def done(self) -> bool:
        return self._segment >= len(self._segments)

    @property
    def started(self) -> bool:
        return self._segment > 0 or self._position > 0

    def remaining(self) -> int:
        if self.done:
            return 0
        rest = sum(len(s) for s in self._segments[self._segment :])
        return rest - self._position

    def extend(self, prefixes: Sequence[Prefix]) -> None:
        if prefixes:
            self._segments.append(prefixes)

    def take(self, n: int | None) -> list[Prefix]:
        """The next ``n`` prefixes (all that are left with None)."""
        taken: list[Prefix] = []
        segments = self._segments
        while self._segment < len(segments) and (n is None or len(taken) < n):
            segment = segments[self._segment]
            end = len(segment) if n is None else self._position + n - len(taken)
            taken += segment[self._position : end]
            if end >= len(segment):
                segments[self._segment] = ()  # let the list go
                self._segment += 1
                self._position = 0
            else:
                self._position = end
        return taken


@dataclass(eq=False, slots=True, kw_only=True)
class TableJob:
    """Send ``peer`` (during session number ``session``) every prefix of
    ``cursor``: ``start`` before the first chunk, ``end`` after the last."""

    peer: str
    session: int
    cursor: PrefixCursor
    resend: bool = False  # route refresh: re-announce what the peer already holds
    start: list[Output] = field(default_factory=list)
    end: list[Output] = field(default_factory=list)


@dataclass(eq=False, slots=True, kw_only=True)
class WithdrawJob:
    """``peer`` went down: its Loc-RIB candidates (``removal``: path id ->
    prefixes) go a chunk at a time and each chunk is propagated; ``backlog``
    holds prefixes already removed (``flush``) and still to propagate."""

    peer: str
    removal: list[tuple[int, PrefixCursor]]
    backlog: PrefixCursor = field(default_factory=PrefixCursor)

    @property
    def removing(self) -> bool:
        return any(not cursor.done for _, cursor in self.removal)


Job = TableJob | WithdrawJob
