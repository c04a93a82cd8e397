"""Summaries and tables of daemon-scenario runs: medians, ratios, Markdown.

* ``summarize``: the median per (scenario, routes, shape, peers, target) over the
  successful runs, with the ratio of the product (``nexthop``, i.e. ``nexthop
  serve``) and of the ``rs-core`` stage profile to each target's median from the
  same invocation (> 1: nexthop slower).
* ``product_rows``: the product against its own route server (``nexthop`` /
  ``rs-core``) per workload: time, peak RSS and CPU ratios, and whether each is
  within issue 10's 1.3x (reported, never asserted).
* ``scaling_rows``: per target and size, seconds per 100k routes and its ratio to
  the smallest size that finished (flat means linear).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from benchmarks.scenarios import RunResult

__all__ = [
    "HEADERS",
    "PRODUCT_BOUND",
    "PRODUCT_HEADERS",
    "SCALING_HEADERS",
    "fmt",
    "median",
    "product_rows",
    "product_table_rows",
    "render_markdown",
    "scaling_rows",
    "scaling_table_rows",
    "summarize",
    "table_rows",
]

PRODUCT = "nexthop"
CORE = "rs-core"
PRODUCT_BOUND = 1.3  # issue 10: serve within 1.3x of the RouteServerHost-only core
PER_ROUTES = 100_000
BOUND_TEXT = f"≤ {PRODUCT_BOUND}x"


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _key(row: dict[str, Any]) -> tuple[str, int, str, int]:
    return row["scenario"], row["n"], row["shape"], row["peers"]


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
    by_key = {(_key(r), r["target"]): r for r in rows}
    for row in rows:
        for ours, name in ((PRODUCT, "nexthop_ratio"), (CORE, "rs_core_ratio")):
            mine = by_key.get((_key(row), ours))
            ok = mine is not None and mine["elapsed_s"] and row["elapsed_s"]
            row[name] = mine["elapsed_s"] / row["elapsed_s"] if ok and mine else None
    return rows


def table_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    for r in rows:
        runs = " / ".join(
            fmt(x) if x is not None else ("fail" if r["ok_runs"] < r["runs"] else "-")
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
                fmt(r["elapsed_s"], 3),
                runs,
                fmt(r["send_s"], 3),
                fmt(r["cpu_s"]),
                fmt(r["peak_rss_mb"], 0),
                fmt(r["nexthop_ratio"]),
                # files saved before issue 10 call the route-server profile nexthop-rs
                fmt(r.get("rs_core_ratio", r.get("nexthop_rs_ratio"))),
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
    "rs-core/target",
    "status",
]


# --- the product against its core ---------------------------------------------------


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def product_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``nexthop`` (serve) over ``rs-core`` per workload where both ran."""
    by_key = {(_key(r), r["target"]): r for r in rows}
    out = []
    for row in rows:
        if row["target"] != PRODUCT:
            continue
        core = by_key.get((_key(row), CORE))
        if core is None:
            continue
        out.append(
            {
                "scenario": row["scenario"],
                "n": row["n"],
                "shape": row["shape"],
                "peers": row["peers"],
                "serve_s": row["elapsed_s"],
                "core_s": core["elapsed_s"],
                "time_ratio": _ratio(row["elapsed_s"], core["elapsed_s"]),
                "serve_rss_mb": row["peak_rss_mb"],
                "core_rss_mb": core["peak_rss_mb"],
                "rss_ratio": _ratio(row["peak_rss_mb"], core["peak_rss_mb"]),
                "cpu_ratio": _ratio(row["cpu_s"], core["cpu_s"]),
                "status": row["status"] if row["status"] != "ok" else core["status"],
            }
        )
    return out


def _within(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    return "yes" if ratio <= PRODUCT_BOUND else "no"


PRODUCT_HEADERS = [
    "scenario",
    "routes",
    "shape",
    "serve s",
    "rs-core s",
    "serve/core time",
    f"≤ {PRODUCT_BOUND}x",
    "serve RSS MB",
    "rs-core RSS MB",
    "serve/core RSS",
    f"≤ {PRODUCT_BOUND}x RSS",
    "serve/core CPU",
    "status",
]


def product_table_rows(rows: Iterable[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            r["scenario"],
            f"{r['n']:,}" + (f" ({r['peers']} peers)" if r["scenario"] == "peers" else ""),
            r["shape"],
            fmt(r["serve_s"], 3),
            fmt(r["core_s"], 3),
            fmt(r["time_ratio"]),
            _within(r["time_ratio"]),
            fmt(r["serve_rss_mb"], 0),
            fmt(r["core_rss_mb"], 0),
            fmt(r["rss_ratio"]),
            _within(r["rss_ratio"]),
            fmt(r["cpu_ratio"]),
            r["status"],
        ]
        for r in rows
    ]


# --- scaling ----------------------------------------------------------------------


def scaling_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Scenario ``scaling`` rows per target by size: seconds per 100k routes and the
    ratio to the smallest size that finished (1.0 everywhere: linear)."""
    out: list[dict[str, Any]] = []
    targets = dict.fromkeys(r["target"] for r in rows if r["scenario"] == "scaling")
    for target in targets:
        mine = sorted(
            (r for r in rows if r["scenario"] == "scaling" and r["target"] == target),
            key=lambda r: r["n"],
        )
        base: float | None = None
        for r in mine:
            per = r["elapsed_s"] / r["n"] * PER_ROUTES if r["elapsed_s"] and r["n"] else None
            if base is None and per is not None:
                base = per
            out.append(
                {
                    "target": target,
                    "n": r["n"],
                    "shape": r["shape"],
                    "elapsed_s": r["elapsed_s"],
                    "all_elapsed_s": r["all_elapsed_s"],
                    "s_per_100k": per,
                    "ratio_to_smallest": _ratio(per, base),
                    "peak_rss_mb": r["peak_rss_mb"],
                    "status": r["status"],
                    "error": r["error"],
                }
            )
    return out


SCALING_HEADERS = [
    "target",
    "routes",
    "shape",
    "median s",
    "runs (s)",
    "s per 100k",
    "ratio to smallest",
    "peak RSS MB",
    "status",
]


def scaling_table_rows(rows: Iterable[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            r["target"],
            f"{r['n']:,}",
            r["shape"],
            fmt(r["elapsed_s"], 3),
            " / ".join(fmt(x) if x is not None else "-" for x in r["all_elapsed_s"]),
            fmt(r["s_per_100k"], 3),
            fmt(r["ratio_to_smallest"]),
            fmt(r["peak_rss_mb"], 0),
            r["status"] if r["status"] == "ok" else f"{r['status']}: {r['error']}",
        ]
        for r in rows
    ]


# --- Markdown ---------------------------------------------------------------------


def markdown_table(headers: Sequence[str], cells: Iterable[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
        *("| " + " | ".join(row) + " |" for row in cells),
    ]


def render_markdown(
    meta: dict[str, Any], rows: list[dict[str, Any]], extra: Sequence[str] = ()
) -> str:
    """``latest.md``: the daemon table (if any row), the product-vs-core and scaling
    tables (if they have rows), then ``extra`` lines (failover, lab convergence)."""
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
    daemon = [r for r in rows if r["scenario"] != "scaling"]
    if daemon:
        lines += [
            "- Time: first UPDATE written until the target reports all routes (medians of "
            "successful runs); `send s` is the injector's own write time. `nexthop` is "
            "`nexthop serve` counted through its REST API; `rs-core` and `speaker-core` "
            "are in-process stage profiles of its core.",
            "",
            *markdown_table(HEADERS, table_rows(daemon)),
        ]
    product = product_rows(daemon)
    if product:
        lines += [
            "",
            f"## The product over its core (nexthop serve / rs-core; issue 10: {BOUND_TEXT})",
            "",
            *markdown_table(PRODUCT_HEADERS, product_table_rows(product)),
        ]
    scaling = scaling_rows(rows)
    if scaling:
        lines += [
            "",
            "## Scaling: ingest time per 100k routes by table size (flat means linear)",
            "",
            *markdown_table(SCALING_HEADERS, scaling_table_rows(scaling)),
        ]
    if extra:
        lines += ["", *extra]
    return "\n".join(lines) + "\n"
