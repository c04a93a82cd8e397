"""What a lint run produces: rules, findings and the report (the JSON schema is stable).

A ``Rule`` is one check of a topology that Azure accepts (or, for an error, refuses
at the BGP level) but that will not carry traffic as the design intends. It
carries the Azure behaviour it predicts, the fix and the section of
route-server-spec.md it comes from; each ``Finding`` is one place in the topology
that trips it. ``Report.to_json`` is the ``nexthop lint -o json`` document, schema
``SCHEMA_VERSION``::

    {"schema": 1, "file": str | null, "target_failover_s": float,
     "summary": {"errors": int, "warnings": int},
     "findings": [{"rule", "severity", "path", "location", "message",
                   "azure", "fix", "source"}]}

``path`` names objects by name (``route_servers[rs].peerings[fw-a]``), ``location``
is ``file:line:column`` when the topology came from a file (else null).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any

from nexthop.config.issues import Path

if TYPE_CHECKING:
    from nexthop.lint.context import LintContext

__all__ = [
    "SCHEMA_VERSION",
    "ExitCode",
    "Finding",
    "Hit",
    "Report",
    "Rule",
    "RuleCheck",
    "Severity",
]

SCHEMA_VERSION = 1


class Severity(StrEnum):
    """``error``: Azure refuses it or tears the session down, so the design cannot
    work; ``warning``: Azure accepts it and part of the traffic is not carried as
    intended (some VMs, a failover, the return path)."""

    ERROR = "error"
    WARNING = "warning"


class ExitCode(IntEnum):
    """``nexthop lint`` exit status."""

    CLEAN = 0
    WARNINGS = 1
    ERRORS = 2


@dataclass(frozen=True, slots=True)
class Hit:
    """Where a rule is tripped: a field path (pydantic ``loc`` shape), the message and,
    inside an NVA's ``bgp_config``, the 1-based line of the statement."""

    path: Path
    message: str
    text_line: int | None = None


RuleCheck = Callable[["LintContext"], Iterable[Hit]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One registered check: ``check`` yields a ``Hit`` per place that trips it."""

    id: str
    severity: Severity
    summary: str
    azure: str
    fix: str
    source: str
    check: RuleCheck

    def run(self, ctx: LintContext) -> Iterator[Finding]:
        for hit in self.check(ctx):
            yield Finding(
                rule=self.id,
                severity=self.severity,
                path=hit.path,
                name_path=ctx.name_path(hit.path),
                location=ctx.position(hit.path, hit.text_line),
                message=hit.message,
                azure=self.azure,
                fix=self.fix,
                source=self.source,
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One place in the topology that trips ``rule``."""

    rule: str
    severity: Severity
    path: Path
    name_path: str
    location: str | None
    message: str
    azure: str
    fix: str
    source: str

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.name_path}: {self.message} [{self.rule}]"

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "path": self.name_path,
            "location": self.location,
            "message": self.message,
            "azure": self.azure,
            "fix": self.fix,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """Every finding of one run: errors first, then rule order, then topology order."""

    findings: tuple[Finding, ...]
    file: str | None = None
    target_failover_s: float = 0.0

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    @property
    def exit_code(self) -> ExitCode:
        if self.errors:
            return ExitCode.ERRORS
        return ExitCode.WARNINGS if self.findings else ExitCode.CLEAN

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "file": self.file,
            "target_failover_s": self.target_failover_s,
            "summary": {"errors": len(self.errors), "warnings": len(self.warnings)},
            "findings": [f.to_json() for f in self.findings],
        }
