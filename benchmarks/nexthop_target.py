"""Run nexthop's asyncio ``Speaker`` as a benchmark target in its own process.

Usage: ``python -m benchmarks.nexthop_target SPEC.json`` where the JSON gives
``asn``, ``address``, ``port`` and ``peers`` (address, port, asn). The speaker
connects out to every peer. Line protocol on stdin/stdout:

* ``count`` -> the number of routes in all peers' Adj-RIB-In, one integer line;
* end of input -> stop the speaker and exit.

``--check`` exits 0 when the speaker can be imported, else prints the reason.
Logging is limited to warnings so the run measures BGP work, not log output.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _load_speaker() -> tuple[Any, Any]:
    from nexthop.runtime.speaker import PeerConfig, Speaker  # noqa: PLC0415

    return Speaker, PeerConfig


async def _serve(spec: dict[str, Any]) -> None:
    import structlog  # noqa: PLC0415

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    speaker_cls, peer_config_cls = _load_speaker()
    speaker = speaker_cls(spec["asn"], spec["address"], spec["address"], spec["port"])
    for peer in spec["peers"]:
        speaker.add_peer(
            peer_config_cls(
                address=peer["address"],
                asn=peer["asn"],
                port=peer["port"],
                hold_time=240,
                keepalive=80,
                connect_retry=1.0,
            )
        )
    await speaker.start()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def count() -> int:
        return sum(len(speaker.received_routes(p["address"])) for p in spec["peers"])

    async def count_async() -> int:
        return count()

    def stdin_loop() -> None:
        for line in sys.stdin:
            if line.strip() == "count":
                value = asyncio.run_coroutine_threadsafe(count_async(), loop).result()
                sys.stdout.write(f"{value}\n")
                sys.stdout.flush()
        loop.call_soon_threadsafe(done.set)

    threading.Thread(target=stdin_loop, daemon=True).start()
    await done.wait()
    await speaker.stop()


def main() -> None:
    if sys.argv[1:] == ["--check"]:
        try:
            _load_speaker()
        except Exception as exc:
            print(f"nexthop speaker unavailable: {exc!r}")
            sys.exit(1)
        return
    spec = json.loads(Path(sys.argv[1]).read_text())
    asyncio.run(_serve(spec))


if __name__ == "__main__":
    main()
