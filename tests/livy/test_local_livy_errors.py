"""The local Livy's answers to bad requests, over raw HTTP: statuses and both of Livy's error shapes.

A JSON-string body comes from Livy's JSON layer (bad bodies, "Statement not found", unmapped errors);
``{"msg": ...}`` from its servlets. None of these requests may hurt the server or another session.
"""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def http(livy_url, jp_asyncio_loop):
    client = httpx.AsyncClient(base_url=livy_url, timeout=30)
    yield client
    jp_asyncio_loop.run_until_complete(client.aclose())


@pytest.fixture
def ready_session(make_session, jp_asyncio_loop):
    return jp_asyncio_loop.run_until_complete(make_session(name="errors-target"))


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"abcde", "Unexpected character"),
        (b"", "No content to map"),
        (b"[1, 2]", "from list value"),
        (b'{"kind": "pyspark", "foo": 1}', 'Unrecognized field "foo"'),
        (b'{"jars": "not-a-list"}', 'field "jars"'),
        (b'{"heartbeatTimeoutInSecond": "soon"}', 'field "heartbeatTimeoutInSecond"'),
        (b'{"kind": "cobol"}', "Invalid kind: cobol"),
    ],
)
async def test_bad_create_bodies_are_400_json_strings(http, body, fragment):
    reply = await http.post("/sessions", content=body)
    assert reply.status_code == 400
    assert reply.headers["Content-Type"].startswith("application/json")
    assert isinstance(reply.json(), str) and fragment in reply.json()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"kind": "spark"}, "runs with --spark off"),
        ({"kind": "sparkr"}, "needs an R interpreter"),  # difference no_r
        ({"name": "123"}, "Invalid session name: 123"),
        ({"conf": {"spark.master": "yarn"}}, "Blacklisted configuration values"),
        ({"ttl": "ten minutes"}, "Invalid time string"),
    ],
)
async def test_rejected_creates_are_400_msg(http, body, fragment):
    reply = await http.post("/sessions", json=body)
    assert reply.status_code == 400
    assert reply.json()["msg"].startswith("Rejected, Reason:")
    assert fragment in reply.json()["msg"]


async def test_duplicate_name_is_rejected(http, ready_session):
    reply = await http.post("/sessions", json={"name": "errors-target"})
    assert reply.status_code == 400
    assert reply.json() == {
        "msg": f"Rejected, Reason: Duplicate session name: Some(errors-target) for session {ready_session.id}"
    }


@pytest.mark.parametrize(
    ("method", "path", "status", "body"),
    [
        ("GET", "/sessions/999", 404, {"msg": "Session '999' not found."}),
        ("GET", "/sessions/nobody", 404, {"msg": "Session 'nobody' not found."}),
        ("DELETE", "/sessions/999", 404, {"msg": "Session '999' not found."}),
        ("GET", "/sessions/999/statements", 404, {"msg": "Session '999' not found."}),
        ("GET", "/sessions?from=x", 400, {"msg": 'For input string: "x"'}),
        ("GET", "/sessions?size=99999999999", 400, {"msg": 'For input string: "99999999999"'}),
    ],
)
async def test_unknown_ids_and_bad_parameters(http, method, path, status, body):
    reply = await http.request(method, path)
    assert (reply.status_code, reply.json()) == (status, body)


async def test_statement_errors(http, ready_session):
    base = f"/sessions/{ready_session.id}"
    unknown = await http.get(f"{base}/statements/77")
    assert (unknown.status_code, unknown.json()) == (404, "Statement not found")
    not_a_number = await http.get(f"{base}/statements/abc")
    assert (not_a_number.status_code, not_a_number.json()) == (
        400,
        {"msg": 'For input string: "abc"'},
    )
    no_code = await http.post(f"{base}/statements", json={"kind": "pyspark"})
    assert no_code.status_code == 400 and '"code"' in no_code.json()
    wrong_type = await http.post(f"{base}/statements", json={"code": 12})
    assert wrong_type.status_code == 400
    # Cancel of an unknown statement: Livy's REPL ignores it and answers 200.
    cancel = await http.post(f"{base}/statements/77/cancel")
    assert (cancel.status_code, cancel.json()) == (200, {"msg": "canceled"})


async def test_statement_kind_routing(http, ready_session, livy):
    base = f"/sessions/{ready_session.id}/statements"
    created = await http.post(base, json={"code": "1", "kind": "spark"})
    assert created.status_code == 201
    assert created.headers["Location"] == f"{base}/{created.json()['id']}"
    finished = await livy.wait_for_statement(ready_session.id, created.json()["id"], timeout=30)
    assert finished.output.ename == "InterpreterError"
    sql = await livy.run_statement(ready_session.id, "select 1", kind="sql", timeout=30)
    assert sql.output.ename == "SparkUnavailable"  # --spark off: said, not hidden
    assert "--spark off" in sql.output.evalue


async def test_shared_session_needs_a_statement_kind(make_session, http, livy):
    shared = await make_session(kind="shared")
    reply = await http.post(f"/sessions/{shared.id}/statements", json={"code": "1"})
    assert reply.status_code == 500
    assert "Code type should be specified if session kind is shared" in reply.json()
    ok = await livy.run_statement(shared.id, "2 + 2", kind="python", timeout=30)
    assert ok.output.data == {"text/plain": "4"}


async def test_unsupported_api_version_is_406(http):
    reply = await http.get("/sessions", headers={"Accept": "application/vnd.livy.v9.9+json"})
    assert reply.status_code == 406
    ok = await http.get("/sessions", headers={"Accept": "application/vnd.livy.v0.1+json"})
    assert ok.status_code == 200


async def test_version_and_security_headers(http):
    reply = await http.get("/version")
    assert reply.status_code == 200
    assert {"version", "user", "revision", "branch", "date", "url"} <= reply.json().keys()
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


async def test_bad_input_leaves_server_and_sessions_working(http, ready_session, livy):
    garbage = [b"\xff\xfe", b"{" * 10_000, b'{"code": null}', b'"just a string"', b"null"]
    for body in garbage:
        assert (await http.post("/sessions", content=body)).status_code == 400
        reply = await http.post(f"/sessions/{ready_session.id}/statements", content=body)
        assert reply.status_code == 400
    statement = await livy.run_statement(ready_session.id, "'still here'", timeout=30)
    assert statement.output.data == {"text/plain": "'still here'"}


async def test_a_client_that_checks_requests_itself_may_let_spark_master_through(
    start_local_livy, jp_asyncio_loop
):
    """``--blacklisted-conf`` is Livy's spark-blacklist.conf: the broker starts its embedded Livy
    with only spark.submit.deployMode in it, since it keeps spark.master out of users' requests
    and lets profiles set it."""
    livy = start_local_livy("--spark", "off", "--blacklisted-conf", "spark.submit.deployMode")
    async with httpx.AsyncClient(base_url=livy.url, timeout=30) as http:
        master = {"spark.master": "spark://127.0.0.1:7077"}
        created = await http.post("/sessions", json={"conf": master})
        assert created.status_code == 201, created.text
        assert created.json()["conf"] == master
        await http.delete(f"/sessions/{created.json()['id']}")
        refused = await http.post("/sessions", json={"conf": {"spark.submit.deployMode": "x"}})
        assert refused.status_code == 400
        assert "Blacklisted configuration values" in refused.json()["msg"]
