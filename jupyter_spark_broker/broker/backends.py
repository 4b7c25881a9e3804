"""Session backends: where the sessions of one protocol are made and ended. Livy sessions
(``livy_sessions.py``) and Spark Connect sessions (``connect_sessions.py``) are the two; the broker
holds them by protocol and asks them the same things."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..registry.records import SessionRecord
from .livy_connect import LivyConnectPlan
from .profiles import Profile


@dataclass(frozen=True)
class NewSession:
    """What a new session is asked to be. A backend reads what its protocol has: a Connect
    session has no kind or Livy settings, its profile's settings are its server's."""

    user: str
    endpoint: str
    profile: Profile
    share_key: str | None  # None: reachable by its id only
    kind: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)  # the request's Livy settings
    path: str | None = None  # the notebook it is made for
    attached: bool = True  # False: the reaper's clock starts now
    request_key: str | None = None  # a retried create finds it by this
    livy_connect: LivyConnectPlan | None = None  # a Livy session that serves Connect too


class SessionBackend(Protocol):
    async def create(self, new: NewSession) -> SessionRecord:
        """A new session's row, within the user's cap (429 past it); ShareKeyTaken when another
        server gave ``new.share_key`` a session first."""
        ...

    async def end(self, record: SessionRecord) -> None:
        """End the session where it runs; one already gone there is ended too."""
        ...
