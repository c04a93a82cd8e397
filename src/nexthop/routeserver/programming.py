"""What an instance programs into the VNet: per prefix the distinct ECMP next
hops of its candidates (route-server-spec §1.5), and which prefixes changed.

Hub routing preference picks the candidates' source kind first, then equal
AS_PATH length makes the ECMP set; identical next hops from several NVAs
collapse to one. Prefixes outside the VNet's address spaces (when any are
configured) are not programmed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from nexthop.bgp.rib import decision
from nexthop.bgp.rib.path import Route
from nexthop.net.prefix import Prefix
from nexthop.routeserver import rules

__all__ = ["ByPreference", "Programming", "programme"]

ByPreference = Callable[[Sequence[Route]], list[Route]]
"""Keeps the paths of the preferred source kind (hub routing preference)."""


def programme(
    prefix: Prefix, candidates: list[Route], spaces: tuple[Prefix, ...], by_preference: ByPreference
) -> tuple[int, ...]:
    """ECMP next hops for the VNet from ``prefix``'s candidates (one or
    more): preference, then equal AS_PATH length; identical next hops from
    several NVAs collapse to one. ``spaces``: the configuration's
    ``local_prefixes``."""
    if spaces and not rules.injectable(prefix, spaces):
        return ()
    if len(candidates) == 1:
        hops = candidates[0].next_hops
        return hops[:1]
    chosen = decision.ecmp_set(by_preference(candidates))
    return tuple(sorted({p.next_hops[0] for p in chosen if p.next_hops}))


class Programming:
    """Prefix -> programmed next hops, and the prefixes whose programming
    changed since the last drain."""

    __slots__ = ("changes", "programmed")

    def __init__(self) -> None:
        self.programmed: dict[Prefix, tuple[int, ...]] = {}
        # Insertion-ordered (a dict used as a set), so sorting it is cheap
        # when the changes were made in prefix order.
        self.changes: dict[Prefix, None] = {}

    def drain(self) -> list[Prefix]:
        """Prefixes whose programming changed since the last drain, each once,
        in the order they changed."""
        changed, self.changes = self.changes, {}
        return list(changed)

    def reprogram(
        self,
        prefixes: list[Prefix],
        held_routes: Iterable[Route | list[Route] | None],
        spaces: tuple[Prefix, ...],
        by_preference: ByPreference,
    ) -> None:
        """Update ``prefixes`` from their Loc-RIB candidates (``held_routes``,
        in the same order: none, one route, or a list of several)."""
        programmed = self.programmed
        changes = self.changes
        for prefix, held in zip(prefixes, held_routes, strict=True):
            if held is None:  # no candidate left: no range check needed
                if programmed.pop(prefix, None) is not None:
                    changes[prefix] = None
                continue
            if isinstance(held, list):
                hops = programme(prefix, held, spaces, by_preference)
            elif spaces:
                hops = programme(prefix, [held], spaces, by_preference)
            else:  # one candidate and no VNet range to check against: its first next hop
                hops = held.next_hops[:1]
            if hops == programmed.get(prefix, ()):
                continue
            if hops:
                programmed[prefix] = hops
            else:
                del programmed[prefix]
            changes[prefix] = None
