"""Topology YAML text -> PyYAML node tree and plain data, bounded, every error positioned.

A topology file arrives over the API (``POST /api/v1/apply``) as well as from disk,
so reading it must cost in proportion to its size and fail only with a
``YAMLProblem`` carrying a line and column (never an exception of PyYAML's or
Python's own):

* Aliases are allowed (``&defaults`` / ``*defaults``, ``<<: *defaults``), but the
  nodes they add to the document are counted as they are composed: each alias adds
  the expanded size of the node it names, computed once per node. Past
  ``MAX_ALIAS_NODES`` the document is refused at the alias that crossed the
  budget, so a "billion laughs" document (each level nine aliases of the one
  before) fails after a few thousand nodes instead of expanding 9^N. An alias to a
  collection that is still being composed (``&a [*a]``) would make the data
  cyclic and is refused too.
* Collections nest at most ``MAX_DEPTH`` deep (PyYAML composes and constructs
  recursively; 50,000 ``[`` would exhaust Python's stack).
* A character YAML does not allow (a control character) names its position, and a
  scalar its tag cannot construct (``!!int abc``, the date ``2001-02-30``) names
  the scalar.

Duplicate mapping keys, which PyYAML collapses silently, are reported by
``duplicate_keys``: every node of the composed tree once (an aliased node is not
walked again), before ``<<`` merge keys are expanded, so a merged key the mapping
overrides is not a duplicate (YAML merge key spec, https://yaml.org/type/merge.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn, cast

import yaml
from yaml.error import Mark
from yaml.events import AliasEvent, CollectionStartEvent, Event
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from nexthop.config.issues import Path

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "DuplicateKey",
    "YAMLDocument",
    "YAMLProblem",
    "duplicate_keys",
    "read_yaml",
]

MAX_DEPTH = 64
MAX_ALIAS_NODES = 10_000
YAML_TAG_PREFIX = "tag:yaml.org,2002:"


class YAMLProblem(Exception):  # noqa: N818 - a problem report, like config's Issue
    """Unreadable YAML at ``line``:``column`` (1-based)."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(f"{line}:{column}: {message}")
        self.line = line
        self.column = column
        self.message = message


def _expanded_size(node: Node, sizes: dict[int, int]) -> int:
    """Nodes in ``node``'s subtree with every shared node counted each time it is
    reached (what construction and validation will walk); each node is computed
    once (``sizes`` memoizes by identity), without recursion."""
    stack: list[tuple[Node, bool]] = [(node, False)]
    while stack:
        current, children_done = stack.pop()
        if id(current) in sizes:
            continue
        children = _children(current)
        if children_done or not children:
            sizes[id(current)] = 1 + sum(sizes[id(c)] for c in children)
            continue
        stack.append((current, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(node)]


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


class _BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` whose composer counts alias expansion and nesting depth and
    whose constructor reports a scalar it cannot construct at the scalar."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._alias_nodes = 0
        self._sizes: dict[int, int] = {}
        self._open_anchors: set[str] = set()

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, AliasEvent):
            self._count_alias(event)
        elif isinstance(event, CollectionStartEvent):
            return self._compose_collection(event, parent, index)
        return super().compose_node(parent, index)

    def _compose_collection(
        self, event: CollectionStartEvent, parent: Node | None, index: Any
    ) -> Node | None:
        if self._depth >= MAX_DEPTH:
            _refuse(f"nested deeper than {MAX_DEPTH} levels", event)
        self._depth += 1
        if event.anchor is not None:
            self._open_anchors.add(event.anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if event.anchor is not None:
                self._open_anchors.discard(event.anchor)

    def _count_alias(self, event: AliasEvent) -> None:
        anchor = str(event.anchor)
        if anchor in self._open_anchors:
            _refuse(f"alias *{anchor} refers to a collection that contains it", event)
        target = self.anchors.get(anchor)
        if target is None:
            return  # PyYAML reports the undefined alias
        self._alias_nodes += _expanded_size(target, self._sizes)
        if self._alias_nodes > MAX_ALIAS_NODES:
            _refuse(f"aliases expand the document by more than {MAX_ALIAS_NODES} nodes", event)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # PyYAML's constructors fail in many ways on a bad scalar
            tag = str(node.tag).removeprefix(YAML_TAG_PREFIX)
            value = node.value if isinstance(node, ScalarNode) else tag
            detail = f" ({exc})" if isinstance(exc, ValueError) and str(exc) else ""
            raise yaml.constructor.ConstructorError(
                None, None, f"{value!r} is not a valid !!{tag}{detail}", node.start_mark
            ) from None


def _refuse(message: str, event: Event) -> NoReturn:
    mark = cast("Mark | None", event.start_mark)
    raise yaml.composer.ComposerError(None, None, message, mark)


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of character ``index`` of ``text``."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


@dataclass(frozen=True, slots=True)
class DuplicateKey:
    """A key that repeats an earlier key of its mapping: the ``path`` to it, and its node."""

    path: Path
    node: Node


@dataclass(frozen=True, slots=True)
class YAMLDocument:
    """A composed document: its node tree (``None`` when empty), its data, and the
    duplicate keys found before construction."""

    root: Node | None
    data: Any
    duplicates: tuple[DuplicateKey, ...]


def read_yaml(text: str) -> YAMLDocument:
    """The single document in ``text``: composed (bounded), checked for duplicate keys,
    constructed; raises ``YAMLProblem``."""
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text)
        root = loader.get_single_node()
        if root is None:
            return YAMLDocument(None, None, ())
        duplicates = duplicate_keys(root)  # before merge keys are expanded
        return YAMLDocument(root, loader.construct_document(root), tuple(duplicates))
    except yaml.reader.ReaderError as exc:
        line, column = _position(text, exc.position)
        what = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise YAMLProblem(line, column, f"character {what} is not allowed ({exc.reason})") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise YAMLProblem(line, column, exc.problem or exc.context or "unreadable") from None
    except yaml.YAMLError as exc:
        raise YAMLProblem(1, 1, str(exc)) from None
    finally:
        if loader is not None:
            loader.dispose()


def duplicate_keys(root: Node) -> list[DuplicateKey]:
    """Every mapping key that repeats an earlier key of its mapping, walking each node
    once (iteratively; a node reached again through an alias is skipped)."""
    found: list[DuplicateKey] = []
    seen_nodes: set[int] = set()
    stack: list[tuple[Node, Path]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        pending: list[tuple[Node, Path]] = []
        if isinstance(node, MappingNode):
            names: set[str] = set()
            for key, value in node.value:
                name = key.value if isinstance(key, ScalarNode) else None
                if name is not None and name in names:
                    found.append(DuplicateKey((*path, name), key))
                if name is not None:
                    names.add(name)
                pending.append((value, (*path, name) if name is not None else path))
        elif isinstance(node, SequenceNode):
            pending = [(item, (*path, i)) for i, item in enumerate(node.value)]
        stack.extend(reversed(pending))
    found.sort(key=lambda d: (d.node.start_mark.line, d.node.start_mark.column))
    return found
