"""Best-path selection, step by step (RFC 4271 §9.1.2.2; RFC 7947 §2.2).

Each step is a small function that keeps the candidates it prefers and drops
the rest; ``DECISION_STEPS`` runs them in order and the first step that narrows
the field to one path names the ``Reason``. The steps, in order:

* weight (local, not a BGP attribute; RFC 4271 §9.1.1 leaves the degree of
  preference to local policy, and implementations put weight first),
* LOCAL_PREF (RFC 4271 §9.1.1 / §5.1.5),
* RFC 4271 §9.1.2.2 a) shortest AS_PATH, b) lowest ORIGIN, c) lowest MED among
  paths from the same neighbouring AS, d) EBGP over IBGP, (e, IGP cost to the
  next hop, does not apply: a route server's next hops are on-link, RFC 7947
  §2.2.1 keeps them unchanged), f) lowest BGP Identifier, g) lowest peer address.

A route server is transparent (RFC 7947 §2.2): it does not change AS_PATH, MED
or NEXT_HOP, so the same comparisons apply to its clients' paths unchanged.
``ecmp_set`` stops after the AS_PATH step, the multipath rule Azure Route Server
documents (equal AS_PATH length ⇒ ECMP).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import NamedTuple, TypeVar, cast

from nexthop.bgp.rib.path import PeerType, Route, as_path_length, neighbour_as

__all__ = [
    "DECISION_STEPS",
    "Reason",
    "Step",
    "best",
    "ecmp_set",
    "prefer_ebgp_over_ibgp",
    "prefer_higher_local_pref",
    "prefer_higher_weight",
    "prefer_lower_med",
    "prefer_lower_origin",
    "prefer_lower_path_id",
    "prefer_lowest_peer_address",
    "prefer_lowest_router_id",
    "prefer_shorter_as_path",
]

DEFAULT_LOCAL_PREF = 100  # RFC 4271 §5.1.5 leaves it local; 100 is the common default


class Reason(Enum):
    """Why the best path won (shown next to it in RIB views)."""

    ONLY_PATH = "only path"
    WEIGHT = "weight"
    LOCAL_PREF = "local-pref"
    AS_PATH = "as-path length"
    ORIGIN = "origin"
    MED = "med"
    EBGP_OVER_IBGP = "ebgp over ibgp"
    ROUTER_ID = "router id"
    PEER_ADDRESS = "peer address"
    PATH_ID = "path id"


Keep = Callable[[Sequence[Route]], list[Route]]

R = TypeVar("R", bound=Route)
"""A ``Path`` or a bare ``Route``: the steps never look at the prefix."""


class Step(NamedTuple):
    reason: Reason
    keep: Keep


def _keep_max(paths: Sequence[Route], key: Callable[[Route], int]) -> list[Route]:
    keys = [key(p) for p in paths]
    top = max(keys)
    return [p for p, k in zip(paths, keys, strict=True) if k == top]


def _keep_min(paths: Sequence[Route], key: Callable[[Route], int]) -> list[Route]:
    keys = [key(p) for p in paths]
    low = min(keys)
    return [p for p, k in zip(paths, keys, strict=True) if k == low]


def prefer_higher_weight(paths: Sequence[Route]) -> list[Route]:
    """Local weight, highest first (before RFC 4271 §9.1.1; never on the wire)."""
    return _keep_max(paths, lambda p: p.weight)


def prefer_higher_local_pref(paths: Sequence[Route]) -> list[Route]:
    """RFC 4271 §9.1.1: degree of preference = LOCAL_PREF for IBGP paths (§5.1.5).

    A missing LOCAL_PREF (EBGP paths) counts as the default, 100."""

    def pref(p: Route) -> int:
        lp = p.attributes.local_pref
        return DEFAULT_LOCAL_PREF if lp is None else lp

    return _keep_max(paths, pref)


def prefer_shorter_as_path(paths: Sequence[Route]) -> list[Route]:
    """RFC 4271 §9.1.2.2 a): fewest ASes; an AS_SET counts 1, confederation
    segments 0 (RFC 5065 §5.3). Azure Route Server's only preference knob."""
    return _keep_min(paths, lambda p: as_path_length(p.attributes))


def prefer_lower_origin(paths: Sequence[Route]) -> list[Route]:
    """RFC 4271 §9.1.2.2 b): IGP < EGP < INCOMPLETE."""
    return _keep_min(paths, lambda p: p.attributes.origin)


def prefer_lower_med(paths: Sequence[Route]) -> list[Route]:
    """RFC 4271 §9.1.2.2 c): among paths from the same neighbouring AS, drop
    those whose MED is higher than the group's lowest; a missing MED is 0.
    Paths from different neighbouring ASes are never compared on MED."""
    lowest: dict[int | None, int] = {}
    for p in paths:
        asn = neighbour_as(p.attributes)
        med = p.attributes.med or 0
        lowest[asn] = min(med, lowest.get(asn, med))
    return [p for p in paths if (p.attributes.med or 0) == lowest[neighbour_as(p.attributes)]]


def prefer_ebgp_over_ibgp(paths: Sequence[Route]) -> list[Route]:
    """RFC 4271 §9.1.2.2 d): remove IBGP paths if an EBGP (or local) path remains."""
    if any(p.peer_type != PeerType.IBGP for p in paths):
        return [p for p in paths if p.peer_type != PeerType.IBGP]
    return list(paths)


def prefer_lowest_router_id(paths: Sequence[Route]) -> list[Route]:
    """RFC 4271 §9.1.2.2 f): lowest BGP Identifier of the advertising speaker."""
    return _keep_min(paths, lambda p: p.router_id)


def prefer_lowest_peer_address(paths: Sequence[Route]) -> list[Route]:
    """RFC 4271 §9.1.2.2 g): lowest peer address."""
    return _keep_min(paths, lambda p: p.source_address)


def prefer_lower_path_id(paths: Sequence[Route]) -> list[Route]:
    """Not in RFC 4271: with ADD-PATH (RFC 7911) one peer may send several paths,
    which all tie on g); the lowest path identifier makes the result total."""
    return _keep_min(paths, lambda p: p.path_id)


DECISION_STEPS: tuple[Step, ...] = (
    Step(Reason.WEIGHT, prefer_higher_weight),
    Step(Reason.LOCAL_PREF, prefer_higher_local_pref),
    Step(Reason.AS_PATH, prefer_shorter_as_path),
    Step(Reason.ORIGIN, prefer_lower_origin),
    Step(Reason.MED, prefer_lower_med),
    Step(Reason.EBGP_OVER_IBGP, prefer_ebgp_over_ibgp),
    Step(Reason.ROUTER_ID, prefer_lowest_router_id),
    Step(Reason.PEER_ADDRESS, prefer_lowest_peer_address),
    Step(Reason.PATH_ID, prefer_lower_path_id),
)

_ECMP_STEPS = DECISION_STEPS[: [s.reason for s in DECISION_STEPS].index(Reason.AS_PATH) + 1]


def best(paths: Sequence[R]) -> tuple[R, Reason]:
    """The best path and the step that decided it. ``paths`` must not be empty.

    Fully tied candidates (the same peer sending the same path id twice cannot
    happen in a RIB) fall back to the first one given."""
    if not paths:
        msg = "best() needs at least one path"
        raise ValueError(msg)
    if len(paths) == 1:
        return paths[0], Reason.ONLY_PATH
    remaining: list[Route] = list(paths)
    reason = Reason.PATH_ID
    for step in DECISION_STEPS:
        narrowed = step.keep(remaining)
        if len(narrowed) < len(remaining):
            reason = step.reason
            remaining = narrowed
        if len(remaining) == 1:
            break
    return cast("R", remaining[0]), reason


def ecmp_set(paths: Sequence[R]) -> list[R]:
    """Paths equal to the best up to and including the AS_PATH length step
    (weight, LOCAL_PREF, AS_PATH): the multipath set Azure programs. Keeps input
    order."""
    remaining: list[Route] = list(paths)
    if len(remaining) < 2:  # nothing to compare: the common case in a large table
        return cast("list[R]", remaining)
    for step in _ECMP_STEPS:
        if not remaining:
            break
        remaining = step.keep(remaining)
    return cast("list[R]", remaining)
