"""Bring a running ``RouteServer`` to a new desired configuration in place.

A committed topology change must restart only what it changes (issue 10): the
route server keeps its sessions and learned routes unless its identity changed.
``reconcile`` compares the running server with the desired configuration and
peerings and makes the smallest set of calls, returning their outputs for the
host to carry out:

* subnet or ASN changed: the instances are other routers; ``None`` (the caller
  restarts the route server: Cease to every peer, who reconnect);
* peerings removed or changed: ``remove_peering`` (Cease/Peer De-configured to
  that peer only, RFC 4486 §4), and a changed one is added back;
* address spaces of peered VNets added: ``add_vnet_peering`` (the NVAs are
  asked for ROUTE-REFRESH, RFC 2918; only a peer without the capability is
  reset — route-server-spec §1.2 "VNet peering"); removed:
  ``remove_vnet_peering``;
* any other setting (limits, branch-to-branch, routing preference, the VNet's
  own address spaces): ``reconfigure``, which reselects and resyncs without
  touching the sessions;
* new peerings: ``add_peering`` (the NVA then connects).

Nothing else (a load balancer, a probe, a VM) is route server configuration,
so such changes make no call at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from nexthop.routeserver.config import PeeringConfig, RouteServerConfig
from nexthop.routeserver.outputs import Output
from nexthop.routeserver.server import RouteServer

__all__ = ["reconcile"]

_IDENTITY = ("subnet", "asn")


def reconcile(
    live: RouteServer,
    config: RouteServerConfig,
    peerings: Sequence[PeeringConfig],
    now: float,
) -> list[Output] | None:
    """Make ``live`` match ``config`` and ``peerings``; the outputs of the calls
    made (empty when nothing differs), or ``None`` when only a restart can."""
    current = live.config
    if any(getattr(current, f) != getattr(config, f) for f in _IDENTITY):
        return None
    outputs: list[Output] = []
    wanted = {p.name: p for p in peerings}
    for peering in live.peerings():
        if wanted.get(peering.name) != peering:
            outputs += live.remove_peering(peering.name, now)
    old_spaces, new_spaces = current.peered_address_spaces, config.peered_address_spaces
    others = {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(config)
        if f.name not in (*_IDENTITY, "peered_address_spaces")
        and getattr(config, f.name) != getattr(current, f.name)
    }
    if others:
        outputs += live.reconfigure(now, **others)
    gone = [p for p in old_spaces if p not in new_spaces]
    if gone:
        outputs += live.remove_vnet_peering(gone, now)
    added = [p for p in new_spaces if p not in old_spaces]
    if added:
        outputs += live.add_vnet_peering(added, now)
    if live.config.peered_address_spaces != new_spaces:  # same set, another order
        outputs += live.reconfigure(now, peered_address_spaces=new_spaces)
    present = {p.name for p in live.peerings()}
    for peering in peerings:
        if peering.name not in present:
            live.add_peering(peering)
    return outputs
