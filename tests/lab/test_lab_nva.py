"""``BuiltinNva`` on its own: probe responder modes and the UDP heartbeat pair."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nexthop.config.schema import Nva
from nexthop.lab import AddressMap, BuiltinNva
from nexthop.lb import FailureKind, HaConfig, HaState
from nexthop.runtime.probes import http_probe, tcp_probe

WAIT = 10.0


def _nva(name: str, ip: str, responder: dict[str, object]) -> Nva:
    return Nva.model_validate(
        {
            "name": name,
            "nic": {"vnet": "hub", "subnet": "nva", "ip": ip},
            "probe_responder": responder,
        }
    )


def _role(nva: BuiltinNva) -> HaState | None:
    return nva.ha_state


async def _until(predicate: object) -> None:
    assert callable(predicate)
    async with asyncio.timeout(WAIT):
        while not predicate():
            await asyncio.sleep(0.01)


def test_https_responder_answers_with_a_self_signed_certificate(
    addresses: AddressMap, require_daemon: Callable[[str, str, str], str]
) -> None:
    require_daemon("HTTPS responder test", "openssl", "openssl")
    nva = BuiltinNva(
        _nva("fw", "10.9.0.4", {"protocol": "https", "port": 443, "path": "/health"}),
        addresses=addresses,
    )

    async def main() -> None:
        await nva.start()
        try:
            host, port = nva.stand_in, addresses.port(443)
            assert port == 10443 + addresses.port_offset
            assert (await http_probe(host, port, "/health", 2.0, tls=True)).success
            plain = await http_probe(host, port, "/health", 2.0, tls=False)
            assert not plain.success
        finally:
            await nva.crash()
        refused = await tcp_probe(nva.stand_in, addresses.port(443), 2.0)
        assert refused.kind is FailureKind.REFUSED

    asyncio.run(main())


def test_heartbeat_pair_elects_fails_over_and_does_not_flap_back(
    addresses: AddressMap, heartbeat_port: int
) -> None:
    spec = {"protocol": "http", "port": 8080, "path": "/", "mode": "when_active"}
    active = BuiltinNva(
        _nva("fw-a", "10.9.0.4", spec),
        addresses=addresses,
        ha=HaConfig(node_id="fw-a", priority=200, interval=0.05, dead_count=3),
        ha_peer="10.9.0.5",
        heartbeat_port=heartbeat_port,
    )
    standby = BuiltinNva(
        _nva("fw-b", "10.9.0.5", spec),
        addresses=addresses,
        ha=HaConfig(node_id="fw-b", priority=100, interval=0.05, dead_count=3),
        ha_peer="10.9.0.4",
        heartbeat_port=heartbeat_port,
    )

    async def probe(nva: BuiltinNva) -> tuple[bool, str]:
        outcome = await http_probe(nva.stand_in, addresses.port(8080), "/", 2.0)
        return outcome.success, outcome.detail

    async def main() -> None:
        await active.start()
        await standby.start()
        try:
            await _until(lambda: _role(active) is HaState.ACTIVE)
            await _until(lambda: standby.heartbeats_received > 3)
            assert _role(standby) is HaState.STANDBY
            assert await probe(active) == (True, "")
            assert await probe(standby) == (False, "503")

            await active.crash()
            await _until(lambda: _role(standby) is HaState.ACTIVE)
            assert await probe(standby) == (True, "")
            assert (
                await tcp_probe(active.stand_in, addresses.port(8080), 2.0)
            ).kind is FailureKind.REFUSED

            await active.start()
            await _until(lambda: active.heartbeats_received > 3)
            assert _role(active) is HaState.STANDBY
            assert _role(standby) is HaState.ACTIVE
            assert await probe(active) == (False, "503")
        finally:
            await active.stop()
            await standby.stop()

    asyncio.run(main())
