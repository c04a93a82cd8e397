"""Harness pieces: the ExaBGP JSON consumer, stall detection, /proc accounting,
and one tiny end-to-end ingest run against BIRD."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from benchmarks.exabgp_counter import apply_message
from benchmarks.scenarios import Layout, RunFailedError, Workload, run_scenario, wait_for_count
from benchmarks.targets import Bird, process_tree, tree_cpu_seconds, tree_peak_rss


def exabgp_update(announce: list[str], withdraw: list[str], peer: str = "127.0.1.1") -> dict:
    update: dict = {}
    if announce:
        update["announce"] = {"ipv4 unicast": {"192.0.2.10": [{"nlri": p} for p in announce]}}
    if withdraw:
        update["withdraw"] = {"ipv4 unicast": [{"nlri": p} for p in withdraw]}
    return {
        "type": "update",
        "neighbor": {"address": {"peer": peer}, "message": {"update": update}},
    }


def test_exabgp_counter_counts_current_routes_per_peer() -> None:
    seen: set[tuple[str, str]] = set()
    apply_message(exabgp_update(["100.0.0.0/32", "100.0.0.1/32"], []), seen)
    apply_message(exabgp_update(["100.0.0.0/32"], [], peer="127.0.1.2"), seen)
    apply_message(exabgp_update(["100.0.0.1/32"], []), seen)  # re-announcement
    apply_message(exabgp_update([], ["100.0.0.0/32"]), seen)
    apply_message({"type": "state", "neighbor": {"state": "up"}}, seen)
    assert seen == {("127.0.1.1", "100.0.0.1/32"), ("127.0.1.2", "100.0.0.0/32")}


def test_wait_for_count_returns_when_goal_reached() -> None:
    values = iter([0, 5, 10])
    elapsed, count = wait_for_count(lambda: next(values), 10, poll=0)
    assert count == 10
    assert elapsed >= 0


def test_wait_for_count_fails_on_stall_and_on_dead_target() -> None:
    with pytest.raises(RunFailedError, match="stalled at 3 of 10"):
        wait_for_count(lambda: 3, 10, stall=0.05, poll=0.01)
    with pytest.raises(RunFailedError, match="target exited"):
        wait_for_count(lambda: 3, 10, alive=lambda: False, poll=0)


def test_proc_accounting_sees_this_process() -> None:
    pids = process_tree(os.getpid())
    assert pids[0] == os.getpid()
    assert tree_cpu_seconds(pids) > 0
    assert tree_peak_rss(pids) > 1_000_000


@pytest.mark.interop
@pytest.mark.slow
def test_ingest_1000_routes_into_bird(
    tmp_path: Path, require_daemon: Callable[[str, str, str], str]
) -> None:
    require_daemon("BIRD", "bird", "bird2")
    require_daemon("BIRD", "birdc", "bird2")
    layout = Layout(blaster_net="127.0.6.", monitor_net="127.0.7.", blaster_port=27911)
    target = Bird(tmp_path / "bird", address="127.0.5.10", port=27900)
    result = run_scenario(target, Workload(scenario="ingest", n=1000), 0, layout)
    assert result.error is None
    assert result.ok
    assert result.count == 1000
    assert result.cpu_s is not None
    assert result.peak_rss_bytes is not None
    assert result.peak_rss_bytes > 0
