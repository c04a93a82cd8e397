"""``/routeservers/{rs}/peerings…``: peering state and learned/advertised routes
(the ``az network routeserver peering`` JSON shapes; route lists by page,
``api.paging``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from nexthop.api.deps import ControlPlaneDep
from nexthop.api.paging import DEFAULT_TOP, PrefixQuery, SkipQuery, TopQuery, absolute_next
from nexthop.api.schemas import PeeringDetailOut, PeeringOut, RoutePageOut

__all__ = ["router"]

router = APIRouter(prefix="/routeservers", tags=["route servers"])


@router.get("/{rs}/peerings", response_model=list[PeeringOut])
def list_peerings(rs: str, cp: ControlPlaneDep) -> list[dict[str, Any]]:
    return cp.routeserver_peerings(rs)


@router.get("/{rs}/peerings/{name}", response_model=PeeringDetailOut)
def show_peering(rs: str, name: str, cp: ControlPlaneDep) -> dict[str, Any]:
    return cp.routeserver_peering(rs, name)


@router.get(
    "/{rs}/peerings/{name}/learned-routes",
    response_model=RoutePageOut,
    response_model_exclude_unset=True,
)
def learned_routes(
    rs: str,
    name: str,
    *,
    cp: ControlPlaneDep,
    request: Request,
    top: TopQuery = DEFAULT_TOP,
    skip: SkipQuery = 0,
    prefix: PrefixQuery = None,
) -> dict[str, Any]:
    """Rows by instance role, ``top`` per instance from ``skip``; ``nextLink`` while
    either instance has more."""
    body = cp.learned_routes(rs, name, prefix=prefix, skip=skip, top=top)
    return absolute_next(request, body)


@router.get(
    "/{rs}/peerings/{name}/advertised-routes",
    response_model=RoutePageOut,
    response_model_exclude_unset=True,
)
def advertised_routes(
    rs: str,
    name: str,
    *,
    cp: ControlPlaneDep,
    request: Request,
    top: TopQuery = DEFAULT_TOP,
    skip: SkipQuery = 0,
    prefix: PrefixQuery = None,
) -> dict[str, Any]:
    """``learned_routes`` for the advertised routes."""
    body = cp.advertised_routes(rs, name, prefix=prefix, skip=skip, top=top)
    return absolute_next(request, body)
