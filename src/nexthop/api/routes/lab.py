"""``/lab/…``: fault injection (fail/restore an NVA), traffic runs, status."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Depends

from nexthop.api.deps import ControlPlaneDep, require_token
from nexthop.api.schemas import CHANGE_ERRORS, TrafficRequest

__all__ = ["router"]

router = APIRouter(prefix="/lab", tags=["lab"])


@router.get("/status")
def status(cp: ControlPlaneDep) -> dict[str, Any]:
    return cp.lab_status()


@router.post("/fail/{nva}", dependencies=[Depends(require_token)], responses=CHANGE_ERRORS)
def fail(nva: str, cp: ControlPlaneDep) -> dict[str, Any]:
    return cp.lab_fail(nva)


@router.post("/restore/{nva}", dependencies=[Depends(require_token)], responses=CHANGE_ERRORS)
def restore(nva: str, cp: ControlPlaneDep) -> dict[str, Any]:
    return cp.lab_restore(nva)


@router.post("/down", dependencies=[Depends(require_token)], responses=CHANGE_ERRORS)
def down(cp: ControlPlaneDep) -> dict[str, Any]:
    """Stop the live lab (``nexthop lab up``); the model answers again."""
    return cp.lab_down()


@router.post("/traffic", dependencies=[Depends(require_token)], responses=CHANGE_ERRORS)
def traffic(body: TrafficRequest, cp: ControlPlaneDep) -> dict[str, Any]:
    """Run ``flows`` generated flows; the report carries the ``seed`` used."""
    seed = secrets.randbelow(2**63) if body.seed is None else body.seed
    return {**cp.lab_traffic(body.flows, body.source, body.destination, seed), "seed": seed}
