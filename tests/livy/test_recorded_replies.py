"""The client's models on Apache Livy 0.9.0's own replies, recorded from the real server.

``tests/recorded/apache-livy-0.9.0.json`` holds what Apache Livy answered, status and body, to the
calls of ``tests/recorded/record_replies.py`` (re-record with that script). These tests need no
server: they read every recorded body with the models the client uses.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from jupyter_spark_broker.livy import Session, Statement
from jupyter_spark_broker.livy.client import _status_error, livy_message
from jupyter_spark_broker.livy.errors import LivyNotFound, LivyRejected
from jupyter_spark_broker.livy.models import (
    SessionList,
    SessionLog,
    SessionStateReply,
    StatementList,
)

RECORDED = Path(__file__).resolve().parents[1] / "recorded" / "apache-livy-0.9.0.json"
REPLIES: dict[str, dict] = json.loads(RECORDED.read_text())


def body(name: str):
    return REPLIES[name]["body"]


def statement_bodies() -> list[str]:
    return sorted(
        name
        for name, reply in REPLIES.items()
        if isinstance(reply.get("body"), dict) and "code" in reply["body"]
    )


def named(prefix: str) -> list[str]:
    return sorted(
        name for name, reply in REPLIES.items() if name.startswith(prefix) and "body" in reply
    )


SESSION_REPLIES = ["session.create", "session.create.spark", "session.idle", "session.by_name",
                   "session.connect"]  # fmt: skip


@pytest.mark.parametrize("name", SESSION_REPLIES)
def test_sessions_read_with_every_field(name):
    raw = body(name)
    session = Session.model_validate(raw)
    assert session.id == raw["id"] and session.kind == raw["kind"]
    # 0.9.0 sends all 23 fields; the model knows each one it uses.
    assert session.app_id is None and session.app_info.spark_ui_url is None  # local[*] master
    assert session.heartbeat_timeout_in_second == 0 and session.conf == {}
    assert session.is_starting if raw["state"] == "starting" else session.is_ready


def test_a_new_session_answers_201_with_its_location():
    created = REPLIES["session.create"]
    assert created["status"] == 201
    assert created["headers"]["location"] == f"/sessions/{created['body']['id']}"
    assert REPLIES["session.states"]["states"] == ["starting", "idle"]


def test_session_lists_state_and_log():
    assert SessionList.model_validate(body("sessions.empty")).total == 0
    listed = SessionList.model_validate(body("sessions.one"))
    assert listed.total == len(listed.sessions) == 1 and listed.sessions[0].name == "rec-py"
    assert SessionStateReply.model_validate(body("session.state")).state == "idle"
    log = SessionLog.model_validate(body("session.log"))
    assert (log.from_, len(log.log)) == (0, 5)
    assert log.total > len(log.log)  # ``total`` counts the whole log, not the page


@pytest.mark.parametrize("name", statement_bodies())
def test_every_recorded_statement_reads(name):
    raw = body(name)
    statement = Statement.model_validate(raw)
    assert statement.code == raw["code"]
    if statement.state == "available":
        assert statement.is_finished and statement.output is not None
        assert statement.output.execution_count == statement.id
        assert statement.progress == 1.0 and 0 < statement.started <= statement.completed
    elif statement.state in ("waiting", "running"):
        assert not statement.is_finished and statement.completed == 0


def test_outputs_by_kind():
    assert Statement.model_validate(body("statement.ok")).output.data == {"text/plain": "3"}
    stderr = Statement.model_validate(body("statement.stderr")).output
    assert stderr.data["text/plain"] == "out\n7\nerr"  # stdout, value, then stderr
    warned = Statement.model_validate(body("statement.warning")).output
    assert warned.data["text/plain"] == "8\n<stdin>:2: UserWarning: careful"
    failed = Statement.model_validate(body("statement.name_error")).output
    assert failed.is_error and (failed.ename, failed.evalue) == (
        "NameError",
        "name 'undefined_name' is not defined",
    )
    assert failed.traceback[-1] == "NameError: name 'undefined_name' is not defined\n"
    table = Statement.model_validate(body("statement.sql")).output.data["application/json"]
    assert [f["name"] for f in table["schema"]["fields"]] == ["id", "twice"]
    assert table["data"] == [[0, 0], [1, 2], [2, 4]]
    sql_error = Statement.model_validate(body("statement.sql_error")).output
    assert sql_error.ename == "Error" and "UNRESOLVED_COLUMN" in sql_error.evalue


def test_scala_outputs_are_the_212_repl_text():
    text = {n: Statement.model_validate(body(n)).output for n in named("scala.")}
    assert text["scala.expression"].data == {"text/plain": "res0: Int = 3\n"}
    assert text["scala.val"].data == {"text/plain": "x: Int = 42\n"}
    assert text["scala.def"].data == {"text/plain": "twice: (n: Int)Int\n"}
    # A cell runs line by line: each line's result in order, println where it ran.
    multiline = text["scala.multiline"].data["text/plain"].splitlines()
    assert multiline[0].startswith("doubled: org.apache.spark.rdd.RDD[Int] = MapPartitionsRDD")
    assert multiline[1:] == ["summing", "res2: Double = 10100.0"]
    for started_with_imports in ("scala.implicits", "scala.functions_import", "scala.sql_import"):
        assert text[started_with_imports].status == "ok"
    not_found = text["scala.not_found"]
    assert (not_found.ename, not_found.evalue) == (
        "Error",
        "<console>:23: error: not found: value abcde",
    )
    assert text["scala.type_mismatch"].traceback[:2] == [
        " found   : Int(1)\n",
        " required: String\n",
    ]
    assert text["scala.incomplete"].evalue == "incomplete statement"
    assert text["scala.exception"].evalue == "java.lang.ArithmeticException: / by zero"


def test_cancel_states_and_the_cancelled_statement():
    assert REPLIES["statement.sleep.states_after_cancel"]["states"] == ["cancelling", "cancelled"]
    assert body("statement.cancel") == body("statement.cancel.unknown") == {"msg": "canceled"}
    cancelled = Statement.model_validate(body("statement.cancelled"))
    assert cancelled.is_finished and cancelled.output is None and cancelled.progress == 1.0
    listed = StatementList.model_validate(body("statements.list"))
    assert listed.total_statements == len(listed.statements) > 10


def test_completion_candidates():
    assert body("completion.python") == {"candidates": []}
    assert body("completion.scala") == {"candidates": ["read", "readStream"]}


@pytest.mark.parametrize(
    ("name", "error", "text"),
    [
        ("session.unknown", LivyNotFound, "Session '4242' not found."),
        ("session.deleted", LivyNotFound, "Session '3' not found."),
        ("session.delete.again", LivyNotFound, "Session '3' not found."),
        ("statement.unknown", LivyNotFound, "Statement not found"),
        ("session.create.bad_kind", LivyRejected, "Invalid kind: cobol"),
        ("session.create.unknown_field", LivyRejected, 'Unrecognized field "nope"'),
        ("session.create.numeric_name", LivyRejected, "Invalid session name: 123"),
        ("session.create.duplicate_name", LivyRejected, "Duplicate session name: Some(rec-py)"),
    ],
)
def test_error_bodies_become_typed_errors_with_livys_text(name, error, text):
    """Both of Livy's shapes: ``{"msg": ...}`` and a bare JSON string."""
    reply = REPLIES[name]
    response = httpx.Response(reply["status"], json=reply["body"])
    where = {"method": reply["request"]["method"], "path": reply["request"]["path"]}
    raised = _status_error(response, (200, 201), where, "http://livy")
    assert isinstance(raised, error) and raised.status == reply["status"]
    assert text in livy_message(response) and text in str(raised)


def test_root_redirects_to_the_ui_and_version_is_semver_like():
    assert REPLIES["root"]["status"] == 302
    assert REPLIES["root"]["headers"]["location"].endswith("/ui")
    assert body("version")["version"] == "0.9.0-incubating"
    assert set(body("version")) == {"version", "user", "revision", "branch", "date", "url"}
