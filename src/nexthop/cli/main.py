"""The ``nexthop`` command (Typer). One sub-app per noun lives beside this file."""

from __future__ import annotations

import typer

from nexthop import __version__

app = typer.Typer(no_args_is_help=True, help="nexthop: route server with next hop IP support.")


@app.command()
def version() -> None:
    """Print the nexthop version."""
    typer.echo(__version__)


if __name__ == "__main__":  # pragma: no cover
    app()
