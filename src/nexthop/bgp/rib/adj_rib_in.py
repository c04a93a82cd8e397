"""Adj-RIB-In: every path one peer sent, before import policy (RFC 4271 §3.2, §9.1.1).

Rejected paths are kept, flagged with the reason (soft reconfiguration, as
RFC 4271 §3.2 allows and BIRD's ``in_keep_filtered`` does), so ``reapply`` can
run a changed import policy over what the peer sent without a ROUTE-REFRESH
(RFC 2918). Paths are told apart by (prefix, path id) (RFC 7911 §3: the path id
tells paths to the same prefix apart; 0 without ADD-PATH).

Storage is one dict entry per path and nothing else: an accepted path is stored
as the ``Path`` itself, a rejected one wrapped with its reason; path id 0 (every
path without ADD-PATH) is keyed by the bare ``Prefix``, other ids by
(prefix, path id). ``AdjRibInEntry`` views are built only when asked for.
``update_many`` stores the paths of one UPDATE under one verdict (an import
policy that looks at the attributes only, see ``AttributePolicy``, decides once
per UPDATE).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from nexthop.bgp.rib.path import Path
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
    """A stored path import policy refused, and why."""

    __slots__ = ("path", "reason")

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason


_Stored = Path | _Rejected
_SET_KEY, _SET_BEFORE, _SET_AFTER = slot_setters(Change, ("key", "before", "after"))
_new_object = object.__new__


def _change(key: PathKey, before: Path | None, after: Path | None) -> Change:
    change: Change = _new_object(Change)
    _SET_KEY(change, key)
    _SET_BEFORE(change, before)
    _SET_AFTER(change, after)
    return change


def _view(stored: _Stored) -> AdjRibInEntry:
    if type(stored) is _Rejected:
        return AdjRibInEntry(path=stored.path, rejected=stored.reason)
    assert type(stored) is Path
    return AdjRibInEntry(path=stored)


def _path_of(stored: _Stored) -> Path:
    return stored.path if type(stored) is _Rejected else stored  # type: ignore[return-value]


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
        before = self._put(path, path if rejected is None else _Rejected(path, rejected))
        return _change((path.prefix, path.path_id), before, path if rejected is None else None)

    def update_many(self, paths: Sequence[Path], rejected: str | None = None) -> list[Path]:
        """``update`` for each of ``paths`` with one verdict for all (``rejected``:
        None to accept, else the reason), e.g. the NLRI of one UPDATE under an
        attributes-only policy. Returns the accepted paths that were replaced,
        in order (a rejected batch takes them out of the accepted set)."""
        displaced: list[Path] = []
        plain, with_id = self._plain, self._with_id
        for path in paths:
            stored: _Stored = path if rejected is None else _Rejected(path, rejected)
            if path.path_id:
                key = (path.prefix, path.path_id)
                old = with_id.get(key)
                with_id[key] = stored
            else:
                prefix = path.prefix
                old = plain.get(prefix)
                plain[prefix] = stored
            if old is not None and type(old) is not _Rejected:
                displaced.append(old)  # type: ignore[arg-type]
        if rejected is None:
            self._accepted += len(paths) - len(displaced)
        else:
            self._accepted -= len(displaced)
        return displaced

    def withdraw(self, prefix: Prefix, path_id: int = 0) -> Change:
        """Forget the path (RFC 4271 §3.1: an unfeasible route)."""
        if path_id:
            old = self._with_id.pop((prefix, path_id), None)
        else:
            old = self._plain.pop(prefix, None)
        before = None
        if old is not None and type(old) is not _Rejected:
            before = old
            self._accepted -= 1
        return _change((prefix, path_id), before, None)  # type: ignore[arg-type]

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

    def reapply(self, policy: ImportPolicy) -> list[Change]:
        """Run a new import policy over every stored path (soft reconfiguration
        inbound); returns the keys whose accepted path changed."""
        changes: list[Change] = []
        for stored in self._stored():
            path = _path_of(stored)
            was = stored.reason if type(stored) is _Rejected else None
            verdict = policy(path)
            if verdict == was:
                continue
            self._put(path, path if verdict is None else _Rejected(path, verdict))
            if (was is None) != (verdict is None):
                before = path if was is None else None
                after = path if verdict is None else None
                changes.append(Change(key=(path.prefix, path.path_id), before=before, after=after))
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
        return None if stored is None else _view(stored)

    def entries(self) -> Iterator[AdjRibInEntry]:
        return (_view(s) for s in self._stored())

    def paths(self) -> Iterator[Path]:
        """Every stored path, accepted or not."""
        return (_path_of(s) for s in self._stored())

    def accepted(self) -> Iterator[Path]:
        return (s for s in self._stored() if type(s) is Path)

    def rejected(self) -> Iterator[AdjRibInEntry]:
        return (_view(s) for s in self._stored() if type(s) is _Rejected)

    def __len__(self) -> int:
        return len(self._plain) + len(self._with_id)

    # --- internals -----------------------------------------------------------

    def _stored(self) -> list[_Stored]:
        """A snapshot, so callers may change the RIB while they walk it."""
        return [*self._plain.values(), *self._with_id.values()]

    def _put(self, path: Path, stored: _Stored) -> Path | None:
        """Store ``stored`` under ``path``'s key; returns the accepted path it
        replaced (None if none) and keeps the accepted count."""
        if path.path_id:
            key = (path.prefix, path.path_id)
            old = self._with_id.get(key)
            self._with_id[key] = stored
        else:
            old = self._plain.get(path.prefix)
            self._plain[path.prefix] = stored
        before = None
        if old is not None and type(old) is not _Rejected:
            before = old
            self._accepted -= 1
        if type(stored) is not _Rejected:
            self._accepted += 1
        return before  # type: ignore[return-value]
