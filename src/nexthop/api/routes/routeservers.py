"""``/routeservers/{rs}/peerings…``: peering state and learned/advertised routes
(the ``az network routeserver peering`` JSON shapes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from nexthop.api.deps import ControlPlaneDep
from nexthop.api.schemas import PeeringDetailOut, PeeringOut, RouteRowOut

__all__ = ["router"]

router = APIRouter(prefix="/routeservers", tags=["route servers"])


@router.get("/{rs}/peerings", response_model=list[PeeringOut])
def list_peerings(rs: str, cp: ControlPlaneDep) -> list[dict[str, Any]]:
    return cp.routeserver_peerings(rs)


@router.get("/{rs}/peerings/{name}", response_model=PeeringDetailOut)
def show_peering(rs: str, name: str, cp: ControlPlaneDep) -> dict[str, Any]:
    return cp.routeserver_peering(rs, name)


@router.get("/{rs}/peerings/{name}/learned-routes", response_model=dict[str, list[RouteRowOut]])
def learned_routes(rs: str, name: str, cp: ControlPlaneDep) -> dict[str, list[dict[str, Any]]]:
    return cp.learned_routes(rs, name)


@router.get("/{rs}/peerings/{name}/advertised-routes", response_model=dict[str, list[RouteRowOut]])
def advertised_routes(rs: str, name: str, cp: ControlPlaneDep) -> dict[str, list[dict[str, Any]]]:
    return cp.advertised_routes(rs, name)
