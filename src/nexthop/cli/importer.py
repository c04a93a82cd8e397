"""``nexthop import PATH``: a topology file from a real deployment's description
(``nexthop.importer``): a folder of ``az`` JSON outputs, an ARM template export or
Terraform JSON. The YAML goes to ``--file`` (or stdout); what was not mapped and
what was assumed go to stderr. Exit 0: a valid topology; 2: unreadable input or
an imported topology that does not validate (written anyway, to be fixed)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nexthop.importer import ImportError_, import_path
from nexthop.lint import lint_topology

__all__ = ["import_command"]

_INVALID = 2


def import_command(
    path: Annotated[
        Path, typer.Argument(help="Folder of az JSON outputs, ARM export or Terraform JSON.")
    ],
    bgp_config_dir: Annotated[
        Path | None,
        typer.Option("--bgp-config-dir", help="NVA BGP configurations named <nva>.conf."),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Write the topology here.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="The topology's name.")] = None,
) -> None:
    """Turn a real Azure deployment's description into a topology file."""
    try:
        result = import_path(path, bgp_dir=bgp_config_dir, name=name)
    except ImportError_ as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(_INVALID) from None
    if file is None:
        typer.echo(result.text, nl=False)
    else:
        file.write_text(result.text, encoding="utf-8")
    for line in result.unmapped:
        typer.echo(f"not mapped: {line}", err=True)
    for line in result.assumed:
        typer.echo(f"assumed: {line}", err=True)
    for problem in result.errors:
        typer.echo(problem, err=True)
    if result.loaded is not None:  # what ``nexthop lint`` would say of the result
        for finding in lint_topology(result.loaded.topology, result.loaded).findings:
            typer.echo(f"lint: {finding}", err=True)
    where = str(file) if file is not None else "stdout"
    verdict = "valid" if not result.errors else f"INVALID ({len(result.errors)} problems)"
    typer.echo(f"imported {result.resources} resources to {where}: {verdict}", err=True)
    if result.errors:
        raise typer.Exit(_INVALID)
