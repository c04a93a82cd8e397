"""Shared test fixtures: the skip policy for tests that need an external binary.

Locally a missing daemon skips its tests with the Debian package to install; in CI
(``CI=true``) a missing daemon fails them, so the interop suite cannot silently
shrink to nothing.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator

import pytest
import structlog


def require_binary(name: str, binary: str, package: str) -> str:
    """Return the absolute path of ``binary``, or skip/fail the calling test."""
    path = binary if os.path.isabs(binary) and os.access(binary, os.X_OK) else None
    path = path or shutil.which(binary)
    if path is not None:
        return path
    message = f"{name}: {binary} not found; install the Debian package {package}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def require_daemon() -> Callable[[str, str, str], str]:
    """``require_daemon(name, binary, package) -> path``: skip locally, fail in CI."""
    return require_binary


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """A command run in process (``CliRunner``: ``serve``, ``lab up``, ``demo``) sets
    logging up for the whole process (``nexthop.logs.configure_logging``); undo it
    after each test so a later test sees structlog's defaults (``capture_logs``)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)
