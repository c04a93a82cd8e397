"""Where CLI commands get their answers: the local store, or a running server.

``LocalClient`` opens the SQLite store and builds a ``ControlPlane`` (so read
commands work without ``nexthop serve``); ``RemoteClient`` calls the REST API
with httpx and turns its error JSON back into ``ControlPlaneError``. Both expose
the same methods, named after the ``ControlPlane`` ones.

Without ``--server``, a database owned by a live server (its run file, see
``nexthop.runfile``) is reached through that server's API, reads and writes alike,
so a command in another shell acts on the running network; otherwise each local
write holds the database's lock, and is refused naming the server if one took it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx

from nexthop.api import API_PREFIX
from nexthop.clock import ManualClock
from nexthop.runfile import DbHeldError, live_run, writer_lock
from nexthop.service import ControlPlane, ControlPlaneError
from nexthop.store import Store, default_db_path

__all__ = ["Client", "LocalClient", "RemoteClient", "open_client"]

REQUEST_TIMEOUT_S = 30.0
_T = TypeVar("_T")


class Client(Protocol):
    def apply_text(self, text: str, source: str, *, dry_run: bool) -> dict[str, Any]: ...
    def peerings(self, rs: str) -> list[dict[str, Any]]: ...
    def peering(self, rs: str, name: str) -> dict[str, Any]: ...
    def learned_routes(
        self,
        rs: str,
        name: str,
        *,
        prefix: str | None = None,
        skip: int = 0,
        top: int | None = None,
    ) -> dict[str, Any]: ...
    def advertised_routes(
        self,
        rs: str,
        name: str,
        *,
        prefix: str | None = None,
        skip: int = 0,
        top: int | None = None,
    ) -> dict[str, Any]: ...
    def effective_route_table(
        self, nic: str, *, prefix: str | None = None, skip: int = 0, top: int | None = None
    ) -> dict[str, Any]: ...
    def backend_health(self, lb: str) -> dict[str, Any]: ...
    def trace(self, source: str, destination: str, protocol: str, port: int) -> dict[str, Any]: ...
    def lab_fail(self, nva: str) -> dict[str, Any]: ...
    def lab_restore(self, nva: str) -> dict[str, Any]: ...
    def lab_status(self) -> dict[str, Any]: ...
    def lab_down(self) -> dict[str, Any]: ...
    def lab_traffic(
        self, flows: int, source: str | None, destination: str | None, seed: int
    ) -> Any: ...
    def close(self) -> None: ...


class LocalClient:
    """Answers from the store at ``db`` (default: the user data directory).

    The model is rebuilt at model time 0 on every invocation (a ``ManualClock``), so
    the same state always gives the same answer; lab faults fast-forward it."""

    def __init__(self, db: Path | None) -> None:
        self.db = db
        self.cp = ControlPlane(Store(db), ManualClock(0.0))

    def _write(self, fn: Callable[[], _T]) -> _T:
        """Run one write while holding the database's lock (``nexthop.runfile``), on
        the state re-read under the lock so no other local write is lost."""
        path = self.cp.store.path
        if str(path) == ":memory:":
            return fn()
        try:
            with writer_lock(path):
                self.cp.close()
                self.cp = ControlPlane(Store(self.db), ManualClock(0.0))
                return fn()
        except DbHeldError as exc:
            hint = f"; use --server {exc.run.url}" if exc.run else ""
            raise ControlPlaneError("db_held", f"{exc}{hint}") from None

    def apply_text(self, text: str, source: str, *, dry_run: bool) -> dict[str, Any]:
        if dry_run:
            return self.cp.apply_text(text, source, dry_run=True).to_json()
        return self._write(lambda: self.cp.apply_text(text, source, dry_run=False).to_json())

    def peerings(self, rs: str) -> list[dict[str, Any]]:
        return self.cp.routeserver_peerings(rs)

    def peering(self, rs: str, name: str) -> dict[str, Any]:
        return self.cp.routeserver_peering(rs, name)

    def learned_routes(
        self,
        rs: str,
        name: str,
        *,
        prefix: str | None = None,
        skip: int = 0,
        top: int | None = None,
    ) -> dict[str, Any]:
        return self.cp.learned_routes(rs, name, prefix=prefix, skip=skip, top=top)

    def advertised_routes(
        self,
        rs: str,
        name: str,
        *,
        prefix: str | None = None,
        skip: int = 0,
        top: int | None = None,
    ) -> dict[str, Any]:
        return self.cp.advertised_routes(rs, name, prefix=prefix, skip=skip, top=top)

    def effective_route_table(
        self, nic: str, *, prefix: str | None = None, skip: int = 0, top: int | None = None
    ) -> dict[str, Any]:
        return self.cp.effective_route_table(nic, prefix=prefix, skip=skip, top=top)

    def backend_health(self, lb: str) -> dict[str, Any]:
        return self.cp.backend_health(lb)

    def trace(self, source: str, destination: str, protocol: str, port: int) -> dict[str, Any]:
        return self.cp.trace(source, destination, protocol, port)

    def lab_fail(self, nva: str) -> dict[str, Any]:
        return self._write(lambda: self.cp.lab_fail(nva))

    def lab_restore(self, nva: str) -> dict[str, Any]:
        return self._write(lambda: self.cp.lab_restore(nva))

    def lab_status(self) -> dict[str, Any]:
        return self.cp.lab_status()

    def lab_down(self) -> dict[str, Any]:
        return self._write(self.cp.lab_down)

    def lab_traffic(
        self, flows: int, source: str | None, destination: str | None, seed: int
    ) -> Any:
        return {**self.cp.lab_traffic(flows, source, destination, seed), "seed": seed}

    def close(self) -> None:
        self.cp.close()


def _page(prefix: str | None, skip: int, top: int | None) -> dict[str, str | int]:
    """The query of a page request (``top`` omitted: the server's default page)."""
    params: dict[str, str | int] = {"skip": skip}
    if top is not None:
        params["top"] = top
    if prefix is not None:
        params["prefix"] = prefix
    return params


class RemoteClient:
    """Answers from the API of a running ``nexthop serve`` at ``url``."""

    def __init__(self, url: str, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=url.rstrip("/") + API_PREFIX, headers=headers, timeout=REQUEST_TIMEOUT_S
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ControlPlaneError("unreachable", f"cannot reach the server: {exc}") from None
        if response.is_success:
            return response.json()
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            raise ControlPlaneError(
                f"http_{response.status_code}", response.text or response.reason_phrase
            ) from None
        failure = ControlPlaneError(error["code"], error["message"], error.get("field"))
        failure.status = response.status_code
        raise failure

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
        result: dict[str, Any] = self._call("GET", path, params=_page(prefix, skip, top))
        return result

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
        result: dict[str, Any] = self._call("GET", path, params=_page(prefix, skip, top))
        return result

    def effective_route_table(
        self, nic: str, *, prefix: str | None = None, skip: int = 0, top: int | None = None
    ) -> dict[str, Any]:
        path = f"/nics/{nic}/effective-route-table"
        result: dict[str, Any] = self._call("GET", path, params=_page(prefix, skip, top))
        return result

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


def open_client(db: Path | None, server: str | None, token: str | None) -> Client:
    """A ``RemoteClient`` on ``server`` when given, else on the live server that owns
    ``db`` (default: the default database) if any, else a ``LocalClient`` on ``db``."""
    if server:
        return RemoteClient(server, token)
    path = db if db is not None else default_db_path()
    run = live_run(path) if str(path) != ":memory:" else None
    if run is not None:
        return RemoteClient(run.url, token)
    return LocalClient(db)
