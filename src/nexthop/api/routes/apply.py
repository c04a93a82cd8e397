"""``POST /apply``: declarative apply of a whole topology (``nexthop apply --server``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from nexthop.api.deps import ControlPlaneDep, require_token
from nexthop.api.schemas import CHANGE_ERRORS, ApplyRequest, ApplyResponse
from nexthop.service import ControlPlaneError, validate_topology

__all__ = ["DEFAULT_EVENTS", "MAX_EVENTS", "router"]

DEFAULT_EVENTS = 50
MAX_EVENTS = 1000

router = APIRouter(tags=["apply"])


@router.post(
    "/apply",
    response_model=ApplyResponse,
    dependencies=[Depends(require_token)],
    responses=CHANGE_ERRORS,
)
def apply(body: ApplyRequest, cp: ControlPlaneDep) -> dict[str, Any]:
    """Create, update and delete resources to match the topology; ``dry_run`` only diffs."""
    if (body.yaml is None) == (body.topology is None):
        raise ControlPlaneError("invalid_body", "give exactly one of 'yaml' or 'topology'")
    if body.yaml is not None:
        return cp.apply_text(body.yaml, body.source, dry_run=body.dry_run).to_json()
    assert body.topology is not None
    return cp.apply(validate_topology(body.topology), dry_run=body.dry_run).to_json()


@router.get("/events")
def events(
    cp: ControlPlaneDep,
    limit: Annotated[
        int, Query(ge=1, le=MAX_EVENTS, description="how many of the newest events")
    ] = DEFAULT_EVENTS,
) -> list[dict[str, Any]]:
    """The newest applied changes and lab faults, oldest first."""
    return cp.events(limit)
