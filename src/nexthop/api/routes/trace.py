"""``/trace``: where a packet goes, hop by hop."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from nexthop.api.deps import ControlPlaneDep
from nexthop.api.schemas import TraceRequest

__all__ = ["router"]

router = APIRouter(tags=["trace"])


@router.get("/trace")
def trace_get(
    cp: ControlPlaneDep, source: str, destination: str, protocol: str = "tcp", port: int = 443
) -> dict[str, Any]:
    return cp.trace(source, destination, protocol, port)


@router.post("/trace")
def trace_post(body: TraceRequest, cp: ControlPlaneDep) -> dict[str, Any]:
    return cp.trace(body.source, body.destination, body.protocol, body.port)
