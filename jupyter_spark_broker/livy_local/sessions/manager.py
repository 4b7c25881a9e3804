"""The local Livy's session manager: create, find and delete sessions; Livy's create-time checks;
its timers (idle timeout, TTL, retention of finished sessions, heartbeat watchdog)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import OrderedDict

from ...support.looping import every
from ..config import UNSUPPORTED_KINDS, LocalLivyConfig, parse_duration
from ..messages import CreateInteractiveRequest, normalise_kind
from .session import LocalSession, Rejected

log = logging.getLogger("livy_local")


class SessionManager:
    """All sessions of one server, in creation order, plus Livy's timers (GC and heartbeat watchdog)."""

    def __init__(self, config: LocalLivyConfig, server_url: str = ""):
        self.config = config
        self.server_url = server_url
        self.sessions: OrderedDict[int, LocalSession] = OrderedDict()
        self._ids = itertools.count()
        self._timers: list[asyncio.Task] = []

    def start_timers(self) -> None:
        self._timers = [
            asyncio.create_task(every(self.config.gc_interval, self.collect_garbage, log)),
            asyncio.create_task(
                every(self.config.heartbeat_watchdog_interval, self.expire_heartbeats, log)
            ),
        ]

    async def shutdown(self) -> None:
        """Livy without recovery stops every session when it shuts down."""
        for timer in self._timers:
            timer.cancel()
        await asyncio.gather(*(s.stop() for s in list(self.sessions.values())))
        self.sessions.clear()

    def find(self, ref: str) -> LocalSession | None:
        if ref.isdigit():
            return self.sessions.get(int(ref))
        return next((s for s in self.sessions.values() if s.name == ref), None)

    async def create(
        self, request: CreateInteractiveRequest, owner: str | None, proxy_user: str | None = None
    ) -> LocalSession:
        kind = normalise_kind(request.kind) if request.kind else "shared"
        self._check_create(request, kind)
        session = LocalSession(
            next(self._ids),
            request,
            kind=kind,
            owner=owner,
            proxy_user=proxy_user,
            config=self.config,
            server_url=self.server_url,
        )
        self.sessions[session.id] = session
        await session.start()
        return session

    def _check_create(self, request: CreateInteractiveRequest, kind: str) -> None:
        live = [s for s in self.sessions.values() if s.is_active]
        if sum(1 for s in live if s.state == "starting") >= self.config.max_creation:
            raise Rejected("Rejected, too many sessions are being created!")
        if self.config.max_sessions is not None and len(live) >= self.config.max_sessions:
            raise Rejected(
                f"Rejected, too many sessions: this local Livy runs at most "
                f"{self.config.max_sessions} (--max-sessions)"
            )
        reasons = []
        if kind in UNSUPPORTED_KINDS:
            reasons.append(
                f"{UNSUPPORTED_KINDS[kind]}, which this local Livy does not have; "
                "use pyspark, spark, sql or shared"
            )
        if kind == "spark" and self.config.spark == "off":
            reasons.append(
                "a spark (Scala) session runs in the local SparkSession's JVM, and this local Livy "
                "runs with --spark off"
            )
        if request.name is not None:
            if request.name.isdigit():
                reasons.append(f"Invalid session name: {request.name}")
            duplicate = next((s for s in live if s.name == request.name), None)
            if duplicate is not None:
                reasons.append(
                    f"Duplicate session name: Some({request.name}) for session {duplicate.id}"
                )
        blacklisted = sorted(self.config.blacklisted_conf & set(request.conf or {}))
        if blacklisted:
            reasons.append(
                "Blacklisted configuration values in session config: " + ", ".join(blacklisted)
            )
        for field in ("ttl", "idleTimeout"):
            value = getattr(request, field)
            if value is not None:
                try:
                    parse_duration(value)
                except ValueError as error:
                    reasons.append(f"{error} ({field})")
        if reasons:
            raise Rejected(f"Rejected, Reason: {reasons[0]}")

    async def delete(self, session: LocalSession) -> None:
        self.sessions.pop(session.id, None)
        await session.stop()

    # -- timers ---------------------------------------------------------------------------------

    async def collect_garbage(self) -> None:
        """Idle timeout, TTL and retention of finished sessions (``SessionManager.collectGarbage``)."""
        now = time.monotonic()
        for session in list(self.sessions.values()):
            if not session.is_active:
                if (
                    session.finished_on is not None
                    and now - session.finished_on > self.config.state_retain
                ):
                    self.sessions.pop(session.id, None)
                continue
            reason = self._expiry_reason(session, now)
            if reason:
                session.log.append(f"livy-local: {reason}; deleting the session")
                await self.delete(session)

    def _expiry_reason(self, session: LocalSession, now: float) -> str | None:
        timeout = session.idle_timeout or self.config.session_timeout
        busy = session.state == "busy" and self.config.session_timeout_skip_busy
        if timeout > 0 and not busy and now - session.last_activity > timeout:
            return f"idle for more than {timeout:g} s"
        if self.config.ttl_check:
            ttl = session.ttl or self.config.default_ttl
            if now - session.started_on > ttl:
                return f"older than its ttl of {ttl:g} s"
        return None

    async def expire_heartbeats(self) -> None:
        now = time.monotonic()
        for session in list(self.sessions.values()):
            deadline = session.heartbeat_deadline
            if session.is_active and deadline is not None and now > deadline:
                session.log.append("livy-local: heartbeat expired; deleting the session")
                await self.delete(session)
