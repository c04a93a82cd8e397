"""``/routeservers/{rs}/peerings…``: peering state and learned/advertised routes
(the ``az network routeserver peering`` JSON shapes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from nexthop.api.deps import ControlPlaneDep

__all__ = ["router"]

router = APIRouter(prefix="/routeservers", tags=["route servers"])


@router.get("/{rs}/peerings")
def list_peerings(rs: str, cp: ControlPlaneDep) -> list[dict[str, Any]]:
    return cp.routeserver_peerings(rs)


@router.get("/{rs}/peerings/{name}")
def show_peering(rs: str, name: str, cp: ControlPlaneDep) -> dict[str, Any]:
    return cp.routeserver_peering(rs, name)


@router.get("/{rs}/peerings/{name}/learned-routes")
def learned_routes(rs: str, name: str, cp: ControlPlaneDep) -> dict[str, list[dict[str, Any]]]:
    return cp.learned_routes(rs, name)


@router.get("/{rs}/peerings/{name}/advertised-routes")
def advertised_routes(rs: str, name: str, cp: ControlPlaneDep) -> dict[str, list[dict[str, Any]]]:
    return cp.advertised_routes(rs, name)
