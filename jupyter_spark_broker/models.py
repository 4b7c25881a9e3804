"""REST API requests (pydantic v2), named by verb; ``openapi.yaml`` mirrors them (replies: ``replies.py``).

Requests forbid unknown fields, so a typo is a 400 naming the field instead of a silently ignored
setting.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from .endpoints import livy_url
from .errors import InvalidRequest
from .livy.names import (
    LOST,
    SESSION_FINISHED_STATES,
    SESSION_KINDS,
    SESSION_READY_STATES,
    SESSION_SETTINGS,
    SESSION_STARTING_STATES,
    SPARK_SIZE,
    STATEMENT_KINDS,
)
from .paths import normalise_notebook_path
from .pydantic_errors import every_problem
from .request_guards import MAX_NAME_LENGTH, MAX_PATH_LENGTH, plain_text

StatementKind = Literal[STATEMENT_KINDS]  # type: ignore[valid-type]
SessionKind = Literal[SESSION_KINDS]  # type: ignore[valid-type]
ModelT = TypeVar("ModelT", bound=BaseModel)

# Livy reads paging numbers as Java ints; the registry's SQL integers are no smaller.
MAX_INT32 = 2**31 - 1

# Names, ids and paths: bounded (every list reply carries them) and free of control characters.
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(plain_text)]
NotebookPath = Annotated[
    str, Field(min_length=1, max_length=MAX_PATH_LENGTH), AfterValidator(plain_text)
]
# What ``GET sessions?state=`` may name: Livy's session states and the broker's ``lost``.
SESSION_STATES = tuple(
    sorted(SESSION_STARTING_STATES | SESSION_READY_STATES | SESSION_FINISHED_STATES | {LOST})
)


def spark_size(value: str) -> str:
    """Anything but a Spark size would only fail later, as the driver's JVM starts."""
    if not SPARK_SIZE.fullmatch(value):
        raise ValueError(f'a size such as "2g" or "512m", not {value!r}')
    return value


Memory = Annotated[str, Field(max_length=32), AfterValidator(spark_size)]
# A count in a JSON body: a JSON number, not "1" nor true; bounded like Livy's Java ints.
Count = Annotated[int, Field(strict=True, ge=1, le=100_000)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SessionSettings(_Request):
    """Spark settings of a new session, by Livy's names (what ``%%configure`` sends)."""

    conf: dict[str, str] | None = None
    driverMemory: Memory | None = None
    driverCores: Count | None = None
    executorMemory: Memory | None = None
    executorCores: Count | None = None
    numExecutors: Count | None = None
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
    endpoint: Name | None = None
    kind: SessionKind | None = None
    name: Name | None = Field(None, description="share name others can attach to")
    settings: SessionSettings = Field(default_factory=SessionSettings)
    profile: str | None = Field(None, min_length=1, max_length=64)
    request_id: str | None = Field(
        None, min_length=1, max_length=200, description="a retried create makes one session"
    )
    protocol: Literal["livy", "livy+connect"] = Field(
        "livy", description="livy+connect: a Livy session whose Spark also serves Connect clients"
    )


class CreateStatement(_Request):
    code: str
    kind: StatementKind | None = None


class CompleteCode(_Request):
    code: str
    cursor: int = Field(ge=0, strict=True, description="where the cursor stands in code")
    kind: StatementKind | None = None

    @model_validator(mode="after")
    def _cursor_inside_code(self) -> CompleteCode:
        if self.cursor > len(self.code):
            raise ValueError(f"cursor {self.cursor} is past the end of code ({len(self.code)})")
        return self


class CreateAttachment(_Request):
    path: NotebookPath
    kernel_id: Name | None = None
    endpoint: Name | None = None
    kind: SessionKind | None = None
    session: Name | None = Field(None, description="a broker session id to attach to")
    name: Name | None = Field(None, description="a share name")
    settings: SessionSettings = Field(default_factory=SessionSettings)
    profile: str | None = Field(None, min_length=1, max_length=64)
    protocol: Literal["livy", "connect", "livy+connect"] = Field(
        "livy",
        description="connect: the notebook's Spark Connect session; livy+connect: its Livy "
        "session, started with Spark's Connect plugin so Connect clients reach it too",
    )

    @model_validator(mode="after")
    def _livy_only_fields(self) -> CreateAttachment:
        if self.protocol == "connect":
            given = sorted({"kind", "settings"} & self.model_fields_set)
            if given:
                raise ValueError(f"{' and '.join(given)}: Livy session fields, not for Connect")
        return self


class ListSessionsQuery(_Request):
    mine: bool = False  # only the caller's own sessions, also for admin users
    state: Name | None = None
    # Not checked against the endpoints: rows of a removed endpoint are still listed by its name.
    endpoint: Name | None = None
    path: NotebookPath | None = None
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_INT32)

    @field_validator("state")
    @classmethod
    def _known_state(cls, state: str | None) -> str | None:
        # A typo would otherwise match nothing and look like "no such sessions".
        if state is not None and state not in SESSION_STATES:
            raise ValueError(
                f"{state!r} is not a session state: one of {', '.join(SESSION_STATES)}"
            )
        return state


class ListAttachmentsQuery(_Request):
    path: NotebookPath | None = None
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
    path: NotebookPath
    username: str = Field(max_length=MAX_NAME_LENGTH)
    password: str = Field(max_length=4096)
    endpoint: str = Field(max_length=2048)
    auth: Name | None = None
    kernelname: Name | None = None

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


class AddEndpoint(_Request):
    """A user's own Livy endpoint, added at run time (``%spark add``). Its credentials stay on the
    server, sealed in the registry; the endpoint serves only this user."""

    name: Name | None = Field(None, description="default: username@url, as /reconnectsparkmagic")
    url: str = Field(max_length=2048)
    auth: Name | None = None
    username: str = Field("", max_length=MAX_NAME_LENGTH)
    password: Annotated[SecretStr, Field(max_length=4096)] = SecretStr("")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return livy_url(value)

    @field_validator("name")
    @classmethod
    def _not_a_route(cls, value: str | None) -> str | None:
        if value == "health":  # GET endpoints/health is the endpoints' health, not this one
            raise ValueError("'health' names the endpoints' health route; pick another name")
        return value

    @property
    def auth_type(self) -> str:
        """As sparkmagic's: None without credentials, else Basic_Access."""
        if self.auth:
            return self.auth
        given = self.username or self.password.get_secret_value()
        return "Basic_Access" if given else "None"


# sparkmagic checks the keys in this order and names only the first one missing.
RECONNECT_REQUIRED = ("path", "username", "password", "endpoint")


def parse_json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"null")
    except RecursionError:
        raise InvalidRequest(
            "the request body is nested too deeply", reason="invalid_json"
        ) from None
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
    except RecursionError:
        raise InvalidRequest(f"invalid {what}: nested too deeply", reason="invalid_field") from None
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
