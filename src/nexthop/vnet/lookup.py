"""Next hop lookup over a NIC's effective routes: longest prefix match on Active routes.

route-server-spec §2, "Selection": longest prefix match first; the source
precedence (User > BGP > system, with the VNet/peering exception) has already
chosen one ``Active`` route per prefix in ``nexthop.vnet.effective``, so a lookup
is one ``PrefixTrie.longest_match``. Decisions are built once per route when the
index is compiled, so a lookup allocates nothing.

A ``None`` next hop type (or no matching route at all) means the packet is
dropped. With several next hops (BGP ECMP, spec §1.5) the VM host picks one per
flow; which one is left to the caller because the hash inputs are unconfirmed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from nexthop.net.prefix import Afi, Prefix, format_address, parse_address
from nexthop.net.trie import PrefixTrie
from nexthop.vnet.model import EffectiveRoute, NextHopType, RouteSource, RouteState

__all__ = [
    "NO_ROUTE",
    "LookupIndex",
    "RouteDecision",
    "compile_routes",
    "next_hop",
    "parse_destination",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteDecision:
    """Where a packet goes: the Active route chosen by longest prefix match.

    ``overridden`` counts the Invalid routes this route won against; ``reason``
    (computed on access, so compiling 100,000 routes stays cheap) explains it.
    """

    prefix: Prefix | None
    source: RouteSource | None
    next_hop_type: NextHopType
    next_hop_ips: tuple[int, ...]
    route_name: str | None
    overridden: int = 0

    @property
    def dropped(self) -> bool:
        return self.next_hop_type == NextHopType.NONE

    def next_hop_texts(self) -> list[str]:
        if self.prefix is None:
            return []
        return [format_address(self.prefix.afi, ip) for ip in self.next_hop_ips]

    def pick(self, flow_hash: int) -> int | None:
        """One next hop for a flow: ``next_hop_ips[flow_hash % n]``, or None.

        The VM host spreads ECMP per flow (spec §2 "ECMP"); the hash inputs are
        unconfirmed, so the caller supplies the flow hash.
        """
        if not self.next_hop_ips:
            return None
        return self.next_hop_ips[flow_hash % len(self.next_hop_ips)]

    @property
    def reason(self) -> str:
        if self.prefix is None:
            return "no route matches the destination: dropped"
        label = f"{self.source!s} route" + (f" {self.route_name!r}" if self.route_name else "")
        target = str(self.next_hop_type)
        hops = self.next_hop_texts()
        if hops:
            target += " " + ", ".join(hops)
            if len(hops) > 1:
                target += f" (ECMP over {len(hops)} next hops)"
        reason = f"longest prefix match {self.prefix}: {label} -> {target}"
        if self.overridden:
            reason += f"; it overrides {self.overridden} other route(s)"
        if self.dropped:
            reason += "; next hop type None drops the packet"
        return reason


NO_ROUTE = RouteDecision(
    prefix=None,
    source=None,
    next_hop_type=NextHopType.NONE,
    next_hop_ips=(),
    route_name=None,
)


class LookupIndex:
    """The compiled lookup table of one subnet's effective routes."""

    __slots__ = ("_trie",)

    def __init__(self, routes: Iterable[EffectiveRoute]) -> None:
        active: list[EffectiveRoute] = []
        overridden: Counter[Prefix] = Counter()
        for route in routes:
            if route.state == RouteState.ACTIVE:
                active.append(route)
            elif route.overridden_by is not None:
                overridden[route.overridden_by] += 1
        self._trie: PrefixTrie[RouteDecision] = PrefixTrie()
        insert = self._trie.insert
        for route in active:
            size = len(self._trie)
            insert(
                route.prefix,
                RouteDecision(
                    prefix=route.prefix,
                    source=route.source,
                    next_hop_type=route.next_hop_type,
                    next_hop_ips=route.next_hop_ips,
                    route_name=route.name,
                    overridden=overridden.get(route.prefix, 0),
                ),
            )
            if len(self._trie) == size:
                msg = f"routes: two Active routes for {route.prefix}"
                raise ValueError(msg)

    def __len__(self) -> int:
        return len(self._trie)

    def lookup(self, afi: int, address: int) -> RouteDecision:
        """The decision for ``address`` of family ``afi`` (the fast path)."""
        match = self._trie.longest_match(afi, address)
        return NO_ROUTE if match is None else match[1]


def compile_routes(routes: Iterable[EffectiveRoute]) -> LookupIndex:
    return LookupIndex(routes)


def parse_destination(destination_ip: str | tuple[int, int]) -> tuple[int, int]:
    """``(afi, address)`` from text ("10.0.0.4", "2001:db8::1") or ``(afi, int)``."""
    if isinstance(destination_ip, str):
        return parse_address(destination_ip)
    afi, address = destination_ip
    if afi not in (Afi.IPV4, Afi.IPV6):
        msg = f"destination_ip: unknown address family {afi}"
        raise ValueError(msg)
    return afi, address


def next_hop(index: LookupIndex, destination_ip: str | tuple[int, int]) -> RouteDecision:
    """Decide where a packet to ``destination_ip`` goes.

    ``destination_ip`` is text ("10.0.0.4", "2001:db8::1") or ``(afi, int)``.
    """
    return index.lookup(*parse_destination(destination_ip))
