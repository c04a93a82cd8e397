"""Run coroutines on a runtime's event loop from other threads.

The control plane's API handlers run in FastAPI worker threads while a live
runtime (the lab, ``serve``'s route servers) owns an asyncio loop in another
thread; every call crosses with ``run_coroutine_threadsafe`` and waits for the
result. Calling from the loop's own thread would deadlock, so it is refused with
a ``ControlPlaneError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nexthop.errors import ControlPlaneError

__all__ = ["CALL_TIMEOUT_S", "LoopBridge"]

CALL_TIMEOUT_S = 30.0
_T = TypeVar("_T")


class LoopBridge:
    """Calls into ``loop`` from any other thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, busy_code: str, what: str) -> None:
        self.loop = loop
        self._busy_code = busy_code
        self._what = what

    def on_loop(self) -> bool:
        """True when the caller runs on the bridged loop itself."""
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    def call(self, make: Callable[[], Awaitable[_T]], timeout: float = CALL_TIMEOUT_S) -> _T:
        """Run ``make()`` on the loop and return its result (or raise its error)."""

        async def run() -> _T:
            return await make()

        if self.on_loop():
            msg = f"{self._what} cannot be called from its own loop"
            raise ControlPlaneError(self._busy_code, msg)
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)
