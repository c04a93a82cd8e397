"""Each decision step decides on its own, and ``best`` names the step (RFC 4271 §9.1.2.2)."""

from __future__ import annotations

import pytest
from rib_helpers import aset, path, seq

from nexthop.bgp.constants import AsPathSegmentType, Origin
from nexthop.bgp.rib.decision import DECISION_STEPS, Reason, best, ecmp_set
from nexthop.bgp.rib.path import PeerType, as_path_length
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes


def test_single_path_is_only_path() -> None:
    only = path()
    assert best([only]) == (only, Reason.ONLY_PATH)


def test_empty_candidates_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        best([])


def test_weight_beats_everything_later() -> None:
    heavy = path("heavy", weight=32768, as_path=(seq(1, 2, 3),), router_id=9)
    light = path("light", as_path=(seq(1),), router_id=1)
    assert best([light, heavy]) == (heavy, Reason.WEIGHT)


def test_higher_local_pref_wins_and_missing_counts_as_100() -> None:
    high = path("high", local_pref=200, as_path=(seq(1, 2, 3),))
    default = path("default", as_path=(seq(1),))
    low = path("low", local_pref=50, as_path=(seq(1),))
    assert best([default, high]) == (high, Reason.LOCAL_PREF)
    assert best([low, default]) == (default, Reason.LOCAL_PREF)


def test_shorter_as_path_wins() -> None:
    short = path("short", as_path=(seq(65001),), router_id=9)
    long = path("long", as_path=(seq(65002, 65002),), router_id=1)
    assert best([long, short]) == (short, Reason.AS_PATH)


def test_as_set_counts_one_and_confederation_zero() -> None:
    attrs = PathAttributes(
        as_path=(
            AsPathSegment(AsPathSegmentType.AS_CONFED_SEQUENCE, (64512, 64513)),
            seq(65001),
            aset(1, 2, 3, 4),
        )
    )
    assert as_path_length(attrs) == 2
    with_set = path("set", as_path=(seq(65001), aset(1, 2, 3)), router_id=9)
    plain = path("plain", as_path=(seq(65001, 65002, 65003),), router_id=1)
    assert best([plain, with_set]) == (with_set, Reason.AS_PATH)


def test_lower_origin_wins() -> None:
    igp = path("igp", origin=Origin.IGP, router_id=9)
    incomplete = path("inc", origin=Origin.INCOMPLETE, router_id=1)
    assert best([incomplete, igp]) == (igp, Reason.ORIGIN)


def test_lower_med_wins_within_the_same_neighbour_as() -> None:
    low = path("low", as_path=(seq(65001),), med=10, router_id=9)
    high = path("high", as_path=(seq(65001),), med=20, router_id=1)
    assert best([high, low]) == (low, Reason.MED)


def test_missing_med_counts_as_zero() -> None:
    missing = path("missing", as_path=(seq(65001),), router_id=9)
    some = path("some", as_path=(seq(65001),), med=5, router_id=1)
    assert best([some, missing]) == (missing, Reason.MED)


def test_med_not_compared_across_neighbour_ases() -> None:
    a = path("a", as_path=(seq(65001),), med=100, router_id=1)
    b = path("b", as_path=(seq(65002),), med=0, router_id=2)
    # MED does not apply; the decision falls through to the router id.
    assert best([b, a]) == (a, Reason.ROUTER_ID)


def test_ebgp_beats_ibgp() -> None:
    ebgp = path("e", peer_type=PeerType.EBGP, router_id=9)
    ibgp = path("i", peer_type=PeerType.IBGP, router_id=1)
    assert best([ibgp, ebgp]) == (ebgp, Reason.EBGP_OVER_IBGP)


def test_lowest_router_id_wins() -> None:
    a = path("a", router_id=5, address="10.0.0.9")
    b = path("b", router_id=3, address="10.0.0.1")
    assert best([a, b]) == (b, Reason.ROUTER_ID)


def test_lowest_peer_address_breaks_router_id_tie() -> None:
    a = path("a", address="10.1.0.5")
    b = path("b", address="10.1.0.4")
    assert best([a, b]) == (b, Reason.PEER_ADDRESS)


def test_path_id_is_the_last_resort() -> None:
    a = path("a", path_id=2)
    b = path("a", path_id=1)
    assert best([a, b]) == (b, Reason.PATH_ID)


def test_steps_are_in_rfc_order() -> None:
    assert [s.reason for s in DECISION_STEPS] == [
        Reason.WEIGHT,
        Reason.LOCAL_PREF,
        Reason.AS_PATH,
        Reason.ORIGIN,
        Reason.MED,
        Reason.EBGP_OVER_IBGP,
        Reason.ROUTER_ID,
        Reason.PEER_ADDRESS,
        Reason.PATH_ID,
    ]


def test_ecmp_set_keeps_equal_as_path_length_only() -> None:
    a = path("a", as_path=(seq(65001),), origin=Origin.IGP, next_hop="10.1.0.4")
    b = path("b", as_path=(seq(65002),), origin=Origin.INCOMPLETE, next_hop="10.1.0.5")
    c = path("c", as_path=(seq(65003, 65003),), next_hop="10.1.0.6")
    # ORIGIN differs but ECMP stops at the AS_PATH step (the Azure rule).
    assert ecmp_set([a, b, c]) == [a, b]
    assert ecmp_set([]) == []
