"""Request and response models of the API (kept apart from the domain models)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ApplyRequest",
    "ApplyResponse",
    "ChangeOut",
    "ErrorBody",
    "ErrorResponse",
    "TraceRequest",
    "TrafficRequest",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Model):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(_Model):
    error: ErrorBody


class ApplyRequest(_Model):
    """Either ``yaml`` (topology file text; errors name ``source:line:column``) or
    ``topology`` (the same document as JSON)."""

    yaml: str | None = None
    topology: dict[str, Any] | None = None
    source: str = "<request>"
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
    source: str = Field(description="VM or NVA name (or its IP) the packet starts from")
    destination: str = Field(description="destination IP address")
    protocol: str = "tcp"
    port: int = Field(default=443, ge=0, le=65535)


class TrafficRequest(_Model):
    flows: int = Field(default=100, ge=1, le=100_000)
    source: str | None = None
    destination: str | None = None
