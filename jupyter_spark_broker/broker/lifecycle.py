"""The broker's background work: reconcile at start, state polling, keep-alive, reaping, heartbeat.

Started and stopped with the broker (``SparkBroker.start`` / ``stop``), never module globals.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol

from .. import metrics
from ..livy import LivyError, Session
from ..livy.names import SESSION_STARTING_STATES
from ..registry.orm import utcnow
from ..registry.records import AttachmentRecord
from ..registry.registry import SessionRecord
from ..support.looping import every
from .connect_sessions import SparkConnect
from .errors import BrokerError
from .live import LiveSessions
from .protocols import CONNECT
from .session_settings import broker_id_in

log = logging.getLogger("jupyter_spark_broker")

# A session whose Livy create call is still in flight is not "lost" for this long.
CREATE_GRACE = timedelta(seconds=60)


class LifecycleSettings(Protocol):
    """The broker's settings the background work reads (its traits, read live)."""

    keepalive_interval: float
    reap_interval: float
    poll_interval: float
    busy_poll_interval: float
    poll_lease_period: float
    server_timeout: float
    idle_timeout: float
    run_timeout: float


class BrokerLifecycle:
    def __init__(
        self,
        live: LiveSessions,
        connect: SparkConnect,
        settings: LifecycleSettings,
        *,
        server_id: str,
        kernel_exists: Callable[[str], bool],
        kill: Callable[[SessionRecord, str], Awaitable[None]],
        detached: Callable[[AttachmentRecord, str], Awaitable[None]],
        reload_endpoints: Callable[[], Awaitable[None]],
    ):
        self.live = live
        self.registry = live.registry
        self.endpoints = live.endpoints
        self.connect = connect
        self.settings = settings
        self.server_id = server_id
        self.kernel_exists = kernel_exists
        self.kill = kill  # the broker's kill: Livy's or Connect's, then the row and the events
        # The broker's word on a dropped attachment: the audit trail, and a run's own session ends.
        self.detached = detached
        self.reload_endpoints = reload_endpoints  # run-time endpoints other servers saved
        self._loops: list[asyncio.Task[None]] = []
        self._unreachable: set[str] = set()  # endpoints whose failure was already logged
        self._wake_poller = asyncio.Event()
        # Rows seen in this server's own embedded Livy: on a shared registry, the embedded sessions
        # of other servers are not this one's to judge.
        self._seen_embedded: set[str] = set()
        # Per endpoint, the rows of creates that failed after they may have reached Livy: polled on
        # the next round even without live rows, so that a session Livy made anyway is found and
        # deleted; the row goes once Livy is seen without it (a failed attach leaves no junk). Each
        # with the monotonic time of its failure.
        self._failed_creates: dict[str, dict[str, float]] = {}
        # Per endpoint, names of Livy sessions another registry's broker made (several Jupyter
        # servers on one Livy): looked up once, not every round, while Livy lists them.
        self._foreign: dict[str, set[str]] = {}
        # The shared endpoints this server lists for every server on the registry (it holds their
        # lease), each with the monotonic time its lease runs out.
        self._leased: dict[str, float] = {}
        # Sessions created here: while another server lists their endpoint, this one still follows
        # them one by one while they start or run, so their user waits for no one else's round.
        self._own: set[str] = set()

    async def start(self) -> None:
        await self.registry.heartbeat(self.server_id)
        await self.reload_endpoints()
        await self.reconcile()
        # Attachments of kernels that died with an earlier server go now, not a reap_interval later.
        await self._drop_attachments_of_gone_kernels(await self._live_servers())
        self._loops = [
            asyncio.create_task(self._state_loop(), name="spark-broker-states"),
            asyncio.create_task(every(self.settings.keepalive_interval, self.keep_alive, log)),
            asyncio.create_task(every(self.settings.reap_interval, self.reap, log)),
        ]

    async def stop(self) -> None:
        for task in self._loops:
            task.cancel()
        for task in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loops = []
        self._leased = {}
        with contextlib.suppress(Exception):  # another server takes over on its next round
            await self.registry.end_leases(self.server_id)

    def session_created(self, session_id: str) -> None:
        """A session was just created here: poll its state now rather than after the quiet
        interval, and follow it even where another server lists its endpoint."""
        self._own.add(session_id)
        self._wake_poller.set()

    def is_unreachable(self, endpoint: str) -> bool:
        return endpoint in self._unreachable

    def look_for_orphans(
        self, endpoint: str, session_id: str, failed_at: float | None = None
    ) -> None:
        """The create of ``session_id`` on ``endpoint`` failed, perhaps after Livy made the session:
        check soon."""
        pending = self._failed_creates.setdefault(endpoint, {})
        pending[session_id] = time.monotonic() if failed_at is None else failed_at
        self._wake_poller.set()

    # -- session states -------------------------------------------------------------------------

    async def reconcile(self) -> None:
        """At start: re-adopt every live row whose Livy session still exists, mark the rest lost.

        Rows are matched by the unique name the broker gave (never by Livy's reusable integer id).
        The embedded Livy of an earlier server is gone, and its sessions with it.
        """
        for endpoint, records in (await self._live_rows_by_endpoint()).items():
            sessions = [] if self._embedded_gone(endpoint) else await self._livy_sessions(endpoint)
            if sessions is not None:
                await self._follow_livy(
                    await self._checkable(endpoint, records, sessions), sessions
                )
        await self._check_connect_sessions(await self._live_servers())
        for record in await self.registry.failed_creates():  # left by an earlier server
            self.look_for_orphans(record.endpoint, record.id, failed_at=0.0)

    async def poll_states(self) -> bool:
        """Bring the registry in line with every endpoint; True while any session starts or runs.

        Of the servers sharing the registry, the one holding an endpoint's lease lists it: one
        ``GET /sessions`` (all pages) a round. Livy sessions the registry does not know are strangers
        and are left alone, but those the broker made whose row has ended are deleted (orphans: a
        create whose reply was lost). The other servers read the states it writes, and follow the
        sessions they created one by one while those start or run. Each server lists its own
        embedded Livy (never leased); one that died is not polled: it starts again on next use.
        """
        active = False
        by_endpoint = await self._live_rows_by_endpoint()
        for endpoint in self._failed_creates.keys() & set(self.endpoints.names()):
            by_endpoint.setdefault(endpoint, [])
        for endpoint, records in by_endpoint.items():
            if self._embedded_gone(endpoint):
                continue
            if self.endpoints.is_embedded(endpoint) or await self._hold_lease(endpoint):
                active = await self._list_endpoint(endpoint, records) or active
            else:
                active = await self._follow_from_registry(endpoint, records) or active
        return active

    async def _list_endpoint(self, endpoint: str, records: list[SessionRecord]) -> bool:
        """List ``endpoint`` and bring its rows in line; a lease is given up when it cannot."""
        listed_at = time.monotonic()
        sessions = await self._livy_sessions(endpoint)
        if sessions is None:
            if self._leased.pop(endpoint, None) is not None:  # a server that reaches it takes over
                await self.registry.end_leases(self.server_id, endpoint)
            return False
        await self._delete_orphans(endpoint, records, sessions)
        await self._forget_failed_creates(endpoint, sessions, listed_at)
        records = await self._checkable(endpoint, records, sessions)
        return await self._follow_livy(records, sessions)

    async def _hold_lease(self, endpoint: str) -> bool:
        """Take or renew this server's lease of a shared endpoint. A server that could not reach
        the endpoint takes a lease only once it has lain vacant a whole period, so that one that
        can reach it wins."""
        period = self.settings.poll_lease_period
        vacant_for = period if endpoint in self._unreachable else 0.0
        taken_at = time.monotonic()
        if await self.registry.take_lease(endpoint, self.server_id, period, vacant_for=vacant_for):
            self._leased[endpoint] = taken_at + period
            return True
        self._leased.pop(endpoint, None)
        return False

    async def _lists(self, endpoint: str) -> bool:
        """Whether this server lists ``endpoint`` (and keeps its sessions alive): its embedded
        Livy, or a shared endpoint whose lease it holds or takes now (a session's first keep-alive
        does not wait for the next state round)."""
        if self.endpoints.is_embedded(endpoint):
            return True
        return self._leased.get(endpoint, 0.0) > time.monotonic() or await self._hold_lease(
            endpoint
        )

    async def _follow_from_registry(self, endpoint: str, records: list[SessionRecord]) -> bool:
        """Another server lists ``endpoint``: its rows come from the registry (read this round).
        The sessions created here are asked about one by one while they start or run, and the
        creates that failed here are settled by a listing of their own (rare: a failure each).
        True while any of the rows starts or runs."""
        if endpoint in self._failed_creates:
            listed_at = time.monotonic()
            sessions = await self._livy_sessions(endpoint)
            if sessions is not None:
                await self._forget_failed_creates(endpoint, sessions, listed_at)
        active = False
        for record in records:
            running = record.state in SESSION_STARTING_STATES or record.state == "busy"
            if record.id in self._own and running:
                record = await self._ask_about(record)
                running = record.state in SESSION_STARTING_STATES or record.state == "busy"
            active = active or running
        return active

    async def _ask_about(self, record: SessionRecord) -> SessionRecord:
        """One session's state from Livy (``GET /sessions/{id}``), if still the one this row names
        (Livy reuses ids after a restart: the listing server judges that case by name)."""
        if record.livy_id is None or self.live.is_being_killed(record.id):
            return record
        try:
            livy = await self.endpoints.client(record.endpoint)
            session = await self.live.livy_call(
                record.endpoint, livy.get_session(record.livy_id), record
            )
        except BrokerError:  # lost is recorded by livy_call; an outage: the listing server's
            return record
        self._unreachable.discard(record.endpoint)
        if session.name != record.livy_name:
            return record
        return await self.live.apply_livy_view(record, session)

    async def _state_loop(self) -> None:
        while True:
            interval = self.settings.poll_interval
            try:
                if await self.poll_states():
                    interval = self.settings.busy_poll_interval
            except Exception:
                log.exception("spark broker: refreshing session states failed")
            self._wake_poller.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake_poller.wait(), interval)

    async def _live_rows_by_endpoint(self) -> dict[str, list[SessionRecord]]:
        """Live rows by endpoint. A row of an endpoint this server does not know: the run-time
        endpoints saved by other servers are loaded first; one still unknown is another live
        server's to check (its config may differ), and lost only when no other server lives."""
        live = await self.live.reload()
        # Followed until they end (the cache keeps a row created here after the read began).
        self._own &= {record.id for record in self.live.records()}
        by_endpoint: dict[str, list[SessionRecord]] = {}
        known = set(self.endpoints.names())
        saved: set[str] = set()
        others_alive = False
        if any(record.endpoint not in known for record in live):
            await self.reload_endpoints()
            known = set(self.endpoints.names())
            saved = set(await self.registry.saved_endpoints())  # sealed with another key, say
            others_alive = await self._other_servers_alive()
        for record in live:
            if record.protocol == CONNECT:
                continue  # Spark Connect: _check_connect_sessions follows those
            if record.endpoint in known:
                by_endpoint.setdefault(record.endpoint, []).append(record)
            elif record.endpoint in saved or others_alive:
                continue  # not this server's to judge
            else:
                await self.live.update(
                    record.id,
                    expect_state=record.state,
                    state="lost",
                    message=f"endpoint {record.endpoint!r} is no longer configured",
                )
        return by_endpoint

    async def _other_servers_alive(self) -> bool:
        silent_since = utcnow() - timedelta(seconds=self.settings.server_timeout)
        return bool(await self.registry.prune_servers(silent_since) - {self.server_id})

    async def _checkable(
        self, endpoint: str, records: list[SessionRecord], sessions: list[Session]
    ) -> list[SessionRecord]:
        """The rows this server can judge: all of a shared endpoint; of the embedded one (each
        server has its own), those its Livy has or had, or all when no other server lives."""
        if not self.endpoints.is_embedded(endpoint):
            return records
        names = {session.name for session in sessions}
        for record in records:
            if record.livy_name in names:
                self._seen_embedded.add(record.id)
        if not await self._other_servers_alive():
            return records
        return [r for r in records if r.id in self._seen_embedded]

    async def judges(self, record: SessionRecord) -> bool:
        """Whether this server may decide the fate of an embedded-Livy row (see ``_checkable``)."""
        return record.id in self._seen_embedded or not await self._other_servers_alive()

    def _embedded_gone(self, endpoint: str) -> bool:
        return self.endpoints.is_embedded(endpoint) and not self.endpoints.local_is_running()

    async def _livy_sessions(self, endpoint: str) -> list[Session] | None:
        """Every Livy session of ``endpoint``, or None when it cannot be asked (logged once)."""
        try:
            livy = await self.endpoints.client(endpoint)
            sessions = await livy.iter_all_sessions()
        except (LivyError, BrokerError) as error:
            if endpoint not in self._unreachable:
                log.warning("spark broker: cannot refresh endpoint %r: %s", endpoint, error)
                self._unreachable.add(endpoint)
            return None
        self._unreachable.discard(endpoint)
        return sessions

    async def _follow_livy(self, records: list[SessionRecord], sessions: list[Session]) -> bool:
        """Apply Livy's view to each row; a row Livy does not have becomes lost. True while any of
        them starts or runs (or is still being created)."""
        by_name = {session.name: session for session in sessions if session.name}
        now = utcnow()
        active = False
        for record in records:
            session = by_name.get(record.livy_name)
            if session is None:
                if self.live.is_being_killed(record.id):
                    continue  # its killer records it as killed
                if record.livy_id is None and now - record.created < CREATE_GRACE:
                    active = True  # its create call is still in flight
                    continue
                await self.live.update(
                    record.id,
                    expect_state=record.state,
                    state="lost",
                    message="Livy no longer has this session",
                )
                continue
            if record.livy_id is not None and record.livy_id != session.id:
                log.info("spark broker: re-adopted %s as Livy session %s", record.id, session.id)
            updated = await self.live.apply_livy_view(record, session)
            active = active or updated.state in SESSION_STARTING_STATES or updated.state == "busy"
        return active

    async def _delete_orphans(
        self, endpoint: str, records: list[SessionRecord], sessions: list[Session]
    ) -> None:
        """Delete the live Livy sessions this broker named whose row has ended (``error`` after a
        create whose reply was lost, ``lost`` while Livy was away). Strangers are left alone."""
        known = {record.livy_name for record in records}
        foreign = self._foreign.setdefault(endpoint, set())
        foreign &= {session.name for session in sessions}  # forget those Livy no longer lists
        for session in sessions:
            if session.name is None:  # no broker names its sessions so
                continue
            broker_id = broker_id_in(session.name)
            if session.name in known or session.name in foreign:
                continue
            if session.is_finished or broker_id is None:
                continue
            record = await self.registry.get_session(broker_id)
            if record is None or record.endpoint != endpoint:
                foreign.add(session.name)
                continue
            if not record.is_finished:
                continue  # a row made after this round read the live ones
            log.warning(
                "spark broker: deleting Livy session %s on %r: its broker session %s is %s",
                session.id,
                endpoint,
                record.id,
                record.state,
            )
            with contextlib.suppress(LivyError, BrokerError):
                livy = await self.endpoints.client(endpoint)
                await livy.delete_session(session.id)
                metrics.ORPHANS_DELETED.labels(self.live.endpoint_label(endpoint)).inc()

    async def _forget_failed_creates(
        self, endpoint: str, sessions: list[Session], listed_at: float
    ) -> None:
        """Delete the rows of failed creates that Livy holds no live session for, in a listing taken
        a whole Livy read timeout after the failure (a create Livy received late is listed by then).
        One that :meth:`_delete_orphans` just deleted stays until Livy stops listing it."""
        live_names = {session.name for session in sessions if not session.is_finished}
        settled_before = listed_at - self.endpoints.livy_read_timeout
        pending = self._failed_creates.get(endpoint, {})
        for session_id, failed_at in list(pending.items()):
            record = await self.registry.get_session(session_id)
            if record is not None and (
                record.livy_name in live_names or failed_at > settled_before
            ):
                continue  # checked again next round
            pending.pop(session_id, None)
            if record is not None:
                await self.registry.forget_failed_create(session_id)
        if not pending:
            self._failed_creates.pop(endpoint, None)

    # -- keep-alive and reaping -----------------------------------------------------------------

    async def keep_alive(self) -> None:
        """Attached sessions: ``connect`` (resets Livy's idle timeout and heartbeat). Others: heartbeat.
        Those of a shared endpoint by the server holding its lease only."""
        for record in await self.registry.live_sessions():
            if record.livy_id is None or record.endpoint in self._unreachable:
                continue
            if not await self._lists(record.endpoint):
                continue  # the server listing the endpoint keeps its sessions alive
            action = "connect" if record.unattached_since is None else "heartbeat"
            outcome = "failed"
            with contextlib.suppress(LivyError, BrokerError):
                livy = await self.endpoints.client(record.endpoint)
                if action == "connect":
                    await livy.connect_session(record.livy_id)
                else:
                    await livy.get_session_state(record.livy_id)
                outcome = "ok"
            label = self.live.endpoint_label(record.endpoint)
            metrics.KEEPALIVE_ACTIONS.labels(label, action, outcome).inc()

    async def reap(self) -> None:
        """Beat; drop attachments whose kernel is gone; kill sessions unattached for ``idle_timeout``."""
        await self.registry.heartbeat(self.server_id)
        live_servers = await self._live_servers()
        await self._drop_attachments_of_gone_kernels(live_servers)
        await self._check_connect_sessions(live_servers)
        await self._kill_idle_sessions()

    async def _live_servers(self) -> set[str]:
        """The brokers on the registry that beat lately (the silent ones are pruned)."""
        since = utcnow() - timedelta(seconds=self.settings.server_timeout)
        return await self.registry.prune_servers(since)

    async def _check_connect_sessions(self, live_servers: set[str]) -> None:
        """Connect sessions whose server is gone end (``dead``), so a new attach starts anew."""
        live = await self.registry.live_sessions()
        await self.connect.check([r for r in live if r.protocol == CONNECT], live_servers)

    async def _drop_attachments_of_gone_kernels(self, live_servers: set[str]) -> None:
        now = utcnow()
        idle = timedelta(seconds=self.settings.idle_timeout)
        silent = timedelta(seconds=self.settings.run_timeout)
        attachments, _ = await self.registry.attachments()
        for attachment in attachments:
            if attachment.run is not None:  # a headless run: no server knows its kernel; it beats
                gone = now - attachment.last_seen > silent
            elif attachment.kernel_id is None:
                gone = now - attachment.last_seen > idle
            elif attachment.server_id in (self.server_id, None):  # None: before schema v3
                gone = not self.kernel_exists(attachment.kernel_id)
            else:  # another broker's kernel: gone when that broker stopped or stopped beating
                gone = attachment.server_id not in live_servers
            # Not detached meanwhile (by its kernel, or another server's reaper): else done there.
            if gone and await self.registry.detach(attachment.id) is not None:
                log.info(
                    "spark broker: detaching %s (%s): its kernel is gone",
                    attachment.path,
                    attachment.id,
                )
                metrics.DETACHES.labels("kernel_gone").inc()
                metrics.REAPER_ACTIONS.labels("detach", "ok").inc()
                if attachment.run is not None:
                    metrics.RUNS.labels("lost").inc()
                await self.detached(attachment, "its kernel is gone")

    async def _kill_idle_sessions(self) -> None:
        now = utcnow()
        idle = timedelta(seconds=self.settings.idle_timeout)
        for record in await self.registry.live_sessions():
            if record.unattached_since is None:
                continue
            quiet_since = max(record.unattached_since, record.last_activity)
            if now - quiet_since > idle:
                # Another live server's embedded session: its Livy id means another session here.
                if self.endpoints.is_embedded(record.endpoint) and not await self.judges(record):
                    continue
                log.info(
                    "spark broker: reaping session %s, unattached since %s", record.id, quiet_since
                )
                why = f"reaped: no notebook attached for {self.settings.idle_timeout:g} s"
                outcome = "failed"
                with contextlib.suppress(BrokerError):
                    await self.kill(record, why)
                    outcome = "ok"
                metrics.REAPER_ACTIONS.labels("kill", outcome).inc()
