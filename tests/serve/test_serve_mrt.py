"""``nexthop routeserver dump --format mrt``: an instance's RIB as MRT TABLE_DUMP_V2
(RFC 6396 §4.3), read back by mrtparse (an independent, well-kept parser).

Routes from a real dump (Quagga's sample, ``../shared/vectors/mrt``) are announced
by the NVAs over BGP to ``nexthop serve``; the dump must hold exactly what the API
says each instance learned, with the peers' identities in the peer index table.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import mrtparse
from serve_process import (
    BASE,
    EXAMPLE,
    NVA_ASN,
    NVA_IPS,
    example_addresses,
    free_port,
    nva_speaker,
    start_serve,
    until,
)

from nexthop.bgp.fsm import SessionState
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes
from nexthop.net.prefix import parse_prefix

SAMPLE = Path(__file__).parents[2] / "../shared/vectors/mrt/mrtparse/samples/quagga_rib"
ROLES = ("RouteServiceRole_IN_0", "RouteServiceRole_IN_1")
UP = SessionState.ESTABLISHED


def _sample_routes() -> dict[str, PathAttributes]:
    """The IPv4 RIB entries of the sample: prefix -> its attributes."""
    routes: dict[str, PathAttributes] = {}
    for record in mrtparse.Reader(str(SAMPLE.resolve())):
        data = record.data
        if list(data["subtype"]) != [2]:  # RIB_IPV4_UNICAST
            continue
        attributes: dict[int, Any] = {}
        for attribute in data["rib_entries"][0]["path_attributes"]:
            attributes[next(iter(attribute["type"]))] = attribute["value"]
        path = tuple(
            AsPathSegment(next(iter(s["type"])), tuple(int(a) for a in s["value"]))
            for s in attributes[2]
        )
        communities = tuple(
            (int(c.split(":")[0]) << 16) | int(c.split(":")[1]) for c in attributes.get(8, ())
        )
        routes[f"{data['prefix']}/{data['length']}"] = PathAttributes(
            as_path=path, med=attributes.get(4), communities=communities
        )
    return routes


def _read_dump(path: Path) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """The peer entries and, per prefix, the RIB entries of an MRT file."""
    peers: list[dict[str, Any]] = []
    rib: dict[str, list[dict[str, Any]]] = {}
    for record in mrtparse.Reader(str(path)):
        data = record.data
        assert list(data["type"]) == [13]  # TABLE_DUMP_V2 only
        subtype = next(iter(data["subtype"]))
        if subtype == 1:
            peers = data["peer_entries"]
        else:
            assert subtype in (2, 4)
            rib[f"{data['prefix']}/{data['length']}"] = data["rib_entries"]
    return peers, rib


def _attribute(entry: dict[str, Any], code: int) -> Any:
    for attribute in entry["path_attributes"]:
        if next(iter(attribute["type"])) == code:
            return attribute["value"]
    return None


def _as_path_text(segments: list[dict[str, Any]]) -> str:
    return " ".join(a for s in segments for a in s["value"])


def test_mrt_dump_holds_what_each_instance_learned(tmp_path: Path) -> None:
    sample = _sample_routes()
    assert len(sample) >= 3

    async def main() -> dict[str, Any]:
        addresses = example_addresses()
        bgp_port = free_port()
        served = await start_serve(tmp_path / "x.db", bgp_port, str(EXAMPLE))
        speakers = [nva_speaker(n, addresses, bgp_port) for n in NVA_IPS]
        try:
            for speaker in speakers:
                for prefix, attributes in sample.items():
                    speaker.announce(prefix, next_hop="10.1.0.100", attributes=attributes)
                await speaker.start()
            await until(
                lambda: all(s.peer_state(p) is UP for s in speakers for p in s.peers),
                "both NVAs Established on both instances",
            )
            learned: dict[str, Any] = {}
            async with served.client() as api:

                async def all_learned() -> bool:
                    for nva in NVA_IPS:
                        url = f"{BASE}/routeservers/rs/peerings/{nva}/learned-routes"
                        learned[nva] = (await api.get(url)).json()
                        if any(len(learned[nva][r]) != len(sample) + 1 for r in ROLES):
                            return False  # the sample plus the on-premises prefix
                    return True

                await until(all_learned, "every sample route learned on both instances")
            for role in ROLES:
                out = tmp_path / f"{role}.mrt"
                command = [sys.executable, "-m", "nexthop.cli.main", "routeserver", "dump"]
                command += ["--routeserver", "rs", "--instance", role[-4:], "-f", str(out)]
                command += ["--server", served.url]
                done = subprocess.run(
                    command, capture_output=True, text=True, timeout=60, check=False
                )
                assert done.returncode == 0, done.stderr
                assert f"to {out}" in done.stdout
            return learned
        finally:
            for speaker in speakers:
                await speaker.stop()
            served.stop()

    learned = asyncio.run(main())
    for role in ROLES:
        peers, rib = _read_dump(tmp_path / f"{role}.mrt")
        assert [(p["peer_ip"], p["peer_as"]) for p in peers] == [
            (ip, str(NVA_ASN)) for ip in NVA_IPS.values()
        ]
        assert [p["peer_bgp_id"] for p in peers] == list(NVA_IPS.values())  # from their OPENs
        expected = {
            (row["network"], row["sourcePeer"], row["nextHop"], row["asPath"])
            for nva in NVA_IPS
            for row in learned[nva][role]
        }
        dumped = set()
        for network, entries in rib.items():
            for entry in entries:
                peer = peers[entry["peer_index"]]
                as_path = _as_path_text(_attribute(entry, 2))
                dumped.add((network, peer["peer_ip"], _attribute(entry, 3), as_path))
        assert dumped == expected, role
        assert sorted(rib, key=parse_prefix) == list(rib)  # ascending prefix order (§4.3)
        # the sample's attributes survive: MED and communities of one of its prefixes
        prefix, attributes = next(iter(sample.items()))
        entry = rib[prefix][0]
        assert _attribute(entry, 4) == attributes.med
        communities = _attribute(entry, 8) or []
        assert len(communities) == len(attributes.communities)


def test_an_unknown_instance_is_refused_naming_it(tmp_path: Path) -> None:
    async def main() -> None:
        served = await start_serve(tmp_path / "y.db", free_port(), str(EXAMPLE))
        try:
            async with served.client() as api:
                response = await api.get(f"{BASE}/routeservers/rs/instances/IN_7/mrt")
                assert response.status_code == 404
                error = response.json()["error"]
                assert error["field"] == "instance"
                assert "IN_7" in error["message"]
        finally:
            served.stop()

    asyncio.run(main())
