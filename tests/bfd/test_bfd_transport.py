"""BFD over UDP on loopback (RFC 5881/5883): two ``BfdTransport``s, each on its own
127.x address (port 3784 is fixed by the RFC, so each side needs its address)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import Callable, Hashable

from nexthop.bfd import BfdConfig, BfdSession, ControlPacket, State, StateChanged, encode
from nexthop.runtime.bfd_transport import SINGLE_HOP_PORT, SOURCE_PORTS, BfdTransport

FAST = BfdConfig(desired_min_tx_us=50_000, required_min_rx_us=50_000, detect_mult=3)
WAIT = 15.0


async def until(predicate: Callable[[], bool], what: str) -> None:
    try:
        async with asyncio.timeout(WAIT):
            while not predicate():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def _pair(
    loop: asyncio.AbstractEventLoop, a: str, b: str, config: BfdConfig = FAST
) -> tuple[BfdTransport, BfdTransport, dict[str, list[StateChanged]]]:
    events: dict[str, list[StateChanged]] = {"a": [], "b": []}

    def recorder(name: str) -> Callable[[Hashable, StateChanged], None]:
        return lambda key, event: events[name].append(event)

    left = BfdTransport(loop, on_change=recorder("a"))
    right = BfdTransport(loop, on_change=recorder("b"))
    left.add("p", local=a, remote=b, config=config)
    right.add("p", local=b, remote=a, config=config)
    return left, right, events


def _state(transport: BfdTransport) -> str | None:
    status = transport.status("p")
    return status.state if status is not None else None


def test_two_transports_come_up_and_an_admin_down_is_no_failure() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        left, right, events = _pair(loop, "127.0.91.1", "127.0.91.2")
        try:
            await until(lambda: _state(left) == _state(right) == "Up", "both sides Up")
            status = left.status("p")
            assert status is not None
            assert status.transmit_interval_ms == 50.0  # negotiated once Up (§6.8.2)
            right.remove("p")  # AdminDown to the remote (§6.8.16)
            await until(lambda: _state(left) == "Down", "left Down")
            down = [e for e in events["a"] if e.new is State.DOWN]
            assert down[-1].remote_state is State.ADMIN_DOWN
            assert not down[-1].path_failed  # RFC 5882 §3.2
        finally:
            left.close()
            right.close()

    asyncio.run(main())


async def _play_remote(session: BfdSession, local: str, remote: str) -> None:
    """The remote side by hand: a sans-IO session pumped over real sockets until
    cancelled (then it falls silent without a word, like a hung process)."""
    loop = asyncio.get_running_loop()
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    rx.bind((remote, SINGLE_HOP_PORT))
    rx.setblocking(False)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
    tx.bind((remote, 50000))
    try:
        while True:
            try:
                data = rx.recv(512)
                session.receive(data, loop.time())
            except BlockingIOError:
                pass
            session.handle_timer(loop.time())
            for datagram in session.datagrams_to_send():
                tx.sendto(datagram, (local, SINGLE_HOP_PORT))
            await asyncio.sleep(0.005)
    finally:
        rx.close()
        tx.close()


def test_silence_is_detected_as_a_path_failure() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        local, remote = "127.0.91.3", "127.0.91.4"
        events: list[StateChanged] = []
        transport = BfdTransport(loop, on_change=lambda key, event: events.append(event))
        peer = BfdSession(FAST, local_discriminator=99, rng=random.Random(1), now=loop.time())
        pump = asyncio.create_task(_play_remote(peer, local, remote))
        try:
            transport.add("p", local=local, remote=remote, config=FAST)
            await until(lambda: _state(transport) == "Up" and peer.state is State.UP, "Up")
            pump.cancel()
            await until(lambda: _state(transport) == "Down", "Down after silence")
            failure = [e for e in events if e.path_failed]
            assert len(failure) == 1
            assert failure[0].diagnostic.name == "CONTROL_DETECTION_TIME_EXPIRED"
        finally:
            pump.cancel()
            transport.close()

    asyncio.run(main())


def test_single_hop_packets_need_ttl_255_and_go_out_with_it() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        local, remote = "127.0.91.5", "127.0.91.6"
        transport = BfdTransport(loop, on_change=lambda key, event: None)
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        peer.setsockopt(socket.IPPROTO_IP, 12, 1)  # IP_RECVTTL
        peer.bind((remote, SINGLE_HOP_PORT))
        peer.settimeout(WAIT)
        try:
            transport.add("p", local=local, remote=remote, config=FAST)
            _data, ancillary, _, (source, port) = await asyncio.to_thread(
                peer.recvmsg, 512, socket.CMSG_SPACE(4)
            )
            assert source == local
            assert port in SOURCE_PORTS
            assert [v[0] for lvl, kind, v in ancillary if kind == socket.IP_TTL] == [255]
            # A Down packet sent with TTL 64 is discarded; the same with 255 is taken.
            probe = encode(
                ControlPacket(
                    state=State.DOWN,
                    detect_mult=3,
                    my_discriminator=77,
                    desired_min_tx_us=1_000_000,
                    required_min_rx_us=1_000_000,
                )
            )
            for ttl in (64, 255):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                    sender.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
                    sender.bind((remote, 0))
                    sender.sendto(probe, (local, SINGLE_HOP_PORT))
                await until(
                    lambda ttl=ttl: (
                        (transport.ttl_discards, _state(transport))
                        == ((1, "Down") if ttl == 64 else (1, "Init"))
                    ),
                    f"the packet with TTL {ttl} handled",
                )
        finally:
            peer.close()
            transport.close()

    asyncio.run(main())


def test_multihop_sessions_use_port_4784() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        multihop = BfdConfig(
            desired_min_tx_us=50_000, required_min_rx_us=50_000, detect_mult=3, multihop=True
        )
        # Something on 3784 of the right side would see nothing: only 4784 is used.
        stray = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stray.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        stray.bind(("127.0.91.8", SINGLE_HOP_PORT))
        stray.setblocking(False)
        left, right, _ = _pair(loop, "127.0.91.7", "127.0.91.8", multihop)
        try:
            await until(lambda: _state(left) == _state(right) == "Up", "both sides Up")
            status = left.status("p")
            assert status is not None
            assert status.multihop
            with contextlib.suppress(BlockingIOError):
                stray.recv(512)
                raise AssertionError("a multihop packet reached port 3784")
        finally:
            stray.close()
            left.close()
            right.close()

    asyncio.run(main())
