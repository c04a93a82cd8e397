"""The rule registry: every lint rule registers itself here with ``@rule(...)``.

A rule is a small function ``check(ctx) -> Iterable[Hit]`` declared with its id,
severity, the Azure behaviour it predicts, the fix and its source section of
route-server-spec.md (its docstring says why). ``RULES`` keeps them in
registration order, which is the order of the report and of docs/lint.md.
"""

from __future__ import annotations

from collections.abc import Callable

from nexthop.lint.model import Rule, RuleCheck, Severity

__all__ = ["RULES", "rule"]

RULES: dict[str, Rule] = {}


def rule(
    id: str,  # noqa: A002 - the rule's id is its name in every output
    severity: Severity,
    *,
    summary: str,
    azure: str,
    fix: str,
    source: str,
) -> Callable[[RuleCheck], RuleCheck]:
    """Register ``check`` as rule ``id``; ids are unique."""

    def register(check: RuleCheck) -> RuleCheck:
        if id in RULES:
            raise ValueError(f"lint rule {id!r} is registered twice")
        RULES[id] = Rule(
            id=id,
            severity=severity,
            summary=summary,
            azure=azure,
            fix=fix,
            source=source,
            check=check,
        )
        return check

    return register
