"""Where CLI commands get their answers: the REST API, of a running server or in process.

Every command speaks the API (one client, ``ApiClient``): to the running
``nexthop serve``/``lab up`` that owns the database, to ``--server``, or, when no
server runs, to the same FastAPI app built in this process over the local SQLite
store (so read commands work without ``nexthop serve`` and answer exactly as the
server would: one implementation of every view and error, the API's).

Without ``--server``, a database owned by a live server (its run file, see
``nexthop.runfile``) is reached through that server's API, reads and writes alike,
so a command in another shell acts on the running network; otherwise each local
write holds the database's lock, and is refused naming the server if one took it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from nexthop.api import API_PREFIX, create_app
from nexthop.clock import ManualClock
from nexthop.runfile import DbHeldError, live_run, writer_lock
from nexthop.service import ControlPlane, ControlPlaneError
from nexthop.store import Store, default_db_path

__all__ = ["ApiClient", "LocalTransport", "open_client"]

REQUEST_TIMEOUT_S = 30.0
_LOCAL_URL = "http://local"


class LocalTransport(httpx.BaseTransport):
    """The API app over the store at ``db``, answered in this process.

    The model is rebuilt at model time 0 on every invocation (a ``ManualClock``), so
    the same state always gives the same answer. A request that may write (any method
    but GET) runs under the database's lock, on the state re-read under the lock, so
    no other local write is lost and a database a server holds is refused."""

    def __init__(self, db: Path | None) -> None:
        self.db = db
        self.cp = self._open()

    def _open(self) -> ControlPlane:
        return ControlPlane(Store(self.db), ManualClock(0.0))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = self.cp.store.path
        if request.method == "GET" or str(path) == ":memory:":
            return self._answer(request)
        try:
            with writer_lock(path):
                self.cp.close()
                self.cp = self._open()
                return self._answer(request)
        except DbHeldError as exc:
            hint = f"; use --server {exc.run.url}" if exc.run else ""
            raise ControlPlaneError("db_held", f"{exc}{hint}") from None

    def _answer(self, request: httpx.Request) -> httpx.Response:
        asgi = httpx.ASGITransport(app=create_app(self.cp), client=("127.0.0.1", 0))

        async def call() -> httpx.Response:
            response = await asgi.handle_async_request(request)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        return asyncio.run(call())

    def close(self) -> None:
        self.cp.close()


class ApiClient:
    """The API's operations, named after the ``ControlPlane`` ones, over ``transport``
    (the network for a running server, ``LocalTransport`` for the local store); API
    errors come back as ``ControlPlaneError`` with the API's code, message and field."""

    def __init__(
        self, url: str, token: str | None, transport: httpx.BaseTransport | None = None
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._local = isinstance(transport, LocalTransport)
        self._http = httpx.Client(
            base_url=url.rstrip("/") + API_PREFIX,
            headers=headers,
            timeout=REQUEST_TIMEOUT_S,
            transport=transport,
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ControlPlaneError("unreachable", f"cannot reach the server: {exc}") from None
        if response.is_success:
            return response
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            raise ControlPlaneError(
                f"http_{response.status_code}", response.text or response.reason_phrase
            ) from None
        failure = ControlPlaneError(error["code"], error["message"], error.get("field"))
        failure.status = response.status_code
        raise failure

    def _page(self, path: str, prefix: str | None, skip: int, top: int | None) -> dict[str, Any]:
        """One page of a paged collection (``top`` omitted: the server's default page)."""
        params: dict[str, str | int] = {"skip": skip}
        if top is not None:
            params["top"] = top
        if prefix is not None:
            params["prefix"] = prefix
        result: dict[str, Any] = self._call("GET", path, params=params)
        link = result.get("nextLink")
        if self._local and isinstance(link, str):
            # in process there is no server to link to: the link is its query
            result["nextLink"] = "?" + httpx.URL(link).query.decode()
        return result

    def apply_text(self, text: str, source: str, *, dry_run: bool) -> dict[str, Any]:
        body = {"yaml": text, "source": source, "dry_run": dry_run}
        result: dict[str, Any] = self._call("POST", "/apply", json=body)
        return result

    def peerings(self, rs: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"/routeservers/{rs}/peerings")
        return result

    def peering(self, rs: str, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/routeservers/{rs}/peerings/{name}")
        return result

    def learned_routes(
        self,
        rs: str,
        name: str,
        *,
        prefix: str | None = None,
        skip: int = 0,
        top: int | None = None,
    ) -> dict[str, Any]:
        path = f"/routeservers/{rs}/peerings/{name}/learned-routes"
        return self._page(path, prefix, skip, top)

    def advertised_routes(
        self,
        rs: str,
        name: str,
        *,
        prefix: str | None = None,
        skip: int = 0,
        top: int | None = None,
    ) -> dict[str, Any]:
        path = f"/routeservers/{rs}/peerings/{name}/advertised-routes"
        return self._page(path, prefix, skip, top)

    def effective_route_table(
        self, nic: str, *, prefix: str | None = None, skip: int = 0, top: int | None = None
    ) -> dict[str, Any]:
        return self._page(f"/nics/{nic}/effective-route-table", prefix, skip, top)

    def mrt_dump(self, rs: str, instance: str) -> bytes:
        return self._request("GET", f"/routeservers/{rs}/instances/{instance}/mrt").content

    def backend_health(self, lb: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/loadbalancers/{lb}/backend-health")
        return result

    def trace(self, source: str, destination: str, protocol: str, port: int) -> dict[str, Any]:
        body = {"source": source, "destination": destination, "protocol": protocol, "port": port}
        result: dict[str, Any] = self._call("POST", "/trace", json=body)
        return result

    def lab_fail(self, nva: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/lab/fail/{nva}")
        return result

    def lab_restore(self, nva: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/lab/restore/{nva}")
        return result

    def lab_status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/lab/status")
        return result

    def lab_down(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/lab/down")
        return result

    def lab_traffic(
        self, flows: int, source: str | None, destination: str | None, seed: int
    ) -> Any:
        body = {"flows": flows, "source": source, "destination": destination, "seed": seed}
        return self._call("POST", "/lab/traffic", json=body)

    def close(self) -> None:
        self._http.close()


def open_client(db: Path | None, server: str | None, token: str | None) -> ApiClient:
    """The API of ``server`` when given, else of the live server that owns ``db``
    (default: the default database) if any, else the API in process over ``db``."""
    if server:
        return ApiClient(server, token)
    path = db if db is not None else default_db_path()
    run = live_run(path) if str(path) != ":memory:" else None
    if run is not None:
        return ApiClient(run.url, token)
    return ApiClient(_LOCAL_URL, None, LocalTransport(db))
