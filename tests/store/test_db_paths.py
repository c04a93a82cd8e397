"""A ``--db`` path that cannot hold a database is a one-line error at start, exit 1,
no traceback: for ``nexthop serve``, ``nexthop lab up`` and a local CLI command.

Issue 15: a path under a regular file printed a raw ``FileExistsError``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"
TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


COMMANDS: dict[str, Callable[[], list[str]]] = {
    "serve": lambda: ["serve", "--no-bgp", "--port", str(free_port())],
    "lab up": lambda: ["lab", "up", str(EXAMPLE), "--port", str(free_port())],
    "local query": lambda: ["routeserver", "peering", "list", "--routeserver", "rs"],
    "local apply": lambda: ["apply", "-f", str(EXAMPLE)],
}


def run(command: list[str], db: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NEXTHOP_DB", "NEXTHOP_TOKEN")}
    return subprocess.run(
        [sys.executable, "-m", "nexthop.cli.main", *command, "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=env,
        check=False,
    )


def unwritable_directory(tmp_path: Path) -> Path:
    """A directory this process cannot create files in. Root ignores mode bits, so
    as root it is sysfs, where nobody can create a file."""
    if os.geteuid() != 0:
        directory = tmp_path / "read-only"
        directory.mkdir(mode=0o555)
        return directory
    sysfs = Path("/sys")
    if not sysfs.is_dir():
        pytest.skip("running as root without /sys: no directory root cannot write")
    return sysfs


def bad_paths(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    regular = tmp_path / "a-file"
    regular.write_text("not a directory\n")
    (tmp_path / "a-dir").mkdir()
    ro = unwritable_directory(tmp_path)
    return {
        "under-a-file": (
            regular / "nexthop.db",
            f"cannot use the database {regular}/nexthop.db: {regular} is a file, not a directory",
        ),
        "under-a-file-deeper": (
            regular / "sub" / "nexthop.db",
            f"{regular} is a file, not a directory",
        ),
        "missing-directory": (
            tmp_path / "missing" / "nexthop.db",
            f"the directory {tmp_path}/missing does not exist (create it first)",
        ),
        "read-only-directory": (
            ro / "nexthop.db",
            f"cannot use the database {ro}/nexthop.db: the directory {ro} is not writable",
        ),
        "a-directory": (tmp_path / "a-dir", "it is a directory, not a file"),
    }


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    "case",
    [
        "under-a-file",
        "under-a-file-deeper",
        "missing-directory",
        "read-only-directory",
        "a-directory",
    ],
)
def test_a_bad_db_path_is_a_clear_error_at_start(tmp_path: Path, command: str, case: str) -> None:
    db, message = bad_paths(tmp_path)[case]
    result = run(COMMANDS[command](), db)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert message in result.stderr.replace("\n", "")
    assert result.stderr.startswith("error: ")
    assert not (tmp_path / "missing").exists()  # an explicit path's directory is not made


def test_an_existing_directory_is_used(tmp_path: Path) -> None:
    db = tmp_path / "nexthop.db"
    assert run(COMMANDS["local apply"](), db).returncode == 0
    result = run(COMMANDS["local query"](), db)
    assert result.returncode == 0, result.stderr
    assert "nva1" in result.stdout
