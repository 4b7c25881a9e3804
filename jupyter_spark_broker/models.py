"""REST API request and response models (pydantic v2), named by verb. ``openapi.yaml`` mirrors them.

Requests forbid unknown fields, so a typo is a 400 naming the field instead of a silently ignored
setting. Responses are built from registry records by the ``describe_*`` functions.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .endpoints import livy_url
from .errors import InvalidRequest
from .livy import Statement
from .paths import normalise_notebook_path
from .registry import AttachmentRecord, SessionRecord

StatementKind = Literal["pyspark", "python", "spark", "scala", "sparkr", "r", "sql"]
SessionKind = Literal["pyspark", "python", "spark", "scala", "sparkr", "r", "sql", "shared"]
ModelT = TypeVar("ModelT", bound=BaseModel)

# Livy reads paging numbers as Java ints; the registry's SQL integers are no smaller.
MAX_INT32 = 2**31 - 1


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SessionSettings(_Request):
    """Spark settings of a new session, by Livy's names (what ``%%configure`` sends)."""

    conf: dict[str, str] | None = None
    driverMemory: str | None = None
    driverCores: int | None = Field(None, ge=1)
    executorMemory: str | None = None
    executorCores: int | None = Field(None, ge=1)
    numExecutors: int | None = Field(None, ge=1)
    queue: str | None = None
    jars: list[str] | None = None
    pyFiles: list[str] | None = None
    files: list[str] | None = None
    archives: list[str] | None = None
    ttl: str | None = None
    idleTimeout: str | None = None
    proxyUser: str | None = Field(None, min_length=1)  # see SparkBrokerApp.impersonate

    def livy_fields(self) -> dict[str, Any]:
        """As keyword arguments of :class:`~jupyter_spark_broker.livy.CreateSessionRequest`."""
        names = {
            "driverMemory": "driver_memory",
            "driverCores": "driver_cores",
            "executorMemory": "executor_memory",
            "executorCores": "executor_cores",
            "numExecutors": "num_executors",
            "pyFiles": "py_files",
            "idleTimeout": "idle_timeout",
            "proxyUser": "proxy_user",
        }
        return {names.get(k, k): v for k, v in self.model_dump(exclude_none=True).items()}


class CreateSession(_Request):
    endpoint: str | None = None
    kind: SessionKind | None = None
    name: str | None = Field(
        None, min_length=1, max_length=200, description="share name others can attach to"
    )
    settings: SessionSettings = Field(default_factory=SessionSettings)


class CreateStatement(_Request):
    code: str
    kind: StatementKind | None = None


class CompleteCode(_Request):
    code: str
    cursor: int = Field(ge=0, description="where the cursor stands in code")
    kind: StatementKind | None = None

    @model_validator(mode="after")
    def _cursor_inside_code(self) -> CompleteCode:
        if self.cursor > len(self.code):
            raise ValueError(f"cursor {self.cursor} is past the end of code ({len(self.code)})")
        return self


class CreateAttachment(_Request):
    path: str = Field(min_length=1)
    kernel_id: str | None = None
    endpoint: str | None = None
    kind: SessionKind | None = None
    session: str | None = Field(None, description="a broker session id to attach to")
    name: str | None = Field(None, min_length=1, max_length=200, description="a share name")
    settings: SessionSettings = Field(default_factory=SessionSettings)


class ListSessionsQuery(_Request):
    mine: bool = False  # only the caller's own sessions, also for admin users
    state: str | None = None
    endpoint: str | None = None
    path: str | None = None
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_INT32)


class ListAttachmentsQuery(_Request):
    path: str | None = None
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_INT32)


class LogQuery(_Request):
    from_: int | None = Field(None, alias="from", ge=0, le=MAX_INT32)
    size: int | None = Field(None, ge=-1, le=MAX_INT32)


class StatementQuery(_Request):
    wait: float = Field(0.0, ge=0, le=3600)


class Reconnect(BaseModel):
    """sparkmagic's ``/reconnectsparkmagic`` body. Unknown keys are ignored, as sparkmagic does."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    path: str
    username: str
    password: str
    endpoint: str
    auth: str | None = None
    kernelname: str | None = None

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return livy_url(value)

    @property
    def auth_type(self) -> str:
        """sparkmagic's default: None without credentials, else Basic_Access."""
        if self.auth:
            return self.auth
        return "None" if not self.username and not self.password else "Basic_Access"


# sparkmagic checks the keys in this order and names only the first one missing.
RECONNECT_REQUIRED = ("path", "username", "password", "endpoint")


def parse_json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"null")
    except ValueError as error:
        raise InvalidRequest(
            f"the request body is not valid JSON: {error}", reason="invalid_json"
        ) from None
    if not isinstance(body, dict):
        raise InvalidRequest(
            f"the request body must be a JSON object, not {_json_type(body)}", reason="invalid_body"
        )
    return body


def validate(model: type[ModelT], data: dict[str, Any], *, what: str = "body") -> ModelT:
    """The model, or an :class:`InvalidRequest` that names every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(part) for part in e['loc']) or what}: {e['msg']}"
            for e in error.errors()
        ]
        raise InvalidRequest(
            f"invalid {what}: " + "; ".join(problems), reason="invalid_field"
        ) from None


def notebook_path(path: str, root_dir: str | None) -> str:
    try:
        return normalise_notebook_path(path, root_dir)
    except ValueError as error:
        raise InvalidRequest(f"path: {error}", reason="invalid_field") from None


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", type(None): "null", bool: "a boolean"}.get(
        type(value), "a number"
    )


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds") + "Z"


def describe_attachment(record: AttachmentRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "path": record.path,
        "kernel_id": record.kernel_id,
        "session_id": record.session_id,
        "owner": record.owner,
        "attached": _time(record.attached),
        "last_seen": _time(record.last_seen),
    }


def describe_session(
    record: SessionRecord, attachments: list[AttachmentRecord] | None = None
) -> dict[str, Any]:
    described = {
        "id": record.id,
        "endpoint": record.endpoint,
        "livy_id": record.livy_id,
        "name": record.livy_name,
        "share_key": record.share_key,
        "kind": record.kind,
        "state": record.state,
        "app_id": record.app_id,
        "spark_ui_url": record.spark_ui_url,
        "driver_log_url": record.driver_log_url,
        "owner": record.owner,
        "settings": record.config,
        "message": record.message,
        "created": _time(record.created),
        "last_activity": _time(record.last_activity),
    }
    if attachments is not None:
        described["attachments"] = [describe_attachment(a) for a in attachments]
    return described


def describe_statement(statement: Statement) -> dict[str, Any]:
    return {
        "id": statement.id,
        "code": statement.code,
        "state": statement.state,
        "output": None if statement.output is None else statement.output.model_dump(),
        "progress": statement.progress,
        "started": statement.started,
        "completed": statement.completed,
    }
