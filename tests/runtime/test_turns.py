"""Bounded work per event-loop turn (``runtime.turns``, ``bgp_transport``): queued
steps share one budget per turn round-robin, and a session that receives a large
burst decodes it a slice at a time with the transport paused, delivering every
message, in order, before the connection's loss. Time is a fake clock or not
asserted at all."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress

from nexthop.bgp.constants import AsPathSegmentType
from nexthop.bgp.fsm import (
    Event,
    Session,
    SessionConfig,
    SessionDown,
    SessionEstablished,
    UpdateReceived,
)
from nexthop.bgp.wire import (
    AsPathSegment,
    Keepalive,
    Negotiated,
    PathAttributes,
    Update,
    build_open,
    encode_message,
    negotiate,
)
from nexthop.net.prefix import parse_prefix
from nexthop.runtime.bgp_transport import RX_HIGH, BgpStream, SessionDriver
from nexthop.runtime.turns import TurnScheduler

HOST, PEER = "127.0.1.71", "127.0.1.72"
LOCAL_ASN, PEER_ASN = 65071, 65072
BURST = 40_000  # UPDATEs, ~2.5 MB: far more than one read or RX_HIGH
READ_MAX = 256 * 1024  # what asyncio reads at most per data_received


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_steps_share_each_turns_budget_round_robin() -> None:
    async def main() -> None:
        clock = FakeClock()
        turns = TurnScheduler(asyncio.get_running_loop(), budget=0.010, clock=clock)
        done: dict[str, int] = {"a": 0, "b": 0}
        per_turn: list[dict[str, int]] = []

        def worker(name: str, units: int) -> object:
            def step(deadline: float) -> bool:
                while done[name] < units:
                    clock.now += 0.003  # one unit of work: 3 ms
                    done[name] += 1
                    if clock.now >= deadline:
                        break
                return done[name] < units

            return step

        turns.add(worker("a", 10))  # type: ignore[arg-type]
        turns.add(worker("b", 10))  # type: ignore[arg-type]
        while turns.pending:
            before = dict(done)
            start = clock.now
            await asyncio.sleep(0)
            assert clock.now - start < 0.010 + 0.003 + 1e-9  # the budget and one unit
            per_turn.append({k: done[k] - before[k] for k in done})
        assert done == {"a": 10, "b": 10}
        ran = [t for t in per_turn if any(t.values())]
        assert len(ran) >= 20 * 0.003 // 0.013  # spread over several turns
        # round-robin: b does not wait for a to finish
        first_b = next(i for i, t in enumerate(ran) if t["b"])
        last_a = max(i for i, t in enumerate(ran) if t["a"])
        assert first_b < last_a

    asyncio.run(main())


def _update_bytes(negotiated: Negotiated) -> bytes:
    attrs = PathAttributes(
        as_path=(AsPathSegment(AsPathSegmentType.AS_SEQUENCE, (PEER_ASN,)),),
        next_hop=int(ipaddress.IPv4Address(PEER)),
    )
    nlri = tuple(parse_prefix(f"100.{i}.0.0/16") for i in range(4))
    return encode_message(Update(attributes=attrs, nlri=nlri), negotiated)


def test_a_burst_is_decoded_in_slices_with_reading_paused_and_nothing_lost() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        turns = TurnScheduler(loop)
        seen: list[str] = []
        backlog = [0]
        config = SessionConfig(
            local_asn=LOCAL_ASN,
            peer_asn=PEER_ASN,
            bgp_id=int(ipaddress.IPv4Address(HOST)),
            peer_address=PEER,
            passive=True,
        )
        driver: SessionDriver | None = None

        def on_event(d: SessionDriver, event: Event) -> None:
            backlog[0] = max(backlog[0], d.receive_backlog)
            match event:
                case UpdateReceived():
                    seen.append("update")
                case SessionEstablished():
                    seen.append("up")
                case SessionDown():
                    seen.append("down")

        driver = SessionDriver(Session(config), remote=(PEER, 0), on_event=on_event, turns=turns)
        driver.start()

        def inbound(stream: BgpStream) -> None:
            assert driver is not None
            driver.attach(stream)

        server = await loop.create_server(lambda: BgpStream(inbound), HOST, 0)
        port = server.sockets[0].getsockname()[1]
        ours = build_open(
            asn=PEER_ASN, bgp_id=int(ipaddress.IPv4Address(PEER)), hold_time=90, families=[(1, 1)]
        )
        negotiated = negotiate(ours, driver.session.local_open)
        reader, writer = await asyncio.open_connection(HOST, port, local_addr=(PEER, 0))
        drain = asyncio.create_task(_discard(reader))
        writer.write(encode_message(ours, Negotiated()) + encode_message(Keepalive(), Negotiated()))
        writer.write(_update_bytes(negotiated) * BURST)
        await writer.drain()
        writer.write_eof()  # the table, then the connection goes away (FIN, not RST)
        async with asyncio.timeout(60):
            while "down" not in seen:
                await asyncio.sleep(0.01)
        drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await drain
        writer.close()
        driver.close()
        server.close()
        assert seen[0] == "up"
        assert seen[1:] == ["update"] * BURST + ["down"]  # all of it, then the loss
        assert turns.turns > 1  # decoded over several turns
        assert backlog[0] <= RX_HIGH + READ_MAX  # reading paused at the high-water mark

    asyncio.run(main())


async def _discard(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass
