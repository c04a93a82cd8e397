"""``--top/--skip/--prefix`` of the route-list commands.

With ``--top`` the command shows that one page (``-o json`` keeps ``nextLink``
when more rows exist); without it the command follows pages of ``PAGE`` rows
until none is left, so ``-o json`` prints the whole list, as before paging.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

__all__ = ["PAGE", "PrefixOption", "SkipOption", "TopOption", "fetch_pages", "rows_only"]

PAGE = 1000
"""Rows per request when the CLI follows pages (the API's default ``top``)."""

MAX_TOP = 10000

TopOption = Annotated[
    int | None,
    typer.Option("--top", min=1, max=MAX_TOP, help="Show one page of at most this many rows."),
]
SkipOption = Annotated[int, typer.Option("--skip", min=0, help="Rows to skip first.")]
PrefixOption = Annotated[
    str | None,
    typer.Option("--prefix", help="Only routes equal to or more specific than this CIDR."),
]

Fetch = Callable[[int, int], dict[str, Any]]
"""``fetch(skip, top)``: one page of a view (row lists by key, maybe ``nextLink``)."""


def fetch_pages(fetch: Fetch, skip: int, top: int | None) -> dict[str, Any]:
    """The page ``skip``/``top`` when ``top`` is given; else every row from ``skip``
    on, page after page while the answer has a ``nextLink``, lists joined by key."""
    if top is not None:
        return fetch(skip, top)
    out: dict[str, Any] = {}
    while True:
        page = fetch(skip, PAGE)
        for name, rows in rows_only(page).items():
            out.setdefault(name, []).extend(rows)
        if "nextLink" not in page:
            return out
        skip += PAGE


def rows_only(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """``data`` without ``nextLink``: the row lists by key."""
    return {name: rows for name, rows in data.items() if name != "nextLink"}
