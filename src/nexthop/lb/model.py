"""Configuration model of an internal Standard Load Balancer (the ILB behind Route Server).

The shapes follow the Azure resource model (route-server-spec §3): frontends hold a
private IP in a subnet; rules map frontend IP:port/protocol to a backend pool and name a
health probe; probes are TCP, HTTP or HTTPS with an interval and a consecutive-result
threshold. "HA ports" is a rule with protocol ``All`` and ports 0/0 (HAP). The idle
timeout is 4-100 minutes (RST). Distribution modes are the 5-tuple default, ``SourceIP``
(2-tuple) and ``SourceIPProtocol`` (3-tuple) (DIST).

Everything here is a frozen dataclass; constructors validate and raise ``ValueError``
whose message starts with ``<Class>.<field>``. ``Flow`` is the packet 5-tuple the data
path hands to the load balancer; IP protocol numbers are IANA "Assigned Internet
Protocol Numbers".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum, IntEnum

__all__ = [
    "AZURE_MIN_PROBE_INTERVAL",
    "AdminState",
    "Backend",
    "BackendPool",
    "DistributionMode",
    "Flow",
    "Frontend",
    "IpAddress",
    "IpProtocol",
    "LoadBalancer",
    "LoadBalancingRule",
    "NoHealthyBackendsBehavior",
    "Probe",
    "ProbeProtocol",
    "RuleProtocol",
]

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

AZURE_MIN_PROBE_INTERVAL = 5.0
"""Azure's minimum ``intervalInSeconds`` (PROBEAPI); ``fast_probes`` lifts it."""
MIN_IDLE_TIMEOUT_MINUTES = 4
MAX_IDLE_TIMEOUT_MINUTES = 100
HTTP_PROBE_TIMEOUT = 30.0
"""HTTP/S probe timeout, or the interval when that is shorter (PROBE)."""
DEFAULT_TABLE_SIZE = 65537
"""Maglev lookup-table size; the paper's default (Maglev §5.3)."""


class IpProtocol(IntEnum):
    """IANA Assigned Internet Protocol Numbers used by the load balancer."""

    ICMP = 1
    TCP = 6
    UDP = 17
    ICMPV6 = 58


class ProbeProtocol(Enum):
    TCP = "Tcp"
    HTTP = "Http"
    HTTPS = "Https"


class RuleProtocol(Enum):
    TCP = "Tcp"
    UDP = "Udp"
    ALL = "All"


class DistributionMode(Enum):
    """Azure ``loadDistribution``: Default = 5-tuple, SourceIP = 2-tuple, SourceIPProtocol = 3."""

    DEFAULT = "Default"
    SOURCE_IP = "SourceIP"
    SOURCE_IP_PROTOCOL = "SourceIPProtocol"


class NoHealthyBackendsBehavior(Enum):
    """What a rule does when every backend is probed down (PROBEAPI)."""

    ALL_PROBED_DOWN = "AllProbedDown"  # drop new flows (the default)
    ALL_PROBED_UP = "AllProbedUp"  # fail open: send to every instance


class AdminState(Enum):
    """Per-backend admin override of the probe for new connections (ADMIN)."""

    NONE = "None"  # follow the probe
    UP = "Up"  # receive new flows whatever the probe says
    DOWN = "Down"  # receive no new flows; existing flows drain


def _fail(where: str, why: str) -> ValueError:
    return ValueError(f"{where}: {why}")


def _name(where: str, value: str) -> None:
    if not value or not value.strip():
        raise _fail(where, "must be a non-empty name")


def _port(where: str, value: int, *, allow_zero: bool) -> None:
    low = 0 if allow_zero else 1
    if not low <= value <= 65535:
        raise _fail(where, f"must be in {low}..65535 (got {value})")


@dataclass(frozen=True, slots=True, kw_only=True)
class Flow:
    """A packet's 5-tuple as seen by the load balancer."""

    protocol: int
    src_ip: IpAddress
    src_port: int
    dst_ip: IpAddress
    dst_port: int

    def __post_init__(self) -> None:
        if not 0 <= self.protocol <= 255:
            raise _fail("Flow.protocol", f"must be 0..255 (got {self.protocol})")
        _port("Flow.src_port", self.src_port, allow_zero=True)
        _port("Flow.dst_port", self.dst_port, allow_zero=True)
        if self.src_ip.version != self.dst_ip.version:
            raise _fail("Flow.dst_ip", "must be the same IP version as src_ip")

    @classmethod
    def of(cls, protocol: int, src: str, sport: int, dst: str, dport: int) -> Flow:
        """Build a flow from text addresses (tests, lab, CLI)."""
        return cls(
            protocol=protocol,
            src_ip=ipaddress.ip_address(src),
            src_port=sport,
            dst_ip=ipaddress.ip_address(dst),
            dst_port=dport,
        )

    def reversed(self) -> Flow:
        """The same flow seen in the other direction."""
        return Flow(
            protocol=self.protocol,
            src_ip=self.dst_ip,
            src_port=self.dst_port,
            dst_ip=self.src_ip,
            dst_port=self.src_port,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Frontend:
    """A frontend IP configuration: a private IP inside a VNet subnet."""

    name: str
    ip: IpAddress
    subnet: IpNetwork

    def __post_init__(self) -> None:
        _name("Frontend.name", self.name)
        if self.ip not in self.subnet:
            raise _fail("Frontend.ip", f"{self.ip} is not inside subnet {self.subnet}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Backend:
    """A backend pool member (an NVA NIC IP configuration)."""

    name: str
    ip: IpAddress
    admin_state: AdminState = AdminState.NONE

    def __post_init__(self) -> None:
        _name("Backend.name", self.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class BackendPool:
    name: str
    backends: tuple[Backend, ...] = ()

    def __post_init__(self) -> None:
        _name("BackendPool.name", self.name)
        names = [b.name for b in self.backends]
        if len(set(names)) != len(names):
            raise _fail("BackendPool.backends", "backend names must be unique")
        ips = [b.ip for b in self.backends]
        if len(set(ips)) != len(ips):
            raise _fail("BackendPool.backends", "backend IPs must be unique")

    def backend(self, name: str) -> Backend:
        for b in self.backends:
            if b.name == name:
                return b
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        """Member names sorted, so every replica builds the same hash table (cilium #13224)."""
        return tuple(sorted(b.name for b in self.backends))


@dataclass(frozen=True, slots=True, kw_only=True)
class Probe:
    """A health probe (PROBE, PROBEAPI).

    ``interval`` is seconds between probes: at least 5 as in Azure, unless ``fast_probes``
    allows sub-second intervals (the project's BFD-like fast mode). ``probe_threshold``
    is the number of consecutive results needed to change state; an explicit HTTP
    answer (200 or not) counts at once.
    """

    name: str
    protocol: ProbeProtocol
    port: int
    path: str | None = None
    interval: float = 5.0
    probe_threshold: int = 1
    fast_probes: bool = False
    no_healthy_backends_behavior: NoHealthyBackendsBehavior = (
        NoHealthyBackendsBehavior.ALL_PROBED_DOWN
    )

    def __post_init__(self) -> None:
        _name("Probe.name", self.name)
        _port("Probe.port", self.port, allow_zero=False)
        if self.protocol is ProbeProtocol.TCP:
            if self.path is not None:
                raise _fail("Probe.path", "a TCP probe takes no path")
        elif self.path is None or not self.path.startswith("/"):
            raise _fail("Probe.path", f"a {self.protocol.value} probe needs a path starting /")
        if self.interval <= 0:
            raise _fail("Probe.interval", f"must be positive (got {self.interval})")
        if not self.fast_probes and self.interval < AZURE_MIN_PROBE_INTERVAL:
            raise _fail(
                "Probe.interval",
                f"must be >= {AZURE_MIN_PROBE_INTERVAL:g} s unless fast_probes is set "
                f"(got {self.interval:g})",
            )
        if self.probe_threshold < 1:
            raise _fail("Probe.probe_threshold", f"must be >= 1 (got {self.probe_threshold})")

    @property
    def timeout(self) -> float:
        """TCP: the interval; HTTP/S: 30 s or the interval if shorter (PROBE)."""
        if self.protocol is ProbeProtocol.TCP:
            return self.interval
        return min(HTTP_PROBE_TIMEOUT, self.interval)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadBalancingRule:
    """Frontend IP:port/protocol -> backend pool, with a probe (route-server-spec §3)."""

    name: str
    frontend: str
    pool: str
    probe: str
    protocol: RuleProtocol
    frontend_port: int
    backend_port: int
    floating_ip: bool = False
    idle_timeout_minutes: int = MIN_IDLE_TIMEOUT_MINUTES
    distribution_mode: DistributionMode = DistributionMode.DEFAULT
    symmetric_hash: bool = True
    """Hash both directions of a flow alike (HAP: "selects the same NVA instance for both
    directions"). Off reproduces an order-sensitive hash for comparison."""

    def __post_init__(self) -> None:
        _name("LoadBalancingRule.name", self.name)
        _port("LoadBalancingRule.frontend_port", self.frontend_port, allow_zero=True)
        _port("LoadBalancingRule.backend_port", self.backend_port, allow_zero=True)
        zero = self.frontend_port == 0 or self.backend_port == 0
        if self.protocol is RuleProtocol.ALL:
            if self.frontend_port != 0 or self.backend_port != 0:
                raise _fail(
                    "LoadBalancingRule.protocol",
                    "protocol All is only valid as HA ports (frontend and backend port 0)",
                )
        elif zero:
            raise _fail(
                "LoadBalancingRule.frontend_port",
                "port 0 is only valid for an HA ports rule (protocol All)",
            )
        if not MIN_IDLE_TIMEOUT_MINUTES <= self.idle_timeout_minutes <= MAX_IDLE_TIMEOUT_MINUTES:
            raise _fail(
                "LoadBalancingRule.idle_timeout_minutes",
                f"must be in {MIN_IDLE_TIMEOUT_MINUTES}..{MAX_IDLE_TIMEOUT_MINUTES} "
                f"(got {self.idle_timeout_minutes})",
            )

    @property
    def ha_ports(self) -> bool:
        return self.protocol is RuleProtocol.ALL

    @property
    def idle_timeout(self) -> float:
        """Idle timeout in seconds."""
        return self.idle_timeout_minutes * 60.0

    def matches(self, flow: Flow) -> bool:
        """Whether the rule's protocol and frontend port cover this flow."""
        if self.ha_ports:
            return flow.protocol in (IpProtocol.TCP, IpProtocol.UDP)
        want = IpProtocol.TCP if self.protocol is RuleProtocol.TCP else IpProtocol.UDP
        return flow.protocol == want and flow.dst_port == self.frontend_port


def _unique(where: str, names: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise _fail(where, f"duplicate name {n!r}")
        seen.add(n)
    return seen


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadBalancer:
    """An internal Standard Load Balancer.

    ``hash_seed`` and ``table_size`` define the Maglev table; replicas that share them
    (and the pool) pick the same backend for the same flow.
    """

    name: str
    region: str
    frontends: tuple[Frontend, ...] = ()
    pools: tuple[BackendPool, ...] = ()
    probes: tuple[Probe, ...] = ()
    rules: tuple[LoadBalancingRule, ...] = ()
    hash_seed: int = 0
    table_size: int = DEFAULT_TABLE_SIZE
    _index: dict[str, dict[str, object]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        _name("LoadBalancer.name", self.name)
        _name("LoadBalancer.region", self.region)
        if not _is_prime(self.table_size):
            raise _fail("LoadBalancer.table_size", f"must be prime (got {self.table_size})")
        fes = _unique("LoadBalancer.frontends", (f.name for f in self.frontends))
        pools = _unique("LoadBalancer.pools", (p.name for p in self.pools))
        probes = _unique("LoadBalancer.probes", (p.name for p in self.probes))
        _unique("LoadBalancer.rules", (r.name for r in self.rules))
        for r in self.rules:
            for kind, ref, known in (
                ("frontend", r.frontend, fes),
                ("pool", r.pool, pools),
                ("probe", r.probe, probes),
            ):
                if ref not in known:
                    why = f"rule {r.name!r} names unknown {kind} {ref!r}"
                    raise _fail("LoadBalancer.rules", why)
        self._check_ha_ports()
        self._index["frontend"] = {f.name: f for f in self.frontends}
        self._index["pool"] = {p.name: p for p in self.pools}
        self._index["probe"] = {p.name: p for p in self.probes}
        self._index["rule"] = {r.name: r for r in self.rules}

    def _check_ha_ports(self) -> None:
        """A non-floating HA ports rule excludes other rules on the same pool (HAP)."""
        for r in self.rules:
            if not r.ha_ports or r.floating_ip:
                continue
            for other in self.rules:
                if other is not r and other.pool == r.pool:
                    raise _fail(
                        "LoadBalancer.rules",
                        f"non-floating HA ports rule {r.name!r} must be the only rule on pool "
                        f"{r.pool!r} (found {other.name!r})",
                    )
        ha_frontends = [r for r in self.rules if r.ha_ports]
        if len({r.frontend for r in ha_frontends}) > 1 and not all(
            r.floating_ip for r in ha_frontends
        ):
            raise _fail(
                "LoadBalancer.rules",
                "HA ports rules on several frontends need floating IP on all of them",
            )

    def frontend(self, name: str) -> Frontend:
        fe = self._index["frontend"][name]
        assert isinstance(fe, Frontend)
        return fe

    def pool(self, name: str) -> BackendPool:
        p = self._index["pool"][name]
        assert isinstance(p, BackendPool)
        return p

    def probe(self, name: str) -> Probe:
        p = self._index["probe"][name]
        assert isinstance(p, Probe)
        return p

    def rule(self, name: str) -> LoadBalancingRule:
        r = self._index["rule"][name]
        assert isinstance(r, LoadBalancingRule)
        return r

    def match(self, flow: Flow, *, via_frontend: str | None = None) -> LoadBalancingRule | None:
        """The rule for a packet.

        Addressed to a frontend IP: the rule on that frontend covering the flow. Routed
        to a frontend as next hop (``via_frontend``, the Route Server next hop IP case,
        NHIP): the destination is arbitrary, so only that frontend's rules are tried.
        """
        for r in self.rules:
            fe = self.frontend(r.frontend)
            if via_frontend is not None:
                if r.frontend == via_frontend and r.matches(flow):
                    return r
            elif fe.ip == flow.dst_ip and r.matches(flow):
                return r
        return None
