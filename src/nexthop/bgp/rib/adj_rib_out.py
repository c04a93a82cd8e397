"""Adj-RIB-Out: what one peer has been told (RFC 4271 §3.2, §9.1.3, §9.2).

Stored explicitly (BIRD ``out_table`` style) so a route server sends each client
only the difference between what it advertised and what it now wants to
advertise (RFC 4271 §9.2: "only the changes"). ``diff`` is pure; the owner
``apply``s the result once the UPDATEs are queued.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nexthop.bgp.wire.messages import PathAttributes
from nexthop.net.prefix import Prefix

__all__ = ["AdjRibOut", "Advertisement", "Diff", "apply_diff"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Advertisement:
    """The attributes and next hop(s) sent for a prefix (outbound policy already
    applied: NEXT_HOP, AS_PATH prepend). Hashable, so packing groups by it."""

    attributes: PathAttributes
    next_hops: tuple[int, ...]


Diff = tuple[dict[Prefix, Advertisement], tuple[Prefix, ...]]
"""(announce: prefix -> new advertisement, withdraw: prefixes to withdraw)."""


def apply_diff(
    state: Mapping[Prefix, Advertisement],
    announce: Mapping[Prefix, Advertisement],
    withdraw: Iterable[Prefix],
) -> dict[Prefix, Advertisement]:
    """The state a peer holds after receiving ``withdraw`` then ``announce``."""
    result = dict(state)
    for prefix in withdraw:
        result.pop(prefix, None)
    result.update(announce)
    return result


class AdjRibOut:
    """One peer's advertised state."""

    __slots__ = ("_advertised",)

    def __init__(self) -> None:
        self._advertised: dict[Prefix, Advertisement] = {}

    def diff(
        self,
        desired: Mapping[Prefix, Advertisement],
        only: Iterable[Prefix] | None = None,
    ) -> Diff:
        """Announce what is new or different, withdraw what is no longer wanted.

        With ``only``, just those prefixes are compared (incremental update
        after a Loc-RIB change); otherwise the whole table."""
        if only is None:
            scope: Iterable[Prefix] = set(self._advertised) | set(desired)
        else:
            scope = only
        announce: dict[Prefix, Advertisement] = {}
        withdraw: list[Prefix] = []
        for prefix in scope:
            want = desired.get(prefix)
            have = self._advertised.get(prefix)
            if want is None:
                if have is not None:
                    withdraw.append(prefix)
            elif want is not have and want != have:
                announce[prefix] = want
        withdraw.sort()
        return dict(sorted(announce.items())), tuple(withdraw)

    def diff_sourced(
        self,
        table: Mapping[Prefix, tuple[Advertisement, str]],
        exclude: str,
        gone: Iterable[Prefix] = (),
    ) -> Diff:
        """``diff(desired, only=table's prefixes + gone)`` where ``desired`` is
        ``table`` (prefix -> (advertisement, source)) without the entries whose
        source is ``exclude``: split horizon, a route never goes back to the
        peer it came from. ``gone``: prefixes with no route any more (withdrawn
        if held). One pass over the table, no ``desired`` dict per peer; the
        announcements are in table order rather than sorted (``pack_updates``
        sorts)."""
        advertised = self._advertised
        if not advertised:  # nothing to withdraw, everything to announce
            return {p: a for p, (a, src) in table.items() if src != exclude}, ()
        get_have = advertised.get
        announce: dict[Prefix, Advertisement] = {}
        withdraw = [prefix for prefix in gone if prefix in advertised]
        for prefix, (want, src) in table.items():
            have = get_have(prefix)
            if src == exclude:
                if have is not None:
                    withdraw.append(prefix)
            elif have is None or (want is not have and want != have):
                announce[prefix] = want
        withdraw.sort()
        return announce, tuple(withdraw)

    def apply(self, announce: Mapping[Prefix, Advertisement], withdraw: Iterable[Prefix]) -> None:
        """``apply_diff`` in place: O(size of the diff), not of the table."""
        advertised = self._advertised
        for prefix in withdraw:
            advertised.pop(prefix, None)
        advertised.update(announce)

    def clear(self) -> None:
        """Session down: the peer holds nothing from us any more."""
        self._advertised.clear()

    def advertised(self) -> dict[Prefix, Advertisement]:
        return dict(self._advertised)

    def get(self, prefix: Prefix) -> Advertisement | None:
        """What was sent for ``prefix`` (None: nothing), without copying the table."""
        return self._advertised.get(prefix)

    def prefixes(self) -> list[Prefix]:
        return list(self._advertised)

    def __len__(self) -> int:
        return len(self._advertised)
