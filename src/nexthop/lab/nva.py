"""A built-in NVA for the lab: BGP speaker, probe responder and HA heartbeat.

Driven by the topology's ``nvas[]`` entry:

* **BGP** (RFC 4271): one active session per ``neighbor`` of the FRR-style
  ``bgp_config`` (``nexthop.nva.frr_config``), opened from the NVA's loopback
  stand-in to the neighbor's stand-in at the lab BGP port. On Established it
  sends each ``network`` through the neighbor's outbound route-map
  (``nexthop.nva.policy``; ``set ip next-hop`` is a third-party NEXT_HOP, RFC 4271
  §5.1.3), prepends its AS for the eBGP peer (§5.1.2) and ends with End-of-RIB
  (RFC 4724 §2). Received routes go through the inbound route-map into a small
  Adj-RIB-In. NEXT_HOPs are topology addresses: the NIC address by default.
* **Probe responder** (``nexthop.runtime.probes.ProbeResponder``) on the stand-in
  and mapped port. With ``mode: when_active`` only the HA-active node answers: a
  TCP responder's listener is closed on the standby (the probe is refused), an
  HTTP one answers 503.
* **Heartbeat** for HA pairs: a ``nexthop.lb.HaNode`` whose ``SendHeartbeat``
  outputs travel as small JSON datagrams over UDP between the pair's stand-ins
  (the VRRP-style election of ``nexthop.lb.ha``, RFC 5798 §6.4 timing).

``crash()`` is a failure, not a shutdown: TCP connections are reset without a
NOTIFICATION, the responder closes, heartbeats stop. ``stop()`` is the graceful
counterpart (Cease/Administrative Shutdown, RFC 8203). ``start()`` brings a
stopped or crashed NVA back; HA restarts as standby (no flap-back).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol

import structlog

from nexthop.bgp.constants import CeaseSubcode
from nexthop.bgp.fsm import (
    Event,
    Session,
    SessionConfig,
    SessionDown,
    SessionEstablished,
    SessionState,
    UpdateReceived,
)
from nexthop.bgp.wire import IPV4_UNICAST, PathAttributes, cease_notification, end_of_rib
from nexthop.config.schema import Nva
from nexthop.config.types import ProbeProtocol, ResponderMode
from nexthop.lb import (
    BecameActive,
    BecameStandby,
    HaConfig,
    HaNode,
    HaState,
    HeartbeatReceived,
    SendHeartbeat,
)
from nexthop.lb.ha import HaOutput, Start, Stop
from nexthop.net.prefix import Afi, Prefix, format_address
from nexthop.nva import FrrConfig
from nexthop.nva.model import Neighbor
from nexthop.nva.speaker import NvaSpeaker, Outbound
from nexthop.runtime.bgp_transport import SessionDriver
from nexthop.runtime.probes import ProbeResponder, self_signed_context
from nexthop.runtime.probes import ResponderMode as ServeMode

__all__ = ["DEFAULT_HEARTBEAT_PORT", "BuiltinNva", "NvaTimers", "StandIns"]

DEFAULT_HEARTBEAT_PORT = 3784
"""UDP port of the lab heartbeat (BFD's single-hop port, RFC 5881 §4, as a
reminder of the role; the payload is the lab's own JSON)."""
MAX_DATAGRAM = 512


class StandIns(Protocol):
    """The part of ``nexthop.runtime.addresses.AddressMap`` an NVA needs."""

    bgp_port: int

    def stand_in(self, address: str) -> str: ...

    def port(self, port: int) -> int: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class NvaTimers:
    """BGP timers of the built-in NVAs (RFC 4271 §10)."""

    hold_time: int = 180
    keepalive_time: int = 60
    connect_retry: float = 5.0
    idle_hold: float = 1.0


class _Heartbeats(asyncio.DatagramProtocol):
    def __init__(self, receive: Callable[[bytes], None]) -> None:
        self._receive = receive

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self._receive(data)


@dataclass(eq=False, slots=True)
class _Neighbor:
    config: Neighbor
    address: str  # topology address
    driver: SessionDriver | None = None


class BuiltinNva:
    """One NVA of the topology, run on its loopback stand-in."""

    def __init__(
        self,
        nva: Nva,
        *,
        addresses: StandIns,
        timers: NvaTimers | None = None,
        ha: HaConfig | None = None,
        ha_peer: str | None = None,
        heartbeat_port: int = DEFAULT_HEARTBEAT_PORT,
        extra_networks: tuple[Prefix, ...] = (),
        on_change: Callable[[BuiltinNva], None] | None = None,
    ) -> None:
        self.name = nva.name
        self.address = str(nva.nic.ip)
        self.stand_in = addresses.stand_in(self.address)
        self.config: FrrConfig | None = nva.bgp
        self._addresses = addresses
        self._timers = timers or NvaTimers()
        self._responder_spec = nva.probe_responder
        self._ha_config = ha
        self._ha_peer = addresses.stand_in(ha_peer) if ha_peer is not None else None
        self._heartbeat_port = heartbeat_port
        self._on_change = on_change
        self.ha: HaNode | None = HaNode(ha) if ha is not None else None
        self._neighbors: list[_Neighbor] = []
        bgp = self.config.bgp if self.config is not None else None
        self.networks: tuple[Prefix, ...] = ()
        self.speaker: NvaSpeaker | None = None
        if bgp is not None and self.config is not None:
            self.speaker = NvaSpeaker(
                self.config,
                int(ipaddress.IPv4Address(self.address)),
                extra_prefixes=extra_networks,
            )
            self.networks = self.speaker.prefixes
            self._neighbors = [
                _Neighbor(config=n, address=format_address(Afi.IPV4, n.address))
                for n in bgp.neighbors
            ]
        self.responder: ProbeResponder | None = None
        self._tls: ssl.SSLContext | None = None
        self._heartbeat: asyncio.DatagramTransport | None = None
        self._ha_timer: asyncio.TimerHandle | None = None
        self._responder_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.running = False
        self.heartbeats_sent = 0
        self.heartbeats_received = 0
        self.log = structlog.get_logger("nexthop.lab.nva").bind(nva=self.name)

    # --- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Start BGP, the heartbeat and the probe responder (idempotent)."""
        if self.running:
            return
        self._loop = asyncio.get_running_loop()
        self.running = True
        try:
            await self._start()
        except BaseException:
            await self.crash()
            raise
        self.log.info("nva_started", address=self.address, stand_in=self.stand_in)
        self._changed()

    async def _start(self) -> None:
        assert self._loop is not None
        if self._responder_spec is not None:
            spec = self._responder_spec
            mode = ServeMode.TCP if spec.protocol is ProbeProtocol.TCP else ServeMode.HTTP
            if spec.protocol is ProbeProtocol.HTTPS and self._tls is None:
                self._tls = await self_signed_context(self.name)
                if self._tls is None:
                    self.log.warning("https_responder_without_tls", reason="no openssl")
            self.responder = ProbeResponder(
                self.stand_in,
                self._addresses.port(spec.port),
                mode=mode,
                tls=self._tls if spec.protocol is ProbeProtocol.HTTPS else None,
            )
        if self.ha is not None and self._ha_peer is not None:
            transport, _ = await self._loop.create_datagram_endpoint(
                lambda: _Heartbeats(self._heartbeat_in),
                local_addr=(self.stand_in, self._heartbeat_port),
            )
            self._heartbeat = transport
        if self.ha is not None:
            self._ha_outputs(self.ha.handle(Start(now=self._loop.time())))
        await self._sync_responder()
        for neighbor in self._neighbors:
            self._start_session(neighbor)

    async def crash(self) -> None:
        """Fail like a dead VM: reset TCP, no NOTIFICATION, no answers, no heartbeats."""
        if not self.running:
            return
        self.running = False
        for neighbor in self._neighbors:
            driver, neighbor.driver = neighbor.driver, None
            self._session_down(neighbor)
            if driver is not None:
                if driver.stream is not None:
                    driver.stream.abort()
                driver.close()
        await self._halt()
        self.log.warning("nva_crashed")
        self._changed()

    async def stop(self, message: str = "", timeout: float = 2.0) -> None:
        """Shut down gracefully: Cease/Administrative Shutdown to every neighbor."""
        if not self.running:
            return
        self.running = False
        closing: list[asyncio.Future[None]] = []
        for neighbor in self._neighbors:
            driver, neighbor.driver = neighbor.driver, None
            self._session_down(neighbor)
            if driver is None:
                continue
            if driver.stream is not None:
                closing.append(driver.stream.closed)
            if driver.state is not SessionState.IDLE:
                driver.stop(cease_notification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, message))
            driver.close()
        if closing:
            await asyncio.wait(closing, timeout=timeout)
        await self._halt()
        self.log.info("nva_stopped")
        self._changed()

    async def _halt(self) -> None:
        loop = asyncio.get_running_loop()
        if self.ha is not None and self.ha.state is not HaState.STOPPED:
            self.ha.handle(Stop(now=loop.time()))
        if self._ha_timer is not None:
            self._ha_timer.cancel()
            self._ha_timer = None
        if self._heartbeat is not None:
            self._heartbeat.close()
            self._heartbeat = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.responder is not None:
            async with self._responder_lock:
                await self.responder.stop()

    # --- views -------------------------------------------------------------------

    @property
    def ha_state(self) -> HaState | None:
        return self.ha.state if self.ha is not None else None

    @property
    def answers_probe(self) -> bool:
        """Whether the responder should answer now (running, and active if it must be)."""
        if not self.running or self._responder_spec is None:
            return False
        if self._responder_spec.mode is ResponderMode.ALWAYS:
            return True
        return self.ha is None or self.ha.answers_probe

    def sessions(self) -> dict[str, SessionState]:
        """Neighbor (topology address) -> session state."""
        return {
            n.address: n.driver.state if n.driver is not None else SessionState.IDLE
            for n in self._neighbors
        }

    def received_routes(self, neighbor: str) -> dict[Prefix, PathAttributes]:
        """Routes accepted from ``neighbor`` (after its inbound route-map), read from
        the speaker's table."""
        for n in self._neighbors:
            if n.address == neighbor:
                assert self.speaker is not None  # neighbors come from its config
                routes = self.speaker.routes(n.config.address)
                return {prefix: route.attributes for prefix, route in routes.items()}
        raise KeyError(neighbor)

    def advertisements(self, neighbor: str) -> dict[Prefix, PathAttributes]:
        """What this NVA sends ``neighbor``: its networks after the outbound route-map."""
        for n in self._neighbors:
            if n.address == neighbor:
                return dict(self._outbound(n))
        raise KeyError(neighbor)

    # --- BGP ---------------------------------------------------------------------

    def _asn(self) -> int:
        assert self.config is not None
        assert self.config.bgp is not None
        return self.config.bgp.asn

    def _start_session(self, neighbor: _Neighbor) -> None:
        assert self.config is not None
        assert self.config.bgp is not None
        bgp = self.config.bgp
        timers = self._timers
        config = SessionConfig(
            local_asn=bgp.asn,
            peer_asn=neighbor.config.remote_as,
            bgp_id=bgp.router_id or int(ipaddress.IPv4Address(self.address)),
            peer_address=neighbor.address,
            hold_time=timers.hold_time,
            keepalive_time=timers.keepalive_time,
            connect_retry_time=timers.connect_retry,
            idle_hold_time=timers.idle_hold,
        )
        remote = (self._addresses.stand_in(neighbor.address), self._addresses.bgp_port)
        driver = SessionDriver(
            Session(config),
            remote=remote,
            local_address=self.stand_in,
            on_event=lambda d, e: self._on_event(neighbor, d, e),
            on_state=lambda d, s: self._changed(),
            log=self.log.bind(peer=neighbor.address),
        )
        neighbor.driver = driver
        driver.start()

    def _outbound(self, neighbor: _Neighbor) -> list[tuple[Prefix, PathAttributes]]:
        return list(self._outbound_of(neighbor).routes.items())

    def _outbound_of(self, neighbor: _Neighbor) -> Outbound:
        """``NvaSpeaker.outbound``: the one place for an NVA's outbound policy."""
        assert self.speaker is not None
        return self.speaker.outbound(neighbor.config.address)

    def _on_event(self, neighbor: _Neighbor, driver: SessionDriver, event: Event) -> None:
        if driver is not neighbor.driver:
            return
        match event:
            case SessionEstablished():
                assert self.speaker is not None
                for update in self.speaker.session_up(neighbor.config.address).updates:
                    driver.send_update(update)
                driver.send_update(end_of_rib(IPV4_UNICAST))
            case UpdateReceived(update=update):
                # withdrawals, own-AS loop check (RFC 4271 §9.1.2), inbound route-map:
                # the one NVA speaker's rules, as in the model
                if self.speaker is not None:
                    self.speaker.receive(neighbor.config.address, update)
                return  # routes are read from the speaker: nothing to announce
            case SessionDown():
                self._session_down(neighbor)
            case _:
                pass
        self._changed()

    def _session_down(self, neighbor: _Neighbor) -> None:
        if self.speaker is not None:
            self.speaker.session_down(neighbor.config.address)

    # --- HA heartbeat ----------------------------------------------------------------

    def _heartbeat_in(self, data: bytes) -> None:
        if self.ha is None or not self.running or self._loop is None:
            return
        try:
            beat = json.loads(data[:MAX_DATAGRAM])
            received = HeartbeatReceived(
                sender=str(beat["sender"]),
                state=HaState(beat["state"]),
                priority=int(beat["priority"]),
                now=self._loop.time(),
            )
        except (ValueError, KeyError, TypeError):
            self.log.warning("heartbeat_malformed", size=len(data))
            return
        if received.sender == self.name:
            return
        self.heartbeats_received += 1
        self._ha_outputs(self.ha.handle(received))

    def _ha_fire(self) -> None:
        self._ha_timer = None
        if self.ha is not None and self._loop is not None and self.running:
            self._ha_outputs(self.ha.handle_timer(self._loop.time()))

    def _ha_outputs(self, outputs: list[HaOutput]) -> None:
        role_changed = False
        for output in outputs:
            match output:
                case SendHeartbeat():
                    self._send_heartbeat(output)
                case BecameActive() | BecameStandby():
                    role_changed = True
                    self.log.info(
                        "ha_role", state=output.__class__.__name__, reason=output.reason.value
                    )
                case _:
                    pass
        self._arm_ha()
        if role_changed:
            self._spawn(self._sync_responder())
            self._changed()

    def _send_heartbeat(self, beat: SendHeartbeat) -> None:
        if self._heartbeat is None or self._ha_peer is None:
            return
        payload = {
            "sender": beat.sender,
            "state": beat.state.value,
            "priority": beat.priority,
            "seq": beat.seq,
        }
        with contextlib.suppress(OSError):
            self._heartbeat.sendto(
                json.dumps(payload).encode(), (self._ha_peer, self._heartbeat_port)
            )
            self.heartbeats_sent += 1

    def _arm_ha(self) -> None:
        if self._ha_timer is not None:
            self._ha_timer.cancel()
            self._ha_timer = None
        if self.ha is None or self._loop is None or not self.running:
            return
        deadline = self.ha.next_deadline()
        if deadline is not None:
            self._ha_timer = self._loop.call_at(deadline, self._ha_fire)

    # --- probe responder ---------------------------------------------------------------

    async def _sync_responder(self) -> None:
        responder, spec = self.responder, self._responder_spec
        if responder is None or spec is None:
            return
        async with self._responder_lock:
            answer = self.answers_probe
            if responder.mode is ServeMode.HTTP:
                responder.set_status(HTTPStatus.OK if answer else HTTPStatus.SERVICE_UNAVAILABLE)
                if self.running and not responder.running:
                    await responder.start()
                return
            if answer and not responder.running:
                await responder.start()
            elif not answer and responder.running:
                await responder.stop()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self)
