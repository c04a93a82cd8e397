"""The missing-daemon policy of ``require_daemon`` (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest


def test_missing_daemon_skips_locally_with_the_package_name(
    require_daemon: Callable[[str, str, str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="install the Debian package no-such-pkg"):
        require_daemon("ghost", "no-such-bgp-daemon-binary", "no-such-pkg")


def test_missing_daemon_fails_in_ci(
    require_daemon: Callable[[str, str, str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no-such-bgp-daemon-binary not found"):
        require_daemon("ghost", "no-such-bgp-daemon-binary", "no-such-pkg")


def test_present_binary_is_returned_as_a_path(
    require_daemon: Callable[[str, str, str], str],
) -> None:
    assert require_daemon("shell", "sh", "dash").endswith("/sh")
