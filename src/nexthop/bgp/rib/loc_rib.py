"""Loc-RIB: per-prefix candidate paths, the selected best path, and a change feed
(RFC 4271 §3.2, §9.1.2).

Candidates are the paths every Adj-RIB-In accepted, keyed by (source, path id).
The best path and its ``Reason`` are recomputed when a prefix's candidates
change, with the decision function the owner supplies (``decision.best`` by
default). ``drain_changes`` returns the prefixes whose candidate set changed
since the last drain, so the owner recomputes only those (RFC 4271 §9.1.3
Phase 3 runs per changed route).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from nexthop.bgp.rib import decision
from nexthop.bgp.rib.decision import Reason
from nexthop.bgp.rib.path import Path
from nexthop.net.prefix import Prefix

__all__ = ["LocRib", "Selector"]

Selector = Callable[[Sequence[Path]], tuple[Path, Reason]]
CandidateKey = tuple[str, int]


class LocRib:
    """Candidates and best path per prefix.

    A prefix with one candidate (most of a large table) holds the bare ``Path``;
    a second candidate turns the entry into a (source, path id) -> ``Path`` dict,
    which saves a dict per route."""

    __slots__ = ("_best", "_candidates", "_changed", "_select")

    def __init__(self, select: Selector = decision.best) -> None:
        self._select = select
        self._candidates: dict[Prefix, Path | dict[CandidateKey, Path]] = {}
        self._best: dict[Prefix, tuple[Path, Reason]] = {}
        self._changed: set[Prefix] = set()

    def add(self, path: Path) -> None:
        """Add or replace the candidate from (path.source, path.path_id)."""
        prefix = path.prefix
        held = self._candidates.get(prefix)
        if held is None or (
            not isinstance(held, dict)
            and (held.source, held.path_id) == (path.source, path.path_id)
        ):
            self._candidates[prefix] = path
        elif isinstance(held, dict):
            held[(path.source, path.path_id)] = path
        else:
            self._candidates[prefix] = {
                (held.source, held.path_id): held,
                (path.source, path.path_id): path,
            }
        self._reselect(prefix)

    def remove(self, prefix: Prefix, source: str, path_id: int = 0) -> Path | None:
        held = self._candidates.get(prefix)
        if held is None:
            return None
        if not isinstance(held, dict):
            if (held.source, held.path_id) != (source, path_id):
                return None
            del self._candidates[prefix]
            self._reselect(prefix)
            return held
        gone = held.pop((source, path_id), None)
        if gone is not None:
            if len(held) == 1:
                self._candidates[prefix] = next(iter(held.values()))
            self._reselect(prefix)
        return gone

    def remove_source(self, source: str) -> list[Path]:
        """Drop every candidate from ``source`` (its session went down)."""
        removed: list[Path] = []
        for prefix in list(self._candidates):
            for path_id in self._ids(prefix, source):
                gone = self.remove(prefix, source, path_id)
                if gone is not None:
                    removed.append(gone)
        return removed

    def reselect_all(self) -> None:
        """Recompute every best path (the selection inputs changed, e.g. a new
        preference setting); every prefix is reported as changed."""
        for prefix in list(self._candidates):
            self._reselect(prefix)

    # --- queries -------------------------------------------------------------

    def candidates(self, prefix: Prefix) -> list[Path]:
        held = self._candidates.get(prefix)
        if held is None:
            return []
        if isinstance(held, dict):
            return list(held.values())
        return [held]

    def best(self, prefix: Prefix) -> tuple[Path, Reason] | None:
        return self._best.get(prefix)

    def prefixes(self) -> Iterator[Prefix]:
        return iter(list(self._candidates))

    def drain_changes(self) -> set[Prefix]:
        changed, self._changed = self._changed, set()
        return changed

    def __len__(self) -> int:
        return len(self._candidates)

    # --- internals -----------------------------------------------------------

    def _ids(self, prefix: Prefix, source: str) -> list[int]:
        return [p.path_id for p in self.candidates(prefix) if p.source == source]

    def _reselect(self, prefix: Prefix) -> None:
        self._changed.add(prefix)
        paths = self.candidates(prefix)
        if paths:
            self._best[prefix] = self._select(paths)
        else:
            self._best.pop(prefix, None)
