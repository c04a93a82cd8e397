"""The outbound side of an instance (RFC 4271 §9.2): what NVAs are sent.

The outbound table (prefix -> advertisement and the source it must not go
back to) is the same for every peer of an instance, so it is built once per
change; ``Exporter`` turns a route into its advertisement once per interned
attribute set. Per peer the table is diffed against its Adj-RIB-Out (split
horizon) and only the changes are packed, reusing UPDATEs already packed for
another peer with the same changes; the initial table ends with End-of-RIB
(RFC 4724 §2).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from nexthop.bgp.rib.adj_rib_out import Advertisement
from nexthop.bgp.rib.packing import end_of_rib, pack_updates
from nexthop.bgp.rib.path import AttributeInterner, Route
from nexthop.bgp.wire.messages import PathAttributes, Update
from nexthop.net.prefix import Afi, Prefix
from nexthop.routeserver import rules
from nexthop.routeserver.outputs import Output, RouteServerWarning, SendUpdate
from nexthop.routeserver.peer import Peer

__all__ = [
    "PRUNE_FLOOR",
    "Exporter",
    "OutboundTable",
    "Packed",
    "end_of_rib_output",
    "not_sent",
    "outbound_table",
    "sync_peer",
    "whole_table",
    "without_route",
]

PRUNE_FLOOR = 1024  # never prune below this many interned attribute sets

OutboundTable = dict[Prefix, tuple[Advertisement, str]]
"""Prefix -> (the advertisement, the peer it came from and must not go back to)."""

Packed = dict[
    tuple[int, bool, tuple[Prefix, ...]], tuple[dict[Prefix, Advertisement], list[Update]]
]
"""(max message length, 4-octet AS, withdrawals) -> (announcements, the UPDATEs
packed for them)."""


class Exporter:
    """``rules.export_advertisement`` for an instance's AS and address, and
    the advertisement of its VNet ranges, both cached."""

    __slots__ = ("_cache", "_interner", "_local", "asn", "local_ip")

    def __init__(self, asn: int, local_ip: int, interner: AttributeInterner) -> None:
        self.asn = asn
        self.local_ip = local_ip
        self._interner = interner
        # The advertisement for each interned attribute set (keyed by identity,
        # the set kept alive in the value): every prefix of an UPDATE shares one.
        self._cache: dict[int, tuple[PathAttributes, Advertisement | None]] = {}
        self._local: Advertisement | None = None  # VNet ranges as we send them

    def reset(self, asn: int) -> None:
        """Forget everything (the configuration changed)."""
        self.asn = asn
        self._cache.clear()
        self._local = None

    def local(self) -> Advertisement:
        """What the VNet ranges are sent as."""
        local_advert = self._local
        if local_advert is None:
            local_advert = rules.local_advertisement(self.asn, self.local_ip)
            self._local = local_advert
        return local_advert

    def export(self, path: Route) -> Advertisement | None:
        """``rules.export_advertisement`` (None for NO_ADVERTISE), computed once
        per attribute set (it depends only on the attributes, our AS and our
        address) and cached by the attributes' identity."""
        attrs = path.attributes
        hit = self._cache.get(id(attrs))
        if hit is not None and hit[0] is attrs:
            return hit[1]
        if len(self._cache) > max(PRUNE_FLOOR, 2 * len(self._interner)):
            self._cache.clear()
        advert = None
        if not rules.is_no_advertise(attrs):
            advert = rules.export_advertisement(path, self.asn, self.local_ip)
        self._cache[id(attrs)] = (attrs, advert)
        return advert


def outbound_table(
    prefixes: list[Prefix],
    best: Iterable[Route | None],
    *,
    local: frozenset[Prefix],
    local_advert: Advertisement,
    gateways: Collection[str],
    hide_gateways: bool,
    nva_offer: Callable[[Prefix], Route | None],
    export: Callable[[Route], Advertisement | None],
) -> OutboundTable:
    """Prefix -> (what NVAs are sent, the source it must not go back to), for
    ``prefixes`` and their Loc-RIB ``best`` routes (in the same order).
    ``local``: the VNet ranges, sent as ``local_advert``; a best route from
    one of ``gateways`` is replaced by the NVA offer when ``hide_gateways``."""
    table: OutboundTable = {}
    ipv4 = Afi.IPV4
    local_entry = (local_advert, "")
    # Prefixes of one UPDATE come in a row with one shared route: its table
    # entry is made once and shared.
    last: Route | None = None
    entry: tuple[Advertisement, str] | None = None
    for prefix, route in zip(prefixes, best, strict=True):
        if prefix.afi != ipv4:
            continue  # Route Server is IPv4 unicast only
        if prefix in local:
            table[prefix] = local_entry
            continue
        if route is None:
            continue
        if hide_gateways and route.source in gateways:
            offer = nva_offer(prefix)
            advert = None if offer is None else export(offer)
            if offer is not None and advert is not None:
                table[prefix] = (advert, offer.source)
            continue
        if route is not last:
            last = route
            advert = export(route)
            entry = None if advert is None else (advert, route.source)
        if entry is not None:
            table[prefix] = entry
    return table


def without_route(scope: Collection[Prefix], table: OutboundTable) -> list[Prefix]:
    """The prefixes of ``scope`` the outbound table has no entry for."""
    if len(table) == len(scope):  # the table only holds prefixes of the scope
        return []
    return [prefix for prefix in scope if prefix not in table]


def whole_table(
    local_prefixes: Iterable[Prefix], held: Iterable[Prefix], peers: Iterable[Peer]
) -> set[Prefix]:
    """What a full resync of ``peers`` looks at: the VNet ranges, every
    Loc-RIB prefix (``held``), and whatever those peers were told before."""
    scope = set(local_prefixes)
    scope.update(held)
    for peer in peers:
        scope.update(peer.adj_out.advertised())
    return scope


def sync_peer(
    role: str,
    peer: Peer,
    gone: Iterable[Prefix],
    table: OutboundTable,
    packed: Packed | None = None,
    *,
    resend: bool = False,
) -> list[Output]:
    """Send ``peer`` what changed: ``table`` for the prefixes that have an
    outbound route, ``gone`` for those that lost it. ``packed``: the UPDATEs
    already packed for other peers this round, reused when this peer's
    changes are the same (clients that are not the source of a change
    usually get identical ones). ``resend``: announce the unchanged routes
    of ``table`` too (a ROUTE-REFRESH answer, RFC 2918 §4)."""
    name = peer.config.name
    announce, withdraw = peer.adj_out.diff_sourced(table, name, gone)
    if resend:
        announce = {p: a for p, (a, src) in table.items() if src != name}
    if not announce and not withdraw:
        return []
    assert peer.negotiated is not None
    max_length, asn4 = peer.negotiated.max_message_length, peer.negotiated.asn4
    key = (max_length, asn4, withdraw)
    hit = None if packed is None else packed.get(key)
    if hit is not None and hit[0] == announce:
        updates = hit[1]
    else:
        unsendable: list[Prefix] = []
        updates = pack_updates(
            announce, withdraw, max_message_length=max_length, asn4=asn4, unsendable=unsendable
        )
        if unsendable:
            return not_sent(role, peer, announce, withdraw, unsendable)
        if packed is not None:
            packed[key] = (announce, updates)
    peer.adj_out.apply(announce, withdraw)
    return [SendUpdate(instance=role, peering=peer.config.name, update=u) for u in updates]


def not_sent(
    role: str,
    peer: Peer,
    announce: dict[Prefix, Advertisement],
    withdraw: tuple[Prefix, ...],
    unsendable: list[Prefix],
) -> list[Output]:
    """``sync_peer`` when some announcements cannot fit in one UPDATE for this
    peer (RFC 4271 §9.2: MUST NOT advertise; RFC 8654 §4 for a peer without the
    Extended Message capability): they are left out of its Adj-RIB-Out and
    withdrawn where the peer holds an older route for them, counted in
    ``Peer.routes_not_sent`` and reported once per call; the rest is sent."""
    assert peer.negotiated is not None
    max_length, asn4 = peer.negotiated.max_message_length, peer.negotiated.asn4
    left_out = set(unsendable)
    announce = {p: a for p, a in announce.items() if p not in left_out}
    stale = [p for p in unsendable if peer.adj_out.get(p) is not None]
    if stale:
        withdraw = tuple(sorted((*withdraw, *stale)))
    updates = pack_updates(announce, withdraw, max_message_length=max_length, asn4=asn4)
    peer.adj_out.apply(announce, withdraw)
    peer.routes_not_sent += len(unsendable)
    name = peer.config.name
    rfc = "RFC 4271 §9.2" if peer.negotiated.extended_message else "RFC 4271 §9.2, RFC 8654 §4"
    warning = RouteServerWarning(
        instance=role,
        peering=name,
        message=(
            f"{len(unsendable)} route(s) not sent, e.g. {min(unsendable)}: their path"
            f" attributes do not fit in a {max_length}-octet UPDATE ({rfc})"
        ),
    )
    return [warning, *(SendUpdate(instance=role, peering=name, update=u) for u in updates)]


def end_of_rib_output(role: str, peer: Peer) -> list[Output]:
    """End-of-RIB for IPv4 unicast, after the initial table (RFC 4724 §2)."""
    return [SendUpdate(instance=role, peering=peer.config.name, update=end_of_rib(Afi.IPV4))]
