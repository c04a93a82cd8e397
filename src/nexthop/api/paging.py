"""Query parameters of the paged views (issue 10 "Views at scale") and the
absolute ``nextLink`` (Azure's paging style: follow ``nextLink`` until absent).

``top`` is 1..``MAX_TOP`` with default ``DEFAULT_TOP`` (a 1M-row table is never
sent whole); ``skip`` 0..``MAX_SKIP``; ``prefix`` a CIDR of at most
``MAX_PREFIX_TEXT`` characters (rows equal to or inside it), parsed by the views
(400 naming ``prefix``). The bounds are declared in the OpenAPI schema and FastAPI
checks them: 422 naming the parameter.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request

__all__ = [
    "DEFAULT_TOP",
    "MAX_PREFIX_TEXT",
    "MAX_SKIP",
    "MAX_TOP",
    "PrefixQuery",
    "SkipQuery",
    "TopQuery",
    "absolute_next",
]

DEFAULT_TOP = 1000
MAX_TOP = 10000
MAX_SKIP = 1_000_000_000  # far beyond any table; keeps every value a 64-bit integer
MAX_PREFIX_TEXT = 49  # the longest IPv6 CIDR text: 45 characters, '/', 3 digits

TopQuery = Annotated[
    int, Query(ge=1, le=MAX_TOP, description=f"rows per page (default {DEFAULT_TOP})")
]
SkipQuery = Annotated[int, Query(ge=0, le=MAX_SKIP, description="rows to skip before this page")]
PrefixQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_PREFIX_TEXT,
        description="only rows equal to or more specific than this CIDR",
    ),
]


def absolute_next(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with its relative ``nextLink`` (``?skip=…``) made absolute on the
    request's URL; unchanged when there is no next page."""
    link = body.get("nextLink")
    if isinstance(link, str):
        body["nextLink"] = str(request.url.replace(query=link.removeprefix("?")))
    return body
