"""The ``nexthop`` command (Typer). One sub-app per noun lives beside this file."""

from __future__ import annotations

import typer

from nexthop import __version__
from nexthop.cli import apply as apply_command
from nexthop.cli import demo as demo_command
from nexthop.cli import diff as diff_command
from nexthop.cli import importer as import_command
from nexthop.cli import lab, lb, nic, routeserver
from nexthop.cli import lint as lint_command
from nexthop.cli import serve as serve_command
from nexthop.cli import trace as trace_command

app = typer.Typer(no_args_is_help=True, help="nexthop: route server with next hop IP support.")


@app.command()
def version() -> None:
    """Print the nexthop version."""
    typer.echo(__version__)


app.command(name="demo")(demo_command.demo)
app.command(name="serve")(serve_command.serve)
app.command(name="apply")(apply_command.apply)
app.command(name="trace")(trace_command.trace)
app.command(name="diff")(diff_command.diff)
app.command(name="import")(import_command.import_command)
app.command(name="lint")(lint_command.lint)
app.add_typer(routeserver.app, name="routeserver")
app.add_typer(nic.app, name="nic")
app.add_typer(lb.app, name="lb")
app.add_typer(lab.app, name="lab")


if __name__ == "__main__":  # pragma: no cover
    app()
