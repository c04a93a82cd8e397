"""Parser for the FRR/Cisco-style BGP configuration subset an NVA runs.

Supported statements (indentation is not significant; a top-level statement
leaves the current block, as in FRR's vtysh; ``!`` and ``#`` lines are comments)::

    router bgp ASN
     bgp router-id A.B.C.D
     no bgp ebgp-requires-policy | no bgp network import-check
     neighbor X remote-as ASN            (must come before other ``neighbor X`` lines)
     neighbor X ebgp-multihop [TTL] | next-hop-self | activate | description TEXT
     neighbor X route-map NAME in|out
     network A.B.C.D/M | network A.B.C.D mask M.M.M.M
     address-family ipv4 [unicast] ... exit-address-family
    ip prefix-list NAME [seq N] permit|deny PREFIX|any [ge G] [le L]
    ip prefix-list NAME description TEXT
    route-map NAME permit|deny SEQ
     match ip address prefix-list NAME
     set ip next-hop A.B.C.D
     set as-path prepend ASN [ASN...]
     set community none | COMMUNITY [COMMUNITY...] [additive]
     description TEXT
    exit | end | frr version|defaults ... | hostname ... | log ...   (accepted, no effect)

Semantics follow FRR: a prefix-list entry without ``seq`` gets the next multiple
of 5; re-entering ``route-map NAME permit N`` continues that entry; a later
``set``/``match`` of the same kind replaces the earlier one. Unlike FRR, a
reference to an undefined route-map or prefix-list is an error (FRR would
silently deny everything), because a topology validator should say so.
Every error is a ``FrrConfigError`` carrying the 1-based line number.
Community syntax is RFC 1997 ``AA:NN`` or a well-known name.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from nexthop.bgp.constants import WellKnownCommunity
from nexthop.net.prefix import Afi, Prefix
from nexthop.nva.model import (
    Action,
    BgpRouter,
    FrrConfig,
    Neighbor,
    PrefixList,
    PrefixListEntry,
    RouteMap,
    RouteMapEntry,
    SetAction,
    SetAsPathPrepend,
    SetCommunity,
    SetNextHop,
)

__all__ = ["FrrConfigError", "parse_community", "parse_frr_config"]

MAX_ASN = 0xFFFFFFFF
MAX_ROUTE_MAP_SEQ = 65535
MAX_PREFIX_LIST_SEQ = 4294967294
PREFIX_LIST_SEQ_STEP = 5
DEFAULT_MULTIHOP_TTL = 255

COMMUNITY_NAMES = {
    "no-export": WellKnownCommunity.NO_EXPORT,
    "no-advertise": WellKnownCommunity.NO_ADVERTISE,
    "local-as": WellKnownCommunity.NO_EXPORT_SUBCONFED,
    "no-peer": WellKnownCommunity.NO_PEER,
    "graceful-shutdown": WellKnownCommunity.GRACEFUL_SHUTDOWN,
    "blackhole": WellKnownCommunity.BLACKHOLE,
}

IGNORED_TOP_LEVEL = ("frr", "hostname", "log", "service", "password", "line")


class FrrConfigError(ValueError):
    """A statement the parser rejects; ``line`` is 1-based within the config text."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


# --- value parsers (raise ValueError with a readable reason) ------------------


def _int(text: str, what: str, low: int, high: int) -> int:
    if not text.isdigit():
        msg = f"{what} must be a number, got {text!r}"
        raise ValueError(msg)
    value = int(text)
    if not low <= value <= high:
        msg = f"{what} {value} is out of range {low}-{high}"
        raise ValueError(msg)
    return value


def _asn(text: str) -> int:
    return _int(text, "AS number", 1, MAX_ASN)


def _ipv4(text: str, what: str) -> int:
    try:
        return int(ipaddress.IPv4Address(text))
    except ValueError:
        msg = f"{what} must be an IPv4 address, got {text!r}"
        raise ValueError(msg) from None


def _ipv4_prefix(text: str) -> Prefix:
    try:
        net = ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        msg = f"expected an IPv4 prefix like 10.0.0.0/8, got {text!r}"
        raise ValueError(msg) from None
    if "/" not in text:
        msg = f"prefix {text!r} needs a length (A.B.C.D/M)"
        raise ValueError(msg)
    if int(ipaddress.IPv4Interface(text).ip) != int(net.network_address):
        msg = f"prefix {text} has host bits set (did you mean {net}?)"
        raise ValueError(msg)
    return Prefix(Afi.IPV4, int(net.network_address), net.prefixlen)


def parse_community(text: str | int) -> int:
    """``AA:NN`` (each 0-65535), a 32-bit number (as text or int), or a well-known
    name (RFC 1997). The one community parser: FRR ``set community`` and the plain
    speaker's ``announce(communities=...)`` both use it."""
    if isinstance(text, int):
        if 0 <= text <= 0xFFFFFFFF:
            return text
        msg = f"invalid community {text!r} (a 32-bit value is 0-4294967295)"
        raise ValueError(msg)
    name = COMMUNITY_NAMES.get(text.lower())
    if name is not None:
        return int(name)
    if ":" in text:
        high, _, low = text.partition(":")
        if high.isdigit() and low.isdigit() and int(high) <= 0xFFFF and int(low) <= 0xFFFF:
            return (int(high) << 16) | int(low)
    elif text.isdigit() and int(text) <= 0xFFFFFFFF:
        return int(text)
    msg = f"invalid community {text!r} (expected AA:NN with each part 0-65535, or a name)"
    raise ValueError(msg)


# --- mutable builders, frozen at the end --------------------------------------


@dataclass(slots=True)
class _NeighborBuilder:
    address: int
    remote_as: int
    line: int
    ebgp_multihop: int | None = None
    next_hop_self: bool = False
    route_map_in: tuple[str, int] | None = None  # (name, line)
    route_map_out: tuple[str, int] | None = None
    activated: bool = False
    description: str | None = None


@dataclass(slots=True)
class _BgpBuilder:
    asn: int
    line: int
    router_id: int | None = None
    neighbors: dict[int, _NeighborBuilder] = field(default_factory=dict)
    networks: list[Prefix] = field(default_factory=list)


@dataclass(slots=True)
class _EntryBuilder:
    sequence: int
    action: Action
    line: int
    match_prefix_list: tuple[str, int] | None = None
    sets: dict[type, SetAction] = field(default_factory=dict)


class _Parser:
    """One pass over the lines; ``context`` is the block the next line belongs to."""

    def __init__(self) -> None:
        self.context = "top"  # top | bgp | af | route-map
        self.bgp: _BgpBuilder | None = None
        self.prefix_lists: dict[str, dict[int, PrefixListEntry]] = {}
        self.prefix_list_lines: dict[str, int] = {}
        self.route_maps: dict[str, dict[int, _EntryBuilder]] = {}
        self.route_map_lines: dict[str, int] = {}
        self.entry: _EntryBuilder | None = None

    # -- dispatch --------------------------------------------------------------

    def statement(self, words: list[str], line: int) -> None:
        head = words[0]
        if head == "router":
            self.router(words, line)
        elif head == "ip" and len(words) > 1 and words[1] == "prefix-list":
            self.prefix_list(words, line)
            self.context = "top"
        elif head == "route-map":
            self.route_map(words, line)
        elif head in ("exit", "end") and len(words) == 1:
            self.context = "bgp" if self.context == "af" and head == "exit" else "top"
        elif head in IGNORED_TOP_LEVEL:
            self.context = "top"
        elif self.context in ("bgp", "af"):
            self.bgp_statement(words, line)
        elif self.context == "route-map":
            self.route_map_statement(words, line)
        else:
            msg = f"unknown statement {' '.join(words)!r}"
            raise ValueError(msg)

    # -- router bgp ------------------------------------------------------------

    def router(self, words: list[str], line: int) -> None:
        if len(words) != 3 or words[1] != "bgp":
            msg = "expected 'router bgp ASN'"
            raise ValueError(msg)
        asn = _asn(words[2])
        if self.bgp is not None and self.bgp.asn != asn:
            msg = f"a second 'router bgp' ({asn}); there is already router bgp {self.bgp.asn}"
            raise ValueError(msg)
        if self.bgp is None:
            self.bgp = _BgpBuilder(asn=asn, line=line)
        self.context = "bgp"

    def bgp_statement(self, words: list[str], line: int) -> None:
        bgp = self.bgp
        assert bgp is not None
        text = " ".join(words)
        if words[0] == "neighbor" and len(words) >= 3:
            self.neighbor(bgp, words, line)
        elif words[0] == "network":
            bgp.networks.append(self.network(words))
        elif text in ("no bgp ebgp-requires-policy", "no bgp network import-check"):
            pass
        elif words[:2] == ["bgp", "router-id"] and len(words) == 3:
            bgp.router_id = _ipv4(words[2], "router-id")
        elif words[0] == "address-family" and self.context == "bgp":
            if words[1:] not in (["ipv4"], ["ipv4", "unicast"]):
                msg = f"only 'address-family ipv4 [unicast]' is supported, got {text!r}"
                raise ValueError(msg)
            self.context = "af"
        elif text == "exit-address-family" and self.context == "af":
            self.context = "bgp"
        else:
            msg = f"unknown statement {text!r} in router bgp"
            raise ValueError(msg)

    def network(self, words: list[str]) -> Prefix:
        if len(words) == 2:
            return _ipv4_prefix(words[1])
        if len(words) == 4 and words[2] == "mask":
            _ipv4(words[1], "network address")
            try:
                length = ipaddress.IPv4Network(f"0.0.0.0/{words[3]}").prefixlen
            except ValueError:
                msg = f"invalid netmask {words[3]!r}"
                raise ValueError(msg) from None
            return _ipv4_prefix(f"{words[1]}/{length}")
        msg = "expected 'network A.B.C.D/M' or 'network A.B.C.D mask M.M.M.M'"
        raise ValueError(msg)

    def neighbor(self, bgp: _BgpBuilder, words: list[str], line: int) -> None:
        address = _ipv4(words[1], "neighbor address")
        keyword, args = words[2], words[3:]
        if keyword == "remote-as":
            if self.context == "af" or len(args) != 1:
                msg = "expected 'neighbor X remote-as ASN' under router bgp"
                raise ValueError(msg)
            existing = bgp.neighbors.get(address)
            if existing is not None:
                existing.remote_as = _asn(args[0])
            else:
                bgp.neighbors[address] = _NeighborBuilder(address, _asn(args[0]), line)
            return
        peer = bgp.neighbors.get(address)
        if peer is None:
            msg = f"neighbor {words[1]} needs 'neighbor {words[1]} remote-as ASN' first"
            raise ValueError(msg)
        if keyword == "route-map" and len(args) == 2 and args[1] in ("in", "out"):
            if args[1] == "in":
                peer.route_map_in = (args[0], line)
            else:
                peer.route_map_out = (args[0], line)
        elif keyword == "next-hop-self" and not args:
            peer.next_hop_self = True
        elif keyword == "activate" and not args:
            peer.activated = True
        elif keyword == "ebgp-multihop" and len(args) <= 1:
            peer.ebgp_multihop = _int(args[0], "TTL", 1, 255) if args else DEFAULT_MULTIHOP_TTL
        elif keyword == "description" and args:
            peer.description = " ".join(args)
        else:
            msg = f"unknown neighbor statement {' '.join(words)!r}"
            raise ValueError(msg)

    # -- ip prefix-list ----------------------------------------------------------

    def prefix_list(self, words: list[str], line: int) -> None:
        if len(words) < 4:
            msg = "expected 'ip prefix-list NAME [seq N] permit|deny PREFIX [ge N] [le N]'"
            raise ValueError(msg)
        name, rest = words[2], words[3:]
        entries = self.prefix_lists.setdefault(name, {})
        self.prefix_list_lines.setdefault(name, line)
        if rest[0] == "description":
            return
        if rest[0] == "seq":
            if len(rest) < 2:
                msg = "'seq' needs a number"
                raise ValueError(msg)
            sequence = _int(rest[1], "sequence number", 1, MAX_PREFIX_LIST_SEQ)
            rest = rest[2:]
        else:
            sequence = (max(entries, default=0) // PREFIX_LIST_SEQ_STEP + 1) * PREFIX_LIST_SEQ_STEP
        if len(rest) < 2 or rest[0] not in ("permit", "deny"):
            msg = "expected 'permit' or 'deny' followed by a prefix"
            raise ValueError(msg)
        action = Action(rest[0])
        if rest[1] == "any":
            if len(rest) != 2:
                msg = "'any' takes no ge/le"
                raise ValueError(msg)
            entries[sequence] = PrefixListEntry(
                sequence=sequence, action=action, prefix=Prefix(Afi.IPV4, 0, 0), le=32, line=line
            )
            return
        prefix = _ipv4_prefix(rest[1])
        ge, le = self.ge_le(rest[2:], prefix)
        entries[sequence] = PrefixListEntry(
            sequence=sequence, action=action, prefix=prefix, ge=ge, le=le, line=line
        )

    @staticmethod
    def ge_le(words: list[str], prefix: Prefix) -> tuple[int | None, int | None]:
        ge: int | None = None
        le: int | None = None
        i = 0
        while i < len(words):
            if i + 1 >= len(words) or words[i] not in ("ge", "le"):
                msg = f"expected 'ge N' or 'le N', got {' '.join(words[i:])!r}"
                raise ValueError(msg)
            value = _int(words[i + 1], words[i], 0, 32)
            if words[i] == "ge" and ge is None and le is None:
                ge = value
            elif words[i] == "le" and le is None:
                le = value
            else:
                msg = "write at most one 'ge' and one 'le', 'ge' first"
                raise ValueError(msg)
            i += 2
        if (
            (ge is not None and ge <= prefix.length)
            or (le is not None and le < prefix.length)
            or (ge is not None and le is not None and ge > le)
        ):
            msg = f"invalid prefix range for {prefix}: need length < ge <= le <= 32"
            raise ValueError(msg)
        return ge, le

    # -- route-map ---------------------------------------------------------------

    def route_map(self, words: list[str], line: int) -> None:
        if len(words) != 4 or words[2] not in ("permit", "deny"):
            msg = "expected 'route-map NAME permit|deny SEQ'"
            raise ValueError(msg)
        name = words[1]
        sequence = _int(words[3], "sequence number", 1, MAX_ROUTE_MAP_SEQ)
        entries = self.route_maps.setdefault(name, {})
        self.route_map_lines.setdefault(name, line)
        entry = entries.get(sequence)
        if entry is None:
            entry = entries[sequence] = _EntryBuilder(sequence, Action(words[2]), line)
        entry.action = Action(words[2])
        self.entry = entry
        self.context = "route-map"

    def route_map_statement(self, words: list[str], line: int) -> None:
        entry = self.entry
        assert entry is not None
        text = " ".join(words)
        if words[:4] == ["match", "ip", "address", "prefix-list"] and len(words) == 5:
            entry.match_prefix_list = (words[4], line)
        elif words[:3] == ["set", "ip", "next-hop"] and len(words) == 4:
            entry.sets[SetNextHop] = SetNextHop(address=_ipv4(words[3], "next-hop"), line=line)
        elif words[:3] == ["set", "as-path", "prepend"] and len(words) > 3:
            asns = tuple(_asn(w) for w in words[3:])
            entry.sets[SetAsPathPrepend] = SetAsPathPrepend(asns=asns, line=line)
        elif words[:2] == ["set", "community"] and len(words) > 2:
            entry.sets[SetCommunity] = self.community(words[2:], line)
        elif words[0] == "description":
            pass
        else:
            msg = f"unknown route-map statement {text!r}"
            raise ValueError(msg)

    @staticmethod
    def community(words: list[str], line: int) -> SetCommunity:
        if words == ["none"]:
            return SetCommunity(communities=(), additive=False, line=line)
        additive = words[-1] == "additive"
        values = words[:-1] if additive else words
        if not values:
            msg = "'set community' needs at least one community"
            raise ValueError(msg)
        communities = tuple(sorted({parse_community(w) for w in values}))
        return SetCommunity(communities=communities, additive=additive, line=line)

    # -- finishing -----------------------------------------------------------------

    def finish(self) -> FrrConfig:
        prefix_lists = {
            name: PrefixList(
                name=name,
                entries=tuple(entries[s] for s in sorted(entries)),
                line=self.prefix_list_lines[name],
            )
            for name, entries in self.prefix_lists.items()
        }
        route_maps: dict[str, RouteMap] = {}
        for name, builders in self.route_maps.items():
            entries: list[RouteMapEntry] = []
            for seq in sorted(builders):
                b = builders[seq]
                plist = None
                if b.match_prefix_list is not None:
                    plist, ref_line = b.match_prefix_list
                    if plist not in prefix_lists:
                        raise FrrConfigError(ref_line, f"prefix-list {plist!r} is not defined")
                entries.append(
                    RouteMapEntry(
                        sequence=seq,
                        action=b.action,
                        match_prefix_list=plist,
                        sets=tuple(b.sets.values()),
                        line=b.line,
                    )
                )
            route_maps[name] = RouteMap(
                name=name, entries=tuple(entries), line=self.route_map_lines[name]
            )
        return FrrConfig(
            bgp=self.finish_bgp(route_maps), prefix_lists=prefix_lists, route_maps=route_maps
        )

    def finish_bgp(self, route_maps: dict[str, RouteMap]) -> BgpRouter | None:
        if self.bgp is None:
            return None
        neighbors = []
        for b in self.bgp.neighbors.values():
            for ref in (b.route_map_in, b.route_map_out):
                if ref is not None and ref[0] not in route_maps:
                    raise FrrConfigError(ref[1], f"route-map {ref[0]!r} is not defined")
            neighbors.append(
                Neighbor(
                    address=b.address,
                    remote_as=b.remote_as,
                    ebgp_multihop=b.ebgp_multihop,
                    next_hop_self=b.next_hop_self,
                    route_map_in=b.route_map_in[0] if b.route_map_in else None,
                    route_map_out=b.route_map_out[0] if b.route_map_out else None,
                    activated=b.activated,
                    description=b.description,
                    line=b.line,
                )
            )
        return BgpRouter(
            asn=self.bgp.asn,
            router_id=self.bgp.router_id,
            neighbors=tuple(neighbors),
            networks=tuple(dict.fromkeys(self.bgp.networks)),
            line=self.bgp.line,
        )


def parse_frr_config(text: str) -> FrrConfig:
    """Parse ``text`` into an ``FrrConfig``; raise ``FrrConfigError`` (with the line) on error."""
    parser = _Parser()
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith(("!", "#")):
            continue
        try:
            parser.statement(stripped.split(), number)
        except ValueError as exc:
            raise FrrConfigError(number, str(exc)) from None
    return parser.finish()
