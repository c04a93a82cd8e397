"""One BFD session in Asynchronous mode, sans-IO (RFC 5880 §6).

Datagrams and ``now`` in (``receive``, ``handle_timer``); datagrams, state
changes and one timer deadline out (``datagrams_to_send``, ``next_event``,
``get_timer``), the aioquic shape the BGP ``Session`` has. The transport owns
sockets and the clock; randomness (jitter) comes from an injected ``random.Random``.

What it does, with the section it comes from:

* state machine: ``nexthop.bfd.transitions`` (§6.2, §6.8.6);
* reception (§6.8.6): the remote's discriminator, state, demand bit and
  intervals are taken from every valid packet; a Final ends our Poll Sequence;
  a Poll is answered at once with a Final; AdminDown discards what it receives;
* transmit interval (§6.8.2, §6.8.7): the larger of our Desired Min TX and the
  remote's Required Min RX, reduced per packet by a random 0-25 % (10-25 % when
  our Detect Mult is 1); nothing periodic when the remote asks for 0 or runs
  Demand mode with both sides Up;
* slow start (§6.8.3): while not Up, Desired Min TX is at least one second; the
  configured value is used once Up;
* Poll Sequence (§6.5, §6.8.3): a change of Desired Min TX or Required Min RX
  while Up sets P on every packet until a Final arrives; an increase of TX and a
  decrease of RX take effect only then, the other directions at once;
* detection time (§6.8.4): the remote's Detect Mult times the larger of our
  Required Min RX and the remote's Desired Min TX, restarted by every packet not
  discarded; expiry in Init/Up goes Down with diagnostic 1 and forgets the
  remote discriminator (§6.8.1 bfd.RemoteDiscr).

Not implemented: authentication (packets with the A bit are discarded, see
``packet``), the Echo function (we advertise Required Min Echo RX 0), Demand
mode for ourselves (we never set D).
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

from nexthop.bfd.config import SLOW_TX_US, BfdConfig
from nexthop.bfd.packet import BfdPacketError, ControlPacket, Diagnostic, State, decode, encode
from nexthop.bfd.transitions import RECEIVED, Input, next_state

__all__ = ["BfdSession", "BfdStatus", "StateChanged"]

_US = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class StateChanged:
    """bfd.SessionState changed. ``remote_state`` is what the remote last said:
    a Down caused by the remote's AdminDown is not a path failure (RFC 5882 §3.2)."""

    old: State
    new: State
    diagnostic: Diagnostic
    remote_state: State
    at: float

    @property
    def path_failed(self) -> bool:
        """Up went Down for a reason other than the remote's AdminDown (RFC 5882 §3.2):
        what a client such as BGP must act on."""
        return (
            self.old is State.UP
            and self.new is State.DOWN
            and self.remote_state is not State.ADMIN_DOWN
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BfdStatus:
    """A session as views show it (intervals in milliseconds)."""

    state: str
    remote_state: str
    local_diagnostic: str
    remote_diagnostic: str
    local_discriminator: int
    remote_discriminator: int
    multihop: bool
    transmit_interval_ms: float | None
    detection_time_ms: float | None
    polling: bool
    packets_received: int
    packets_sent: int
    packets_discarded: int
    last_discard: str


class BfdSession:
    """See the module docstring. ``local_discriminator`` must be unique and non-zero
    among the transport's sessions (RFC 5880 §6.3)."""

    def __init__(
        self, config: BfdConfig, *, local_discriminator: int, rng: random.Random, now: float
    ) -> None:
        if not 0 < local_discriminator <= 0xFFFFFFFF:
            msg = f"local_discriminator: {local_discriminator} is not in 1..2^32-1"
            raise ValueError(msg)
        self.config = config
        self.local_discriminator = local_discriminator
        self._rng = rng
        self.state = State.DOWN
        self.local_diag = Diagnostic.NONE
        self.remote_state = State.DOWN
        self.remote_diag = Diagnostic.NONE
        self.remote_discriminator = 0
        self.remote_demand = False
        self.remote_min_rx_us = 1  # §6.8.1: initialised to 1
        self.remote_desired_tx_us = 0
        self.remote_detect_mult = 0
        # Advertised values (bfd.DesiredMinTxInterval / RequiredMinRxInterval) and
        # the ones in force while a Poll Sequence runs (§6.8.3).
        self._adv_tx = max(SLOW_TX_US, config.desired_min_tx_us)
        self._adv_rx = config.required_min_rx_us
        self._tx_in_use = self._adv_tx
        self._rx_in_use = self._adv_rx
        self.polling = False
        self._last_tx: float | None = None
        self._next_tx: float | None = now  # the first packet goes out at once
        self._detect_at: float | None = None
        self._outbox: list[bytes] = []
        self._events: deque[StateChanged] = deque()
        self.packets_received = 0
        self.packets_sent = 0
        self.packets_discarded = 0
        self.last_discard = ""

    # --- inputs -------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> None:
        """A datagram from the remote (the transport checked address and TTL)."""
        try:
            packet = decode(data)
        except BfdPacketError as exc:
            self._discard(str(exc))
            return
        self.receive_packet(packet, now)

    def receive_packet(self, packet: ControlPacket, now: float) -> None:
        """RFC 5880 §6.8.6 once the session-free checks passed (``packet.decode``)."""
        if packet.your_discriminator not in (0, self.local_discriminator):
            self._discard(f"Your Discriminator {packet.your_discriminator} is not ours")
            return
        self.packets_received += 1
        self.remote_discriminator = packet.my_discriminator
        self.remote_state = packet.state
        self.remote_diag = packet.diagnostic
        self.remote_demand = packet.demand
        self.remote_detect_mult = packet.detect_mult
        self.remote_desired_tx_us = packet.desired_min_tx_us
        self._set_remote_min_rx(packet.required_min_rx_us)
        if self.polling and packet.final:
            self._end_poll()
        if self.state is State.ADMIN_DOWN:
            return  # discarded: not received for the detection time either
        self._apply(RECEIVED[packet.state], now)
        if packet.poll:
            self._send(now, final=True)
        self._detect_at = now + self.detection_time_us / _US

    def handle_timer(self, now: float) -> None:
        """Run what is due at ``now``: the detection time, then a periodic packet."""
        if self._detect_at is not None and now >= self._detect_at:
            self._detect_at = None
            self.remote_discriminator = 0  # §6.8.1 bfd.RemoteDiscr
            self._apply(Input.DETECTION_TIMER, now)
        if self._next_tx is not None and now >= self._next_tx:
            self._send(now)
            self._schedule_tx()

    def disable(
        self, now: float, diagnostic: Diagnostic = Diagnostic.ADMINISTRATIVELY_DOWN
    ) -> None:
        """§6.8.16: AdminDown (e.g. the peering is de-configured or we stop); one
        packet tells the remote at once."""
        if self.state is State.ADMIN_DOWN:
            return
        self._apply(Input.ADMIN_DISABLE, now)
        self.local_diag = diagnostic
        self._send(now)

    def enable(self, now: float) -> None:
        """§6.8.16: back to Down from AdminDown."""
        self._apply(Input.ADMIN_ENABLE, now)

    def set_intervals(self, desired_min_tx_us: int, required_min_rx_us: int) -> None:
        """Change the configured intervals (a Poll Sequence when Up, §6.8.3)."""
        self.config = self.config.with_intervals(desired_min_tx_us, required_min_rx_us)
        self._advertise(self._wanted_tx(), required_min_rx_us)

    # --- outputs ------------------------------------------------------------------

    def datagrams_to_send(self) -> list[bytes]:
        out, self._outbox = self._outbox, []
        return out

    def next_event(self) -> StateChanged | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        """The earliest deadline (loop time) at which ``handle_timer`` has work."""
        deadlines = [d for d in (self._next_tx, self._detect_at) if d is not None]
        return min(deadlines) if deadlines else None

    @property
    def transmit_interval_us(self) -> int | None:
        """§6.8.7 before jitter; None when periodic transmission must not happen."""
        if self.remote_min_rx_us == 0:
            return None
        if self.remote_demand and self.state is State.UP and self.remote_state is State.UP:
            return None
        return max(self._tx_in_use, self.remote_min_rx_us)

    @property
    def detection_time_us(self) -> int:
        """§6.8.4 (Asynchronous mode, as calculated by this system)."""
        return self.remote_detect_mult * max(self._rx_in_use, self.remote_desired_tx_us)

    def status(self) -> BfdStatus:
        tx = self.transmit_interval_us
        detection = self.detection_time_us if self._detect_at is not None else None
        return BfdStatus(
            state=_NAMES[self.state],
            remote_state=_NAMES[self.remote_state],
            local_diagnostic=self.local_diag.name.lower(),
            remote_diagnostic=self.remote_diag.name.lower(),
            local_discriminator=self.local_discriminator,
            remote_discriminator=self.remote_discriminator,
            multihop=self.config.multihop,
            transmit_interval_ms=tx / 1000 if tx is not None else None,
            detection_time_ms=detection / 1000 if detection is not None else None,
            polling=self.polling,
            packets_received=self.packets_received,
            packets_sent=self.packets_sent,
            packets_discarded=self.packets_discarded,
            last_discard=self.last_discard,
        )

    # --- internals ------------------------------------------------------------------

    def _apply(self, event: Input, now: float) -> None:
        old = self.state
        new, diagnostic = next_state(old, event)
        if diagnostic is not None:
            self.local_diag = diagnostic
        if new is old:
            return
        self.state = new
        self._events.append(
            StateChanged(
                old=old, new=new, diagnostic=self.local_diag, remote_state=self.remote_state, at=now
            )
        )
        if new is State.UP:
            self._advertise(self.config.desired_min_tx_us, self.config.required_min_rx_us)
        elif old is State.UP:
            self._advertise(self._wanted_tx(), self.config.required_min_rx_us)

    def _wanted_tx(self) -> int:
        """§6.8.3: not less than one second while not Up."""
        tx = self.config.desired_min_tx_us
        return tx if self.state is State.UP else max(SLOW_TX_US, tx)

    def _advertise(self, tx: int, rx: int) -> None:
        """New bfd.DesiredMinTxInterval/RequiredMinRxInterval (§6.8.3)."""
        if (tx, rx) == (self._adv_tx, self._adv_rx):
            return
        self._adv_tx, self._adv_rx = tx, rx
        if self.state is not State.UP:
            self.polling = False
            self._tx_in_use, self._rx_in_use = tx, rx
        else:
            self.polling = True  # §6.5: P on every packet until a Final arrives
            self._tx_in_use = min(self._tx_in_use, tx)  # a faster TX at once
            self._rx_in_use = max(self._rx_in_use, rx)  # a longer detection at once
        self._reschedule()

    def _end_poll(self) -> None:
        self.polling = False
        self._tx_in_use, self._rx_in_use = self._adv_tx, self._adv_rx
        self._reschedule()

    def _set_remote_min_rx(self, value: int) -> None:
        if value != self.remote_min_rx_us:
            self.remote_min_rx_us = value
            self._reschedule()

    def _reschedule(self) -> None:
        """The interval changed: a shorter one brings the next packet forward."""
        interval = self.transmit_interval_us
        if interval is None:
            self._next_tx = None
            return
        if self._last_tx is None:
            return
        due = self._last_tx + self._jittered(interval)
        if self._next_tx is None or due < self._next_tx:
            self._next_tx = due

    def _schedule_tx(self) -> None:
        interval = self.transmit_interval_us
        if interval is None or self._last_tx is None:
            self._next_tx = None
            return
        self._next_tx = self._last_tx + self._jittered(interval)

    def _jittered(self, interval_us: int) -> float:
        """§6.8.7: 75-100 % of the interval, 75-90 % when our Detect Mult is 1."""
        high = 0.9 if self.config.detect_mult == 1 else 1.0
        return interval_us * self._rng.uniform(0.75, high) / _US

    def _send(self, now: float, *, final: bool = False) -> None:
        packet = ControlPacket(
            state=self.state,
            diagnostic=self.local_diag,
            poll=self.polling and not final,  # §6.5: never P and F together
            final=final,
            detect_mult=self.config.detect_mult,
            my_discriminator=self.local_discriminator,
            your_discriminator=self.remote_discriminator,
            desired_min_tx_us=self._adv_tx,
            required_min_rx_us=self._adv_rx,
        )
        self._outbox.append(encode(packet))
        self.packets_sent += 1
        if not final:
            self._last_tx = now

    def _discard(self, reason: str) -> None:
        self.packets_discarded += 1
        self.last_discard = reason


_NAMES = {
    State.ADMIN_DOWN: "AdminDown",
    State.DOWN: "Down",
    State.INIT: "Init",
    State.UP: "Up",
}
