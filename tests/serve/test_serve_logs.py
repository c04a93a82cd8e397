"""``nexthop serve`` logs structured events: JSON lines on a pipe (not a terminal),
filtered by ``--log-level``, each session event carrying its route server,
instance and peering; uvicorn's own records come out in the same format."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from serve_process import EXAMPLE, example_addresses, free_port, nva_speaker, start_serve, until

from nexthop.bgp.fsm import SessionState

UP = SessionState.ESTABLISHED


def _events(stderr: str) -> list[dict[str, Any]]:
    """Every JSON line of ``stderr`` (the Rich tables and banners are not logs)."""
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def _serve_one_session(db: Path, *args: str) -> str:
    """Serve the example, bring one NVA's sessions up and down; serve's stderr."""

    async def main() -> str:
        bgp_port = free_port()
        served = await start_serve(db, bgp_port, str(EXAMPLE), *args)
        speaker = nva_speaker("nva1", example_addresses(), bgp_port)
        try:
            await speaker.start()
            await until(
                lambda: all(
                    speaker.peer_state(p) is SessionState.ESTABLISHED for p in speaker.peers
                ),
                "nva1 Established on both instances",
            )
        finally:
            await speaker.stop()
        async with served.client() as api:
            await until(lambda: _all_down(api), "the route server to see nva1's sessions down")
        return served.stop()

    return asyncio.run(main())


async def _all_down(api: Any) -> bool:
    peering = (await api.get("/api/v1/routeservers/rs/peerings/nva1")).json()
    return bool(peering["connectionState"] == "NotConnected")


def test_info_level_logs_json_lines_with_peer_context(tmp_path: Path) -> None:
    events = _events(_serve_one_session(tmp_path / "a.db", "--log-level", "info"))
    assert events, "no JSON log lines on a pipe"
    for event in events:
        assert {"event", "level", "timestamp"} <= event.keys()
        assert event["timestamp"].endswith("Z")  # UTC ISO 8601
    established = [e for e in events if e["event"] == "session_established"]
    assert {e["instance"] for e in established} == {
        "RouteServiceRole_IN_0",
        "RouteServiceRole_IN_1",
    }
    assert all(e["peering"] == "nva1" and e["route_server"] == "rs" for e in established)
    assert any(e["event"] == "session_down" and e["peering"] == "nva1" for e in events)
    assert any(e.get("logger") == "uvicorn.error" for e in events)  # uvicorn, same format


def test_default_level_prints_no_info_events(tmp_path: Path) -> None:
    events = _events(_serve_one_session(tmp_path / "b.db"))
    assert {e["level"] for e in events} <= {"warning", "error", "critical"}
    # the NVA's Cease on stop is a warning, so the level filter is what hides the rest
    assert any(e["event"] == "notification_received" for e in events)


def test_an_unknown_log_level_is_refused_naming_the_option(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nexthop.cli.main", "serve", "--log-level", "loud"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--log-level" in result.stderr
