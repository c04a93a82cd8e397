"""``python -m benchmarks``: run scenarios against targets, print a table, save results.

Examples::

    python -m benchmarks                                   # ingest, 100k, 3 runs, all targets
    python -m benchmarks --scenario ingest --n 1000000 --targets bird,frr,nexthop
    python -m benchmarks --scenario propagation --n 100000
    python -m benchmarks --scenario churn --n 100000 --shape table
    python -m benchmarks --scenario peers --peers 8,64     # 4,000 routes per peer
    python -m benchmarks --mrt ../shared/vectors/mrt/bgpdump/test_data/bview.20020722.2337.gz
    python -m benchmarks --quick                           # 10k, 1 run: a smoke run
    python -m benchmarks --scenario failover               # live lab, fast probes, 3 runs each
    python -m benchmarks --scenario failover --timers fast,azure-like

Results go to ``benchmarks/results/<UTC timestamp>.json`` and
``benchmarks/results/latest.md``. Ratios are nexthop's (and nexthop-rs's) median
over each target's median for the same scenario and parameters in the same
invocation (>1 means nexthop is slower). Targets: bird, frr, gobgp, exabgp,
nexthop (the default set) and nexthop-rs (``--targets ...,nexthop-rs``).
The ``failover`` scenario runs no daemon: it times NVA failover in nexthop's live
lab (``benchmarks.failover``) and gets its own table.
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
from benchmarks.routes import SHAPES
from benchmarks.scenarios import (
    PEERS_ROUTES,
    SCENARIOS,
    RunResult,
    Workload,
    median,
    run_scenario,
)
from benchmarks.targets import TARGETS, Target, TargetUnavailableError

__all__ = ["machine_info", "main", "summarize"]

RESULTS = Path(__file__).resolve().parent / "results"
FAILOVER = "failover"


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


def summarize(results: list[RunResult]) -> list[dict[str, Any]]:
    """Median per (scenario, n, shape, peers, target), with nexthop/target ratios."""
    keys: dict[tuple[str, int, str, int, str], list[RunResult]] = {}
    for r in results:
        keys.setdefault((r.scenario, r.n, r.shape, r.peers, r.target), []).append(r)
    rows: list[dict[str, Any]] = []
    for (scenario, n, shape, peers, target), runs in keys.items():
        good = [r for r in runs if r.ok]
        statuses = sorted({r.status for r in runs})
        rows.append(
            {
                "scenario": scenario,
                "n": n,
                "shape": shape,
                "peers": peers,
                "target": target,
                "runs": len(runs),
                "ok_runs": len(good),
                "status": "ok" if len(good) == len(runs) else "/".join(statuses),
                "error": next((r.error for r in runs if r.error), None),
                "elapsed_s": median([r.elapsed_s for r in good if r.elapsed_s is not None]),
                "send_s": median([r.send_s for r in good if r.send_s is not None]),
                "cpu_s": median([r.cpu_s for r in good if r.cpu_s is not None]),
                "peak_rss_mb": median(
                    [r.peak_rss_bytes / 1e6 for r in good if r.peak_rss_bytes is not None]
                ),
                "all_elapsed_s": [r.elapsed_s for r in runs],
            }
        )
    for row in rows:
        for ours, key in (("nexthop", "nexthop_ratio"), ("nexthop-rs", "nexthop_rs_ratio")):
            mine = next(
                (
                    x
                    for x in rows
                    if x["target"] == ours
                    and (x["scenario"], x["n"], x["shape"], x["peers"])
                    == (row["scenario"], row["n"], row["shape"], row["peers"])
                ),
                None,
            )
            if mine and mine["elapsed_s"] and row["elapsed_s"]:
                row[key] = mine["elapsed_s"] / row["elapsed_s"]
            else:
                row[key] = None
    return rows


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _table_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    for r in rows:
        runs = " / ".join(
            _fmt(x) if x is not None else ("fail" if r["ok_runs"] < r["runs"] else "-")
            for x in r["all_elapsed_s"]
        )
        if r["status"] in ("n/a", "unavailable"):
            runs = "-"
        status = r["status"] if r["status"] == "ok" else f"{r['status']}: {r['error']}"
        out.append(
            [
                r["scenario"],
                f"{r['n']:,}" + (f" ({r['peers']} peers)" if r["scenario"] == "peers" else ""),
                r["shape"],
                r["target"],
                _fmt(r["elapsed_s"], 3),
                runs,
                _fmt(r["send_s"], 3),
                _fmt(r["cpu_s"]),
                _fmt(r["peak_rss_mb"], 0),
                _fmt(r["nexthop_ratio"]),
                _fmt(r.get("nexthop_rs_ratio")),
                status,
            ]
        )
    return out


HEADERS = [
    "scenario",
    "routes",
    "shape",
    "target",
    "median s",
    "runs (s)",
    "send s",
    "CPU-s",
    "peak RSS MB",
    "nexthop/target",
    "nexthop-rs/target",
    "status",
]


def render_markdown(
    meta: dict[str, Any], rows: list[dict[str, Any]], failover: Sequence[str] = ()
) -> str:
    """``latest.md``: the daemon table (if any row) and the failover section (if given)."""
    m = meta["machine"]
    lines = [
        f"# Benchmark results {meta['date']}",
        "",
        f"- Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['ram_gb']} GB RAM, "
        f"kernel {m['kernel']}, load average at start {' '.join(m['loadavg_start'])}"
        f", at end {' '.join(m.get('loadavg_end', ['?']))}",
        f"- Python {m['python']}; targets: "
        + ("; ".join(f"{k}: {v}" for k, v in meta["versions"].items()) or "none"),
        f"- nexthop code: {meta.get('nexthop_code', '?')}",
        f"- Command: `{meta['command']}`",
    ]
    if rows:
        lines += [
            "- Time: first UPDATE written until the target reports all routes (medians of "
            "successful runs); `send s` is the injector's own write time.",
            "",
            "| " + " | ".join(HEADERS) + " |",
            "|" + "---|" * len(HEADERS),
        ]
        lines += ["| " + " | ".join(cells) + " |" for cells in _table_rows(rows)]
    if failover:
        lines += ["", *failover]
    return "\n".join(lines) + "\n"


def _rich_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
    table = Table(title=title)
    for header in headers:
        table.add_column(header)
    for cells in rows:
        table.add_row(*cells)
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--scenario", default="ingest", help="ingest|propagation|churn|peers|failover|all"
    )
    parser.add_argument("--n", default="100000", help="routes, comma-separated for several")
    parser.add_argument("--shape", default="single", choices=SHAPES)
    parser.add_argument("--mrt", help="replay this MRT file (routes capped at --n)")
    parser.add_argument("--peers", default="8,64", help="peer counts for the peers scenario")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--targets", default="bird,frr,gobgp,exabgp,nexthop")
    parser.add_argument("--quick", action="store_true", help="10k routes, 1 run")
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
    parser.add_argument("--results", type=Path, default=RESULTS, help="where results are saved")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)

    sizes = [int(x) for x in args.n.split(",")]
    runs = args.runs
    if args.quick:
        sizes, runs = [10_000], 1
    scenarios = [*SCENARIOS, FAILOVER] if args.scenario == "all" else args.scenario.split(",")
    workloads: list[Workload] = []
    for scenario in scenarios:
        if scenario == FAILOVER:
            continue
        if scenario not in SCENARIOS:
            parser.error(f"unknown scenario {scenario}")
        if scenario == "peers":
            workloads += [
                Workload(scenario=scenario, n=PEERS_ROUTES, shape=args.shape, peers=int(p))
                for p in args.peers.split(",")
            ]
        else:
            workloads += [
                Workload(scenario=scenario, n=n, shape=args.shape, mrt=args.mrt) for n in sizes
            ]

    started = datetime.now(UTC)
    machine = machine_info()
    code = snapshot_source()
    console = Console(width=200)
    root = Path(tempfile.mkdtemp(prefix="nexthop-bench-"))
    targets: list[Target] = []
    versions: dict[str, str] = {}
    results: list[RunResult] = []
    for name in args.targets.split(",") if workloads else []:
        target = TARGETS[name](root / name)
        try:
            target.check()
            versions[name] = target.version()
        except TargetUnavailableError as exc:
            versions[name] = f"unavailable: {exc}"
        targets.append(target)

    for workload in workloads:
        for target in targets:
            for i in range(runs):
                if versions[target.name].startswith("unavailable"):
                    result = RunResult(
                        scenario=workload.scenario, target=target.name, run=i, n=workload.n,
                        shape=workload.shape, peers=workload.peers, status="unavailable",
                        error=versions[target.name],
                    )  # fmt: skip
                else:
                    result = run_scenario(target, workload, i)
                results.append(result)
                console.print(
                    f"{workload.scenario} n={result.n:,} {target.name} run {i + 1}/{runs}: "
                    f"{result.status} {_fmt(result.elapsed_s, 3)} s"
                    + (f" ({result.error})" if result.error else "")
                )
                if result.status in ("n/a", "unavailable"):
                    break

    failover_runs: list[FailoverRun] = []
    if FAILOVER in scenarios:

        def progress(run: FailoverRun) -> None:
            time = run.result["failover_time"] if run.result is not None else None
            console.print(
                f"failover {run.topology} ({run.timers}) run {run.run + 1}/{runs}: "
                f"{run.status} {_fmt(time, 3)} s" + (f" ({run.error})" if run.error else "")
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

    rows = summarize(results)
    if rows:
        console.print(_rich_table("nexthop benchmarks", HEADERS, _table_rows(rows)))
    failover_rows = summarize_failover(failover_runs)
    failover_lines: list[str] = []
    if failover_runs:
        console.print(
            _rich_table(
                "nexthop lab failover (scenario 5)",
                FAILOVER_HEADERS,
                failover_table_rows(failover_rows),
            )
        )
        failover_lines = failover_markdown(failover_rows, args.flows, args.batch)

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
        if failover_runs:
            payload[FAILOVER] = {
                "flows": args.flows,
                "batch": args.batch,
                "summary": failover_rows,
                "runs": runs_as_dicts(failover_runs),
            }
        (out / f"{stamp}.json").write_text(json.dumps(payload, indent=1) + "\n")
        (out / "latest.md").write_text(render_markdown(meta, rows, failover_lines))
        console.print(f"saved {out / f'{stamp}.json'} and {out / 'latest.md'}")
    ok = all(r.status != "failed" for r in results) and all(r.ok for r in failover_runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
