"""The broker's domain: create, attach, detach and kill Livy sessions, and who may do what.

No tornado here: handlers translate HTTP to these calls, and :mod:`.errors` back to HTTP. The statement
long-poll lives in :mod:`.statements`, the background loops in :mod:`.lifecycle`, and the meaning of a
Livy failure in :mod:`.livy_failures`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from . import metrics
from .broker_settings import BrokerSettings
from .connect.plugin import LIVY, LivyConnectPlan, base_protocol, check_serves_connect, plan_for
from .connect.sessions import PROTOCOL as CONNECT
from .connect.sessions import SparkConnect
from .ended_sessions import end_attachments
from .endpoints import RECONNECT, EndpointConfig, SparkEndpoints, unsealed
from .errors import BrokerError, Conflict, InvalidRequest, NotFound
from .events import BROKER_ACTOR, BrokerEvents
from .json_types import JSONObject
from .lifecycle import BrokerLifecycle
from .links import connect_ui_base, spark_ui_conf
from .livy import CreateSessionRequest, LivyError, Session, SessionLog
from .livy_failures import SESSION_LOST, translate_livy_error
from .notebook_follow import kept_attachment
from .orm import utcnow
from .pool import POOL_OWNER, WarmPool
from .profiles import Profile, SparkProfiles, check_machine_bounds, enforce_limits, tag_conf
from .registry import (
    AttachmentRecord,
    Registry,
    SessionFields,
    SessionRecord,
    ShareKeyTaken,
    new_id,
)
from .sealing import Sealer
from .session_settings import (
    check_settings_size,
    fields_of,
    livy_name_of,
    livy_view,
    merge_session_settings,
)
from .statements import StatementProxy
from .users import proxy_user_for

log = logging.getLogger("jupyter_spark_broker")
if TYPE_CHECKING:
    from typing import Unpack  # Python 3.11

T = TypeVar("T")
RecordT = TypeVar("RecordT", bound=SessionRecord | None)

# This process among the Jupyter servers sharing the registry. Per process, as kernels are: a broker
# stopped and started again in the same process keeps its kernels and its attachments.
PROCESS_SERVER_ID = new_id()


@dataclass(frozen=True)
class Attached:
    attachment: AttachmentRecord
    session: SessionRecord
    created: bool


class SparkBroker(BrokerSettings):
    """Owns the Livy sessions of this Jupyter server. Configured as ``c.SparkBroker.<name>``."""

    def __init__(
        self,
        *,
        registry: Registry,
        endpoints: SparkEndpoints,
        sealer: Sealer,
        kernel_exists: Callable[[str], bool] = lambda kernel_id: True,
        base_url: str = "/",
        events: BrokerEvents | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.base_url = base_url  # the Jupyter server's: where the browser finds a session's pages
        self.events = events or BrokerEvents()  # the Lab panel's feed and the audit trail
        self.registry = registry
        self.endpoints = endpoints
        self.sealer = sealer
        self.kernel_exists = kernel_exists
        self.server_id = PROCESS_SERVER_ID
        self.statements = StatementProxy(self)
        self.profile_catalog = SparkProfiles(parent=self, default_endpoint=endpoints.default)
        self.connect = SparkConnect(
            parent=self,
            registry=registry,
            sealer=sealer,
            server_id=self.server_id,
            update=self.update_record,
            profiles=self.profile_catalog,
            ui_proxy_base=functools.partial(connect_ui_base, self.base_url),
        )
        self.lifecycle = BrokerLifecycle(self)
        self.pool = WarmPool(self)
        self._share_locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        # Live sessions as last read or written here: the statement path skips a registry read.
        # The state poller reloads them every round, so a change by another server shows within
        # poll_interval (and Livy's 404 catches the rest).
        self._live: dict[str, SessionRecord] = {}
        # Sessions being killed here: gone from Livy before their row says killed, not "lost".
        self._killing: set[str] = set()

    # -- start and stop -------------------------------------------------------------------------

    async def start(self) -> None:
        await self.lifecycle.start()
        metrics.SESSION_GAUGE.add(self)
        self.pool.start()
        self.connect.start()

    async def stop(self) -> None:
        metrics.SESSION_GAUGE.discard(self)
        await self.pool.stop()
        await self.lifecycle.stop()
        self.statements.stop()
        live = await self.registry.live_sessions()
        await self.connect.stop([record for record in live if record.protocol == CONNECT])
        # Sessions on the embedded Livy end with it; those on real endpoints live on to be re-adopted.
        if self.endpoints.local_is_running():
            for record in await self.registry.live_sessions():
                # On a shared registry, only this server's: the others have embedded Livys of their own.
                mine = self.endpoints.is_embedded(record.endpoint)
                if mine and await self.lifecycle.judges(record):
                    await self.update_record(
                        record.id,
                        state="killed",
                        message="the embedded local Livy stopped with Jupyter",
                    )
        await self.endpoints.close()
        # Its kernels stop with this server: other brokers may reap their attachments at once.
        with contextlib.suppress(Exception):
            await self.registry.forget_server(self.server_id)

    # -- endpoints ------------------------------------------------------------------------------

    def endpoints_for(self, user: str) -> list[str]:
        """The configured endpoints, and the run-time ones ``user`` added (all of them for admins)."""
        return self.endpoints.names() if self.is_admin(user) else self.endpoints.names_for(user)

    async def put_endpoint(
        self, name: str, config: EndpointConfig, owner: str, source: str = RECONNECT
    ) -> None:
        """Add or replace ``owner``'s run-time endpoint, its credentials sealed in the registry."""
        if not self.is_admin(owner):
            self.endpoints.check_endpoint_cap(name, owner)
        await self.endpoints.put_runtime(name, config, owner, source)
        sealed = self.sealer.seal(self.endpoints.sealable(name))
        await self.registry.save_endpoint(name, owner, sealed)

    async def delete_endpoint(self, user: str, name: str) -> None:
        """Remove a run-time endpoint: its owner or an admin; a configured one is the server's."""
        self.endpoints.settings_of(name)  # NotFound for an unknown name
        owner = self.endpoints.owner_of_runtime(name)
        if owner is None:
            raise Conflict(
                f"endpoint {name!r} is configured on the server", reason="endpoint_taken"
            )
        self.check_owner(user, owner, f"endpoint {name!r}")
        await self.endpoints.remove_runtime(name)
        await self.registry.delete_endpoint(name)

    async def load_saved_endpoints(self) -> None:
        for name, (owner, sealed) in (await self.registry.saved_endpoints()).items():
            values = self.sealer.unseal(sealed)
            if values is None:
                log.warning("spark broker: endpoint %r was sealed with another key; skipped", name)
                continue
            with contextlib.suppress(BrokerError, ValueError):
                config, source = unsealed(values)
                await self.endpoints.put_runtime(name, config, owner, source)

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
        overrides: JSONObject,
        profile: str | None = None,
        request_id: str | None = None,
        protocol: str = LIVY,
    ) -> tuple[SessionRecord, bool]:
        """A new session attached to no notebook (the API path); ``name`` lets notebooks attach to it.

        With ``request_id``, a retried create finds the session the first one made (False: not new).
        """
        chosen = self.profile_catalog.get(profile)
        endpoint = endpoint or self.profile_catalog.endpoint_of(chosen)
        self.endpoints.check_usable(endpoint, user)
        request_key = f"{user}\n{request_id}" if request_id else None
        earlier = request_key and await self.registry.find_by_request(request_key)
        if earlier:  # a retry of a create that was done
            return earlier, False
        try:
            record = await self._create(
                user,
                endpoint,
                kind,
                share_key=f"name:{name}" if name else None,
                overrides=overrides,
                attached=False,
                profile=chosen,
                request_key=request_key,
                connect=plan_for(self, endpoint, protocol),
            )
        except ShareKeyTaken:
            earlier = request_key and await self.registry.find_by_request(request_key)
            if earlier:  # the same request, retried while the first was being made
                return earlier, False
            raise Conflict(
                f"a live session named {name!r} already exists on endpoint {endpoint!r}",
                reason="name_taken",
            ) from None
        self.events.created(record, actor=user)
        return record, True

    async def _create(
        self,
        user: str,
        endpoint: str,
        kind: str | None,
        *,
        share_key: str | None,
        overrides: JSONObject,
        attached: bool,
        profile: Profile,
        path: str | None = None,
        request_key: str | None = None,
        connect: LivyConnectPlan | None = None,
    ) -> SessionRecord:
        check_settings_size(overrides, self.max_settings_bytes)
        config = self.endpoints.settings_of(endpoint)
        kind = kind or self.default_kind
        broker_id = new_id()
        livy_name = livy_name_of(broker_id)
        fields = merge_session_settings(
            config.session_defaults, self.session_defaults, profile.settings, overrides
        )
        if self.endpoints.is_embedded(endpoint):  # its Spark UI is served through our proxy
            # No one gets more than the machine has, admins included: it runs on this machine.
            check_machine_bounds(fields, **self.endpoints.local_bounds())
            fields["conf"] = {
                **spark_ui_conf(self.base_url, broker_id),
                **(fields.get("conf") or {}),
            }
        exempt = user == POOL_OWNER or self.is_admin(user)
        fields = enforce_limits(profile, fields, fields_of(overrides), exempt=exempt)
        fields = tag_conf(fields, user=user, path=path, profile=profile.name, session_id=broker_id)
        if connect is not None:  # Spark's Connect plugin too; its token goes to Livy only
            fields["conf"] = connect.shown_conf(fields.get("conf"))
        if self.impersonate:
            requested = fields_of(overrides).get("proxy_user")
            fields["proxy_user"] = proxy_user_for(user, requested, admin=self.is_admin(user))
        try:
            request = CreateSessionRequest.model_validate(
                {
                    **fields,
                    **({"conf": connect.secret_conf(fields["conf"])} if connect else {}),
                    "kind": kind,
                    "name": livy_name,
                    "heartbeat_timeout_in_second": self.livy_heartbeat_timeout or None,
                }
            )
        except ValueError as error:
            raise InvalidRequest(f"session settings: {error}") from None
        # The row exists before the Livy call: a broker that dies mid-create finds the session again
        # by its name instead of leaking it.
        row: SessionFields = {
            "id": broker_id,
            "endpoint": endpoint,
            "livy_name": livy_name,
            "kind": kind,
            "state": "not_started",
            "owner": user,
            "share_key": share_key,
            "config": fields,
            # The reaper's clock starts now for a session nobody is attached to.
            "unattached_since": None if attached else utcnow(),
            "profile": profile.name,
            "request_key": request_key,
        }
        if connect:
            row.update(connect.row_fields(self.sealer, self.server_id))
        async with self.pool.within_cap(user, exempt=exempt):
            record = self._remember(await self.registry.insert_session(**row))
        try:
            livy = await self.endpoints.client(endpoint)
            session = await self.livy_call(endpoint, livy.create_session(request))
        except BrokerError as error:
            # No request key: a retry of this request makes a session, since this one made none.
            await self.update_record(
                record.id, state="error", message=error.message, request_key=None
            )
            # The create may have reached Livy and only its reply been lost: look for the session.
            self.lifecycle.look_for_orphans(endpoint, record.id)
            raise
        label = self.endpoint_label(endpoint)
        metrics.SESSION_CREATIONS.labels(label, profile.name).inc()
        self.lifecycle.wake_poller()
        # Not conditional on "not_started": the state poller may already have seen the new session.
        # A finished row stays finished (the registry's rule), so a kill meanwhile shows here.
        created = await self.update_record(record.id, **livy_view(session))
        if created is None or (created.is_finished and created.state != session.state):
            # Killed while Livy was creating it: finish that kill rather than leak the session.
            with contextlib.suppress(BrokerError):
                await self.livy_call(endpoint, livy.delete_session(session.id))
            raise Conflict(f"Spark session {record.id!r} was killed while it was being created")
        return created

    async def list_sessions(
        self, user: str, *, mine: bool = False, **filters: Any
    ) -> tuple[list[SessionRecord], int]:
        return await self.registry.list_sessions(owner=self._owner_filter(user, mine), **filters)

    async def get_session(self, user: str, session_id: str) -> SessionRecord:
        record = await self.registry.get_session(session_id)
        if record is None:
            raise NotFound(f"no Spark session {session_id!r}")
        self.check_owner(user, record.owner, f"Spark session {session_id!r}")
        return record

    async def attachments_of(self, session_id: str) -> list[AttachmentRecord]:
        return (await self.registry.attachments(session_id=session_id))[0]

    async def kill_session(
        self, user: str, session_id: str, *, why: str = "killed through the API"
    ) -> None:
        await self.kill(await self.get_session(user, session_id), why, actor=user)

    async def kill(self, record: SessionRecord, why: str, *, actor: str) -> None:
        """End the session in Livy (or release the Connect session) and mark it killed (a finished
        one keeps its state); ``actor`` did it, for the audit trail."""
        self._killing.add(record.id)
        try:
            if record.protocol == CONNECT and not record.is_finished:
                await self.connect.end(record)
            elif record.livy_id is not None and not record.is_finished:
                livy = await self.endpoints.client(record.endpoint)
                # A session Livy already forgot is still marked killed: the goal is reached.
                with contextlib.suppress(NotFound):
                    await self.livy_call(record.endpoint, livy.delete_session(record.livy_id))
            state = record.state if record.is_finished else "killed"
            killed = await self.update_record(record.id, state=state, message=why)
            if killed is not None and not record.is_finished:
                self.events.killed(killed, actor=actor, reason=why)
                await end_attachments(self, killed, actor=actor)
        finally:
            self._killing.discard(record.id)

    def is_being_killed(self, session_id: str) -> bool:
        """Killed here right now: Livy may no longer have it, but it is not lost."""
        return session_id in self._killing

    async def session_log(
        self, user: str, session_id: str, *, from_: int | None, size: int | None
    ) -> SessionLog:
        record = await self.live_session(user, session_id)
        livy = await self.endpoints.client(record.endpoint)
        fetch = livy.get_session_log(record.livy_ref, from_=from_, size=size)
        return await self.livy_call(record.endpoint, fetch, record)

    async def live_session(
        self, user: str, session_id: str, protocol: str = "livy"
    ) -> SessionRecord:
        record = self._live.get(session_id)
        if record is None:
            record = self._remember(await self.get_session(user, session_id))
        else:
            self.check_owner(user, record.owner, f"Spark session {session_id!r}")
        if record.is_finished:
            raise Conflict(
                f"Spark session {session_id!r} is {record.state}"
                + (f": {record.message}" if record.message else ""),
                reason="session_finished",
            )
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
        overrides: JSONObject | None = None,
        profile: str | None = None,
        protocol: str = "livy",
    ) -> Attached:
        """Get-or-create the session for this notebook, and attach the notebook (and kernel) to it.
        ``protocol`` "connect" gives its Spark Connect session (a Livy one is another session);
        "livy+connect" its Livy session, made with Spark's Connect plugin (connect/plugin.py).

        Race-free: one lock per (endpoint, share key) in this process, and the registry's unique
        ``active_key`` across processes, so concurrent attaches create exactly one session.
        """
        if session_id is not None:
            record = await self.live_session(user, session_id, base_protocol(protocol))
            check_serves_connect(record, protocol)
            attachment = await self.registry.attach(
                record.id, path, kernel_id, user, self.server_id
            )
            self._count_attach(record.endpoint, False, record, protocol)
            self.events.attached(record, attachment, actor=user)
            return Attached(attachment, record, created=False)
        if protocol == LIVY and kernel_id is not None and name is None and not overrides:
            kept = await kept_attachment(self, user, path, kernel_id, endpoint)
            if kept is not None:
                attachment, record = kept
                self._count_attach(record.endpoint, False, record, protocol)
                self.events.attached(record, attachment, actor=user)
                return Attached(attachment, record, created=False)
        chosen = self.profile_catalog.get(profile)
        if protocol == CONNECT:
            endpoint = self.connect.check_endpoint(endpoint)
            share_key = f"connect:{self._share_key(user, path, CONNECT, name)}"
            create = functools.partial(
                self._create_connect, user, endpoint=endpoint, share_key=share_key, profile=chosen
            )
        else:
            endpoint = (
                endpoint
                or await self.registry.binding(user, path)
                or self.profile_catalog.endpoint_of(chosen)
            )
            self.endpoints.check_usable(endpoint, user)
            share_key = self._share_key(user, path, kind, name)
            create = functools.partial(
                self.pool.claim_or_create,
                user,
                path,
                endpoint,
                kind,
                share_key,
                overrides or {},
                chosen,
                connect=plan_for(self, endpoint, protocol),
            )
        lock = self._share_locks.setdefault((endpoint, share_key), asyncio.Lock())
        async with lock:
            created = False
            live = await self.registry.find_live(endpoint, share_key)
            if live is None:
                try:
                    record = self._remember(await create())
                    created = True
                except ShareKeyTaken:  # another Jupyter server on this registry won the race
                    raced = await self.registry.find_live(endpoint, share_key)
                    if raced is None:
                        raise Conflict(
                            "the session for this notebook is being replaced; retry"
                        ) from None
                    record = raced
            else:
                record = live
                self.check_owner(user, record.owner, f"the session named {name!r}")
                check_serves_connect(record, protocol)
            attachment = await self.registry.attach(
                record.id, path, kernel_id, user, self.server_id
            )
        self._count_attach(endpoint, created, record, protocol)
        if created:
            self.events.created(record, actor=user, path=path)
        self.events.attached(record, attachment, actor=user)
        return Attached(attachment, record, created)

    async def _create_connect(self, user: str, **options: Any) -> SessionRecord:
        """A new Connect session, within ``max_sessions_per_user`` like a Livy one."""
        async with self.pool.within_cap(user, exempt=self.is_admin(user)):
            return await self.connect.create(user, **options)

    async def detach(self, user: str, attachment_id: str) -> None:
        attachment = await self.registry.get_attachment(attachment_id)
        if attachment is None:
            raise NotFound(f"no attachment {attachment_id!r}")
        self.check_owner(user, attachment.owner, f"attachment {attachment_id!r}")
        await self.registry.detach(attachment_id)
        await self.report_detached(attachment, actor=user)
        metrics.DETACHES.labels("request").inc()

    async def detach_elsewhere(self, user: str, path: str, keep_session_id: str) -> None:
        """End ``user``'s attachments of the notebook at ``path`` to sessions other than
        ``keep_session_id`` (those sessions are reaped once nothing else uses them)."""
        for other in (await self.registry.attachments(path=path, owner=user))[0]:
            if other.session_id != keep_session_id:
                await self.registry.detach(other.id)
                await self.report_detached(other, actor=user, reason="reconnected elsewhere")

    async def report_detached(
        self, attachment: AttachmentRecord, *, actor: str, reason: str | None = None
    ) -> None:
        """The audit trail's "detached", once the attachment is gone."""
        session = self._live.get(attachment.session_id) or await self.registry.get_session(
            attachment.session_id
        )
        if session is not None:
            self.events.detached(session, attachment, actor=actor, reason=reason)

    async def list_attachments(
        self, user: str, *, path: str | None, limit: int, offset: int
    ) -> tuple[list[AttachmentRecord], int]:
        owner = self._owner_filter(user)
        return await self.registry.attachments(path=path, owner=owner, limit=limit, offset=offset)

    # -- the registry's rows, as the lifecycle and the domain change them -----------------------

    def remember_live(self, records: list[SessionRecord]) -> None:
        """The live sessions as the registry has them now (the state poller's every round)."""
        self._live = {record.id: record for record in records}

    def session_counts(self) -> Iterable[tuple[tuple[str, str, str, str], int]]:
        """Live sessions by (state, endpoint, profile, protocol): ``spark_broker_sessions``."""
        return metrics.count_sessions(self._live.values(), self.endpoint_label)

    def endpoint_label(self, name: str) -> str:
        """A session's endpoint as metrics name it: a Connect endpoint (configured) or a Livy
        one by name, except a user's run-time Livy endpoint (``SparkEndpoints.metric_label``)."""
        if name in self.connect.endpoint_names():
            return name
        return self.endpoints.metric_label(name)

    def _count_attach(
        self, endpoint: str, created: bool, record: SessionRecord, protocol: str
    ) -> None:
        label = self.endpoint_label(endpoint)
        metrics.count_attach(label, created, record.profile, protocol)

    def connect_server_counts(self) -> Iterable[tuple[tuple[str, str], int]]:
        return self.connect.manager.server_counts()

    def pool_counts(self) -> Iterable[tuple[tuple[str, str], int]]:
        """The warm pool by (profile, status): the ``spark_broker_warm_pool_sessions`` gauge."""
        return self.pool.counts(self._live.values())

    def _remember(self, record: RecordT) -> RecordT:
        if record is not None:
            if record.is_finished:
                if self._live.pop(record.id, None) is not None:  # it ended just now
                    label = self.endpoint_label(record.endpoint)
                    profile = record.profile or metrics.DEFAULT_PROFILE
                    metrics.SESSIONS_ENDED.labels(label, profile, record.state).inc()
                self.statements.forget_session(record.id)
            else:
                self._live[record.id] = record
        return record

    async def update_record(
        self, session_id: str, *, expect_state: str | None = None, **fields: Unpack[SessionFields]
    ) -> SessionRecord | None:
        before = self._live.get(session_id)
        previous = before.state if before is not None else expect_state
        updated = self._remember(
            await self.registry.update_session(session_id, expect_state=expect_state, **fields)
        )
        if updated is not None and "state" in fields:
            self.events.state_changed(updated, previous)  # nothing when it did not change
            if updated.is_finished and session_id not in self._killing:  # kill() ends them itself
                await end_attachments(self, updated, actor=BROKER_ACTOR)
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
        updated = await self.update_record(record.id, expect_state=record.state, **changes)
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

    # -- Livy failures ----------------------------------------------------------------------------

    async def livy_call(
        self,
        endpoint: str,
        call: Awaitable[T],
        record: SessionRecord | None = None,
        statement_id: int | None = None,
    ) -> T:
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
            await self.update_record(
                record.id, state="lost", message="Livy no longer has this session"
            )
        return failure
