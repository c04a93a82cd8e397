"""``/trace``: where a packet goes, hop by hop."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from nexthop.api.deps import ControlPlaneDep
from nexthop.api.schemas import (
    MAX_ENDPOINT_TEXT,
    MAX_PORT,
    MAX_PROTOCOL_TEXT,
    TraceRequest,
)

__all__ = ["router"]

router = APIRouter(tags=["trace"])


@router.get("/trace")
def trace_get(
    cp: ControlPlaneDep,
    source: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_ENDPOINT_TEXT,
            description="VM or NVA name (or its IP) the packet starts from",
        ),
    ],
    destination: Annotated[
        str,
        Query(min_length=1, max_length=MAX_ENDPOINT_TEXT, description="destination IP address"),
    ],
    protocol: Annotated[
        str, Query(min_length=1, max_length=MAX_PROTOCOL_TEXT, description="tcp, udp or icmp")
    ] = "tcp",
    port: Annotated[int, Query(ge=0, le=MAX_PORT, description="destination port")] = 443,
) -> dict[str, Any]:
    return cp.trace(source, destination, protocol, port)


@router.post("/trace")
def trace_post(body: TraceRequest, cp: ControlPlaneDep) -> dict[str, Any]:
    return cp.trace(body.source, body.destination, body.protocol, body.port)
