"""Request bodies of the local Livy, as strict as Livy's Jackson classes (``livy-rest-protocol.md`` §1, §2.1).

An unknown field, a wrong type or malformed JSON is a :class:`BadRequestBody`, which the server answers
with 400 and a JSON-string body, as Livy's ``JsonServlet`` does.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ..livy.names import KIND_ALIASES
from ..support.pydantic_errors import where

ModelT = TypeVar("ModelT", bound="_LivyRequest")


class BadRequestBody(Exception):
    """The body cannot be mapped to the request class."""


class _LivyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    livy_class: ClassVar[str] = "Request"


class CreateInteractiveRequest(_LivyRequest):
    livy_class: ClassVar[str] = "org.apache.livy.server.interactive.CreateInteractiveRequest"
    kind: str | None = None
    proxyUser: str | None = None
    jars: list[str] | None = None
    pyFiles: list[str] | None = None
    files: list[str] | None = None
    driverMemory: str | None = None
    driverCores: int | None = None
    executorMemory: str | None = None
    executorCores: int | None = None
    numExecutors: int | None = None
    archives: list[str] | None = None
    queue: str | None = None
    name: str | None = None
    conf: dict[str, str] | None = None
    heartbeatTimeoutInSecond: int = 0
    ttl: str | None = None
    idleTimeout: str | None = None


class ExecuteRequest(_LivyRequest):
    livy_class: ClassVar[str] = "org.apache.livy.ExecuteRequest"
    code: str
    kind: str | None = None


class CompletionRequest(_LivyRequest):
    livy_class: ClassVar[str] = "org.apache.livy.CompletionRequest"
    code: str
    kind: str
    cursor: int


def normalise_kind(kind: str) -> str:
    try:
        return KIND_ALIASES[kind.lower()]
    except KeyError:
        raise BadRequestBody(f"Invalid kind: {kind}") from None


def parse_body(raw: bytes, model: type[ModelT]) -> ModelT:
    """Parse like Jackson: malformed JSON, a non-object, an unknown field or a wrong type is refused."""
    livy_class = model.livy_class
    text = raw.decode("utf-8", errors="replace").strip()
    if not text:
        raise BadRequestBody("No content to map due to end-of-input")
    try:
        body: Any = json.loads(text)
    except ValueError as error:
        raise BadRequestBody(f"Unexpected character in JSON: {error}") from None
    if not isinstance(body, dict):
        raise BadRequestBody(
            f"Cannot deserialize value of type `{livy_class}` from {type(body).__name__} value"
        )
    try:
        return model.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        field = where(first)
        if first["type"] == "extra_forbidden":
            raise BadRequestBody(
                f'Unrecognized field "{field}" (class {livy_class}), not marked as ignorable'
            ) from None
        if first["type"] == "missing":
            raise BadRequestBody(
                f'Missing required creator property "{field}" ({livy_class})'
            ) from None
        raise BadRequestBody(
            f'Cannot deserialize field "{field}" of {livy_class}: {first["msg"]}'
        ) from None
