"""``nexthop demo``: two speakers on loopback exchange a route with a third-party next hop.

Speaker A (127.0.0.1, AS 65001) connects to speaker B (127.0.0.2, AS 4200000002,
a 4-octet AS) on kernel-chosen ports, so no root is needed. A announces a prefix
whose NEXT_HOP is another router (192.0.2.10, RFC 4271 §5.1.3 third-party next
hop) with a community and a large community; B's Adj-RIB-In is shown, then A
shuts down with Cease/Administrative Shutdown and a shutdown communication
(RFC 8203/9003), which B reports.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass

import structlog
import typer
from rich.console import Console
from rich.table import Table

from nexthop.bgp.fsm import SessionState
from nexthop.bgp.wire import shutdown_communication
from nexthop.runtime.speaker import PeerConfig, ReceivedRoute, Speaker

__all__ = ["DemoResult", "demo", "run_demo"]

A_ADDRESS, A_ASN = "127.0.0.1", 65001
B_ADDRESS, B_ASN = "127.0.0.2", 4200000002
PREFIX, NEXT_HOP = "203.0.113.0/24", "192.0.2.10"
COMMUNITY, LARGE_COMMUNITY = "65001:100", "65001:0:42"
SHUTDOWN_MESSAGE = "demo finished, maintenance window"


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoResult:
    received: dict[str, ReceivedRoute]
    shutdown_message: str | None


async def run_demo(timeout: float = 10.0) -> DemoResult:
    """Run both speakers, exchange the route, shut down; return what B saw."""
    a = Speaker(A_ASN, A_ADDRESS, listen_address=A_ADDRESS, listen_port=0)
    b = Speaker(B_ASN, B_ADDRESS, listen_address=B_ADDRESS, listen_port=0)
    await b.start()
    await a.start()
    try:
        b.add_peer(PeerConfig(address=A_ADDRESS, asn=A_ASN, passive=True, hold_time=9, keepalive=3))
        a.add_peer(
            PeerConfig(
                address=B_ADDRESS,
                asn=B_ASN,
                port=b.listen_port,
                hold_time=9,
                keepalive=3,
                connect_retry=1,
            )
        )
        a.announce(
            PREFIX,
            next_hop=NEXT_HOP,
            communities=[COMMUNITY],
            large_communities=[LARGE_COMMUNITY],
        )
        await b.wait_for(lambda: len(b.received_routes(A_ADDRESS)) > 0, timeout)
        received = {str(p): r for p, r in b.received_routes(A_ADDRESS).items()}
        await a.stop(SHUTDOWN_MESSAGE)
        await b.wait_for(lambda: b.peer_state(A_ADDRESS) is not SessionState.ESTABLISHED, timeout)
        notification = b.last_notification(A_ADDRESS)
        message = shutdown_communication(notification) if notification is not None else None
        return DemoResult(received=received, shutdown_message=message)
    finally:
        await a.stop()
        await b.stop()


def _render(console: Console, result: DemoResult) -> None:
    table = Table(title=f"Adj-RIB-In of {B_ADDRESS} (AS {B_ASN}) from {A_ADDRESS} (AS {A_ASN})")
    for column in ("Prefix", "Next hop", "AS path", "Communities", "Large communities"):
        table.add_column(column)
    for prefix, route in result.received.items():
        attrs = route.attributes
        table.add_row(
            prefix,
            route.next_hop,
            " ".join(str(asn) for segment in attrs.as_path for asn in segment.asns),
            " ".join(f"{c >> 16}:{c & 0xFFFF}" for c in attrs.communities),
            " ".join(":".join(str(x) for x in c) for c in attrs.large_communities),
        )
    console.print(table)
    console.print(
        f"{A_ADDRESS} shut down; {B_ADDRESS} received Cease/Administrative Shutdown: "
        f"{result.shutdown_message!r}"
    )


def demo(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show BGP log lines."),
) -> None:
    """Two BGP speakers on loopback exchange a route with a third-party next hop."""
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.INFO if verbose else logging.WARNING
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    console = Console()
    result = asyncio.run(run_demo())
    _render(console, result)
    if PREFIX not in result.received:
        raise typer.Exit(code=1)
