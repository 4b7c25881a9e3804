"""The broker: create, attach, detach and kill sessions; the domain's one facade for the web layer.

No tornado here: handlers translate HTTP to these calls, and :mod:`.errors` back to HTTP. The broker
builds its collaborators and gives each the narrow parts it needs: the live sessions and their row
writes (:mod:`.live`), the session backends that make and end sessions (:mod:`.backends`: Livy's in
:mod:`.livy_sessions`, Spark Connect's in :mod:`.connect_sessions`), the statement long-poll
(:mod:`.statements`), the background loops (:mod:`.lifecycle`), the warm pool (:mod:`.pool`), the
user's cap (:mod:`.caps`). None of them imports this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .. import metrics
from ..events import BROKER_ACTOR, BrokerEvents
from ..livy import SessionLog
from ..registry import share_keys
from ..registry.registry import AttachmentRecord, Registry, SessionRecord, ShareKeyTaken, new_id
from ..registry.sealing import Sealer
from ..support.json_types import JSONObject
from .backends import NewSession, SessionBackend
from .caps import SessionCaps
from .connect_sessions import SparkConnect
from .endpoints import RECONNECT, EndpointConfig, SparkEndpoints, unsealed
from .errors import BrokerError, Conflict, NotFound
from .lifecycle import BrokerLifecycle
from .links import connect_ui_base
from .live import LiveSessions
from .livy_connect import check_serves_connect, plan_for
from .livy_sessions import LivySessions
from .ownership import Ownership
from .pool import WarmPool
from .profiles import SparkProfiles
from .protocols import CONNECT, LIVY, base_protocol
from .runs import started_for
from .settings import BrokerSettings
from .statements import StatementProxy

log = logging.getLogger("jupyter_spark_broker")

# This process among the Jupyter servers sharing the registry. Per process, as kernels are: a broker
# stopped and started again in the same process keeps its kernels and its attachments.
PROCESS_SERVER_ID = new_id()


@dataclass(frozen=True)
class Attached:
    attachment: AttachmentRecord
    session: SessionRecord
    created: bool  # the notebook has a session it did not have: a new one, or one from the pool
    pooled: bool = False  # taken from the warm pool (ready, or still starting)

    @property
    def origin(self) -> str:
        """Where the session came from, as the attach reply says it."""
        if not self.created:
            return "live"
        return "warm_pool" if self.pooled else "new"


class SparkBroker(BrokerSettings):
    """Owns the Spark sessions of this Jupyter server. Configured as ``c.SparkBroker.<name>``."""

    def __init__(
        self,
        *,
        registry: Registry,
        endpoints: SparkEndpoints,
        sealer: Sealer,
        kernel_exists: Callable[[str], bool] = lambda kernel_id: True,
        base_url: str = "/",
        events: BrokerEvents | None = None,
        server_id: str = PROCESS_SERVER_ID,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.base_url = base_url  # the Jupyter server's: where the browser finds a session's pages
        self.events = events or BrokerEvents()  # the Lab panel's feed and the audit trail
        self.registry = registry
        self.endpoints = endpoints
        self.sealer = sealer
        self.kernel_exists = kernel_exists
        self.server_id = server_id  # several brokers in one process (benchmarks) need their own
        self.owners = Ownership(self)
        self.live = LiveSessions(
            registry=registry,
            endpoints=endpoints,
            events=self.events,
            owners=self.owners,
            endpoint_label=self.endpoint_label,
        )
        self.statements = StatementProxy(self.live, endpoints, self)
        self.live.on_ended.append(self.statements.forget_session)
        self.profile_catalog = SparkProfiles(parent=self, default_endpoint=endpoints.default)
        self.caps = SessionCaps(registry, self.profile_catalog, self.owners)
        self.connect = SparkConnect(
            parent=self,
            registry=registry,
            sealer=sealer,
            server_id=self.server_id,
            update=self.live.update,
            profiles=self.profile_catalog,
            caps=self.caps,
            ui_proxy_base=functools.partial(connect_ui_base, self.base_url),
        )
        self.lifecycle = BrokerLifecycle(
            self.live,
            self.connect,
            self,
            server_id=self.server_id,
            kernel_exists=kernel_exists,
            kill=functools.partial(self.kill, actor=BROKER_ACTOR),
            detached=functools.partial(self.detached, actor=BROKER_ACTOR),
            reload_endpoints=self.load_saved_endpoints,
        )
        self.livy = LivySessions(
            self.live,
            self.caps,
            self,
            sealer=sealer,
            server_id=self.server_id,
            base_url=base_url,
            created=self.lifecycle.session_created,
            failed=self.lifecycle.look_for_orphans,
        )
        # Sessions are made and ended by their protocol's backend: Livy, or a Connect server.
        self.backends: dict[str, SessionBackend] = {LIVY: self.livy, CONNECT: self.connect}
        self.pool = WarmPool(self.live, self.profile_catalog, self.caps, self, self.livy.create)
        self._share_locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

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
                    await self.live.update(
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

    # -- who may do what -------------------------------------------------------------------------

    def is_admin(self, user: str) -> bool:
        return self.owners.is_admin(user)

    def check_owner(self, user: str, owner: str, what: str) -> None:
        self.owners.check_owner(user, owner, what)

    def _share_key(
        self, user: str, path: str, kind: str | None, name: str | None, run: str | None = None
    ) -> str:
        if name:
            return share_keys.name_key(name)
        if run:  # a run's own session, whatever the share scope: it ends with the run
            return share_keys.run_key(user, run)
        if self.share_scope == "user":
            return share_keys.user_key(user, kind or self.default_kind)
        return share_keys.notebook_key(user, path)

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
        new = NewSession(
            user,
            endpoint,
            chosen,
            share_key=share_keys.name_key(name) if name else None,
            kind=kind,
            overrides=overrides,
            attached=False,
            request_key=request_key,
            livy_connect=plan_for(self.endpoints, endpoint, protocol),
        )
        try:
            record = await self.livy.create(new)
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

    async def list_sessions(
        self, user: str, *, mine: bool = False, **filters: Any
    ) -> tuple[list[SessionRecord], int]:
        return await self.registry.list_sessions(
            owner=self.owners.owner_filter(user, mine), **filters
        )

    async def get_session(self, user: str, session_id: str) -> SessionRecord:
        return await self.live.get_session(user, session_id)

    async def attachments_of(self, session_id: str) -> list[AttachmentRecord]:
        return (await self.registry.attachments(session_id=session_id))[0]

    async def kill_session(
        self, user: str, session_id: str, *, why: str = "killed through the API"
    ) -> None:
        await self.kill(await self.get_session(user, session_id), why, actor=user)

    async def kill(self, record: SessionRecord, why: str, *, actor: str) -> None:
        """End the session in Livy (or release the Connect session) and mark it killed (a finished
        one keeps its state); ``actor`` did it, for the audit trail."""
        with self.live.killing(record.id):
            if not record.is_finished:
                await self.backends[record.protocol].end(record)
            state = record.state if record.is_finished else "killed"
            killed = await self.live.update(record.id, state=state, message=why)
            if killed is not None and not record.is_finished:
                self.events.killed(killed, actor=actor, reason=why)
                await self.live.end_attachments(killed, actor=actor)

    async def session_log(
        self, user: str, session_id: str, *, from_: int | None, size: int | None
    ) -> SessionLog:
        record = await self.live.live_session(user, session_id)
        livy = await self.endpoints.client(record.endpoint)
        fetch = livy.get_session_log(record.livy_ref, from_=from_, size=size)
        return await self.live.livy_call(record.endpoint, fetch, record)

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
        create_named: bool = False,
        overrides: JSONObject | None = None,
        profile: str | None = None,
        protocol: str = "livy",
        run: str | None = None,
    ) -> Attached:
        """Get-or-create the session for this notebook, and attach the notebook (and kernel) to it.
        By ``name``, only get unless ``create_named``: a typo must not start a Spark driver of its own.
        ``protocol`` "connect" gives its Spark Connect session (a Livy one is another session);
        "livy+connect" its Livy session, made with Spark's Connect plugin (livy_connect.py).
        ``run`` names a headless run (runs.py): its own session is keyed by the run, not the path.

        Race-free: one lock per (endpoint, share key) in this process, and the registry's unique
        ``active_key`` across processes, so concurrent attaches create exactly one session.
        """
        if session_id is not None:
            record = await self.live.live_session(user, session_id, base_protocol(protocol))
            check_serves_connect(record, protocol)
            attachment = await self.registry.attach(
                record.id, path, kernel_id, user, self.server_id, run
            )
            self._count_attach(record.endpoint, False, record, protocol, run)
            self.events.attached(record, attachment, actor=user)
            return Attached(attachment, record, created=False)
        # A restarted kernel keeps its session; a run's kernel is never restarted.
        if protocol == LIVY and kernel_id is not None and run is None and not (name or overrides):
            kept = await self._kept_attachment(user, path, kernel_id, endpoint)
            if kept is not None:
                attachment, record = kept
                self._count_attach(record.endpoint, False, record, protocol, run)
                self.events.attached(record, attachment, actor=user)
                return Attached(attachment, record, created=False)
        chosen = self.profile_catalog.get(profile)
        if protocol == CONNECT:
            endpoint = self.connect.check_endpoint(endpoint)
            share_key = share_keys.connect_key(self._share_key(user, path, CONNECT, name, run))
            new = NewSession(user, endpoint, chosen, share_key, path=path)
            create = functools.partial(self._never_pooled, self.connect.create, new)
        else:
            endpoint = (
                endpoint
                or await self.registry.binding(user, path)
                or self.profile_catalog.endpoint_of(chosen)
            )
            self.endpoints.check_usable(endpoint, user)
            share_key = self._share_key(user, path, kind, name, run)
            new = NewSession(
                user,
                endpoint,
                chosen,
                share_key,
                kind=kind,
                overrides=overrides or {},
                path=path,
                livy_connect=plan_for(self.endpoints, endpoint, protocol),
            )
            create = functools.partial(self.pool.claim_or_create, new)
        lock = self._share_locks.setdefault((endpoint, share_key), asyncio.Lock())
        async with lock:
            created = pooled = False
            live = await self.registry.find_live(endpoint, share_key)
            if live is None and name and not create_named:
                raise NotFound(
                    f"no live Spark session is named {name!r} on endpoint {endpoint!r}. To start "
                    f"one of that name: %spark attach --create {name} (over the API: "
                    '"create": true); %spark sessions lists the names in use',
                    reason="unknown_name",
                )
            if live is None:
                try:
                    made, pooled = await create()
                    record = self.live.remember(made)
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
                record.id, path, kernel_id, user, self.server_id, run
            )
        self._count_attach(endpoint, created, record, protocol, run)
        if created:
            self.events.created(record, actor=user, path=path)
        self.events.attached(record, attachment, actor=user)
        return Attached(attachment, record, created, pooled)

    @staticmethod
    async def _never_pooled(
        create: Callable[[NewSession], Awaitable[SessionRecord]], new: NewSession
    ) -> tuple[SessionRecord, bool]:
        return await create(new), False

    async def _kept_attachment(
        self, user: str, path: str, kernel_id: str, endpoint: str | None
    ) -> tuple[AttachmentRecord, SessionRecord] | None:
        """A restarted kernel keeps its id: the live session it was attached to, even one it joined
        by name (``%spark attach NAME``), rather than the notebook's own."""
        attachments, _ = await self.registry.attachments(path=path, owner=user)
        for attachment in sorted(attachments, key=lambda a: a.last_seen, reverse=True):
            if attachment.kernel_id != kernel_id:
                continue
            record = await self.registry.get_session(attachment.session_id)
            if record is None or record.is_finished or endpoint not in (None, record.endpoint):
                continue
            refreshed = await self.registry.attach(record.id, path, kernel_id, user, self.server_id)
            return refreshed, record
        return None

    async def detach(self, user: str, attachment_id: str) -> None:
        attachment = await self.registry.get_attachment(attachment_id)
        if attachment is None:
            raise NotFound(f"no attachment {attachment_id!r}")
        self.check_owner(user, attachment.owner, f"attachment {attachment_id!r}")
        if await self.registry.detach(attachment_id) is None:
            raise NotFound(f"no attachment {attachment_id!r}")  # detached meanwhile
        metrics.DETACHES.labels("request").inc()
        if attachment.run is not None:
            metrics.RUNS.labels("ended").inc()
        await self.detached(attachment, actor=user)

    async def detached(
        self, attachment: AttachmentRecord, reason: str | None = None, *, actor: str
    ) -> None:
        """After ``attachment`` was dropped: the audit trail's "detached"; and a headless run's own
        session ends with its run (a session the run only joined stays for its other users)."""
        await self.live.report_detached(attachment, actor=actor, reason=reason)
        if attachment.run is None:
            return
        record = await self.registry.get_session(attachment.session_id)
        if record is not None and not record.is_finished and started_for(record, attachment):
            with contextlib.suppress(BrokerError):  # Livy unreachable: the idle reaper retries
                await self.kill(record, f"its run {attachment.run!r} ended", actor=actor)

    @property
    def run_beat_interval(self) -> float:
        """How often a headless run's kernel beats: four beats to each ``run_timeout``."""
        return self.run_timeout / 4

    async def beat(self, user: str, attachment_id: str) -> AttachmentRecord:
        """A headless run's kernel is alive (runs.py); 404 once its attachment is gone."""
        attachment = await self.registry.get_attachment(attachment_id)
        if attachment is not None:
            self.check_owner(user, attachment.owner, f"attachment {attachment_id!r}")
            attachment = await self.registry.beat(attachment_id)
        if attachment is None:
            raise NotFound(
                f"no attachment {attachment_id!r}: its session ended, or it was detached"
            )
        return attachment

    async def detach_elsewhere(self, user: str, path: str, keep_session_id: str) -> None:
        """End ``user``'s attachments of the notebook at ``path`` to sessions other than
        ``keep_session_id`` (those sessions are reaped once nothing else uses them)."""
        for other in (await self.registry.attachments(path=path, owner=user))[0]:
            if other.session_id != keep_session_id:
                await self.registry.detach(other.id)
                await self.live.report_detached(other, actor=user, reason="reconnected elsewhere")

    async def list_attachments(
        self, user: str, *, path: str | None, limit: int, offset: int
    ) -> tuple[list[AttachmentRecord], int]:
        owner = self.owners.owner_filter(user)
        return await self.registry.attachments(path=path, owner=owner, limit=limit, offset=offset)

    # -- the registry's rows, as the lifecycle and the domain change them -----------------------

    def session_counts(self) -> Iterable[tuple[tuple[str, str, str, str], int]]:
        """Live sessions by (state, endpoint, profile, protocol): ``spark_broker_sessions``."""
        return metrics.count_sessions(self.live.records(), self.endpoint_label)

    def endpoint_label(self, name: str) -> str:
        """A session's endpoint as metrics name it: a Connect endpoint (configured) or a Livy
        one by name, except a user's run-time Livy endpoint (``SparkEndpoints.metric_label``)."""
        if name in self.connect.endpoint_names():
            return name
        return self.endpoints.metric_label(name)

    def _count_attach(
        self, endpoint: str, created: bool, record: SessionRecord, protocol: str, run: str | None
    ) -> None:
        label = self.endpoint_label(endpoint)
        metrics.count_attach(label, created, record.profile, protocol)
        if run is not None:
            metrics.RUNS.labels("started").inc()

    def connect_server_counts(self) -> Iterable[tuple[tuple[str, str], int]]:
        return self.connect.manager.server_counts()

    def pool_counts(self) -> Iterable[tuple[tuple[str, str], int]]:
        """The warm pool by (profile, status): the ``spark_broker_warm_pool_sessions`` gauge."""
        return self.pool.counts(self.live.records())
