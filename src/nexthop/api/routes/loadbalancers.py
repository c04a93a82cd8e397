"""``/loadbalancers/{lb}/backend-health``: probe state of every backend."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from nexthop.api.deps import ControlPlaneDep

__all__ = ["router"]

router = APIRouter(prefix="/loadbalancers", tags=["load balancers"])


@router.get("/{lb}/backend-health")
def backend_health(lb: str, cp: ControlPlaneDep) -> dict[str, Any]:
    return cp.backend_health(lb)
