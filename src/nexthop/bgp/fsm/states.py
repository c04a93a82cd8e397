"""BGP session states, RFC 4271 §8.2.2.

One plain ``Enum`` (style guide §1: h2/wsproto, not sentinel classes). Every
transition between these states lives in ``transitions.TRANSITIONS``.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["SessionState"]


class SessionState(Enum):
    """RFC 4271 §8.2.2 states, in the order a session normally walks them."""

    IDLE = "Idle"
    CONNECT = "Connect"
    ACTIVE = "Active"
    OPENSENT = "OpenSent"
    OPENCONFIRM = "OpenConfirm"
    ESTABLISHED = "Established"

    # Members are singletons compared by identity, so the identity hash agrees
    # with equality; Enum's own __hash__ (hash of the name, in Python) showed
    # up per message in the (state, input) lookup of every received UPDATE.
    __hash__ = object.__hash__
