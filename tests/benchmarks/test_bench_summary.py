"""Medians and nexthop ratios in the summary, and the Markdown rendering."""

from __future__ import annotations

from benchmarks.scenarios import RunResult
from benchmarks.tables import HEADERS, render_markdown, summarize


def run(target: str, elapsed: float | None, status: str = "ok", run_index: int = 0) -> RunResult:
    return RunResult(
        scenario="ingest",
        target=target,
        run=run_index,
        n=1000,
        shape="single",
        peers=1,
        ok=status == "ok",
        status=status,
        error=None if status == "ok" else "count stalled at 5 of 1000 for 30s",
        elapsed_s=elapsed,
    )


def test_medians_and_ratios_per_target() -> None:
    results = [
        run("bird", 1.0, run_index=0),
        run("bird", 3.0, run_index=1),
        run("bird", 2.0, run_index=2),
        run("nexthop", 4.0, run_index=0),
        run("nexthop", None, status="failed", run_index=1),
        run("nexthop", 8.0, run_index=2),
    ]
    rows = {r["target"]: r for r in summarize(results)}
    assert rows["bird"]["elapsed_s"] == 2.0
    assert rows["nexthop"]["elapsed_s"] == 6.0  # failed run left out of the median
    assert rows["nexthop"]["ok_runs"] == 2
    assert rows["nexthop"]["status"] == "failed/ok"
    assert rows["bird"]["nexthop_ratio"] == 3.0
    assert rows["bird"]["rs_core_ratio"] is None


def test_markdown_has_one_row_per_target_and_the_failure() -> None:
    rows = summarize([run("bird", 1.0), run("nexthop", None, status="failed")])
    meta = {
        "date": "2026-11-25 18:00 UTC",
        "machine": {
            "nproc": 2,
            "cpu_model": "CPU",
            "ram_gb": 23.5,
            "kernel": "6",
            "python": "3.11",
            "loadavg_start": ["1", "1", "1"],
        },
        "versions": {"bird": "BIRD 2.0.12"},
        "command": "python -m benchmarks",
    }
    text = render_markdown(meta, rows)
    table = [line for line in text.splitlines() if line.startswith("| ingest")]
    assert len(table) == 2
    assert all(line.count("|") == len(HEADERS) + 1 for line in table)
    assert "failed: count stalled" in table[1]
    assert "2 CPUs" in text
