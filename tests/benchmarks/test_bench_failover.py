"""Scenario 5, failover: one run per example through ``python -m benchmarks``, and
the summary's arithmetic. The run is a measurement, so nothing here bounds its time."""

from __future__ import annotations

import json
from pathlib import Path

import structlog
from benchmarks.__main__ import main
from benchmarks.failover import FailoverRun, failover_markdown, summarize_failover
from benchmarks.report import merge


def test_failover_scenario_measures_both_topologies(tmp_path: Path) -> None:
    logging_before = structlog.get_config()
    code = main(
        [
            "--scenario",
            "failover",
            "--runs",
            "1",
            "--topologies",
            "active-passive,active-active",
            "--results",
            str(tmp_path),
        ]
    )
    assert code == 0
    assert structlog.get_config() == logging_before  # quiet during the runs only

    (saved,) = tmp_path.glob("*.json")
    payload = json.loads(saved.read_text())
    assert payload["summary"] == []  # no daemon target ran
    section = payload["failover"]
    assert section["flows"] == 64
    rows = {row["topology"]: row for row in section["summary"]}
    assert set(rows) == {"active-passive", "active-active"}

    passive = rows["active-passive"]
    assert passive["timers"] == "fast"
    assert passive["ok_runs"] == 1
    assert passive["failover_s"] is not None
    assert passive["failover_s"] > 0
    assert passive["killed"] == ["fw-a"]
    assert passive["carriers"] == ["fw-b"]  # the standby took the new flows
    assert passive["moved_from_survivors"] == 0
    # The active NVA carried every flow; its TCP flows stay pinned to it.
    assert passive["stayed_on_failed"] == 64
    assert passive["left_listening"] == 0

    active = rows["active-active"]
    assert active["ok_runs"] == 1
    assert active["failover_s"] is not None
    assert active["killed"] == ["nva1"]
    assert active["carriers"] == ["nva2", "nva3"]
    assert 0 < active["survivor_flows"] < 64
    assert active["moved_from_survivors"] == 0
    assert active["moved_from_failed"] + active["stayed_on_failed"] == 64 - active["survivor_flows"]

    (run,) = [r for r in section["runs"] if r["topology"] == "active-passive"]
    kinds = [kind for _, kind, _ in run["result"]["timeline"]]
    assert kinds.index("nva_failed") < kinds.index("ha_active") < kinds.index("backend_up")

    markdown = (tmp_path / "latest.md").read_text()
    assert "## Failover (scenario 5)" in markdown
    table = [line for line in markdown.splitlines() if "nexthop lab (fast)" in line]
    assert len(table) == 2
    assert f"| {passive['failover_s']:.3f} |" in table[0]
    assert table[0].startswith("| active-passive |")

    merged = [line for line in merge([saved]).splitlines() if "nexthop lab (fast)" in line]
    assert len(merged) == 2


def _run(topology: str, timers: str, run: int, time: float | None, survivors: int) -> FailoverRun:
    result = None
    if time is not None:
        result = {
            "failover_time": time,
            "carriers": ["nva2"],
            "probes_sent": 64,
            "probes_dropped": 32,
            "existing_flows": 8,
            "moved_from_survivors": 0,
            "moved_from_failed": 0,
            "stayed_on_failed": 8 - survivors,
        }
    return FailoverRun(
        topology=topology,
        timers=timers,
        run=run,
        ok=time is not None,
        status="ok" if time is not None else "failed",
        error=None if time is not None else "no new flow got through",
        nva="nva1",
        survivor_flows=survivors,
        result=result,
    )


def test_summary_medians_sums_and_ratios() -> None:
    runs = [
        _run("active-active", "fast", 0, 0.2, 5),
        _run("active-active", "fast", 1, 0.4, 5),
        _run("active-active", "fast", 2, 0.3, 5),
        _run("active-active", "azure-like", 0, 9.0, 5),
        _run("active-active", "azure-like", 1, None, 0),
    ]
    rows = {row["timers"]: row for row in summarize_failover(runs)}
    fast, azure = rows["fast"], rows["azure-like"]
    assert fast["failover_s"] == 0.3
    assert (fast["min_s"], fast["max_s"]) == (0.2, 0.4)
    assert fast["survivor_flows"] == 15
    assert fast["stayed_on_failed"] == 9
    assert fast["vs_target"] == 0.3
    assert fast["vs_fast"] is None
    assert azure["failover_s"] == 9.0  # the failed run is left out of the median
    assert azure["status"] == "1/2 ok"
    assert azure["vs_fast"] == 30.0
    assert azure["vs_target"] is None
    lines = failover_markdown(list(rows.values()), flows=8, batch=32)
    assert any("fail" in line and "azure-like" in line for line in lines)
