"""The native UPDATE decoder prototype (``benchmarks/native``) agrees with the
Python decoder: the same objects on every UPDATE it decodes, None (fall back to
Python) on everything unusual or malformed, and no crash on arbitrary bytes.

The extension is compiled into a temporary directory. A missing C compiler or
Python headers skip these tests locally and fail them in CI (``CI=true``), like
the interop tests' missing daemons; a compile error always fails.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sysconfig
from pathlib import Path
from types import ModuleType

import pytest
from benchmarks.native.build import build, load
from benchmarks.native.measure import (
    BOTH_REJECT,
    EQUAL,
    FALLBACK,
    VARIANTS,
    compare,
    vector_bodies,
)
from benchmarks.profile_ingest import build_stream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexthop.bgp.constants import AsPathSegmentType, AttrFlag, AttrType, MessageType
from nexthop.bgp.wire import AsPathSegment, Negotiated, PathAttributes, Update
from nexthop.bgp.wire.update import decode_update, encode_update
from nexthop.net.prefix import Afi, Prefix

AGREE = {EQUAL, FALLBACK, BOTH_REJECT}
IBGP4 = Negotiated(asn4=True, local_asn=65000, peer_asn=65000)
EBGP4 = Negotiated(asn4=True, local_asn=65000, peer_asn=65001)
OPTIONAL, TRANSITIVE = int(AttrFlag.OPTIONAL), int(AttrFlag.TRANSITIVE)


@pytest.fixture(scope="session")
def native(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")[0]
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    missing = None
    if shutil.which(compiler) is None:
        missing = f"C compiler {compiler} not found; install the Debian package gcc"
    elif not headers.is_file():
        missing = f"{headers} not found; install the Python development headers"
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"native decoder: {missing}")
        pytest.skip(f"native decoder: {missing}")
    try:
        path = build(tmp_path_factory.mktemp("native"))
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"native decoder build failed:\n{exc.stderr}")
    return load(path)


def body_of(update: Update, n: Negotiated = IBGP4) -> bytes:
    return encode_update(update, n)


def attribute(flags: int, type_code: int, value: bytes) -> bytes:
    return bytes((flags, type_code, len(value))) + value


def raw_body(attributes: bytes, nlri: bytes = b"\x18\x0a\x00\x01", withdrawn: bytes = b"") -> bytes:
    return (
        len(withdrawn).to_bytes(2, "big")
        + withdrawn
        + len(attributes).to_bytes(2, "big")
        + attributes
        + nlri
    )


BASE = (
    attribute(TRANSITIVE, AttrType.ORIGIN, b"\x00")
    + attribute(TRANSITIVE, AttrType.AS_PATH, b"\x02\x01\x00\x00\xfd\xe9")
    + attribute(TRANSITIVE, AttrType.NEXT_HOP, bytes((192, 0, 2, 1)))
)


# --- real and benchmark UPDATEs -----------------------------------------------------


def test_real_captured_updates_decode_identically(native: ModuleType) -> None:
    equal = 0
    for source, bodies in vector_bodies().items():
        for body in bodies:
            for n in VARIANTS:
                outcome = compare(native, body, n)
                assert outcome in AGREE, (source, body.hex(), n)
                equal += outcome == EQUAL
    assert equal > 10_000  # most real IPv4 UPDATEs take the native path


@pytest.mark.parametrize("shape", ["single", "eight", "table"])
def test_benchmark_streams_decode_natively_and_identically(
    native: ModuleType, shape: str
) -> None:
    stream, count = build_stream(shape, 3000)
    i, seen = 0, 0
    while i < len(stream):
        length = int.from_bytes(stream[i + 16 : i + 18], "big")
        assert stream[i + 18] == MessageType.UPDATE
        assert compare(native, stream[i + 19 : i + length], EBGP4) == EQUAL
        i += length
        seen += 1
    assert seen == count


# --- generated UPDATEs ----------------------------------------------------------------

asns = st.integers(min_value=0, max_value=2**32 - 1)
u32 = st.integers(min_value=0, max_value=2**32 - 1)


@st.composite
def prefixes(draw: st.DrawFn) -> Prefix:
    length = draw(st.integers(min_value=0, max_value=32))
    value = draw(u32) & (((1 << length) - 1) << (32 - length))
    return Prefix(Afi.IPV4, value, length)


segments = st.builds(
    AsPathSegment,
    st.sampled_from([int(t) for t in AsPathSegmentType]),
    st.lists(asns, min_size=1, max_size=8).map(tuple),
)
attribute_sets = st.builds(
    PathAttributes,
    origin=st.integers(min_value=0, max_value=2),
    as_path=st.lists(segments, max_size=3).map(tuple),
    next_hop=u32,
    med=st.none() | u32,
    local_pref=st.none() | u32,
    atomic_aggregate=st.booleans(),
    aggregator=st.none() | st.tuples(asns, u32),
    communities=st.lists(u32, max_size=6).map(tuple),
)
updates = st.builds(
    Update,
    withdrawn=st.lists(prefixes(), max_size=6).map(tuple),
    attributes=st.none() | attribute_sets,
    nlri=st.lists(prefixes(), max_size=6).map(tuple),
).filter(lambda u: u.attributes is not None or not u.nlri)


@settings(max_examples=300, deadline=None)
@given(update=updates)
def test_generated_common_case_updates_decode_identically(
    native: ModuleType, update: Update
) -> None:
    body = body_of(update)
    got = native.decode_update_body(body, True, False)
    assert got is not None
    assert got == decode_update(body, IBGP4) == update


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(update=updates, n=st.sampled_from(VARIANTS), data=st.data())
def test_mutated_updates_agree_or_fall_back(
    native: ModuleType, update: Update, n: Negotiated, data: st.DataObject
) -> None:
    body = bytearray(body_of(update, n))
    for _ in range(data.draw(st.integers(min_value=0, max_value=3))):
        if body:
            at = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
            body[at] = data.draw(st.integers(min_value=0, max_value=255))
    cut = data.draw(st.integers(min_value=0, max_value=len(body)))
    assert compare(native, bytes(body[:cut]), n) in AGREE


@settings(max_examples=500, deadline=None)
@given(body=st.binary(max_size=80), n=st.sampled_from(VARIANTS))
def test_random_bytes_agree_or_fall_back(native: ModuleType, body: bytes, n: Negotiated) -> None:
    assert compare(native, body, n) in AGREE


# --- what the native decoder leaves to Python ------------------------------------------

UNUSUAL = {
    "MP_UNREACH_NLRI": raw_body(
        BASE + attribute(OPTIONAL, AttrType.MP_UNREACH_NLRI, b"\x00\x02\x01"), nlri=b""
    ),
    "AS4_PATH": raw_body(
        BASE + attribute(OPTIONAL | TRANSITIVE, AttrType.AS4_PATH, b"\x02\x01\x00\x01\x00\x00")
    ),
    "LARGE_COMMUNITY": raw_body(
        BASE + attribute(OPTIONAL | TRANSITIVE, AttrType.LARGE_COMMUNITY, bytes(12))
    ),
    "unknown optional transitive": raw_body(BASE + attribute(OPTIONAL | TRANSITIVE, 99, b"x")),
    "unknown well-known": raw_body(BASE + attribute(TRANSITIVE, 99, b"x")),
    "duplicate ORIGIN": raw_body(BASE + attribute(TRANSITIVE, AttrType.ORIGIN, b"\x01")),
    "ORIGIN flags conflict": raw_body(
        attribute(OPTIONAL, AttrType.ORIGIN, b"\x00") + BASE[4:]
    ),
    "ORIGIN undefined": raw_body(attribute(TRANSITIVE, AttrType.ORIGIN, b"\x03") + BASE[4:]),
    "missing NEXT_HOP": raw_body(BASE[:-7]),
    "NLRI without attributes": raw_body(b""),
    "AS_PATH segment overrun": raw_body(
        BASE[:4] + attribute(TRANSITIVE, AttrType.AS_PATH, b"\x02\x02\x00\x00\xfd\xe9") + BASE[-7:]
    ),
    "AS_PATH zero-length segment": raw_body(
        BASE[:4] + attribute(TRANSITIVE, AttrType.AS_PATH, b"\x02\x00") + BASE[-7:]
    ),
    "COMMUNITIES not a multiple of 4": raw_body(
        BASE + attribute(OPTIONAL | TRANSITIVE, AttrType.COMMUNITIES, b"\x00\x01\x00")
    ),
    "attribute overruns the list": raw_body(BASE + b"\x40\x05\x09\x00"),
    "prefix length 33": raw_body(BASE, nlri=b"\x21\x0a\x00\x00\x01\x00"),
    "prefix overruns the NLRI": raw_body(BASE, nlri=b"\x18\x0a\x00"),
    "withdrawn length overruns": b"\x00\x09\x00\x00",
    "attribute length overruns": b"\x00\x00\x00\x09" + BASE[:3],
    "short body": b"\x00\x00\x00",
}


@pytest.mark.parametrize("body", UNUSUAL.values(), ids=UNUSUAL.keys())
def test_unusual_or_malformed_bodies_fall_back(native: ModuleType, body: bytes) -> None:
    assert native.decode_update_body(body, True, False) is None
    assert compare(native, body, IBGP4) in {FALLBACK, BOTH_REJECT}


def test_external_peer_local_pref_and_confederations_fall_back(native: ModuleType) -> None:
    local_pref = raw_body(BASE + attribute(TRANSITIVE, AttrType.LOCAL_PREF, bytes(4)))
    confed = raw_body(
        BASE[:4] + attribute(TRANSITIVE, AttrType.AS_PATH, b"\x03\x01\x00\x00\xfd\xe9") + BASE[-7:]
    )
    for body in (local_pref, confed):
        assert compare(native, body, EBGP4) == FALLBACK
        assert compare(native, body, IBGP4) == EQUAL


def test_extended_length_and_two_octet_as_decode_natively(native: ModuleType) -> None:
    communities = b"".join(i.to_bytes(4, "big") for i in range(100))
    extended = bytes((OPTIONAL | TRANSITIVE | AttrFlag.EXTENDED_LENGTH, AttrType.COMMUNITIES))
    body = raw_body(BASE + extended + len(communities).to_bytes(2, "big") + communities)
    assert compare(native, body, EBGP4) == EQUAL
    two_octet = raw_body(
        BASE[:4] + attribute(TRANSITIVE, AttrType.AS_PATH, b"\x02\x02\xfd\xe9\xfd\xea") + BASE[-7:]
    )
    n2 = Negotiated(asn4=False)
    assert compare(native, two_octet, n2) == EQUAL
    got = native.decode_update_body(two_octet, False)
    assert got.attributes.as_path == (AsPathSegment(2, (65001, 65002)),)


def test_cache_shares_attribute_objects_per_options(native: ModuleType) -> None:
    # An AS_PATH valid both ways: one segment of two 4-octet ASNs, or two of 2-octet ones.
    as_path = attribute(TRANSITIVE, AttrType.AS_PATH, b"\x02\x02\x00\x00\x00\x07\x02\x01\x00\x05")
    body = raw_body(BASE[:4] + as_path + BASE[-7:])
    cache: dict[bytes, PathAttributes] = {}
    first = native.decode_update_body(body, True, False, cache)
    second = native.decode_update_body(body, True, False, cache)
    assert first == second
    assert first.attributes is second.attributes
    as2 = native.decode_update_body(body, False, False, cache)
    assert as2 == decode_update(body, Negotiated(asn4=False))
    assert first.attributes.as_path == (AsPathSegment(2, (7, 0x02010005)),)
    assert as2.attributes.as_path == (AsPathSegment(2, (0, 7)), AsPathSegment(2, (5,)))


def test_rejects_non_bytes(native: ModuleType) -> None:
    with pytest.raises(TypeError):
        native.decode_update_body(bytearray(raw_body(BASE)), True)
