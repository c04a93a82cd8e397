"""A clean design for the lint tests, and the knobs each rule's variant turns.

``design()`` is the article's next hop IP architecture (route-server-spec §1.8): two
active/active NVAs behind one internal load balancer with an HA-ports rule, both
peering both route server instances with ebgp-multihop and advertising the branch
with the frontend as next hop. It trips no rule; each test changes one thing.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

FRONTEND = "10.1.0.100"
INSTANCES = ("10.1.1.4", "10.1.1.5")


def frr(
    *,
    asn: int = 65001,
    instances: tuple[str, ...] = INSTANCES,
    multihop: bool = True,
    networks: tuple[str, ...] = (),
    next_hop: str | None = FRONTEND,
    second_map: str | None = None,
) -> str:
    """An NVA's FRR configuration: neighbors for ``instances``, ``networks``, and an
    outbound route-map setting ``next_hop`` (none: the NVA's own address).
    ``second_map`` is extra route-map text applied to the second instance instead."""
    lines = [f"router bgp {asn}"]
    for ip in instances:
        lines.append(f" neighbor {ip} remote-as 65515")
        if multihop:
            lines.append(f" neighbor {ip} ebgp-multihop 2")
    lines.append(" address-family ipv4")
    lines += [f"  network {n}" for n in networks]
    for k, ip in enumerate(instances):
        if k == 1 and second_map is not None:
            lines.append(f"  neighbor {ip} route-map SECOND out")
        elif next_hop is not None:
            lines.append(f"  neighbor {ip} route-map TO-RS out")
    lines.append(" exit-address-family")
    if next_hop is not None:
        lines += ["route-map TO-RS permit 10", f" set ip next-hop {next_hop}"]
    if second_map is not None:
        lines += ["route-map SECOND permit 10", *second_map.splitlines()]
    return "\n".join(lines) + "\n"


def nva(name: str, ip: str, **bgp: Any) -> dict[str, Any]:
    return {
        "name": name,
        "nic": {"vnet": "hub", "subnet": "nva", "ip": ip},
        "probe_responder": {"port": 22},
        "bgp_config": frr(**bgp),
    }


BASE: dict[str, Any] = {
    "region": "westeurope",
    "vnets": [
        {
            "name": "hub",
            "address_space": ["10.1.0.0/16"],
            "subnets": [
                {"name": "nva", "prefix": "10.1.0.0/24"},
                {"name": "RouteServerSubnet", "prefix": "10.1.1.0/26"},
                {"name": "workload", "prefix": "10.1.2.0/24"},
            ],
        }
    ],
    "route_servers": [
        {
            "name": "rs",
            "vnet": "hub",
            "peerings": [
                {"name": "fw-a", "peer_ip": "10.1.0.4", "peer_asn": 65001},
                {"name": "fw-b", "peer_ip": "10.1.0.5", "peer_asn": 65001},
            ],
        }
    ],
    "load_balancers": [
        {
            "name": "ilb",
            "frontend": {"vnet": "hub", "subnet": "nva", "ip": FRONTEND},
            "backend_pool": {"members": ["fw-a", "fw-b"]},
            "probes": [{"name": "tcp22", "port": 22, "interval_s": 5, "threshold": 1}],
            "rules": [{"name": "ha-ports", "probe": "tcp22"}],
        }
    ],
    "nvas": [nva("fw-a", "10.1.0.4"), nva("fw-b", "10.1.0.5")],
    "vms": [{"name": "vm1", "nic": {"vnet": "hub", "subnet": "workload", "ip": "10.1.2.4"}}],
    "branches": [
        {"name": "onprem", "prefixes": ["192.168.0.0/16"], "behind_nvas": ["fw-a", "fw-b"]}
    ],
}


def design() -> dict[str, Any]:
    """A fresh copy of the clean design to change."""
    return copy.deepcopy(BASE)


def text(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False)


def networks(count: int, first: int = 0) -> tuple[str, ...]:
    """``count`` distinct /24s in 172.16.0.0/12 (outside the VNet)."""
    return tuple(f"172.{16 + (i >> 8) % 16}.{i & 255}.0/24" for i in range(first, first + count))
