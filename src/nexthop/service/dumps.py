"""Exports of a route server's tables in the field's formats: MRT TABLE_DUMP_V2
(RFC 6396) of one instance (``nexthop routeserver dump``, ``GET .../dump``)."""

from __future__ import annotations

import time

from nexthop.routeserver.mrt_dump import dump_instance
from nexthop.service.errors import NotFound
from nexthop.service.views import route_server
from nexthop.service.walltime import WallClock
from nexthop.world import World

__all__ = ["mrt_dump"]


def mrt_dump(world: World, rs: str, instance: str, wall: WallClock) -> bytes:
    """The MRT dump of ``instance`` (``RouteServiceRole_IN_0`` or ``_IN_1``) of
    route server ``rs``: every path its Loc-RIB holds, learned times as Unix seconds."""
    server = route_server(world, rs)
    role = server.instances.get(instance)
    if role is None:
        error = NotFound("instance", instance, f"route server {rs!r}")
        error.field = "instance"
        raise error

    def unix_time(t: float) -> int:
        return max(0, int(wall.wall - (wall.reference - t)))

    records = dump_instance(role, timestamp=int(time.time()), unix_time=unix_time)
    return b"".join(records)
