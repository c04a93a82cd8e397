"""Flow hashing and the Maglev consistent-hash lookup table.

* ``flow_hash`` hashes the 5-, 3- or 2-tuple of a flow (Azure distribution modes, DIST)
  with keyed BLAKE2b, so results are stable across processes and Python versions
  (``hash()`` is randomised per process). With ``symmetric=True`` the two endpoints are
  put in a canonical order first, as Linux ``__flow_hash_consistentify()`` does, so
  both directions of a flow hash alike (load-balancing-notes §5).
* ``maglev_table`` is Maglev's populate step (Eisenbud et al., NSDI '16, §3.4,
  Pseudocode 1): each backend walks its own permutation ``offset + j*skip (mod M)``
  for prime ``M`` and the backends take turns claiming their next free slot.
* ``MaglevMap`` adds the health overlay: a flow whose slot belongs to an unavailable
  backend is looked up again in the table built over the available backends only.
  A flow whose slot owner is available never moves, so taking one backend out moves
  exactly that backend's flows (zero collateral, like a Linux resilient nexthop group,
  notes §3.1); adding a backend rebuilds the table and moves about 1/(N+1) of flows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence, Set
from dataclasses import dataclass
from functools import lru_cache

from nexthop.lb.model import DistributionMode, Flow, IpAddress, IpProtocol

__all__ = ["FlowHash", "MaglevMap", "flow_hash", "maglev_table"]

_U64 = 8


def _digest(data: bytes, seed: int, person: bytes) -> int:
    key = seed.to_bytes(16, "big", signed=False)
    h = hashlib.blake2b(data, digest_size=_U64, key=key, person=person)
    return int.from_bytes(h.digest(), "big")


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowHash:
    """A flow's hash and the (canonically ordered) fields that went into it."""

    value: int
    inputs: tuple[str, ...]


def _endpoint(ip: IpAddress, port: int | None) -> tuple[bytes, str]:
    if port is None:
        return ip.packed, str(ip)
    text = f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"
    return ip.packed + port.to_bytes(2, "big"), text


def _proto_name(proto: int) -> str:
    try:
        return IpProtocol(proto).name.lower()
    except ValueError:
        return str(proto)


def flow_hash(
    flow: Flow,
    mode: DistributionMode = DistributionMode.DEFAULT,
    *,
    symmetric: bool = True,
    seed: int = 0,
) -> FlowHash:
    """Hash the fields the distribution mode selects.

    Default: (protocol, src ip, src port, dst ip, dst port). SourceIP: (src ip, dst ip).
    SourceIPProtocol: (protocol, src ip, dst ip).
    """
    with_ports = mode is DistributionMode.DEFAULT
    with_proto = mode is not DistributionMode.SOURCE_IP
    a = _endpoint(flow.src_ip, flow.src_port if with_ports else None)
    b = _endpoint(flow.dst_ip, flow.dst_port if with_ports else None)
    if symmetric and b[0] < a[0]:
        a, b = b, a
    data = bytearray()
    inputs: list[str] = []
    if with_proto:
        data.append(flow.protocol)
        inputs.append(_proto_name(flow.protocol))
    # Length-prefix each endpoint so v4/v6 encodings cannot collide.
    for raw, text in (a, b):
        data.append(len(raw))
        data += raw
        inputs.append(text)
    return FlowHash(value=_digest(bytes(data), seed, b"nexthop-flow"), inputs=tuple(inputs))


def _permutation(name: str, size: int, seed: int) -> tuple[int, int]:
    raw = name.encode()
    offset = _digest(raw, seed, b"maglev-offset") % size
    skip = _digest(raw, seed, b"maglev-skip") % (size - 1) + 1
    return offset, skip


@lru_cache(maxsize=64)
def maglev_table(names: tuple[str, ...], size: int, seed: int = 0) -> tuple[int, ...]:
    """Maglev lookup table: slot -> index into ``names`` (``size`` must be prime).

    Callers pass ``names`` sorted so that every replica builds the same table.
    """
    n = len(names)
    if n == 0:
        return ()
    perms = [_permutation(name, size, seed) for name in names]
    nxt = [0] * n
    entry = [-1] * size
    filled = 0
    while True:
        for i in range(n):
            offset, skip = perms[i]
            j = nxt[i]
            slot = (offset + j * skip) % size
            while entry[slot] >= 0:
                j += 1
                slot = (offset + j * skip) % size
            entry[slot] = i
            nxt[i] = j + 1
            filled += 1
            if filled == size:
                return tuple(entry)


class MaglevMap:
    """Consistent mapping of flow hashes onto a pool's members, with a health overlay."""

    __slots__ = ("names", "seed", "size", "table")

    def __init__(self, names: Sequence[str], *, size: int, seed: int = 0) -> None:
        self.names: tuple[str, ...] = tuple(sorted(set(names)))
        self.size = size
        self.seed = seed
        self.table = maglev_table(self.names, size, seed)

    def lookup(self, value: int) -> str | None:
        """The slot owner for a hash, ignoring health."""
        if not self.names:
            return None
        return self.names[self.table[value % self.size]]

    def pick(self, value: int, available: Set[str]) -> str | None:
        """The slot owner if available, else the owner in the table of available members."""
        owner = self.lookup(value)
        if owner is None or owner in available:
            return owner
        live = tuple(n for n in self.names if n in available)
        if not live:
            return None
        return live[maglev_table(live, self.size, self.seed)[value % self.size]]

    def shares(self) -> dict[str, int]:
        """Slots per member (balance check: max - min <= 1 per Maglev §3.4)."""
        counts = dict.fromkeys(self.names, 0)
        for i in self.table:
            counts[self.names[i]] += 1
        return counts
