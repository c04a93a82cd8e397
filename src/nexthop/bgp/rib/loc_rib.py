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

from collections.abc import Callable, Iterable, Iterator, Sequence

from nexthop.bgp.rib import decision
from nexthop.bgp.rib.decision import Reason
from nexthop.bgp.rib.path import Path, Route
from nexthop.net.prefix import Prefix

__all__ = ["LocRib", "Selector"]

Selector = Callable[[Sequence[Route]], tuple[Route, Reason]]
"""Picks the best of two or more candidates. A lone candidate is the best path
with ``Reason.ONLY_PATH`` without asking it (as ``decision.best`` would say)."""
CandidateKey = tuple[str, int]


class LocRib:
    """Candidates and best path per prefix.

    Candidates are held as ``Route``s (a ``Path`` is one too): the NLRI of one
    UPDATE share a single route object, and ``Path``s are built only for the
    queries that return them. A prefix with one candidate (most of a large
    table) holds the bare route and stores no best-path record (it is its own
    best, ``ONLY_PATH``); a second candidate turns the entry into a
    (source, path id) -> route dict and the selection is stored."""

    __slots__ = ("_best", "_candidates", "_changed", "_select")

    def __init__(self, select: Selector = decision.best) -> None:
        self._select = select
        self._candidates: dict[Prefix, Route | dict[CandidateKey, Route]] = {}
        self._best: dict[Prefix, tuple[Route, Reason]] = {}  # prefixes with 2+ candidates
        self._changed: set[Prefix] = set()

    def add(self, path: Path) -> None:
        """Add or replace the candidate from (path.source, path.path_id)."""
        self._add(path.prefix, path)

    def add_many(self, prefixes: Iterable[Prefix], route: Route) -> None:
        """Add ``route`` as the candidate from (route.source, route.path_id) for
        each of ``prefixes`` (the accepted NLRI of one UPDATE): the same as
        ``add(route.at(prefix))`` for each, without a ``Path`` per prefix."""
        candidates = self._candidates
        changed = self._changed.add
        for prefix in prefixes:
            if prefix in candidates:
                self._add(prefix, route)
            else:
                candidates[prefix] = route
                changed(prefix)

    def remove(self, prefix: Prefix, source: str, path_id: int = 0) -> Path | None:
        gone = self._remove(prefix, source, path_id)
        return None if gone is None else gone.at(prefix)

    def discard(self, prefix: Prefix, source: str, path_id: int = 0) -> bool:
        """``remove`` without building the removed ``Path``; True if one went."""
        return self._remove(prefix, source, path_id) is not None

    def discard_many(
        self, prefixes: Iterable[Prefix], source: str, path_id: int = 0
    ) -> list[Prefix]:
        """``discard`` for each of ``prefixes``; returns those whose candidate
        went, in order. A prefix with that one candidate (most of a large
        table) just loses its entry: no selection is asked for."""
        candidates = self._candidates
        pop = candidates.pop
        gone: list[Prefix] = []
        append = gone.append
        for prefix in prefixes:
            held = pop(prefix, None)  # one lookup for the usual case; put back otherwise
            if held is None:
                continue
            if isinstance(held, dict):
                candidates[prefix] = held
                if self._remove(prefix, source, path_id) is not None:
                    append(prefix)
            elif held.source == source and held.path_id == path_id:
                append(prefix)
            else:
                candidates[prefix] = held
        self._changed.update(gone)
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
        self._changed.update(self._candidates)
        for prefix, held in self._candidates.items():
            if isinstance(held, dict):
                self._best[prefix] = self._select(list(held.values()))

    # --- queries -------------------------------------------------------------

    def candidates(self, prefix: Prefix) -> list[Path]:
        return [route.at(prefix) for route in self.routes(prefix)]

    def routes(self, prefix: Prefix) -> list[Route]:
        """``candidates`` as the stored routes (no ``Path`` built)."""
        held = self._candidates.get(prefix)
        if held is None:
            return []
        if isinstance(held, dict):
            return list(held.values())
        return [held]

    def best(self, prefix: Prefix) -> tuple[Path, Reason] | None:
        held = self._candidates.get(prefix)
        if held is None:
            return None
        if isinstance(held, dict):
            route, reason = self._best[prefix]
            return route.at(prefix), reason
        return held.at(prefix), Reason.ONLY_PATH

    def best_route(self, prefix: Prefix) -> Route | None:
        """The best path's route, without building the ``Path`` or the tuple."""
        held = self._candidates.get(prefix)
        if held is None or not isinstance(held, dict):
            return held
        return self._best[prefix][0]

    def best_routes(self, prefixes: Sequence[Prefix]) -> list[Route | None]:
        """``best_route`` for each of ``prefixes``, in order (one call per batch)."""
        get, best = self._candidates.get, self._best
        return [
            held if held is None or not isinstance(held, dict) else best[prefix][0]
            for prefix in prefixes
            for held in (get(prefix),)
        ]

    def held_routes(self, prefixes: Sequence[Prefix]) -> list[Route | list[Route] | None]:
        """For each of ``prefixes``, in order: the lone candidate, the list of
        candidates when there are several, or None when there is none (one
        lookup per prefix)."""
        get = self._candidates.get
        return [
            list(held.values()) if isinstance(held, dict) else held
            for prefix in prefixes
            for held in (get(prefix),)
        ]

    def prefixes(self) -> Iterator[Prefix]:
        return iter(list(self._candidates))

    def drain_changes(self) -> set[Prefix]:
        changed, self._changed = self._changed, set()
        return changed

    def __len__(self) -> int:
        return len(self._candidates)

    # --- internals -----------------------------------------------------------

    def _add(self, prefix: Prefix, route: Route) -> None:
        held = self._candidates.get(prefix)
        self._changed.add(prefix)
        if isinstance(held, dict):
            held[(route.source, route.path_id)] = route
        elif held is None or (held.source == route.source and held.path_id == route.path_id):
            self._candidates[prefix] = route
            return
        else:
            held = {(held.source, held.path_id): held, (route.source, route.path_id): route}
            self._candidates[prefix] = held
        self._best[prefix] = self._select(list(held.values()))

    def _remove(self, prefix: Prefix, source: str, path_id: int) -> Route | None:
        held = self._candidates.get(prefix)
        if held is None:
            return None
        if not isinstance(held, dict):
            if held.source != source or held.path_id != path_id:
                return None
            del self._candidates[prefix]
            self._changed.add(prefix)
            return held
        gone = held.pop((source, path_id), None)
        if gone is not None:
            self._changed.add(prefix)
            if len(held) == 1:
                self._candidates[prefix] = next(iter(held.values()))
                del self._best[prefix]
            else:
                self._best[prefix] = self._select(list(held.values()))
        return gone

    def _ids(self, prefix: Prefix, source: str) -> list[int]:
        return [r.path_id for r in self.routes(prefix) if r.source == source]
