"""Adj-RIB-In: every path one peer sent, before import policy (RFC 4271 §3.2, §9.1.1).

Rejected paths are kept, flagged with the reason (soft reconfiguration, as
RFC 4271 §3.2 allows and BIRD's ``in_keep_filtered`` does), so ``reapply`` can
run a changed import policy over what the peer sent without a ROUTE-REFRESH
(RFC 2918). Paths are told apart by (prefix, path id) (RFC 7911 §3: the path id
tells paths to the same prefix apart; 0 without ADD-PATH).

Storage is one dict entry per path and nothing else: the value is the
``Route`` (a ``Path`` without its prefix, shared by every NLRI of an UPDATE) or,
for a rejected path, the route wrapped with its reason; path id 0 (every path
without ADD-PATH) is keyed by the bare ``Prefix``, other ids by
(prefix, path id). ``Path`` and ``AdjRibInEntry`` objects are built only when a
query asks for them. ``update_many`` stores the NLRI of one UPDATE under one
verdict (an import policy that looks at the attributes only, see
``AttributePolicy``, decides once per UPDATE).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from nexthop.bgp.rib.path import Path, Route
from nexthop.bgp.wire.messages import PathAttributes
from nexthop.fastinit import slot_setters
from nexthop.net.prefix import Prefix

__all__ = [
    "AdjRibIn",
    "AdjRibInEntry",
    "AttributePolicy",
    "Change",
    "ImportPolicy",
    "PathKey",
    "accept_all",
]

ImportPolicy = Callable[[Path], str | None]
"""Returns None to accept the path, or the reason it is rejected."""

PathKey = tuple[Prefix, int]


def accept_all(_path: Path) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class AttributePolicy:
    """An import policy in two stages: ``by_attributes`` looks at the path
    attributes only, so its verdict holds for every NLRI of an UPDATE and is
    asked once per UPDATE; ``per_path`` (optional) runs on each path it accepted.
    Called on a path it is an ordinary ``ImportPolicy``."""

    by_attributes: Callable[[PathAttributes], str | None]
    per_path: ImportPolicy | None = None

    def __call__(self, path: Path) -> str | None:
        verdict = self.by_attributes(path.attributes)
        if verdict is None and self.per_path is not None:
            return self.per_path(path)
        return verdict


@dataclass(frozen=True, slots=True, kw_only=True)
class AdjRibInEntry:
    """A received path and the import verdict (``rejected`` is the reason or None)."""

    path: Path
    rejected: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """What an Adj-RIB-In operation did to the accepted set for one key:
    ``before``/``after`` are the accepted path (or None)."""

    key: PathKey
    before: Path | None
    after: Path | None


class _Rejected:
    """A stored route import policy refused, and why."""

    __slots__ = ("reason", "route")

    def __init__(self, route: Route, reason: str) -> None:
        self.route = route
        self.reason = reason


_Stored = Route | _Rejected
_SET_KEY, _SET_BEFORE, _SET_AFTER = slot_setters(Change, ("key", "before", "after"))
_new_object = object.__new__


def _change(key: PathKey, before: Path | None, after: Path | None) -> Change:
    change: Change = _new_object(Change)
    _SET_KEY(change, key)
    _SET_BEFORE(change, before)
    _SET_AFTER(change, after)
    return change


def _view(prefix: Prefix, stored: _Stored) -> AdjRibInEntry:
    if isinstance(stored, _Rejected):
        return AdjRibInEntry(path=stored.route.at(prefix), rejected=stored.reason)
    return AdjRibInEntry(path=stored.at(prefix))


def _route_of(stored: _Stored) -> Route:
    return stored.route if isinstance(stored, _Rejected) else stored


def _accepted(stored: _Stored | None) -> Route | None:
    return None if stored is None or isinstance(stored, _Rejected) else stored


class AdjRibIn:
    """One peer's received paths. The owner is that peer's handler only."""

    __slots__ = ("_accepted", "_plain", "_with_id")

    def __init__(self) -> None:
        self._plain: dict[Prefix, _Stored] = {}  # path id 0
        self._with_id: dict[PathKey, _Stored] = {}  # ADD-PATH ids other than 0
        self._accepted = 0

    # --- mutation ------------------------------------------------------------

    def update(self, path: Path, policy: ImportPolicy = accept_all) -> Change:
        """Store (or replace) ``path`` after running ``policy`` over it (RFC 4271
        §9.1.1: an UPDATE for a known prefix replaces the older path)."""
        rejected = policy(path)
        prefix = path.prefix
        old = self._put(prefix, path, path if rejected is None else _Rejected(path, rejected))
        before = None if old is None else old.at(prefix)
        return _change((prefix, path.path_id), before, path if rejected is None else None)

    def update_many(
        self, prefixes: Sequence[Prefix], route: Route, rejected: str | None = None
    ) -> list[Prefix]:
        """Store ``route`` for each of ``prefixes`` (the NLRI of one UPDATE that
        share attributes, next hops and path id) with one verdict for all
        (``rejected``: None to accept, else the reason). Same outcome as
        ``update`` per prefix, without a ``Path`` per prefix. Returns the
        prefixes whose accepted path was replaced, in order (a rejected batch
        takes them out of the accepted set)."""
        displaced: list[Prefix] = []
        stored: _Stored = route if rejected is None else _Rejected(route, rejected)
        path_id = route.path_id
        if path_id:
            with_id = self._with_id
            for prefix in prefixes:
                key = (prefix, path_id)
                old = with_id.get(key)
                with_id[key] = stored
                if old is not None and not isinstance(old, _Rejected):
                    displaced.append(prefix)
        else:
            plain = self._plain
            get = plain.get
            for prefix in prefixes:
                old = get(prefix)
                plain[prefix] = stored
                if old is not None and not isinstance(old, _Rejected):
                    displaced.append(prefix)
        if rejected is None:
            self._accepted += len(prefixes) - len(displaced)
        else:
            self._accepted -= len(displaced)
        return displaced

    def withdraw(self, prefix: Prefix, path_id: int = 0) -> Change:
        """Forget the path (RFC 4271 §3.1: an unfeasible route)."""
        if path_id:
            old = _accepted(self._with_id.pop((prefix, path_id), None))
        else:
            old = _accepted(self._plain.pop(prefix, None))
        if old is None:
            return _change((prefix, path_id), None, None)
        self._accepted -= 1
        return _change((prefix, path_id), old.at(prefix), None)

    def clear(self) -> list[Change]:
        """Session down: every path goes (RFC 4271 §8, Established -> Idle)."""
        changes = [
            Change(key=(path.prefix, path.path_id), before=path, after=None)
            for path in self.accepted()
        ]
        self._plain.clear()
        self._with_id.clear()
        self._accepted = 0
        return changes

    def clear_accepted(self) -> dict[int, list[Prefix]]:
        """``clear``, returning the prefixes whose accepted path went, by path id
        and in the order they were stored, instead of a ``Change`` (and a
        ``Path``) per prefix: a peer that goes down with a full table."""
        plain = self._plain
        by_id: dict[int, list[Prefix]] = {}
        if plain:
            by_id[0] = [prefix for prefix, stored in plain.items() if type(stored) is not _Rejected]
        for (prefix, path_id), stored in self._with_id.items():
            if type(stored) is not _Rejected:
                by_id.setdefault(path_id, []).append(prefix)
        self._plain = {}
        self._with_id = {}
        self._accepted = 0
        return {path_id: prefixes for path_id, prefixes in by_id.items() if prefixes}

    def reapply(self, policy: ImportPolicy) -> list[Change]:
        """Run a new import policy over every stored path (soft reconfiguration
        inbound); returns the keys whose accepted path changed."""
        changes: list[Change] = []
        for prefix, stored in self._items():
            route = _route_of(stored)
            was = stored.reason if isinstance(stored, _Rejected) else None
            path = route.at(prefix)
            verdict = policy(path)
            if verdict == was:
                continue
            self._put(prefix, route, route if verdict is None else _Rejected(route, verdict))
            if (was is None) != (verdict is None):
                before = path if was is None else None
                after = path if verdict is None else None
                changes.append(Change(key=(prefix, route.path_id), before=before, after=after))
        return changes

    # --- queries -------------------------------------------------------------

    @property
    def received_count(self) -> int:
        """Paths held, accepted or not."""
        return len(self._plain) + len(self._with_id)

    @property
    def accepted_count(self) -> int:
        return self._accepted

    def holds(self, prefix: Prefix, path_id: int = 0) -> bool:
        """Whether a path (accepted or not) is stored for (prefix, path id)."""
        if path_id:
            return (prefix, path_id) in self._with_id
        return prefix in self._plain

    def get(self, prefix: Prefix, path_id: int = 0) -> AdjRibInEntry | None:
        stored = self._with_id.get((prefix, path_id)) if path_id else self._plain.get(prefix)
        return None if stored is None else _view(prefix, stored)

    def entries(self) -> Iterator[AdjRibInEntry]:
        return (_view(prefix, stored) for prefix, stored in self._items())

    def routes(self) -> Iterator[Route]:
        """Every stored route, accepted or not, without building a ``Path`` per
        prefix (e.g. to see which attribute sets are still in use)."""
        return (_route_of(stored) for _, stored in self._items())

    def accepted(self) -> Iterator[Path]:
        return (
            stored.at(prefix)
            for prefix, stored in self._items()
            if not isinstance(stored, _Rejected)
        )

    def rejected(self) -> Iterator[AdjRibInEntry]:
        return (
            _view(prefix, stored)
            for prefix, stored in self._items()
            if isinstance(stored, _Rejected)
        )

    def __len__(self) -> int:
        return len(self._plain) + len(self._with_id)

    # --- internals -----------------------------------------------------------

    def _items(self) -> list[tuple[Prefix, _Stored]]:
        """(prefix, stored) for everything held: a snapshot, so callers may
        change the RIB while they walk it."""
        return [*self._plain.items(), *((key[0], s) for key, s in self._with_id.items())]

    def _put(self, prefix: Prefix, route: Route, stored: _Stored) -> Route | None:
        """Store ``stored`` under (prefix, route.path_id); returns the accepted
        route it replaced (None if none) and keeps the accepted count."""
        if route.path_id:
            key = (prefix, route.path_id)
            old = _accepted(self._with_id.get(key))
            self._with_id[key] = stored
        else:
            old = _accepted(self._plain.get(prefix))
            self._plain[prefix] = stored
        if old is not None:
            self._accepted -= 1
        if not isinstance(stored, _Rejected):
            self._accepted += 1
        return old
