"""REST API replies (pydantic v2): the source of the reply schemas of ``openapi.yaml``, each named as
its model (``contract.py`` writes the spec; a test checks the committed file is what they give).

Each is built from a registry record or a Livy model by its ``of`` class method; handlers send
``model_dump(mode="json")``. A reply always holds every field, so the spec requires every field, and
no other (``additionalProperties: false``): what a client reads is what the model says.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
    field_validator,
    model_serializer,
)

from ..broker.profiles import Limits
from ..livy import SessionLog, Statement
from ..registry.registry import AttachmentRecord, SessionRecord
from .models import KindName, SessionState, StatementState


class Reply(BaseModel):
    # from_attributes: registry records and Livy models are read field by field.
    model_config = ConfigDict(
        frozen=True,
        from_attributes=True,
        populate_by_name=True,
        json_schema_serialization_defaults_required=True,
        json_schema_extra={"additionalProperties": False},
    )

    def json_body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def _time(value: datetime) -> str:
    """The registry's naive UTC as ISO 8601 with milliseconds and ``Z``."""
    return value.isoformat(timespec="milliseconds") + "Z"


class Attachment(Reply):
    id: str
    path: str
    kernel_id: str | None
    session_id: str
    owner: str
    attached: datetime
    last_seen: datetime = Field(
        description="its kernel's last sign of life: an attach, a statement, a headless run's beat"
    )
    run: str | None = Field(
        None, description="the headless run it belongs to (attached with `run`), else null"
    )

    @field_serializer("attached", "last_seen")
    def _times(self, value: datetime):  # no return type: the spec keeps format date-time
        return _time(value)

    @classmethod
    def of(cls, record: AttachmentRecord) -> Attachment:
        return cls.model_validate(record)


class Session(Reply):
    id: str = Field(description="the broker's id")
    endpoint: str
    livy_id: int | None
    name: str | None = Field(
        validation_alias="share_name",
        description="the name notebooks attach to it by (`%spark attach NAME`, POST attachments "
        "with `name`); null for a notebook's own session",
    )
    livy_name: str = Field(description="the unique name the broker gave the session in Livy")
    share_key: str | None = Field(
        description="what the broker finds it by: its notebook, its user or its name (internal)"
    )
    kind: str
    state: SessionState = Field(
        description="Livy's state, or `lost` (Livy no longer has it) or `killed` (by the broker)"
    )
    app_id: str | None
    spark_ui_url: str | None = Field(
        description="the Spark UI as the user's browser reaches it: for the embedded local Livy, "
        "its proxy under the server (`{base_url}spark-broker/sessions/{id}/ui/`), null for users "
        "who are not admins on a server of several users; for a session on the broker's own Spark "
        "Connect servers, its server's proxy (`{base_url}spark-broker/connect-servers/{server}/ui`); "
        "for other endpoints, the link Livy reports (YARN's proxy, say)"
    )
    driver_log_url: str | None = Field(
        description="the driver log as text, served by the broker "
        "(`{base_url}spark-broker/sessions/{id}/log`)"
    )
    owner: str
    settings: dict[str, Any] = Field(validation_alias="config")
    protocol: Literal["livy", "connect"] = Field(
        description="connect: a Spark Connect session (no Livy statements; its URL: GET …/connect)"
    )
    connect: bool = Field(
        validation_alias="connect_session_id",
        description="Connect clients reach it (GET …/connect): a connect session, or a livy one "
        "started with protocol livy+connect",
    )
    message: str | None = Field(description="why it failed or ended")
    created: datetime
    last_activity: datetime
    profile: str = Field(description="the profile it was started with")
    run: str | None = Field(
        None,
        description="the headless run it was started for (attached with `run`): it ends with the "
        "run; null for a notebook's or a shared session",
    )

    @field_validator("connect", mode="before")
    @classmethod
    def _has_connect(cls, value: str | bool | None) -> bool:
        return value if isinstance(value, bool) else value is not None

    @field_validator("profile", mode="before")
    @classmethod
    def _default_profile(cls, value: str | None) -> str:
        return value or "default"  # rows from before profiles

    @field_serializer("created", "last_activity")
    def _times(self, value: datetime):  # no return type: the spec keeps format date-time
        return _time(value)

    @classmethod
    def of(cls, record: SessionRecord) -> Session:
        return cls.model_validate(record)


class SessionWithAttachments(Session):
    attachments: list[Attachment]

    @classmethod
    def of_with(
        cls, record: SessionRecord, attachments: list[AttachmentRecord]
    ) -> SessionWithAttachments:
        session = Session.of(record)
        return cls(**dict(session), attachments=[Attachment.of(a) for a in attachments])


class AttachmentWithSession(Attachment):
    session: Session
    origin: Literal["live", "warm_pool", "new"] = Field(
        "live",
        description="where the session came from: a live session the notebook had or joined "
        "(live), one started ahead of time and taken from the warm pool, ready or still "
        "starting (warm_pool), or one started for this attach (new)",
    )
    beat_interval: float | None = Field(
        None,
        description="a headless run's kernel beats this often, in seconds (POST "
        "attachments/{id}/beat), or the broker counts it gone; null for other attachments",
    )

    @classmethod
    def of_with(
        cls,
        record: AttachmentRecord,
        session: SessionRecord,
        beat_interval: float | None = None,
        origin: str = "live",
    ) -> AttachmentWithSession:
        return cls.model_validate(
            {
                **dict(Attachment.of(record)),
                "session": Session.of(session),
                "origin": origin,
                "beat_interval": beat_interval,
            }
        )


class SessionList(Reply):
    sessions: list[Session]
    total: int
    limit: int
    offset: int


class AttachmentList(Reply):
    attachments: list[Attachment]
    total: int
    limit: int
    offset: int


class StatementOutput(Reply):
    status: Literal["ok", "error"]
    execution_count: int | None = None
    data: dict[str, Any] = Field(default_factory=dict, description="output by MIME type")
    ename: str | None = None
    evalue: str | None = None
    traceback: list[str] = Field(default_factory=list)


class StatementReply(Reply):
    id: int
    code: str
    state: StatementState
    output: StatementOutput | None
    progress: float = Field(ge=0, le=1)
    started: int = Field(description="epoch milliseconds; 0 until started")
    completed: int = Field(description="epoch milliseconds; 0 until completed")

    @classmethod
    def of(cls, statement: Statement) -> StatementReply:
        return cls.model_validate(statement)


class SessionLogReply(Reply):
    id: str
    from_: int = Field(alias="from")
    total: int
    log: list[str]

    @classmethod
    def of(cls, session_id: str, log: SessionLog) -> SessionLogReply:
        return cls(id=session_id, **{"from": log.from_}, total=log.total, log=log.log)


class Completion(Reply):
    candidates: list[str]


class Message(Reply):
    message: str


class ConnectUrl(Reply):
    url: str = Field(
        description="sc://host:port/;token=…;user_id=…;session_id=…",
        json_schema_extra={"pattern": "^sc://"},
    )


class Endpoint(Reply):
    name: str
    url: str | None = Field(
        description="null for the embedded local Livy before it starts, and always for users who "
        "are not admins (on a single-user server the one user is): its address is for admins only"
    )
    embedded: bool
    auth: str
    username: str | None
    header_names: list[str]
    default: bool
    source: Literal["config", "sparkmagic", "reconnect", "api"] = Field(
        description="config: the server's; sparkmagic: from sparkmagic's config file "
        "(SparkEndpoints.read_sparkmagic_config); reconnect or api: a user's own, added at run time"
    )
    description: str
    session_defaults: dict[str, Any]
    kinds: list[KindName] = Field(
        description="the Livy session kinds it runs: its `kinds` setting; else every kind for a "
        "Livy elsewhere, and for the embedded local Livy what it has (no `sparkr`; `spark` only "
        "with Spark). JupyterLab is offered a broker kernel only when some endpoint runs its kind."
    )


class EndpointList(Reply):
    endpoints: list[Endpoint]
    default: str


class ProfileLimits(Limits):
    """A profile's limits as a reply: the limits set, without the unset ones."""

    @model_serializer(mode="wrap")
    def _set_only(self, handler):  # no return type: the spec keeps the fields
        return {name: value for name, value in handler(self).items() if value is not None}


class Profile(Reply):
    name: str
    endpoint: str
    display_name: str
    description: str
    settings: dict[str, Any] = Field(description="Livy session fields its sessions start with")
    limits: ProfileLimits = Field(description="what a request may ask (an unset key: no limit)")
    warm: int = Field(ge=0, description="started, unclaimed sessions ready now, warmed up")


class ProfileList(Reply):
    profiles: list[Profile]


class Caller(Reply):
    user: str = Field(description="the name the caller's sessions are owned by")
    admin: bool = Field(description="whether the caller sees and kills every user's sessions")


class EndpointHealth(Reply):
    name: str
    reachable: bool | None
    version: str | None = Field(description="Livy's version; null when Livy has no /version")
    sessions: int | None = Field(description="every session Livy holds, the broker's or not")
    error: str | None


class EndpointHealthList(Reply):
    endpoints: list[EndpointHealth]


class ErrorReply(BaseModel):
    """Every error: a message for a person, and a reason for a program."""

    message: str
    reason: str | None = None


class ReconnectFailed(BaseModel):
    """``/reconnectsparkmagic``'s errors: sparkmagic's ``{"success", "error"}``, and the broker's."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)
    success: Literal[False] = False
    error: str = Field(description="the message, where sparkmagic reads it")
    message: str
    reason: str | None = None


class ReconnectReply(Reply):
    success: Literal[True] = True
    error: None = None
    endpoint: str = Field(description="the broker's name for the endpoint")
    session_id: str = Field(description="the broker session bound to the notebook")
    kernel_id: str
    kept_session: bool = Field(description="true when the live Spark session was kept")
