"""The big bursts through ``nexthop serve`` (issue 10: bounded work per event-loop
turn): a feeder sends a table of thousands of routes over TCP, route-server
clients connect before, during and after it, one drops in the middle of its
initial table, the feeder drops with its full table. Each test checks what the
clients end up holding, where End-of-RIB / BoRR / EoRR fall in what they were
sent, and that the REST API and ``/metrics`` (with the event-loop lag metric)
answer while the server works. No assertion is on a duration.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import yaml
from bgp_peer import BgpPeer, routes
from prometheus_client.parser import text_string_to_metric_families
from serve_process import BASE, Served, start_serve, until

from nexthop.net.prefix import Prefix, parse_prefix

N = 20_000  # thousands of UPDATEs: many receive slices and job chunks
FEEDER_ASN, CLIENT_ASN = 65077, 65078
IN_0, IN_1 = "127.77.0.4", "127.77.0.5"  # stand-ins of 10.77.0.4/.5
FEEDER = "127.77.1.1"  # the NVA 10.77.1.1
CLIENTS = ("127.77.2.1", "127.77.2.2")
HUB = parse_prefix("10.77.0.0/16")
ROLE = "RouteServiceRole_IN_0"


def _topology() -> dict[str, Any]:
    peering = [
        {"name": "feeder", "peer_ip": "10.77.1.1", "peer_asn": FEEDER_ASN, "external": True},
        *(
            {"name": f"client{i}", "peer_ip": f"10.77.2.{i + 1}", "peer_asn": CLIENT_ASN + i,
             "external": True}
            for i in range(len(CLIENTS))
        ),
    ]  # fmt: skip
    return {
        "name": "bursts",
        "region": "westeurope",
        "vnets": [
            {
                "name": "hub",
                "address_space": [str(HUB)],
                "subnets": [{"name": "RouteServerSubnet", "prefix": "10.77.0.0/26"}],
            }
        ],
        "route_servers": [
            {
                "name": "rs",
                "vnet": "hub",
                "limits": {"max_routes_per_peer": 100_000, "max_total_routes": 200_000},
                "peerings": peering,
            }
        ],
    }


def _port_on_both() -> int:
    for _ in range(20):
        with socket.socket() as a, socket.socket() as b:
            a.bind((IN_0, 0))
            port = int(a.getsockname()[1])
            with contextlib.suppress(OSError):
                b.bind((IN_1, port))
                return port
    raise AssertionError("no port free on both instance stand-ins")


async def _serve(tmp_path: Path) -> Served:
    topology = tmp_path / "bursts.yaml"
    topology.write_text(yaml.safe_dump(_topology(), sort_keys=False))
    port = _port_on_both()
    return await start_serve(
        tmp_path / "db.sqlite",
        port,
        str(topology),
        "--no-probes",
        "--bgp-address",
        f"IN_0={IN_0}:{port}",
        "--bgp-address",
        f"IN_1={IN_1}:{port}",
    )


def _peer(address: str, served: Served, asn: int) -> BgpPeer:
    return BgpPeer(address, (IN_0, served.bgp_port), asn=asn, peer_address="10.77.0.4")


async def _connect(address: str, served: Served, asn: int) -> BgpPeer:
    """A session from ``address``, retried while the server still refuses it
    (the previous session from there is being retired)."""
    last: Exception | None = None
    for _ in range(50):
        peer = _peer(address, served, asn)
        try:
            await peer.connect()
            return peer
        except (OSError, TimeoutError) as exc:
            last = exc
            await peer.close()
            await asyncio.sleep(0.1)
    raise AssertionError(f"no session from {address}: {last!r}")


async def _accepted(api: httpx.AsyncClient, peering: str) -> int:
    r = await api.get(f"{BASE}/routeservers/rs/peerings/{peering}")
    r.raise_for_status()
    return int(r.json()["instances"][ROLE]["accepted_routes"])


class _ApiWatch:
    """Calls ``/healthz`` and ``/metrics`` over and over while a burst runs; every
    call must answer (each within the client's 30 s timeout)."""

    def __init__(self, api: httpx.AsyncClient) -> None:
        self.api = api
        self.answers = 0
        self.metrics = ""
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> _ApiWatch:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._once()  # at least one full round per burst

    async def _once(self) -> None:
        health = await self.api.get("/healthz")
        assert health.status_code == 200
        metrics = await self.api.get("/metrics")
        assert metrics.status_code == 200
        self.metrics = metrics.text
        self.answers += 1

    async def _run(self) -> None:
        while True:
            await self._once()
            await asyncio.sleep(0.02)


def _loop_metrics(text: str) -> dict[str, Any]:
    """The event-loop families of a ``/metrics`` answer, parsed as Prometheus text."""
    families = {f.name: f for f in text_string_to_metric_families(text)}
    lag = families["nexthop_event_loop_lag_seconds"]
    assert lag.type == "histogram"
    samples = {s.name: s for s in lag.samples if s.name.endswith(("_count", "_sum"))}
    buckets = [s for s in lag.samples if s.name.endswith("_bucket")]
    assert buckets[-1].labels["le"] == "+Inf"
    counts = [b.value for b in buckets]
    assert counts == sorted(counts)  # cumulative
    assert buckets[-1].value == samples["nexthop_event_loop_lag_seconds_count"].value
    turn = families["nexthop_event_loop_longest_turn_seconds"]
    assert turn.type == "gauge"
    return {
        "count": samples["nexthop_event_loop_lag_seconds_count"].value,
        "longest_turn": turn.samples[0].value,
    }


def _expected(updates: list[Any]) -> set[Prefix]:
    return {p for u in updates for p in u.nlri} | {HUB}


def _run(body: Callable[[Served, httpx.AsyncClient], Awaitable[None]], tmp_path: Path) -> None:
    async def main() -> None:
        served = await _serve(tmp_path)
        try:
            async with served.client() as api:
                await body(served, api)
        finally:
            served.stop()

    asyncio.run(main())


def test_a_client_gets_the_whole_table_then_end_of_rib_and_a_refresh_between_markers(
    tmp_path: Path,
) -> None:
    updates = routes(N, asn=FEEDER_ASN)
    expected = _expected(updates)

    async def body(served: Served, api: httpx.AsyncClient) -> None:
        feeder = await _connect(FEEDER, served, FEEDER_ASN)
        async with _ApiWatch(api) as watch:
            await feeder.send(updates)
            await until(lambda: _is(_accepted(api, "feeder"), N), "the feeder's routes accepted")
        client = await _connect(CLIENTS[0], served, CLIENT_ASN)
        async with _ApiWatch(api) as watch:
            await until(client.end_of_rib.is_set, "End-of-RIB")
        got = client.received
        assert got.at_end_of_rib is not None
        assert set(got.at_end_of_rib) == expected  # every route before End-of-RIB
        assert got.marks("eor") == [len(got.log) - 1]  # and nothing after it
        assert set(got.table) == expected
        assert watch.answers >= 1
        metrics = _loop_metrics(watch.metrics)
        assert metrics["count"] > 0  # the heartbeat ran while the table was sent

        # ROUTE-REFRESH with enhanced route refresh negotiated (RFC 7313 §4):
        # BoRR, every route again, EoRR.
        assert client.session.negotiated is not None
        assert client.session.negotiated.enhanced_route_refresh
        before = len(got.log)
        await client.route_refresh()
        await until(lambda: bool(got.marks("eorr")), "EoRR")
        (borr,) = got.marks("borr")
        (eorr,) = got.marks("eorr")
        assert before <= borr < eorr
        assert got.announced(borr, eorr) == expected
        assert set(got.table) == expected
        await client.close()
        await feeder.close()

    _run(body, tmp_path)


async def _is(value: Awaitable[int], want: int) -> bool:
    return await value == want


def test_clients_joining_during_ingest_and_one_reconnecting_mid_table_end_exact(
    tmp_path: Path,
) -> None:
    updates = routes(N, asn=FEEDER_ASN)
    expected = _expected(updates)

    async def body(served: Served, api: httpx.AsyncClient) -> None:
        feeder = await _connect(FEEDER, served, FEEDER_ASN)
        async with _ApiWatch(api) as watch:
            sending = asyncio.create_task(feeder.send(updates))
            await until(
                lambda: _at_least(_accepted(api, "feeder"), N // 4), "a quarter of the table"
            )
            joiner = await _connect(CLIENTS[0], served, CLIENT_ASN)  # while routes arrive
            dropper = await _connect(CLIENTS[1], served, CLIENT_ASN + 1)
            await until(lambda: dropper.received.updates > 0, "the first of its table")
            dropper.abort()  # in the middle of its initial table (or just after it)
            await sending
            await until(lambda: _is(_accepted(api, "feeder"), N), "the feeder's routes accepted")
            again = await _connect(CLIENTS[1], served, CLIENT_ASN + 1)
            for client in (joiner, again):
                await until(client.end_of_rib.is_set, "End-of-RIB")
                await until(lambda c=client: set(c.received.table) == expected, "the whole table")
        for client in (joiner, again):
            got = client.received
            assert len(got.marks("eor")) == 1
            assert set(got.table) == expected
            assert got.at_end_of_rib is not None
            assert set(got.at_end_of_rib) <= expected
        # the reconnected session was sent its whole table before End-of-RIB
        assert again.received.at_end_of_rib is not None
        assert set(again.received.at_end_of_rib) == expected
        assert watch.answers >= 1
        _loop_metrics(watch.metrics)
        for peer in (joiner, again, feeder):
            await peer.close()

    _run(body, tmp_path)


async def _at_least(value: Awaitable[int], want: int) -> bool:
    return await value >= want


def test_the_feeder_dropping_with_a_full_table_withdraws_it_everywhere(tmp_path: Path) -> None:
    updates = routes(N, asn=FEEDER_ASN)
    expected = _expected(updates)

    async def body(served: Served, api: httpx.AsyncClient) -> None:
        clients = [
            await _connect(address, served, CLIENT_ASN + i) for i, address in enumerate(CLIENTS)
        ]
        feeder = await _connect(FEEDER, served, FEEDER_ASN)
        await feeder.send(updates)
        for client in clients:
            await until(lambda c=client: set(c.received.table) == expected, "the whole table")
        async with _ApiWatch(api) as watch:
            feeder.abort()  # a crash: no NOTIFICATION, the server sees the TCP loss
            for client in clients:
                await until(lambda c=client: set(c.received.table) == {HUB}, "every withdrawal")
            await until(lambda: _is(_accepted(api, "feeder"), 0), "the feeder's routes gone")
        r = await api.get(f"{BASE}/routeservers/rs/peerings/client0")
        assert r.json()["instances"][ROLE]["advertised_routes"] == 1  # the hub's range
        for client in clients:
            assert not client.down.is_set()  # their sessions stayed up throughout
        assert watch.answers >= 1
        _loop_metrics(watch.metrics)
        for client in clients:
            await client.close()

    _run(body, tmp_path)
