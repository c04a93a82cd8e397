"""The control plane façade: the only command/query surface of the API, CLI and lab.

``ControlPlane(store, clock)`` holds the desired topology (persisted in a
``nexthop.store.Store``) and the ``World`` built from it; see ``control_plane``.
"""

from __future__ import annotations

from nexthop.service.control_plane import (
    ApplyResult,
    ControlPlane,
    LiveRuntime,
    Runtime,
    validate_topology,
)
from nexthop.service.errors import Conflict, ControlPlaneError, NotFound, Unavailable
from nexthop.service.resources import KINDS, SETTINGS_KIND, Action, Change

__all__ = [
    "KINDS",
    "SETTINGS_KIND",
    "Action",
    "ApplyResult",
    "Change",
    "Conflict",
    "ControlPlane",
    "ControlPlaneError",
    "LiveRuntime",
    "NotFound",
    "Runtime",
    "Unavailable",
    "validate_topology",
]
