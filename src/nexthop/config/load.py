"""Topology file -> validated ``Topology``, with ``file:line:column: field: message`` errors.

The YAML text is composed into PyYAML's node tree first (so every value keeps
its start mark), then constructed into plain data and validated by the pydantic
schema. Each pydantic error ``loc`` and each cross-resource ``Issue`` path is
walked down the node tree to the deepest node it names: the value for a bad
value, the key for an unknown field, the enclosing mapping for a missing
field. Problems inside an NVA's ``bgp_config`` literal block (``|``) point at
the offending line of the block. Reading the YAML is bounded (alias expansion,
nesting depth) and reports duplicate mapping keys: ``config.yaml_reader``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from pydantic import ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from nexthop.config.issues import Issue, Path, TopologyInvalid, format_path
from nexthop.config.schema import Topology
from nexthop.config.yaml_reader import YAMLProblem, read_yaml

__all__ = ["LoadedTopology", "Problem", "TopologyError", "load_topology", "load_topology_text"]

LITERAL_BLOCK = "|"


@dataclass(frozen=True, slots=True)
class Problem:
    """One error or warning with its position (1-based line and column)."""

    source: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class TopologyError(Exception):
    """The file is not a valid topology; ``problems`` lists every error found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True, slots=True)
class LoadedTopology:
    """A validated topology and where it came from; ``position`` places a field path
    (and a line of an NVA's ``bgp_config``) in the file, for ``nexthop.lint``."""

    topology: Topology
    source: str
    locator: _Locator | None = field(default=None, repr=False, compare=False)

    def position(self, path: Path, text_line: int | None = None) -> str:
        """``source:line:column`` of the deepest node ``path`` names (``source`` alone
        when the text is not known)."""
        if self.locator is None:
            return self.source
        p = self.locator.problem(path, "", text_line=text_line)
        return f"{p.source}:{p.line}:{p.column}"


class _Locator:
    """Maps field paths to positions in one YAML document."""

    def __init__(self, source: str, text: str, root: Node) -> None:
        self.source = source
        self.lines = text.splitlines()
        self.root = root

    def node(self, path: Path, *, key: bool = False) -> Node:
        """The deepest node along ``path``; with ``key``, the key node of the last step."""
        node = self.root
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if isinstance(node, MappingNode) and isinstance(part, str):
                match = next(
                    (
                        (k, v)
                        for k, v in node.value
                        if isinstance(k, ScalarNode) and k.value == part
                    ),
                    None,
                )
                if match is None:
                    break
                node = match[0] if key and last else match[1]
            elif isinstance(node, SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    break
                node = node.value[part]
            else:
                break
        return node

    def problem(
        self, path: Path, message: str, *, key: bool = False, text_line: int | None = None
    ) -> Problem:
        node = self.node(path, key=key)
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        if (
            text_line is not None
            and isinstance(node, ScalarNode)
            and node.style == LITERAL_BLOCK
            and node.start_mark.line + text_line < len(self.lines)
        ):
            # The block's first content line follows the line with the '|' indicator.
            raw = self.lines[node.start_mark.line + text_line]
            line, column = node.start_mark.line + text_line + 1, len(raw) - len(raw.lstrip()) + 1
        return Problem(self.source, line, column, format_path(path), message)

    def issue(self, issue: Issue) -> Problem:
        return self.problem(issue.path, issue.message, text_line=issue.text_line)


def _pydantic_problem(locator: _Locator, error: Any) -> Problem:
    loc: Path = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return locator.problem(loc, f"unknown field {loc[-1]!r}", key=True)
    if kind == "missing":
        return locator.problem(loc, "required field is missing")
    if kind in ("tuple_type", "list_type"):
        return locator.problem(loc, "expected a list")
    if kind in ("model_type", "dict_type"):
        return locator.problem(loc, "expected a mapping of keys to values")
    message = str(error["msg"]).removeprefix("Value error, ")
    text_line = error.get("ctx", {}).get("line") if kind == "bgp_config" else None
    return locator.problem(loc, message, text_line=text_line)


def _read(text: str, source: str) -> tuple[Node, Any]:
    """The composed node tree and data of ``text``; ``TopologyError`` if it is not
    readable YAML (with its position), is empty, or repeats a mapping key."""
    try:
        document = read_yaml(text)
    except YAMLProblem as exc:
        raise TopologyError(
            [Problem(source, exc.line, exc.column, "", f"malformed YAML: {exc.message}")]
        ) from None
    if document.root is None:
        raise TopologyError([Problem(source, 1, 1, "", "the file is empty")])
    if document.duplicates:
        raise TopologyError(
            [
                Problem(
                    source,
                    d.node.start_mark.line + 1,
                    d.node.start_mark.column + 1,
                    format_path(d.path),
                    f"duplicate key {d.path[-1]!r}",
                )
                for d in document.duplicates
            ]
        )
    return document.root, document.data


def load_topology_text(text: str, source: str = "<string>") -> LoadedTopology:
    """Validate topology YAML ``text``; ``source`` names it in messages.

    Raises ``TopologyError`` listing every problem, sorted by position.
    """
    node, data = _read(text, source)
    locator = _Locator(source, text, node)
    problems: list[Problem] = []
    try:
        topology = Topology.model_validate(data)
    except ValidationError as exc:
        problems = [_pydantic_problem(locator, e) for e in exc.errors()]
    except TopologyInvalid as exc:
        problems = [locator.issue(i) for i in exc.issues]
    else:
        return LoadedTopology(topology=topology, source=source, locator=locator)
    problems.sort(key=lambda p: (p.line, p.column))
    raise TopologyError(problems)


def load_topology(path: str | os.PathLike[str]) -> LoadedTopology:
    """Read and validate the topology file at ``path`` (named as given in messages)."""
    try:
        text = FsPath(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TopologyError(
            [Problem(os.fspath(path), 1, 1, "", f"cannot read: {exc.strerror}")]
        ) from None
    except UnicodeDecodeError:
        raise TopologyError([Problem(os.fspath(path), 1, 1, "", "not UTF-8 text")]) from None
    return load_topology_text(text, os.fspath(path))
