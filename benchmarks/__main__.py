"""``python -m benchmarks``: run scenarios against targets, print a table, save results.

Examples::

    python -m benchmarks                                   # ingest, 100k, 3 runs, default targets
    python -m benchmarks --scenario ingest --n 1000000 --shape eight --targets bird,nexthop,rs-core
    python -m benchmarks --scenario propagation --n 100000
    python -m benchmarks --scenario churn --n 100000 --shape table
    python -m benchmarks --scenario peers --peers 8,64     # 4,000 routes per peer
    python -m benchmarks --scenario scaling                # nexthop serve at 10k, 100k, 1M
    python -m benchmarks --scenario lab-convergence        # lab up, 8 NVAs x 4,000 routes
    python -m benchmarks --mrt ../shared/vectors/mrt/bgpdump/test_data/bview.20020722.2337.gz
    python -m benchmarks --quick                           # 10k, 1 run: a smoke run
    python -m benchmarks --scenario failover               # live lab, fast probes, 3 runs each
    python -m benchmarks --scenario failover --timers fast,azure-like

Targets: bird, frr, gobgp, exabgp, nexthop (the product: ``nexthop serve`` counted
through its REST API) and the stage profiles rs-core (its RouteServer behind
RouteServerHost alone, in-process) and speaker-core (the plain Speaker). The
default set is bird, frr, gobgp, exabgp, nexthop, rs-core; ``scaling`` runs
nexthop only unless ``--targets`` is given. Every run is bounded by ``--timeout``
(seconds from its first UPDATE; "did not finish in T s"); in ``scaling`` a size
that does not finish skips the larger ones.

Results go to ``benchmarks/results/<UTC timestamp>.json`` and
``benchmarks/results/latest.md``. Ratios are nexthop's (and rs-core's) median
over each target's median for the same scenario and parameters in the same
invocation (>1 means nexthop is slower); a second table gives nexthop / rs-core
(time, peak RSS, CPU) per workload. ``failover`` and ``lab-convergence`` run no
daemon and get their own tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.failover import (
    DEFAULT_BATCH,
    DEFAULT_FLOWS,
    FAILOVER_HEADERS,
    TIMERS,
    TOPOLOGIES,
    FailoverRun,
    failover_markdown,
    failover_table_rows,
    run_failover,
    runs_as_dicts,
    summarize_failover,
)
from benchmarks.lab_convergence import (
    DEFAULT_NVAS,
    DEFAULT_ROUTES,
    DEFAULT_SETTLE,
    LAB_HEADERS,
    LAB_TIMERS,
    LabRun,
    lab_markdown,
    lab_table_rows,
    run_lab_convergence,
    summarize_lab,
)
from benchmarks.lab_convergence import runs_as_dicts as lab_runs_as_dicts
from benchmarks.registry import DEFAULT_TARGETS, PRODUCT, TARGETS
from benchmarks.routes import SHAPES
from benchmarks.scenarios import PEERS_ROUTES, SCENARIOS, RunResult, Workload, run_scenario
from benchmarks.tables import (
    HEADERS,
    PRODUCT_HEADERS,
    SCALING_HEADERS,
    fmt,
    product_rows,
    product_table_rows,
    render_markdown,
    scaling_rows,
    scaling_table_rows,
    summarize,
    table_rows,
)
from benchmarks.targets import Target, TargetUnavailableError

__all__ = ["machine_info", "main", "plan_workloads"]

RESULTS = Path(__file__).resolve().parent / "results"
FAILOVER = "failover"
LAB = "lab-convergence"
SCALING = "scaling"
DEFAULT_SIZES = (100_000,)
SCALING_SIZES = (10_000, 100_000, 1_000_000)
DEFAULT_TIMEOUT = 600.0


def machine_info() -> dict[str, Any]:
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "nproc": int(nproc or 0),
        "cpu_model": model,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def snapshot_source() -> str:
    """Freeze src/ for this invocation's nexthop targets; return HEAD (+dirty)."""
    repo = Path(__file__).resolve().parent.parent
    copy = Path(tempfile.mkdtemp(prefix="nexthop-src-"))
    shutil.copytree(
        repo / "src" / "nexthop",
        copy / "nexthop",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    os.environ["NEXTHOP_BENCH_SRC"] = str(copy)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--", "src")
    return f"{head}{' + uncommitted changes in src/' if dirty else ''}"


def _rich_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
    table = Table(title=title)
    for header in headers:
        table.add_column(header)
    for cells in rows:
        table.add_row(*cells)
    return table


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def plan_workloads(
    scenarios: Sequence[str],
    *,
    sizes: Sequence[int] | None,
    shape: str,
    mrt: str | None,
    peers: Sequence[int],
    timeout: float | None,
    targets: Sequence[str] | None,
) -> list[tuple[Workload, list[str]]]:
    """(workload, target names) for the daemon scenarios, in order; ``sizes``/``targets``
    None: each scenario's defaults (100k and the default targets; ``scaling``: 10k,
    100k, 1M on nexthop). ``ValueError`` names an unknown scenario or target."""
    unknown = [t for t in targets or () if t not in TARGETS]
    if unknown:
        msg = f"unknown target {unknown[0]} (known: {', '.join(TARGETS)})"
        raise ValueError(msg)
    plan: list[tuple[Workload, list[str]]] = []
    for scenario in scenarios:
        if scenario in (FAILOVER, LAB):
            continue
        if scenario not in SCENARIOS:
            msg = f"unknown scenario {scenario}"
            raise ValueError(msg)
        if scenario == SCALING:
            names = list(targets or [PRODUCT])
            plan += [
                (Workload(scenario=scenario, n=n, shape=shape, mrt=mrt, timeout=timeout), names)
                for n in sorted(sizes or SCALING_SIZES)
            ]
            continue
        names = list(targets or DEFAULT_TARGETS)
        if scenario == "peers":
            plan += [
                (
                    Workload(
                        scenario=scenario, n=PEERS_ROUTES, shape=shape, peers=p, timeout=timeout
                    ),
                    names,
                )
                for p in peers
            ]
        else:
            plan += [
                (Workload(scenario=scenario, n=n, shape=shape, mrt=mrt, timeout=timeout), names)
                for n in sizes or DEFAULT_SIZES
            ]
    return plan


def _skip(workload: Workload, target: str, i: int, reason: str) -> RunResult:
    return RunResult(
        scenario=workload.scenario, target=target, run=i, n=workload.n, shape=workload.shape,
        peers=workload.peers, status="skipped", error=reason,
    )  # fmt: skip


def _run_daemons(
    plan: list[tuple[Workload, list[str]]],
    runs: int,
    root: Path,
    console: Console,
) -> tuple[list[RunResult], dict[str, str]]:
    """Every (workload, target) ``runs`` times; a scaling size that did not finish
    skips that target's larger sizes."""
    targets: dict[str, Target] = {}
    versions: dict[str, str] = {}
    for name in dict.fromkeys(n for _, names in plan for n in names):
        target = TARGETS[name](root / name)
        try:
            target.check()
            versions[name] = target.version()
        except TargetUnavailableError as exc:
            versions[name] = f"unavailable: {exc}"
        targets[name] = target
    results: list[RunResult] = []
    unfinished: dict[str, int] = {}  # scaling: target -> smallest size that did not finish
    for workload, names in plan:
        for name in names:
            target = targets[name]
            for i in range(runs):
                if versions[name].startswith("unavailable"):
                    result = _skip(workload, name, i, versions[name])
                    result.status = "unavailable"
                elif workload.scenario == SCALING and name in unfinished:
                    result = _skip(workload, name, i, f"{unfinished[name]:,} routes did not finish")
                else:
                    result = run_scenario(target, workload, i)
                results.append(result)
                console.print(
                    f"{workload.scenario} n={result.n:,} {name} run {i + 1}/{runs}: "
                    f"{result.status} {fmt(result.elapsed_s, 3)} s"
                    + (f" ({result.error})" if result.error else "")
                )
                if workload.scenario == SCALING and result.status in ("timeout", "failed"):
                    unfinished.setdefault(name, workload.n)
                if result.status in ("n/a", "unavailable", "skipped", "timeout"):
                    break
    return results, versions


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--scenario",
        default="ingest",
        help="ingest|propagation|churn|peers|scaling|failover|lab-convergence|all",
    )
    parser.add_argument(
        "--n", help="routes, comma-separated for several (default 100000; scaling: "
        + ",".join(map(str, SCALING_SIZES)) + ")",
    )  # fmt: skip
    parser.add_argument("--shape", default="single", choices=SHAPES)
    parser.add_argument("--mrt", help="replay this MRT file (routes capped at --n)")
    parser.add_argument("--peers", default="8,64", help="peer counts for the peers scenario")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--targets",
        help=f"comma-separated, from {', '.join(TARGETS)} (default {','.join(DEFAULT_TARGETS)};"
        f" scaling: {PRODUCT})",
    )
    parser.add_argument("--quick", action="store_true", help="10k routes, 1 run")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds per run from its first UPDATE (lab-convergence: from lab up)",
    )
    parser.add_argument(
        "--topologies",
        default=",".join(TOPOLOGIES),
        help="failover: lab examples to fail over (" + ", ".join(TOPOLOGIES) + ")",
    )
    parser.add_argument(
        "--timers", default="fast", help="failover: timer profiles (" + ", ".join(TIMERS) + ")"
    )
    parser.add_argument(
        "--flows", type=int, default=DEFAULT_FLOWS, help="failover: flows opened before the kill"
    )
    parser.add_argument(
        "--batch", type=int, default=DEFAULT_BATCH, help="failover: new flows traced per poll"
    )
    parser.add_argument("--lab-nvas", type=int, default=DEFAULT_NVAS, help="lab-convergence")
    parser.add_argument(
        "--lab-routes", type=int, default=DEFAULT_ROUTES, help="lab-convergence: per NVA"
    )
    parser.add_argument(
        "--lab-timers",
        default="default",
        choices=list(LAB_TIMERS),
        help="lab-convergence: lab up's default (fast) timers or --topology-timers",
    )
    parser.add_argument(
        "--lab-settle",
        type=float,
        default=DEFAULT_SETTLE,
        help="lab-convergence: seconds to keep counting flaps after convergence",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where results are saved")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)

    sizes = _ints(args.n) if args.n else None
    runs = args.runs
    if args.quick:
        sizes, runs = [10_000], 1
    everything = [*SCENARIOS, FAILOVER, LAB]
    scenarios = everything if args.scenario == "all" else args.scenario.split(",")
    try:
        plan = plan_workloads(
            scenarios,
            sizes=sizes,
            shape=args.shape,
            mrt=args.mrt,
            peers=_ints(args.peers),
            timeout=args.timeout,
            targets=args.targets.split(",") if args.targets else None,
        )
    except ValueError as exc:
        parser.error(str(exc))

    started = datetime.now(UTC)
    machine = machine_info()
    code = snapshot_source()
    console = Console(width=200)
    root = Path(tempfile.mkdtemp(prefix="nexthop-bench-"))
    results, versions = _run_daemons(plan, runs, root, console)

    failover_runs: list[FailoverRun] = []
    if FAILOVER in scenarios:

        def progress(run: FailoverRun) -> None:
            time = run.result["failover_time"] if run.result is not None else None
            console.print(
                f"failover {run.topology} ({run.timers}) run {run.run + 1}/{runs}: "
                f"{run.status} {fmt(time, 3)} s" + (f" ({run.error})" if run.error else "")
            )

        try:
            failover_runs = run_failover(
                args.topologies.split(","),
                args.timers.split(","),
                runs,
                flows=args.flows,
                batch=args.batch,
                report=progress,
            )
        except ValueError as exc:
            parser.error(str(exc))

    lab_runs: list[LabRun] = []
    if LAB in scenarios:

        def lab_progress(run: LabRun) -> None:
            console.print(
                f"lab-convergence {run.nvas} x {run.routes} run {run.run + 1}/{runs}: "
                f"{run.status} {fmt(run.converged_s)} s, max /healthz "
                f"{fmt(run.max_healthz_s, 3)} s, {run.flaps} flaps"
                + (f" ({run.error})" if run.error else "")
            )

        try:
            lab_runs = run_lab_convergence(
                nvas=args.lab_nvas,
                routes=args.lab_routes,
                runs=runs,
                timers=args.lab_timers,
                timeout=args.timeout,
                settle=args.lab_settle,
                report=lab_progress,
            )
        except ValueError as exc:
            parser.error(str(exc))
        versions[LAB] = f"nexthop lab up ({args.lab_timers} timers)"

    rows = summarize(results)
    daemon_rows = [r for r in rows if r["scenario"] != SCALING]
    if daemon_rows:
        console.print(_rich_table("nexthop benchmarks", HEADERS, table_rows(daemon_rows)))
    product = product_rows(daemon_rows)
    if product:
        console.print(
            _rich_table(
                "nexthop serve over its core (rs-core)",
                PRODUCT_HEADERS,
                product_table_rows(product),
            )
        )
    scaling = scaling_rows(rows)
    if scaling:
        console.print(
            _rich_table(
                "scaling: nexthop ingest per 100k routes",
                SCALING_HEADERS,
                scaling_table_rows(scaling),
            )
        )
    extra: list[str] = []
    failover_rows = summarize_failover(failover_runs)
    if failover_runs:
        console.print(
            _rich_table(
                "nexthop lab failover (scenario 5)",
                FAILOVER_HEADERS,
                failover_table_rows(failover_rows),
            )
        )
        extra += failover_markdown(failover_rows, args.flows, args.batch)
    lab_rows = summarize_lab(lab_runs)
    if lab_runs:
        console.print(
            _rich_table("nexthop lab up convergence", LAB_HEADERS, lab_table_rows(lab_rows))
        )
        extra += ["", *lab_markdown(lab_rows)] if extra else lab_markdown(lab_rows)

    now = datetime.now(UTC)
    machine["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    meta = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "finished": now.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine,
        "versions": versions,
        "nexthop_code": code,
        "command": "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    if not args.no_save:
        out: Path = args.results
        out.mkdir(parents=True, exist_ok=True)
        stamp = now.strftime("%Y-%m-%dT%H%M%SZ")
        payload = {**meta, "summary": rows, "runs": [asdict(r) for r in results]}
        if product:
            payload["product_vs_core"] = product
        if scaling:
            payload[SCALING] = scaling
        if failover_runs:
            payload[FAILOVER] = {
                "flows": args.flows,
                "batch": args.batch,
                "summary": failover_rows,
                "runs": runs_as_dicts(failover_runs),
            }
        if lab_runs:
            payload["lab_convergence"] = {"summary": lab_rows, "runs": lab_runs_as_dicts(lab_runs)}
        (out / f"{stamp}.json").write_text(json.dumps(payload, indent=1) + "\n")
        (out / "latest.md").write_text(render_markdown(meta, rows, extra))
        console.print(f"saved {out / f'{stamp}.json'} and {out / 'latest.md'}")
    ok = (
        all(r.status not in ("failed", "timeout") for r in results)
        and all(r.ok for r in failover_runs)
        and all(r.ok for r in lab_runs)
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
