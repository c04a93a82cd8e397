"""BFD for a route server's peerings: which sessions run, and what a BFD Down does.

Each (instance, peering) whose ``PeeringConfig.bfd`` is set gets a BFD session
from the instance's BGP listen address to the peer's address (where it connects
from), started with the route server and kept whether BGP is up or not, as FRR
does; ``sync`` brings the sessions in line with the current peerings after a
configuration change (work proportional to the peerings, at most 8 x 2).

A session going from Up to Down for a reason other than the remote's AdminDown
(RFC 5882 §3.2: AdminDown "MUST NOT" be taken as a path failure) calls
``on_down(instance, peering, reason)``; the host then ends the BGP session at
once with a Cease NOTIFICATION, subcode 10 "BFD Down" (RFC 9384 §2), instead of
waiting for the hold timer (RFC 5882 §4: the client reacts to the BFD session
going down).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import structlog

from nexthop.bfd import BfdConfig, BfdStatus, StateChanged
from nexthop.routeserver import INSTANCE_ROLES
from nexthop.routeserver.config import PeeringConfig
from nexthop.runtime.bfd_transport import BfdTransport

__all__ = ["BfdPeerings"]

DownHandler = Callable[[str, str, str], None]


class BfdPeerings:
    """The BFD sessions of one route server host; see the module docstring."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        on_down: DownHandler,
        rng: random.Random | None = None,
        log: Any = None,
    ) -> None:
        self._on_down = on_down
        self.log = log if log is not None else structlog.get_logger("nexthop.bfd")
        self._transport = BfdTransport(loop, on_change=self._changed, rng=rng, log=self.log)

    def sync(
        self,
        peerings: list[PeeringConfig],
        local: Mapping[str, str],
        stand_in: Callable[[str], str],
    ) -> None:
        """Run exactly the sessions ``peerings`` ask for; ``local`` maps an instance
        role to its listen address, ``stand_in`` a topology address to its wire one."""
        wanted: dict[Hashable, tuple[str, str, BfdConfig]] = {}
        for peering in peerings:
            if peering.bfd is None:
                continue
            for role in INSTANCE_ROLES:
                wanted[(role, peering.name)] = (local[role], stand_in(peering.peer_ip), peering.bfd)
        for key in self._transport.running():
            if self._transport.config(key) != wanted.get(key):
                self._transport.remove(key)
        running = set(self._transport.running())
        for key, (source, remote, config) in wanted.items():
            if key in running:
                continue
            try:
                self._transport.add(key, local=source, remote=remote, config=config)
            except OSError as exc:
                self.log.error("bfd_not_started", key=str(key), local=source, error=str(exc))

    def status(self, instance: str, peering: str) -> BfdStatus | None:
        return self._transport.status((instance, peering))

    def close(self) -> None:
        """AdminDown to every peer (RFC 5880 §6.8.16), then close the sockets."""
        self._transport.close()

    def _changed(self, key: Hashable, event: StateChanged) -> None:
        if not event.path_failed or not isinstance(key, tuple):
            return
        instance, peering = key
        reason = f"BFD session down ({event.diagnostic.name.lower().replace('_', ' ')})"
        self._on_down(instance, peering, reason)
