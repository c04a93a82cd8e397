"""Output of read commands: ``-o table`` (Rich), ``json`` (the Azure CLI shape) or ``yaml``.

JSON is the exact data the API returns, so ``-o json`` is identical whether the
command answered from the local store or from a server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

__all__ = ["Column", "Output", "emit", "key", "progress", "rows_table"]

Column = tuple[str, Callable[[dict[str, Any]], Any]]


class Output(StrEnum):
    TABLE = "table"
    JSON = "json"
    YAML = "yaml"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def rows_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column], title: str = "") -> Table:
    """A Rich table with one row per dict; each column reads its cell with a function."""
    table = Table(title=title or None, title_justify="left")
    for name, _ in columns:
        table.add_column(name)
    for row in rows:
        table.add_row(*(_cell(get(row)) for _, get in columns))
    return table


def key(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: row.get(name)


def emit(data: Any, output: Output, table: Callable[[Any], Table | Sequence[Table]]) -> None:
    """Print ``data`` in the chosen format; ``table`` builds the Rich rendering."""
    if output is Output.JSON:
        typer.echo(json.dumps(data, indent=2))
    elif output is Output.YAML:
        typer.echo(yaml.safe_dump(data, sort_keys=False), nl=False)
    else:
        console = Console(width=200) if not Console().is_terminal else Console()
        built = table(data)
        for t in [built] if isinstance(built, Table) else built:
            console.print(t)


def progress(console: Console) -> Progress:
    """A spinner with the current step, shown only on a terminal."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
