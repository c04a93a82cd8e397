"""ExaBGP JSON-API consumer that counts the IPv4/IPv6 NLRI ExaBGP currently holds.

ExaBGP keeps no queryable RIB of received routes, so the benchmark counts what its
API process is told (as in the landscape doc's measured runs). Announcements add
(peer, prefix) pairs, withdrawals remove them; the count is written atomically
to ``<dir>/count`` whenever it changed and input has paused for 50 ms.

Run by ExaBGP: ``python -m benchmarks.exabgp_counter DIR`` (``encoder json``).
"""

from __future__ import annotations

import json
import os
import select
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["apply_message", "main"]


def apply_message(message: dict[str, Any], seen: set[tuple[str, str]]) -> None:
    """Apply one ExaBGP JSON ``update`` message to the set of (peer, prefix)."""
    if message.get("type") != "update":
        return
    neighbor = message.get("neighbor", {})
    peer = str(neighbor.get("address", {}).get("peer", ""))
    update = neighbor.get("message", {}).get("update", {})
    for by_next_hop in update.get("announce", {}).values():
        for routes in by_next_hop.values():
            for route in routes:
                seen.add((peer, route["nlri"] if isinstance(route, dict) else str(route)))
    for routes in update.get("withdraw", {}).values():
        for route in routes:
            seen.discard((peer, route["nlri"] if isinstance(route, dict) else str(route)))


def _write(path: Path, count: int) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{count}\n")
    os.replace(tmp, path)


def main() -> None:
    out = Path(sys.argv[1]) / "count"
    seen: set[tuple[str, str]] = set()
    written = -1
    _write(out, 0)
    fd = sys.stdin.fileno()
    pending = b""
    last_write = time.monotonic()
    while True:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                try:
                    apply_message(json.loads(line), seen)
                except (ValueError, KeyError, AttributeError, TypeError):
                    continue
            # Keep the file fresh during long bursts too.
            if time.monotonic() - last_write < 0.5:
                continue
        if len(seen) != written:
            written = len(seen)
            _write(out, written)
            last_write = time.monotonic()
    _write(out, len(seen))


if __name__ == "__main__":
    main()
