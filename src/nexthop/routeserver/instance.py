"""One Route Server instance (``RouteServiceRole_IN_0`` or ``_IN_1``): an
independent BGP speaker with its own RIBs (route-server-spec §1.1, §1.4-1.7).

Per peering (``peer.Peer``): an Adj-RIB-In (pre-policy, rejected paths kept)
and a stored Adj-RIB-Out; one Loc-RIB holds the accepted NVA paths and the
virtual network gateways' paths. Session facts come in as method calls with
``now`` and the instance returns outputs; it never holds a ``Session``.

This module holds the instance's flow, each step's detail in its own module:

* Receive (RFC 4271 §9.1, RFC 7606/7607): withdrawals, treat-as-withdraw,
  AS 0, loop prevention as import policy, the max-prefix check (RFC 4486 Cease
  subcode 1 with AFI/SAFI/limit data) before anything is stored (``peer``).
* Select (``selection``): hub routing preference, then ``decision.best``.
* Propagate each change to the peers (``outbound``: outbound table, split
  horizon, packing, End-of-RIB) and the VNet (``programming``: ECMP sets).
* Views: the Azure CLI rows, peering status, routes offered to gateways.

The bulk work (a new client's whole table, a ROUTE-REFRESH answer, a peer's
withdrawals) is a job (``jobs``): run whole within the call by default, or,
with ``stepped`` (the live runtime), queued and run a chunk at a time by
``step`` so no call costs more than a chunk.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterable

from nexthop.bgp.constants import CeaseSubcode, ErrorCode, RouteRefreshSubtype
from nexthop.bgp.rib.adj_rib_in import AttributePolicy, ImportPolicy
from nexthop.bgp.rib.decision import Reason
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
    first_as_problem,
    ignored_route,
    max_prefix_notification,
    next_hop_problem,
    withdrawn_routes,
)
from nexthop.routeserver.jobs import Job, PrefixCursor, TableJob, WithdrawJob
from nexthop.routeserver.outbound import (
    PRUNE_FLOOR,
    Exporter,
    OutboundTable,
    Packed,
    end_of_rib_output,
    outbound_table,
    sync_peer,
    whole_table,
    without_route,
)
from nexthop.routeserver.outputs import Output, RefreshDue, SendRouteRefresh, TeardownPeering
from nexthop.routeserver.outputs import RouteServerWarning as WarningOutput
from nexthop.routeserver.paging import RouteIndexes, key_of, path_id_of, prefix_of
from nexthop.routeserver.peer import Peer, Runs, apply_change, import_runs, over_limit
from nexthop.routeserver.programming import Programming
from nexthop.routeserver.rules import GatewayKind, GatewayRoute
from nexthop.routeserver.selection import Selection
from nexthop.routeserver.views import (
    PeeringStatus,
    RouteRow,
    advertised_row,
    learned_row,
)

__all__ = [
    "ADVERTISED",
    "LEARNED",
    "REFRESH_INTERVAL",
    "NextHopCheck",
    "RoutePage",
    "RouteServerInstance",
]

LEARNED = "learned"
ADVERTISED = "advertised"
REFRESH_INTERVAL = 5.0  # seconds between two answers to one peer's ROUTE-REFRESH

RoutePage = tuple[list[RouteRow], int]
"""One page of rows and how many rows match in all (every page)."""

NextHopCheck = Callable[[int], list[str]]
"""Returns warnings about a learned next hop (empty when it looks fine)."""


class RouteServerInstance:
    """One of the two speakers. The ``RouteServer`` owns both and keeps their
    configuration in step; use it rather than an instance directly."""

    def __init__(self, role: str, local_ip: int, config: RouteServerConfig) -> None:
        self.role = role
        self.local_ip = local_ip
        self.config = config
        self.import_policy: ImportPolicy = rules.loop_prevention(config.asn)
        self.next_hop_check: NextHopCheck | None = None
        self.refresh_interval = REFRESH_INTERVAL
        self._own_ips = config.instance_ips  # NEXT_HOP sanity (inbound.next_hop_problem)
        self._peers: dict[str, Peer] = {}
        self._selection = Selection(config.hub_routing_preference)
        self._gateways = self._selection.gateways  # the same dict, kept up to date here
        self._interner = AttributeInterner()
        self._loc_rib = self._selection.loc_rib
        self._nva_offer = self._selection.nva_offer
        self._programming = Programming()
        self._exporter = Exporter(config.asn, local_ip, self._interner)
        self._gateway_paths = 0
        # Prefixes ``routes_to_gateways`` offers, kept per changed prefix once
        # ``gateway_offer_count`` has been asked (None: not tracked).
        self._offered: set[Prefix] | None = None
        self._local_cache: tuple[RouteServerConfig, tuple[Prefix, ...], frozenset[Prefix]] | None
        self._local_cache = None
        self._indexes = RouteIndexes()  # the paginated views' sorted keys (``paging``)
        self.stepped = False  # queue bulk work as jobs for ``step`` (else run it whole)
        self._jobs: deque[Job] = deque()
        # Per peering, bumped whenever its session comes up or goes down: a
        # TableJob made for one session never sends on the next (``jobs``).
        self._sessions: dict[str, int] = {}

    # --- configuration -------------------------------------------------------

    def add_peer(self, config: PeeringConfig) -> None:
        self._peers[config.name] = Peer(config)

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
        self._indexes.drop_peering(name)
        return outputs

    def reconfigure(self, config: RouteServerConfig, now: float) -> list[Output]:
        """New server settings (address spaces, branch-to-branch, preference):
        reselect everything and resync every established peer."""
        self.config = config
        self._own_ips = config.instance_ips
        self._selection.preference = config.hub_routing_preference
        self._offered = None  # recounted on demand under the new settings
        self._exporter.reset(config.asn)
        self._loc_rib.reselect_all()
        return self._propagate(full=True)

    def set_import_policy(self, policy: ImportPolicy, now: float) -> list[Output]:
        """Soft reconfiguration inbound: rerun import policy over every
        Adj-RIB-In without asking the peers for anything."""
        self.import_policy = policy
        for peer in self._peers.values():
            for change in peer.adj_in.reapply(policy):
                apply_change(self._loc_rib, peer.config.name, change)
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
        self._flush_removal(name)  # its previous session's routes go first
        peer.negotiated = negotiated
        peer.established_at = now
        job = self._table_job(peer)
        job.end = end_of_rib_output(self.role, peer)
        return self._start(job)

    def down(self, name: str, now: float, reason: str = "session down") -> list[Output]:
        return self._go_down(self._peer(name), now, reason)

    def route_refresh(self, name: str, now: float) -> list[Output]:
        """The peer asked for our routes again (RFC 2918 §4): resend all,
        between BoRR and EoRR when enhanced route refresh was negotiated
        (RFC 7313 §4). No End-of-RIB: that marker follows the initial table
        only (RFC 4724 §2).

        At most one answer per ``refresh_interval`` seconds: a request within
        it waits for its end (one ``RefreshDue``), and further requests are
        merged into the waiting one, so N requests cost at most two full
        resends per interval whatever N is (the Route Server table is IPv4
        unicast only: one family, one waiting request). A request while an
        earlier answer has not started yet is answered by that one."""
        peer = self._established_peer(name)
        if self._answer_queued(peer):
            peer.refreshes_merged += 1
            return []
        if now >= peer.refresh_next:
            return self._answer_refresh(peer, now)
        if peer.refresh_due is not None:
            peer.refreshes_merged += 1
            return []
        peer.refresh_due = peer.refresh_next
        return [RefreshDue(instance=self.role, peering=name, at=peer.refresh_next)]

    def refresh_due(self, name: str, now: float) -> list[Output]:
        """The time of a waiting ROUTE-REFRESH (``RefreshDue``) came: answer it,
        unless the session went down meanwhile."""
        peer = self._peer(name)
        if not peer.established or peer.refresh_due is None:
            return []
        return self._answer_refresh(peer, now)

    def _answer_queued(self, peer: Peer) -> bool:
        """An answer for ``peer``'s session is queued and has not started."""
        name = peer.config.name
        session = self._sessions.get(name, 0)
        return any(
            isinstance(queued, TableJob)
            and queued.resend
            and queued.peer == name
            and queued.session == session
            and not queued.cursor.started
            for queued in self._jobs
        )

    def _answer_refresh(self, peer: Peer, now: float) -> list[Output]:
        peer.refresh_due = None
        peer.refresh_next = now + self.refresh_interval
        name = peer.config.name
        job = self._table_job(peer)
        job.resend = True
        negotiated = peer.negotiated
        if negotiated is not None and negotiated.enhanced_route_refresh:
            job.start = [self._refresh_marker(name, RouteRefreshSubtype.BORR)]
            job.end = [self._refresh_marker(name, RouteRefreshSubtype.EORR)]
        return self._start(job)

    # --- stepped jobs (``jobs``) ----------------------------------------------

    def has_jobs(self) -> bool:
        return bool(self._jobs)

    def step(self, budget: int | None) -> list[Output]:
        """Run queued jobs, first come first served, over at most ``budget``
        prefixes (all of them with None); returns their outputs."""
        outputs: list[Output] = []
        jobs = self._jobs
        left = budget
        while jobs and (left is None or left > 0):
            job = jobs[0]
            more, used = self._run_job(job, left, outputs)
            if not more:
                jobs.popleft()
            if left is not None:
                left -= max(used, 1)
        return outputs

    def _start(self, job: Job) -> list[Output]:
        if self.stepped:
            self._jobs.append(job)
            return []
        outputs: list[Output] = []
        self._run_job(job, None, outputs)
        return outputs

    def _table_job(self, peer: Peer) -> TableJob:
        """The whole table for ``peer``'s current session: the VNet ranges and a
        snapshot of the Loc-RIB's prefixes (what is added later is propagated
        as it comes)."""
        name = peer.config.name
        self._indexes.drop(ADVERTISED, name)
        session = self._sessions[name] = self._sessions.get(name, 0) + 1
        local = list(self._local_spaces())
        return TableJob(
            peer=name, session=session, cursor=PrefixCursor([local, list(self._loc_rib.prefixes())])
        )

    def _refresh_marker(self, name: str, subtype: RouteRefreshSubtype) -> Output:
        return SendRouteRefresh(
            instance=self.role, peering=name, afi=Afi.IPV4, safi=Safi.UNICAST, subtype=subtype
        )

    def _run_job(self, job: Job, budget: int | None, outputs: list[Output]) -> tuple[bool, int]:
        """One chunk of ``job`` (appended to ``outputs``): (more to do, prefixes used)."""
        if isinstance(job, WithdrawJob):
            return self._withdraw_step(job, budget, outputs)
        peer = self._peers.get(job.peer)
        if peer is None or not peer.established or self._sessions.get(job.peer) != job.session:
            return False, 0  # the session it was for is gone: nothing stale is sent
        if job.start:
            outputs += job.start
            job.start = []
        chunk = job.cursor.take(budget)
        if chunk:
            table = self._outbound_table(chunk)
            gone = without_route(chunk, table)
            outputs += sync_peer(self.role, peer, gone, table, resend=job.resend)
        if not job.cursor.done:
            return True, len(chunk)
        outputs += job.end
        return False, len(chunk)

    def _withdraw_step(
        self, job: WithdrawJob, budget: int | None, outputs: list[Output]
    ) -> tuple[bool, int]:
        if not job.backlog.done:
            chunk = job.backlog.take(budget)
            outputs += self._push(chunk)
            return job.removing or not job.backlog.done, len(chunk)
        removed: list[Prefix] = []
        used = 0
        for path_id, cursor in job.removal:
            if cursor.done:
                continue
            chunk = cursor.take(None if budget is None else budget - used)
            used += len(chunk)
            removed += self._loc_rib.discard_many(chunk, job.peer, path_id)
            if budget is not None and used >= budget:
                break
        if len(job.removal) > 1:  # ADD-PATH: a prefix may have gone under several ids
            removed = list(dict.fromkeys(removed))
        outputs += self._propagate(ordered=removed)
        return job.removing, used

    def _flush_removal(self, name: str) -> None:
        """``name`` is coming back while a ``WithdrawJob`` of its previous session
        still has Loc-RIB candidates to remove: remove them now (the new
        session's routes must not be taken for old ones), propagate later."""
        for job in self._jobs:
            if isinstance(job, WithdrawJob) and job.peer == name and job.removing:
                for path_id, cursor in job.removal:
                    prefixes = cursor.take(None)
                    job.backlog.extend(self._loc_rib.discard_many(prefixes, name, path_id))
                self._loc_rib.drain_changes()  # the backlog holds them

    def receive_update(self, name: str, update: Update, now: float) -> list[Output]:
        peer = self._established_peer(name)
        peer.updates_received += 1
        announced = announced_runs(update)
        withdrawn = withdrawn_routes(update)
        outputs: list[Output] = []
        limit, count_all = self.config.max_routes_per_peer, self.config.count_readvertised_routes
        attrs = update.attributes
        as_zero = attrs is not None and rules.has_as_zero(attrs)
        stored = not (update.treat_as_withdraw or attrs is None or as_zero)
        if stored and isinstance(self.import_policy, AttributePolicy):
            assert attrs is not None
            stored = self.import_policy.by_attributes(attrs) is None  # 65515 loop check
        if over_limit(peer, limit, count_all, announced, withdrawn, stored=stored):
            return self._max_prefix_teardown(peer, announced, now)
        if as_zero:
            outputs.append(
                WarningOutput(
                    instance=self.role,
                    peering=name,
                    message="AS 0 in AS_PATH: UPDATE treated as withdraw (RFC 7607)",
                )
            )
        first_as = None
        if (
            attrs is not None
            and announced
            and not as_zero
            and peer.config.peer_asn != self.config.asn
        ):
            first_as = first_as_problem(attrs, peer.config.peer_asn)
            if first_as is not None:
                outputs.append(
                    WarningOutput(
                        instance=self.role,
                        peering=name,
                        message=f"{first_as}: UPDATE treated as withdraw (RFC 4271 §6.3, "
                        "RFC 7606 §7.2)",
                    )
                )
        if update.treat_as_withdraw or attrs is None or as_zero or first_as is not None:
            withdrawn += [(p, path_id) for prefixes, path_id, _ in announced for p in prefixes]
            announced = []
        for prefix, path_id in withdrawn:
            apply_change(self._loc_rib, name, peer.adj_in.withdraw(prefix, path_id))
        if announced:
            assert attrs is not None
            assert peer.negotiated is not None
            attrs = self._interner.intern(attrs)  # once per UPDATE, shared by its NLRI
            bgp_id = peer.negotiated.peer_bgp_id
            address, asn, ebgp = peer.address, peer.config.peer_asn, PeerType.EBGP
            # One Route per run of NLRI with the same path id and next hops:
            # without ADD-PATH, one for the whole UPDATE.
            runs: Runs = [
                (prefixes, make_route(attrs, hops, name, address, asn, bgp_id, ebgp, pid, now))
                for prefixes, pid, hops in announced
            ]
            runs, outputs = self._ignore_bad_next_hops(peer, attrs, runs, outputs)
            accepted = import_runs(peer, self.import_policy, self._loc_rib, attrs, runs)
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

    def _ignore_bad_next_hops(
        self, peer: Peer, attrs: PathAttributes, runs: Runs, outputs: list[Output]
    ) -> tuple[Runs, list[Output]]:
        """Store the runs whose next hop is semantically incorrect as rejected with
        the reason (RFC 4271 §6.3, ``inbound.next_hop_problem``); the others go on."""
        own = self._own_ips
        good: Runs = []
        for prefixes, route in runs:
            hops = route.next_hops
            problem = next_hop_problem(prefixes[0].afi, hops[0], own) if hops else None
            if problem is None:
                good.append((prefixes, route))
                continue
            import_runs(peer, ignored_route(problem), self._loc_rib, attrs, [(prefixes, route)])
            outputs.append(
                WarningOutput(
                    instance=self.role,
                    peering=peer.config.name,
                    message=f"{len(prefixes)} route(s) ignored: {problem} (RFC 4271 §6.3)",
                )
            )
        return good, outputs

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
        return dict(self._programming.programmed)

    def programmed_hops(self, prefix: Prefix) -> tuple[int, ...]:
        """The next hops this instance programs for ``prefix`` (``()`` if none)."""
        return self._programming.programmed.get(prefix, ())

    def drain_programming_changes(self) -> list[Prefix]:
        """Prefixes whose programming changed since the last drain, each once,
        in the order they changed."""
        return self._programming.drain()

    def learned_routes(self, name: str) -> list[RouteRow]:
        return self.learned_page(name)[0]

    def advertised_routes(self, name: str) -> list[RouteRow]:
        return self.advertised_page(name)[0]

    def learned_page(
        self, name: str, *, within: Prefix | None = None, skip: int = 0, top: int | None = None
    ) -> RoutePage:
        """Rows ``skip``..``skip + top`` of ``learned_routes`` (the accepted
        Adj-RIB-In in (prefix, path id) order), only those equal to or inside
        ``within`` when given, and the number of rows matching; O(log n + page)
        once the index is current (``paging``)."""
        peer = self._peer(name)
        adj_in, loc_rib = peer.adj_in, self._loc_rib

        def every() -> list[object]:
            return [key_of(p.prefix, p.path_id) for p in adj_in.accepted()]

        def at(prefix: Prefix) -> list[object]:
            # The Loc-RIB holds exactly the accepted paths of every peer.
            return [key_of(prefix, r.path_id) for r in loc_rib.routes(prefix) if r.source == name]

        keys, total = self._indexes.page(
            LEARNED, name, (every, at), within=within, skip=skip, top=top
        )
        rows: list[RouteRow] = []
        for key in keys:
            entry = adj_in.get(prefix_of(key), path_id_of(key))
            assert entry is not None  # the index is current
            rows.append(learned_row(self.local_ip, entry.path))
        return rows, total

    def advertised_page(
        self, name: str, *, within: Prefix | None = None, skip: int = 0, top: int | None = None
    ) -> RoutePage:
        """``learned_page`` for ``advertised_routes`` (the Adj-RIB-Out by prefix)."""
        peer = self._peer(name)
        adj_out = peer.adj_out

        def at(prefix: Prefix) -> tuple[Prefix, ...]:
            return (prefix,) if adj_out.get(prefix) is not None else ()

        keys, total = self._indexes.page(
            ADVERTISED, name, (adj_out.prefixes, at), within=within, skip=skip, top=top
        )
        local = self._local_set()
        rows: list[RouteRow] = []
        for prefix in keys:
            advert = adj_out.get(prefix)
            assert advert is not None  # the index is current
            origin = "Igp" if prefix in local else self._origin_label(prefix)
            rows.append(advertised_row(self.local_ip, prefix, advert, origin))
        return rows, total

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

    def rib_snapshot(self) -> list[tuple[Prefix, list[Route]]]:
        """Every prefix of the Loc-RIB in ascending order with every path held for
        it (each peer's accepted path, the gateways' routes): an MRT dump's rows."""
        rib = self._loc_rib
        return [(prefix, rib.routes(prefix)) for prefix in sorted(rib.prefixes())]

    def peer_identities(self) -> list[tuple[PeeringConfig, int]]:
        """Each configured peering with the BGP Identifier it sent (0 when it has
        no session)."""
        return [
            (peer.config, peer.negotiated.peer_bgp_id if peer.negotiated else 0)
            for peer in self._peers.values()
        ]

    def status(self, name: str) -> PeeringStatus:
        return self._peer(name).status(self.role)

    def rejected_routes(self, name: str) -> list[tuple[Path, str]]:
        return [(e.path, e.rejected or "") for e in self._peer(name).adj_in.rejected()]

    # --- offers to gateways --------------------------------------------------

    def _track_offers(self, prefixes: Iterable[Prefix]) -> None:
        offered = self._offered
        if offered is None:
            return
        for prefix in prefixes:
            if self._nva_offer(prefix) is None:
                offered.discard(prefix)
            else:
                offered.add(prefix)

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

    def _peer(self, name: str) -> Peer:
        try:
            return self._peers[name]
        except KeyError:
            msg = f"no peering named {name!r}"
            raise LocalProtocolError(msg) from None

    def _established_peer(self, name: str) -> Peer:
        peer = self._peer(name)
        if not peer.established:
            msg = f"peering {name!r} on {self.role} is not Established"
            raise LocalProtocolError(msg)
        return peer

    def _maybe_prune(self) -> None:
        """Drop interned attributes no path uses any more, once the table holds
        more than twice the paths (amortised O(1) per path)."""
        paths = sum(len(peer.adj_in) for peer in self._peers.values()) + self._gateway_paths
        if len(self._interner) > max(PRUNE_FLOOR, 2 * paths):
            live = [r.attributes for peer in self._peers.values() for r in peer.adj_in.routes()]
            live += [
                p.attributes
                for prefix in self._loc_rib.prefixes()
                for p in self._loc_rib.routes(prefix)
                if p.source in self._gateways
            ]
            self._interner.prune(live)

    def _max_prefix_teardown(
        self, peer: Peer, announced: list[AnnouncedRun], now: float
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

    def _go_down(self, peer: Peer, now: float, reason: str) -> list[Output]:
        if peer.established:
            peer.last_error = reason
        peer.negotiated = None
        peer.established_at = None
        peer.refresh_due = None
        peer.adj_out.clear()
        name = peer.config.name
        self._sessions[name] = self._sessions.get(name, 0) + 1  # its jobs end
        self._indexes.drop_peering(name)  # both its tables go whole
        # Its accepted paths are its Loc-RIB candidates: removed in bulk (a
        # chunk at a time when stepped), one list of prefixes per path id, no
        # Change or Path per prefix.
        by_id = peer.adj_in.clear_accepted()
        if not by_id:
            return []
        removal = [(path_id, PrefixCursor([prefixes])) for path_id, prefixes in by_id.items()]
        return self._start(WithdrawJob(peer=name, removal=removal))

    def _propagate(
        self, *, full: bool = False, ordered: list[Prefix] | None = None
    ) -> list[Output]:
        """Push Loc-RIB changes to every established peer and the VNet.
        ``ordered``: the changed prefixes, without repeats, in the order they
        were held (the sorts of withdrawals and VNet changes are then cheap for
        a table that arrived in order); any other change falls back to the set."""
        changed = self._loc_rib.drain_changes()
        peers = [peer for peer in self._peers.values() if peer.established]
        scope: Collection[Prefix] = changed
        if full:
            scope = whole_table(self.config.local_prefixes, self._loc_rib.prefixes(), peers)
        if ordered is not None and not full and len(ordered) == len(changed):
            scope = ordered  # every prefix of it was marked changed: the same set
        return self._push(scope, peers, full=full)

    def _push(
        self, scope: Collection[Prefix], peers: list[Peer] | None = None, *, full: bool = False
    ) -> list[Output]:
        """Send every established peer what changed for ``scope`` and
        reprogram it (``full``: the whole table, every programmed prefix)."""
        if peers is None:
            peers = [peer for peer in self._peers.values() if peer.established]
        self._track_offers(scope)
        if full:
            self._indexes.drop_all()
        else:
            self._indexes.changed(scope)
        outputs: list[Output] = []
        if full or not self._only_own_routes(peers):
            table = self._outbound_table(scope)
            gone = without_route(scope, table)
            packed: Packed = {}
            for peer in peers:
                outputs += sync_peer(self.role, peer, gone, table, packed)
        self._reprogram({*scope, *self._programming.programmed} if full else scope)
        return outputs

    def _only_own_routes(self, peers: list[Peer]) -> bool:
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

    def _outbound_table(self, prefixes: Iterable[Prefix]) -> OutboundTable:
        """``outbound.outbound_table`` for ``prefixes`` under this instance's
        Loc-RIB and settings: the same for every peer, so built once per change."""
        prefixes = list(prefixes)
        gateways = self._gateways
        return outbound_table(
            prefixes,
            self._loc_rib.best_routes(prefixes),
            local=self._local_set(),
            local_advert=self._exporter.local(),
            gateways=gateways,
            hide_gateways=bool(gateways) and not self.config.branch_to_branch,
            nva_offer=self._nva_offer,
            export=self._exporter.export,
        )

    def _reprogram(self, prefixes: Iterable[Prefix]) -> None:
        prefixes = list(prefixes)
        held = self._loc_rib.held_routes(prefixes)
        by_preference = self._selection.by_preference
        self._programming.reprogram(prefixes, held, self._local_spaces(), by_preference)

    def _origin_label(self, prefix: Prefix) -> str:
        path = self._selection.outbound_path(prefix, self.config.branch_to_branch)
        if path is not None and path.source in self._gateways:
            return "IBgp"
        return "EBgp"
