"""The ``nexthop`` command (Typer). One sub-app per noun lives beside this file."""

from __future__ import annotations

import typer

from nexthop import __version__
from nexthop.cli import demo as demo_command

app = typer.Typer(no_args_is_help=True, help="nexthop: route server with next hop IP support.")


@app.command()
def version() -> None:
    """Print the nexthop version."""
    typer.echo(__version__)


app.command(name="demo")(demo_command.demo)


if __name__ == "__main__":  # pragma: no cover
    app()
