"""Choosing among a prefix's paths on one instance (route-server-spec §1.5).

Hub routing preference ranks the source kinds (NVA, ExpressRoute, VPN) and
only the top rank competes; ``decision.best`` breaks the tie. ``Selection``
owns the Loc-RIB it selects for, and also gives the NVA offer: the best path
among NVA paths only, which is what NVAs (and, with branch-to-branch, the
gateways) are offered when a gateway path wins; ``outbound_path`` is the path
NVAs are offered for one prefix.
"""

from __future__ import annotations

from collections.abc import Sequence

from nexthop.bgp.rib import decision
from nexthop.bgp.rib.decision import Reason
from nexthop.bgp.rib.loc_rib import LocRib
from nexthop.bgp.rib.path import Route
from nexthop.net.prefix import Prefix
from nexthop.routeserver import rules
from nexthop.routeserver.config import HubRoutingPreference
from nexthop.routeserver.rules import GatewayKind, SourceKind

__all__ = ["Selection"]


class Selection:
    """The Loc-RIB of one instance and how it selects. ``gateways``: the
    gateways' names and kinds (every other source is an NVA), kept up to date
    by the instance; ``preference``: the configured hub routing preference."""

    __slots__ = ("gateways", "loc_rib", "preference")

    def __init__(self, preference: HubRoutingPreference) -> None:
        self.preference = preference
        self.gateways: dict[str, GatewayKind] = {}
        self.loc_rib = LocRib(self.select)

    def kind(self, path: Route) -> SourceKind:
        return self.gateways.get(path.source, SourceKind.NVA)

    def by_preference(self, paths: Sequence[Route]) -> list[Route]:
        """Hub routing preference between source kinds (route-server-spec §1.5)."""
        if not self.gateways:
            return list(paths)
        pref = self.preference
        ranks = [rules.source_rank(self.kind(p), pref) for p in paths]
        top = min(ranks)
        return [p for p, rank in zip(paths, ranks, strict=True) if rank == top]

    def select(self, paths: Sequence[Route]) -> tuple[Route, Reason]:
        if len(paths) == 1:  # what decision.best says of a single path
            return paths[0], Reason.ONLY_PATH
        return decision.best(self.by_preference(paths))

    def nva_offer(self, prefix: Prefix) -> Route | None:
        """The best path among NVA paths only, unless it is NO_ADVERTISE."""
        nva = [p for p in self.loc_rib.routes(prefix) if p.source not in self.gateways]
        if not nva:
            return None
        path, _ = decision.best(nva)
        return None if rules.is_no_advertise(path.attributes) else path

    def outbound_path(self, prefix: Prefix, branch_to_branch: bool) -> Route | None:
        """The path NVAs are offered for ``prefix``: the best among NVA paths
        (plus gateway paths with ``branch_to_branch``), never NO_ADVERTISE.
        Split horizon (not back to its source) is applied per peer."""
        path = self.loc_rib.best_route(prefix)
        if path is None:
            return None
        if path.source in self.gateways and not branch_to_branch:
            return self.nva_offer(prefix)
        return None if rules.is_no_advertise(path.attributes) else path
