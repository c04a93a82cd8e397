"""``/nics/{nic}/effective-route-table`` (``az network nic show-effective-route-table``,
by page: ``api.paging``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from nexthop.api.deps import ControlPlaneDep
from nexthop.api.paging import DEFAULT_TOP, PrefixQuery, SkipQuery, TopQuery, absolute_next
from nexthop.api.schemas import EffectiveRouteTableOut

__all__ = ["router"]

router = APIRouter(prefix="/nics", tags=["network interfaces"])


@router.get(
    "/{nic}/effective-route-table",
    response_model=EffectiveRouteTableOut,
    response_model_exclude_unset=True,
)
def effective_route_table(
    nic: str,
    *,
    cp: ControlPlaneDep,
    request: Request,
    top: TopQuery = DEFAULT_TOP,
    skip: SkipQuery = 0,
    prefix: PrefixQuery = None,
) -> dict[str, Any]:
    """The NIC's effective routes (``nic`` is a NIC name or the VM/NVA that owns it):
    ``top`` routes from ``skip`` as ``value``, ``nextLink`` when more exist."""
    body = cp.effective_route_table(nic, prefix=prefix, skip=skip, top=top)
    return absolute_next(request, body)
