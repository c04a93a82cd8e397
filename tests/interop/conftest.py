"""Fixtures for the interop suite: one module-scoped lab per daemon.

Every test here is marked ``interop``; a missing daemon skips locally and fails
when ``CI=true`` (see ``tests/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bgp_daemons import DAEMONS, Neighbor, Originated, free_port
from nexthop_lab import DAEMON_INDEX, Lab, LoopThread, add_daemon_peer, make_side

# (daemon, test) pairs that cannot apply, with the reason. They are deselected at
# collection (reported in pytest's "deselected" count), never skipped at run time,
# so CI cannot silently lose a test that should have run.
NOT_APPLICABLE: dict[tuple[str, str], str] = {
    ("gobgp", "test_route_refresh_from_the_daemon_makes_nexthop_resend"): (
        "GoBGP keeps its Adj-RIB-In and re-applies policy locally on "
        "'softresetin'; no gobgp command sends a ROUTE-REFRESH"
    ),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.interop)
            callspec = getattr(item, "callspec", None)
            daemon = callspec.params.get("lab") if callspec is not None else None
            name = getattr(item, "originalname", item.name)
            if (daemon, name) in NOT_APPLICABLE:
                dropped.append(item)
                continue
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def daemon_routes(index: int, asn: int) -> tuple[Originated, ...]:
    return (
        Originated(
            prefix=f"198.51.{100 + index}.0/24",
            next_hop=f"192.0.2.{index}",
            communities=(f"{asn}:100",),
            large_communities=(f"{asn}:1:2",),
        ),
        Originated(
            prefix=f"2001:db8:{index}::/48",
            next_hop=f"2001:db8::{index}",
            communities=(f"{asn}:100",),
            large_communities=(f"{asn}:1:2",),
        ),
    )


@pytest.fixture(scope="module", params=list(DAEMON_INDEX))
def lab(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    require_daemon: Callable[[str, str, str], str],
) -> Iterator[Lab]:
    name: str = request.param
    cls = DAEMONS[name]
    require_daemon(name, cls.binary, cls.package)
    if name == "frr":
        require_daemon(name, "vtysh", "frr")
    elif name == "bird":
        require_daemon(name, "birdc", "bird2")
    elif name == "gobgp":
        require_daemon(name, "gobgp", "gobgpd")
    index = DAEMON_INDEX[name]
    loop = LoopThread()
    listener = make_side(loop, f"127.0.20.{index}", 4200000001, 1)
    dialer = make_side(loop, f"127.0.30.{index}", 4200000002, 2)
    mutual = make_side(loop, f"127.0.40.{index}", 4200000003, 3)
    address = f"127.0.10.{index}"
    asn = 65000 + index
    daemon = cls(
        workdir=tmp_path_factory.mktemp(name),
        address=address,
        port=free_port(address),
        asn=asn,
        neighbors=(
            Neighbor(listener.address, listener.asn, listener.speaker.listen_port, passive=False),
            Neighbor(dialer.address, dialer.asn, dialer.speaker.listen_port, passive=True),
            Neighbor(mutual.address, mutual.asn, mutual.speaker.listen_port, passive=False),
        ),
        routes=daemon_routes(index, asn),
    )
    # Peers first: a daemon that dials an unconfigured peer is refused and backs off.
    add_daemon_peer(loop, listener, daemon, passive=True)
    add_daemon_peer(loop, dialer, daemon, passive=False)
    add_daemon_peer(loop, mutual, daemon, passive=False)
    daemon.start()
    result = Lab(
        loop=loop,
        daemon=daemon,
        listener=listener,
        dialer=dialer,
        mutual=mutual,
        daemon_routes=daemon.routes,
    )
    try:
        yield result
    finally:
        for side in result.sides:
            loop.run(side.speaker.stop(), 15)
        daemon.stop()
        loop.close()


@pytest.fixture
def describe(lab: Lab) -> Callable[[], str]:
    """For assertion messages: the daemon's exit status and log tail."""
    return lab.daemon.describe
