"""One ``APIRouter`` per resource; handlers only parse, call the control plane, return."""

from __future__ import annotations

from nexthop.api.routes import (
    apply,
    dumps,
    lab,
    loadbalancers,
    nics,
    resources,
    routeservers,
    trace,
)

ROUTERS = (
    apply.router,
    resources.router,
    routeservers.router,
    dumps.router,
    nics.router,
    loadbalancers.router,
    trace.router,
    lab.router,
)

__all__ = ["ROUTERS"]
