"""Where the demo finds ``examples/*.yaml`` without being told.

One source of truth: the files at the root of the source checkout. An editable
install (``make demo``, ``pip install -e .``) runs from ``src/nexthop``, so the
checkout's ``examples/`` is three levels above this package's ``__init__``. A
wheel that ships them (hatch ``force-include`` of ``examples`` as
``nexthop/examples``) is found next, through ``importlib.resources``.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import nexthop

__all__ = ["DEMO_EXAMPLES", "ExamplesNotFoundError", "find_examples"]

DEMO_EXAMPLES = (
    "next-hop-ip.yaml",
    "active-passive.yaml",
    "active-active.yaml",
    "cross-region.yaml",
)
"""The topology files the demo runs, in the order it runs them."""


class ExamplesNotFoundError(FileNotFoundError):
    """No directory holding every file of ``DEMO_EXAMPLES`` was found."""


def _complete(directory: Path) -> bool:
    return all((directory / name).is_file() for name in DEMO_EXAMPLES)


def candidates() -> list[Path]:
    """Where to look, in order: the source checkout, then the installed package."""
    found = [Path(nexthop.__file__).resolve().parents[2] / "examples"]
    shipped = importlib.resources.files("nexthop") / "examples"
    if isinstance(shipped, Path):
        found.append(shipped)
    return found


def find_examples(directory: Path | None = None) -> Path:
    """The examples directory: ``directory`` if given, else the first of ``candidates()``
    holding every demo file; ``ExamplesNotFoundError`` names the places tried."""
    tried = [directory] if directory is not None else candidates()
    for path in tried:
        if _complete(path):
            return path
    places = ", ".join(str(p) for p in tried)
    raise ExamplesNotFoundError(
        f"the demo topologies ({', '.join(DEMO_EXAMPLES)}) are not in {places}; "
        f"run from a source checkout or pass --examples DIR"
    )
