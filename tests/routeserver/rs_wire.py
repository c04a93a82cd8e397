"""A route server wired to real ``Session``s over in-memory links (the session
contract: events in, outputs carried out), driven by a ``ManualClock``.

For each (instance, peering) there is an NVA-side session (active) and a route
server-side session (passive). ``pump`` moves bytes both ways until quiet and
feeds every route server-side event into ``RouteServer``; the outputs go back
to the matching session (``send_update``, ``teardown``, ``send_route_refresh``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nexthop.bgp.fsm import (
    DownReason,
    Event,
    RouteRefreshReceived,
    Session,
    SessionConfig,
    SessionDown,
    SessionEstablished,
    UpdateReceived,
)
from nexthop.bgp.wire.messages import Update
from nexthop.clock import ManualClock
from nexthop.net.prefix import Afi, format_address
from nexthop.routeserver import (
    AZURE_ASN,
    INSTANCE_ROLES,
    Output,
    PeeringConfig,
    RouteServer,
    SendRouteRefresh,
    SendUpdate,
    TeardownPeering,
)


@dataclass
class Link:
    role: str
    peering: PeeringConfig
    nva: Session
    ars: Session
    nva_events: list[Event] = field(default_factory=list)

    def received(self) -> list[Update]:
        return [e.update for e in self.nva_events if isinstance(e, UpdateReceived)]

    def downs(self) -> list[SessionDown]:
        return [e for e in self.nva_events if isinstance(e, SessionDown)]


class Fabric:
    def __init__(self, rs: RouteServer, clock: ManualClock) -> None:
        self.rs = rs
        self.clock = clock
        self.links: dict[tuple[str, str], Link] = {}

    def connect(self, peering: PeeringConfig, bgp_id: int) -> None:
        """Configure ``peering`` and bring its session up on both instances."""
        self.rs.add_peering(peering)
        for role, ip in zip(INSTANCE_ROLES, self.rs.config.instance_ips, strict=True):
            nva = Session(
                SessionConfig(
                    local_asn=peering.peer_asn,
                    peer_asn=AZURE_ASN,
                    bgp_id=bgp_id,
                    peer_address=format_address(Afi.IPV4, ip),
                )
            )
            ars = Session(
                SessionConfig(
                    local_asn=AZURE_ASN,
                    peer_asn=peering.peer_asn,
                    bgp_id=ip,
                    peer_address=peering.peer_ip,
                    passive=True,
                )
            )
            link = Link(role, peering, nva, ars)
            self.links[(role, peering.name)] = link
            now = self.clock.now()
            self._ars_events(link, ars.start(now))
            link.nva_events += nva.start(now)
            link.nva_events += nva.connection_made(now)
            self._ars_events(link, ars.connection_made(now))
        self.pump()

    def nva_sends(
        self, peering: str, update: Update, roles: tuple[str, ...] = INSTANCE_ROLES
    ) -> None:
        for role in roles:
            self.links[(role, peering)].nva.send_update(update)
        self.pump()

    def pump(self) -> None:
        now = self.clock.now()
        busy = True
        while busy:
            busy = False
            for link in self.links.values():
                if data := link.nva.data_to_send():
                    busy = True
                    self._ars_events(link, link.ars.receive_data(data, now))
                if data := link.ars.data_to_send():
                    busy = True
                    link.nva_events += link.nva.receive_data(data, now)

    def _ars_events(self, link: Link, events: list[Event]) -> None:
        now = self.clock.now()
        name = link.peering.name
        for event in events:
            match event:
                case SessionEstablished(negotiated=negotiated):
                    self._carry(self.rs.peer_established(link.role, name, negotiated, now))
                case UpdateReceived(update=update):
                    self._carry(self.rs.receive_update(link.role, name, update, now))
                case RouteRefreshReceived():
                    self._carry(self.rs.receive_route_refresh(link.role, name, now))
                case SessionDown(reason=reason):
                    if self.rs.peering_status(name)[link.role].state.value == "Established":
                        self._carry(self.rs.peer_down(link.role, name, now, reason.value))

    def _carry(self, outputs: list[Output]) -> None:
        now = self.clock.now()
        for output in outputs:
            match output:
                case SendUpdate(instance=role, peering=name, update=update):
                    self.links[(role, name)].ars.send_update(update)
                case SendRouteRefresh(instance=role, peering=name, afi=afi, safi=safi):
                    self.links[(role, name)].ars.send_route_refresh(afi, safi)
                case TeardownPeering(instance=role, peering=name, notification=notification):
                    link = self.links[(role, name)]
                    reason = DownReason.MAX_PREFIX if output.idle_hold else DownReason.ADMIN_STOP
                    self._ars_events(link, link.ars.teardown(now, notification, reason))
                case _:
                    pass
