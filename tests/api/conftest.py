"""Fixtures: real ``nexthop serve`` processes (see ``api_server``) and httpx clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from api_server import EXAMPLE, Server, start_server


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def make(*args: str, db: Path | None = None) -> Server:
        server = start_server(db or tmp_path / "nexthop.db", *args)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server with the next-hop-ip example, shared by the read-only tests."""
    s = start_server(tmp_path_factory.mktemp("api") / "nexthop.db", str(EXAMPLE))
    yield s
    s.stop()


@pytest.fixture
def api(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c
