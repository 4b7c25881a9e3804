"""pydantic models of Livy's REST messages (``livy-rest-protocol.md`` §2–§5).

They read the shapes of Livy 0.7 (nine session fields), 0.8 (+ ``ttl`` … ``queue``) and 0.9+
(+ ``idleTimeout``, ``executorLogUrls``) and ignore fields they do not know, so a newer Livy does not
break the client. Python attribute names are snake_case; Livy's camelCase names are the aliases.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from ..support.json_types import JSON, JSONObject
from .names import (
    SESSION_FINISHED_STATES,
    SESSION_READY_STATES,
    SESSION_STARTING_STATES,
    STATEMENT_FINISHED_STATES,
)


class _LivyCamelModel(BaseModel):
    model_config = ConfigDict(
        extra="ignore", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


class AppInfo(_LivyCamelModel):
    driver_log_url: str | None = None
    spark_ui_url: str | None = None
    executor_log_urls: str | None = None


class Session(_LivyCamelModel):
    """An interactive session as ``GET /sessions/{id}`` returns it."""

    id: int
    name: str | None = None
    app_id: str | None = None
    owner: str | None = None
    proxy_user: str | None = None
    state: str
    kind: str = "shared"
    app_info: AppInfo = Field(default_factory=AppInfo)
    log: list[str] = Field(default_factory=list)
    # 0.8+
    ttl: str | None = None
    driver_memory: str | None = None
    driver_cores: int = 0
    executor_memory: str | None = None
    executor_cores: int = 0
    conf: dict[str, str] = Field(default_factory=dict)
    heartbeat_timeout_in_second: int = 0
    num_executors: int = 0
    queue: str | None = None
    # 0.9+
    idle_timeout: str | None = None

    @field_validator("app_info", mode="before")
    @classmethod
    def _app_info_may_be_null(cls, value: JSON) -> JSON:
        return {} if value is None else value

    @field_validator("log", mode="before")
    @classmethod
    def _null_log_is_empty(cls, value: JSON) -> JSON:
        return [] if value is None else value

    @field_validator("conf", mode="before")
    @classmethod
    def _null_conf_is_empty(cls, value: JSON) -> JSON:
        return {} if value is None else value

    @property
    def is_starting(self) -> bool:
        return self.state in SESSION_STARTING_STATES

    @property
    def is_ready(self) -> bool:
        return self.state in SESSION_READY_STATES

    @property
    def is_finished(self) -> bool:
        return self.state in SESSION_FINISHED_STATES


class SessionStateReply(BaseModel):
    """``GET /sessions/{id}/state``."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    id: int
    state: str


class SessionList(BaseModel):
    """``GET /sessions``: ``total`` counts every session Livy holds, not the page."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    from_: int = Field(0, alias="from")
    total: int = 0
    sessions: list[Session] = Field(default_factory=list)


class SessionLog(BaseModel):
    """``GET /sessions/{id}/log``: the docs say ``size``, the code sends ``total``."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    id: int
    from_: int = Field(0, alias="from")
    total: int = 0
    log: list[str] = Field(default_factory=list)


class StatementOutput(BaseModel):
    """A finished statement's output: ``data`` by MIME type when ok; ename/evalue/traceback on error."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    status: str
    execution_count: int | None = None
    data: JSONObject = Field(default_factory=dict)  # by MIME type: whatever the code displayed
    ename: str | None = None
    evalue: str | None = None
    traceback: list[str] = Field(default_factory=list)

    @field_validator("traceback", mode="before")
    @classmethod
    def _traceback_as_lines(cls, value: JSON) -> JSON:
        # Some Livy-compatible servers send the traceback as one string.
        if value is None:
            return []
        if isinstance(value, str):
            return value.splitlines(keepends=True)
        return value

    @field_validator("data", mode="before")
    @classmethod
    def _data_may_be_null(cls, value: JSON) -> JSON:
        return {} if value is None else value

    @property
    def is_error(self) -> bool:
        return self.status == "error"


class Statement(BaseModel):
    """``GET /sessions/{id}/statements/{sid}``; ``started``/``completed`` are epoch milliseconds."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    id: int
    code: str = ""
    state: str
    output: StatementOutput | None = None
    progress: float = 0.0
    started: int = 0
    completed: int = 0

    @property
    def is_finished(self) -> bool:
        return self.state in STATEMENT_FINISHED_STATES


class StatementList(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    total_statements: int = 0
    statements: list[Statement] = Field(default_factory=list)


class CreateSessionRequest(_LivyCamelModel):
    """Body of ``POST /sessions``. Only fields that were set are sent: older Livy rejects unknown ones."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True
    )
    kind: str | None = None
    proxy_user: str | None = None
    jars: list[str] | None = None
    py_files: list[str] | None = None
    files: list[str] | None = None
    archives: list[str] | None = None
    driver_memory: str | None = None
    driver_cores: int | None = None
    executor_memory: str | None = None
    executor_cores: int | None = None
    num_executors: int | None = None
    queue: str | None = None
    name: str | None = None
    conf: dict[str, str] | None = None
    heartbeat_timeout_in_second: int | None = None
    ttl: str | None = None
    idle_timeout: str | None = None

    def to_livy_json(self) -> JSONObject:
        return self.model_dump(by_alias=True, exclude_none=True)
