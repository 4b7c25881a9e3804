"""The statement proxy: run code, long-poll, cancel, complete; one Livy poller per running statement.

A kernel sends a statement and then long-polls for its result (``GET ...?wait=S``). The proxy polls Livy
with the client's adaptive backoff (milliseconds at first), shares that one poll among all waiters, and
keeps a finished result a moment for the long-poll that comes just after the POST.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from .. import metrics
from ..livy import LivyClient, LivyError, PollBackoff, Statement
from ..livy.names import SESSION_STARTING_STATES
from ..registry.orm import utcnow
from ..registry.registry import SessionRecord
from .endpoints import SparkEndpoints
from .errors import BrokerError, Conflict, LivyTimedOut, SessionStarting
from .live import LiveSessions, ended
from .session_settings import why_it_failed

log = logging.getLogger("jupyter_spark_broker")

# Activity is written to the registry at most this often per session (the reaper counts in minutes).
TOUCH_EVERY = 5.0
# Polling stops when nobody has waited on the statement for this long.
IDLE_AFTER = 30.0
# A poll started by the POST, before anyone waits, stops sooner.
UNCLAIMED_AFTER = 5.0
# A finished statement stays known this long.
KEEP_FINISHED = 10.0

Fetch = Callable[[], Awaitable[Statement]]
Report = Callable[[Statement], Any]


class StatementWatch:
    """Polls one statement until it is finished, Livy fails, or nobody waits any more."""

    def __init__(
        self, fetch: Fetch, backoff: PollBackoff, idle_after: float, report: Report | None = None
    ):
        self._fetch = fetch
        self._report = report  # told each change of the statement's state or progress
        self._backoff = backoff
        self._idle_after = idle_after
        self.latest: Statement | None = None
        self.error: LivyError | None = None
        # Set when this broker sent the statement: observed once the poll ends, however it ends.
        self.timer: metrics.StatementTimer | None = None
        self._waiters = 0
        self._last_wait = time.monotonic()
        self._updated = asyncio.Event()
        self.task = asyncio.create_task(self._poll())

    @property
    def done(self) -> bool:
        """No longer polling."""
        return self.task.done()

    @property
    def finished(self) -> bool:
        """Polled to the statement's end: ``latest`` is its result."""
        return self.error is None and self.latest is not None and self.latest.is_finished

    async def _poll(self) -> None:
        delays = self._backoff.delays()
        try:
            while True:
                try:
                    latest = await self._fetch()
                except LivyError as error:
                    self.error = error
                    return
                previous, self.latest = self.latest, latest
                changed = previous is None or (previous.state, previous.progress) != (
                    latest.state,
                    latest.progress,
                )
                if changed and self._report is not None:
                    self._report(latest)
                self._notify()
                if self.latest.is_finished or self._abandoned():
                    return
                await asyncio.sleep(next(delays))
        finally:
            if self.timer is not None:
                outcome = "livy_error" if self.error else metrics.statement_outcome(self.latest)
                self.timer.finish(outcome)
            self._notify()  # waiters run after this task is done, so they see ``done``

    def _abandoned(self) -> bool:
        return self._waiters == 0 and time.monotonic() - self._last_wait > self._idle_after

    def _notify(self) -> None:
        self._updated.set()
        self._updated = asyncio.Event()

    async def wait(self, timeout: float, *, first_answer_within: float) -> Statement:
        """The statement once finished, or as it stands when ``timeout`` runs out. Before Livy's
        first answer there is nothing to return: that is waited for up to ``first_answer_within``
        (the broker's longest hold), then :class:`LivyTimedOut`."""
        started = time.monotonic()
        deadline, give_up = started + timeout, started + max(timeout, first_answer_within)
        self._waiters += 1
        try:
            while True:
                if self.error is not None:
                    raise self.error
                latest, now = self.latest, time.monotonic()
                remaining = (deadline if latest is not None else give_up) - now
                if latest is not None and (latest.is_finished or self.done or remaining <= 0):
                    return latest
                if remaining > 0 and self.done:  # stopped before its first answer (a kill)
                    with contextlib.suppress(asyncio.TimeoutError):
                        return await asyncio.wait_for(self._fetch(), remaining)
                    remaining = 0
                if remaining <= 0:
                    raise LivyTimedOut(
                        f"Livy did not answer about the statement within {give_up - started:g} s "
                        "(SparkBroker.max_statement_wait)"
                    )
                updated = self._updated
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(updated.wait(), remaining)
        finally:
            self._waiters -= 1
            self._last_wait = time.monotonic()


class StatementWatches:
    """Every statement watch of the broker, by (broker session id, statement id)."""

    def __init__(self) -> None:
        self._watches: dict[tuple[str, int], StatementWatch] = {}

    def watch(
        self,
        session_id: str,
        statement_id: int,
        fetch: Fetch,
        backoff: PollBackoff,
        *,
        idle_after: float = IDLE_AFTER,
        report: Report | None = None,
    ) -> StatementWatch:
        """The statement's one poller: the running one, a finished one kept a moment, or a new one
        (``idle_after`` applies to a new one)."""
        key = (session_id, statement_id)
        watch = self._watches.get(key)
        if watch is None or (watch.done and not watch.finished):
            watch = self._watches[key] = StatementWatch(fetch, backoff, idle_after, report)
            watch.task.add_done_callback(lambda _task: self._retire(key, watch))
        return watch

    def finished_result(self, session_id: str, statement_id: int) -> Statement | None:
        """The statement's result if it was polled to its end and is still kept."""
        watch = self._watches.get((session_id, statement_id))
        return watch.latest if watch is not None and watch.finished else None

    def forget_session(self, session_id: str) -> None:
        """Stop polling every statement of a session that ended."""
        for key in [key for key in self._watches if key[0] == session_id]:
            self._watches.pop(key).task.cancel()

    def stop(self) -> None:
        for watch in self._watches.values():
            watch.task.cancel()
        self._watches.clear()

    def _retire(self, key: tuple[str, int], watch: StatementWatch) -> None:
        """A finished result is kept ``KEEP_FINISHED`` seconds; anything else goes at once. Only this
        watch goes: a newer one under the same key stays."""

        def forget() -> None:
            if self._watches.get(key) is watch:
                del self._watches[key]

        if watch.finished:
            asyncio.get_running_loop().call_later(KEEP_FINISHED, forget)
        else:
            forget()


class StatementSettings(Protocol):
    """The broker's settings the proxy reads (its traits, read live)."""

    statement_start_hold: float
    max_statement_wait: float
    session_start_timeout: float
    default_kind: str


class StatementProxy:
    """Runs code in a broker session and answers for its statements: submit (optionally waiting),
    long-poll, cancel, complete. Ownership and Livy failures are the live sessions' (their
    ``live_session`` and ``livy_call``)."""

    def __init__(self, live: LiveSessions, endpoints: SparkEndpoints, settings: StatementSettings):
        self.live = live
        self.endpoints = endpoints
        self.settings = settings
        self.watches = StatementWatches()
        self._touched: dict[str, float] = {}  # session id -> monotonic time of the last touch
        self._touching: set[asyncio.Task[None]] = set()  # activity writes under way

    def forget_session(self, session_id: str) -> None:
        """The session ended: stop polling its statements and forget its activity."""
        self.watches.forget_session(session_id)
        self._touched.pop(session_id, None)

    def finished_result(self, session_id: str, statement_id: int) -> Statement | None:
        """The statement's result if the broker polled it to its end and still keeps it."""
        return self.watches.finished_result(session_id, statement_id)

    def stop(self) -> None:
        self.watches.stop()
        for task in self._touching:  # the registry closes next
            task.cancel()

    async def submit(
        self, user: str, session_id: str, *, code: str, kind: str | None, wait: float = 0.0
    ) -> Statement:
        """Run code; with ``wait``, also long-poll for the result, so a cell costs one request.

        The whole hold, the session's start and the long-poll together, is ``wait`` (without it,
        ``statement_start_hold``), and never more than ``max_statement_wait``."""
        hold = min(
            wait if wait > 0 else self.settings.statement_start_hold,
            self.settings.max_statement_wait,
        )
        deadline = time.monotonic() + hold
        record = await self._wait_until_ready(
            await self.live.live_session(user, session_id), hold=hold
        )
        livy = await self.endpoints.client(record.endpoint)
        # The round trip, until seen finished.
        timer = metrics.StatementTimer(self.live.endpoint_label(record.endpoint))
        try:
            statement = await self.live.livy_call(
                record.endpoint,
                livy.create_statement(
                    record.livy_ref, code, kind=kind or self._default_kind(record)
                ),
                record,
            )
        except BrokerError:
            timer.finish("livy_error")
            raise
        await self._touch(record.id)
        if statement.is_finished:  # Apache Livy may answer the POST with the result itself
            timer.finish(metrics.statement_outcome(statement))
            await self.live.follow_after_statement(record.id)
            return statement
        # Poll from now on: a kernel long-polls for it next, and its GET may find it done.
        idle_after = IDLE_AFTER if wait > 0 else UNCLAIMED_AFTER
        watch = self._watch(record, livy, statement.id, idle_after=idle_after)
        watch.timer = timer
        if wait <= 0:
            return statement
        left = max(0.0, deadline - time.monotonic())
        try:
            latest = await watch.wait(left, first_answer_within=left)
        except LivyTimedOut:  # no answer about it yet, within the hold: the statement as made
            return statement
        except LivyError as error:
            raise await self.live.livy_failure(
                record.endpoint, error, record, statement.id
            ) from None
        if latest.is_finished:
            await self._touch(record.id)
        return latest

    async def _touch(self, session_id: str) -> None:
        """Record activity, at most every ``TOUCH_EVERY`` seconds per session, and without making
        the statement's request wait for the database write (a commit, queued behind others)."""
        now = time.monotonic()
        if now - self._touched.get(session_id, 0.0) >= TOUCH_EVERY:
            self._touched[session_id] = now
            task = asyncio.create_task(self._write_touch(session_id))
            self._touching.add(task)
            task.add_done_callback(self._touching.discard)

    async def _write_touch(self, session_id: str) -> None:
        try:
            await self.live.registry.touch(session_id)
        except Exception:  # the reaper then sees older activity; the statement is not affected
            log.exception("spark broker: recording activity on session %s failed", session_id)

    async def _wait_until_ready(self, record: SessionRecord, *, hold: float) -> SessionRecord:
        """A statement sent while the session starts waits for it, but no longer than ``hold``
        (the request's wait): then 409 with Retry-After, so no request outlives its client's
        patience. Past ``session_start_timeout`` since the session was made, 504."""
        if record.state not in SESSION_STARTING_STATES:
            return record
        started_for = (utcnow() - record.created).total_seconds()
        left = max(0.0, self.settings.session_start_timeout - started_for)
        livy = await self.endpoints.client(record.endpoint)
        patience = min(hold, left)
        try:
            # Bounded as a whole: one Livy call slower than the hold (a Livy that hangs) ends
            # it too, and the session counts as still starting.
            session = await asyncio.wait_for(
                self.live.livy_call(
                    record.endpoint,
                    livy.wait_for_session(record.livy_ref, timeout=patience),
                    record,
                ),
                patience,
            )
        except asyncio.TimeoutError:
            session = None
        if session is not None:
            record = await self.live.apply_livy_view(record, session)
        state = record.state if session is None else session.state
        if (session is None or session.is_starting) and hold < left:
            raise SessionStarting(
                f"Spark session {record.id!r} is still {state}; send the statement again "
                "once it is up",
                retry_after=2,
            )
        if session is None or session.is_starting:
            raise LivyTimedOut(
                f"Spark session {record.id!r} is still {state} after "
                f"{self.settings.session_start_timeout:g} s",
                reason="session_starting",
            )
        if session.is_finished:
            why = why_it_failed(session) or record.message  # the row may lag (the poller wrote)
            raise Conflict(
                f"Spark session {record.id!r} ended while starting: {session.state}"
                + (f" ({why})" if why else ""),
                reason="session_finished",
            )
        return record

    async def get(
        self, user: str, session_id: str, statement_id: int, *, wait: float = 0.0
    ) -> Statement:
        """The statement; with ``wait``, once finished or when the wait (at most
        ``max_statement_wait``) runs out. Livy's first answer about it is waited for at most
        ``max_statement_wait`` too."""
        # A statement may end with its session (its driver died of it): its result stays
        # readable while Livy keeps the ended session (livy.server.session.state-retain.sec).
        record = await self.live.live_session(user, session_id, ended_too=True)
        livy = await self.endpoints.client(record.endpoint)
        wait = min(wait, self.settings.max_statement_wait)
        if wait <= 0 or record.is_finished:
            fetch = livy.get_statement(record.livy_ref, statement_id)
            statement = await self.live.livy_call(record.endpoint, fetch, record, statement_id)
            if record.is_finished and not statement.is_finished:
                raise ended(record)  # it never will
            if statement.is_finished:
                await self.live.follow_after_statement(record.id)
            return statement
        try:
            statement = await self._watch(record, livy, statement_id).wait(
                wait, first_answer_within=self.settings.max_statement_wait
            )
        except LivyError as error:
            raise await self.live.livy_failure(
                record.endpoint, error, record, statement_id
            ) from None
        if statement.is_finished:
            await self._touch(record.id)
        return statement

    def _watch(
        self, record: SessionRecord, livy: LivyClient, statement_id: int, **options: Any
    ) -> StatementWatch:
        livy_id = record.livy_ref

        async def fetch() -> Statement:
            statement = await livy.get_statement(livy_id, statement_id)
            if statement.is_finished:  # before the waiters get it: they may read the session next
                await self.live.follow_after_statement(record.id)
            return statement

        def report(statement: Statement) -> None:  # the Lab status bar's progress
            self.live.events.statement_progress(
                record, statement.id, statement.state, statement.progress
            )

        return self.watches.watch(
            record.id, statement_id, fetch, livy.poll, report=report, **options
        )

    async def complete(
        self, user: str, session_id: str, *, code: str, cursor: int, kind: str | None
    ) -> list[str]:
        """Livy's completion candidates at ``cursor``; none while the session starts (Livy would
        answer 500 then, and a Tab key should not wait for Spark)."""
        record = await self.live.live_session(user, session_id)
        if record.state in SESSION_STARTING_STATES:
            return []
        livy = await self.endpoints.client(record.endpoint)
        kind = kind or self._default_kind(record)
        fetch = livy.complete(record.livy_ref, code, kind=kind, cursor=cursor)
        return await self.live.livy_call(record.endpoint, fetch, record)

    def _default_kind(self, record: SessionRecord) -> str:
        """The kind of code sent without one: the session's own, or for a shared session (where Livy
        refuses code without a kind, with a 500) the broker's default kind."""
        return self.settings.default_kind if record.kind == "shared" else record.kind

    async def cancel(self, user: str, session_id: str, statement_id: int) -> str:
        """Cancel; what was done, in words. An unknown statement is a 404 (Livy itself answers 200
        to a cancel of any id, so the broker asks for the statement first)."""
        record = await self.live.live_session(user, session_id)
        livy = await self.endpoints.client(record.endpoint)
        if record.state in SESSION_STARTING_STATES:
            # Livy refuses cancel (500) before the session runs, and no statement can run yet.
            state = livy.get_session_state(record.livy_ref)
            if (await self.live.livy_call(record.endpoint, state, record)).state in (
                SESSION_STARTING_STATES
            ):
                return "nothing to cancel: the session is still starting"
        fetch = livy.get_statement(record.livy_ref, statement_id)
        statement = await self.live.livy_call(record.endpoint, fetch, record, statement_id)
        if statement.is_finished:
            return f"nothing to cancel: statement {statement_id} is {statement.state}"
        await self.live.livy_call(
            record.endpoint, livy.cancel_statement(record.livy_ref, statement_id), record
        )
        return "cancel requested"
