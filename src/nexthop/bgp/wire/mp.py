"""MP_REACH_NLRI and MP_UNREACH_NLRI attribute values (IPv4/IPv6 unicast/multicast).

RFC 4760 §3/§4 (layout), RFC 2545 §3 (IPv6 next hop: global, optionally followed
by link-local, i.e. 16 or 32 octets), RFC 7911 §3 (path ids per negotiated family),
RFC 7606 §7.11 (a malformed MP attribute resets the session; the attribute table
carries that decision). Families we do not implement, and families the session
did not negotiate, are reported as attribute-discard so the rest of the UPDATE
is still usable: RFC 4760 §8 makes exchanging a family conditional on both
speakers advertising it ("To have a bi-directional exchange of routing
information for a particular <AFI, SAFI> between a pair of BGP speakers, each
such speaker MUST advertise to the other ... the capability to support that
particular <AFI, SAFI> route"), so NLRI of any other family are not learned.

    MP_REACH_NLRI                                 MP_UNREACH_NLRI
    +---------------------------------------+     +-------------------------------+
    | AFI (2) | SAFI (1)                    |     | AFI (2) | SAFI (1)            |
    | Length of Next Hop (1) | Next Hop     |     | Withdrawn Routes (variable)   |
    | Reserved (1)                          |     +-------------------------------+
    | NLRI (variable)                       |
    +---------------------------------------+
"""

from __future__ import annotations

from nexthop.bgp.wire.errors import AttributeMalformedError, ErrorHandling, MessageError
from nexthop.bgp.wire.messages import MpReach, MpUnreach
from nexthop.bgp.wire.negotiated import Negotiated
from nexthop.bgp.wire.nlri import decode_prefixes, encode_prefixes
from nexthop.net.prefix import Afi, Prefix, Safi

__all__ = [
    "SUPPORTED_FAMILIES",
    "decode_mp_reach",
    "decode_mp_unreach",
    "encode_mp_reach",
    "encode_mp_unreach",
]

SUPPORTED_FAMILIES = frozenset(
    (afi, safi) for afi in (Afi.IPV4, Afi.IPV6) for safi in (Safi.UNICAST, Safi.MULTICAST)
)
_ADDRESS_OCTETS: dict[int, int] = {Afi.IPV4: 4, Afi.IPV6: 16}


def _family(value: bytes, name: str, n: Negotiated) -> tuple[int, int]:
    if len(value) < 3:
        msg = f"{name} shorter than AFI/SAFI"
        raise AttributeMalformedError(msg)
    afi, safi = int.from_bytes(value[0:2], "big"), value[2]
    if (afi, safi) not in SUPPORTED_FAMILIES:
        msg = f"{name} for unsupported family afi={afi} safi={safi}"
        raise AttributeMalformedError(msg, ErrorHandling.ATTRIBUTE_DISCARD)
    if (afi, safi) not in n.families:
        msg = f"{name} for afi={afi} safi={safi}, not negotiated on this session (RFC 4760 §8)"
        raise AttributeMalformedError(msg, ErrorHandling.ATTRIBUTE_DISCARD)
    return afi, safi


def decode_mp_reach(value: bytes, n: Negotiated) -> MpReach:
    afi, safi = _family(value, "MP_REACH_NLRI", n)
    if len(value) < 5:
        msg = "MP_REACH_NLRI truncated before next hop length"
        raise AttributeMalformedError(msg)
    nh_len = value[3]
    size = _ADDRESS_OCTETS[afi]
    if nh_len not in (size, 2 * size) or (afi == Afi.IPV4 and nh_len != size):
        msg = f"MP_REACH_NLRI next hop length {nh_len} invalid for afi {afi}"
        raise AttributeMalformedError(msg)
    if len(value) < 5 + nh_len:
        msg = "MP_REACH_NLRI next hop overruns the attribute"
        raise AttributeMalformedError(msg)
    nh = value[4 : 4 + nh_len]
    next_hops = tuple(int.from_bytes(nh[i : i + size], "big") for i in range(0, nh_len, size))
    # The reserved octet (formerly SNPA count) is ignored on receipt (RFC 4760 §3).
    nlri, path_ids = decode_prefixes_checked(value[5 + nh_len :], afi, safi, n, "MP_REACH_NLRI")
    return MpReach(afi=afi, safi=safi, next_hops=next_hops, nlri=nlri, path_ids=path_ids)


def decode_prefixes_checked(
    data: bytes, afi: int, safi: int, n: Negotiated, name: str
) -> tuple[tuple[Prefix, ...], tuple[int, ...]]:
    try:
        return decode_prefixes(data, afi, (afi, safi) in n.add_path_receive)
    except MessageError as exc:
        msg = f"{name} NLRI: {exc.reason}"
        raise AttributeMalformedError(msg) from None


def decode_mp_unreach(value: bytes, n: Negotiated) -> MpUnreach:
    afi, safi = _family(value, "MP_UNREACH_NLRI", n)
    withdrawn, path_ids = decode_prefixes_checked(value[3:], afi, safi, n, "MP_UNREACH_NLRI")
    return MpUnreach(afi=afi, safi=safi, withdrawn=withdrawn, path_ids=path_ids)


def encode_mp_reach(mp: MpReach, n: Negotiated) -> bytes:
    size = _ADDRESS_OCTETS[mp.afi]
    nh = b"".join(h.to_bytes(size, "big") for h in mp.next_hops)
    add_path = (mp.afi, mp.safi) in n.add_path_send
    return (
        mp.afi.to_bytes(2, "big")
        + bytes((mp.safi, len(nh)))
        + nh
        + b"\x00"
        + encode_prefixes(mp.nlri, mp.path_ids, add_path)
    )


def encode_mp_unreach(mp: MpUnreach, n: Negotiated) -> bytes:
    add_path = (mp.afi, mp.safi) in n.add_path_send
    return (
        mp.afi.to_bytes(2, "big")
        + bytes((mp.safi,))
        + encode_prefixes(mp.withdrawn, mp.path_ids, add_path)
    )
