"""``nexthop lint``: designs Azure accepts but that will not carry traffic as intended.

One rule registry (``registry.RULES``): each rule is a small function with its id,
severity, the Azure behaviour it predicts, the fix and its source section of
route-server-spec.md. The rules run on a validated topology
(``lint_topology``), on a file (``lint_file``, where an invalid file is reported
as ``invalid`` errors) and at every write of the control plane (``gate``: an
error refuses it, warnings are shown). What NVAs advertise comes from the one NVA
speaker (``nexthop.nva.speaker``). docs/lint.md lists every rule.

Layer: above ``nexthop.world`` (it reads the model's conversions), below the
service, the lab and the CLI, which call it.
"""

from __future__ import annotations

from nexthop.lint import rules_lb as _rules_lb  # noqa: F401
from nexthop.lint import rules_routes as _rules_routes  # noqa: F401

# Importing the rule modules registers their rules, in this order.
from nexthop.lint import rules_sessions as _rules_sessions  # noqa: F401
from nexthop.lint.context import DEFAULT_FAILOVER_TARGET_S, LintOptions
from nexthop.lint.model import SCHEMA_VERSION, ExitCode, Finding, Report, Rule, Severity
from nexthop.lint.registry import RULES
from nexthop.lint.run import INVALID, LintRefused, gate, lint_file, lint_text, lint_topology

__all__ = [
    "DEFAULT_FAILOVER_TARGET_S",
    "INVALID",
    "RULES",
    "SCHEMA_VERSION",
    "ExitCode",
    "Finding",
    "LintOptions",
    "LintRefused",
    "Report",
    "Rule",
    "Severity",
    "gate",
    "lint_file",
    "lint_text",
    "lint_topology",
]
