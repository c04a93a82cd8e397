"""Problems found in a topology, addressed by field path.

A path is the pydantic ``loc`` shape (keys and list indices), so the loader can
position pydantic errors and cross-resource issues the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Issue", "Path", "TopologyInvalid", "format_path"]

Path = tuple[str | int, ...]


def format_path(path: Path) -> str:
    """``("load_balancers", 0, "frontend", "ip")`` -> ``load_balancers[0].frontend.ip``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem at a field path. ``text_line`` is the 1-based line inside a
    multi-line value (an NVA's ``bgp_config``) when the problem sits on one line."""

    path: Path
    message: str
    text_line: int | None = None

    def __str__(self) -> str:
        return f"{format_path(self.path)}: {self.message}"


class TopologyInvalid(Exception):  # noqa: N818 - reads better than TopologyInvalidError
    """Raised by ``Topology`` validation when cross-resource checks fail."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues))
