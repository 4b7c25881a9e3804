"""``openapi.yaml`` is what the models make (``jupyter_spark_broker/server/contract.py``): the committed file
is the generated one, every reply model is in it, and no body schema is written by hand."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from jupyter_spark_broker.server import contract, replies

COMMITTED = Path(__file__).resolve().parents[2] / "openapi.yaml"
SPEC = yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))


def test_the_committed_spec_is_what_the_models_make():
    committed, made = COMMITTED.read_text(encoding="utf-8"), contract.render()
    diff = difflib.unified_diff(
        committed.splitlines(), made.splitlines(), "openapi.yaml", "made", lineterm="", n=1
    )
    excerpt = "\n".join(list(diff)[:60])
    assert committed == made, f"openapi.yaml is out of date: run {contract.COMMAND}\n{excerpt}"


def test_the_repository_root_serves_the_package_file():
    assert COMMITTED.resolve() == contract.SPEC.resolve()


def test_the_spec_is_valid_openapi():
    validate(SPEC)


def reply_models() -> list[type[replies.Reply]]:
    found, todo = [], [replies.Reply]
    while todo:
        for model in todo.pop().__subclasses__():
            found.append(model)
            todo.append(model)
    return found


@pytest.mark.parametrize("model", reply_models(), ids=lambda model: model.__name__)
def test_every_reply_model_is_in_the_spec(model):
    assert model.__name__ in SPEC["components"]["schemas"], (
        f"{model.__name__} is in no reply of the spec: add it to contract.REPLIES"
    )


def bodies(node: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every JSON body's schema in the paths and the shared responses."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "application/json":
                found.append((where, value["schema"]))
            else:
                found += bodies(value, f"{where}/{key}")
    return found


@pytest.mark.parametrize(
    "where, schema", bodies({"paths": SPEC["paths"], "responses": SPEC["components"]["responses"]})
)
def test_every_json_body_is_a_model(where, schema):
    # In the overlay a body is its model's schema, not one written by hand beside the model.
    assert set(schema) == {"$ref"} and schema["$ref"].startswith("#/components/schemas/"), where


def test_the_session_states_are_livys_and_lost():
    from jupyter_spark_broker.livy import names

    schemas = SPEC["components"]["schemas"]
    assert set(schemas["StartingState"]["enum"]) == names.SESSION_STARTING_STATES
    assert set(schemas["ReadyState"]["enum"]) == names.SESSION_READY_STATES
    assert set(schemas["EndedState"]["enum"]) == names.RECORD_FINISHED_STATES
    assert set(schemas["StatementEndedState"]["enum"]) == names.STATEMENT_FINISHED_STATES
