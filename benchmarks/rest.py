"""A small blocking client for nexthop's REST API, as the benchmarks read it.

The harness counts through the product's own interface (docs/api.md): peering
counters from ``GET /api/v1/routeservers/{rs}/peerings/{name}``, effective routes
from ``GET /api/v1/nics/{nic}/effective-route-table`` (following ``nextLink`` when
the table is paginated), and ``/healthz`` for liveness. One keep-alive HTTP/1.1
connection per client (``http.client``: stdlib, so the harness needs nothing the
product does not); every request has a timeout, and a request that does not
answer in time raises ``ApiTimeoutError`` so a busy server is told apart from a
dead one.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "API_PREFIX",
    "ApiClient",
    "ApiError",
    "ApiTimeoutError",
    "free_port",
    "instance_counters",
]

API_PREFIX = "/api/v1"
IN_0 = "RouteServiceRole_IN_0"


class ApiError(RuntimeError):
    """The API answered with an error status, or not at all (connection refused)."""


class ApiTimeoutError(ApiError):
    """The API did not answer within the request timeout."""


def free_port(address: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on at ``address`` right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


class ApiClient:
    """GETs against ``http://host:port`` over one reused connection."""

    def __init__(self, host: str, port: int, *, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def get(self, path: str) -> tuple[int, bytes]:
        """(status, body) of ``GET path``; ``ApiTimeoutError``/``ApiError`` on no answer."""
        for attempt in (0, 1):  # a kept-alive connection the server closed: retry once
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self._conn.request("GET", path)
                response = self._conn.getresponse()
                return response.status, response.read()
            except TimeoutError as exc:
                self.close()
                msg = f"GET {path}: no answer within {self.timeout:.0f} s"
                raise ApiTimeoutError(msg) from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if attempt or isinstance(exc, ConnectionRefusedError):
                    msg = f"GET {path}: {exc!r}"
                    raise ApiError(msg) from exc
        raise AssertionError("unreachable")

    def get_json(self, path: str) -> Any:
        status, body = self.get(path)
        if status != 200:
            msg = f"GET {path}: HTTP {status}: {body[:200]!r}"
            raise ApiError(msg)
        return json.loads(body)

    def healthz(self) -> float:
        """Seconds ``/healthz`` took to answer 200 (raises if it did not)."""
        start = time.perf_counter()
        status, _ = self.get("/healthz")
        if status != 200:
            msg = f"/healthz: HTTP {status}"
            raise ApiError(msg)
        return time.perf_counter() - start

    def wait_healthy(self, deadline: float, alive: Any = lambda: True) -> float:
        """Poll ``/healthz`` until it answers (or ``time.monotonic() > deadline``,
        or ``alive()`` turns false: ``ApiError``); return when it first answered."""
        while True:
            with contextlib.suppress(ApiError):
                self.healthz()
                return time.monotonic()
            if time.monotonic() > deadline or not alive():
                msg = f"the API at {self.host}:{self.port} did not come up"
                raise ApiError(msg)
            time.sleep(0.1)

    def peering(self, rs: str, name: str) -> dict[str, Any]:
        data: dict[str, Any] = self.get_json(f"{API_PREFIX}/routeservers/{rs}/peerings/{name}")
        return data

    def effective_routes(self, nic: str) -> Iterator[dict[str, Any]]:
        """Every row of the NIC's effective route table, page after page."""
        path: str | None = f"{API_PREFIX}/nics/{nic}/effective-route-table"
        while path is not None:
            page = self.get_json(path)
            yield from page.get("value", [])
            link = page.get("nextLink")
            if not link:
                break
            parts = urlsplit(link)
            path = parts.path + (f"?{parts.query}" if parts.query else "")


def instance_counters(peering: dict[str, Any], instance: str = IN_0) -> dict[str, Any]:
    """The counters of one instance in a ``peerings/{name}`` answer (``{}`` if absent)."""
    found: dict[str, Any] = peering.get("instances", {}).get(instance, {})
    return found
