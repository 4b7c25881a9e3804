"""Background loops that outlive one bad round: used by the broker and by the local Livy."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable


async def every(
    interval: float, action: Callable[[], Awaitable[object]], log: logging.Logger
) -> None:
    """Run ``action`` every ``interval`` seconds until cancelled; a failed round is logged, not fatal."""
    while True:
        await asyncio.sleep(interval)
        try:
            await action()
        except Exception:  # a background loop must outlive one bad round
            log.exception("%s failed", getattr(action, "__qualname__", action))
