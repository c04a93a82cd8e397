"""One subnet's effective routes and lookups over its VNet's BGP indexes (spec §2).

The static part (system routes of the VNet and its peerings, the route table's
user routes) is small and rebuilt on structural changes; the BGP part is read from
the ``BgpIndex`` of each route server that reaches the subnet (its own VNet's and a
gateway-transit hub's, spec §1.6 "Scope") at query time, never copied per subnet.

Lookup (spec §2 "Selection"): the longest match among the static routes that are
Active among themselves (a user route beats a system route of the same prefix, the
first of duplicate system routes stays) against the longest BGP match. The BGP
route wins when it is longer, or equally long against a system route; it never
wins when it lies inside a ``VnetLocal``/``VNetPeering`` system route (then every
BGP route at least as long as that system route is inside it too, so the static
match stands) nor against a user route of the same prefix. ``overridden`` counts
the Invalid rows whose ``overridden_by`` is the winner's prefix, as
``LookupIndex`` does over the full list: the system rows of that prefix, plus the
BGP rows a guarding system route (or a user route of its prefix) overrides.

Rows are listed system, BGP, user, as ``compute_effective_routes`` (the
whole-table reference) lists them; BGP rows sorted by prefix, the ECMP next hops of
a prefix programmed by two route servers merged (own VNet's first).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from itertools import islice

from nexthop.net.prefix import Prefix
from nexthop.net.trie import PrefixTrie
from nexthop.vnet.bgp_index import BgpIndex
from nexthop.vnet.effective import (
    BGP_SAME_PREFIX,
    EARLIER_SYSTEM_SAME_PREFIX,
    GUARDING_TYPES,
    guarded_reason,
    user_same_prefix_reason,
)
from nexthop.vnet.lookup import RouteDecision
from nexthop.vnet.model import (
    EffectiveRoute,
    NextHopType,
    Route,
    RouteSource,
    RouteState,
    RouteTable,
    VirtualNetwork,
)
from nexthop.vnet.system_routes import system_routes

__all__ = ["SubnetRoutes"]

Hops = tuple[int, ...]


class SubnetRoutes:
    """The effective routes of every NIC of one subnet."""

    __slots__ = (
        "_guards",
        "_static",
        "_system_count",
        "disable",
        "sources",
        "system",
        "user",
        "user_by_prefix",
    )

    def __init__(
        self,
        vnet: VirtualNetwork,
        peered: list[VirtualNetwork],
        table: RouteTable | None,
        sources: tuple[BgpIndex, ...],
    ) -> None:
        self.disable = table.disable_bgp_route_propagation if table else False
        self.sources = () if self.disable else sources
        self.system = system_routes(vnet, peered)
        self.user: tuple[Route, ...] = table.routes if table else ()
        self.user_by_prefix = {route.address_prefix: route for route in self.user}
        self._guards: PrefixTrie[None] = PrefixTrie()
        for route in self.system:
            if route.next_hop_type in GUARDING_TYPES:
                self._guards.insert(route.prefix, None)
        self._system_count = Counter(route.prefix for route in self.system)
        # Static routes Active among themselves -> their decision (the overridden
        # count here leaves out the BGP rows, added at lookup).
        self._static: PrefixTrie[RouteDecision] = PrefixTrie()
        for user in self.user:
            self._static.insert(
                user.address_prefix,
                RouteDecision(
                    prefix=user.address_prefix,
                    source=RouteSource.USER,
                    next_hop_type=user.next_hop_type,
                    next_hop_ips=() if user.next_hop_ip is None else (user.next_hop_ip,),
                    route_name=user.name,
                    overridden=self._system_count[user.address_prefix],
                ),
            )
        for route in self.system:
            if route.prefix in self._static:
                continue
            self._static.insert(
                route.prefix,
                RouteDecision(
                    prefix=route.prefix,
                    source=RouteSource.DEFAULT,
                    next_hop_type=route.next_hop_type,
                    next_hop_ips=(),
                    route_name=None,
                    overridden=self._system_count[route.prefix] - 1,
                ),
            )

    # -- BGP over the sources ------------------------------------------------------

    def bgp_hops(self, prefix: Prefix) -> Hops:
        """The merged ECMP next hops programmed for exactly ``prefix`` (or ``()``)."""
        merged: Hops = ()
        for source in self.sources:
            hops = source.routes.get(prefix)
            if hops:
                merged = hops if not merged else tuple(dict.fromkeys(merged + hops))
        return merged

    def _guarded(self, prefix: Prefix) -> Prefix | None:
        covering = self._guards.covering(prefix)
        return covering[-1][0] if covering else None

    def _bgp_active(self, prefix: Prefix) -> bool:
        return (
            bool(self.bgp_hops(prefix))
            and prefix not in self.user_by_prefix
            and self._guarded(prefix) is None
        )

    def _bgp_inside(self, space: Prefix | None) -> Iterator[Prefix]:
        """BGP prefixes (inside ``space`` when given) in order, each once."""
        if len(self.sources) == 1:
            source = self.sources[0]
            return iter(source.order) if space is None else source.inside(space)
        streams = [
            iter(source.order) if space is None else source.inside(space) for source in self.sources
        ]
        return _unique_sorted(heapq.merge(*streams))

    def bgp_count(self, space: Prefix | None) -> int:
        if len(self.sources) == 1:
            order = self.sources[0].order
            return len(order) if space is None else order.within(space)[1]
        return sum(1 for _ in self._bgp_inside(space))

    def _bgp_page(self, space: Prefix | None, skip: int, top: int) -> list[Prefix]:
        if len(self.sources) == 1:
            order = self.sources[0].order
            start, count = (0, len(order)) if space is None else order.within(space)
            take = max(0, min(top, count - skip))
            return list(islice(order.iter_from(start + skip), take))
        return list(islice(self._bgp_inside(space), skip, skip + top))

    # -- rows --------------------------------------------------------------------------

    def bgp_row(self, prefix: Prefix) -> EffectiveRoute:
        state, reason, winner = RouteState.ACTIVE, "", None
        guard = self._guarded(prefix)
        if guard is not None:
            state, winner, reason = RouteState.INVALID, guard, guarded_reason(guard)
        elif prefix in self.user_by_prefix:
            state, winner = RouteState.INVALID, prefix
            reason = user_same_prefix_reason(self.user_by_prefix[prefix].name)
        return EffectiveRoute(
            prefix=prefix,
            source=RouteSource.VIRTUAL_NETWORK_GATEWAY,
            state=state,
            next_hop_type=NextHopType.VIRTUAL_NETWORK_GATEWAY,
            next_hop_ips=self.bgp_hops(prefix),
            disable_bgp_route_propagation=self.disable,
            reason=reason,
            overridden_by=winner,
        )

    def system_rows(self) -> list[EffectiveRoute]:
        rows: list[EffectiveRoute] = []
        seen: set[Prefix] = set()
        for route in self.system:
            prefix = route.prefix
            state, reason, winner = RouteState.ACTIVE, "", None
            if prefix in self.user_by_prefix:
                state, winner = RouteState.INVALID, prefix
                reason = user_same_prefix_reason(self.user_by_prefix[prefix].name)
            elif self._bgp_active(prefix):
                state, winner, reason = RouteState.INVALID, prefix, BGP_SAME_PREFIX
            elif prefix in seen:
                state, winner, reason = RouteState.INVALID, prefix, EARLIER_SYSTEM_SAME_PREFIX
            seen.add(prefix)
            rows.append(
                replace(
                    route,
                    state=state,
                    disable_bgp_route_propagation=self.disable,
                    reason=reason,
                    overridden_by=winner,
                )
            )
        return rows

    def user_rows(self) -> list[EffectiveRoute]:
        return [
            EffectiveRoute(
                prefix=route.address_prefix,
                source=RouteSource.USER,
                state=RouteState.ACTIVE,
                next_hop_type=route.next_hop_type,
                next_hop_ips=() if route.next_hop_ip is None else (route.next_hop_ip,),
                name=route.name,
                disable_bgp_route_propagation=self.disable,
            )
            for route in self.user
        ]

    def rows(self) -> list[EffectiveRoute]:
        """Every row: system, BGP (sorted by prefix), user."""
        rows = self.system_rows()
        rows.extend(self.bgp_row(prefix) for prefix in self._bgp_inside(None))
        rows.extend(self.user_rows())
        return rows

    def page(
        self, space: Prefix | None, skip: int, top: int | None
    ) -> tuple[list[EffectiveRoute], int]:
        """Rows inside ``space`` (all when None) from ``skip``, at most ``top``,
        and how many rows there are in all; the BGP part costs O(log n + top)."""
        system = [r for r in self.system_rows() if space is None or space.contains(r.prefix)]
        user = [r for r in self.user_rows() if space is None or space.contains(r.prefix)]
        n_bgp = self.bgp_count(space)
        total = len(system) + n_bgp + len(user)
        want = total if top is None else top
        rows = system[skip : skip + want]
        bgp_skip = max(0, skip - len(system))
        need = want - len(rows)
        if need > 0 and bgp_skip < n_bgp:
            rows.extend(self.bgp_row(p) for p in self._bgp_page(space, bgp_skip, need))
        need = want - len(rows)
        if need > 0:
            user_skip = max(0, skip - len(system) - n_bgp)
            rows.extend(user[user_skip : user_skip + need])
        return rows, total

    # -- lookup ------------------------------------------------------------------------

    def _bgp_longest(self, afi: int, address: int) -> Prefix | None:
        best: Prefix | None = None
        for source in self.sources:
            match = source.routes.longest_prefix(afi, address)
            if match is not None and (best is None or match.length > best.length):
                best = match
        return best

    def decide(self, afi: int, address: int) -> RouteDecision | None:
        """The decision for ``address`` (None: no route matches, dropped)."""
        static = self._static.longest_match(afi, address)
        bgp = self._bgp_longest(afi, address) if self.sources else None
        if (
            bgp is not None
            and (
                static is None
                or bgp.length > static[0].length
                or (bgp.length == static[0].length and static[1].source == RouteSource.DEFAULT)
            )
            and self._guarded(bgp) is None
        ):
            return RouteDecision(
                prefix=bgp,
                source=RouteSource.VIRTUAL_NETWORK_GATEWAY,
                next_hop_type=NextHopType.VIRTUAL_NETWORK_GATEWAY,
                next_hop_ips=self.bgp_hops(bgp),
                route_name=None,
                overridden=self._system_count[bgp],
            )
        if static is None:
            return None
        prefix, decision = static
        extra = self._bgp_overridden_by(prefix)
        return replace(decision, overridden=decision.overridden + extra) if extra else decision

    def _bgp_overridden_by(self, prefix: Prefix) -> int:
        """BGP rows whose ``overridden_by`` is ``prefix`` (a static winner)."""
        if not self.sources:
            return 0
        if prefix in self._guards:  # VNet and peering ranges do not overlap
            return self.bgp_count(prefix)
        if prefix in self.user_by_prefix and self._guarded(prefix) is None:
            return 1 if self.bgp_hops(prefix) else 0
        return 0


def _unique_sorted(stream: Iterator[Prefix]) -> Iterator[Prefix]:
    last: Prefix | None = None
    for prefix in stream:
        if prefix != last:
            yield prefix
            last = prefix
