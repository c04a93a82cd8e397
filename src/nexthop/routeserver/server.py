"""``RouteServer``: Azure Route Server as a sans-IO object (route-server-spec §1).

Two instances, ``RouteServiceRole_IN_0`` and ``RouteServiceRole_IN_1``, on the
4th and 5th addresses of the RouteServerSubnet, each an independent speaker
with its own RIBs. A peering is configured once and exists on both; the NVA is
expected to open a session to each. Callers report session facts per instance
(``peer_established``, ``peer_down``, ``receive_update``…) with ``now`` and carry
out the returned outputs; nothing here reads a clock or touches a socket.

Virtual network gateways (ExpressRoute, VPN) are route sources on both
instances. Their routes reach NVAs, and NVA routes reach them, only with
``branch_to_branch``; ``hub_routing_preference`` ranks the sources for one prefix.
Creating a VNet peering makes the route server ask every NVA for a
ROUTE-REFRESH (RFC 2918), or reset sessions without that capability (FAQ).

Bulk work (a new client's whole table, ROUTE-REFRESH answers, a peer's
withdrawals: ``routeserver.jobs``) runs whole within the call that causes it,
unless ``set_stepping(True)``: then it is queued and the caller runs it a chunk
at a time with ``step_jobs`` (the live runtime does, between event-loop turns).

Beyond the cloud (off by default): larger limits through ``RouteServerConfig``,
a custom import policy (``set_import_policy``), and next-hop validation
warnings (``next_hop_validation`` with a region map for load balancer frontends).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from nexthop.bgp.constants import CeaseSubcode, ErrorCode
from nexthop.bgp.rib.adj_rib_in import ImportPolicy
from nexthop.bgp.rib.decision import Reason
from nexthop.bgp.rib.path import Path
from nexthop.bgp.wire.errors import LocalProtocolError
from nexthop.bgp.wire.messages import Notification, Update
from nexthop.bgp.wire.negotiated import Negotiated
from nexthop.net.prefix import Afi, Prefix, Safi, format_address
from nexthop.routeserver import rules
from nexthop.routeserver.config import (
    ConfigError,
    PeeringConfig,
    RouteServerConfig,
    validate_peering,
    validate_route_server,
)
from nexthop.routeserver.instance import RoutePage, RouteServerInstance
from nexthop.routeserver.outputs import (
    Output,
    RoutesChanged,
    SendRouteRefresh,
    TeardownPeering,
)
from nexthop.routeserver.outputs import RouteServerWarning as WarningOutput
from nexthop.routeserver.rules import GatewayKind, GatewayRoute, SourceKind
from nexthop.routeserver.views import PeeringStatus, RouteRow

__all__ = ["INSTANCE_ROLES", "IN_0", "IN_1", "RegionOf", "RouteServer"]

IN_0 = "RouteServiceRole_IN_0"
IN_1 = "RouteServiceRole_IN_1"
INSTANCE_ROLES = (IN_0, IN_1)

RegionOf = Callable[[int], str | None]
"""Maps a next-hop address to the region of the load balancer frontend that owns
it, or None when the address is not a known frontend."""


def _check_window(skip: int, top: int | None) -> None:
    if skip < 0:
        raise ConfigError("skip", f"must be >= 0, got {skip}")
    if top is not None and top < 1:
        raise ConfigError("top", f"must be >= 1, got {top}")


class RouteServer:
    """The route server: configuration, two instances, and the views."""

    def __init__(
        self,
        config: RouteServerConfig,
        *,
        region: str = "",
        frontend_region: RegionOf | None = None,
    ) -> None:
        validate_route_server(config)
        self._config = config
        self._region = region
        self._frontend_region = frontend_region
        self._peerings: dict[str, PeeringConfig] = {}
        self._gateways: dict[str, tuple[GatewayKind, tuple[GatewayRoute, ...]]] = {}
        self._user_policy: ImportPolicy | None = None
        self._er_limit_warned = False
        self._total_limit_warned = False
        self.instances: dict[str, RouteServerInstance] = {
            role: RouteServerInstance(role, ip, config)
            for role, ip in zip(INSTANCE_ROLES, config.instance_ips, strict=True)
        }
        self._apply_next_hop_check()

    @property
    def config(self) -> RouteServerConfig:
        return self._config

    def set_frontend_region(self, frontend_region: RegionOf | None) -> None:
        """Where load balancer frontends are (for next hop validation): a running
        route server kept across topology changes gets the new topology's."""
        self._frontend_region = frontend_region

    # --- configuration -------------------------------------------------------

    def peerings(self) -> list[PeeringConfig]:
        return list(self._peerings.values())

    def add_peering(self, peering: PeeringConfig) -> None:
        """Configure a peering on both instances (``ConfigError`` if invalid)."""
        validate_peering(peering, self._config, self._peerings.values())
        if peering.name in self._gateways:
            raise ConfigError("name", f"{peering.name!r} is already a gateway name")
        self._peerings[peering.name] = peering
        for instance in self.instances.values():
            instance.add_peer(peering)

    def remove_peering(self, name: str, now: float) -> list[Output]:
        """Tear down both sessions (Cease / Peer De-configured) and withdraw the
        peering's routes everywhere."""
        self._require_peering(name)
        outputs: list[Output] = []
        for instance in self.instances.values():
            outputs += instance.remove_peer(name, now)
        del self._peerings[name]
        return self._finish(outputs)

    def reconfigure(self, now: float, **changes: object) -> list[Output]:
        """Change route server settings, e.g. ``branch_to_branch=True``.

        The new configuration is validated first (including against the current
        peerings); on ``ConfigError`` nothing changes."""
        try:
            candidate = replace(self._config, **changes)  # type: ignore[arg-type]
        except TypeError as exc:
            raise ConfigError("config", str(exc)) from None
        validate_route_server(candidate)
        for field in ("subnet", "asn"):
            if getattr(candidate, field) != getattr(self._config, field):
                raise ConfigError(field, "cannot change on a deployed route server")
        if len(self._peerings) > candidate.max_peers:
            msg = f"{len(self._peerings)} peerings exist, more than {candidate.max_peers}"
            raise ConfigError("max_peers", msg)
        self._config = candidate
        self._apply_next_hop_check()
        outputs: list[Output] = []
        for instance in self.instances.values():
            outputs += instance.reconfigure(candidate, now)
        return self._finish(outputs)

    def add_vnet_peering(self, address_spaces: Iterable[Prefix], now: float) -> list[Output]:
        """A spoke VNet peered with "use remote gateway or Route Server": its
        address spaces are advertised to the NVAs, and every NVA is asked for a
        ROUTE-REFRESH; a peer without the capability gets a hard reset."""
        spaces = tuple(dict.fromkeys((*self._config.peered_address_spaces, *address_spaces)))
        validate_route_server(replace(self._config, peered_address_spaces=spaces))
        resets, refreshes = self._refresh_all(now)
        return resets + self.reconfigure(now, peered_address_spaces=spaces) + refreshes

    def remove_vnet_peering(self, address_spaces: Iterable[Prefix], now: float) -> list[Output]:
        gone = set(address_spaces)
        spaces = tuple(p for p in self._config.peered_address_spaces if p not in gone)
        return self.reconfigure(now, peered_address_spaces=spaces)

    def set_import_policy(self, policy: ImportPolicy | None, now: float) -> list[Output]:
        """Beyond the cloud: an extra import policy run after loop prevention,
        reapplied to every Adj-RIB-In at once (no ROUTE-REFRESH needed)."""
        self._user_policy = policy
        outputs: list[Output] = []
        for instance in self.instances.values():
            outputs += instance.set_import_policy(self._import_policy(), now)
        return self._finish(outputs)

    # --- session facts -------------------------------------------------------

    def peer_established(
        self, instance: str, peering: str, negotiated: Negotiated, now: float
    ) -> list[Output]:
        """The session on ``instance`` is up: initial table and End-of-RIB."""
        config = self._require_peering(peering)
        if negotiated.peer_asn and negotiated.peer_asn != config.peer_asn:
            notification = Notification(
                code=ErrorCode.CEASE, subcode=CeaseSubcode.OTHER_CONFIGURATION_CHANGE
            )
            reason = f"peer ASN {negotiated.peer_asn} does not match configured {config.peer_asn}"
            return [
                TeardownPeering(
                    instance=instance, peering=peering, notification=notification, reason=reason
                )
            ]
        return self._finish(self._instance(instance).established(peering, negotiated, now))

    def peer_down(
        self, instance: str, peering: str, now: float, reason: str = "session down"
    ) -> list[Output]:
        self._require_peering(peering)
        return self._finish(self._instance(instance).down(peering, now, reason))

    def receive_update(
        self, instance: str, peering: str, update: Update, now: float
    ) -> list[Output]:
        self._require_peering(peering)
        return self._finish(self._instance(instance).receive_update(peering, update, now))

    def receive_route_refresh(self, instance: str, peering: str, now: float) -> list[Output]:
        """The NVA sent ROUTE-REFRESH: resend our whole table (RFC 2918 §4)."""
        self._require_peering(peering)
        return self._finish(self._instance(instance).route_refresh(peering, now))

    def refresh_due(self, instance: str, peering: str, now: float) -> list[Output]:
        """Answer a ROUTE-REFRESH that waited for its ``RefreshDue`` time."""
        self._require_peering(peering)
        return self._finish(self._instance(instance).refresh_due(peering, now))

    def set_refresh_interval(self, seconds: float) -> None:
        """Seconds between two answers to one peer's ROUTE-REFRESH (both instances;
        ``instance.REFRESH_INTERVAL`` by default)."""
        if seconds < 0:
            msg = f"the refresh interval must be >= 0 seconds, not {seconds}"
            raise ValueError(msg)
        for inst in self.instances.values():
            inst.refresh_interval = seconds

    # --- stepped jobs (``routeserver.jobs``) --------------------------------------

    def set_stepping(self, enabled: bool) -> list[Output]:
        """Queue bulk work for ``step_jobs`` (True) or run it within each call
        (False, the default); turning it off runs what is queued, whose
        outputs are returned."""
        for instance in self.instances.values():
            instance.stepped = enabled
        return [] if enabled else self.run_jobs()

    def has_jobs(self) -> bool:
        """True while queued bulk work remains."""
        return any(instance.has_jobs() for instance in self.instances.values())

    def step_jobs(self, budget: int) -> list[Output]:
        """Run queued jobs over at most ``budget`` prefixes per instance."""
        outputs: list[Output] = []
        for instance in self.instances.values():
            if instance.has_jobs():
                outputs += instance.step(budget)
        return self._finish(outputs)

    def run_jobs(self) -> list[Output]:
        """Run every queued job to its end."""
        outputs: list[Output] = []
        for instance in self.instances.values():
            outputs += instance.step(None)
        return self._finish(outputs)

    # --- virtual network gateways -----------------------------------------------

    def add_gateway_routes(
        self, name: str, kind: GatewayKind, routes: Iterable[GatewayRoute], now: float
    ) -> list[Output]:
        """Add or replace routes of gateway ``name`` (an ExpressRoute or VPN gateway)."""
        if kind not in (SourceKind.EXPRESS_ROUTE, SourceKind.VPN_GATEWAY):
            raise ConfigError("kind", f"{kind} is not a virtual network gateway kind")
        if name in self._peerings:
            raise ConfigError("name", f"{name!r} is already a peering name")
        old_kind, old = self._gateways.get(name, (kind, ()))
        if old_kind != kind:
            raise ConfigError("kind", f"gateway {name!r} is a {old_kind.value} gateway")
        merged = {r.prefix: r for r in old}
        merged.update({r.prefix: r for r in routes})
        return self._set_gateway(name, kind, tuple(merged.values()), now)

    def withdraw_gateway_routes(
        self, name: str, prefixes: Iterable[Prefix], now: float
    ) -> list[Output]:
        kind, old = self._require_gateway(name)
        gone = set(prefixes)
        return self._set_gateway(name, kind, tuple(r for r in old if r.prefix not in gone), now)

    def remove_gateway(self, name: str, now: float) -> list[Output]:
        self._require_gateway(name)
        del self._gateways[name]
        outputs: list[Output] = []
        for instance in self.instances.values():
            outputs += instance.remove_gateway(name, now)
        return self._finish(outputs)

    # --- views ---------------------------------------------------------------

    def vnet_routes(self) -> list[tuple[Prefix, tuple[int, ...]]]:
        """What the VNet is programmed with: prefix -> distinct ECMP next hops,
        the union over both instances, sorted by prefix."""
        merged: dict[Prefix, set[int]] = {}
        for instance in self.instances.values():
            for prefix, hops in instance.programmed().items():
                merged.setdefault(prefix, set()).update(hops)
        return [(prefix, tuple(sorted(hops))) for prefix, hops in sorted(merged.items())]

    def vnet_route(self, prefix: Prefix) -> tuple[int, ...]:
        """What the VNet is programmed with for ``prefix`` alone: the distinct ECMP
        next hops, the union over both instances, sorted; ``()`` if none. O(1) in
        the table size (the fabric re-reads each prefix a ``RoutesChanged`` names)."""
        first, second = (inst.programmed_hops(prefix) for inst in self.instances.values())
        if not second or first == second:
            return first
        if not first:
            return second
        return tuple(sorted({*first, *second}))

    def learned_routes(self, peering: str) -> dict[str, list[RouteRow]]:
        """``az network routeserver peering list-learned-routes`` (every row)."""
        self._require_peering(peering)
        return {role: inst.learned_routes(peering) for role, inst in self.instances.items()}

    def advertised_routes(self, peering: str) -> dict[str, list[RouteRow]]:
        """``az network routeserver peering list-advertised-routes`` (every row)."""
        self._require_peering(peering)
        return {role: inst.advertised_routes(peering) for role, inst in self.instances.items()}

    def learned_routes_page(
        self,
        peering: str,
        *,
        within: Prefix | None = None,
        skip: int = 0,
        top: int | None = None,
    ) -> dict[str, RoutePage]:
        """Per instance: rows ``skip``..``skip + top`` of ``learned_routes``
        (only those equal to or inside ``within`` when given) and how many rows
        match in all. Costs the page, not the table (``routeserver.paging``)."""
        self._require_peering(peering)
        _check_window(skip, top)
        return {
            role: inst.learned_page(peering, within=within, skip=skip, top=top)
            for role, inst in self.instances.items()
        }

    def advertised_routes_page(
        self,
        peering: str,
        *,
        within: Prefix | None = None,
        skip: int = 0,
        top: int | None = None,
    ) -> dict[str, RoutePage]:
        """``learned_routes_page`` for ``advertised_routes``."""
        self._require_peering(peering)
        _check_window(skip, top)
        return {
            role: inst.advertised_page(peering, within=within, skip=skip, top=top)
            for role, inst in self.instances.items()
        }

    def peering_status(self, peering: str) -> dict[str, PeeringStatus]:
        self._require_peering(peering)
        return {role: inst.status(peering) for role, inst in self.instances.items()}

    def rejected_routes(self, peering: str) -> dict[str, list[tuple[Path, str]]]:
        """Paths kept in Adj-RIB-In but refused by import policy, with the reason."""
        self._require_peering(peering)
        return {role: inst.rejected_routes(peering) for role, inst in self.instances.items()}

    def best_path(self, instance: str, prefix: Prefix) -> tuple[Path, Reason] | None:
        return self._instance(instance).best(prefix)

    def routes_to_gateways(self) -> dict[str, list[Path]]:
        """NVA routes offered to the ER/VPN gateways (empty without branch-to-branch)."""
        return {role: inst.routes_to_gateways() for role, inst in self.instances.items()}

    # --- internals -----------------------------------------------------------

    def _instance(self, role: str) -> RouteServerInstance:
        try:
            return self.instances[role]
        except KeyError:
            msg = f"no instance {role!r}; expected one of {INSTANCE_ROLES}"
            raise LocalProtocolError(msg) from None

    def _require_peering(self, name: str) -> PeeringConfig:
        try:
            return self._peerings[name]
        except KeyError:
            msg = f"no peering named {name!r}"
            raise LocalProtocolError(msg) from None

    def _require_gateway(self, name: str) -> tuple[GatewayKind, tuple[GatewayRoute, ...]]:
        try:
            return self._gateways[name]
        except KeyError:
            msg = f"no gateway named {name!r}"
            raise LocalProtocolError(msg) from None

    def _set_gateway(
        self, name: str, kind: GatewayKind, routes: tuple[GatewayRoute, ...], now: float
    ) -> list[Output]:
        self._gateways[name] = (kind, routes)
        outputs: list[Output] = []
        for instance in self.instances.values():
            outputs += instance.set_gateway_routes(name, kind, routes, now)
        return self._finish(outputs)

    def _import_policy(self) -> ImportPolicy:
        return rules.loop_prevention(self._config.asn, self._user_policy)

    def _refresh_all(self, now: float) -> tuple[list[Output], list[Output]]:
        """(hard resets for peers without route refresh, ROUTE-REFRESH requests)."""
        resets: list[Output] = []
        refreshes: list[Output] = []
        for role, instance in self.instances.items():
            for peering in self._peerings:
                negotiated = instance.negotiated(peering)
                if negotiated is None:
                    continue
                if negotiated.route_refresh:
                    refreshes.append(
                        SendRouteRefresh(
                            instance=role, peering=peering, afi=Afi.IPV4, safi=Safi.UNICAST
                        )
                    )
                    continue
                notification = Notification(
                    code=ErrorCode.CEASE, subcode=CeaseSubcode.ADMINISTRATIVE_RESET
                )
                reason = "hard reset: VNet peering changed and the peer lacks route refresh"
                resets.append(
                    TeardownPeering(
                        instance=role, peering=peering, notification=notification, reason=reason
                    )
                )
                resets += instance.down(peering, now, reason)
        return self._finish(resets), refreshes

    def _apply_next_hop_check(self) -> None:
        check = self._check_next_hop if self._config.next_hop_validation else None
        for instance in self.instances.values():
            instance.next_hop_check = check

    def _check_next_hop(self, next_hop: int) -> list[str]:
        """Beyond the cloud: warn about next hops Azure would not forward to."""
        warnings: list[str] = []
        text = format_address(Afi.IPV4, next_hop)
        spaces = self._config.local_prefixes
        if spaces and not any(s.contains_address(Afi.IPV4, next_hop) for s in spaces):
            warnings.append(f"next hop {text} is outside the VNet and peered VNets")
        if self._frontend_region is not None:
            region = self._frontend_region(next_hop)
            if region is not None and self._region and region != self._region:
                warnings.append(
                    f"next hop {text} is a load balancer frontend in {region}, "
                    f"not in the route server's region {self._region}"
                )
        return warnings

    def _finish(self, outputs: Sequence[Output]) -> list[Output]:
        """Append one ``RoutesChanged`` for VNet programming changes and the
        ExpressRoute route-limit warning."""
        result = list(outputs)
        drained = [d for i in self.instances.values() if (d := i.drain_programming_changes())]
        if drained:
            # One instance changed (the usual case): its list is in the order
            # the changes were made, which sorts cheaply when that was prefix order.
            changed: Iterable[Prefix] = (
                drained[0] if len(drained) == 1 else {p for d in drained for p in d}
            )
            result.append(RoutesChanged(prefixes=tuple(sorted(changed))))
        if self._gateways:
            result += self._expressroute_limit()
        else:  # no ExpressRoute gateway: nothing to warn about, re-arm the warning
            self._er_limit_warned = False
        result += self._total_limit()
        return result

    def _total_limit(self) -> list[Output]:
        """Routes from all connected resources (NVAs, gateways, VNet ranges) on
        the fuller instance against ``max_total_routes``; warns once per crossing."""
        config = self._config
        routes = max(inst.route_count() for inst in self.instances.values())
        limit = config.max_total_routes
        # The address spaces before deduplication bound ``local_prefixes``:
        # below the limit with them, no need to build it (once per UPDATE).
        spaces = len(config.vnet_address_spaces) + len(config.peered_address_spaces)
        count = routes + spaces if routes + spaces <= limit else routes + len(config.local_prefixes)
        if count <= limit:
            self._total_limit_warned = False
            return []
        if self._total_limit_warned:
            return []
        self._total_limit_warned = True
        return [WarningOutput(message=f"{count} routes exceed the total limit of {limit}")]

    def _expressroute_limit(self) -> list[Output]:
        """With branch-to-branch, the VNet ranges plus NVA routes sent toward an
        ExpressRoute circuit must stay within its limit (1,000 by default)."""
        has_er = any(kind == SourceKind.EXPRESS_ROUTE for kind, _ in self._gateways.values())
        over = False
        count = 0
        if has_er and self._config.branch_to_branch:
            offered = max(inst.gateway_offer_count() for inst in self.instances.values())
            count = len(self._config.local_prefixes) + offered
            over = count > self._config.expressroute_route_limit
        if over and not self._er_limit_warned:
            self._er_limit_warned = True
            return [
                WarningOutput(
                    message=f"{count} routes toward ExpressRoute exceed the limit of "
                    f"{self._config.expressroute_route_limit}; the circuit session would drop"
                )
            ]
        if not over:
            self._er_limit_warned = False
        return []
