"""``ControlPlane``: the one façade the API, the CLI and the lab call.

It owns the desired ``Topology`` (validated), persists it in a ``Store`` and
runs the ``World`` built from it (route servers, load balancers, NVAs and the
virtual network fabric, modelled in-process). Every write follows the same
path: build the candidate topology, validate it whole, build its World, and
only then commit to SQLite in one transaction and swap the in-memory state; any
failure before the commit leaves the database and memory as they were.

Runtime seam: ``attach_runtime(runtime)`` hands a live runtime (the
``nexthop.runtime.network.LiveNetwork`` of ``nexthop serve`` and ``nexthop lab
up``) the current topology; it is told ``topology_changed(topology, world)``
after each committed change and ``close()`` on ``close()``/``lab_down()``. While
a ``LiveRuntime`` runs (``live`` true) every view answers from its World, which
is built over the running route servers, sessions, probes and NVAs; NVA faults
go to the running NVAs only. The model World here answers only when nothing
runs (``nexthop trace`` on a database with no server, ``apply --dry-run``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import ValidationError

from nexthop import lint
from nexthop.clock import Clock
from nexthop.config import (
    LoadedTopology,
    Topology,
    TopologyError,
    TopologyInvalid,
    load_topology,
    load_topology_text,
)
from nexthop.service import dumps, views
from nexthop.service.errors import (
    Conflict,
    ControlPlaneError,
    NotFound,
    Unavailable,
    from_validation,
)
from nexthop.service.resources import (
    KINDS,
    SETTINGS_KIND,
    SINGULAR,
    Change,
    diff_resources,
    from_resources,
    to_resources,
)
from nexthop.service.walltime import WallClock
from nexthop.store import Resource, Store, StoreError
from nexthop.world import World

__all__ = ["ApplyResult", "ControlPlane", "LiveRuntime", "Runtime", "validate_topology"]

_T = TypeVar("_T")

FAILED_NVAS_KEY = "lab.failed_nvas"


class Runtime(Protocol):
    """What ``attach_runtime`` expects: told about every committed topology."""

    def topology_changed(self, topology: Topology, world: World) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class LiveRuntime(Protocol):
    """A runtime that also answers the views while ``live`` (e.g. the loopback lab):
    ``with_world(fn)`` runs ``fn`` on its live-synced World (on its own thread or
    loop, returning the result), and NVA faults are applied to the real NVAs."""

    @property
    def live(self) -> bool: ...

    def topology_changed(self, topology: Topology, world: World) -> None: ...

    def close(self) -> None: ...

    def with_world(self, fn: Callable[[World], _T]) -> _T: ...

    def fail_nva(self, nva: str) -> None: ...

    def restore_nva(self, nva: str) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyResult:
    """The changes an apply computed, and whether they were committed."""

    changes: list[Change]
    applied: bool
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "changes": [c.to_json() for c in self.changes],
            "warnings": self.warnings,
        }


def validate_topology(data: dict[str, Any]) -> Topology:
    """Validate a topology given as plain data (``ControlPlaneError`` listing every problem)."""
    try:
        return Topology.model_validate(data)
    except (ValidationError, TopologyInvalid) as exc:
        raise from_validation(exc) from None


class ControlPlane:
    """Desired state + running model. Thread-safe: one lock serialises every call."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.RLock()
        self._runtime: Runtime | None = None
        self._resources = store.resources()
        self._topology: Topology | None = None
        self._world: World | None = None
        self._failed: list[str] = list(store.get_state(FAILED_NVAS_KEY, []))
        self._skew = 0.0
        if self._resources:
            topology = validate_topology(from_resources(self._resources))
            self._topology = topology
            self._adopt(self._build_world(topology, self._failed))

    # --- state -------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        return self._store

    @property
    def topology(self) -> Topology | None:
        """The desired topology (None before the first apply)."""
        return self._topology

    @property
    def world(self) -> World:
        if self._world is None:
            raise ControlPlaneError("empty", "no topology applied yet; run `nexthop apply -f FILE`")
        return self._world

    @property
    def failed_nvas(self) -> list[str]:
        """NVAs the lab has failed (persisted)."""
        return list(self._failed)

    def attach_runtime(self, runtime: Runtime) -> None:
        """Let a live runtime mirror the model; it is told about every committed change."""
        with self._lock:
            self._runtime = runtime
            if self._topology is not None and self._world is not None:
                runtime.topology_changed(self._topology, self._world)

    def close(self) -> None:
        with self._lock:
            if self._runtime is not None:
                self._runtime.close()
                self._runtime = None
            self._store.close()

    def _model_now(self) -> float:
        """Model time: the clock plus every fast-forward the lab asked for."""
        return self._clock.now() + self._skew

    def _build_world(self, topology: Topology, failed: list[str]) -> World:
        """A World for ``topology`` with the lab's ``failed`` NVAs replayed; changes
        nothing here (the caller adopts it with ``_adopt``)."""
        try:
            world = World.from_topology(topology, self._model_now())
            for nva in failed:
                if topology.nva(nva) is not None:
                    views.fail_nva(world, nva)
        except (ValueError, KeyError) as exc:
            raise ControlPlaneError(
                "model_rejected", f"the model refused the topology: {exc}"
            ) from None
        return world

    def _adopt(self, world: World) -> None:
        self._world = world
        # replayed faults fast-forward a new model: keep model time monotonic
        self._skew = max(self._skew, world.now - self._clock.now())

    def _tick(self) -> World:
        """The World, advanced to the current model time."""
        world = self.world
        now = self._model_now()
        if now > world.now:
            world.advance(now)
        return world

    # --- writes ------------------------------------------------------------------------

    def _commit(
        self,
        topology: Topology,
        event: str,
        dry_run: bool,
        loaded: LoadedTopology | None = None,
    ) -> ApplyResult:
        """Lint ``topology`` (an error refuses the write), diff it against the stored
        resources and, unless ``dry_run`` or nothing changed, build its World, write it
        and adopt it."""
        warnings = lint.gate(topology, loaded)
        resources = to_resources(topology)
        changes = diff_resources(self._resources, resources)
        if not changes:
            return ApplyResult(changes=changes, applied=False, warnings=warnings)
        failed = [n for n in self._failed if topology.nva(n) is not None]
        world = self._build_world(topology, failed)  # may raise: nothing written yet
        if dry_run:
            return ApplyResult(changes=changes, applied=False, warnings=warnings)
        detail = {"changes": [c.to_json() for c in changes]}
        state = {FAILED_NVAS_KEY: failed} if failed != self._failed else None
        try:
            self._store.replace_all(resources, event=(event, detail), state=state)
        except StoreError as exc:
            raise Unavailable("store_unavailable", str(exc)) from None
        self._resources, self._topology, self._failed = resources, topology, failed
        self._adopt(world)
        if self._runtime is not None:
            self._runtime.topology_changed(topology, world)
        return ApplyResult(changes=changes, applied=True, warnings=warnings)

    def apply(self, topology: Topology | LoadedTopology, *, dry_run: bool = False) -> ApplyResult:
        """Make the stored topology equal ``topology`` (declarative create/update/delete).
        The whole topology is validated and its model built before anything is written;
        with ``dry_run`` only the diff is returned."""
        loaded = None
        if isinstance(topology, LoadedTopology):  # lint warnings then read file:line:column
            loaded, topology = topology, topology.topology
        with self._lock:
            return self._commit(topology, "apply", dry_run, loaded)

    def apply_text(
        self, text: str, source: str = "<request>", *, dry_run: bool = False
    ) -> ApplyResult:
        """``apply`` of YAML text; errors carry ``source:line:column: field: message``."""
        try:
            loaded = load_topology_text(text, source)
        except TopologyError as exc:
            raise from_validation(exc) from None
        return self.apply(loaded, dry_run=dry_run)

    def apply_file(self, path: str, *, dry_run: bool = False) -> ApplyResult:
        try:
            loaded = load_topology(path)
        except TopologyError as exc:
            raise from_validation(exc) from None
        return self.apply(loaded, dry_run=dry_run)

    # --- resource CRUD -----------------------------------------------------------------

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in KINDS:
            raise ControlPlaneError(
                "unknown_kind", f"unknown resource kind {kind!r}; one of {', '.join(KINDS)}", "kind"
            )

    def kinds(self) -> list[str]:
        return list(KINDS)

    def list_resources(self, kind: str) -> list[dict[str, Any]]:
        self._check_kind(kind)
        with self._lock:
            return [r.body for r in self._resources if r.kind == kind]

    def get_resource(self, kind: str, name: str) -> dict[str, Any]:
        self._check_kind(kind)
        with self._lock:
            for r in self._resources:
                if r.kind == kind and r.name == name:
                    return r.body
        raise NotFound(SINGULAR[kind], name)

    def _candidate(self, edit: Callable[[list[Resource]], list[Resource]]) -> Topology:
        return validate_topology(from_resources(edit(list(self._resources))))

    def put_resource(self, kind: str, name: str, body: dict[str, Any]) -> ApplyResult:
        """Create or replace one resource; the whole resulting topology is validated."""
        self._check_kind(kind)
        if not isinstance(body, dict):
            raise ControlPlaneError("invalid_body", "the resource body must be a JSON object")
        body = dict(body)
        if kind != SETTINGS_KIND and body.setdefault("name", name) != name:
            raise ControlPlaneError(
                "name_mismatch",
                f"body name {body['name']!r} differs from the URL name {name!r}",
                "name",
            )

        def edit(resources: list[Resource]) -> list[Resource]:
            position = len(resources)
            for i, r in enumerate(resources):
                if r.kind == kind and r.name == name:
                    position = r.position
                    del resources[i]
                    break
            resources.append(Resource(kind=kind, name=name, position=position, body=body))
            return resources

        with self._lock:
            topology = self._candidate(edit)
            return self._commit(topology, "put", dry_run=False)

    def delete_resource(self, kind: str, name: str) -> ApplyResult:
        """Delete one resource; refused (nothing changes) if others still reference it."""
        self._check_kind(kind)
        if kind == SETTINGS_KIND:
            raise ControlPlaneError("not_deletable", "the topology settings cannot be deleted")
        with self._lock:
            self.get_resource(kind, name)
            try:
                topology = self._candidate(
                    lambda rs: [r for r in rs if not (r.kind == kind and r.name == name)]
                )
            except ControlPlaneError as exc:
                raise Conflict(
                    "in_use", f"cannot delete {kind} {name!r}: {exc.message}", exc.field
                ) from None
            return self._commit(topology, "delete", dry_run=False)

    def events(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest ``limit`` entries of the event log (applies, lab faults), oldest first."""
        with self._lock:
            return [
                {"id": e.id, "at": e.at, "kind": e.kind, "detail": e.detail}
                for e in self._store.events(limit)
            ]

    # --- views -------------------------------------------------------------------------

    def _live(self) -> LiveRuntime | None:
        rt = self._runtime
        return rt if isinstance(rt, LiveRuntime) and rt.live else None

    def _view(self, fn: Callable[[World], _T]) -> _T:
        """``fn`` on the world that answers now: a live runtime's, else the model's
        (advanced to the current model time). Runs under the lock."""
        with self._lock:
            self._topology_or_fail()
            live = self._live()
            if live is not None:
                return live.with_world(fn)
            return fn(self._tick())

    def routeserver_peerings(self, rs: str) -> list[dict[str, Any]]:
        """``az network routeserver peering list``."""
        return self._view(lambda w: views.peerings(w, self._topology_or_fail(), rs))

    def routeserver_peering(self, rs: str, name: str) -> dict[str, Any]:
        """``az network routeserver peering show`` plus per-instance state and counters."""
        return self._view(
            lambda w: views.peering(w, self._topology_or_fail(), rs, name, self._wall_clock())
        )

    def mrt_dump(self, rs: str, instance: str) -> bytes:
        """MRT TABLE_DUMP_V2 (RFC 6396) of one instance's Loc-RIB (``service.dumps``)."""
        return self._view(lambda w: dumps.mrt_dump(w, rs, instance, self._wall_clock()))

    def _wall_clock(self) -> WallClock:
        """The views' clock reading: a live network keeps ``loop.time()``, which is
        ``time.monotonic()``; the model keeps model time (the clock plus skew)."""
        if self._live() is not None:
            return WallClock.at(time.monotonic())
        return WallClock.at(self._model_now())

    def learned_routes(
        self,
        rs: str,
        peering: str,
        *,
        prefix: str | None = None,
        skip: int = 0,
        top: int | None = None,
    ) -> dict[str, Any]:
        """``az network routeserver peering list-learned-routes`` (a page: ``views``)."""
        return self._view(
            lambda w: views.learned_routes(w, rs, peering, prefix=prefix, skip=skip, top=top)
        )

    def advertised_routes(
        self,
        rs: str,
        peering: str,
        *,
        prefix: str | None = None,
        skip: int = 0,
        top: int | None = None,
    ) -> dict[str, Any]:
        """``az network routeserver peering list-advertised-routes`` (a page: ``views``)."""
        return self._view(
            lambda w: views.advertised_routes(w, rs, peering, prefix=prefix, skip=skip, top=top)
        )

    def effective_route_table(
        self, nic: str, *, prefix: str | None = None, skip: int = 0, top: int | None = None
    ) -> dict[str, Any]:
        """``az network nic show-effective-route-table`` (a NIC, or its VM/NVA; a page)."""
        return self._view(
            lambda w: views.effective_route_table(w, nic, prefix=prefix, skip=skip, top=top)
        )

    def backend_health(self, lb: str) -> dict[str, Any]:
        return self._view(lambda w: views.backend_health(w, lb))

    def trace(
        self, source: str, destination: str, protocol: str = "tcp", port: int = 443
    ) -> dict[str, Any]:
        return self._view(lambda w: views.trace(w, source, destination, protocol, port))

    def _topology_or_fail(self) -> Topology:
        if self._topology is None:
            raise ControlPlaneError("empty", "no topology applied yet; run `nexthop apply -f FILE`")
        return self._topology

    # --- lab ---------------------------------------------------------------------------

    def _require_nva(self, nva: str) -> None:
        if self._topology_or_fail().nva(nva) is None:
            raise NotFound("NVA", nva)

    def _persist_failed(self, failed: list[str], event: tuple[str, dict[str, Any]]) -> None:
        try:
            self._store.set_state(FAILED_NVAS_KEY, failed, event=event)
        except StoreError as exc:
            raise Unavailable("store_unavailable", str(exc)) from None

    def lab_fail(self, nva: str) -> dict[str, Any]:
        """NVA ``nva`` dies; the model then runs until everyone has noticed (probes,
        heartbeats, BGP hold timer). Persisted: a restart keeps it failed. With a live
        runtime attached, its NVA is killed too."""
        with self._lock:
            self._require_nva(nva)
            if nva not in self._failed:
                live = self._live()
                if live is not None:
                    live.fail_nva(nva)  # the running NVA: the model is not touched
                failed = [*self._failed, nva]
                self._persist_failed(failed, ("lab.fail", {"nva": nva}))
                self._failed = failed
                if live is None:
                    self._skew += views.fail_nva(self._tick(), nva)
            return self.lab_status()

    def lab_restore(self, nva: str) -> dict[str, Any]:
        """NVA ``nva`` comes back; the model runs until probes and sessions are up."""
        with self._lock:
            self._require_nva(nva)
            if nva in self._failed:
                live = self._live()
                if live is not None:
                    live.restore_nva(nva)
                failed = [n for n in self._failed if n != nva]
                event = ("lab.restore", {"nva": nva})
                self._persist_failed(failed, event)
                self._failed = failed
                if live is None:
                    self._skew += views.restore_nva(self._tick(), nva)
            return self.lab_status()

    def lab_status(self) -> dict[str, Any]:
        """NVAs (up, failed by the lab, established sessions); ``live`` says whether a
        live runtime answers."""
        with self._lock:
            topology = self._topology_or_fail()
            failed = list(self._failed)
            status = self._view(lambda w: views.lab_status(w, topology, failed))
            status["live"] = self._live() is not None
            return status

    def lab_traffic(
        self,
        flows: int = 100,
        source: str | None = None,
        destination: str | None = None,
        seed: int = 0,
    ) -> dict[str, Any]:
        """Trace ``flows`` generated flows both ways and summarise them per NVA."""
        return self._view(lambda w: views.traffic(w, flows, source, destination, seed))

    def lab_down(self) -> dict[str, Any]:
        """Detach and stop the live runtime, if any; the model answers again."""
        with self._lock:
            runtime, self._runtime = self._runtime, None
            if runtime is not None:
                runtime.close()
                self._store.log("lab.down", {})
            return self.lab_status()
