"""The REST contract, written once: ``openapi.yaml`` is made from the pydantic models (requests in
``models.py``, replies in ``replies.py``: the schemas, each named as its model) and
``openapi.overlay.yaml`` (paths, path parameters, descriptions, status codes: what no model says).

    python -m jupyter_spark_broker.server.contract --write   # rewrites jupyter_spark_broker/openapi.yaml
    python -m jupyter_spark_broker.server.contract --check   # exit status 1 when it is not what this makes
    python -m jupyter_spark_broker.server.contract           # prints it

tests/broker/test_reply_models.py fails when the committed file differs; JupyterLab's extension
takes its TypeScript types from the file (``npm run build:types``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema

from . import models, replies

HERE = Path(__file__).parent
SPEC = HERE.parent / "openapi.yaml"  # the package serves it from its top
OVERLAY = HERE / "openapi.overlay.yaml"
COMMAND = "python -m jupyter_spark_broker.server.contract --write"
REF = "#/components/schemas/{model}"

REQUESTS: tuple[type[BaseModel], ...] = (
    models.Reconnect,
    models.AddEndpoint,
    models.CreateSession,
    models.CreateAttachment,
    models.CreateStatement,
    models.CompleteCode,
)
# Query parameters (``x-query: Model`` in the overlay), not schemas of their own.
QUERIES: tuple[type[BaseModel], ...] = (
    models.ListSessionsQuery,
    models.ListAttachmentsQuery,
    models.LogQuery,
    models.StatementQuery,
)
# What the handlers send; the models inside them (Session, Attachment...) come with them.
REPLIES: tuple[type[BaseModel], ...] = (
    replies.Caller,
    replies.EndpointList,
    replies.Endpoint,
    replies.EndpointHealthList,
    replies.ProfileList,
    replies.SessionList,
    replies.SessionWithAttachments,
    replies.AttachmentList,
    replies.AttachmentWithSession,
    replies.SessionLogReply,
    replies.ConnectUrl,
    replies.StatementReply,
    replies.Completion,
    replies.Message,
    replies.ReconnectReply,
    replies.ErrorReply,
    replies.ReconnectFailed,
)


class _Schemas(GenerateJsonSchema):
    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # "title": "Session Id" beside every property says nothing the name does not


def schemas() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(components/schemas, each query model's schema) from the models."""
    validated: JsonSchemaMode = "validation"
    serialized: JsonSchemaMode = "serialization"
    modes = [(model, validated) for model in (*QUERIES, *REQUESTS)]
    modes += [(model, serialized) for model in REPLIES]
    refs, top = models_json_schema(modes, ref_template=REF, schema_generator=_Schemas)
    found = top["$defs"]
    for name, schema in found.items():
        if schema.get("title") == name:
            del schema["title"]
    query_schemas = {}
    for model in QUERIES:
        name = refs[model, "validation"]["$ref"].rsplit("/", 1)[1]
        query_schemas[model.__name__] = found.pop(name)
    return found, query_schemas


def query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """A query model's fields as an operation's parameters (by alias: ``from``, not ``from_``)."""
    required = set(schema.get("required", ()))
    parameters = []
    for name, field in schema["properties"].items():
        field = _without_null(field)
        parameter: dict[str, Any] = {"name": name, "in": "query"}
        if name in required:
            parameter["required"] = True
        if "description" in field:
            parameter["description"] = field.pop("description")
        parameter["schema"] = field
        parameters.append(parameter)
    return parameters


def _without_null(field: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or a value, never null: ``X | None`` is ``X`` there."""
    field = dict(field)
    choices = [c for c in field.pop("anyOf", ()) if c != {"type": "null"}]
    if len(choices) == 1:
        field = {**choices[0], **field}
    elif choices:
        field["anyOf"] = choices
    if field.get("default", 0) is None:
        del field["default"]
    return field


def document() -> dict[str, Any]:
    """The OpenAPI document: the overlay, its ``x-query`` made parameters, and the models' schemas."""
    spec = yaml.safe_load(OVERLAY.read_text(encoding="utf-8"))
    found, queries = schemas()
    for item in spec["paths"].values():
        for method, operation in item.items():
            if isinstance(operation, dict) and "x-query" in operation:
                item[method] = _with_query(operation, queries[operation["x-query"]])
    spec["components"]["schemas"] = found
    missing = sorted(
        ref for ref in _refs(spec) if ref.startswith(REF[:21]) and ref[21:] not in found
    )
    if missing:
        raise LookupError(f"the overlay names schemas no model makes: {', '.join(missing)}")
    return spec


def _with_query(operation: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    """The operation with its query model's parameters, before its own, in the usual place."""
    operation = {key: value for key, value in operation.items() if key != "x-query"}
    parameters = [*query_parameters(query), *operation.pop("parameters", ())]
    head = ("summary", "description", "operationId")
    return {
        **{key: operation.pop(key) for key in head if key in operation},
        "parameters": parameters,
        **operation,
    }


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


class _Dumper(yaml.SafeDumper):
    """Block style, but a short mapping or list of plain values on one line, as a person writes it;
    a text of several lines as a ``|`` block."""


def _is_plain(value: Any) -> bool:
    if isinstance(value, list):
        return all(not isinstance(item, dict | list) for item in value)
    return not isinstance(value, dict)


def _represent_dict(dumper: yaml.SafeDumper, value: dict[str, Any]) -> yaml.Node:
    short = all(_is_plain(v) for v in value.values()) and len(repr(value)) <= 80
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=short)


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    short = _is_plain(value) and len(repr(value)) <= 80
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=short)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value.rstrip("\n") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(str, _represent_str)

HEADER = f"""\
# Made by `{COMMAND}` from the pydantic models (models.py, replies.py)
# and openapi.overlay.yaml: change those, then run it. A test fails when this file is not what they make.
"""


def render() -> str:
    body = yaml.dump(document(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return HEADER + body


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if args == ["--write"]:
        SPEC.write_text(text, encoding="utf-8")
    elif args == ["--check"]:
        if SPEC.read_text(encoding="utf-8") != text:
            print(f"{SPEC} is not what the models make: run {COMMAND}", file=sys.stderr)
            return 1
    elif not args:
        sys.stdout.write(text)
    else:
        print(
            "usage: python -m jupyter_spark_broker.server.contract [--write | --check]",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
