"""The broker: owns Livy sessions, binds them to notebooks, keeps them alive and reaps the unused.

No tornado here: handlers translate HTTP to these calls, and :mod:`.errors` back to HTTP. Every Livy
failure is turned into a broker error in one place (:meth:`SparkBroker._livy_call`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .endpoints import EndpointConfig, Endpoints
from .errors import (
    BrokerError,
    Conflict,
    Forbidden,
    InvalidRequest,
    LivyBadGateway,
    LivyTimedOut,
    LivyUnavailable,
    NotFound,
)
from .livy import (
    CreateSessionRequest,
    LivyClient,
    LivyError,
    LivyNotFound,
    LivyRejected,
    LivyTimeout,
    LivyUnreachable,
    PollBackoff,
    Session,
    SessionLog,
    Statement,
)
from .orm import utcnow
from .registry import (
    AttachmentRecord,
    Registry,
    SessionRecord,
    ShareKeyTaken,
    new_id,
)
from .sealing import Sealer

log = logging.getLogger("jupyter_spark_broker")

STARTING_STATES = frozenset({"not_started", "starting", "recovering"})
# A session whose Livy create call is still in flight is not "lost" for this long.
CREATE_GRACE = timedelta(seconds=60)
# Activity is written to the registry at most this often per session (the reaper counts in minutes).
TOUCH_EVERY = 5.0
# This process among the Jupyter servers sharing the registry. Per process, as kernels are: a broker
# stopped and started again in the same process keeps its kernels and its attachments.
PROCESS_SERVER_ID = new_id()


@dataclass(frozen=True)
class BrokerSettings:
    share_scope: str = "notebook"  # notebook | user
    idle_timeout: float = 3600.0  # seconds a session may stay unattached before it is killed
    livy_heartbeat_timeout: int = 900  # Livy's dead-man switch if the broker itself dies
    keepalive_interval: float = 60.0
    poll_interval: float = 5.0  # state polling while every session is quiet
    busy_poll_interval: float = 0.5  # while any session starts or runs
    reap_interval: float = 30.0
    # Another broker on the registry whose heartbeat is this many seconds old is gone.
    server_timeout: float = 120.0
    session_start_timeout: float = 300.0  # how long a statement waits for its session to start
    max_statement_wait: float = 300.0
    session_defaults: dict[str, Any] = field(default_factory=dict)
    default_kind: str = "pyspark"
    admin_users: frozenset[str] = frozenset()
    impersonate: bool = False  # every session's Livy proxyUser is its Jupyter user


@dataclass(frozen=True)
class Attached:
    attachment: AttachmentRecord
    session: SessionRecord
    created: bool


class SparkBroker:
    def __init__(
        self,
        registry: Registry,
        endpoints: Endpoints,
        sealer: Sealer,
        settings: BrokerSettings,
        *,
        kernel_exists: Callable[[str], bool] = lambda kernel_id: True,
    ):
        self.registry = registry
        self.endpoints = endpoints
        self.sealer = sealer
        self.settings = settings
        self.kernel_exists = kernel_exists
        self.server_id = PROCESS_SERVER_ID
        self._share_locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._watches: dict[tuple[str, int], _StatementWatch] = {}
        self._touched: dict[str, float] = {}  # session id -> monotonic time of the last touch
        # Live sessions as last read or written here: the statement path skips a registry read.
        # The state poller reloads them every round, so a change by another server shows within
        # poll_interval (and Livy's 404 catches the rest).
        self._live: dict[str, SessionRecord] = {}
        self._loops: list[asyncio.Task] = []
        self._unreachable: set[str] = set()  # endpoints whose failure was already logged
        self._wake_poller = asyncio.Event()

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.registry.heartbeat(self.server_id)
        await self._load_saved_endpoints()
        await self.refresh_states(adopting=True)
        self._loops = [
            asyncio.create_task(self._state_loop(), name="spark-broker-states"),
            asyncio.create_task(self._every(self.settings.keepalive_interval, self.keep_alive)),
            asyncio.create_task(self._every(self.settings.reap_interval, self.reap)),
        ]

    async def stop(self) -> None:
        for task in self._loops:
            task.cancel()
        for task in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for watch in list(self._watches.values()):
            watch.task.cancel()
        # Sessions on the embedded Livy end with it; those on real endpoints live on to be re-adopted.
        if self.endpoints.local_is_running():
            for record in await self.registry.live_sessions():
                if self.endpoints.is_embedded(record.endpoint):
                    await self._update(
                        record.id,
                        state="killed",
                        message="the embedded local Livy stopped with Jupyter",
                    )
        await self.endpoints.close()
        # Its kernels stop with this server: other brokers may reap their attachments at once.
        with contextlib.suppress(Exception):
            await self.registry.forget_server(self.server_id)

    async def _every(self, interval: float, action: Callable) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await action()
            except Exception:  # a background loop must outlive one bad round
                log.exception("spark broker: %s failed", getattr(action, "__name__", action))

    # -- endpoints ------------------------------------------------------------------------------

    def describe_endpoints(self, user: str) -> list[dict[str, Any]]:
        """The configured endpoints, and the run-time ones ``user`` added (all of them for admins)."""
        names = self.endpoints.names() if self.is_admin(user) else self.endpoints.names_for(user)
        return [self.endpoints.describe(name) for name in names]

    async def put_endpoint(self, name: str, config: EndpointConfig, owner: str) -> None:
        """Add or replace ``owner``'s run-time endpoint, its credentials sealed in the registry."""
        await self.endpoints.put_runtime(name, config, owner)
        secret = config.model_dump(mode="python")
        secret["password"] = config.password.get_secret_value()
        secret["headers"] = {k: v.get_secret_value() for k, v in config.headers.items()}
        await self.registry.save_endpoint(name, owner, self.sealer.seal(secret))

    async def _load_saved_endpoints(self) -> None:
        for name, (owner, sealed) in (await self.registry.saved_endpoints()).items():
            values = self.sealer.unseal(sealed)
            if values is None:
                log.warning("spark broker: endpoint %r was sealed with another key; skipped", name)
                continue
            with contextlib.suppress(BrokerError, ValueError):
                await self.endpoints.put_runtime(name, EndpointConfig.model_validate(values), owner)

    async def bind(self, user: str, path: str, endpoint: str) -> None:
        """Point ``user``'s notebook at ``path`` to ``endpoint``; other users' notebooks stay."""
        self.endpoints.check_usable(endpoint, user)
        await self.registry.bind(user, path, endpoint)

    # -- sessions -------------------------------------------------------------------------------

    async def create_session(
        self,
        user: str,
        *,
        endpoint: str | None,
        kind: str | None,
        name: str | None = None,
        overrides: dict[str, Any],
    ) -> SessionRecord:
        """A new session attached to no notebook (the API path); ``name`` lets notebooks attach to it."""
        endpoint = endpoint or self.endpoints.default
        self.endpoints.check_usable(endpoint, user)
        try:
            return await self._create(
                user,
                endpoint,
                kind,
                share_key=f"name:{name}" if name else None,
                overrides=overrides,
                attached=False,
            )
        except ShareKeyTaken:
            raise Conflict(
                f"a live session named {name!r} already exists on endpoint {endpoint!r}",
                reason="name_taken",
            ) from None

    async def _create(
        self,
        user: str,
        endpoint: str,
        kind: str | None,
        *,
        share_key: str | None,
        overrides: dict[str, Any],
        attached: bool,
    ) -> SessionRecord:
        config = self.endpoints.config(endpoint)
        kind = kind or self.settings.default_kind
        broker_id = new_id()
        livy_name = f"jsb-{broker_id}"
        fields = _merge_session_settings(
            config.session_defaults, self.settings.session_defaults, overrides
        )
        if self.settings.impersonate:
            fields["proxy_user"] = self._run_as(user, _fields_of(overrides).get("proxy_user"))
        try:
            request = CreateSessionRequest.model_validate(
                {
                    **fields,
                    "kind": kind,
                    "name": livy_name,
                    "heartbeat_timeout_in_second": self.settings.livy_heartbeat_timeout or None,
                }
            )
        except ValueError as error:
            raise InvalidRequest(f"session settings: {error}") from None
        # The row exists before the Livy call: a broker that dies mid-create finds the session again
        # by its name instead of leaking it.
        record = await self._insert_session(
            id=broker_id,
            endpoint=endpoint,
            livy_name=livy_name,
            kind=kind,
            state="not_started",
            owner=user,
            share_key=share_key,
            config=fields,
            # The reaper's clock starts now for a session nobody is attached to.
            unattached_since=None if attached else utcnow(),
        )
        try:
            livy = await self.endpoints.client(endpoint)
            session = await self._livy_call(endpoint, livy.create_session(request))
        except BrokerError as error:
            await self._update(record.id, state="error", message=error.message)
            raise
        self._wake_poller.set()
        # Not conditional on "not_started": the state poller may already have seen the new session.
        # A finished row stays finished (the registry's rule), so a kill meanwhile shows here.
        created = await self._update(record.id, **_livy_view(session))
        if created is None or (created.is_finished and created.state != session.state):
            # Killed while Livy was creating it: finish that kill rather than leak the session.
            with contextlib.suppress(BrokerError):
                await self._livy_call(endpoint, livy.delete_session(session.id))
            raise Conflict(f"Spark session {record.id!r} was killed while it was being created")
        return created

    async def _insert_session(self, **fields: Any) -> SessionRecord:
        return self._remember(await self.registry.insert_session(**fields))

    async def _apply_livy_view(self, record: SessionRecord, session: Session) -> SessionRecord:
        changes = {
            name: value
            for name, value in _livy_view(session).items()
            if getattr(record, name) != value and (value is not None or name == "state")
        }
        if not changes:
            return record
        # Conditional on the state read: a kill that happened meanwhile wins.
        updated = await self._update(record.id, expect_state=record.state, **changes)
        return updated or record

    async def list_sessions(
        self, user: str, *, mine: bool = False, **filters: Any
    ) -> tuple[list[SessionRecord], int]:
        owner = None if self.is_admin(user) and not mine else user
        return await self.registry.list_sessions(owner=owner, **filters)

    async def get_session(self, user: str, session_id: str) -> SessionRecord:
        record = await self.registry.get_session(session_id)
        if record is None:
            raise NotFound(f"no Spark session {session_id!r}")
        if record.owner != user and not self.is_admin(user):
            raise Forbidden(f"Spark session {session_id!r} belongs to another user")
        return record

    async def attachments_of(self, session_id: str) -> list[AttachmentRecord]:
        return (await self.registry.attachments(session_id=session_id))[0]

    async def kill_session(
        self, user: str, session_id: str, *, why: str = "killed through the API"
    ) -> None:
        record = await self.get_session(user, session_id)
        await self._kill(record, why)

    async def _kill(self, record: SessionRecord, why: str) -> None:
        if record.livy_id is not None and not record.is_finished:
            livy = await self.endpoints.client(record.endpoint)
            # A session Livy already forgot is still marked killed: the goal is reached.
            with contextlib.suppress(NotFound):
                await self._livy_call(record.endpoint, livy.delete_session(record.livy_id))
        state = record.state if record.is_finished else "killed"
        await self._update(record.id, state=state, message=why)
        for watch_key in [key for key in self._watches if key[0] == record.id]:
            self._watches.pop(watch_key).task.cancel()

    async def session_log(
        self, user: str, session_id: str, *, from_: int | None, size: int | None
    ) -> SessionLog:
        record = await self._live_session(user, session_id)
        livy = await self.endpoints.client(record.endpoint)
        return await self._livy_call(
            record.endpoint, livy.get_session_log(record.livy_id, from_=from_, size=size), record
        )

    async def _live_session(self, user: str, session_id: str) -> SessionRecord:
        record = self._live.get(session_id)
        if record is None:
            record = self._remember(await self.get_session(user, session_id))
        elif record.owner != user and not self.is_admin(user):
            raise Forbidden(f"Spark session {session_id!r} belongs to another user")
        if record.is_finished:
            raise Conflict(
                f"Spark session {session_id!r} is {record.state}"
                + (f": {record.message}" if record.message else ""),
                reason="session_finished",
            )
        if record.livy_id is None:
            raise Conflict(
                f"Spark session {session_id!r} is still being created", reason="starting"
            )
        return record

    # -- statements -----------------------------------------------------------------------------

    async def submit_statement(
        self, user: str, session_id: str, *, code: str, kind: str | None, wait: float = 0.0
    ) -> Statement:
        """Run code; with ``wait``, also long-poll for the result, so a cell costs one request."""
        record = await self._wait_until_ready(await self._live_session(user, session_id))
        livy = await self.endpoints.client(record.endpoint)
        statement = await self._livy_call(
            record.endpoint,
            livy.create_statement(record.livy_id, code, kind=kind or self._default_kind(record)),
            record,
        )
        await self._touch(record.id)
        if wait > 0 and not statement.is_finished:
            return await self.get_statement(user, session_id, statement.id, wait=wait)
        if not statement.is_finished:
            # A kernel long-polls for it next: start polling now, so its GET may find it done.
            self._watch(record, livy, statement.id, idle_after=_StatementWatch.UNCLAIMED_AFTER)
        return statement

    async def _touch(self, session_id: str) -> None:
        """Record activity, at most every ``TOUCH_EVERY`` seconds per session: off the hot path."""
        now = time.monotonic()
        if now - self._touched.get(session_id, 0.0) >= TOUCH_EVERY:
            self._touched[session_id] = now
            await self.registry.touch(session_id)

    async def _wait_until_ready(self, record: SessionRecord) -> SessionRecord:
        """A statement sent while the session starts waits for it instead of failing."""
        if record.state not in STARTING_STATES:
            return record
        livy = await self.endpoints.client(record.endpoint)
        session = await self._livy_call(
            record.endpoint,
            livy.wait_for_session(record.livy_id, timeout=self.settings.session_start_timeout),
            record,
        )
        record = await self._apply_livy_view(record, session)
        if session.is_starting:
            raise LivyTimedOut(
                f"Spark session {record.id!r} is still {session.state} after "
                f"{self.settings.session_start_timeout:g} s",
                reason="session_starting",
            )
        if session.is_finished:
            raise Conflict(f"Spark session {record.id!r} ended while starting: {session.state}")
        return record

    async def get_statement(
        self, user: str, session_id: str, statement_id: int, *, wait: float = 0.0
    ) -> Statement:
        record = await self._live_session(user, session_id)
        livy = await self.endpoints.client(record.endpoint)
        wait = min(wait, self.settings.max_statement_wait)
        if wait <= 0:
            fetch = livy.get_statement(record.livy_id, statement_id)
            return await self._livy_call(record.endpoint, fetch, record, statement_id)
        try:
            statement = await self._watch(record, livy, statement_id).wait(wait)
        except LivyError as error:
            raise await self._livy_failure(record.endpoint, error, record, statement_id) from None
        if statement.is_finished:
            await self._touch(record.id)
        return statement

    def _watch(
        self,
        record: SessionRecord,
        livy: LivyClient,
        statement_id: int,
        *,
        idle_after: float | None = None,
    ) -> _StatementWatch:
        """The statement's one poller: the running one, or a finished one kept a moment, or new.
        ``idle_after`` (default ``_StatementWatch.IDLE_AFTER``) applies to a new one."""
        key = (record.id, statement_id)
        watch = self._watches.get(key)
        if watch is None or (watch.done and not watch.finished):
            fetch = lambda: livy.get_statement(record.livy_id, statement_id)  # noqa: E731
            forget = lambda: self._watches.pop(key, None)  # noqa: E731
            if idle_after is None:
                idle_after = _StatementWatch.IDLE_AFTER
            watch = self._watches[key] = _StatementWatch(fetch, livy.poll, forget, idle_after)
        return watch

    async def complete(
        self, user: str, session_id: str, *, code: str, cursor: int, kind: str | None
    ) -> list[str]:
        """Livy's completion candidates at ``cursor``; none while the session starts (Livy would
        answer 500 then, and a Tab key should not wait for Spark)."""
        record = await self._live_session(user, session_id)
        if record.state in STARTING_STATES:
            return []
        livy = await self.endpoints.client(record.endpoint)
        return await self._livy_call(
            record.endpoint,
            livy.complete(
                record.livy_id, code, kind=kind or self._default_kind(record), cursor=cursor
            ),
            record,
        )

    def _default_kind(self, record: SessionRecord) -> str:
        """The kind of code sent without one: the session's own, or for a shared session (where Livy
        refuses code without a kind, with a 500) the broker's default kind."""
        return self.settings.default_kind if record.kind == "shared" else record.kind

    async def cancel_statement(self, user: str, session_id: str, statement_id: int) -> bool:
        """Cancel; False when there was nothing to cancel because the session is still starting."""
        record = await self._live_session(user, session_id)
        livy = await self.endpoints.client(record.endpoint)
        if record.state in STARTING_STATES:
            # Livy refuses cancel (500) before the session runs, and no statement can run yet.
            reply = await self._livy_call(
                record.endpoint, livy.get_session_state(record.livy_id), record
            )
            if reply.state in STARTING_STATES:
                return False
        await self._livy_call(
            record.endpoint, livy.cancel_statement(record.livy_id, statement_id), record
        )
        return True

    # -- attachments ----------------------------------------------------------------------------

    async def attach(
        self,
        user: str,
        *,
        path: str,
        kernel_id: str | None = None,
        endpoint: str | None = None,
        kind: str | None = None,
        session_id: str | None = None,
        name: str | None = None,
        overrides: dict[str, Any] | None = None,
    ) -> Attached:
        """Get-or-create the session for this notebook, and attach the notebook (and kernel) to it.

        Race-free: one lock per (endpoint, share key) in this process, and the registry's unique
        ``active_key`` across processes, so concurrent attaches create exactly one Livy session.
        """
        if session_id is not None:
            record = await self._live_session(user, session_id)
            attachment = await self.registry.attach(
                record.id, path, kernel_id, user, self.server_id
            )
            return Attached(attachment, record, created=False)
        endpoint = endpoint or await self.registry.binding(user, path) or self.endpoints.default
        self.endpoints.check_usable(endpoint, user)
        share_key = self._share_key(user, path, kind, name)
        lock = self._share_locks.setdefault((endpoint, share_key), asyncio.Lock())
        async with lock:
            created = False
            record = await self.registry.find_live(endpoint, share_key)
            if record is None:
                try:
                    record = await self._create(
                        user,
                        endpoint,
                        kind,
                        share_key=share_key,
                        overrides=overrides or {},
                        attached=True,
                    )
                    created = True
                except ShareKeyTaken:  # another Jupyter server on this registry won the race
                    record = await self.registry.find_live(endpoint, share_key)
                    if record is None:
                        raise Conflict(
                            "the session for this notebook is being replaced; retry"
                        ) from None
            elif record.owner != user and not self.is_admin(user):
                raise Forbidden(f"the session named {name!r} belongs to another user")
            attachment = await self.registry.attach(
                record.id, path, kernel_id, user, self.server_id
            )
        return Attached(attachment, record, created)

    def _run_as(self, user: str, requested: str | None) -> str:
        """Livy's proxyUser under ``impersonate``: the Jupyter user; another name only for admins."""
        if requested and requested != user and not self.is_admin(user):
            raise Forbidden(
                f"proxyUser {requested!r}: Spark sessions here run as their Jupyter user "
                f"({user!r}); only admin users may name another",
                reason="proxy_user_forbidden",
            )
        return requested or user

    def _share_key(self, user: str, path: str, kind: str | None, name: str | None) -> str:
        if name:
            return f"name:{name}"
        if self.settings.share_scope == "user":
            return f"user:{user}:{kind or self.settings.default_kind}"
        # The owner is part of the key: two users' notebooks at one path never share a session.
        return f"notebook:{user}:{path}"

    async def detach(self, user: str, attachment_id: str) -> None:
        attachment = await self.registry.get_attachment(attachment_id)
        if attachment is None:
            raise NotFound(f"no attachment {attachment_id!r}")
        if attachment.owner != user and not self.is_admin(user):
            raise Forbidden(f"attachment {attachment_id!r} belongs to another user")
        await self.registry.detach(attachment_id)

    async def list_attachments(
        self, user: str, *, path: str | None, limit: int, offset: int
    ) -> tuple[list[AttachmentRecord], int]:
        owner = None if self.is_admin(user) else user
        return await self.registry.attachments(path=path, owner=owner, limit=limit, offset=offset)

    def is_admin(self, user: str) -> bool:
        return "*" in self.settings.admin_users or user in self.settings.admin_users

    def _remember(self, record: SessionRecord | None) -> SessionRecord | None:
        if record is not None:
            if record.is_finished:
                self._live.pop(record.id, None)
                self._touched.pop(record.id, None)
            else:
                self._live[record.id] = record
        return record

    async def _update(self, session_id: str, **fields: Any) -> SessionRecord | None:
        return self._remember(await self.registry.update_session(session_id, **fields))

    # -- background work ------------------------------------------------------------------------

    async def _state_loop(self) -> None:
        while True:
            interval = self.settings.poll_interval
            try:
                if await self.refresh_states():
                    interval = self.settings.busy_poll_interval
            except Exception:
                log.exception("spark broker: refreshing session states failed")
            self._wake_poller.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake_poller.wait(), interval)

    async def refresh_states(self, *, adopting: bool = False) -> bool:
        """Bring the registry in line with every endpoint; True while any session starts or runs.

        One ``GET /sessions`` per endpoint. A live row is matched by the unique name the broker gave
        (never by Livy's reusable integer id); a row Livy no longer has becomes ``lost``. Livy sessions
        the registry does not know are strangers and are left alone.
        """
        by_endpoint: dict[str, list[SessionRecord]] = {}
        live = await self.registry.live_sessions()
        self._live = {record.id: record for record in live}
        for record in live:
            by_endpoint.setdefault(record.endpoint, []).append(record)
        active = False
        for endpoint, records in by_endpoint.items():
            if endpoint not in self.endpoints.names():
                for record in records:
                    await self._update(
                        record.id,
                        expect_state=record.state,
                        state="lost",
                        message=f"endpoint {endpoint!r} is no longer configured",
                    )
                continue
            sessions = await self._list_livy_sessions(endpoint, adopting)
            if sessions is None:
                continue
            by_name = {s.name: s for s in sessions if s.name}
            now = utcnow()
            for record in records:
                session = by_name.get(record.livy_name)
                if session is None:
                    if record.livy_id is None and now - record.created < CREATE_GRACE:
                        active = True  # its create call is still in flight
                        continue
                    await self._update(
                        record.id,
                        expect_state=record.state,
                        state="lost",
                        message="Livy no longer has this session",
                    )
                    continue
                if adopting and record.livy_id != session.id:
                    log.info(
                        "spark broker: re-adopted %s as Livy session %s", record.id, session.id
                    )
                updated = await self._apply_livy_view(record, session)
                active = active or updated.state in STARTING_STATES or updated.state == "busy"
        return active

    async def _list_livy_sessions(self, endpoint: str, adopting: bool) -> list[Session] | None:
        try:
            if self.endpoints.is_embedded(endpoint) and not self.endpoints.local_is_running():
                if adopting:
                    return []  # the embedded Livy of an earlier server is gone, with its sessions
                return None
            livy = await self.endpoints.client(endpoint)
            sessions = await livy.iter_all_sessions()
        except (LivyError, BrokerError) as error:
            if endpoint not in self._unreachable:
                log.warning("spark broker: cannot refresh endpoint %r: %s", endpoint, error)
                self._unreachable.add(endpoint)
            return None
        self._unreachable.discard(endpoint)
        return sessions

    async def keep_alive(self) -> None:
        """Attached sessions: ``connect`` (resets Livy's idle timeout and heartbeat). Others: heartbeat."""
        for record in await self.registry.live_sessions():
            if record.livy_id is None or record.endpoint in self._unreachable:
                continue
            with contextlib.suppress(LivyError, BrokerError):
                livy = await self.endpoints.client(record.endpoint)
                if record.unattached_since is None:
                    await livy.connect_session(record.livy_id)
                else:
                    await livy.get_session_state(record.livy_id)

    async def reap(self) -> None:
        """Drop attachments whose kernel is gone; kill sessions unattached for ``idle_timeout``."""
        await self.registry.heartbeat(self.server_id)
        now = utcnow()
        idle = timedelta(seconds=self.settings.idle_timeout)
        live_servers = await self.registry.prune_servers(
            now - timedelta(seconds=self.settings.server_timeout)
        )
        attachments, _ = await self.registry.attachments()
        for attachment in attachments:
            if attachment.kernel_id is None:
                gone = now - attachment.last_seen > idle
            elif attachment.server_id in (self.server_id, None):  # None: made before schema v3
                gone = not self.kernel_exists(attachment.kernel_id)
            else:  # another broker's kernel: gone when that broker stopped or stopped beating
                gone = attachment.server_id not in live_servers
            if gone:
                log.info(
                    "spark broker: detaching %s (%s): its kernel is gone",
                    attachment.path,
                    attachment.id,
                )
                await self.registry.detach(attachment.id)
        for record in await self.registry.live_sessions():
            if record.unattached_since is None:
                continue
            quiet_since = max(record.unattached_since, record.last_activity)
            if now - quiet_since > idle:
                log.info(
                    "spark broker: reaping session %s, unattached since %s", record.id, quiet_since
                )
                with contextlib.suppress(BrokerError):
                    await self._kill(
                        record, f"reaped: no notebook attached for {self.settings.idle_timeout:g} s"
                    )

    # -- Livy errors, in one place --------------------------------------------------------------

    async def _livy_call(
        self,
        endpoint: str,
        call,
        record: SessionRecord | None = None,
        statement_id: int | None = None,
    ):
        try:
            return await call
        except LivyError as error:
            raise await self._livy_failure(endpoint, error, record, statement_id) from None

    async def _livy_failure(
        self,
        endpoint: str,
        error: LivyError,
        record: SessionRecord | None = None,
        statement_id: int | None = None,
    ) -> BrokerError:
        where = f"Livy endpoint {endpoint!r}"
        if isinstance(error, LivyUnreachable):
            return LivyUnavailable(
                f"{where} is unreachable: {error.message}. Check that Livy is up."
            )
        if isinstance(error, LivyTimeout):
            return LivyTimedOut(f"{where} timed out: {error.message}")
        if isinstance(error, LivyNotFound):
            if statement_id is not None and "Statement" in error.livy_message:
                return NotFound(f"no statement {statement_id} in Spark session {record.id!r}")
            if record is not None:
                # Livy forgot the session: record it, so the notebook's next attach makes a new one.
                await self._update(
                    record.id, state="lost", message="Livy no longer has this session"
                )
                return Conflict(
                    f"Livy no longer has Spark session {record.id!r}", reason="session_lost"
                )
            return NotFound(f"{where}: {error.livy_message}")
        if isinstance(error, LivyRejected) and error.status == 400:
            return InvalidRequest(
                f"{where} refused the request: {error.livy_message}", reason="livy_rejected"
            )
        return LivyBadGateway(f"{where} failed: {error.message}")


def _livy_view(session: Session) -> dict[str, Any]:
    """The registry columns that follow Livy's view of a session."""
    return {
        "livy_id": session.id,
        "state": session.state,
        "app_id": session.app_id,
        "spark_ui_url": session.app_info.spark_ui_url,
        "driver_log_url": session.app_info.driver_log_url,
    }


def _fields_of(layer: dict[str, Any]) -> dict[str, Any]:
    """Session settings by the client's names, whichever spelling (Livy's or ours) they came in."""
    try:
        return CreateSessionRequest.model_validate(layer).model_dump(exclude_none=True)
    except ValueError as error:
        raise InvalidRequest(f"session settings: {error}") from None


def _merge_session_settings(*layers: dict[str, Any]) -> dict[str, Any]:
    """Endpoint defaults, then broker defaults, then the request; ``conf`` merges key by key.

    Each layer may use Livy's names (driverMemory) or the client's (driver_memory).
    """
    merged: dict[str, Any] = {}
    conf: dict[str, str] = {}
    for layer in layers:
        values = _fields_of(layer)
        conf.update(values.pop("conf", {}))
        merged.update(values)
    if conf:
        merged["conf"] = conf
    return merged


class _StatementWatch:
    """One Livy poller for a statement, however many long-poll requests wait on it.

    It polls with the client's adaptive backoff and stops when the statement is finished, when Livy
    fails, or when nobody has waited on it for ``idle_after`` seconds. A finished statement stays
    known for ``KEEP_FINISHED`` seconds, for the long-poll that comes just after the POST.
    """

    IDLE_AFTER = 30.0
    UNCLAIMED_AFTER = 5.0  # started by the POST, before anyone waits
    KEEP_FINISHED = 10.0

    def __init__(
        self,
        fetch: Callable,
        backoff: PollBackoff,
        forget: Callable[[], Any],
        idle_after: float = IDLE_AFTER,
    ):
        self._fetch = fetch
        self._backoff = backoff
        self._forget = forget
        self._idle_after = idle_after
        self.latest: Statement | None = None
        self.error: LivyError | None = None
        self.done = False
        self._waiters = 0
        self._last_wait = time.monotonic()
        self._updated = asyncio.Event()
        self.task = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        delays = self._backoff.delays()
        try:
            while True:
                try:
                    self.latest = await self._fetch()
                except LivyError as error:
                    self.error = error
                    return
                self._notify()
                nobody_waits = (
                    self._waiters == 0 and time.monotonic() - self._last_wait > self._idle_after
                )
                if self.latest.is_finished or nobody_waits:
                    return
                await asyncio.sleep(next(delays))
        finally:
            self.done = True
            if self.finished:
                asyncio.get_running_loop().call_later(self.KEEP_FINISHED, self._forget)
            else:
                self._forget()
            self._notify()

    @property
    def finished(self) -> bool:
        return self.error is None and self.latest is not None and self.latest.is_finished

    def _notify(self) -> None:
        self._updated.set()
        self._updated = asyncio.Event()

    async def wait(self, timeout: float) -> Statement:
        """The statement once finished, or as it stands when ``timeout`` runs out."""
        deadline = time.monotonic() + timeout
        self._waiters += 1
        try:
            while True:
                if self.error is not None:
                    raise self.error
                latest, remaining = self.latest, deadline - time.monotonic()
                if latest is not None and (latest.is_finished or self.done or remaining <= 0):
                    return latest
                if self.done:  # stopped before its first answer (the session was killed)
                    return await self._fetch()
                updated = self._updated
                # Until the first answer arrives there is nothing to return, so wait for it.
                limit = remaining if latest is not None else None
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(updated.wait(), limit)
        finally:
            self._waiters -= 1
            self._last_wait = time.monotonic()
