"""``nexthop lint FILE``: what Azure will do with this design that it was not meant to.

Exit status 0 when clean, 1 with warnings only, 2 with errors (an invalid file is
reported as ``invalid`` errors). ``-o json`` prints ``nexthop.lint.Report.to_json``
(schema in ``nexthop.lint.model``); the table shows one row per finding, then the
Azure behaviour and the fix of each rule tripped. Offline: no database, no server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from nexthop.cli.options import OutputOption
from nexthop.cli.render import Output, emit, key, rows_table
from nexthop.lint import DEFAULT_FAILOVER_TARGET_S, RULES, LintOptions, lint_file

__all__ = ["lint"]

SEVERITY_STYLE = {"error": "red", "warning": "yellow"}
FINDING_COLUMNS = (
    ("Severity", key("severity")),
    ("Rule", key("rule")),
    ("Where", key("where")),
    ("Message", key("message")),
)


def _tables(data: dict[str, Any]) -> list[Table]:
    findings = data["findings"]
    summary = data["summary"]
    title = (
        f"{data['file']}: {summary['errors']} error(s), {summary['warnings']} warning(s)"
        if findings
        else f"{data['file']}: clean"
    )
    if not findings:
        clean = Table(show_header=False, box=None)
        clean.add_column()
        clean.add_row(escape(title))
        return [clean]
    rows = [
        {
            "severity": f"[{SEVERITY_STYLE[f['severity']]}]{f['severity']}[/]",
            "rule": f["rule"],
            "where": escape(f"{f['location']}\n{f['path']}" if f["location"] else f["path"]),
            "message": escape(f["message"]),
        }
        for f in findings
    ]
    tables = [rows_table(rows, FINDING_COLUMNS, escape(title))]
    why = Table(title="What Azure does, and the fix", title_justify="left")
    for column in ("Rule", "Azure", "Fix", "Source"):
        why.add_column(column)
    for rule_id, f in {f["rule"]: f for f in findings}.items():
        why.add_row(rule_id, *(escape(f[k]) for k in ("azure", "fix", "source")))
    tables.append(why)
    return tables


def lint(
    file: Annotated[Path, typer.Argument(help="Topology YAML file.")],
    failover_target_s: Annotated[
        float,
        typer.Option(
            "--failover-target-s",
            min=0.0,
            help="Failover slower than this is a warning (default: Azure's 10-15 s "
            "figure for NVAs behind a load balancer).",
        ),
    ] = DEFAULT_FAILOVER_TARGET_S,
    ignore: Annotated[
        list[str] | None,
        typer.Option("--ignore", help="Skip this rule id (repeatable)."),
    ] = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Check FILE for designs Azure accepts but that will not carry traffic as intended
    (docs/lint.md lists the rules). Exit 0 clean, 1 warnings, 2 errors."""
    skipped = ignore or []
    unknown = [r for r in skipped if r not in RULES]
    if unknown:
        raise typer.BadParameter(
            f"unknown rule(s) {', '.join(unknown)}; one of {', '.join(RULES)}",
            param_hint="--ignore",
        )
    report = lint_file(
        file, options=LintOptions(failover_target_s=failover_target_s), ignore=skipped
    )
    emit(report.to_json(), output, _tables)
    raise typer.Exit(int(report.exit_code))
