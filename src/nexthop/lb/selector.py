"""Backend selection for a new flow (pure function of config, health and the flow).

Order of decisions (route-server-spec §3):

1. Admin state: ``Down`` members never get new flows; ``Up`` members do whatever the
   probe says; ``None`` follows the probe (ADMIN).
2. Health: only probed-Up members are candidates.
3. No candidate: ``AllProbedDown`` drops the flow (SYNs go unanswered);
   ``AllProbedUp`` fails open and spreads over every member not admin-down (PROBEAPI).
4. Hash the fields of the rule's distribution mode (5/3/2-tuple, DIST), symmetrically
   if the rule says so (HAP flow symmetry), and look the hash up in the pool's Maglev
   table with the health overlay (``hashing.MaglevMap``).
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from enum import Enum

from nexthop.lb.hashing import MaglevMap, flow_hash
from nexthop.lb.model import (
    AdminState,
    BackendPool,
    Flow,
    IpAddress,
    LoadBalancer,
    LoadBalancingRule,
    NoHealthyBackendsBehavior,
)

__all__ = ["Chosen", "DropReason", "Dropped", "Eligibility", "SelectReason", "choose", "eligible"]


class SelectReason(Enum):
    HASHED = "HashedToHealthySlotOwner"
    REHASHED = "SlotOwnerUnavailableRehashed"
    FAIL_OPEN = "AllProbedDownFailOpen"


class DropReason(Enum):
    NO_RULE = "NoMatchingRule"
    EMPTY_POOL = "EmptyBackendPool"
    NO_HEALTHY_BACKEND = "NoHealthyBackend"
    ALL_ADMIN_DOWN = "AllBackendsAdminDown"


@dataclass(frozen=True, slots=True, kw_only=True)
class Chosen:
    backend: str
    ip: IpAddress
    hash_value: int
    hash_inputs: tuple[str, ...]
    reason: SelectReason


@dataclass(frozen=True, slots=True, kw_only=True)
class Dropped:
    reason: DropReason


@dataclass(frozen=True, slots=True, kw_only=True)
class Eligibility:
    """Who may take new flows, and whether that is the fail-open set."""

    members: frozenset[str]
    fail_open: bool
    drop: DropReason | None = None


def eligible(
    pool: BackendPool, health: Set[str], behavior: NoHealthyBackendsBehavior
) -> Eligibility:
    """Members eligible for new flows given probed-Up names ``health``."""
    if not pool.backends:
        return Eligibility(members=frozenset(), fail_open=False, drop=DropReason.EMPTY_POOL)
    admitted = [b for b in pool.backends if b.admin_state is not AdminState.DOWN]
    if not admitted:
        return Eligibility(members=frozenset(), fail_open=False, drop=DropReason.ALL_ADMIN_DOWN)
    up = frozenset(b.name for b in admitted if b.admin_state is AdminState.UP or b.name in health)
    if up:
        return Eligibility(members=up, fail_open=False)
    if behavior is NoHealthyBackendsBehavior.ALL_PROBED_UP:
        return Eligibility(members=frozenset(b.name for b in admitted), fail_open=True)
    return Eligibility(members=frozenset(), fail_open=False, drop=DropReason.NO_HEALTHY_BACKEND)


def choose(
    lb: LoadBalancer,
    rule: LoadBalancingRule,
    flow: Flow,
    health: Set[str],
) -> Chosen | Dropped:
    """Pick the backend for a new flow on ``rule``; ``health`` is the probed-Up names."""
    pool = lb.pool(rule.pool)
    probe = lb.probe(rule.probe)
    elig = eligible(pool, health, probe.no_healthy_backends_behavior)
    if elig.drop is not None:
        return Dropped(reason=elig.drop)
    h = flow_hash(flow, rule.distribution_mode, symmetric=rule.symmetric_hash, seed=lb.hash_seed)
    table = MaglevMap(pool.names, size=lb.table_size, seed=lb.hash_seed)
    owner = table.lookup(h.value)
    picked = table.pick(h.value, elig.members)
    assert picked is not None  # elig.members is non-empty and a subset of the pool
    if elig.fail_open:
        reason = SelectReason.FAIL_OPEN
    elif picked == owner:
        reason = SelectReason.HASHED
    else:
        reason = SelectReason.REHASHED
    return Chosen(
        backend=picked,
        ip=pool.backend(picked).ip,
        hash_value=h.value,
        hash_inputs=h.inputs,
        reason=reason,
    )
