"""The broker's events: one facade the broker calls, emitting on jupyter_server's event bus
(jupyter_events, with the schemas of this package) and writing the audit trail's log lines.

No tornado here. What a request did is told by the broker (who, on which session); through which
route is told by the request handler, in :data:`ROUTE`, so the broker's signatures need not carry it.
An event that fails (an invalid field, a listener's error) is logged and never fails the action.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..support.json_types import JSONObject

if TYPE_CHECKING:
    from jupyter_events import EventLogger

BASE_ID = "https://events.jupyter.org/jupyter_spark_broker"
SESSION_ACTION = f"{BASE_ID}/session_action/v1"
SESSION_STATE = f"{BASE_ID}/session_state/v1"
STATEMENT = f"{BASE_ID}/statement/v1"
SUBSCRIBED = f"{BASE_ID}/subscribed/v1"

# The actor of the broker's own loops (reaper, idle timeout), where no user asked for anything.
BROKER_ACTOR = "spark-broker"
# "METHOD path-template" of the REST call being served; the broker's loops leave the default.
ROUTE: ContextVar[str] = ContextVar("spark_broker_route", default="broker")

log = logging.getLogger("jupyter_spark_broker")
# One JSON object per line, so the audit trail can be routed and parsed apart from the server's log.
audit_log = logging.getLogger("jupyter_spark_broker.audit")


def schema_files() -> Iterator[Path]:
    """The YAML schemas shipped in the package, one per event id above."""
    directory = files("jupyter_spark_broker.events").joinpath("schemas")
    for entry in sorted(directory.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            yield Path(str(entry))


def register_schemas(event_logger: EventLogger) -> None:
    """Register the schemas on jupyter_server's ``event_logger``; once, when the broker restarts."""
    from jupyter_events.schema import EventSchema  # jupyter_server's dependency

    for path in schema_files():
        schema = EventSchema(path)
        if schema.id not in event_logger.schemas.schema_ids:
            event_logger.register_event_schema(path)


class EventLoggerLike(Protocol):
    def emit(self, *, schema_id: str, data: JSONObject) -> object: ...


class EventSession(Protocol):
    """What an event tells of a session (the registry's SessionRecord has it, and more)."""

    @property
    def id(self) -> str: ...
    @property
    def owner(self) -> str: ...
    @property
    def endpoint(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def state(self) -> str: ...


class EventAttachment(Protocol):
    """What an event tells of an attachment (the registry's AttachmentRecord)."""

    @property
    def id(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def kernel_id(self) -> str | None: ...


class BrokerEvents:
    """``events.killed(session, actor="alice")`` and so on. ``session`` is any object with the
    registry's session fields (``id``, ``owner``, ``endpoint``, ``kind``, ``state``, and the share
    name ``share_name`` where it has one)."""

    def __init__(self, event_logger: EventLoggerLike | None = None):
        self.event_logger = event_logger

    # -- the audit trail ------------------------------------------------------------------------

    def created(self, session: EventSession, *, actor: str, path: str | None = None) -> None:
        self._action("created", session, actor=actor, path=path)

    def attached(self, session: EventSession, attachment: EventAttachment, *, actor: str) -> None:
        self._action(
            "attached",
            session,
            actor=actor,
            path=attachment.path,
            attachment_id=attachment.id,
            kernel_id=attachment.kernel_id,
        )

    def detached(
        self,
        session: EventSession,
        attachment: EventAttachment,
        *,
        actor: str,
        reason: str | None = None,
    ) -> None:
        self._action(
            "detached",
            session,
            actor=actor,
            path=attachment.path,
            attachment_id=attachment.id,
            kernel_id=attachment.kernel_id,
            reason=reason,
        )

    def reconnected(
        self, session: EventSession, *, actor: str, path: str, kernel_id: str | None = None
    ) -> None:
        self._action("reconnected", session, actor=actor, path=path, kernel_id=kernel_id)

    def killed(self, session: EventSession, *, actor: str, reason: str | None = None) -> None:
        self._action("killed", session, actor=actor, state="killed", reason=reason)

    # -- live state -----------------------------------------------------------------------------

    def state_changed(self, session: EventSession, previous: str | None) -> None:
        if previous == session.state:
            return
        data = {
            "session_id": session.id,
            "owner": session.owner,
            "endpoint": session.endpoint,
            "state": session.state,
            "previous_state": previous,
            "app_id": getattr(session, "app_id", None),
        }
        log.debug("spark broker: session %s %s -> %s", session.id, previous, session.state)
        self._emit(SESSION_STATE, data)

    def statement_progress(
        self, session: EventSession, statement_id: int, state: str, progress: float | None
    ) -> None:
        data = {
            "session_id": session.id,
            "owner": session.owner,
            "statement_id": statement_id,
            "state": state,
            "progress": None if progress is None else min(max(float(progress), 0.0), 1.0),
        }
        self._emit(STATEMENT, data)

    # -- plumbing -------------------------------------------------------------------------------

    def _action(self, action: str, session: EventSession, *, actor: str, **fields: Any) -> None:
        data = {
            "action": action,
            "session_id": session.id,
            "owner": session.owner,
            "actor": actor,
            "route": ROUTE.get(),
            "endpoint": session.endpoint,
            "kind": session.kind,
            "name": getattr(session, "share_name", None),
            "state": session.state,
            **fields,
        }
        data = _present(data)
        line = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), **data}
        audit_log.info("spark broker audit: %s", json.dumps(line, sort_keys=True))
        self._emit(SESSION_ACTION, data)

    def _emit(self, schema_id: str, data: JSONObject) -> None:
        if self.event_logger is None:
            return
        try:
            self.event_logger.emit(schema_id=schema_id, data=_present(data))
        except Exception:  # an event must never fail what it reports
            log.exception("spark broker: could not emit %s", schema_id)


def _present(data: JSONObject) -> JSONObject:
    """The schemas leave absent what is unknown, rather than null."""
    return {key: value for key, value in data.items() if value is not None}
