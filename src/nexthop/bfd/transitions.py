"""The BFD session state machine as one literal table, RFC 5880 §6.2 and §6.8.6.

``TRANSITIONS[(state, input)]`` gives ``(next_state, diagnostic)``: the
diagnostic to set as bfd.LocalDiag on the way, or None to leave it. A pair that
is not in the table leaves the state (and the diagnostic) as it is, which is
what §6.2's diagram draws as the self-loops ("DOWN, ADMIN DOWN, TIMER" on Down,
"INIT, UP" on Up, and so on).

Inputs are the remote state of a received packet (§6.8.6: "If received state is
AdminDown / Down / Init / Up"), the expiry of the Detection Time (§6.8.4) and the
local administrative control of §6.8.16. AdminDown ignores every received
packet and the timer (§6.8.6: "If bfd.SessionState is AdminDown, discard the
packet").
"""

from __future__ import annotations

from enum import Enum

from nexthop.bfd.packet import Diagnostic, State

__all__ = ["TRANSITIONS", "Input", "next_state"]


class Input(Enum):
    RECV_ADMIN_DOWN = "received AdminDown"
    RECV_DOWN = "received Down"
    RECV_INIT = "received Init"
    RECV_UP = "received Up"
    DETECTION_TIMER = "detection time expired"
    ADMIN_DISABLE = "administratively disabled"
    ADMIN_ENABLE = "administratively enabled"


RECEIVED: dict[State, Input] = {
    State.ADMIN_DOWN: Input.RECV_ADMIN_DOWN,
    State.DOWN: Input.RECV_DOWN,
    State.INIT: Input.RECV_INIT,
    State.UP: Input.RECV_UP,
}

_NEIGHBOR_DOWN = Diagnostic.NEIGHBOR_SIGNALED_SESSION_DOWN
_EXPIRED = Diagnostic.CONTROL_DETECTION_TIME_EXPIRED
_ADMIN = Diagnostic.ADMINISTRATIVELY_DOWN

TRANSITIONS: dict[tuple[State, Input], tuple[State, Diagnostic | None]] = {
    # Down (§6.8.6: "If bfd.SessionState is Down / If received State is Down / Init")
    (State.DOWN, Input.RECV_DOWN): (State.INIT, None),
    (State.DOWN, Input.RECV_INIT): (State.UP, None),
    (State.DOWN, Input.ADMIN_DISABLE): (State.ADMIN_DOWN, _ADMIN),
    # Init ("Else if bfd.SessionState is Init / If received State is Init or Up")
    (State.INIT, Input.RECV_ADMIN_DOWN): (State.DOWN, _NEIGHBOR_DOWN),
    (State.INIT, Input.RECV_INIT): (State.UP, None),
    (State.INIT, Input.RECV_UP): (State.UP, None),
    (State.INIT, Input.DETECTION_TIMER): (State.DOWN, _EXPIRED),
    (State.INIT, Input.ADMIN_DISABLE): (State.ADMIN_DOWN, _ADMIN),
    # Up ("Else (bfd.SessionState is Up) / If received State is Down")
    (State.UP, Input.RECV_ADMIN_DOWN): (State.DOWN, _NEIGHBOR_DOWN),
    (State.UP, Input.RECV_DOWN): (State.DOWN, _NEIGHBOR_DOWN),
    (State.UP, Input.DETECTION_TIMER): (State.DOWN, _EXPIRED),
    (State.UP, Input.ADMIN_DISABLE): (State.ADMIN_DOWN, _ADMIN),
    # AdminDown (§6.8.16 "If enabling session, set bfd.SessionState to Down")
    (State.ADMIN_DOWN, Input.ADMIN_ENABLE): (State.DOWN, Diagnostic.NONE),
}


def next_state(state: State, event: Input) -> tuple[State, Diagnostic | None]:
    """The table's answer; a missing pair keeps the state (the diagram's self-loops)."""
    return TRANSITIONS.get((state, event), (state, None))
