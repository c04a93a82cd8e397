"""Structured logs for every long-running command (``serve``, ``lab up``, ``demo``).

One call, ``configure_logging(level, fmt)``, sets structlog up for the process:
JSON lines (one object per event, ``timestamp`` in UTC ISO 8601, ``level``,
``event``, the logger's bound context such as ``route_server``, ``peering``,
``peer``) when the stream is not a terminal, the coloured console renderer when it
is; ``--log-format json|console`` overrides. ``--log-level`` filters before an event
is rendered, and uvicorn is given the same level, so ``warning`` (the default)
prints only warnings and errors. Exceptions logged with ``exc_info`` carry their
traceback (an ``exception`` string in JSON; never the frames' locals, which may
hold secrets such as a TCP-MD5 password).
"""

from __future__ import annotations

import io
import logging
import sys
from enum import StrEnum
from typing import TextIO, cast

import structlog

__all__ = ["LogFormat", "LogLevel", "configure_logging"]


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def number(self) -> int:
        return int(logging.getLevelName(self.value.upper()))


class LogFormat(StrEnum):
    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


class _Stderr(io.TextIOBase):
    """Whatever ``sys.stderr`` is when a line is written (not when logging was set
    up): a test runner or a caller may swap and close the one seen at set-up."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure_logging(
    level: LogLevel | str = LogLevel.WARNING,
    fmt: LogFormat | str = LogFormat.AUTO,
    stream: TextIO | None = None,
) -> None:
    """Send structlog events at ``level`` and above to ``stream`` (stderr) as
    ``fmt``; ``auto`` is console on a terminal, JSON lines otherwise."""
    out: TextIO = cast(TextIO, _Stderr()) if stream is None else stream
    chosen = LogFormat(fmt)
    if chosen is LogFormat.AUTO:
        chosen = LogFormat.CONSOLE if out.isatty() else LogFormat.JSON
    renderer: structlog.typing.Processor
    if chosen is LogFormat.JSON:
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if chosen is LogFormat.JSON:
        processors.append(structlog.processors.format_exc_info)  # text, no locals
    number = LogLevel(level).number
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(number),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    _route_stdlib(out, number, processors, renderer)


def _route_stdlib(
    out: TextIO,
    number: int,
    processors: list[structlog.typing.Processor],
    renderer: structlog.typing.Processor,
) -> None:
    """Render the standard library's records (uvicorn's) like structlog's events."""
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *processors],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(number)
