"""Every reply model (``replies.py``) has exactly the fields of its schema in ``openapi.yaml``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from jupyter_spark_broker import replies

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())


def schema_at(pointer: str) -> dict[str, Any]:
    node: Any = SPEC
    for part in pointer.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/")]
    return node


def flattened(schema: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(property names, required names) of a schema, through $ref and allOf."""
    if "$ref" in schema:
        return flattened(schema_at(schema["$ref"]))
    properties, required = set(schema.get("properties", {})), set(schema.get("required", []))
    for part in schema.get("allOf", []):
        more_properties, more_required = flattened(part)
        properties |= more_properties
        required |= more_required
    return properties, required


def reply_schema(path: str, method: str, status: str) -> dict[str, Any]:
    return SPEC["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


API = "/spark-broker/api"
CASES = {
    replies.Session: {"$ref": "#/components/schemas/Session"},
    replies.SessionWithAttachments: {"$ref": "#/components/schemas/SessionWithAttachments"},
    replies.Attachment: {"$ref": "#/components/schemas/Attachment"},
    replies.AttachmentWithSession: {"$ref": "#/components/schemas/AttachmentWithSession"},
    replies.StatementReply: {"$ref": "#/components/schemas/Statement"},
    replies.StatementOutput: schema_at("#/components/schemas/Statement")["properties"]["output"],
    replies.Endpoint: {"$ref": "#/components/schemas/Endpoint"},
    replies.ReconnectReply: {"$ref": "#/components/schemas/ReconnectReply"},
    replies.EndpointList: reply_schema(f"{API}/endpoints", "get", "200"),
    replies.Caller: reply_schema(f"{API}/me", "get", "200"),
    replies.EndpointHealthList: reply_schema(f"{API}/endpoints/health", "get", "200"),
    replies.EndpointHealth: reply_schema(f"{API}/endpoints/health", "get", "200")["properties"][
        "endpoints"
    ]["items"],
    replies.SessionList: reply_schema(f"{API}/sessions", "get", "200"),
    replies.AttachmentList: reply_schema(f"{API}/attachments", "get", "200"),
    replies.SessionLogReply: reply_schema(f"{API}/sessions/{{session_id}}/log", "get", "200"),
    replies.Completion: reply_schema(f"{API}/sessions/{{session_id}}/completion", "post", "200"),
    replies.Message: reply_schema(
        f"{API}/sessions/{{session_id}}/statements/{{statement_id}}/cancel", "post", "200"
    ),
}


@pytest.mark.parametrize("model", list(CASES), ids=lambda model: model.__name__)
def test_a_reply_model_has_the_fields_of_its_schema(model):
    properties, required = flattened(CASES[model])
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    assert set(fields) == properties
    # What the spec requires, the model always sends; what the model must be given, the spec requires.
    assert required <= set(fields)
    assert {name for name, field in fields.items() if field.is_required()} <= required
