"""One real daemon and two nexthop speakers on loopback, for the interop tests.

Layout for the daemon with index ``i`` (FRR 2, BIRD 3, GoBGP 4, ExaBGP 5):

* the daemon on 127.0.10.i, AS 65000+i (2-octet);
* ``listener``: a nexthop speaker on 127.0.20.i, AS 4200000001, passive — the
  daemon dials it;
* ``dialer``: a nexthop speaker on 127.0.30.i, AS 4200000002, active — it dials
  the daemon, which is passive for it;
* ``mutual``: a nexthop speaker on 127.0.40.i, AS 4200000003; both ends dial
  (the usual default), which must still end in exactly one session. Whether the
  two connections actually collide (RFC 4271 §6.8) depends on timing; the
  deterministic collision test is in tests/runtime/test_speaker.py.

The speakers run on an asyncio loop in a background thread so that module-scoped
fixtures can keep them up across tests; ``LoopThread.run``/``call`` hand work to
that loop and wait for the answer.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TypeVar

from bgp_daemons import Daemon, Originated, SeenRoute

from nexthop.bgp.fsm import SessionState
from nexthop.runtime.speaker import PeerConfig, ReceivedRoute, Speaker

__all__ = ["DAEMON_INDEX", "Lab", "LoopThread", "NexthopSide"]

T = TypeVar("T")
DAEMON_INDEX = {"frr": 2, "bird": 3, "gobgp": 4, "exabgp": 5}
TIMERS = {"hold_time": 9, "keepalive": 3, "connect_retry": 1.0, "idle_hold_time": 0.5}


class LoopThread:
    """An asyncio loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Awaitable[T], timeout: float = 60) -> T:
        async def wrapped() -> T:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout)

    def call(self, fn: Callable[[], T], timeout: float = 10) -> T:
        future: Future[T] = Future()

        def invoke() -> None:
            try:
                future.set_result(fn())
            except Exception as exc:  # handed back to the caller's thread
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(invoke)
        return future.result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@dataclass
class NexthopSide:
    """One nexthop speaker of the lab and the routes it announces."""

    speaker: Speaker
    address: str
    asn: int
    routes: tuple[Originated, ...]


@dataclass
class Lab:
    loop: LoopThread
    daemon: Daemon
    listener: NexthopSide
    dialer: NexthopSide
    mutual: NexthopSide
    daemon_routes: tuple[Originated, ...]

    @property
    def sides(self) -> tuple[NexthopSide, ...]:
        return (self.listener, self.dialer, self.mutual)

    def side(self, which: str) -> NexthopSide:
        return {"listener": self.listener, "dialer": self.dialer, "mutual": self.mutual}[which]

    def state(self, side: NexthopSide) -> SessionState:
        return self.loop.call(lambda: side.speaker.peer_state(self.daemon.address))

    def route_in(self, side: NexthopSide, prefix: str) -> ReceivedRoute | None:
        """Look ``prefix`` up in the side's Adj-RIB-In; call only on the loop thread
        (inside ``wait`` predicates), use ``received`` from the test thread."""
        routes = side.speaker.received_routes(self.daemon.address)
        return next((r for p, r in routes.items() if str(p) == prefix), None)

    def received(self, side: NexthopSide, prefix: str) -> ReceivedRoute | None:
        return self.loop.call(lambda: self.route_in(side, prefix))

    def wait(self, side: NexthopSide, predicate: Callable[[], object], timeout: float) -> None:
        """Wait for ``predicate`` — it runs on the loop thread, so it must read the
        speaker directly (never through ``LoopThread.call``, which would deadlock)."""
        self.loop.run(side.speaker.wait_for(predicate, timeout), timeout + 5)

    def wait_established(self, side: NexthopSide, timeout: float = 30) -> None:
        self.loop.run(side.speaker.wait_established(self.daemon.address, timeout), timeout + 5)

    def seen_by_daemon(self, prefix: str) -> SeenRoute | None:
        return self.daemon.route(prefix)


def make_side(loop: LoopThread, address: str, asn: int, tag: int) -> NexthopSide:
    """A started speaker announcing an IPv4 and an IPv6 route with third-party
    next hops, a community and a large community."""
    routes = (
        Originated(
            prefix=f"203.0.113.{(tag - 1) * 64}/26",
            next_hop=f"192.0.2.{100 + tag}",
            communities=(f"64512:{tag}",),
            large_communities=(f"{asn}:{tag}:{tag}",),
        ),
        Originated(
            prefix=f"2001:db8:ff0{tag}::/48",
            next_hop=f"2001:db8::{100 + tag}",
            communities=(f"64512:{tag}",),
            large_communities=(f"{asn}:{tag}:{tag}",),
        ),
    )
    speaker = Speaker(asn, address, listen_address=address, listen_port=0)
    loop.run(speaker.start())
    for r in routes:
        loop.call(
            lambda r=r: speaker.announce(  # type: ignore[misc]
                r.prefix,
                next_hop=r.next_hop,
                communities=r.communities,
                large_communities=r.large_communities,
            )
        )
    return NexthopSide(speaker=speaker, address=address, asn=asn, routes=routes)


def add_daemon_peer(loop: LoopThread, side: NexthopSide, daemon: Daemon, *, passive: bool) -> None:
    config = PeerConfig(
        address=daemon.address, asn=daemon.asn, port=daemon.port, passive=passive, **TIMERS
    )
    loop.call(lambda: side.speaker.add_peer(config))
