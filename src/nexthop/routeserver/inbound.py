"""Reading an UPDATE the way the route server needs it (RFC 4271 §4.3, RFC 4760
§3-4, RFC 7911 §3), and the max-prefix NOTIFICATION (RFC 4486 §4).

IPv4 unicast NLRI come from the classic fields with the NEXT_HOP attribute;
other families from MP_REACH_NLRI/MP_UNREACH_NLRI with their own next hops.
Without ADD-PATH every path id is 0.

Two validity checks on what an NVA (always an external peer) announces:

* ``first_as_problem`` (RFC 4271 §6.3: "If the UPDATE message is received from
  an external peer, the local system MAY check whether the leftmost ... AS in the
  AS_PATH attribute is equal to the autonomous system number of the peer that
  sent the message"; an empty AS_PATH has no such AS). The RFC names the
  outcome Malformed AS_PATH and RFC 7606 §7.2 revises it: "An UPDATE message
  with a malformed AS_PATH attribute SHALL be handled using the approach of
  'treat-as-withdraw'". So no NOTIFICATION: the UPDATE's NLRI are withdrawn.
  Transparency (an IXP route server not prepending its AS, RFC 7947 §2.2.2)
  concerns what a route server sends; here the route server receives and the
  NVA sends, and an NVA prepends its AS on an eBGP session (RFC 4271 §5.1.2).
  FRR's ``enforce-first-as`` (on by default) makes the same check.
* ``next_hop_problem`` (RFC 4271 §6.3 semantic NEXT_HOP checks: "It MUST NOT be
  the IP address of the receiving speaker"; §5.1.3: the next hop is the address
  of the router to forward to, so 0.0.0.0/8, loopback, multicast, reserved and
  broadcast addresses are no forwarding target): "the error SHOULD be logged, and
  the route SHOULD be ignored. In this case, a NOTIFICATION message SHOULD NOT be
  sent, and the connection SHOULD NOT be closed." Ignored here means kept in the
  Adj-RIB-In as rejected with the reason (counted as a rejected route, never
  selected, programmed into the VNet or reflected), like a loop-prevention
  rejection; a path the peer announced earlier for the prefix is replaced, so it
  is no longer used either. Both instance addresses count as the route server's
  own: NVAs peer with both and the VNet cannot forward to either.
"""

from __future__ import annotations

from collections.abc import Collection

from nexthop.bgp.constants import AsPathSegmentType, CeaseSubcode, ErrorCode
from nexthop.bgp.rib.adj_rib_in import AttributePolicy
from nexthop.bgp.wire.messages import AsPathSegment, Notification, PathAttributes, Update
from nexthop.net.prefix import Afi, Prefix, format_address, parse_prefix

__all__ = [
    "AnnouncedRun",
    "announced_runs",
    "as_sequence",
    "first_as_problem",
    "ignored_route",
    "max_prefix_notification",
    "next_hop_problem",
    "withdrawn_routes",
]

# Addresses that are never a forwarding target (RFC 4271 §5.1.3, §6.3), with the
# word the reason uses. IPv4: RFC 1122 §3.2.1.3 ("this network", loopback),
# RFC 5771 (multicast), RFC 1112 §4 (reserved class E and the limited broadcast).
_NOT_A_HOST: dict[int, tuple[tuple[Prefix, str], ...]] = {
    Afi.IPV4: (
        (parse_prefix("0.0.0.0/8"), "unspecified"),
        (parse_prefix("127.0.0.0/8"), "loopback"),
        (parse_prefix("224.0.0.0/4"), "multicast"),
        (parse_prefix("240.0.0.0/4"), "reserved or broadcast"),
    ),
    Afi.IPV6: (  # RFC 4291 §2.5.2-2.5.3, §2.7
        (parse_prefix("::/128"), "unspecified"),
        (parse_prefix("::1/128"), "loopback"),
        (parse_prefix("ff00::/8"), "multicast"),
    ),
}


def max_prefix_notification(afi: int, safi: int, limit: int) -> Notification:
    """RFC 4486 §4: Cease / Maximum Number of Prefixes Reached, data = AFI (2),
    SAFI (1), the limit (4)."""
    data = afi.to_bytes(2, "big") + safi.to_bytes(1, "big") + limit.to_bytes(4, "big")
    return Notification(
        code=ErrorCode.CEASE, subcode=CeaseSubcode.MAXIMUM_NUMBER_OF_PREFIXES_REACHED, data=data
    )


AnnouncedRun = tuple[tuple[Prefix, ...], int, tuple[int, ...]]
"""NLRI that share a path id and next hops: (prefixes, path id, next hops)."""


def announced_runs(update: Update) -> list[AnnouncedRun]:
    """The announced NLRI (IPv4 field, then MP_REACH) as runs of consecutive
    prefixes with the same path id and next hops: one run per NLRI field
    without ADD-PATH, so nothing is built per prefix."""
    runs: list[AnnouncedRun] = []
    if update.nlri:
        next_hop = update.attributes.next_hop if update.attributes is not None else None
        hops = () if next_hop is None else (next_hop,)
        _add_runs(runs, update.nlri, update.nlri_path_ids, hops)
    mp = update.mp_reach
    if mp is not None and mp.nlri:
        _add_runs(runs, mp.nlri, mp.path_ids, mp.next_hops)
    return runs


def _add_runs(
    runs: list[AnnouncedRun],
    nlri: tuple[Prefix, ...],
    ids: tuple[int, ...],
    hops: tuple[int, ...],
) -> None:
    if not ids:
        runs.append((nlri, 0, hops))
        return
    if len(ids) != len(nlri):
        msg = f"{len(ids)} path ids for {len(nlri)} NLRI"
        raise ValueError(msg)
    start = 0
    for i in range(1, len(nlri) + 1):
        if i == len(nlri) or ids[i] != ids[start]:
            runs.append((nlri[start:i], ids[start], hops))
            start = i


def as_sequence(asns: tuple[int, ...]) -> tuple[AsPathSegment, ...]:
    return (AsPathSegment(AsPathSegmentType.AS_SEQUENCE, asns),) if asns else ()


def withdrawn_routes(update: Update) -> list[tuple[Prefix, int]]:
    ids = update.withdrawn_path_ids or (0,) * len(update.withdrawn)
    out = list(zip(update.withdrawn, ids, strict=True))
    if update.mp_unreach is not None:
        mu = update.mp_unreach
        ids = mu.path_ids or (0,) * len(mu.withdrawn)
        out.extend(zip(mu.withdrawn, ids, strict=True))
    return out


def first_as_problem(attributes: PathAttributes, peer_asn: int) -> str | None:
    """Why an external peer's AS_PATH fails the leftmost-AS check (RFC 4271 §6.3),
    or None when its first segment is an AS_SEQUENCE starting with ``peer_asn``.
    The caller treats the UPDATE as withdraw (RFC 7606 §7.2; module docstring)."""
    segments = attributes.as_path
    if not segments or not segments[0].asns:
        return f"empty AS_PATH from external peer AS {peer_asn}"
    first = segments[0]
    if first.type != AsPathSegmentType.AS_SEQUENCE:
        return (
            f"AS_PATH from external peer AS {peer_asn} starts with a segment of type {first.type}"
        )
    if first.asns[0] != peer_asn:
        return f"leftmost AS {first.asns[0]} in AS_PATH is not the peer's AS {peer_asn}"
    return None


_IPV4 = int(Afi.IPV4)
_V4_BAD_FIRST_OCTETS = frozenset({0, 127})  # and everything from 224 up


def next_hop_problem(afi: int, next_hop: int, own: Collection[int]) -> str | None:
    """Why ``next_hop`` is semantically incorrect (RFC 4271 §6.3; module
    docstring), or None. ``own``: the route server's IPv4 addresses. Called once
    per UPDATE (run of NLRI): the usual IPv4 answer costs two comparisons."""
    if afi == _IPV4:
        first = next_hop >> 24
        if first < 224 and first not in _V4_BAD_FIRST_OCTETS and next_hop not in own:
            return None
    if afi == Afi.IPV4 and next_hop in own:
        return f"NEXT_HOP {format_address(afi, next_hop)} is the route server's own address"
    for block, kind in _NOT_A_HOST.get(afi, ()):
        if block.contains_address(afi, next_hop):
            return f"NEXT_HOP {format_address(afi, next_hop)} is {kind}, not a host address"
    return None


def ignored_route(reason: str) -> AttributePolicy:
    """An import policy that rejects with ``reason`` whatever it is given: how a
    route with a semantically incorrect next hop is stored (kept, not used)."""
    return AttributePolicy(lambda _attributes: reason)
