"""The attacker's inputs of issue 15, over HTTP against ``nexthop serve``: each is a
4xx naming the problem (and its position or field), never a 5xx, and the stored
topology is untouched."""

from __future__ import annotations

import httpx
import pytest

BASE = "/api/v1"


def alias_bomb(levels: int) -> str:
    lines = ["region: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def unchanged(api: httpx.Client) -> None:
    members = api.get(f"{BASE}/resources/load_balancers/ilb").json()["backend_pool"]["members"]
    assert members == ["nva1", "nva2"]


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        pytest.param(
            alias_bomb(8),
            "bomb.yaml:5:",
            id="alias-bomb",
        ),
        pytest.param("[" * 50_000, "bomb.yaml:1:65: malformed YAML: nested deeper", id="deep"),
        pytest.param(
            ":3nQ\u00dd\u007f",
            "bomb.yaml:1:6: malformed YAML: character U+007F is not allowed",
            id="control-character",
        ),
        pytest.param(
            "region: &a [x, *a]\n",
            "bomb.yaml:1:16: malformed YAML: alias *a refers to a collection that contains it",
            id="recursive-alias",
        ),
        pytest.param(
            "region: !!int abc\n",
            "bomb.yaml:1:9: malformed YAML: 'abc' is not a valid !!int",
            id="bad-scalar",
        ),
    ],
)
def test_hostile_yaml_is_a_positioned_400(api: httpx.Client, yaml: str, message: str) -> None:
    r = api.post(f"{BASE}/apply", json={"yaml": yaml, "source": "bomb.yaml"})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "invalid_topology"
    assert error["message"].startswith(message)
    unchanged(api)


def test_alias_bomb_message_names_the_budget(api: httpx.Client) -> None:
    r = api.post(f"{BASE}/apply", json={"yaml": alias_bomb(8), "source": "bomb.yaml"})
    assert "aliases expand the document by more than 10000 nodes" in r.json()["error"]["message"]


def test_deeply_nested_json_topology_is_a_4xx(api: httpx.Client) -> None:
    body = '{"topology": ' + "[" * 50_000 + "]" * 50_000 + "}"
    r = api.post(f"{BASE}/apply", content=body, headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500
    unchanged(api)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/events", {"limit": "-8985811291616118690791681874198528"}, "limit"),
        ("/events", {"limit": "0"}, "limit"),
        ("/events", {"limit": "1001"}, "limit"),
        ("/routeservers/rs/peerings/nva1/learned-routes", {"skip": str(2**63)}, "skip"),
        ("/routeservers/rs/peerings/nva1/learned-routes", {"top": "0"}, "top"),
        ("/nics/vm1/effective-route-table", {"prefix": "1" * 50}, "prefix"),
        ("/trace", {"source": "vm1", "destination": "10.0.0.1", "port": "65536"}, "port"),
        ("/trace", {"source": "v" * 81, "destination": "10.0.0.1"}, "source"),
        ("/trace", {"source": "vm1", "destination": "10.0.0.1", "protocol": "x" * 9}, "protocol"),
    ],
)
def test_out_of_bounds_query_parameters_are_422_naming_the_field(
    api: httpx.Client, path: str, params: dict[str, str], field: str
) -> None:
    r = api.get(f"{BASE}{path}", params=params)
    assert r.status_code == 422
    error = r.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_request", field)
    assert error["message"].startswith(f"{field}: ")


def test_query_bounds_are_declared_in_the_schema(api: httpx.Client) -> None:
    schema = api.get("/openapi.json").json()
    for path, item in schema["paths"].items():
        for method, op in item.items():
            for p in op.get("parameters", []):
                if p["in"] != "query":
                    continue
                s = p["schema"]
                s = next((a for a in s.get("anyOf", []) if a.get("type") != "null"), s)
                if s["type"] == "integer":
                    assert {"minimum", "maximum"} <= s.keys(), (method, path, p["name"])
                else:
                    assert s["type"] == "string"
                    assert "maxLength" in s, (method, path, p["name"])


def test_more_flows_than_source_ports_is_a_400(api: httpx.Client) -> None:
    r = api.post(f"{BASE}/lab/traffic", json={"flows": 64_513, "source": "vm1"})
    assert r.status_code == 400
    assert r.json()["error"] == {
        "code": "bad_traffic",
        "message": "64513 flows need more distinct (source, port) pairs than the 64512"
        " that 1 source(s) have",
        "field": None,
    }
