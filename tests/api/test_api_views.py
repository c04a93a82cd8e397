"""Read endpoints of a real ``nexthop serve`` process: Azure CLI JSON shapes, errors, docs."""

from __future__ import annotations

import httpx
import pytest
from api_server import EXAMPLE

ROUTE_KEYS = {"localAddress", "network", "nextHop", "sourcePeer", "origin", "asPath", "weight"}
ROLES = {"RouteServiceRole_IN_0", "RouteServiceRole_IN_1"}
BASE = "/api/v1"


def test_learned_routes_have_the_az_cli_shape(api: httpx.Client) -> None:
    r = api.get(f"{BASE}/routeservers/rs/peerings/nva1/learned-routes")
    assert r.status_code == 200
    data = r.json()
    assert set(data) == ROLES
    rows = data["RouteServiceRole_IN_0"]
    assert [set(row) for row in rows] == [ROUTE_KEYS]
    assert rows[0] == {
        "localAddress": "10.1.1.4",
        "network": "192.168.0.0/16",
        "nextHop": "10.1.0.100",  # the load balancer frontend: next hop IP support
        "sourcePeer": "10.1.0.4",
        "origin": "EBgp",
        "asPath": "65001",
        "weight": 32768,
    }
    assert data["RouteServiceRole_IN_1"][0]["localAddress"] == "10.1.1.5"


def test_advertised_routes_carry_the_vnet_address_space(api: httpx.Client) -> None:
    data = api.get(f"{BASE}/routeservers/rs/peerings/nva1/advertised-routes").json()
    assert set(data) == ROLES
    networks = {row["network"]: row for row in data["RouteServiceRole_IN_0"]}
    assert set(networks["10.1.0.0/16"]) == ROUTE_KEYS
    assert networks["10.1.0.0/16"]["origin"] == "Igp"
    assert networks["10.1.0.0/16"]["sourcePeer"] is None


def test_peering_list_and_show(api: httpx.Client) -> None:
    peerings = api.get(f"{BASE}/routeservers/rs/peerings").json()
    assert [(p["name"], p["peerIp"], p["peerAsn"], p["connectionState"]) for p in peerings] == [
        ("nva1", "10.1.0.4", 65001, "Connected"),
        ("nva2", "10.1.0.5", 65001, "Connected"),
    ]
    show = api.get(f"{BASE}/routeservers/rs/peerings/nva2").json()
    assert set(show["instances"]) == ROLES
    assert show["instances"]["RouteServiceRole_IN_0"]["state"] == "Established"
    assert show["instances"]["RouteServiceRole_IN_0"]["accepted_routes"] == 1


def test_effective_route_table_has_the_bgp_route_to_the_frontend(api: httpx.Client) -> None:
    data = api.get(f"{BASE}/nics/vm1/effective-route-table").json()
    assert set(data) == {"value"}
    keys = {
        "disableBgpRoutePropagation",
        "source",
        "state",
        "addressPrefix",
        "nextHopType",
        "nextHopIpAddress",
        "name",
    }
    assert all(set(row) == keys for row in data["value"])
    active = [
        r
        for r in data["value"]
        if r["addressPrefix"] == ["192.168.0.0/16"] and r["state"] == "Active"
    ]
    assert [(r["source"], r["nextHopIpAddress"]) for r in active] == [
        ("VirtualNetworkGateway", ["10.1.0.100"])
    ]
    # by NIC name too
    assert api.get(f"{BASE}/nics/vm1-nic/effective-route-table").json() == data


def test_backend_health_lists_both_nvas_up(api: httpx.Client) -> None:
    data = api.get(f"{BASE}/loadbalancers/ilb/backend-health").json()
    assert data["frontendIp"] == "10.1.0.100"
    (rule,) = data["loadBalancingRules"]
    assert rule["rule"] == "ha-ports"
    assert [
        (b["name"], b["ipAddress"], b["state"]) for b in rule["loadBalancerBackendAddresses"]
    ] == [
        ("nva1", "10.1.0.4", "Up"),
        ("nva2", "10.1.0.5", "Up"),
    ]


def test_trace_get_and_post_agree(api: httpx.Client) -> None:
    query = {"source": "vm1", "destination": "192.168.7.7", "protocol": "udp", "port": 53}
    got = api.get(f"{BASE}/trace", params=query).json()
    posted = api.post(f"{BASE}/trace", json=query).json()
    assert got["ok"]
    assert got["forward"]["delivered"]
    assert got["forward"]["endpoint"] == "branch:onprem"
    assert [h["kind"] for h in got["forward"]["hops"]][:3] == ["source", "route", "load_balancer"]
    assert posted["forward"]["nvas"] == got["forward"]["nvas"]


def test_errors_are_json_with_code_and_message(api: httpx.Client) -> None:
    r = api.get(f"{BASE}/routeservers/nope/peerings")
    assert r.status_code == 404
    assert r.json() == {
        "error": {"code": "not_found", "message": "route server 'nope' not found", "field": None}
    }
    r = api.get(f"{BASE}/loadbalancers/nope/backend-health")
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "load balancer 'nope' not found"
    r = api.get(f"{BASE}/no/such/route")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"

    r = api.post(f"{BASE}/trace", json={"source": "vm1", "port": 70000})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_request"
    assert "destination: Field required" in error["message"].splitlines()
    assert "port: Input should be less than or equal to 65535" in error["message"].splitlines()

    r = api.get(f"{BASE}/trace", params={"source": "vm9", "destination": "192.168.1.1"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "bad_trace"
    assert "vm9" in r.json()["error"]["message"]

    r = api.post(
        f"{BASE}/apply", json={"yaml": "region: [x", "source": "bad.yaml", "dry_run": True}
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_topology"
    assert r.json()["error"]["message"].startswith("bad.yaml:1:")


def test_openapi_docs_and_metrics(api: httpx.Client) -> None:
    schema = api.get("/openapi.json").json()
    for path in (
        "/api/v1/routeservers/{rs}/peerings/{name}/learned-routes",
        "/api/v1/nics/{nic}/effective-route-table",
        "/api/v1/loadbalancers/{lb}/backend-health",
        "/api/v1/resources/{kind}/{name}",
        "/api/v1/lab/fail/{nva}",
        "/api/v1/apply",
        "/api/v1/trace",
    ):
        assert path in schema["paths"]
    assert "swagger" in api.get("/docs").text.lower()
    metrics = api.get("/metrics").text
    assert (
        'nexthop_peering_established{instance="RouteServiceRole_IN_0",peering="nva1",'
        'routeserver="rs"} 1.0' in metrics
    )
    assert 'nexthop_backend_up{backend="nva2",loadbalancer="ilb",rule="ha-ports"} 1.0' in metrics


BAD_FILES = [
    pytest.param(
        ("region: westeurope", "region: [westeurope"),
        "bad.yaml:10:6: malformed YAML: expected ',' or ']', but got ':'",
        None,
        id="malformed-yaml",
    ),
    pytest.param(
        ("region: westeurope", "region: westeurope\ncolour: blue"),
        "bad.yaml:9:1: colour: unknown field 'colour'",
        "colour",
        id="unknown-field",
    ),
    pytest.param(
        ("peer_asn: 65001\n      - name: nva2", "peer_asn: 8075\n      - name: nva2"),
        "bad.yaml:29:19: route_servers[0].peerings[0].peer_asn: ASN 8075 is reserved by"
        " Azure or IANA and cannot peer with a route server",
        "route_servers[0].peerings[0].peer_asn",
        id="reserved-asn",
    ),
    pytest.param(
        ("prefix: 10.1.2.0/24", "prefix: 10.1.0.128/25"),
        "bad.yaml:19:17: vnets[0].subnets[2].prefix: 10.1.0.128/25 overlaps subnet 'nva'"
        " (10.1.0.0/24)",
        "vnets[0].subnets[2].prefix",
        id="overlapping-prefixes",
    ),
    pytest.param(
        ("members: [nva1, nva2]", "members: [nva1, nva3]"),
        "bad.yaml:43:23: load_balancers[0].backend_pool.members[1]: 'nva3' is not a"
        " declared NVA or VM",
        "load_balancers[0].backend_pool.members[1]",
        id="unknown-nva-in-pool",
    ),
    pytest.param(
        ("ip: 10.1.0.100", "ip: 10.1.2.100"),
        "bad.yaml:40:11: load_balancers[0].frontend.ip: 10.1.2.100 is not inside subnet"
        " 'nva' (10.1.0.0/24)",
        "load_balancers[0].frontend.ip",
        id="frontend-outside-subnet",
    ),
]


@pytest.mark.parametrize(("edit", "message", "field"), BAD_FILES)
def test_apply_rejects_bad_input_with_its_message(
    api: httpx.Client, edit: tuple[str, str], message: str, field: str | None
) -> None:
    text = EXAMPLE.read_text().replace(*edit)
    r = api.post(f"{BASE}/apply", json={"yaml": text, "source": "bad.yaml"})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "invalid_topology"
    assert message in error["message"].splitlines()
    assert error["field"] == field
    # nothing changed
    assert api.get(f"{BASE}/resources/load_balancers/ilb").json()["backend_pool"]["members"] == [
        "nva1",
        "nva2",
    ]
