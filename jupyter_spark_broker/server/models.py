"""REST API requests (pydantic v2), named by verb (replies: ``replies.py``), and the API's names.

They are the source of the request schemas of ``openapi.yaml`` (``contract.py`` writes it), so what a
client needs to know goes into the fields: descriptions, bounds, patterns. Requests forbid unknown
fields, so a typo is a 400 naming the field instead of a silently ignored setting.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, TypeVar

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
from pydantic.json_schema import JsonDict
from typing_extensions import TypeAliasType

from ..broker.endpoints import livy_url
from ..broker.errors import InvalidRequest
from ..broker.paths import normalise_notebook_path, run_notebook_label
from ..livy.names import (
    KIND_ALIASES,
    RECORD_FINISHED_STATES,
    SESSION_KINDS,
    SESSION_READY_STATES,
    SESSION_SETTINGS,
    SESSION_STARTING_STATES,
    SPARK_SIZE,
    SPARK_SIZE_PATTERN,
    STATEMENT_FINISHED_STATES,
    STATEMENT_KINDS,
)
from ..support.pydantic_errors import every_problem
from .request_guards import MAX_NAME_LENGTH, MAX_PATH_LENGTH, plain_text

ModelT = TypeVar("ModelT", bound=BaseModel)


def _one_of(values: Iterable[str]) -> Any:  # Any: a Literal type made at run time
    return Literal[tuple(sorted(values))]


# The API's names, from Livy's (livy/names.py). Each alias is a schema of its own in openapi.yaml, so
# clients take the lists from the contract (JupyterLab's extension: src/generated/api-types.ts).
if TYPE_CHECKING:
    # mypy cannot make Literals of names.py's sets (nor reads this else branch): to it these are the
    # strings they hold, as the registry keeps them.
    StatementKind: TypeAlias = str
    SessionKind: TypeAlias = str
    KindName: TypeAlias = str
    SessionState: TypeAlias = str
    StatementState: TypeAlias = str
else:
    StatementKind = TypeAliasType("StatementKind", Literal[STATEMENT_KINDS])
    SessionKind = TypeAliasType("SessionKind", Literal[SESSION_KINDS])
    # The kinds themselves, without their aliases (python for pyspark...): what an endpoint runs.
    KindName = TypeAliasType("KindName", _one_of(set(KIND_ALIASES.values())))
    StartingState = TypeAliasType("StartingState", _one_of(SESSION_STARTING_STATES))
    ReadyState = TypeAliasType("ReadyState", _one_of(SESSION_READY_STATES))
    # Livy's finished states and the broker's ``lost``: nothing will run in the session again.
    EndedState = TypeAliasType("EndedState", _one_of(RECORD_FINISHED_STATES))
    SessionState = TypeAliasType("SessionState", StartingState | ReadyState | EndedState)
    StatementActiveState = TypeAliasType(
        "StatementActiveState", Literal["cancelling", "running", "waiting"]
    )
    StatementEndedState = TypeAliasType("StatementEndedState", _one_of(STATEMENT_FINISHED_STATES))
    StatementState = TypeAliasType("StatementState", StatementActiveState | StatementEndedState)

# Livy reads paging numbers as Java ints; the registry's SQL integers are no smaller.
MAX_INT32 = 2**31 - 1

# Names, ids and paths: bounded (every list reply carries them) and free of control characters
# (plain_text checks; the pattern says so in the spec).
PLAIN_TEXT: JsonDict = {"pattern": r"^[^\x00-\x1f\x7f]*$"}
Name = Annotated[
    str,
    Field(min_length=1, max_length=MAX_NAME_LENGTH, json_schema_extra=PLAIN_TEXT),
    AfterValidator(plain_text),
]
NotebookPath = Annotated[
    str,
    Field(min_length=1, max_length=MAX_PATH_LENGTH, json_schema_extra=PLAIN_TEXT),
    AfterValidator(plain_text),
]
# What ``GET sessions?state=`` may name: Livy's session states and the broker's ``lost``.
SESSION_STATES = tuple(
    sorted(SESSION_STARTING_STATES | SESSION_READY_STATES | RECORD_FINISHED_STATES)
)
# A Livy URL (livy_url checks it); user:password@ in it is a 400.
LIVY_URL: JsonDict = {
    "pattern": "^https?://",
    "description": "Livy URL, without credentials (user:password@ is a 400: give username and "
    "password)",
}
AUTH_NAME: JsonDict = {
    "description": "None, Basic_Access, Kerberos or a name configured in "
    "SparkEndpoints.authenticators; anything else is a 400",
    "examples": ["Basic_Access"],
}


def spark_size(value: str) -> str:
    """Anything but a Spark size would only fail later, as the driver's JVM starts."""
    if not SPARK_SIZE.fullmatch(value):
        raise ValueError(f'a size such as "2g" or "512m", not {value!r}')
    return value


Memory = Annotated[
    str,
    Field(
        max_length=32,
        description="a size, such as 2g or 512m",
        json_schema_extra={"pattern": f"^{SPARK_SIZE_PATTERN}$"},
    ),
    AfterValidator(spark_size),
]
# A count in a JSON body: a JSON number, not "1" nor true; bounded like Livy's Java ints.
Count = Annotated[int, Field(strict=True, ge=1, le=100_000)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SessionSettings(_Request):
    """Spark settings of a new session, by Livy's names"""

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
    proxyUser: str | None = Field(
        None,
        min_length=1,
        description="whom Livy runs the session as. With the broker's `impersonate` on, only the "
        "caller's own name (admin users: any); a session without it then runs as the caller.",
    )

    def livy_fields(self) -> dict[str, Any]:
        """As keyword arguments of :class:`~jupyter_spark_broker.livy.CreateSessionRequest`."""
        return {SESSION_SETTINGS[k]: v for k, v in self.model_dump(exclude_none=True).items()}


class CreateSession(_Request):
    endpoint: Name | None = None
    kind: SessionKind | None = None
    name: Name | None = Field(None, description="a share name notebooks can attach to")
    settings: SessionSettings = Field(default_factory=SessionSettings)
    profile: str | None = Field(None, min_length=1, max_length=64)
    request_id: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="a create retried with the same id (by the same user) makes one session",
    )
    protocol: Literal["livy", "livy+connect"] = Field(
        "livy",
        description="livy+connect: the Livy session's Spark also serves Spark Connect clients (its "
        "URL: GET sessions/{id}/connect); embedded local Livy only",
    )


class CreateStatement(_Request):
    code: str
    kind: StatementKind | None = Field(None, description="default: the session's kind")


class CompleteCode(_Request):
    code: str
    cursor: int = Field(
        ge=0, strict=True, description="where the cursor stands in code: at most its length"
    )
    kind: StatementKind | None = None

    @model_validator(mode="after")
    def _cursor_inside_code(self) -> CompleteCode:
        if self.cursor > len(self.code):
            raise ValueError(f"cursor {self.cursor} is past the end of code ({len(self.code)})")
        return self


class CreateAttachment(_Request):
    path: NotebookPath
    kernel_id: Name | None = Field(
        None,
        description="the attaching kernel. When the Jupyter server has a session for it, that "
        "session's notebook path is used instead of `path` (a kernel's own name for its notebook "
        "goes stale on a rename); and a kernel already attached at that path (restarted: it keeps "
        "its id) gets back the live session it was attached to, one attached by name included",
    )
    endpoint: Name | None = None
    kind: SessionKind | None = None
    session: Name | None = Field(None, description="a broker session id to attach to")
    name: Name | None = Field(
        None,
        description="the share name of a live session to attach to; an unknown name is a 404 "
        "(reason `unknown_name`) unless `create`",
    )
    create: bool = Field(
        False, description="with `name`: start a session of that name when none is live"
    )
    settings: SessionSettings = Field(default_factory=SessionSettings)
    profile: str | None = Field(None, min_length=1, max_length=64)
    run: Name | None = Field(
        None,
        description="a headless run (papermill, nbconvert, a scheduler: a kernel no Jupyter server "
        "knows) attaches under this name (its kernel's id, or a name it was given); `path` is then "
        "the notebook it runs as far as it is known. Its own session is keyed by the run, not the "
        "path, and ends with it: when the run detaches (its kernel shut down) or stops beating "
        "(POST attachments/{id}/beat every `beat_interval` s). A session it joins by `name` or "
        "`session` is only detached",
    )
    protocol: Literal["livy", "connect", "livy+connect"] = Field(
        "livy",
        description="connect gives the notebook's Spark Connect session (no kind or settings "
        "then); livy+connect its Livy session, started with Spark's Connect plugin (embedded "
        "local Livy) so Connect clients reach it too",
    )

    @model_validator(mode="after")
    def _create_needs_a_name(self) -> CreateAttachment:
        if self.create and self.name is None:
            raise ValueError("create: only with name (a notebook's own session is always made)")
        return self

    @model_validator(mode="after")
    def _livy_only_fields(self) -> CreateAttachment:
        if self.protocol == "connect":
            given = sorted({"kind", "settings"} & self.model_fields_set)
            if given:
                raise ValueError(f"{' and '.join(given)}: Livy session fields, not for Connect")
        return self


# The query models are the operations' query parameters in openapi.yaml (``x-query`` in the overlay).
Limit = Annotated[int, Field(ge=1, le=1000, description="at most this many")]
Offset = Annotated[int, Field(ge=0, le=MAX_INT32, description="skip this many")]


class ListSessionsQuery(_Request):
    mine: bool = Field(False, description="only the caller's own sessions, also for admin users")
    state: SessionState | None = Field(
        None, description="only sessions in this state (any other word: 400 naming the states)"
    )
    live: bool = Field(
        False,
        description="only sessions that have not ended (the registry keeps ended ones): what "
        "JupyterLab's panel lists",
    )
    endpoint: Name | None = Field(
        None,
        description="not checked against the endpoints: sessions of a removed endpoint are still "
        "listed by its name",
    )
    path: NotebookPath | None = Field(None, description="sessions a notebook is attached to")
    limit: Limit = 100
    offset: Offset = 0

    @field_validator("state", mode="before")
    @classmethod
    def _known_state(cls, state: Any) -> Any:
        # A typo would otherwise match nothing and look like "no such sessions".
        if isinstance(state, str) and state not in SESSION_STATES:
            raise ValueError(
                f"{state!r} is not a session state: one of {', '.join(SESSION_STATES)}"
            )
        return state


class ListAttachmentsQuery(_Request):
    path: NotebookPath | None = Field(None, description="the attachments of a notebook")
    limit: Limit = 100
    offset: Offset = 0


class LogQuery(_Request):
    from_: int | None = Field(
        None, alias="from", ge=0, le=MAX_INT32, description="the first line's index"
    )
    size: int | None = Field(None, ge=-1, le=MAX_INT32, description="-1: every line")


class StatementQuery(_Request):
    wait: float = Field(
        0.0,
        ge=0,
        le=3600,
        description="seconds to wait for the statement to finish (one Livy poller serves every "
        "waiter); cut to SparkBroker.max_statement_wait",
    )


class Reconnect(BaseModel):
    """sparkmagic's ``/reconnectsparkmagic`` body. Unknown keys are ignored, as sparkmagic does."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    path: NotebookPath = Field(description="notebook path relative to the server root")
    username: str = Field(max_length=MAX_NAME_LENGTH)
    password: str = Field(
        max_length=4096, json_schema_extra={"format": "password", "writeOnly": True}
    )
    endpoint: str = Field(max_length=2048, json_schema_extra=LIVY_URL)
    auth: Name | None = Field(None, json_schema_extra=AUTH_NAME)
    kernelname: Name | None = Field(None, description="the kernel to (re)start the notebook with")

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

    name: Name | None = Field(
        None,
        description="default: username@url, as /reconnectsparkmagic",
        json_schema_extra={"not": {"enum": ["health"]}},
    )
    url: str = Field(max_length=2048, json_schema_extra=LIVY_URL)
    auth: Name | None = Field(
        None,
        description="None, Basic_Access, Kerberos or a name configured in "
        "SparkEndpoints.authenticators; default: Basic_Access with credentials, else None",
        examples=["Basic_Access"],
    )
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


def run_path(path: str, root_dir: str | None) -> str:
    """A headless run's notebook, which may lie outside the root dir (it is a label, not a key)."""
    try:
        return run_notebook_label(path, root_dir)
    except ValueError as error:
        raise InvalidRequest(f"path: {error}", reason="invalid_field") from None


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", type(None): "null", bool: "a boolean"}.get(
        type(value), "a number"
    )
