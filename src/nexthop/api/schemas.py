"""Request and response models of the API (kept apart from the domain models)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CHANGE_ERRORS",
    "READ_ERRORS",
    "ApplyRequest",
    "ApplyResponse",
    "ChangeOut",
    "EffectiveRouteOut",
    "EffectiveRouteTableOut",
    "ErrorOut",
    "PeeringDetailOut",
    "PeeringOut",
    "RouteRowOut",
    "TraceRequest",
    "TrafficRequest",
]


MAX_ENDPOINT_TEXT = 80  # a resource name (1-80 characters) or an IP address
MAX_PROTOCOL_TEXT = 8
MAX_PORT = 65535
MAX_SOURCE_TEXT = 256
MAX_FLOWS = 100_000


class _Model(BaseModel):
    # strict: JSON ``false`` is not the integer 0, ``"5"`` not 5 (schemathesis found
    # ``{"seed": false}`` accepted as seed 0)
    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorDetailOut(_Model):
    code: str = Field(description="machine-readable reason, e.g. not_found, invalid_request")
    message: str = Field(description="what is wrong, naming the field and its position")
    field: str | None = Field(description="the field or parameter at fault, if one is")


class ErrorOut(_Model):
    """Every error response: ``{"error": {"code", "message", "field"}}``."""

    error: ErrorDetailOut


def _errors(*statuses: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorOut, "description": text} for status, text in statuses}


# What each route may answer besides its success (documented in the OpenAPI schema).
READ_ERRORS = _errors(
    (400, "the request names something malformed (a CIDR, a protocol)"),
    (404, "no such resource"),
    (422, "a parameter or body field is out of its declared bounds"),
)
CHANGE_ERRORS = _errors(
    (401, "a valid bearer token is required for changes"),
    (403, "changes from beyond loopback need the server to have a token"),
    (409, "the change conflicts with the stored topology"),
    (503, "the database cannot be written now"),
)


class ApplyRequest(_Model):
    """Either ``yaml`` (topology file text; errors name ``source:line:column``) or
    ``topology`` (the same document as JSON)."""

    yaml: str | None = None
    topology: dict[str, Any] | None = None
    source: str = Field(default="<request>", min_length=1, max_length=MAX_SOURCE_TEXT)
    dry_run: bool = False


class ChangeOut(_Model):
    action: str
    kind: str
    name: str
    detail: str = ""


class ApplyResponse(_Model):
    applied: bool
    changes: list[ChangeOut]
    warnings: list[str] = []


class TraceRequest(_Model):
    source: str = Field(
        min_length=1,
        max_length=MAX_ENDPOINT_TEXT,
        description="VM or NVA name (or its IP) the packet starts from",
    )
    destination: str = Field(
        min_length=1, max_length=MAX_ENDPOINT_TEXT, description="destination IP address"
    )
    protocol: str = Field(
        default="tcp", min_length=1, max_length=MAX_PROTOCOL_TEXT, description="tcp, udp or icmp"
    )
    port: int = Field(default=443, ge=0, le=MAX_PORT)


class TrafficRequest(_Model):
    """``seed`` picks the flows (same seed, same flows); omitted: a fresh random seed,
    returned in the report so the run can be repeated."""

    flows: int = Field(default=100, ge=1, le=MAX_FLOWS)
    source: str | None = Field(default=None, min_length=1, max_length=MAX_ENDPOINT_TEXT)
    destination: str | None = Field(default=None, min_length=1, max_length=MAX_ENDPOINT_TEXT)
    seed: int | None = Field(default=None, ge=0, lt=2**63)


# --- Azure CLI shapes (camelCase as az prints them) -------------------------------------


class _Out(BaseModel):
    """Responses document the fields they guarantee and pass any others through."""

    model_config = ConfigDict(extra="allow")


class RouteRowOut(_Out):
    """One row of ``az network routeserver peering list-learned-routes`` /
    ``list-advertised-routes`` (keyed by ``RouteServiceRole_IN_0``/``_IN_1``)."""

    localAddress: str  # noqa: N815 - the Azure CLI's key
    network: str
    nextHop: str  # noqa: N815
    sourcePeer: str | None  # noqa: N815
    origin: str
    asPath: str  # noqa: N815
    weight: int


class RoutePageOut(_Out):
    """A page of learned/advertised routes: ``RouteServiceRole_IN_0``/``_IN_1`` row
    lists (the ``az`` shape) and ``nextLink`` (absolute URL) while more rows exist."""

    RouteServiceRole_IN_0: list[RouteRowOut] = []
    RouteServiceRole_IN_1: list[RouteRowOut] = []
    nextLink: str | None = None  # noqa: N815


class PeeringOut(_Out):
    """``az network routeserver peering list`` item."""

    name: str
    peerAsn: int  # noqa: N815
    peerIp: str  # noqa: N815
    provisioningState: str  # noqa: N815
    connectionState: str  # noqa: N815
    type: str


class PeeringDetailOut(PeeringOut):
    """``az network routeserver peering show`` plus per-instance state and counters."""

    instances: dict[str, dict[str, Any]]


class EffectiveRouteOut(_Out):
    """One route of ``az network nic show-effective-route-table``."""

    disableBgpRoutePropagation: bool  # noqa: N815
    source: str
    state: str
    addressPrefix: list[str]  # noqa: N815
    nextHopType: str  # noqa: N815
    nextHopIpAddress: list[str]  # noqa: N815
    name: str | None


class EffectiveRouteTableOut(_Out):
    """A page of effective routes; ``nextLink`` (absolute URL) while more exist."""

    value: list[EffectiveRouteOut]
    nextLink: str | None = None  # noqa: N815
