"""Reading an UPDATE the way the route server needs it (RFC 4271 §4.3, RFC 4760
§3-4, RFC 7911 §3), and the max-prefix NOTIFICATION (RFC 4486 §4).

IPv4 unicast NLRI come from the classic fields with the NEXT_HOP attribute;
other families from MP_REACH_NLRI/MP_UNREACH_NLRI with their own next hops.
Without ADD-PATH every path id is 0.
"""

from __future__ import annotations

from nexthop.bgp.constants import AsPathSegmentType, CeaseSubcode, ErrorCode
from nexthop.bgp.wire.messages import AsPathSegment, Notification, Update
from nexthop.net.prefix import Prefix

__all__ = [
    "AnnouncedRun",
    "announced_runs",
    "as_sequence",
    "max_prefix_notification",
    "withdrawn_routes",
]


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
