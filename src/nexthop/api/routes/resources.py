"""``/resources/{kind}[/{name}]``: CRUD of topology resources (kinds: ``GET /resources``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends

from nexthop.api.deps import ControlPlaneDep, require_token
from nexthop.api.schemas import CHANGE_ERRORS, ApplyResponse

__all__ = ["router"]

router = APIRouter(prefix="/resources", tags=["resources"])


@router.get("")
def list_kinds(cp: ControlPlaneDep) -> list[str]:
    return cp.kinds()


@router.get("/{kind}")
def list_resources(kind: str, cp: ControlPlaneDep) -> list[dict[str, Any]]:
    return cp.list_resources(kind)


@router.get("/{kind}/{name}")
def get_resource(kind: str, name: str, cp: ControlPlaneDep) -> dict[str, Any]:
    return cp.get_resource(kind, name)


@router.put(
    "/{kind}/{name}",
    response_model=ApplyResponse,
    dependencies=[Depends(require_token)],
    responses=CHANGE_ERRORS,
)
def put_resource(
    kind: str,
    name: str,
    cp: ControlPlaneDep,
    body: dict[str, Any] = Body(...),  # noqa: B008
) -> dict[str, Any]:
    """Create or replace one resource; the whole resulting topology must validate."""
    return cp.put_resource(kind, name, body).to_json()


@router.delete(
    "/{kind}/{name}",
    response_model=ApplyResponse,
    dependencies=[Depends(require_token)],
    responses=CHANGE_ERRORS,
)
def delete_resource(kind: str, name: str, cp: ControlPlaneDep) -> dict[str, Any]:
    """Delete one resource; refused while others reference it."""
    return cp.delete_resource(kind, name).to_json()
