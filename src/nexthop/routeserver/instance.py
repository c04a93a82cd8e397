"""One Route Server instance (``RouteServiceRole_IN_0`` or ``_IN_1``): an
independent BGP speaker with its own RIBs (route-server-spec §1.1, §1.4-1.7).

Per peering: an Adj-RIB-In (pre-policy, rejected paths kept) and a stored
Adj-RIB-Out; one Loc-RIB holds the accepted NVA paths and the virtual network
gateways' paths. Session facts come in as method calls with ``now`` and the
instance returns outputs; it never holds a ``Session``.

* Receive (RFC 4271 §9.1, RFC 7606/7607): withdrawals, treat-as-withdraw,
  AS 0, loop prevention as import policy, the max-prefix check (RFC 4486 Cease
  subcode 1 with AFI/SAFI/limit data) before anything is stored.
* Select: hub routing preference between sources, then ``decision.best``;
  VNet programming uses the ECMP set (equal AS_PATH length).
* Send (RFC 4271 §9.2): per peer the desired table is diffed against its
  Adj-RIB-Out and only changes are packed; the initial table ends with
  End-of-RIB (RFC 4724 §2).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence

from nexthop.bgp.constants import CeaseSubcode, ErrorCode
from nexthop.bgp.rib import decision
from nexthop.bgp.rib.adj_rib_in import AdjRibIn, AttributePolicy, Change, ImportPolicy
from nexthop.bgp.rib.adj_rib_out import AdjRibOut, Advertisement
from nexthop.bgp.rib.decision import Reason
from nexthop.bgp.rib.loc_rib import LocRib
from nexthop.bgp.rib.packing import end_of_rib, pack_updates
from nexthop.bgp.rib.path import AttributeInterner, Path, PeerType, Route, make_route
from nexthop.bgp.wire.errors import LocalProtocolError
from nexthop.bgp.wire.messages import Notification, PathAttributes, Update
from nexthop.bgp.wire.negotiated import Negotiated
from nexthop.net.prefix import Afi, Prefix, Safi
from nexthop.routeserver import rules
from nexthop.routeserver.config import PeeringConfig, RouteServerConfig
from nexthop.routeserver.inbound import (
    AnnouncedRun,
    announced_runs,
    as_sequence,
    max_prefix_notification,
    withdrawn_routes,
)
from nexthop.routeserver.outputs import Output, SendUpdate, TeardownPeering
from nexthop.routeserver.outputs import RouteServerWarning as WarningOutput
from nexthop.routeserver.rules import GatewayKind, GatewayRoute, SourceKind
from nexthop.routeserver.views import (
    PeeringState,
    PeeringStatus,
    RouteRow,
    advertised_row,
    learned_row,
)

__all__ = ["NextHopCheck", "RouteServerInstance"]

NextHopCheck = Callable[[int], list[str]]
"""Returns warnings about a learned next hop (empty when it looks fine)."""

_PRUNE_FLOOR = 1024  # never prune below this many interned attribute sets

OutboundTable = dict[Prefix, tuple[Advertisement, str]]
"""Prefix -> (the advertisement, the peer it came from and must not go back to)."""

_Runs = list[tuple[Sequence[Prefix], Route]]
"""NLRI of one UPDATE: runs of prefixes that share one route (path id, next hops)."""

_Packed = dict[tuple[int, tuple[Prefix, ...]], tuple[dict[Prefix, Advertisement], list[Update]]]
"""(max message length, withdrawals) -> (announcements, the UPDATEs packed for them)."""


def _without_route(scope: Collection[Prefix], table: OutboundTable) -> list[Prefix]:
    """The prefixes of ``scope`` the outbound table has no entry for."""
    if len(table) == len(scope):  # the table only holds prefixes of the scope
        return []
    return [prefix for prefix in scope if prefix not in table]


class _Peer:
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

    @property
    def established(self) -> bool:
        return self.negotiated is not None


class RouteServerInstance:
    """One of the two speakers. The ``RouteServer`` owns both and keeps their
    configuration in step; use it rather than an instance directly."""

    def __init__(self, role: str, local_ip: int, config: RouteServerConfig) -> None:
        self.role = role
        self.local_ip = local_ip
        self.config = config
        self.import_policy: ImportPolicy = rules.loop_prevention(config.asn)
        self.next_hop_check: NextHopCheck | None = None
        self._peers: dict[str, _Peer] = {}
        self._gateways: dict[str, GatewayKind] = {}
        self._interner = AttributeInterner()
        self._loc_rib = LocRib(self._select)
        self._programmed: dict[Prefix, tuple[int, ...]] = {}
        # Insertion-ordered (a dict used as a set), so sorting it is cheap
        # when the changes were made in prefix order.
        self._programming_changes: dict[Prefix, None] = {}
        # The advertisement for each interned attribute set (keyed by identity,
        # the set kept alive in the value): every prefix of an UPDATE shares one.
        self._export_cache: dict[int, tuple[PathAttributes, Advertisement | None]] = {}
        self._local_advert: Advertisement | None = None  # VNet ranges as we send them
        self._gateway_paths = 0
        # Prefixes ``routes_to_gateways`` offers, kept per changed prefix once
        # ``gateway_offer_count`` has been asked (None: not tracked).
        self._offered: set[Prefix] | None = None
        self._local_cache: tuple[RouteServerConfig, tuple[Prefix, ...], frozenset[Prefix]] | None
        self._local_cache = None

    # --- configuration -------------------------------------------------------

    def add_peer(self, config: PeeringConfig) -> None:
        self._peers[config.name] = _Peer(config)

    def remove_peer(self, name: str, now: float) -> list[Output]:
        peer = self._peer(name)
        outputs: list[Output] = []
        if peer.established:
            notification = Notification(
                code=ErrorCode.CEASE, subcode=CeaseSubcode.PEER_DE_CONFIGURED
            )
            outputs.append(
                TeardownPeering(
                    instance=self.role,
                    peering=name,
                    notification=notification,
                    reason="peering removed",
                )
            )
        outputs += self._go_down(peer, now, "peering removed")
        del self._peers[name]
        return outputs

    def reconfigure(self, config: RouteServerConfig, now: float) -> list[Output]:
        """New server settings (address spaces, branch-to-branch, preference):
        reselect everything and resync every established peer."""
        self.config = config
        self._offered = None  # recounted on demand under the new settings
        self._export_cache.clear()
        self._local_advert = None
        self._loc_rib.reselect_all()
        return self._propagate(full=True)

    def set_import_policy(self, policy: ImportPolicy, now: float) -> list[Output]:
        """Soft reconfiguration inbound: rerun import policy over every
        Adj-RIB-In without asking the peers for anything."""
        self.import_policy = policy
        for peer in self._peers.values():
            for change in peer.adj_in.reapply(policy):
                self._apply(peer.config.name, change)
        return self._propagate()

    # --- session facts -------------------------------------------------------

    def established(self, name: str, negotiated: Negotiated, now: float) -> list[Output]:
        """The session came up: send the whole table, then End-of-RIB."""
        peer = self._peer(name)
        if peer.idle_hold_until is not None and now < peer.idle_hold_until:
            notification = Notification(
                code=ErrorCode.CEASE, subcode=CeaseSubcode.CONNECTION_REJECTED
            )
            return [
                TeardownPeering(
                    instance=self.role,
                    peering=name,
                    notification=notification,
                    reason="idle hold after maximum prefixes",
                    idle_hold=peer.idle_hold_until - now,
                )
            ]
        peer.idle_hold_until = None
        peer.negotiated = negotiated
        peer.established_at = now
        outputs = self._full_sync(peer)
        outputs += self._end_of_rib(peer)
        return outputs

    def down(self, name: str, now: float, reason: str = "session down") -> list[Output]:
        return self._go_down(self._peer(name), now, reason)

    def route_refresh(self, name: str, now: float) -> list[Output]:
        """The peer asked for our routes again (RFC 2918 §4): resend all. No
        End-of-RIB: that marker follows the initial table only (RFC 4724 §2)."""
        peer = self._established_peer(name)
        peer.adj_out.clear()
        return self._full_sync(peer)

    def receive_update(self, name: str, update: Update, now: float) -> list[Output]:
        peer = self._established_peer(name)
        peer.updates_received += 1
        announced = announced_runs(update)
        withdrawn = withdrawn_routes(update)
        outputs: list[Output] = []
        if self._over_limit(peer, announced, withdrawn):
            return self._max_prefix_teardown(peer, announced, now)
        attrs = update.attributes
        as_zero = attrs is not None and rules.has_as_zero(attrs)
        if as_zero:
            outputs.append(
                WarningOutput(
                    instance=self.role,
                    peering=name,
                    message="AS 0 in AS_PATH: UPDATE treated as withdraw (RFC 7607)",
                )
            )
        if update.treat_as_withdraw or attrs is None or as_zero:
            withdrawn += [(p, path_id) for prefixes, path_id, _ in announced for p in prefixes]
            announced = []
        for prefix, path_id in withdrawn:
            self._apply(name, peer.adj_in.withdraw(prefix, path_id))
        if announced:
            assert attrs is not None
            assert peer.negotiated is not None
            attrs = self._interner.intern(attrs)  # once per UPDATE, shared by its NLRI
            bgp_id = peer.negotiated.peer_bgp_id
            address, asn, ebgp = peer.address, peer.config.peer_asn, PeerType.EBGP
            # One Route per run of NLRI with the same path id and next hops:
            # without ADD-PATH, one for the whole UPDATE.
            runs: _Runs = [
                (prefixes, make_route(attrs, hops, name, address, asn, bgp_id, ebgp, pid, now))
                for prefixes, pid, hops in announced
            ]
            accepted = self._import(peer, attrs, runs)
            if self.next_hop_check is not None:
                for prefixes, route in accepted:
                    hops = route.next_hops
                    texts = self.next_hop_check(hops[0] if hops else 0)
                    outputs += [
                        WarningOutput(instance=self.role, peering=name, message=f"{prefix}: {text}")
                        for prefix in prefixes
                        for text in texts
                    ]
        self._maybe_prune()
        return outputs + self._propagate()

    # --- gateways ------------------------------------------------------------

    def set_gateway_routes(
        self, name: str, kind: GatewayKind, routes: Iterable[GatewayRoute], now: float
    ) -> list[Output]:
        """Replace everything gateway ``name`` offers with ``routes``."""
        self._gateways[name] = kind
        self._gateway_paths -= len(self._loc_rib.remove_source(name))
        for route in routes:
            attrs = self._interner.intern(
                PathAttributes(
                    origin=route.origin,
                    as_path=as_sequence(route.as_path),
                    next_hop=route.next_hop,
                    communities=route.communities,
                )
            )
            self._loc_rib.add(
                Path(
                    prefix=route.prefix,
                    attributes=attrs,
                    next_hops=(route.next_hop,),
                    source=name,
                    source_address=route.next_hop,
                    source_asn=self.config.asn,
                    peer_type=PeerType.IBGP,
                    learned_at=now,
                )
            )
            self._gateway_paths += 1
        return self._propagate()

    def remove_gateway(self, name: str, now: float) -> list[Output]:
        self._gateway_paths -= len(self._loc_rib.remove_source(name))
        self._gateways.pop(name, None)
        return self._propagate()

    # --- views ---------------------------------------------------------------

    def programmed(self) -> dict[Prefix, tuple[int, ...]]:
        """Prefix -> distinct ECMP next hops this instance programs into the VNet."""
        return dict(self._programmed)

    def drain_programming_changes(self) -> list[Prefix]:
        """Prefixes whose programming changed since the last drain, each once,
        in the order they changed."""
        changed, self._programming_changes = self._programming_changes, {}
        return list(changed)

    def learned_routes(self, name: str) -> list[RouteRow]:
        peer = self._peer(name)
        paths = sorted(peer.adj_in.accepted(), key=lambda p: (p.prefix, p.path_id))
        return [learned_row(self.local_ip, p) for p in paths]

    def advertised_routes(self, name: str) -> list[RouteRow]:
        peer = self._peer(name)
        rows: list[RouteRow] = []
        local = set(self.config.local_prefixes)
        for prefix, advert in sorted(peer.adj_out.advertised().items()):
            origin = "Igp" if prefix in local else self._origin_label(prefix)
            rows.append(advertised_row(self.local_ip, prefix, advert, origin))
        return rows

    def routes_to_gateways(self) -> list[Path]:
        """NVA best paths offered to the ER/VPN gateways (branch-to-branch only)."""
        if not self.config.branch_to_branch:
            return []
        offers: list[Path] = []
        for prefix in sorted(self._loc_rib.prefixes()):
            route = self._nva_offer(prefix)
            if route is not None:
                offers.append(route.at(prefix))
        return offers

    def gateway_offer_count(self) -> int:
        """``len(routes_to_gateways())`` without walking the table: after the
        first call it is kept up to date for each changed prefix."""
        if not self.config.branch_to_branch:
            return 0
        if self._offered is None:
            self._offered = set()
            self._track_offers(self._loc_rib.prefixes())
        return len(self._offered)

    def route_count(self) -> int:
        """Prefixes in the Loc-RIB (NVA and gateway routes)."""
        return len(self._loc_rib)

    def negotiated(self, name: str) -> Negotiated | None:
        """The session parameters while Established, else None."""
        return self._peer(name).negotiated

    def best(self, prefix: Prefix) -> tuple[Path, Reason] | None:
        return self._loc_rib.best(prefix)

    def status(self, name: str) -> PeeringStatus:
        peer = self._peer(name)
        return PeeringStatus(
            instance=self.role,
            peering=name,
            state=PeeringState.ESTABLISHED if peer.established else PeeringState.IDLE,
            received_routes=peer.adj_in.received_count,
            accepted_routes=peer.adj_in.accepted_count,
            rejected_routes=peer.adj_in.received_count - peer.adj_in.accepted_count,
            advertised_routes=len(peer.adj_out),
            updates_received=peer.updates_received,
            max_prefix_events=peer.max_prefix_events,
            last_error=peer.last_error,
            established_at=peer.established_at,
            idle_hold_until=peer.idle_hold_until,
        )

    def rejected_routes(self, name: str) -> list[tuple[Path, str]]:
        return [(e.path, e.rejected or "") for e in self._peer(name).adj_in.rejected()]

    # --- selection -----------------------------------------------------------

    def _kind(self, path: Route) -> SourceKind:
        return self._gateways.get(path.source, SourceKind.NVA)

    def _by_preference(self, paths: Sequence[Route]) -> list[Route]:
        """Hub routing preference between source kinds (route-server-spec §1.5)."""
        if not self._gateways:
            return list(paths)
        pref = self.config.hub_routing_preference
        ranks = [rules.source_rank(self._kind(p), pref) for p in paths]
        top = min(ranks)
        return [p for p, rank in zip(paths, ranks, strict=True) if rank == top]

    def _select(self, paths: Sequence[Route]) -> tuple[Route, Reason]:
        if len(paths) == 1:  # what decision.best says of a single path
            return paths[0], Reason.ONLY_PATH
        return decision.best(self._by_preference(paths))

    def _outbound_path(self, prefix: Prefix) -> Route | None:
        """The path NVAs are offered for ``prefix``: the best among NVA paths
        (plus gateway paths with branch-to-branch), never NO_ADVERTISE. Split
        horizon (not back to its source) is applied per peer."""
        path = self._loc_rib.best_route(prefix)
        if path is None:
            return None
        if path.source in self._gateways and not self.config.branch_to_branch:
            return self._nva_offer(prefix)
        return None if rules.is_no_advertise(path.attributes) else path

    def _nva_offer(self, prefix: Prefix) -> Route | None:
        """The best path among NVA paths only, unless it is NO_ADVERTISE."""
        nva = [p for p in self._loc_rib.routes(prefix) if p.source not in self._gateways]
        if not nva:
            return None
        path, _ = decision.best(nva)
        return None if rules.is_no_advertise(path.attributes) else path

    def _track_offers(self, prefixes: Iterable[Prefix]) -> None:
        offered = self._offered
        if offered is None:
            return
        for prefix in prefixes:
            if self._nva_offer(prefix) is None:
                offered.discard(prefix)
            else:
                offered.add(prefix)

    def _outbound_table(
        self, prefixes: Iterable[Prefix]
    ) -> dict[Prefix, tuple[Advertisement, str]]:
        """Prefix -> (what NVAs are sent, the source it must not go back to).
        The same for every peer of this instance, so computed once per change."""
        local = self._local_set()
        local_advert = self._local_advert
        if local_advert is None:
            local_advert = rules.local_advertisement(self.config.asn, self.local_ip)
            self._local_advert = local_advert
        table: OutboundTable = {}
        gateways = self._gateways
        hide_gateways = bool(gateways) and not self.config.branch_to_branch
        ipv4 = Afi.IPV4
        local_entry = (local_advert, "")
        # Prefixes of one UPDATE come in a row with one shared route: its table
        # entry is made once and shared.
        last: Route | None = None
        entry: tuple[Advertisement, str] | None = None
        prefixes = list(prefixes)
        for prefix, route in zip(prefixes, self._loc_rib.best_routes(prefixes), strict=True):
            if prefix.afi != ipv4:
                continue  # Route Server is IPv4 unicast only
            if prefix in local:
                table[prefix] = local_entry
                continue
            if route is None:
                continue
            if hide_gateways and route.source in gateways:
                offer = self._nva_offer(prefix)
                advert = None if offer is None else self._export(offer)
                if offer is not None and advert is not None:
                    table[prefix] = (advert, offer.source)
                continue
            if route is not last:
                last = route
                advert = self._export(route)
                entry = None if advert is None else (advert, route.source)
            if entry is not None:
                table[prefix] = entry
        return table

    def _export(self, path: Route) -> Advertisement | None:
        """``rules.export_advertisement`` (None for NO_ADVERTISE), computed once
        per attribute set (it depends only on the attributes, our AS and our
        address) and cached by the attributes' identity."""
        attrs = path.attributes
        hit = self._export_cache.get(id(attrs))
        if hit is not None and hit[0] is attrs:
            return hit[1]
        if len(self._export_cache) > max(_PRUNE_FLOOR, 2 * len(self._interner)):
            self._export_cache.clear()
        advert = None
        if not rules.is_no_advertise(attrs):
            advert = rules.export_advertisement(path, self.config.asn, self.local_ip)
        self._export_cache[id(attrs)] = (attrs, advert)
        return advert

    def _programme(
        self, prefix: Prefix, candidates: list[Route], spaces: tuple[Prefix, ...]
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
        chosen = decision.ecmp_set(self._by_preference(candidates))
        return tuple(sorted({p.next_hops[0] for p in chosen if p.next_hops}))

    # --- plumbing ------------------------------------------------------------

    def _local_spaces(self) -> tuple[Prefix, ...]:
        """``config.local_prefixes``, computed once per configuration (it is
        asked for on every UPDATE)."""
        cached = self._local_cache
        if cached is None or cached[0] is not self.config:
            spaces = self.config.local_prefixes
            cached = self._local_cache = (self.config, spaces, frozenset(spaces))
        return cached[1]

    def _local_set(self) -> frozenset[Prefix]:
        self._local_spaces()
        assert self._local_cache is not None
        return self._local_cache[2]

    def _peer(self, name: str) -> _Peer:
        try:
            return self._peers[name]
        except KeyError:
            msg = f"no peering named {name!r}"
            raise LocalProtocolError(msg) from None

    def _established_peer(self, name: str) -> _Peer:
        peer = self._peer(name)
        if not peer.established:
            msg = f"peering {name!r} on {self.role} is not Established"
            raise LocalProtocolError(msg)
        return peer

    def _maybe_prune(self) -> None:
        """Drop interned attributes no path uses any more, once the table holds
        more than twice the paths (amortised O(1) per path)."""
        paths = sum(len(peer.adj_in) for peer in self._peers.values()) + self._gateway_paths
        if len(self._interner) > max(_PRUNE_FLOOR, 2 * paths):
            live = [r.attributes for peer in self._peers.values() for r in peer.adj_in.routes()]
            live += [
                p.attributes
                for prefix in self._loc_rib.prefixes()
                for p in self._loc_rib.routes(prefix)
                if p.source in self._gateways
            ]
            self._interner.prune(live)

    def _import(self, peer: _Peer, attrs: PathAttributes, runs: _Runs) -> _Runs:
        """Store the NLRI of one UPDATE (runs of prefixes sharing a route) in
        ``peer``'s Adj-RIB-In and the accepted ones in the Loc-RIB; returns the
        accepted runs. An attributes-only policy decides once for the UPDATE;
        any other policy is asked per path."""
        policy = self.import_policy
        name = peer.config.name
        adj_in, loc_rib = peer.adj_in, self._loc_rib
        if isinstance(policy, AttributePolicy):
            verdict = policy.by_attributes(attrs)
            if verdict is not None or policy.per_path is None:
                for prefixes, route in runs:
                    displaced = adj_in.update_many(prefixes, route, verdict)
                    if verdict is None:
                        loc_rib.add_many(prefixes, route)
                    for prefix in () if verdict is None else displaced:
                        loc_rib.discard(prefix, name, route.path_id)
                return runs if verdict is None else []
            policy = policy.per_path  # the attributes passed: the rest is per path
        accepted: _Runs = []
        for prefixes, route in runs:
            kept: list[Prefix] = []
            for prefix in prefixes:
                change = adj_in.update(route.at(prefix), policy)
                self._apply(name, change)
                if change.after is not None:
                    kept.append(prefix)
            if kept:
                accepted.append((kept, route))
        return accepted

    def _apply(self, source: str, change: Change) -> None:
        prefix, path_id = change.key
        if change.after is not None:
            self._loc_rib.add(change.after)
        elif change.before is not None:
            self._loc_rib.discard(prefix, source, path_id)

    def _over_limit(
        self, peer: _Peer, announced: list[AnnouncedRun], withdrawn: list[tuple[Prefix, int]]
    ) -> bool:
        """Azure FAQ counting: routes held plus routes in this UPDATE (a re-sent
        prefix counts twice). Beyond the cloud: unique prefixes after the UPDATE."""
        limit = self.config.max_routes_per_peer
        if self.config.count_readvertised_routes:
            count = sum(len(prefixes) for prefixes, _, _ in announced)
            return peer.adj_in.received_count + count > limit
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

    def _max_prefix_teardown(
        self, peer: _Peer, announced: list[AnnouncedRun], now: float
    ) -> list[Output]:
        afi = announced[0][0][0].afi if announced else Afi.IPV4
        limit = self.config.max_routes_per_peer
        hold = self.config.idle_hold_after_max_prefix
        reason = f"maximum number of prefixes ({limit}) reached"
        teardown = TeardownPeering(
            instance=self.role,
            peering=peer.config.name,
            notification=max_prefix_notification(afi, Safi.UNICAST, limit),
            reason=reason,
            idle_hold=hold,
        )
        peer.max_prefix_events += 1
        outputs: list[Output] = [teardown, *self._go_down(peer, now, reason)]
        peer.idle_hold_until = now + hold
        return outputs

    def _go_down(self, peer: _Peer, now: float, reason: str) -> list[Output]:
        if peer.established:
            peer.last_error = reason
        peer.negotiated = None
        peer.established_at = None
        peer.adj_out.clear()
        name = peer.config.name
        # Its accepted paths are its Loc-RIB candidates: removed in bulk, one
        # list of prefixes per path id, no Change or Path per prefix.
        by_id = peer.adj_in.clear_accepted()
        removed: list[Prefix] = []
        for path_id, prefixes in by_id.items():
            removed += self._loc_rib.discard_many(prefixes, name, path_id)
        if len(by_id) > 1:  # ADD-PATH: a prefix may have gone under several ids
            removed = list(dict.fromkeys(removed))
        return self._propagate(ordered=removed)

    def _propagate(
        self, *, full: bool = False, ordered: list[Prefix] | None = None
    ) -> list[Output]:
        """Push Loc-RIB changes to every established peer and the VNet.
        ``ordered``: the changed prefixes, without repeats, in the order they
        were held (the sorts of withdrawals and VNet changes are then cheap for
        a table that arrived in order); any other change falls back to the set."""
        changed = self._loc_rib.drain_changes()
        peers = [peer for peer in self._peers.values() if peer.established]
        scope: Collection[Prefix] = self._whole_table(peers) if full else changed
        if ordered is not None and not full and len(ordered) == len(changed):
            scope = ordered  # every prefix of it was marked changed: the same set
        self._track_offers(scope)
        outputs: list[Output] = []
        if full or not self._only_own_routes(peers):
            table = self._outbound_table(scope)
            gone = _without_route(scope, table)
            packed: _Packed = {}
            for peer in peers:
                outputs += self._sync_peer(peer, gone, table, packed)
        self._reprogram({*scope, *self._programmed} if full else scope)
        return outputs

    def _only_own_routes(self, peers: list[_Peer]) -> bool:
        """True when no peer is up, or the one peer that is up has been sent
        nothing and is the only source of routes (no other peer's accepted
        paths, no gateway paths, no VNet ranges): split horizon leaves it
        nothing to be sent, so the outbound table need not be built."""
        if not peers:
            return True
        if len(peers) > 1 or peers[0].adj_out or self._gateway_paths:
            return False
        if self._local_spaces():
            return False
        only = peers[0]
        return all(p is only or not p.adj_in.accepted_count for p in self._peers.values())

    def _reprogram(self, prefixes: Iterable[Prefix]) -> None:
        spaces = self._local_spaces()
        programmed = self._programmed
        changes = self._programming_changes
        prefixes = list(prefixes)
        for prefix, held in zip(prefixes, self._loc_rib.held_routes(prefixes), strict=True):
            if held is None:  # no candidate left: no range check needed
                if programmed.pop(prefix, None) is not None:
                    changes[prefix] = None
                continue
            if isinstance(held, list):
                hops = self._programme(prefix, held, spaces)
            elif spaces:
                hops = self._programme(prefix, [held], spaces)
            else:  # one candidate and no VNet range to check against: its first next hop
                hops = held.next_hops[:1]
            if hops == programmed.get(prefix, ()):
                continue
            if hops:
                programmed[prefix] = hops
            else:
                del programmed[prefix]
            changes[prefix] = None

    def _full_sync(self, peer: _Peer) -> list[Output]:
        scope = self._whole_table([peer])
        table = self._outbound_table(scope)
        return self._sync_peer(peer, _without_route(scope, table), table)

    def _whole_table(self, peers: Iterable[_Peer]) -> set[Prefix]:
        """What a full resync of ``peers`` looks at: the VNet ranges, every
        Loc-RIB prefix, and whatever those peers were told before."""
        scope = set(self.config.local_prefixes)
        scope.update(self._loc_rib.prefixes())
        for peer in peers:
            scope.update(peer.adj_out.advertised())
        return scope

    def _sync_peer(
        self,
        peer: _Peer,
        gone: Iterable[Prefix],
        table: OutboundTable,
        packed: _Packed | None = None,
    ) -> list[Output]:
        """Send ``peer`` what changed: ``table`` for the prefixes that have an
        outbound route, ``gone`` for those that lost it. ``packed``: the UPDATEs
        already packed for other peers this round, reused when this peer's
        changes are the same (clients that are not the source of a change
        usually get identical ones)."""
        name = peer.config.name
        announce, withdraw = peer.adj_out.diff_sourced(table, name, gone)
        if not announce and not withdraw:
            return []
        peer.adj_out.apply(announce, withdraw)
        assert peer.negotiated is not None
        max_length = peer.negotiated.max_message_length
        hit = None if packed is None else packed.get((max_length, withdraw))
        if hit is not None and hit[0] == announce:
            updates = hit[1]
        else:
            updates = pack_updates(announce, withdraw, max_message_length=max_length)
            if packed is not None:
                packed[(max_length, withdraw)] = (announce, updates)
        return [SendUpdate(instance=self.role, peering=peer.config.name, update=u) for u in updates]

    def _end_of_rib(self, peer: _Peer) -> list[Output]:
        return [
            SendUpdate(instance=self.role, peering=peer.config.name, update=end_of_rib(Afi.IPV4))
        ]

    def _origin_label(self, prefix: Prefix) -> str:
        path = self._outbound_path(prefix)
        if path is not None and path.source in self._gateways:
            return "IBgp"
        return "EBgp"
