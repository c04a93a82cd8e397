"""Shared test fixtures: the skip policy for tests that need an external binary.

Locally a missing daemon skips its tests with the Debian package to install; in CI
(``CI=true``) a missing daemon fails them, so the interop suite cannot silently
shrink to nothing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

import pytest


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
