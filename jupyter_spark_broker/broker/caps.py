"""The cap on a user's live sessions (``SparkProfiles.max_sessions_per_user``), Livy and Connect
together: counted and added one at a time per user, so concurrent creates cannot all pass it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from ..registry.registry import Registry
from .ownership import Ownership
from .profiles import SparkProfiles, check_session_cap

# The warm pool's sessions belong to no user until claimed: no cap, no profile limits.
POOL_OWNER = "(warm pool)"


class SessionCaps:
    def __init__(self, registry: Registry, catalog: SparkProfiles, owners: Ownership):
        self.registry = registry
        self.catalog = catalog
        self.owners = owners
        self._locks: dict[str, asyncio.Lock] = {}  # per user: count and add one at a time

    def exempt(self, user: str) -> bool:
        return user == POOL_OWNER or self.owners.is_admin(user)

    @contextlib.asynccontextmanager
    async def within(self, user: str) -> AsyncIterator[None]:
        """429 when ``user`` already holds ``max_sessions_per_user`` live sessions; else the body
        (which adds the user's session row) runs before this server counts for ``user`` again.
        Servers sharing a registry count separately."""
        cap = self.catalog.max_sessions_per_user
        if self.exempt(user) or not cap:
            yield
            return
        async with self._locks.setdefault(user, asyncio.Lock()):
            check_session_cap(user, await self.registry.count_live(user), cap)
            yield
