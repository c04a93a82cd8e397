"""Running the rules: on a topology, on a file, and as the gate of every write.

``lint_topology`` runs every registered rule (``nexthop.lint.registry.RULES``) on a
validated topology. ``lint_text``/``lint_file`` load first: a file that is not a
valid topology reports each of its problems as an ``invalid`` error (the
cross-resource checks of ``nexthop.config`` stay the one place for those). ``gate``
is what the control plane calls on every write (``apply``, ``nexthop lab up FILE``,
resource PUT/DELETE): an error refuses the change with the rules' messages, the
warnings come back to be shown.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from nexthop.config import LoadedTopology, Topology, TopologyError, load_topology
from nexthop.config import load_topology_text as _load_text
from nexthop.errors import ControlPlaneError
from nexthop.lint.context import LintContext, LintOptions
from nexthop.lint.model import Finding, Report, Rule, Severity
from nexthop.lint.registry import RULES

__all__ = ["INVALID", "LintRefused", "gate", "lint_file", "lint_text", "lint_topology"]

INVALID = Rule(
    id="invalid",
    severity=Severity.ERROR,
    summary="The file is not a valid topology (schema or cross-resource checks).",
    azure="Azure would refuse the deployment (a missing reference, an address outside "
    "its subnet, a reserved or 4-byte peer ASN, more than 8 peerings, ...).",
    fix="Correct the field the message names.",
    source="docs/topology.md; route-server-spec §1.1-§1.3, §2, §3 (nexthop.config.checks)",
    check=lambda ctx: (),
)
"""Not in ``RULES``: every problem of a file that does not validate."""


class LintRefused(ControlPlaneError):  # noqa: N818 - reads as what happened
    """A write refused because the candidate topology trips a lint error."""


def lint_topology(
    topology: Topology,
    loaded: LoadedTopology | None = None,
    *,
    options: LintOptions | None = None,
    ignore: Iterable[str] = (),
) -> Report:
    """Every registered rule, except the ``ignore``d ids, on ``topology``: the error
    rules first, then the warnings, each in registration order."""
    skipped = set(ignore)
    unknown = skipped - set(RULES)
    if unknown:
        raise ValueError(f"unknown lint rule(s): {', '.join(sorted(unknown))}")
    ctx = LintContext(topology, loaded, options)
    rules = sorted(
        (r for r in RULES.values() if r.id not in skipped),
        key=lambda r: r.severity is not Severity.ERROR,
    )
    findings = [f for r in rules for f in r.run(ctx)]
    return Report(
        findings=tuple(findings),
        file=loaded.source if loaded is not None else None,
        target_failover_s=ctx.options.failover_target_s,
    )


def _invalid(exc: TopologyError, source: str, options: LintOptions | None) -> Report:
    findings = tuple(
        Finding(
            rule=INVALID.id,
            severity=INVALID.severity,
            path=(),
            name_path=p.path,
            location=f"{p.source}:{p.line}:{p.column}",
            message=p.message,
            azure=INVALID.azure,
            fix=INVALID.fix,
            source=INVALID.source,
        )
        for p in exc.problems
    )
    target = (options or LintOptions()).failover_target_s
    return Report(findings=findings, file=source, target_failover_s=target)


def lint_text(
    text: str,
    source: str = "<string>",
    *,
    options: LintOptions | None = None,
    ignore: Iterable[str] = (),
) -> Report:
    """Load ``text`` and lint it; an invalid file gives ``invalid`` errors."""
    try:
        loaded = _load_text(text, source)
    except TopologyError as exc:
        return _invalid(exc, source, options)
    return lint_topology(loaded.topology, loaded, options=options, ignore=ignore)


def lint_file(
    path: str | os.PathLike[str],
    *,
    options: LintOptions | None = None,
    ignore: Iterable[str] = (),
) -> Report:
    """``lint_text`` of the file at ``path`` (an unreadable file is ``invalid`` too)."""
    try:
        loaded = load_topology(path)
    except TopologyError as exc:
        return _invalid(exc, os.fspath(path), options)
    return lint_topology(loaded.topology, loaded, options=options, ignore=ignore)


def gate(topology: Topology, loaded: LoadedTopology | None = None) -> list[str]:
    """The lint of a write: raises ``LintRefused`` (code ``lint_error``, one line per
    error) when a rule says Azure cannot run the design; else the warnings, as text
    (``file:line:column: path: message [rule]`` when ``loaded`` gives positions)."""
    report = lint_topology(topology, loaded)
    errors = report.errors
    if errors:
        raise LintRefused("lint_error", "\n".join(map(str, errors)), errors[0].name_path)
    return [str(w) for w in report.warnings]
