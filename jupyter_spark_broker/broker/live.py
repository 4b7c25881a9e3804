"""The live sessions as this server last read or wrote them, and the writes that keep them so.

Every change of a session's row goes through :meth:`LiveSessions.update`: the cache, the panel's and
the audit trail's events, the metrics of sessions that ended, and the detach of notebooks from a
session that ended all follow from it. The statement proxy, the lifecycle and the warm pool are given
this object (not the broker): it is the part of the domain they share.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, TypeVar, cast

from .. import metrics
from ..events import BROKER_ACTOR, BrokerEvents
from ..livy import LivyError, LivyHTTPError, Session
from ..registry.registry import AttachmentRecord, Registry, SessionFields, SessionRecord
from .endpoints import SparkEndpoints
from .errors import BrokerError, Conflict, NotFound
from .livy_failures import SESSION_LOST, translate_livy_error
from .ownership import Ownership
from .protocols import CONNECT
from .session_settings import livy_view

log = logging.getLogger("jupyter_spark_broker")
if TYPE_CHECKING:
    from typing import Unpack  # Python 3.11

T = TypeVar("T")
RecordT = TypeVar("RecordT", bound=SessionRecord | None)


class LiveSessions:
    def __init__(
        self,
        *,
        registry: Registry,
        endpoints: SparkEndpoints,
        events: BrokerEvents,
        owners: Ownership,
        endpoint_label: Callable[[str], str],
    ):
        self.registry = registry
        self.endpoints = endpoints
        self.events = events
        self.owners = owners
        self.endpoint_label = endpoint_label  # an endpoint as metrics name it
        # The statement path skips a registry read. The state poller reloads them every round, so a
        # change by another server shows within poll_interval (and Livy's 404 catches the rest).
        self._live: dict[str, SessionRecord] = {}
        # Sessions being killed here: gone from Livy before their row says killed, not "lost".
        self._killing: set[str] = set()
        # Called with a session's id when it ends (the statement proxy forgets its watches).
        self.on_ended: list[Callable[[str], None]] = []

    # -- the cache ------------------------------------------------------------------------------

    def records(self) -> list[SessionRecord]:
        return list(self._live.values())

    async def reload(self) -> list[SessionRecord]:
        """The live sessions as the registry has them now (the state poller's every round).

        On a registry several servers share, another broker may have written a state (the one that
        lists the endpoint, or one that killed a session): it is reported here as well, so that
        this server's panels follow it. A row this server wrote during the read keeps its own
        version, and its events were sent when it was written.
        """
        before = dict(self._live)
        records = await self.registry.live_sessions()
        during = self._live
        written_here = {
            session_id
            for session_id in before.keys() | during.keys()
            if before.get(session_id) is not during.get(session_id)
        }
        listed = {record.id: record for record in records}
        self._live = {id: during[id] for id in written_here if id in during}
        for record in records:
            if record.id in written_here:
                continue
            self._live[record.id] = record
            if record.id in before:
                self.events.state_changed(record, before[record.id].state)
        for session_id in before.keys() - listed.keys() - written_here:
            ended = await self.registry.get_session(session_id)
            if ended is not None and ended.is_finished:  # ended by another server
                self.events.state_changed(ended, before[session_id].state)
                for callback in self.on_ended:
                    callback(session_id)
        return records

    def remember(self, record: RecordT) -> RecordT:
        if record is not None:
            if record.is_finished:
                if self._live.pop(record.id, None) is not None:  # it ended just now
                    label = self.endpoint_label(record.endpoint)
                    profile = record.profile or metrics.DEFAULT_PROFILE
                    metrics.SESSIONS_ENDED.labels(label, profile, record.state).inc()
                for ended in self.on_ended:
                    ended(record.id)
            else:
                self._live[record.id] = record
        return record

    @contextlib.contextmanager
    def killing(self, session_id: str) -> Iterator[None]:
        """While a kill runs here: Livy may no longer have the session, but it is not lost."""
        self._killing.add(session_id)
        try:
            yield
        finally:
            self._killing.discard(session_id)

    def is_being_killed(self, session_id: str) -> bool:
        return session_id in self._killing

    # -- reading a user's session ---------------------------------------------------------------

    async def get_session(self, user: str, session_id: str) -> SessionRecord:
        record = await self.registry.get_session(session_id)
        if record is None:
            raise NotFound(f"no Spark session {session_id!r}")
        self.owners.check_owner(user, record.owner, f"Spark session {session_id!r}")
        return record

    async def live_session(
        self, user: str, session_id: str, protocol: str = "livy", *, ended_too: bool = False
    ) -> SessionRecord:
        """``user``'s running session of ``protocol``: 409 when it ended (unless ``ended_too``), is
        another protocol's, or (a Livy one) has no Livy session yet."""
        record = self._live.get(session_id)
        if record is None:
            record = self.remember(await self.get_session(user, session_id))
        else:
            self.owners.check_owner(user, record.owner, f"Spark session {session_id!r}")
        if record.is_finished and not ended_too:
            raise ended(record)
        if record.protocol != protocol:
            raise Conflict(
                f"Spark session {session_id!r} is a {record.protocol} session, not {protocol}"
                + (": clients reach it at its sc:// URL" if record.protocol == CONNECT else ""),
                reason="wrong_protocol",
            )
        if protocol == CONNECT:
            return record
        if record.livy_id is None:
            raise Conflict(
                f"Spark session {session_id!r} is still being created", reason="starting"
            )
        return record

    # -- writing ---------------------------------------------------------------------------------

    async def update(
        self, session_id: str, *, expect_state: str | None = None, **fields: Unpack[SessionFields]
    ) -> SessionRecord | None:
        """Change the session's row (a finished row stays finished: the registry's rule)."""
        before = self._live.get(session_id)
        previous = before.state if before is not None else expect_state
        updated = self.remember(
            await self.registry.update_session(session_id, expect_state=expect_state, **fields)
        )
        if updated is not None and "state" in fields:
            self.events.state_changed(updated, previous)  # nothing when it did not change
            if updated.is_finished and session_id not in self._killing:  # a kill ends them itself
                await self.end_attachments(updated, actor=BROKER_ACTOR)
        return updated

    async def apply_livy_view(self, record: SessionRecord, session: Session) -> SessionRecord:
        """Follow Livy's view of the session; a kill that happened meanwhile wins."""
        changes = cast(  # the columns of livy_view that changed
            SessionFields,
            {
                name: value
                for name, value in livy_view(session).items()
                if getattr(record, name) != value and (value is not None or name == "state")
            },
        )
        if not changes:
            return record
        updated = await self.update(record.id, expect_state=record.state, **changes)
        return updated or record

    async def follow_after_statement(self, session_id: str) -> None:
        """A statement of the session was just seen finished. Livy's REPL went idle before the
        statement became available, but the registry shows what the state poller last saw: a
        session it saw ``busy`` stays so until its next round. So a session shown busy is asked
        again now, before anyone reads the result, and no client reads a state Livy has left."""
        record = self._live.get(session_id)
        if record is None or record.state != "busy" or record.livy_id is None:
            return
        try:
            livy = await self.endpoints.client(record.endpoint)
            await self.apply_livy_view(record, await livy.get_session(record.livy_id))
        except (LivyError, BrokerError) as error:  # the result stands; the poller catches up
            log.info("spark broker: refreshing session %s after a statement: %s", session_id, error)
        except Exception:  # a registry fault must not cost the client its statement's result
            log.exception("spark broker: refreshing session %s after a statement", session_id)

    # -- what ends with a session ----------------------------------------------------------------

    async def end_attachments(self, session: SessionRecord, *, actor: str) -> None:
        """Detach every notebook from ``session``, which has ended: a notebook attached to a
        killed, dead or lost session is attached to nothing. Each is a "detached" in the audit
        trail, after the session's own end (its state change, or "killed")."""
        attachments, _ = await self.registry.attachments(session_id=session.id)
        reason = f"its session ended: {session.state}"
        for attachment in attachments:
            if await self.registry.detach(attachment.id) is not None:  # not detached meanwhile
                self.events.detached(session, attachment, actor=actor, reason=reason)
                metrics.DETACHES.labels("session_ended").inc()

    async def report_detached(
        self, attachment: AttachmentRecord, *, actor: str, reason: str | None = None
    ) -> None:
        """The audit trail's "detached", once the attachment is gone."""
        session = self._live.get(attachment.session_id) or await self.registry.get_session(
            attachment.session_id
        )
        if session is not None:
            self.events.detached(session, attachment, actor=actor, reason=reason)

    # -- Livy failures ---------------------------------------------------------------------------

    async def livy_call(
        self,
        endpoint: str,
        call: Awaitable[T],
        record: SessionRecord | None = None,
        statement_id: int | None = None,
    ) -> T:
        """Await a Livy call; its failure as a broker error (a lost session recorded as lost)."""
        try:
            return await call
        except LivyError as error:
            raise await self.livy_failure(endpoint, error, record, statement_id) from None

    async def livy_failure(
        self,
        endpoint: str,
        error: LivyError,
        record: SessionRecord | None = None,
        statement_id: int | None = None,
    ) -> BrokerError:
        failure = translate_livy_error(
            endpoint,
            error,
            session_id=None if record is None else record.id,
            statement_id=statement_id,
        )
        if record is not None and failure.reason == SESSION_LOST:
            # Livy forgot the session: record it, so the notebook's next attach makes a new one.
            # Only if it is as this server last saw it: another server or the Hub service may
            # have killed it meanwhile, and then the user is told who ended it.
            recorded = await self.update(
                record.id,
                expect_state=record.state,
                state="lost",
                message="Livy no longer has this session",
            )
            if recorded is None:
                now = self.remember(await self.registry.get_session(record.id))
                if now is not None and now.is_finished:
                    return ended(now)
        elif record is not None and isinstance(error, LivyHTTPError) and error.status in (400, 500):
            # Livy refuses the statements of a session that ended since the poller last looked
            # (its driver died) with 400 or 500 ("Session is in state dead"): the session's end is
            # the answer. Not on 502-504, which a Livy in trouble answers for live sessions too.
            finished = await self._ended_in_livy(record)
            if finished is not None:
                return ended(finished)
        return failure

    async def _ended_in_livy(self, record: SessionRecord) -> SessionRecord | None:
        """The session as Livy shows it now, recorded, if it has ended; else None."""
        if record.livy_id is None:
            return None
        try:
            livy = await self.endpoints.client(record.endpoint)
            session = await livy.get_session(record.livy_id)
        except LivyError:
            return None
        if not session.is_finished:
            return None
        updated = await self.apply_livy_view(record, session)
        return updated if updated.is_finished else None


def ended(record: SessionRecord) -> Conflict:
    """The refusal of a call about a session that has ended (409 ``session_finished``)."""
    return Conflict(
        f"Spark session {record.id!r} is {record.state}"
        + (f": {record.message}" if record.message else ""),
        reason="session_finished",
    )
