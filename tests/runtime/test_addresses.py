"""``AddressMap``: topology addresses to loopback stand-ins, and the port plan."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexthop.lab import DEFAULT_BGP_PORT, AddressMap, AddressMapError


def test_keeps_the_last_three_octets() -> None:
    addresses = AddressMap(["10.1.0.4", "10.1.1.5", "172.16.9.200"])
    assert addresses.stand_in("10.1.0.4") == "127.1.0.4"
    assert addresses.stand_in("10.1.1.5") == "127.1.1.5"
    assert addresses.stand_in("172.16.9.200") == "127.16.9.200"
    assert addresses.topology_address("127.1.1.5") == "10.1.1.5"
    assert addresses.topology_address("127.3.3.3") is None
    assert addresses.topology_address("not an address") is None


def test_collisions_and_localhost_spill_deterministically() -> None:
    addresses = AddressMap(["172.1.0.4", "10.1.0.4", "10.0.0.1"])
    # Sorted order: 10.0.0.1 (would be 127.0.0.1, the host's localhost), 10.1.0.4, 172.1.0.4.
    assert addresses.stand_in("10.0.0.1") == "127.254.0.1"
    assert addresses.stand_in("10.1.0.4") == "127.1.0.4"
    assert addresses.stand_in("172.1.0.4") == "127.254.0.2"
    again = AddressMap(["10.0.0.1", "172.1.0.4", "10.1.0.4"])
    assert again.as_dict() == addresses.as_dict()


def test_overrides_win_and_must_be_loopback() -> None:
    addresses = AddressMap(["10.1.0.4", "10.1.0.5"], overrides={"10.1.0.5": "127.0.10.2"})
    assert addresses.stand_in("10.1.0.5") == "127.0.10.2"
    assert addresses.topology_address("127.0.10.2") == "10.1.0.5"
    with pytest.raises(AddressMapError, match=r"127\.0\.0\.0/8"):
        AddressMap(overrides={"10.1.0.5": "192.0.2.1"})
    with pytest.raises(AddressMapError, match="share"):
        AddressMap(overrides={"10.1.0.5": "127.0.10.2", "10.1.0.6": "127.0.10.2"})
    with pytest.raises(AddressMapError, match="already served"):
        addresses.override("10.1.0.4", "127.9.9.9")
    with pytest.raises(AddressMapError, match="not an IPv4"):
        addresses.stand_in("2001:db8::1")


def test_port_plan() -> None:
    addresses = AddressMap()
    assert addresses.bgp_port == DEFAULT_BGP_PORT
    assert addresses.port(179) == DEFAULT_BGP_PORT
    assert addresses.port(22) == 10022
    assert addresses.port(8443) == 8443
    custom = AddressMap(bgp_port=11790, low_port_offset=20000)
    assert (custom.port(179), custom.port(80), custom.port(1024)) == (11790, 20080, 1024)
    shifted = AddressMap(port_offset=3000)
    assert (shifted.port(179), shifted.port(22), shifted.port(8443)) == (1790, 13022, 11443)


@given(st.lists(st.ip_addresses(v=4).map(str), max_size=40))
def test_the_map_is_one_to_one_and_reversible(raw: list[str]) -> None:
    addresses = AddressMap(raw)
    pairs = dict(addresses.items())
    assert set(pairs) == {str(ipaddress.IPv4Address(a)) for a in raw}
    assert len(set(pairs.values())) == len(pairs)
    for topo, stand_in in pairs.items():
        assert ipaddress.IPv4Address(stand_in) in ipaddress.IPv4Network("127.0.0.0/8")
        assert ipaddress.IPv4Address(stand_in) not in ipaddress.IPv4Network("127.0.0.0/24")
        assert addresses.topology_address(stand_in) == topo
