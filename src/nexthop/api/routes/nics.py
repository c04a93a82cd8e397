"""``/nics/{nic}/effective-route-table`` (``az network nic show-effective-route-table``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from nexthop.api.deps import ControlPlaneDep
from nexthop.api.schemas import EffectiveRouteTableOut

__all__ = ["router"]

router = APIRouter(prefix="/nics", tags=["network interfaces"])


@router.get("/{nic}/effective-route-table", response_model=EffectiveRouteTableOut)
def effective_route_table(nic: str, cp: ControlPlaneDep) -> dict[str, list[dict[str, Any]]]:
    """The NIC's effective routes; ``nic`` is a NIC name or the VM/NVA that owns it."""
    return cp.effective_route_table(nic)
