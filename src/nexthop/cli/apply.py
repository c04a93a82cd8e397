"""``nexthop apply -f FILE``: make the stored topology match the file.

The diff (create/update/delete per resource) is computed and printed first; with
``--dry-run`` nothing else happens. Against the local store by default, or a
running server with ``--server``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from nexthop.cli.options import DbOption, OutputOption, ServerOption, TokenOption, client, fail
from nexthop.cli.render import Output, emit, key, progress, rows_table

__all__ = ["apply", "changes_table", "read_file"]

CHANGE_COLUMNS = (
    ("Action", key("action")),
    ("Kind", key("kind")),
    ("Name", key("name")),
    ("Detail", key("detail")),
)
ACTION_STYLE = {"create": "green", "update": "yellow", "delete": "red"}


def changes_table(changes: list[dict[str, Any]], title: str) -> Table:
    rows = [
        {**c, "action": f"[{ACTION_STYLE.get(c['action'], '')}]{c['action']}[/]"} for c in changes
    ]
    return rows_table(rows, CHANGE_COLUMNS, title)


def read_file(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"{file}:1:1: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise fail(f"{file}:1:1: not UTF-8 text") from None


def apply(  # noqa: PLR0917 - Typer maps parameters to options
    file: Annotated[Path, typer.Option("--file", "-f", help="Topology YAML file.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only print the diff.")] = False,
    output: OutputOption = Output.TABLE,
    db: DbOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Create, update and delete resources to match FILE (diff printed first)."""
    text = read_file(file)
    console = Console(stderr=True)
    table = output is Output.TABLE
    with client(db, server, token) as c:
        with progress(console) as bar:
            bar.add_task("validating and diffing", total=None)
            plan = c.apply_text(text, str(file), dry_run=True)
        for warning in plan.get("warnings", []):
            typer.echo(f"warning: {warning}", err=True)
        changes = plan["changes"]
        if table and not changes:
            typer.echo("No changes: the stored topology already matches the file.")
        elif table:
            title = f"{'Would apply' if dry_run else 'Applying'} {len(changes)} change(s)"
            emit(plan, output, lambda d: changes_table(d["changes"], title))
        result = plan
        if not dry_run and changes:
            with progress(console) as bar:
                bar.add_task(f"applying {len(changes)} change(s)", total=None)
                result = c.apply_text(text, str(file), dry_run=False)
            if table:
                typer.echo(f"Applied {len(result['changes'])} change(s).")
    if not table:
        emit(result, output, lambda d: Table())
