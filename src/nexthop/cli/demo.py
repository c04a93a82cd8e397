"""``nexthop demo``: the Route Server "next hop IP support" article, live, in one command.

Thin: ``nexthop.demo.run_demo`` runs the four labs and returns the facts;
``nexthop.demo.render`` narrates them (``-o text``) or the facts are printed as
one JSON document (``-o json``). See docs/demo.md.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from nexthop.cli.render import progress
from nexthop.demo import ExamplesNotFoundError, describe_timers, find_examples, run_demo
from nexthop.demo.render import render_act, render_footer, render_header
from nexthop.lab import LAB_AZURE_LIKE, LAB_FAST, LabError
from nexthop.logs import LogLevel, configure_logging

__all__ = ["DemoOutput", "demo"]

TEXT_WIDTH = 120


class DemoOutput(StrEnum):
    TEXT = "text"
    JSON = "json"


def demo(
    fast: Annotated[
        bool,
        typer.Option(
            "--fast/--azure-timers",
            help="Sub-second probes, heartbeats and BGP timers, or Azure's (5 s probes, "
            "180 s hold; about 40 s).",
        ),
    ] = True,
    output: Annotated[
        DemoOutput, typer.Option("--output", "-o", help="text (narrated) or json (the facts).")
    ] = DemoOutput.TEXT,
    examples: Annotated[
        Path | None,
        typer.Option("--examples", help="Directory of the example topologies (found by default)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show lab log lines.")] = False,
) -> None:
    """Run the next hop IP article live: learned routes, effective route, load
    balancer, failover, active-active symmetry and the cross-region error."""
    # Lab down sends Cease to every peer, logged as warnings: noise in a demo.
    configure_logging(LogLevel.INFO if verbose else LogLevel.ERROR)
    text = output is DemoOutput.TEXT
    console = Console(stderr=not text)
    if text and not console.is_terminal:
        console = Console(width=TEXT_WIDTH)

    def on_act(name: str, facts: dict[str, Any]) -> None:
        if text:
            render_act(console, name, facts)

    doing = ["starting"]
    try:
        directory = find_examples(examples)
        if text:
            timers = LAB_AZURE_LIKE if not fast else LAB_FAST
            render_header(console, describe_timers(timers), str(directory))
        with progress(console) as bar:
            task = bar.add_task("starting", total=None)

            def step(what: str) -> None:
                doing[0] = what
                bar.update(task, description=what)

            report = run_demo(directory, azure_timers=not fast, step=step, on_act=on_act)
    except TimeoutError:
        typer.echo(f"nexthop demo: timed out {doing[0]}", err=True)
        raise typer.Exit(code=1) from None
    except (ExamplesNotFoundError, LabError, OSError) as exc:
        typer.echo(f"nexthop demo: {exc}", err=True)
        raise typer.Exit(code=1) from None
    if text:
        render_footer(console, report)
    else:
        typer.echo(json.dumps(report, indent=2))
    if report["cleanup"]["listening"] or report["cleanup"]["tasks_left"]:
        raise typer.Exit(code=1)
