"""ExaBGP vectors: ``qa/decoding`` (hex -> JSON) and ``qa/encoding/*.ci`` (wire
bytes + JSON) for the families nexthop implements (IPv4/IPv6 unicast)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nexthop.bgp.constants import ErrorCode, MessageType, UpdateErrorSubcode
from nexthop.bgp.wire import (
    FourOctetAs,
    Message,
    MessageError,
    Multiprotocol,
    Negotiated,
    Open,
    UnknownCapability,
    Update,
    decode_message,
    encode_message,
    is_end_of_rib,
)
from nexthop.bgp.wire.mp import SUPPORTED_FAMILIES
from nexthop.net.prefix import format_address
from vectors_util import VECTORS, read_exa_decoding

DECODING = VECTORS / "exabgp-decoding" / "qa" / "decoding"
ENCODING = VECTORS / "exabgp-encoding" / "qa" / "encoding"

ORIGINS = ("igp", "egp", "incomplete")
SEGMENTS = {1: "as-set", 2: "as-sequence", 3: "as-confed-sequence", 4: "as-confed-set"}
FAMILIES = {(1, 1): "ipv4 unicast", (2, 1): "ipv6 unicast"}
COMPARED = (
    "origin",
    "as-path",
    "med",
    "local-preference",
    "atomic-aggregate",
    "aggregator",
    "community",
    "large-community",
    "extended-community",
    "originator-id",
    "cluster-list",
)


def v4(value: int) -> str:
    return format_address(1, value)


def exa_attributes(u: Update) -> dict[str, object]:
    """Our decoded attributes in ExaBGP's JSON vocabulary (the keys we decode)."""
    a = u.attributes
    if a is None:
        return {}
    out: dict[str, object] = {"origin": ORIGINS[a.origin]}
    if a.as_path:
        out["as-path"] = {
            str(i): {"element": SEGMENTS[s.type], "value": list(s.asns)}
            for i, s in enumerate(a.as_path)
        }
    if a.med is not None:
        out["med"] = a.med
    if a.local_pref is not None:
        out["local-preference"] = a.local_pref
    if a.atomic_aggregate:
        out["atomic-aggregate"] = True
    if a.aggregator is not None:
        out["aggregator"] = f"{a.aggregator[0]}:{v4(a.aggregator[1])}"
    if a.communities:
        out["community"] = [[c >> 16, c & 0xFFFF] for c in a.communities]
    if a.large_communities:
        out["large-community"] = [list(c) for c in a.large_communities]
    if a.extended_communities:
        out["extended-community"] = [int.from_bytes(c, "big") for c in a.extended_communities]
    if a.originator_id is not None:
        out["originator-id"] = v4(a.originator_id)
    if a.cluster_list:
        out["cluster-list"] = [v4(c) for c in a.cluster_list]
    return out


def nlri_entries(prefixes: tuple[object, ...], path_ids: tuple[int, ...]) -> list[dict[str, str]]:
    out = []
    for i, p in enumerate(prefixes):
        entry = {"nlri": str(p)}
        if path_ids:
            entry["path-information"] = v4(path_ids[i])
        out.append(entry)
    return out


def exa_announce(u: Update) -> dict[str, dict[str, list[dict[str, str]]]]:
    out: dict[str, dict[str, list[dict[str, str]]]] = {}
    if u.nlri and u.attributes is not None and u.attributes.next_hop is not None:
        out["ipv4 unicast"] = {v4(u.attributes.next_hop): nlri_entries(u.nlri, u.nlri_path_ids)}
    if u.mp_reach is not None and u.mp_reach.nlri:
        nh = format_address(u.mp_reach.afi, u.mp_reach.next_hops[0])
        family = FAMILIES[(u.mp_reach.afi, u.mp_reach.safi)]
        out[family] = {nh: nlri_entries(u.mp_reach.nlri, u.mp_reach.path_ids)}
    return out


def exa_withdraw(u: Update) -> dict[str, list[dict[str, str]]]:
    out = {}
    if u.withdrawn:
        out["ipv4 unicast"] = nlri_entries(u.withdrawn, u.withdrawn_path_ids)
    if u.mp_unreach is not None and u.mp_unreach.withdrawn:
        family = FAMILIES[(u.mp_unreach.afi, u.mp_unreach.safi)]
        out[family] = nlri_entries(u.mp_unreach.withdrawn, u.mp_unreach.path_ids)
    return out


def assert_matches_exabgp(u: Update, expected: dict[str, object]) -> None:
    want_attrs = expected.get("attribute", {})
    assert isinstance(want_attrs, dict)
    want = {k: want_attrs[k] for k in COMPARED if k in want_attrs}
    if "extended-community" in want:
        want["extended-community"] = [c["value"] for c in want["extended-community"]]
    got = exa_attributes(u)
    assert {k: got[k] for k in COMPARED if k in got} == want
    if "announce" in expected:
        assert exa_announce(u) == expected["announce"]
    if "withdraw" in expected:
        assert exa_withdraw(u) == expected["withdraw"]


# --- qa/decoding -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "ascending"),
    [("ipv4-unicast-1", True), ("ipv4-unicast-2", False)],  # -2 sends AGGREGATOR first
)
def test_decoding_ipv4_unicast(name: str, ascending: bool) -> None:
    case = read_exa_decoding(DECODING / name)
    n = Negotiated(asn4=True)
    u = decode_message(case.message, n)
    assert isinstance(u, Update)
    assert not u.discarded
    neighbor = case.expected["neighbor"]
    assert isinstance(neighbor, dict)
    assert_matches_exabgp(u, neighbor["message"]["update"])
    assert (encode_message(u, n) == case.message) is ascending
    assert decode_message(encode_message(u, n), n) == u


def test_decoding_open_with_software_version() -> None:
    case = read_exa_decoding(DECODING / "bgp-open-sofware-version")
    msg = decode_message(case.message, Negotiated())
    assert isinstance(msg, Open)
    neighbor = case.expected["neighbor"]
    assert isinstance(neighbor, dict)
    want = neighbor["open"]
    assert (msg.version, msg.asn, msg.hold_time) == (
        want["version"],
        want["asn"],
        want["hold_time"],
    )
    assert v4(msg.bgp_id) == want["router_id"]
    assert Multiprotocol(afi=1, safi=1) in msg.capabilities
    assert FourOctetAs(asn=want["capabilities"]["65"]["asn4"]) in msg.capabilities
    [software] = [c for c in msg.capabilities if isinstance(c, UnknownCapability) and c.code == 75]
    text = want["capabilities"]["75"]["software"]
    assert software.value == bytes((len(text),)) + text.encode()
    assert encode_message(msg, Negotiated()) != case.message  # ExaBGP: one parameter per capability
    assert decode_message(encode_message(msg, Negotiated()), Negotiated()) == msg


# --- qa/encoding/*.ci ------------------------------------------------------------------

SUPPORTED_CI = (
    "conf-aggregator",
    "conf-attributes",
    "conf-cap-link-local-nexthop",
    "conf-cap-software-version",
    "conf-ebgp",
    "conf-extended-attributes",
    "conf-group",
    "conf-group-limit",
    "conf-hostname",
    "conf-ipself4",
    "conf-ipself6",
    "conf-ipv46routes4family",
    "conf-ipv46routes6family",
    "conf-ipv6grouping",
    "conf-largecommunity",
    "conf-llnh-lla-only",
    "conf-llnh-update",
    "conf-name",
    "conf-new-v4",
    "conf-new-v6",
    "conf-no-asn4",
    "conf-path-information",
    "conf-split",
    "conf-template",
    "conf-unknowncap",
    "conf-watchdog",
    "unknown-message",
)
ADD_PATH_CI = {"conf-path-information", "conf-addpath"}


def ci_cases(name: str) -> list[tuple[bytes, dict[str, object] | None]]:
    """(raw message, expected ``update`` JSON or None) in file order."""
    cases: list[tuple[bytes, dict[str, object] | None]] = []
    for line in (ENCODING / f"{name}.ci").read_text().splitlines():
        m = re.match(r"^[A-Z]?\d+:(raw|json):(.*)$", line.strip())
        if not m:
            continue
        if m.group(1) == "raw":
            cases.append((bytes.fromhex(m.group(2).replace(":", "").replace(" ", "")), None))
        elif cases:
            message = json.loads(m.group(2))["neighbor"].get("message", {})
            cases[-1] = (cases[-1][0], message.get("update"))
    return cases


def negotiated_for(name: str) -> Negotiated:
    families = frozenset({(1, 1), (2, 1)}) if name in ADD_PATH_CI else frozenset()
    return Negotiated(
        asn4=name != "conf-no-asn4",
        # ExaBGP's sessions negotiated the families its vectors carry (RFC 4760 §8).
        families=SUPPORTED_FAMILIES,
        extended_message=True,
        add_path_receive=families,
        add_path_send=families,
    )


def canonical(raw: bytes, msg: Message) -> bool:
    """ExaBGP sets Extended Length on short MP_UNREACH and puts each capability in
    its own optional parameter; we always use the shortest form."""
    if isinstance(msg, Open):
        return raw[29] == 2 and raw[30] == raw[28] - 2
    return b"\x90\x0f\x00\x03" not in raw


@pytest.mark.parametrize("name", SUPPORTED_CI)
def test_encoding_vectors(name: str) -> None:
    n = negotiated_for(name)
    cases = ci_cases(name)
    assert cases
    for raw, expected in cases:
        msg = decode_message(raw, n)
        if isinstance(msg, Update):
            assert not msg.treat_as_withdraw
            assert not msg.discarded
            if expected is not None and "eor" in expected:
                eor = expected["eor"]
                assert isinstance(eor, dict)
                assert is_end_of_rib(msg) is not None
            elif expected is not None:
                assert_matches_exabgp(msg, expected)
        again = encode_message(msg, n)
        assert decode_message(again, n) == msg
        if canonical(raw, msg):
            assert again == raw


def test_encoding_unknown_non_optional_attribute_is_unrecognized_well_known() -> None:
    """conf-generic-attribute sends attribute 0x99 without the Optional bit; RFC 4271
    §6.3 makes that an Unrecognized Well-known Attribute (ExaBGP accepts it)."""
    n = negotiated_for("conf-generic-attribute")
    first, *rest = ci_cases("conf-generic-attribute")
    msg = decode_message(first[0], n)
    assert isinstance(msg, Update)
    assert first[1] is not None
    assert_matches_exabgp(msg, first[1])
    assert encode_message(msg, n) == first[0]
    for raw, _expected in rest:
        with pytest.raises(MessageError) as info:
            decode_message(raw, n)
        assert (info.value.code, info.value.subcode) == (
            ErrorCode.UPDATE_MESSAGE,
            UpdateErrorSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
        )
        assert info.value.data[1] == 0x99


def test_encoding_other_families_are_discarded_not_crashing() -> None:
    n = Negotiated(asn4=True, extended_message=True)
    other = [p for p in sorted(ENCODING.glob("*.ci")) if p.stem not in SUPPORTED_CI]
    seen_discard = 0
    errors: list[int] = []
    for path in other:
        for raw, _expected in ci_cases(path.stem):
            assert raw[18] in (MessageType.UPDATE, MessageType.OPEN, MessageType.NOTIFICATION)
            try:
                msg = decode_message(raw, n)
            except MessageError as err:
                errors.append(err.code)
                continue
            if isinstance(msg, Update) and any("unsupported family" in d for d in msg.discarded):
                seen_discard += 1
    assert seen_discard > 50
    assert set(errors) <= {ErrorCode.UPDATE_MESSAGE}


def test_vector_directory_layout() -> None:
    assert isinstance(ENCODING, Path)
    assert len(list(ENCODING.glob("*.ci"))) == 40
