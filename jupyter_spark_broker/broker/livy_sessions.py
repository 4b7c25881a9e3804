"""Livy sessions as a session backend: the part of a Livy session's life that is Livy's own.

Creating one stays with the broker (``SparkBroker._create``), since the warm pool, the profiles'
limits and the lifecycle's orphan search take part in it; what a Livy session's end needs is here.
"""

from __future__ import annotations

import contextlib

from ..registry.records import SessionRecord
from .errors import NotFound
from .live import LiveSessions


class LivySessions:
    def __init__(self, live: LiveSessions):
        self.live = live

    async def end(self, record: SessionRecord) -> None:
        """Delete the session in Livy; one Livy already forgot is ended too (the goal is reached)."""
        if record.livy_id is None:  # its create never reached Livy, or is still under way
            return
        livy = await self.live.endpoints.client(record.endpoint)
        with contextlib.suppress(NotFound):
            await self.live.livy_call(record.endpoint, livy.delete_session(record.livy_id))
