"""The registry's plain records: frozen copies of its rows, which leave the database thread."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

from ..livy.names import RECORD_FINISHED_STATES
from ..support.json_types import JSONObject
from .orm import AttachmentRow, SessionRow
from .share_keys import run_name, share_name


@dataclass(frozen=True)
class AttachmentRecord:
    id: str
    session_id: str
    path: str
    kernel_id: str | None
    server_id: str | None
    owner: str
    attached: datetime
    last_seen: datetime
    run: str | None = None  # a headless run's name: it lives while it beats


@dataclass(frozen=True)
class SessionRecord:
    id: str
    endpoint: str
    livy_id: int | None
    livy_name: str
    kind: str
    state: str
    app_id: str | None
    spark_ui_url: str | None
    driver_log_url: str | None
    owner: str
    share_key: str | None
    config: JSONObject  # the session's settings as the user gave them
    message: str | None
    created: datetime
    last_activity: datetime
    unattached_since: datetime | None
    profile: str | None = None
    protocol: str = "livy"
    connect_session_id: str | None = None
    sealed_connect: bytes | None = field(default=None, repr=False)

    @property
    def is_finished(self) -> bool:
        return self.state in RECORD_FINISHED_STATES

    @property
    def share_name(self) -> str | None:
        """The name notebooks attach to it by (``%spark attach NAME``), if it has one."""
        return share_name(self.share_key)

    @property
    def run(self) -> str | None:
        """The headless run it was started for (broker/runs.py), if it was."""
        return run_name(self.share_key, self.owner)

    @property
    def livy_ref(self) -> int:
        """``livy_id`` of a session Livy has made: the broker's ``live_session`` checks there is one."""
        if self.livy_id is None:
            raise LookupError(f"Spark session {self.id!r} has no Livy session yet")
        return self.livy_id


class SessionFields(TypedDict, total=False):
    """SessionRow's columns, as keywords of the registry's ``insert_session`` and ``update_session``
    (``active_key`` is the registry's own)."""

    id: str
    endpoint: str
    livy_id: int | None
    livy_name: str
    kind: str
    state: str
    app_id: str | None
    spark_ui_url: str | None
    driver_log_url: str | None
    owner: str
    share_key: str | None
    config: JSONObject
    message: str | None
    created: datetime
    last_activity: datetime
    unattached_since: datetime | None
    profile: str | None
    request_key: str | None
    protocol: str
    connect_session_id: str | None
    sealed_connect: bytes | None


def new_id() -> str:
    return uuid.uuid4().hex


def session_record(row: SessionRow) -> SessionRecord:
    return SessionRecord(
        id=row.id,
        endpoint=row.endpoint,
        livy_id=row.livy_id,
        livy_name=row.livy_name,
        kind=row.kind,
        state=row.state,
        app_id=row.app_id,
        spark_ui_url=row.spark_ui_url,
        driver_log_url=row.driver_log_url,
        owner=row.owner,
        share_key=row.share_key,
        config=dict(row.config or {}),
        message=row.message,
        created=row.created,
        last_activity=row.last_activity,
        unattached_since=row.unattached_since,
        profile=row.profile,
        protocol=row.protocol or "livy",
        connect_session_id=row.connect_session_id,
        sealed_connect=row.sealed_connect,
    )


def attachment_record(row: AttachmentRow) -> AttachmentRecord:
    return AttachmentRecord(
        id=row.id,
        session_id=row.session_id,
        path=row.path,
        kernel_id=row.kernel_id,
        server_id=row.server_id,
        owner=row.owner,
        attached=row.attached,
        last_seen=row.last_seen,
        run=row.run,
    )
