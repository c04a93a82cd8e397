"""``/routeservers/{rs}/instances/{instance}/mrt``: one instance's RIB as an MRT
TABLE_DUMP_V2 file (RFC 6396), for bgpdump, mrtparse, BGPKIT or a replay."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from nexthop.api.deps import ControlPlaneDep

__all__ = ["router"]

router = APIRouter(prefix="/routeservers", tags=["route servers"])

MRT_MEDIA_TYPE = "application/octet-stream"


@router.get(
    "/{rs}/instances/{instance}/mrt",
    response_class=Response,
    responses={200: {"content": {MRT_MEDIA_TYPE: {}}, "description": "MRT TABLE_DUMP_V2"}},
)
def mrt_dump(rs: str, instance: str, cp: ControlPlaneDep) -> Response:
    """Every path the instance holds (``RouteServiceRole_IN_0`` or ``_IN_1``): a
    PEER_INDEX_TABLE, then one RIB record per prefix."""
    body = cp.mrt_dump(rs, instance)
    filename = f"{rs}-{instance}.mrt"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type=MRT_MEDIA_TYPE, headers=headers)
