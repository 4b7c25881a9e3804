"""Livy sessions as a session backend: a new session's settings, its row and Livy's create; its end.

A new session's settings are layered (the endpoint's defaults, the broker's, its profile's, the
request's), held to its profile's limits and, on the embedded Livy, to the machine; then tagged with
who and what it is for, so Spark's UI and logs say so.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, Protocol

from .. import metrics
from ..livy import CreateSessionRequest
from ..registry.orm import utcnow
from ..registry.records import SessionFields, SessionRecord
from ..registry.registry import new_id
from ..registry.sealing import Sealer
from .backends import NewSession
from .caps import SessionCaps
from .errors import BrokerError, Conflict, InvalidRequest, NotFound
from .links import spark_ui_conf
from .live import LiveSessions
from .profiles import check_machine_bounds, enforce_limits, tag_conf
from .session_settings import (
    check_request_conf,
    check_settings_size,
    fields_of,
    livy_name_of,
    livy_view,
    merge_session_settings,
)
from .users import proxy_user_for


class LivySettings(Protocol):
    """The broker's settings a new Livy session reads (its traits, read live)."""

    max_settings_bytes: int
    default_kind: str
    session_defaults: dict[str, Any]
    impersonate: bool
    livy_heartbeat_timeout: int


class LivySessions:
    def __init__(
        self,
        live: LiveSessions,
        caps: SessionCaps,
        settings: LivySettings,
        *,
        sealer: Sealer,
        server_id: str,
        base_url: str,
        created: Callable[[str], None],
        failed: Callable[[str, str], None],
    ):
        self.live = live
        self.endpoints = live.endpoints
        self.caps = caps
        self.settings = settings
        self.sealer = sealer
        self.server_id = server_id
        self.base_url = base_url  # the Jupyter server's: where an embedded session's UI is proxied
        self.created = created  # the state poller looks sooner
        # (endpoint, session id) of a create that failed after it may have reached Livy: the
        # lifecycle looks for the session Livy may have made anyway.
        self.failed = failed

    async def create(self, new: NewSession) -> SessionRecord:
        settings, user, endpoint, profile = self.settings, new.user, new.endpoint, new.profile
        overrides = dict(new.overrides)
        check_settings_size(overrides, settings.max_settings_bytes)
        asked = fields_of(overrides)  # the request's own layer
        check_request_conf(asked)
        config = self.endpoints.settings_of(endpoint)
        kind = new.kind or settings.default_kind
        broker_id = new_id()
        livy_name = livy_name_of(broker_id)
        fields = merge_session_settings(
            config.session_defaults, settings.session_defaults, profile.settings, overrides
        )
        if self.endpoints.is_embedded(endpoint):  # its Spark UI is served through our proxy
            # No one gets more than the machine has, admins included: it runs on this machine.
            check_machine_bounds(fields, **self.endpoints.local_bounds())
            fields["conf"] = {
                **spark_ui_conf(self.base_url, broker_id),
                **(fields.get("conf") or {}),
            }
        exempt = self.caps.exempt(user)
        fields = enforce_limits(profile, fields, asked, exempt=exempt)
        fields = tag_conf(
            fields, user=user, path=new.path, profile=profile.name, session_id=broker_id
        )
        plan = new.livy_connect
        if plan is not None:  # Spark's Connect plugin too; its token goes to Livy only
            fields["conf"] = plan.shown_conf(fields.get("conf"))
        if settings.impersonate:
            requested = asked.get("proxy_user")
            admin = self.caps.owners.is_admin(user)
            fields["proxy_user"] = proxy_user_for(user, requested, admin=admin)
        try:
            request = CreateSessionRequest.model_validate(
                {
                    **fields,
                    **({"conf": plan.secret_conf(fields["conf"])} if plan else {}),
                    "kind": kind,
                    "name": livy_name,
                    "heartbeat_timeout_in_second": settings.livy_heartbeat_timeout or None,
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
            "share_key": new.share_key,
            "config": fields,
            # The reaper's clock starts now for a session nobody is attached to.
            "unattached_since": None if new.attached else utcnow(),
            "profile": profile.name,
            "request_key": new.request_key,
        }
        if plan is not None:
            row.update(plan.row_fields(self.sealer, self.server_id))
        async with self.caps.within(user):
            record = self.live.remember(await self.live.registry.insert_session(**row))
        try:
            livy = await self.endpoints.client(endpoint)
            session = await self.live.livy_call(endpoint, livy.create_session(request))
        except BrokerError as error:
            # No request key: a retry of this request makes a session, since this one made none.
            await self.live.update(
                record.id, state="error", message=error.message, request_key=None
            )
            # The create may have reached Livy and only its reply been lost: look for the session.
            self.failed(endpoint, record.id)
            raise
        label = self.live.endpoint_label(endpoint)
        metrics.SESSION_CREATIONS.labels(label, profile.name).inc()
        self.created(record.id)
        # Not conditional on "not_started": the state poller may already have seen the new session.
        # A finished row stays finished (the registry's rule), so a kill meanwhile shows here.
        created = await self.live.update(record.id, **livy_view(session))
        if created is None or (created.is_finished and created.state != session.state):
            # Killed while Livy was creating it: finish that kill rather than leak the session.
            with contextlib.suppress(BrokerError):
                await self.live.livy_call(endpoint, livy.delete_session(session.id))
            raise Conflict(f"Spark session {record.id!r} was killed while it was being created")
        return created

    async def end(self, record: SessionRecord) -> None:
        """Delete the session in Livy; one Livy already forgot is ended too (the goal is reached)."""
        if record.livy_id is None:  # its create never reached Livy, or is still under way
            return
        livy = await self.endpoints.client(record.endpoint)
        with contextlib.suppress(NotFound):
            await self.live.livy_call(record.endpoint, livy.delete_session(record.livy_id))
