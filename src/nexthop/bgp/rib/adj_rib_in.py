"""Adj-RIB-In: every path one peer sent, before import policy (RFC 4271 §3.2, §9.1.1).

Rejected paths are kept, flagged with the reason (soft reconfiguration, as
RFC 4271 §3.2 allows and BIRD's ``in_keep_filtered`` does), so ``reapply`` can
run a changed import policy over what the peer sent without a ROUTE-REFRESH
(RFC 2918). Paths are keyed by (prefix, path id) (RFC 7911 §3: the path id
tells paths to the same prefix apart; 0 without ADD-PATH).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from nexthop.bgp.rib.path import Path
from nexthop.fastinit import slot_setters
from nexthop.net.prefix import Prefix

__all__ = ["AdjRibIn", "AdjRibInEntry", "Change", "ImportPolicy", "PathKey", "accept_all"]

ImportPolicy = Callable[[Path], str | None]
"""Returns None to accept the path, or the reason it is rejected."""

PathKey = tuple[Prefix, int]


def accept_all(_path: Path) -> str | None:
    return None


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


_SET_ENTRY_PATH, _SET_ENTRY_REJECTED = slot_setters(AdjRibInEntry, ("path", "rejected"))
_SET_KEY, _SET_BEFORE, _SET_AFTER = slot_setters(Change, ("key", "before", "after"))
_new_object = object.__new__


def _entry(path: Path, rejected: str | None) -> AdjRibInEntry:
    entry: AdjRibInEntry = _new_object(AdjRibInEntry)
    _SET_ENTRY_PATH(entry, path)
    _SET_ENTRY_REJECTED(entry, rejected)
    return entry


def _change(key: PathKey, before: Path | None, after: Path | None) -> Change:
    change: Change = _new_object(Change)
    _SET_KEY(change, key)
    _SET_BEFORE(change, before)
    _SET_AFTER(change, after)
    return change


class AdjRibIn:
    """One peer's received paths. The owner is that peer's handler only."""

    __slots__ = ("_accepted", "_entries")

    def __init__(self) -> None:
        self._entries: dict[PathKey, AdjRibInEntry] = {}
        self._accepted = 0

    # --- mutation ------------------------------------------------------------

    def update(self, path: Path, policy: ImportPolicy = accept_all) -> Change:
        """Store (or replace) ``path`` after running ``policy`` over it (RFC 4271
        §9.1.1: an UPDATE for a known prefix replaces the older path)."""
        key = (path.prefix, path.path_id)
        old = self._entries.get(key)
        before = old.path if old is not None and old.rejected is None else None
        rejected = policy(path)
        self._store(key, _entry(path, rejected))
        return _change(key, before, path if rejected is None else None)

    def withdraw(self, prefix: Prefix, path_id: int = 0) -> Change:
        """Forget the path (RFC 4271 §3.1: an unfeasible route)."""
        key = (prefix, path_id)
        before = self._accepted_path(self._entries.get(key))
        self._store(key, None)
        return _change(key, before, None)

    def clear(self) -> list[Change]:
        """Session down: every path goes (RFC 4271 §8, Established -> Idle)."""
        changes = [
            Change(key=key, before=entry.path, after=None)
            for key, entry in self._entries.items()
            if entry.rejected is None
        ]
        self._entries.clear()
        self._accepted = 0
        return changes

    def reapply(self, policy: ImportPolicy) -> list[Change]:
        """Run a new import policy over every stored path (soft reconfiguration
        inbound); returns the keys whose accepted path changed."""
        changes: list[Change] = []
        for key, entry in list(self._entries.items()):
            verdict = policy(entry.path)
            if verdict == entry.rejected:
                continue
            new = AdjRibInEntry(path=entry.path, rejected=verdict)
            self._store(key, new)
            before, after = self._accepted_path(entry), self._accepted_path(new)
            if before is not after:
                changes.append(Change(key=key, before=before, after=after))
        return changes

    # --- queries -------------------------------------------------------------

    @property
    def received_count(self) -> int:
        """Paths held, accepted or not."""
        return len(self._entries)

    @property
    def accepted_count(self) -> int:
        return self._accepted

    def get(self, prefix: Prefix, path_id: int = 0) -> AdjRibInEntry | None:
        return self._entries.get((prefix, path_id))

    def entries(self) -> Iterator[AdjRibInEntry]:
        return iter(list(self._entries.values()))

    def accepted(self) -> Iterator[Path]:
        return (e.path for e in list(self._entries.values()) if e.rejected is None)

    def rejected(self) -> Iterator[AdjRibInEntry]:
        return (e for e in list(self._entries.values()) if e.rejected is not None)

    def __len__(self) -> int:
        return len(self._entries)

    # --- internals -----------------------------------------------------------

    @staticmethod
    def _accepted_path(entry: AdjRibInEntry | None) -> Path | None:
        return entry.path if entry is not None and entry.rejected is None else None

    def _store(self, key: PathKey, entry: AdjRibInEntry | None) -> None:
        old = self._entries.pop(key, None)
        if old is not None and old.rejected is None:
            self._accepted -= 1
        if entry is not None:
            self._entries[key] = entry
            if entry.rejected is None:
                self._accepted += 1
