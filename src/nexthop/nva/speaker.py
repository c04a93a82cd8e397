"""``NvaSpeaker``: what an NVA running the FRR-style configuration says and keeps in BGP.

Sans-IO, no clock: sessions come up and go down, UPDATEs arrive, and the speaker
answers what to send and what it learned. The model (``nexthop.world.bgp_model``)
and the lab's built-in NVA (``nexthop.lab.nva.BuiltinNva``) are meant to drive this
one object, so the policy below lives in one place.

* Outbound (RFC 4271 §9.2, §5.1): each ``network`` statement and each extra
  originated prefix (the branches the NVA fronts), ORIGIN IGP, NEXT_HOP the NVA's
  own address (§5.1.3), through the neighbor's outbound route-map (``set ip
  next-hop`` gives a third-party NEXT_HOP, route-server-spec §1.8), then the
  NVA's AS prepended for an eBGP neighbor (§5.1.2). IPv4 unicast only. Packed
  into UPDATEs within 4096 octets (``nexthop.bgp.rib.packing``).
* Inbound: withdrawals first (§9), then each announced prefix: dropped when the
  AS_PATH holds the NVA's own AS (§9.1.2 loop detection), else through the
  inbound route-map into the learned table. RFC 7606 treat-as-withdraw removes.
* ``session_down`` drops that neighbor's routes; ``best(address)`` is a longest
  prefix match over the learned table kept incrementally in a ``PrefixTrie``
  (O(changed prefixes) per UPDATE; a lookup probes only the lengths present).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from nexthop.bgp.constants import Origin
from nexthop.bgp.rib.adj_rib_out import Advertisement
from nexthop.bgp.rib.packing import pack_updates
from nexthop.bgp.rib.path import as_path_asns, prepend_as
from nexthop.bgp.wire.messages import PathAttributes, Update
from nexthop.net.prefix import Afi, Prefix
from nexthop.net.trie import PrefixTrie
from nexthop.nva.model import Direction, FrrConfig, Neighbor
from nexthop.nva.policy import Accepted, evaluate_neighbor

__all__ = ["LearnedRoute", "NvaSpeaker", "Outbound", "import_route"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LearnedRoute:
    """A route the NVA accepted from ``neighbor`` (after its inbound route-map)."""

    prefix: Prefix
    neighbor: int
    attributes: PathAttributes
    next_hop: int
    as_path: tuple[int, ...]
    route_map: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Outbound:
    """What the NVA sends one neighbor: routes (prefix -> attributes), the same
    packed into UPDATEs, and the prefixes its policy denied with the reason."""

    routes: dict[Prefix, PathAttributes]
    updates: list[Update]
    denied: dict[Prefix, str]


def import_route(
    config: FrrConfig, neighbor: int, prefix: Prefix, attributes: PathAttributes
) -> LearnedRoute | str:
    """One received route through the NVA's inbound rules: the own-AS loop check
    (RFC 4271 §9.1.2) then the neighbor's inbound route-map. A ``str`` is the
    reason it was dropped. Pure: also usable as a view over what a route server
    advertised to an NVA that nexthop does not run."""
    asn = config.bgp.asn if config.bgp is not None else None
    path = as_path_asns(attributes)
    if asn is not None and asn in path:
        return f"AS_PATH {' '.join(map(str, path))} holds own AS {asn}"
    result = evaluate_neighbor(config, neighbor, Direction.IN, prefix, attributes)
    if not isinstance(result, Accepted):
        return f"route-map {result.route_map} in denies it"
    accepted = result.attributes
    return LearnedRoute(
        prefix=prefix,
        neighbor=neighbor,
        attributes=accepted,
        next_hop=accepted.next_hop if accepted.next_hop is not None else neighbor,
        as_path=as_path_asns(accepted),
        route_map=result.route_map,
    )


class NvaSpeaker:
    """One NVA's BGP: built from its ``FrrConfig``, address and extra prefixes."""

    def __init__(
        self, config: FrrConfig, address: int, *, extra_prefixes: tuple[Prefix, ...] = ()
    ) -> None:
        if config.bgp is None:
            raise ValueError("NvaSpeaker: the configuration has no `router bgp`")
        self.config = config
        self.address = address
        self.asn = config.bgp.asn
        self.prefixes: tuple[Prefix, ...] = tuple(
            dict.fromkeys((*config.bgp.networks, *extra_prefixes))
        )
        self._neighbors: dict[int, Neighbor] = {n.address: n for n in config.bgp.neighbors}
        self._by_neighbor: dict[int, dict[Prefix, LearnedRoute]] = {}
        self._rejected: dict[int, dict[Prefix, str]] = {}
        self._table: PrefixTrie[dict[int, LearnedRoute]] = PrefixTrie()

    # --- configuration ------------------------------------------------------------

    @property
    def neighbors(self) -> tuple[int, ...]:
        return tuple(self._neighbors)

    def neighbor(self, address: int) -> Neighbor:
        found = self._neighbors.get(address)
        if found is None:
            raise KeyError(f"no neighbor {address} under router bgp {self.asn}")
        return found

    # --- outbound -----------------------------------------------------------------

    def outbound(self, neighbor: int) -> Outbound:
        """What to send ``neighbor`` on Established (RFC 4271 §5.1.2, §5.1.3, §9.2)."""
        peer = self.neighbor(neighbor)
        base = PathAttributes(origin=Origin.IGP, as_path=(), next_hop=self.address)
        routes: dict[Prefix, PathAttributes] = {}
        denied: dict[Prefix, str] = {}
        for prefix in self.prefixes:
            if prefix.afi != Afi.IPV4:
                denied[prefix] = "not IPv4 unicast"
                continue
            result = evaluate_neighbor(self.config, neighbor, Direction.OUT, prefix, base)
            if not isinstance(result, Accepted):
                where = "implicit deny" if result.sequence is None else f"deny {result.sequence}"
                denied[prefix] = f"route-map {result.route_map} out: {where}"
                continue
            attrs = result.attributes
            if peer.remote_as != self.asn:  # eBGP
                attrs = replace(attrs, as_path=prepend_as(attrs.as_path, self.asn))
            routes[prefix] = attrs
        adverts = {
            p: Advertisement(attributes=a, next_hops=(a.next_hop or self.address,))
            for p, a in routes.items()
        }
        return Outbound(routes=routes, updates=pack_updates(adverts), denied=denied)

    # --- sessions -------------------------------------------------------------------

    def session_up(self, neighbor: int) -> Outbound:
        """The session to ``neighbor`` is Established: an empty table for it, and
        what to send."""
        self.session_down(neighbor)
        self._by_neighbor[neighbor] = {}
        self._rejected[neighbor] = {}
        return self.outbound(neighbor)

    def session_down(self, neighbor: int) -> list[Prefix]:
        """The session is gone: drop every route learned from ``neighbor``."""
        self.neighbor(neighbor)
        routes = self._by_neighbor.pop(neighbor, None)
        self._rejected.pop(neighbor, None)
        if not routes:
            return []
        for prefix in routes:
            self._forget(neighbor, prefix)
        return list(routes)

    def is_established(self, neighbor: int) -> bool:
        return neighbor in self._by_neighbor

    def established(self) -> tuple[int, ...]:
        return tuple(self._by_neighbor)

    # --- inbound ----------------------------------------------------------------------

    def receive(self, neighbor: int, update: Update) -> None:
        """Apply one UPDATE from ``neighbor``; ignored when its session is not up."""
        routes = self._by_neighbor.get(neighbor)
        if routes is None:
            return
        rejected = self._rejected[neighbor]
        withdrawn = list(update.withdrawn)
        announced = list(update.nlri)
        if update.mp_unreach is not None and update.mp_unreach.afi == Afi.IPV4:
            withdrawn += update.mp_unreach.withdrawn
        if update.mp_reach is not None and update.mp_reach.afi == Afi.IPV4:
            announced += update.mp_reach.nlri
        attrs = update.attributes
        if attrs is None or update.treat_as_withdraw:
            withdrawn += announced
            announced = []
        for prefix in withdrawn:
            rejected.pop(prefix, None)
            if routes.pop(prefix, None) is not None:
                self._forget(neighbor, prefix)
        if attrs is None:
            return
        for prefix in announced:
            verdict = import_route(self.config, neighbor, prefix, attrs)
            if isinstance(verdict, str):
                rejected[prefix] = verdict
                if routes.pop(prefix, None) is not None:
                    self._forget(neighbor, prefix)
                continue
            rejected.pop(prefix, None)
            routes[prefix] = verdict
            held = self._table.get(prefix)
            if held is None:
                self._table.insert(prefix, {neighbor: verdict})
            else:
                held[neighbor] = verdict

    def _forget(self, neighbor: int, prefix: Prefix) -> None:
        held = self._table.get(prefix)
        if held is None:
            return
        held.pop(neighbor, None)
        if not held:
            self._table.remove(prefix)

    # --- reads --------------------------------------------------------------------------

    def routes(self, neighbor: int) -> Mapping[Prefix, LearnedRoute]:
        """Routes accepted from ``neighbor`` (empty while its session is down)."""
        return self._by_neighbor.get(neighbor, {})

    def rejected(self, neighbor: int) -> Mapping[Prefix, str]:
        """Prefixes ``neighbor`` sent that the NVA dropped, with the reason."""
        return self._rejected.get(neighbor, {})

    def learned(self) -> Iterator[LearnedRoute]:
        for routes in self._by_neighbor.values():
            yield from routes.values()

    def best(self, address: int) -> LearnedRoute | None:
        """The NVA's BGP route for ``address``: longest prefix, then the shortest
        AS_PATH, then the lower next hop and neighbor (RFC 4271 §9.1.2.2, simplified)."""
        match = self._table.longest_match(Afi.IPV4, address)
        if match is None:
            return None
        return min(match[1].values(), key=lambda r: (len(r.as_path), r.next_hop, r.neighbor))
