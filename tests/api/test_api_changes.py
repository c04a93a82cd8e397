"""Changes through a real server: lab faults, resource CRUD, apply, restart persistence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from api_server import EXAMPLE, Server

BASE = "/api/v1"
VM2 = {"name": "vm2", "nic": {"vnet": "hub", "subnet": "workload", "ip": "10.1.2.5"}}


def test_lab_fail_and_restore_change_the_trace(server_factory: Callable[..., Server]) -> None:
    server = server_factory(str(EXAMPLE))
    with server.client() as api:
        first = api.get(f"{BASE}/trace", params={"source": "vm1", "destination": "192.168.1.1"})
        (carrier,) = first.json()["forward"]["nvas"]
        other = "nva1" if carrier == "nva2" else "nva2"

        status = api.post(f"{BASE}/lab/fail/{carrier}").json()
        assert status["failed"] == [carrier]
        health = api.get(f"{BASE}/loadbalancers/ilb/backend-health").json()
        states = {
            b["name"]: b["state"]
            for b in health["loadBalancingRules"][0]["loadBalancerBackendAddresses"]
        }
        assert states == {carrier: "Down", other: "Up"}
        learned = api.get(f"{BASE}/routeservers/rs/peerings/{carrier}/learned-routes").json()
        assert learned == {"RouteServiceRole_IN_0": [], "RouteServiceRole_IN_1": []}
        # a new flow avoids the failed NVA
        after = api.get(
            f"{BASE}/trace", params={"source": "vm1", "destination": "192.168.1.1", "port": 8443}
        ).json()
        assert after["ok"]
        assert after["forward"]["nvas"] == [other]

        assert api.post(f"{BASE}/lab/restore/{carrier}").json()["failed"] == []
        restored = api.get(f"{BASE}/routeservers/rs/peerings/{carrier}").json()
        assert restored["connectionState"] == "Connected"

        r = api.post(f"{BASE}/lab/fail/nva9")
        assert r.status_code == 404
        assert r.json()["error"]["message"] == "NVA 'nva9' not found"

        traffic = api.post(f"{BASE}/lab/traffic", json={"flows": 20}).json()
        assert traffic["total"] == 20
        assert traffic["delivered"] == 20

        events = api.get(f"{BASE}/events").json()
        assert [(e["kind"], e["detail"].get("nva")) for e in events] == [
            ("apply", None),
            ("lab.fail", carrier),
            ("lab.restore", carrier),
        ]


def test_resource_crud_over_http(server_factory: Callable[..., Server]) -> None:
    server = server_factory(str(EXAMPLE))
    with server.client() as api:
        assert "vms" in api.get(f"{BASE}/resources").json()
        r = api.put(f"{BASE}/resources/vms/vm2", json=VM2)
        assert r.status_code == 200
        assert r.json()["changes"] == [
            {"action": "create", "kind": "vms", "name": "vm2", "detail": ""}
        ]
        assert api.get(f"{BASE}/resources/vms/vm2").json()["nic"]["ip"] == "10.1.2.5"
        assert [v["name"] for v in api.get(f"{BASE}/resources/vms").json()] == ["vm1", "vm2"]

        bad = api.put(f"{BASE}/resources/vms/vm3", json={**VM2, "name": "vm3", "colour": "x"})
        assert bad.status_code == 400
        assert bad.json()["error"] == {
            "code": "invalid_topology",
            "message": "vms[2].colour: unknown field 'colour'",
            "field": "vms[2].colour",
        }

        in_use = api.delete(f"{BASE}/resources/nvas/nva1")
        assert in_use.status_code == 409
        assert in_use.json()["error"]["code"] == "in_use"
        assert "'nva1' is not a declared NVA or VM" in in_use.json()["error"]["message"]

        assert api.delete(f"{BASE}/resources/vms/vm2").status_code == 200
        missing = api.get(f"{BASE}/resources/vms/vm2")
        assert missing.status_code == 404
        assert missing.json()["error"]["message"] == "VM 'vm2' not found"


def test_apply_endpoint_diffs_then_applies(server_factory: Callable[..., Server]) -> None:
    server = server_factory(str(EXAMPLE))
    text = EXAMPLE.read_text().replace("members: [nva1, nva2]", "members: [nva1]")
    with server.client() as api:
        plan = api.post(f"{BASE}/apply", json={"yaml": text, "dry_run": True}).json()
        assert plan["applied"] is False
        assert plan["changes"] == [
            {
                "action": "update",
                "kind": "load_balancers",
                "name": "ilb",
                "detail": "changed: backend_pool",
            }
        ]
        (warning,) = plan["warnings"]  # positioned in the request's YAML
        assert warning.startswith("<request>:")
        assert warning.endswith(
            "nvas[nva2].bgp_config: next hop 10.1.0.100 is load balancer 'ilb',"
            " whose backend pool does not contain 'nva2' [next-hop-not-in-pool]"
        )
        assert api.post(f"{BASE}/apply", json={"yaml": text}).json()["applied"]
        health = api.get(f"{BASE}/loadbalancers/ilb/backend-health").json()
        members = health["loadBalancingRules"][0]["loadBalancerBackendAddresses"]
        assert [b["name"] for b in members] == ["nva1"]
        both = api.post(f"{BASE}/apply", json={"yaml": text, "topology": {}})
        assert both.status_code == 400
        assert both.json()["error"]["message"] == "give exactly one of 'yaml' or 'topology'"


def test_restart_restores_everything(server_factory: Callable[..., Server], tmp_path: Path) -> None:
    db = tmp_path / "restart.db"
    first = server_factory(str(EXAMPLE), db=db)
    with first.client() as api:
        api.put(f"{BASE}/resources/vms/vm2", json=VM2).raise_for_status()
        api.post(f"{BASE}/lab/fail/nva2").raise_for_status()
        resources = {
            k: api.get(f"{BASE}/resources/{k}").json() for k in api.get(f"{BASE}/resources").json()
        }
        learned = api.get(f"{BASE}/routeservers/rs/peerings/nva1/learned-routes").json()
        effective = api.get(f"{BASE}/nics/vm2/effective-route-table").json()
        peerings = api.get(f"{BASE}/routeservers/rs/peerings").json()
    first.stop()

    second = server_factory(db=db)  # no file: everything comes from the database
    with second.client() as api:
        assert {k: api.get(f"{BASE}/resources/{k}").json() for k in resources} == resources
        assert api.get(f"{BASE}/routeservers/rs/peerings/nva1/learned-routes").json() == learned
        assert api.get(f"{BASE}/nics/vm2/effective-route-table").json() == effective
        assert api.get(f"{BASE}/routeservers/rs/peerings").json() == peerings
        assert api.get(f"{BASE}/lab/status").json()["failed"] == ["nva2"]


def test_served_with_a_token_changes_need_it(server_factory: Callable[..., Server]) -> None:
    server = server_factory(str(EXAMPLE), "--token", "t0ken")
    with server.client() as anonymous:
        assert anonymous.get(f"{BASE}/lab/status").status_code == 200
        refused = anonymous.post(f"{BASE}/lab/fail/nva1")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
    with server.client(token="t0ken") as api:
        assert api.post(f"{BASE}/lab/fail/nva1").json()["failed"] == ["nva1"]
