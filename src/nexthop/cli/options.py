"""Options shared by the commands (``--db``, ``--server``, ``--token``, ``-o``) and the
error handling that turns ``ControlPlaneError`` into a message and exit status 1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from nexthop.cli.client import ApiClient, open_client
from nexthop.cli.render import Output
from nexthop.logs import LogFormat, LogLevel
from nexthop.service import ControlPlaneError
from nexthop.store import DB_ENV, StoreError

__all__ = [
    "DbOption",
    "LogFormatOption",
    "LogLevelOption",
    "OutputOption",
    "ServerOption",
    "TokenOption",
    "client",
    "fail",
]

DbOption = Annotated[
    Path | None,
    typer.Option("--db", envvar=DB_ENV, help="SQLite state file (default: user data dir)."),
]
ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server", envvar="NEXTHOP_SERVER", help="Ask a running `nexthop serve` at this URL."
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="NEXTHOP_TOKEN", help="Bearer token for changes."),
]
OutputOption = Annotated[
    Output, typer.Option("--output", "-o", help="Output format.", case_sensitive=False)
]
LogLevelOption = Annotated[
    LogLevel,
    typer.Option("--log-level", help="Least severe log event printed.", case_sensitive=False),
]
LogFormatOption = Annotated[
    LogFormat,
    typer.Option(
        "--log-format",
        help="auto: console on a terminal, JSON lines otherwise.",
        case_sensitive=False,
    ),
]


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@contextmanager
def client(db: Path | None, server: str | None, token: str | None) -> Iterator[ApiClient]:
    """A client for the command; any control plane error exits 1 with its message."""
    try:
        c = open_client(db, server, token)
    except (ControlPlaneError, StoreError) as exc:
        raise fail(str(exc)) from None
    try:
        yield c
    except ControlPlaneError as exc:
        where = f" ({exc.field})" if exc.field and exc.field not in exc.message else ""
        raise fail(f"{exc.message}{where}") from None
    finally:
        c.close()


def run(
    db: Path | None, server: str | None, token: str | None, call: Callable[[ApiClient], Any]
) -> Any:
    with client(db, server, token) as c:
        return call(c)
