"""Terraform JSON (``terraform show -json`` of a state or a plan) -> ARM-shaped
``Resource`` objects, so one mapping reads Terraform and ``az`` alike.

The azurerm resources read (attribute names of azurerm 3.x and 4.x both):
``azurerm_virtual_network`` (with inline ``subnet`` blocks), ``azurerm_subnet``,
``azurerm_virtual_network_peering``, ``azurerm_route_table`` (inline ``route``),
``azurerm_route``, ``azurerm_subnet_route_table_association``,
``azurerm_route_server``, ``azurerm_route_server_bgp_connection``,
``azurerm_network_interface``, ``azurerm_lb`` (``frontend_ip_configuration``),
``azurerm_lb_backend_address_pool``, ``azurerm_lb_backend_address_pool_address``,
``azurerm_network_interface_backend_address_pool_association``,
``azurerm_lb_probe``, ``azurerm_lb_rule``, ``azurerm_virtual_network_gateway``.
Other resources become ``Resource`` objects of type ``terraform/<type>``, which
the mapping lists as not modelled. A plan's values unknown until apply (ids)
leave the references they carry unresolved; those are listed too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nexthop.importer.arm import ImportError_, Resource, parse_id

__all__ = ["is_terraform", "load_terraform_file", "read_terraform"]

_NET = "Microsoft.Network"


def is_terraform(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and "format_version" in data
        and ("values" in data or "planned_values" in data)
    )


def _modules(module: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from module.get("resources") or []
    for child in module.get("child_modules") or []:
        yield from _modules(child)


def _first(values: dict[str, Any], *names: str, default: Any = None) -> Any:
    for name in names:
        if values.get(name) is not None:
            return values[name]
    return default


def _subnet_prefixes(v: dict[str, Any]) -> list[Any]:
    """``address_prefixes`` (azurerm 3+) or the older single ``address_prefix``."""
    return list(_first(v, "address_prefixes", default=[v.get("address_prefix")]))


def _ref(value: object) -> dict[str, Any]:
    return {"id": value} if value else {}


def _name_in(value: object, kind: str) -> str | None:
    parsed = parse_id(value)
    return parsed.name_of(kind) if parsed else None


class _Converter:
    def __init__(self, source: str) -> None:
        self.source = source
        self.out: list[Resource] = []
        self.vnets: dict[str, dict[str, Any]] = {}
        self.tables: dict[str, dict[str, Any]] = {}
        self.lbs: dict[str, dict[str, Any]] = {}
        self.hubs: dict[str, dict[str, Any]] = {}
        self.pools: dict[str, dict[str, Any]] = {}  # pool id or "lb/pool" -> pool body
        self.later: list[tuple[str, dict[str, Any]]] = []

    def add(self, kind: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {"type": f"{_NET}/{kind}", "name": name, **body}
        self.out.append(Resource(body["type"], name, body, self.source))
        return body

    def first_pass(self, kind: str, v: dict[str, Any]) -> None:
        name = str(v.get("name", ""))
        if kind == "azurerm_virtual_network":
            subnets = [
                {
                    "name": s.get("name"),
                    "addressPrefixes": _first(
                        s, "address_prefixes", default=[s.get("address_prefix")]
                    ),
                }
                for s in v.get("subnet") or []
            ]
            self.vnets[name] = self.add(
                "virtualNetworks",
                name,
                {
                    "location": v.get("location"),
                    "addressSpace": {"addressPrefixes": v.get("address_space") or []},
                    "subnets": subnets,
                    "virtualNetworkPeerings": [],
                },
            )
        elif kind == "azurerm_route_table":
            propagation = v.get("bgp_route_propagation_enabled")
            disabled = (
                not propagation
                if propagation is not None
                else bool(v.get("disable_bgp_route_propagation", False))
            )
            routes = [self._route(r) for r in v.get("route") or []]
            self.tables[name] = self.add(
                "routeTables",
                name,
                {"disableBgpRoutePropagation": disabled, "routes": routes, "subnets": []},
            )
        elif kind == "azurerm_lb":
            fronts = [
                {
                    "name": f.get("name"),
                    "privateIPAddress": f.get("private_ip_address"),
                    "subnet": _ref(f.get("subnet_id")),
                }
                for f in v.get("frontend_ip_configuration") or []
            ]
            body = {
                "frontendIPConfigurations": fronts,
                "backendAddressPools": [],
                "probes": [],
                "loadBalancingRules": [],
            }
            self.lbs[name] = self.add("loadBalancers", name, body)
            if v.get("id"):
                self.lbs[str(v["id"]).lower()] = self.lbs[name]
        elif kind == "azurerm_route_server":
            self.hubs[name] = self.add(
                "virtualHubs",
                name,
                {
                    "location": v.get("location"),
                    "virtualRouterIps": v.get("virtual_router_ips") or [],
                    "allowBranchToBranchTraffic": bool(
                        v.get("branch_to_branch_traffic_enabled", False)
                    ),
                    "hubRoutingPreference": v.get("hub_routing_preference"),
                    "subnetId": v.get("subnet_id"),
                },
            )
        else:
            self.later.append((kind, v))

    @staticmethod
    def _route(r: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": r.get("name"),
            "addressPrefix": r.get("address_prefix"),
            "nextHopType": r.get("next_hop_type"),
            "nextHopIpAddress": r.get("next_hop_in_ip_address"),
        }

    def _lb_of(self, v: dict[str, Any]) -> dict[str, Any] | None:
        lb_id = v.get("loadbalancer_id")
        if lb_id:
            found = self.lbs.get(str(lb_id).lower()) or self.lbs.get(
                _name_in(lb_id, "loadBalancers") or ""
            )
            if found is not None:
                return found
        return None

    def second_pass(self, kind: str, v: dict[str, Any]) -> None:
        name = str(v.get("name", ""))
        if kind == "azurerm_subnet":
            vnet = self.vnets.get(str(v.get("virtual_network_name")))
            prefixes = _subnet_prefixes(v)
            if vnet is None:
                self.add("subnets", name, {"addressPrefixes": prefixes})
            else:
                vnet["subnets"].append({"name": name, "addressPrefixes": prefixes})
        elif kind == "azurerm_virtual_network_peering":
            vnet = self.vnets.get(str(v.get("virtual_network_name")))
            peering = {
                "name": name,
                "remoteVirtualNetwork": _ref(v.get("remote_virtual_network_id")),
                "allowForwardedTraffic": v.get("allow_forwarded_traffic", False),
                "allowGatewayTransit": v.get("allow_gateway_transit", False),
                "useRemoteGateways": v.get("use_remote_gateways", False),
            }
            if vnet is not None:
                vnet["virtualNetworkPeerings"].append(peering)
        elif kind == "azurerm_route":
            table = self.tables.get(str(v.get("route_table_name")))
            if table is not None:
                table["routes"].append(self._route(v))
        elif kind == "azurerm_subnet_route_table_association":
            table = self.tables.get(_name_in(v.get("route_table_id"), "routeTables") or "")
            if table is not None:
                table["subnets"].append(_ref(v.get("subnet_id")))
        elif kind == "azurerm_route_server_bgp_connection":
            hub = _name_in(v.get("route_server_id"), "virtualHubs") or ""
            self.add(
                "virtualHubs/bgpConnections",
                f"{hub}/{name}",
                {"peerIp": v.get("peer_ip"), "peerAsn": v.get("peer_asn")},
            )
        elif kind == "azurerm_network_interface":
            configs = [
                {
                    "name": c.get("name"),
                    "privateIPAddress": c.get("private_ip_address"),
                    "subnet": _ref(c.get("subnet_id")),
                    "primary": c.get("primary", i == 0),
                }
                for i, c in enumerate(v.get("ip_configuration") or [])
            ]
            forwarding = _first(v, "ip_forwarding_enabled", "enable_ip_forwarding", default=False)
            self.add(
                "networkInterfaces",
                name,
                {"ipConfigurations": configs, "enableIPForwarding": bool(forwarding)},
            )
        elif kind == "azurerm_lb_backend_address_pool":
            lb = self._lb_of(v)
            pool = {"name": name, "backendIPConfigurations": [], "loadBalancerBackendAddresses": []}
            if lb is not None:
                lb["backendAddressPools"].append(pool)
            self.pools[str(v.get("id") or name).lower()] = pool
        elif kind == "azurerm_lb_probe":
            lb = self._lb_of(v)
            if lb is not None:
                lb["probes"].append(
                    {
                        "name": name,
                        "protocol": v.get("protocol"),
                        "port": v.get("port"),
                        "intervalInSeconds": v.get("interval_in_seconds", 5),
                        "probeThreshold": v.get("probe_threshold", 1),
                        "requestPath": v.get("request_path"),
                    }
                )
        elif kind == "azurerm_lb_rule":
            lb = self._lb_of(v)
            if lb is not None:
                probe = _name_in(v.get("probe_id"), "probes")
                probe_id = f"/providers/{_NET}/loadBalancers/x/probes/{probe}" if probe else None
                lb["loadBalancingRules"].append(
                    {
                        "name": name,
                        "protocol": v.get("protocol"),
                        "frontendPort": v.get("frontend_port", 0),
                        "backendPort": v.get("backend_port", 0),
                        "probe": _ref(probe_id),
                        "enableFloatingIP": _first(
                            v, "floating_ip_enabled", "enable_floating_ip", default=False
                        ),
                        "enableTcpReset": _first(
                            v, "tcp_reset_enabled", "enable_tcp_reset", default=False
                        ),
                        "idleTimeoutInMinutes": v.get("idle_timeout_in_minutes", 4),
                        "loadDistribution": v.get("load_distribution"),
                    }
                )
        elif kind == "azurerm_virtual_network_gateway":
            configs = [
                {"subnet": _ref(c.get("subnet_id"))} for c in v.get("ip_configuration") or []
            ]
            bgp = (v.get("bgp_settings") or [{}])[0] if v.get("bgp_settings") else {}
            self.add(
                "virtualNetworkGateways",
                name,
                {
                    "gatewayType": v.get("type"),
                    "activeActive": v.get("active_active", False),
                    "ipConfigurations": configs,
                    "bgpSettings": {"asn": bgp.get("asn")},
                },
            )
        else:
            self.out.append(Resource(f"terraform/{kind}", name, dict(v), self.source))

    def third_pass(self, kind: str, v: dict[str, Any]) -> None:
        """Pool memberships, once the pools exist."""
        if kind == "azurerm_network_interface_backend_address_pool_association":
            pool = self.pools.get(str(v.get("backend_address_pool_id")).lower())
            nic = _name_in(v.get("network_interface_id"), "networkInterfaces")
            if pool is not None and nic is not None:
                config = v.get("ip_configuration_name", "ipconfig1")
                nic_id = f"/providers/{_NET}/networkInterfaces/{nic}/ipConfigurations/{config}"
                pool["backendIPConfigurations"].append({"id": nic_id})
        elif kind == "azurerm_lb_backend_address_pool_address":
            pool = self.pools.get(str(v.get("backend_address_pool_id")).lower())
            if pool is not None:
                pool["loadBalancerBackendAddresses"].append({"ipAddress": v.get("ip_address")})


_THIRD = {
    "azurerm_network_interface_backend_address_pool_association",
    "azurerm_lb_backend_address_pool_address",
}


def read_terraform(path: Path, data: dict[str, Any]) -> list[Resource]:
    """The resources of a ``terraform show -json`` document read from ``path``."""
    root = (data.get("values") or data.get("planned_values") or {}).get("root_module")
    if not isinstance(root, dict):
        raise ImportError_(f"{path}: no root_module in the Terraform JSON")
    converter = _Converter(path.name)
    managed = [
        (str(r.get("type")), r.get("values") or {})
        for r in _modules(root)
        if r.get("mode", "managed") == "managed"
    ]
    for kind, values in managed:
        converter.first_pass(kind, values)
    for kind, values in converter.later:
        if kind not in _THIRD:
            converter.second_pass(kind, values)
    for kind, values in converter.later:
        if kind in _THIRD:
            converter.third_pass(kind, values)
    return converter.out


def load_terraform_file(path: Path) -> list[Resource] | None:
    """The resources of ``path`` when it is Terraform JSON, else None."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportError_(f"{path}: not readable JSON: {exc}") from None
    return read_terraform(path, data) if is_terraform(data) else None
