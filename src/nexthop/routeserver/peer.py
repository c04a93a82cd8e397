"""One peering's state inside an instance, and storing what it sends us.

``Peer`` holds the Adj-RIB-In, the Adj-RIB-Out, the negotiated session and the
counters its status view shows. ``import_runs`` stores the NLRI of one UPDATE
in the peer's Adj-RIB-In and the accepted paths in the Loc-RIB (import policy
decided once per UPDATE when it looks at the attributes only); ``over_limit``
is the max-prefix check made before anything is stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from nexthop.bgp.rib.adj_rib_in import AdjRibIn, AttributePolicy, Change, ImportPolicy
from nexthop.bgp.rib.adj_rib_out import AdjRibOut
from nexthop.bgp.rib.loc_rib import LocRib
from nexthop.bgp.rib.path import Route
from nexthop.bgp.wire.messages import PathAttributes
from nexthop.bgp.wire.negotiated import Negotiated
from nexthop.net.prefix import Prefix
from nexthop.routeserver.config import PeeringConfig
from nexthop.routeserver.inbound import AnnouncedRun
from nexthop.routeserver.views import PeeringState, PeeringStatus

__all__ = ["Peer", "Runs", "apply_change", "import_runs", "over_limit"]

Runs = list[tuple[Sequence[Prefix], Route]]
"""NLRI of one UPDATE: runs of prefixes that share one route (path id, next hops)."""


class Peer:
    """Mutable per-peering state of one instance."""

    __slots__ = (
        "address",
        "adj_in",
        "adj_out",
        "config",
        "established_at",
        "idle_hold_until",
        "last_error",
        "max_prefix_events",
        "negotiated",
        "refresh_due",
        "refresh_next",
        "refreshes_merged",
        "routes_not_sent",
        "updates_received",
    )

    def __init__(self, config: PeeringConfig) -> None:
        self.config = config
        self.address = config.address  # parsed once, not per path
        self.adj_in = AdjRibIn()
        self.adj_out = AdjRibOut()
        self.negotiated: Negotiated | None = None
        self.established_at: float | None = None
        self.idle_hold_until: float | None = None
        self.last_error = ""
        self.max_prefix_events = 0
        self.updates_received = 0
        self.routes_not_sent = 0  # announcements that did not fit (RFC 4271 §9.2)
        # ROUTE-REFRESH answers (``instance.route_refresh``): the earliest time
        # of the next, the time a deferred one is due (None: none waits), and
        # how many requests were merged into a waiting one.
        self.refresh_next = float("-inf")
        self.refresh_due: float | None = None
        self.refreshes_merged = 0

    @property
    def established(self) -> bool:
        return self.negotiated is not None

    def status(self, role: str) -> PeeringStatus:
        """This peering's status on instance ``role``."""
        adj_in = self.adj_in
        return PeeringStatus(
            instance=role,
            peering=self.config.name,
            state=PeeringState.ESTABLISHED if self.established else PeeringState.IDLE,
            received_routes=adj_in.received_count,
            accepted_routes=adj_in.accepted_count,
            rejected_routes=adj_in.received_count - adj_in.accepted_count,
            advertised_routes=len(self.adj_out),
            updates_received=self.updates_received,
            max_prefix_events=self.max_prefix_events,
            routes_not_sent=self.routes_not_sent,
            last_error=self.last_error,
            established_at=self.established_at,
            idle_hold_until=self.idle_hold_until,
        )


def apply_change(loc_rib: LocRib, source: str, change: Change) -> None:
    """Carry one Adj-RIB-In change from ``source`` over to the Loc-RIB."""
    prefix, path_id = change.key
    if change.after is not None:
        loc_rib.add(change.after)
    elif change.before is not None:
        loc_rib.discard(prefix, source, path_id)


def import_runs(
    peer: Peer, policy: ImportPolicy, loc_rib: LocRib, attrs: PathAttributes, runs: Runs
) -> Runs:
    """Store the NLRI of one UPDATE (runs of prefixes sharing a route) in
    ``peer``'s Adj-RIB-In and the accepted ones in the Loc-RIB; returns the
    accepted runs. An attributes-only policy decides once for the UPDATE;
    any other policy is asked per path."""
    name = peer.config.name
    adj_in = peer.adj_in
    if isinstance(policy, AttributePolicy):
        verdict = policy.by_attributes(attrs)
        if verdict is not None or policy.per_path is None:
            for prefixes, route in runs:
                displaced = adj_in.update_many(prefixes, route, verdict)
                if verdict is None:
                    loc_rib.add_many(prefixes, route)
                else:  # rejected: the accepted paths it replaced leave the Loc-RIB
                    for prefix in displaced:
                        loc_rib.discard(prefix, name, route.path_id)
            return runs if verdict is None else []
        policy = policy.per_path  # the attributes passed: the rest is per path
    accepted: Runs = []
    for prefixes, route in runs:
        kept: list[Prefix] = []
        for prefix in prefixes:
            change = adj_in.update(route.at(prefix), policy)
            apply_change(loc_rib, name, change)
            if change.after is not None:
                kept.append(prefix)
        if kept:
            accepted.append((kept, route))
    return accepted


def over_limit(
    peer: Peer,
    limit: int,
    count_readvertised: bool,
    announced: list[AnnouncedRun],
    withdrawn: list[tuple[Prefix, int]],
    *,
    stored: bool = True,
) -> bool:
    """Azure FAQ counting (``count_readvertised``): routes held plus routes in
    this UPDATE (a re-sent prefix counts twice). Beyond the cloud: unique
    prefixes after the UPDATE.

    Only routes Azure stores count (spec §1.3, §1.11: looped routes are dropped
    before they are stored): the held routes are the accepted ones, and an UPDATE
    whose routes are refused as a whole (``stored`` false: AS_PATH holding 65515,
    AS 0, treat-as-withdraw) adds none. Without this, an FRR NVA that reflects
    the VNet range back (path ``65001 65515``) next to exactly 4,000 routes of its
    own was torn down at 4,001."""
    if count_readvertised:
        count = sum(len(prefixes) for prefixes, _, _ in announced) if stored else 0
        return peer.adj_in.accepted_count + count > limit
    # Work on the keys this UPDATE touches only (was a set of the whole
    # Adj-RIB-In per UPDATE: quadratic over a table load).
    adj_in = peer.adj_in
    gone = {key for key in withdrawn if adj_in.holds(*key)}
    new = {
        (prefix, pid)
        for prefixes, pid, _ in announced
        for prefix in prefixes
        if (prefix, pid) in gone or not adj_in.holds(prefix, pid)
    }
    return adj_in.received_count - len(gone) + len(new) > limit
