"""The product benchmarks' harness pieces: generated topologies load through
nexthop's own loader, peak RSS is read from /proc, the product-vs-core and scaling
tables compute their ratios, the run deadline ends a slow count. No timing is
asserted; sizes are small."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from benchmarks.__main__ import plan_workloads
from benchmarks.lab_convergence import lab_topology, nva_prefixes
from benchmarks.scenarios import RunResult, RunTimeoutError, wait_for_count
from benchmarks.serve_target import RS_NAME, SERVE_LIMITS, serve_topology
from benchmarks.tables import product_rows, scaling_rows, summarize
from benchmarks.targets import PeerSpec, tree_peak_rss

from nexthop.config import load_topology_text
from nexthop.lint import lint_topology


def test_serve_topology_loads_with_external_peerings_and_raised_limits() -> None:
    peers = [
        PeerSpec(address="127.0.1.1", port=17911, asn=65011, name="feeder0"),
        PeerSpec(address="127.0.2.1", port=17921, asn=65021, route_server_client=True),
    ]
    topology = load_topology_text(serve_topology(peers)).topology
    rs = topology.route_server(RS_NAME)
    assert rs is not None
    assert [(p.name, str(p.peer_ip), p.peer_asn, p.external) for p in rs.peerings] == [
        ("feeder0", "10.0.1.1", 65011, True),
        ("peer1", "10.0.2.1", 65021, True),
    ]
    assert rs.limits.max_routes_per_peer == SERVE_LIMITS["max_routes_per_peer"] >= 1_000_000
    assert rs.limits.max_total_routes >= 1_000_000


def test_serve_topology_raises_max_peers_for_many_peers() -> None:
    peers = [PeerSpec(address=f"127.0.1.{1 + i}", port=1, asn=65100 + i) for i in range(64)]
    rs = load_topology_text(serve_topology(peers)).topology.route_server(RS_NAME)
    assert rs is not None
    assert len(rs.peerings) == 64 <= rs.limits.max_peers


def test_lab_topology_loads_and_each_nva_originates_its_own_prefixes() -> None:
    loaded = load_topology_text(lab_topology(nvas=3, routes=20))
    topology = loaded.topology
    assert [n.name for n in topology.nvas] == ["nva1", "nva2", "nva3"]
    networks = []
    for nva in topology.nvas:
        assert nva.bgp is not None
        assert nva.bgp.bgp is not None
        networks.append({str(n) for n in nva.bgp.bgp.networks})
    assert all(len(n) == 20 for n in networks)
    assert not networks[0] & networks[1]
    assert networks[2] == set(nva_prefixes(2, 20))
    findings = lint_topology(topology, loaded).findings
    assert not [f for f in findings if f.rule == "unmatched-peering"]


def test_lab_topology_refuses_sizes_it_cannot_address() -> None:
    with pytest.raises(ValueError, match="nvas"):
        lab_topology(nvas=9, routes=10)
    with pytest.raises(ValueError, match="routes"):
        nva_prefixes(0, 5000)


def test_peak_rss_of_this_process_is_at_least_its_current_rss() -> None:
    current = 0
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) * 1024
    assert tree_peak_rss([os.getpid()]) >= current > 0


def _run(target: str, elapsed: float | None, n: int = 1000, scenario: str = "ingest",
         rss: int | None = None, status: str = "ok") -> RunResult:  # fmt: skip
    return RunResult(
        scenario=scenario, target=target, run=0, n=n, shape="eight", peers=1,
        ok=status == "ok", status=status, elapsed_s=elapsed, peak_rss_bytes=rss, cpu_s=elapsed,
        error=None if status == "ok" else "did not finish in 120 s",
    )  # fmt: skip


def test_product_rows_give_serve_over_core_ratios() -> None:
    rows = summarize(
        [_run("nexthop", 2.6, rss=130_000_000), _run("rs-core", 2.0, rss=100_000_000),
         _run("bird", 1.0)]
    )  # fmt: skip
    (row,) = product_rows(rows)
    assert row["time_ratio"] == pytest.approx(1.3)
    assert row["rss_ratio"] == pytest.approx(1.3)
    assert {r["target"]: r["nexthop_ratio"] for r in rows}["bird"] == pytest.approx(2.6)


def test_scaling_rows_per_100k_and_ratio_to_the_smallest() -> None:
    rows = summarize(
        [
            _run("nexthop", 1.0, n=10_000, scenario="scaling"),
            _run("nexthop", 20.0, n=100_000, scenario="scaling"),
            _run("nexthop", None, n=1_000_000, scenario="scaling", status="timeout"),
        ]
    )
    by_n = {r["n"]: r for r in scaling_rows(rows)}
    assert by_n[10_000]["s_per_100k"] == pytest.approx(10.0)
    assert by_n[100_000]["ratio_to_smallest"] == pytest.approx(2.0)
    assert by_n[1_000_000]["s_per_100k"] is None
    assert by_n[1_000_000]["status"] == "timeout"


def test_scaling_defaults_to_the_product_at_three_sizes() -> None:
    plan = plan_workloads(
        ["scaling"], sizes=None, shape="eight", mrt=None, peers=[8], timeout=5, targets=None
    )
    assert [(w.n, names) for w, names in plan] == [
        (10_000, ["nexthop"]), (100_000, ["nexthop"]), (1_000_000, ["nexthop"])
    ]  # fmt: skip
    assert all(w.timeout == 5 for w, _ in plan)
    with pytest.raises(ValueError, match="unknown target"):
        plan_workloads(["ingest"], sizes=None, shape="eight", mrt=None, peers=[8],
                       timeout=None, targets=["nexthop-rs"])  # fmt: skip


def test_a_count_still_moving_ends_at_the_deadline() -> None:
    values = iter(range(1, 10_000))
    with pytest.raises(RunTimeoutError, match=r"did not finish in 0\.2 s"):
        wait_for_count(lambda: next(values), 10**9, poll=0.01, deadline=_now() + 0.2, timeout=0.2)


def _now() -> float:
    import time  # noqa: PLC0415

    return time.perf_counter()


def test_covering_prefix_of_a_stream() -> None:
    from benchmarks.scenarios import _covering  # noqa: PLC0415

    from nexthop.net.prefix import parse_prefix  # noqa: PLC0415

    prefixes = [parse_prefix(p) for p in ("100.0.0.0/32", "100.0.3.7/32", "100.0.1.0/32")]
    assert str(_covering(prefixes)) == "100.0.0.0/22"
    assert str(_covering(prefixes[:1])) == "100.0.0.0/32"


@pytest.mark.slow
def test_serve_ingest_counts_accepted_then_programmed(tmp_path: Path) -> None:
    """A small ingest into ``nexthop serve`` through the harness: all routes are
    counted accepted over REST, then found in vm1's effective routes
    (``programmed_s``, never before the accepted count)."""
    from benchmarks.rest import free_port  # noqa: PLC0415
    from benchmarks.scenarios import Layout, Workload, run_scenario  # noqa: PLC0415
    from benchmarks.serve_target import NexthopServe  # noqa: PLC0415

    layout = Layout(blaster_net="127.0.6.", blaster_port=free_port("127.0.6.1"))
    target = NexthopServe(tmp_path / "nexthop")
    result = run_scenario(target, Workload(scenario="ingest", n=2000, shape="eight"), 0, layout)
    assert result.error is None
    assert result.ok
    assert result.count == 2000
    assert result.elapsed_s is not None
    assert result.extra["programmed_s"] >= result.elapsed_s
