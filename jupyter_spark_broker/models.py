"""REST API requests (pydantic v2), named by verb; ``openapi.yaml`` mirrors them (replies: ``replies.py``).

Requests forbid unknown fields, so a typo is a 400 naming the field instead of a silently ignored
setting.
"""

from __future__ import annotations

import json
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
from .livy.names import SESSION_KINDS, SESSION_SETTINGS, STATEMENT_KINDS
from .paths import normalise_notebook_path
from .pydantic_errors import every_problem

StatementKind = Literal[STATEMENT_KINDS]  # type: ignore[valid-type]
SessionKind = Literal[SESSION_KINDS]  # type: ignore[valid-type]
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
    proxyUser: str | None = Field(None, min_length=1)  # see SparkBroker.impersonate

    def livy_fields(self) -> dict[str, Any]:
        """As keyword arguments of :class:`~jupyter_spark_broker.livy.CreateSessionRequest`."""
        return {SESSION_SETTINGS[k]: v for k, v in self.model_dump(exclude_none=True).items()}


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
        raise InvalidRequest(
            f"invalid {what}: {every_problem(error, what)}", reason="invalid_field"
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
