"""Scenario ``lab-convergence``: ``nexthop lab up`` of NVAs originating many routes.

The harness writes a topology (``lab_topology``): a hub VNet with an NVA subnet,
a RouteServerSubnet, one route server ``rs`` and a VM ``vm1``; ``nvas`` built-in
NVAs (``nva1``..), each in its own AS (65001..) with ``routes`` ``network``
statements (distinct /24s: NVA i originates 100.(16 i).0.0/12's first ``routes``
/24s) in its FRR-style ``bgp_config``, peered with both instances (docs/topology.md).
Every NVA therefore learns every other NVA's routes from the route server. The
per-peer and total limits are raised so that no limit shapes the run (an NVA
echoes what it learned back to the route server, which drops it for the
AS-path loop; how such echoes count against Azure's 4,000 is not what this
scenario measures).

It runs ``nexthop lab up FILE --db TMP --port API --bgp-port BGP`` (the default
fast timers; ``--lab-timers topology`` passes ``--topology-timers``) and,
through the REST API only:

* **learned**: ``GET /api/v1/routeservers/rs/peerings/nva<i>`` until every NVA's
  ``accepted_routes`` is ``routes`` on both instances;
* **effective**: then ``GET /api/v1/nics/vm1/effective-route-table`` until all
  ``nvas x routes`` prefixes are there as ``VirtualNetworkGateway`` routes;
* **API answering**: a thread GETs ``/healthz`` back to back (50 ms apart) from
  the moment the API first answers; the maximum latency and the requests that
  did not answer within 10 s are reported, not asserted;
* **flaps**: every peering instance's ``state``/``established_at`` is polled; a
  session seen Established that leaves Established, or comes back with a new
  ``established_at``, is one flap (a hold timer expiry shows up as one), watched
  until ``settle`` seconds after convergence. Distinct ``last_error`` texts are kept.

Times are from spawning ``lab up`` (``converged_s``) and from the API's first
answer (``from_api_s``). A run past ``timeout`` ends as "did not finish in T s"
with the progress reached.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmarks.rest import ApiClient, ApiError, free_port
from benchmarks.serve_target import nexthop_command
from benchmarks.tables import fmt, markdown_table, median
from benchmarks.targets import (
    _REPO,
    bench_pythonpath,
    process_tree,
    tree_cpu_seconds,
    tree_peak_rss,
)

__all__ = [
    "LAB_HEADERS",
    "LAB_TIMERS",
    "LabRun",
    "lab_markdown",
    "lab_table_rows",
    "lab_topology",
    "nva_prefixes",
    "run_lab_convergence",
    "runs_as_dicts",
    "summarize_lab",
]

DEFAULT_NVAS = 8
DEFAULT_ROUTES = 4000
DEFAULT_TIMEOUT = 600.0
DEFAULT_SETTLE = 10.0
HUB = "10.201.0.0/16"
NVA_SUBNET = "10.201.0.0/24"
RS_SUBNET = "10.201.1.0/26"  # IN_0 10.201.1.4, IN_1 10.201.1.5
VM_SUBNET = "10.201.2.0/24"
VM = "vm1"
VM_IP = "10.201.2.4"
RS_IPS = ("10.201.1.4", "10.201.1.5")
FIRST_NVA_ASN = 65001
LAB_TIMERS = {"default": [], "topology": ["--topology-timers"]}
INSTANCES = ("RouteServiceRole_IN_0", "RouteServiceRole_IN_1")
BGP_SOURCE = "VirtualNetworkGateway"
MAX_NVAS = 8  # /12 blocks of 100.0.0.0/8 below 100.128.0.0 and 4,096 /24s each
MAX_ROUTES = 4096


def nva_prefixes(index: int, routes: int) -> list[str]:
    """The ``routes`` /24s NVA ``index`` (0-based) originates: 100.(16 index).0.0/12's first."""
    if not 0 <= index < MAX_NVAS or not 0 < routes <= MAX_ROUTES:
        msg = f"at most {MAX_NVAS} NVAs of 1-{MAX_ROUTES} routes each (got NVA {index}, {routes})"
        raise ValueError(msg)
    base = int(ipaddress.IPv4Address(f"100.{16 * index}.0.0"))
    return [f"{ipaddress.IPv4Address(base + (k << 8))}/24" for k in range(routes)]


def _nva_ip(index: int) -> str:
    return str(ipaddress.IPv4Address(NVA_SUBNET.split("/", maxsplit=1)[0]) + 4 + index)


def _bgp_config(index: int, routes: int) -> str:
    lines = [f"router bgp {FIRST_NVA_ASN + index}", f" bgp router-id {_nva_ip(index)}"]
    for rs in RS_IPS:
        lines += [f" neighbor {rs} remote-as 65515", f" neighbor {rs} ebgp-multihop 2"]
    lines.append(" address-family ipv4 unicast")
    lines += [f"  network {p}" for p in nva_prefixes(index, routes)]
    lines.append(" exit-address-family")
    return "\n".join(lines) + "\n"


def lab_topology(nvas: int = DEFAULT_NVAS, routes: int = DEFAULT_ROUTES) -> str:
    """The topology YAML: ``nvas`` NVAs of ``routes`` routes each; see the module."""
    if not 1 <= nvas <= MAX_NVAS:
        msg = f"nvas must be 1-{MAX_NVAS}, got {nvas}"
        raise ValueError(msg)
    topology: dict[str, Any] = {
        "name": "bench-lab-convergence",
        "description": f"{nvas} NVAs x {routes} routes, written by benchmarks.lab_convergence",
        "region": "westeurope",
        "vnets": [
            {
                "name": "hub",
                "address_space": [HUB],
                "subnets": [
                    {"name": "nva", "prefix": NVA_SUBNET},
                    {"name": "RouteServerSubnet", "prefix": RS_SUBNET},
                    {"name": "vms", "prefix": VM_SUBNET},
                ],
            }
        ],
        "route_servers": [
            {
                "name": "rs",
                "vnet": "hub",
                "limits": {
                    "max_peers": max(8, nvas),
                    "max_routes_per_peer": 1_000_000,
                    "max_total_routes": 1_000_000,
                },
                "peerings": [
                    {"name": f"nva{i + 1}", "peer_ip": _nva_ip(i), "peer_asn": FIRST_NVA_ASN + i}
                    for i in range(nvas)
                ],
            }
        ],
        "nvas": [
            {
                "name": f"nva{i + 1}",
                "nic": {"vnet": "hub", "subnet": "nva", "ip": _nva_ip(i)},
                "bgp_config": _bgp_config(i, routes),
            }
            for i in range(nvas)
        ],
        "vms": [{"name": VM, "nic": {"vnet": "hub", "subnet": "vms", "ip": VM_IP}}],
    }
    return yaml.safe_dump(topology, sort_keys=False, width=200)


@dataclass(slots=True, kw_only=True)
class LabRun:
    """One ``lab up`` run; times in seconds, None where not reached."""

    run: int
    nvas: int
    routes: int
    timers: str
    ok: bool = False
    status: str = "ok"  # ok | failed | timeout
    error: str | None = None
    api_up_s: float | None = None
    learned_s: float | None = None
    converged_s: float | None = None
    from_api_s: float | None = None
    learned: int = 0  # accepted routes summed over NVAs and instances at the end
    effective: int = 0  # vm1's BGP routes from the NVAs at the end
    max_healthz_s: float | None = None
    healthz_requests: int = 0
    healthz_unanswered: int = 0
    flaps: int = 0
    errors_seen: list[str] = field(default_factory=list)
    cpu_s: float | None = None
    peak_rss_bytes: int | None = None
    log_tail: str = ""


class _Health:
    """``/healthz`` back to back in a thread: max latency, unanswered requests."""

    def __init__(self, port: int, timeout: float = 10.0, gap: float = 0.05) -> None:
        self.api = ApiClient("127.0.0.1", port, timeout=timeout)
        self.timeout = timeout
        self.gap = gap
        self.max_s = 0.0
        self.requests = 0
        self.unanswered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            start = time.perf_counter()
            try:
                self.api.healthz()
            except ApiError:
                self.unanswered += 1
            self.requests += 1
            self.max_s = max(self.max_s, time.perf_counter() - start)
            self._stop.wait(self.gap)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout + 5)
        self.api.close()


class _Sessions:
    """Peering state per (NVA, instance) from the API, counting flaps."""

    def __init__(self, api: ApiClient, names: Sequence[str]) -> None:
        self.api = api
        self.names = names
        self.accepted: dict[tuple[str, str], int] = {}
        self._up: dict[tuple[str, str], Any] = {}  # established_at while Established
        self.flaps = 0
        self.errors: list[str] = []

    def poll(self) -> None:
        for name in self.names:
            instances = self.api.peering("rs", name).get("instances", {})
            for role in INSTANCES:
                row = instances.get(role, {})
                key = (name, role)
                self.accepted[key] = int(row.get("accepted_routes", 0))
                established = row.get("state") == "Established"
                since = row.get("established_at")
                if key in self._up and (not established or since != self._up[key]):
                    self.flaps += 1
                    del self._up[key]
                if established:
                    self._up[key] = since
                error = row.get("last_error") or ""
                if error and error not in self.errors:
                    self.errors.append(error)

    def learned(self) -> int:
        return sum(self.accepted.values())

    def complete(self, routes: int) -> bool:
        """Every NVA's ``routes`` accepted on both instances."""
        return all(self.accepted.get((n, r), 0) >= routes for n in self.names for r in INSTANCES)


def _effective(api: ApiClient, expected: set[str]) -> int:
    seen: set[str] = set()
    for row in api.effective_routes(VM):
        if row.get("source") == BGP_SOURCE:
            seen.update(p for p in row.get("addressPrefix", []) if p in expected)
    return len(seen)


def _run_once(
    workdir: Path, index: int, nvas: int, routes: int, timers: str, timeout: float, settle: float
) -> LabRun:
    result = LabRun(run=index, nvas=nvas, routes=routes, timers=timers)
    (workdir / "topology.yaml").write_text(lab_topology(nvas, routes))
    api_port, bgp_port = free_port(), free_port("127.201.1.4")
    command = nexthop_command(
        "lab", "up", str(workdir / "topology.yaml"), "--db", str(workdir / "state.db"),
        "--port", str(api_port), "--bgp-port", str(bgp_port), *LAB_TIMERS[timers],
    )  # fmt: skip
    env = dict(os.environ, PYTHONPATH=bench_pythonpath())
    log = (workdir / "lab.log").open("wb")
    spawned = time.monotonic()
    deadline = spawned + timeout
    process = subprocess.Popen(
        command, cwd=_REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    api = ApiClient("127.0.0.1", api_port)
    health = _Health(api_port)
    sessions = _Sessions(api, [f"nva{i + 1}" for i in range(nvas)])
    expected = {p for i in range(nvas) for p in nva_prefixes(i, routes)}
    goal_learned = nvas * routes * len(INSTANCES)

    def alive() -> bool:
        return process.poll() is None

    def poll(what: Callable[[], None]) -> None:
        if not alive():
            msg = f"nexthop lab up exited with status {process.returncode}"
            raise RuntimeError(msg)
        if time.monotonic() > deadline:
            raise TimeoutError
        with contextlib.suppress(ApiError):  # a busy or starting API: no reading this time
            what()

    try:
        api_up = api.wait_healthy(deadline, alive)
        result.api_up_s = api_up - spawned
        health.start()
        while not sessions.complete(routes):
            poll(sessions.poll)
            time.sleep(0.25)
        result.learned_s = time.monotonic() - spawned
        while result.effective < len(expected):
            poll(sessions.poll)

            def count() -> None:
                result.effective = _effective(api, expected)

            poll(count)
            if result.effective < len(expected):
                time.sleep(0.5)
        done = time.monotonic()
        result.converged_s, result.from_api_s = done - spawned, done - api_up
        while time.monotonic() < done + settle:
            poll(sessions.poll)
            time.sleep(0.25)
        result.ok = True
    except TimeoutError:
        result.status, result.error = "timeout", f"did not finish in {timeout:g} s"
    except (ApiError, RuntimeError) as exc:
        result.status, result.error = "failed", str(exc)
    finally:
        health.stop()
        pids = process_tree(process.pid) if alive() else []
        result.cpu_s = tree_cpu_seconds(pids) if pids else None
        result.peak_rss_bytes = tree_peak_rss(pids) if pids else None
        result.learned = sessions.learned()
        result.max_healthz_s = health.max_s if health.requests else None
        result.healthz_requests, result.healthz_unanswered = health.requests, health.unanswered
        result.flaps, result.errors_seen = sessions.flaps, sessions.errors
        api.close()
        _stop(process)
        log.close()
        if not result.ok:
            lines = (workdir / "lab.log").read_text(errors="replace").splitlines()
            result.log_tail = "\n".join(lines[-8:])
    if result.ok and result.learned < goal_learned:  # a session lost its routes while settling
        result.ok, result.status = False, "failed"
        result.error = f"{result.learned} of {goal_learned} routes learned after settling"
    return result


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the lab's process group; SIGKILL if it has not gone in 10 s."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def run_lab_convergence(
    *,
    nvas: int = DEFAULT_NVAS,
    routes: int = DEFAULT_ROUTES,
    runs: int = 1,
    timers: str = "default",
    timeout: float = DEFAULT_TIMEOUT,
    settle: float = DEFAULT_SETTLE,
    report: Callable[[LabRun], None] = lambda run: None,
) -> list[LabRun]:
    """``runs`` fresh ``lab up`` runs; ``ValueError`` for a bad size or timer name."""
    if timers not in LAB_TIMERS:
        msg = f"lab timers must be one of {', '.join(LAB_TIMERS)}, got {timers!r}"
        raise ValueError(msg)
    lab_topology(nvas, routes)  # validates the sizes before anything starts
    out = []
    for i in range(runs):
        workdir = Path(tempfile.mkdtemp(prefix="nexthop-lab-bench-"))
        try:
            run = _run_once(workdir, i, nvas, routes, timers, timeout, settle)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        report(run)
        out.append(run)
    return out


def summarize_lab(runs: list[LabRun]) -> list[dict[str, Any]]:
    """One row per (nvas, routes, timers): medians of the successful runs, and the
    worst API latency, unanswered requests and flaps over all runs."""
    groups: dict[tuple[int, int, str], list[LabRun]] = {}
    for r in runs:
        groups.setdefault((r.nvas, r.routes, r.timers), []).append(r)
    rows = []
    for (nvas, routes, timers), mine in groups.items():
        good = [r for r in mine if r.ok]

        def med(name: str, of: list[LabRun] = good) -> float | None:
            return median([v for r in of if (v := getattr(r, name)) is not None])

        latencies = [r.max_healthz_s for r in mine if r.max_healthz_s is not None]
        rows.append(
            {
                "nvas": nvas,
                "routes": routes,
                "timers": timers,
                "runs": len(mine),
                "ok_runs": len(good),
                "status": "ok"
                if len(good) == len(mine)
                else "/".join(sorted({r.status for r in mine})),
                "error": next((r.error for r in mine if r.error), None),
                "converged_s": med("converged_s"),
                "from_api_s": med("from_api_s"),
                "learned_s": med("learned_s"),
                "all_converged_s": [r.converged_s for r in mine],
                "max_healthz_s": max(latencies) if latencies else None,
                "healthz_unanswered": sum(r.healthz_unanswered for r in mine),
                "healthz_requests": sum(r.healthz_requests for r in mine),
                "flaps": sum(r.flaps for r in mine),
                "peak_rss_mb": rss / 1e6 if (rss := med("peak_rss_bytes")) is not None else None,
            }
        )
    return rows


LAB_HEADERS = [
    "NVAs x routes",
    "timers",
    "converged s",
    "runs (s)",
    "from API up s",
    "learned s",
    "max /healthz s",
    "unanswered /healthz",
    "session flaps",
    "peak RSS MB",
    "status",
]


def lab_table_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            f"{r['nvas']} x {r['routes']:,}",
            r["timers"],
            fmt(r["converged_s"]),
            " / ".join(fmt(x) if x is not None else "-" for x in r["all_converged_s"]),
            fmt(r["from_api_s"]),
            fmt(r["learned_s"]),
            fmt(r["max_healthz_s"], 3),
            f"{r['healthz_unanswered']} of {r['healthz_requests']}",
            str(r["flaps"]),
            fmt(r["peak_rss_mb"], 0),
            r["status"] if r["status"] == "ok" else f"{r['status']}: {r['error']}",
        ]
        for r in rows
    ]


def lab_markdown(rows: list[dict[str, Any]]) -> list[str]:
    return [
        "## Lab convergence (`nexthop lab up`, built-in NVAs; through the REST API)",
        "",
        "From spawning `nexthop lab up` until every NVA's routes are accepted on both "
        "instances and vm1's effective routes hold them all; `/healthz` polled back to "
        "back throughout (latency reported, not asserted); flaps: sessions seen "
        "Established that went down or re-established, until the settle time after convergence.",
        "",
        *markdown_table(LAB_HEADERS, lab_table_rows(rows)),
    ]


def runs_as_dicts(runs: list[LabRun]) -> list[dict[str, Any]]:
    return [asdict(r) for r in runs]
