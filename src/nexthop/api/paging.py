"""Query parameters of the paged views (issue 10 "Views at scale") and the
absolute ``nextLink`` (Azure's paging style: follow ``nextLink`` until absent).

``top`` is 1..``MAX_TOP`` with default ``DEFAULT_TOP`` (a 1M-row table is never
sent whole); ``skip`` >= 0; ``prefix`` a CIDR (rows equal to or inside it), parsed
by the views (400 naming ``prefix``). FastAPI checks the bounds: 422 naming the
parameter.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request

__all__ = ["DEFAULT_TOP", "MAX_TOP", "PrefixQuery", "SkipQuery", "TopQuery", "absolute_next"]

DEFAULT_TOP = 1000
MAX_TOP = 10000

TopQuery = Annotated[
    int, Query(ge=1, le=MAX_TOP, description=f"rows per page (default {DEFAULT_TOP})")
]
SkipQuery = Annotated[int, Query(ge=0, description="rows to skip before this page")]
PrefixQuery = Annotated[
    str | None, Query(description="only rows equal to or more specific than this CIDR")
]


def absolute_next(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with its relative ``nextLink`` (``?skip=…``) made absolute on the
    request's URL; unchanged when there is no next page."""
    link = body.get("nextLink")
    if isinstance(link, str):
        body["nextLink"] = str(request.url.replace(query=link.removeprefix("?")))
    return body
