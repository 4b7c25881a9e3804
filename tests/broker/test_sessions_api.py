"""Sessions, statements and endpoints through the broker's REST API, on a real Jupyter server + local Livy.

Every response is validated against openapi.yaml by the ``api`` client.
"""

from __future__ import annotations

import asyncio

import pytest
import yaml

from jupyter_spark_broker import __version__
from jupyter_spark_broker.broker.users import SERVER_OWNER
from jupyter_spark_broker.livy import LivyClient
from tests.broker.conftest import restart_broker
from tests.conftest import SESSION_START_TIMEOUT
from tests.helpers import eventually, wait_for_file

# A wait that covers a real session start, whatever the Livy (difference session_start_time).
START = SESSION_START_TIMEOUT


async def create_ready_session(api, **body) -> dict:
    created = await api.post("sessions", {"kind": "pyspark", **body})
    assert created.status == 201, created.json
    path = api.path_of(created.headers["Location"])
    assert path == f"sessions/{created.json['id']}"
    # The first statement waits for the session to start (its wait covers a Spark driver's start on
    # Apache Livy): no polling needed by the caller.
    done = await api.post(f"{path}/statements", {"code": "'ready'"}, params={"wait": START})
    assert done.status == 201, done.json
    assert done.json["state"] == "available"
    return (await api.get(path)).json


def owner_tags(session: dict, notebook: str = "API") -> dict[str, str]:
    return {
        "spark.app.name": f"jupyter {SERVER_OWNER}: {notebook}",
        "spark.jupyter.user": SERVER_OWNER,
        "spark.jupyter.notebook": notebook,
        "spark.jupyter.profile": session["profile"],
        "spark.jupyter.session": session["id"],
    }


@pytest.mark.both_livys
async def test_session_lifecycle_through_the_api(api, livy_url):
    session = await create_ready_session(api, settings={"conf": {"spark.app.tag": "lifecycle"}})
    assert session["endpoint"] == "test"
    assert session["state"] == "idle"
    assert session["attachments"] == []
    # The broker tags each session with its user, notebook (none: the API) and profile.
    tagged = {"spark.app.tag": "lifecycle", **owner_tags(session)}
    assert session["settings"] == {"conf": tagged}
    sid = session["id"]

    async with LivyClient(livy_url) as livy:  # the broker named the session uniquely in Livy
        in_livy = await livy.get_session(session["livy_id"])
        assert in_livy.name == session["livy_name"] == f"jsb-{sid}"
        assert in_livy.conf == tagged
        assert in_livy.heartbeat_timeout_in_second == 900  # the dead-man switch

    posted = await api.post(f"sessions/{sid}/statements", {"code": "21 * 2"})
    assert posted.headers["Location"].endswith(f"sessions/{sid}/statements/{posted.json['id']}")
    finished = await api.get(f"sessions/{sid}/statements/{posted.json['id']}", params={"wait": 30})
    assert finished.json["output"] == {
        "status": "ok",
        "execution_count": posted.json["id"],
        "data": {"text/plain": "42"},
        "ename": None,
        "evalue": None,
        "traceback": [],
    }

    log = await api.get(f"sessions/{sid}/log", params={"from": 0, "size": -1})
    assert log.status == 200 and log.json["total"] == len(log.json["log"]) > 0

    listed = await api.get("sessions", params={"endpoint": "test", "state": "idle"})
    assert sid in [s["id"] for s in listed.json["sessions"]]
    live = await api.get("sessions", params={"live": "true"})
    assert sid in [s["id"] for s in live.json["sessions"]]

    assert (await api.delete(f"sessions/{sid}")).status == 204
    killed = await api.get(f"sessions/{sid}")
    assert killed.json["state"] == "killed"
    # The registry keeps it; a list of live sessions (what the panel asks for) leaves it out.
    everything = await api.get("sessions")
    assert sid in [s["id"] for s in everything.json["sessions"]]
    live_now = await api.get("sessions", params={"live": "true"})
    assert sid not in [s["id"] for s in live_now.json["sessions"]]
    assert all(
        s["state"] not in ("killed", "dead", "error", "success", "lost")
        for s in live_now.json["sessions"]
    )
    async with LivyClient(livy_url) as livy:
        assert all(s.name != session["livy_name"] for s in await livy.iter_all_sessions())
    assert (await api.delete(f"sessions/{sid}")).status == 204  # killing twice is harmless
    gone = await api.post(f"sessions/{sid}/statements", {"code": "1"})
    assert gone.status == 409 and gone.json["reason"] == "session_finished"


@pytest.mark.both_livys
async def test_a_session_is_idle_as_soon_as_its_statement_is_seen_finished(
    api, broker_app, livy_url, tmp_path
):
    """The broker's view of a session does not lag Livy's after a statement: the state poller's
    last round saw it busy, yet a client reading the session right after the result reads idle."""
    session = await create_ready_session(api)
    sid, livy_id = session["id"], session["livy_id"]
    gate = tmp_path / "release"
    held_code = wait_for_file(str(gate), timeout=START) + "\n'released'"
    held = await api.post(f"sessions/{sid}/statements", {"code": held_code})
    try:
        async with LivyClient(livy_url) as livy:

            async def livy_runs_it() -> bool:
                return (await livy.get_session_state(livy_id)).state == "busy"

            await eventually(livy_runs_it, what="Livy to run the held statement", timeout=60)
        # A broker that has seen the session busy and polls again only in an hour: its restart
        # reads Livy's view (busy), and the busy poll interval keeps that view.
        await restart_broker(broker_app, busy_poll_interval=3600)
        assert (await api.get(f"sessions/{sid}")).json["state"] == "busy"
    finally:
        gate.touch()

    done = await api.get(f"sessions/{sid}/statements/{held.json['id']}", params={"wait": 60})
    assert done.json["output"]["data"] == {"text/plain": "'released'"}
    assert (await api.get(f"sessions/{sid}")).json["state"] == "idle"
    async with LivyClient(livy_url) as livy:  # as Livy has it
        assert (await livy.get_session_state(livy_id)).state == "idle"


async def test_killing_a_session_livy_already_forgot(api, livy_url):
    session = await create_ready_session(api)
    async with LivyClient(livy_url) as livy:
        await livy.delete_session(session["livy_id"])
    assert (await api.delete(f"sessions/{session['id']}")).status == 204
    assert (await api.get(f"sessions/{session['id']}")).json["state"] in ("killed", "lost")


async def test_long_poll_returns_when_finished_or_when_the_wait_runs_out(api):
    session = await create_ready_session(api)
    base = f"sessions/{session['id']}/statements"
    slow = await api.post(base, {"code": "import time\ntime.sleep(2)\n'slept'"})
    early = await api.get(f"{base}/{slow.json['id']}", params={"wait": 0.1})
    assert early.json["state"] in ("waiting", "running")
    # Several waiters share one Livy poller and all get the finished statement.
    waits = [api.get(f"{base}/{slow.json['id']}", params={"wait": 30}) for _ in range(5)]
    results = await asyncio.gather(*waits)
    assert {r.json["output"]["data"]["text/plain"] for r in results} == {"'slept'"}
    assert all(r.json["state"] == "available" for r in results)


async def test_post_with_wait_runs_a_cell_in_one_request(api):
    session = await create_ready_session(api)
    base = f"sessions/{session['id']}/statements"
    reply = await api.request("POST", base, body={"code": "'one request'"}, params={"wait": 30})
    assert reply.status == 201
    assert reply.json["state"] == "available"
    assert reply.json["output"]["data"] == {"text/plain": "'one request'"}
    short = await api.request(
        "POST", base, body={"code": "import time; time.sleep(2)"}, params={"wait": 0.05}
    )
    assert short.status == 201 and short.json["state"] in ("waiting", "running")
    bad = await api.request("POST", base, body={"code": "1"}, params={"wait": "soon"})
    assert bad.status == 400 and "wait" in bad.json["message"]


async def test_code_without_a_kind_in_a_shared_session_runs_as_the_default_kind(api):
    """Livy answers 500 to it; the broker sends its default kind (pyspark) instead."""
    shared = await api.post("sessions", {"kind": "shared"})
    statements = f"sessions/{shared.json['id']}/statements"
    reply = await api.request("POST", statements, body={"code": "6 * 7"}, params={"wait": 30})
    assert reply.status == 201 and reply.json["output"]["data"] == {"text/plain": "42"}
    completed = await api.post(
        f"sessions/{shared.json['id']}/completion", {"code": "pri", "cursor": 3}
    )
    assert "print(" in completed.json["candidates"]


async def test_completion_asks_the_sessions_interpreter(api):
    session = await create_ready_session(api)
    path = f"sessions/{session['id']}/completion"
    await api.request(
        "POST",
        f"sessions/{session['id']}/statements",
        body={"code": "spark_demo = 1"},
        params={"wait": 30},
    )
    found = await api.post(path, {"code": "x = spark_d", "cursor": 11})  # the session's kind
    assert found.status == 200 and found.json["candidates"] == ["spark_demo"]
    past = await api.post(path, {"code": "abc", "cursor": 9})
    assert past.status == 400 and "past the end of code" in past.json["message"]


async def test_cancel_through_the_api(api):
    session = await create_ready_session(api)
    base = f"sessions/{session['id']}/statements"
    sleeper = await api.post(base, {"code": "import time\ntime.sleep(60)"})
    sid = sleeper.json["id"]

    async def running():
        return (await api.get(f"{base}/{sid}")).json["state"] == "running"

    from tests.helpers import eventually

    await eventually(running, what="the statement to run")
    cancel = await api.post(f"{base}/{sid}/cancel")
    assert cancel.status == 200
    done = await api.get(f"{base}/{sid}", params={"wait": 20})
    assert done.json["state"] == "cancelled"


async def test_cancel_right_after_create_is_harmless(api):
    created = await api.post("sessions", {})
    # Livy answers 500 to a cancel before its session runs; the broker knows nothing can run yet.
    reply = await api.post(f"sessions/{created.json['id']}/statements/0/cancel")
    assert reply.status == 200


async def test_list_paging_and_filters(api):
    ids = [(await api.post("sessions", {"kind": "pyspark"})).json["id"] for _ in range(3)]
    page = await api.get("sessions", params={"limit": 2, "offset": 0, "endpoint": "test"})
    assert page.json["limit"] == 2 and page.json["offset"] == 0
    assert len(page.json["sessions"]) == 2 and page.json["total"] >= 3
    assert [s["id"] for s in page.json["sessions"]] == list(reversed(ids))[:2]  # newest first
    rest = await api.get("sessions", params={"limit": 2, "offset": 2, "endpoint": "test"})
    assert rest.json["sessions"][0]["id"] == ids[0]
    none = await api.get("sessions", params={"endpoint": "nowhere"})
    assert none.json == {"sessions": [], "total": 0, "limit": 100, "offset": 0}
    for sid in ids:
        await api.delete(f"sessions/{sid}")


async def test_named_session_is_unique_per_endpoint(api):
    first = await api.post("sessions", {"name": "team-cache"})
    assert first.status == 201
    again = await api.post("sessions", {"name": "team-cache"})
    assert again.status == 409 and again.json["reason"] == "name_taken"
    await api.delete(f"sessions/{first.json['id']}")
    after_kill = await api.post("sessions", {"name": "team-cache"})  # the name is free again
    assert after_kill.status == 201
    await api.delete(f"sessions/{after_kill.json['id']}")


async def test_session_settings_merge_endpoint_defaults_and_request(api, broker_app, livy_url):
    from tests.broker.conftest import restart_broker

    await restart_broker(
        broker_app,
        endpoints={
            "test": {
                "url": livy_url,
                "session_defaults": {
                    "driverMemory": "1g",
                    "conf": {"a": "endpoint", "b": "endpoint"},
                },
            }
        },
        session_defaults={"executor_memory": "2g"},
    )
    reply = await api.post(
        "sessions", {"settings": {"driverMemory": "3g", "conf": {"b": "request", "c": "request"}}}
    )
    assert reply.status == 201
    async with LivyClient(livy_url) as livy:
        in_livy = await livy.get_session(reply.json["livy_id"])
    assert in_livy.driver_memory == "3g" and in_livy.executor_memory == "2g"
    assert in_livy.conf == {
        "a": "endpoint",
        "b": "request",
        "c": "request",
        **owner_tags(reply.json),
    }


async def test_endpoints_are_listed_without_secrets(api):
    reply = await api.get("endpoints")
    assert reply.json["default"] == "test"
    names = {e["name"]: e for e in reply.json["endpoints"]}
    assert names["test"]["url"].startswith("http://127.0.0.1:")
    assert names["local"]["embedded"] is True


@pytest.fixture
def broker_config(broker_config):
    broker_config["endpoints"]["secured"] = {
        "url": "http://127.0.0.1:9",
        "auth": "Basic_Access",
        "username": "svc",
        "password": "Endpoint-Pass-123",
        "headers": {"X-Api-Key": "Header-Token-456"},
    }
    return broker_config


async def test_configured_secrets_never_leave_the_server(api):
    reply = await api.get("endpoints")
    secured = next(e for e in reply.json["endpoints"] if e["name"] == "secured")
    assert secured["username"] == "svc" and secured["header_names"] == ["X-Api-Key"]
    assert b"Endpoint-Pass-123" not in reply.body and b"Header-Token-456" not in reply.body


async def test_openapi_document_is_served(api):
    reply = await api.get("openapi.yaml")
    assert reply.status == 200
    document = yaml.safe_load(reply.body)
    assert document["info"]["version"] == __version__
    assert "/spark-broker/api/attachments" in document["paths"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "fragment"),
    [
        ("POST", "sessions", b"{not json", 400, "not valid JSON"),
        ("POST", "sessions", b"[1, 2]", 400, "must be a JSON object, not an array"),
        ("POST", "sessions", b'{"kind": "cobol"}', 400, "kind"),
        ("POST", "sessions", b'{"knid": "pyspark"}', 400, "knid"),
        ("POST", "sessions", b'{"settings": {"driverCores": "two"}}', 400, "settings.driverCores"),
        ("POST", "sessions", b'{"settings": {"numExecutors": 0}}', 400, "settings.numExecutors"),
        ("POST", "sessions", b'{"settings": {"proxyUser": ""}}', 400, "settings.proxyUser"),
        ("POST", "sessions", b'{"endpoint": "nowhere"}', 404, "no Livy endpoint named 'nowhere'"),
        ("POST", "attachments", b"{}", 400, "path"),
        (
            "POST",
            "attachments",
            b'{"path": "../../etc/passwd"}',
            400,
            "leaves the server's root dir",
        ),
        ("POST", "attachments", b'{"path": 7}', 400, "path"),
        ("GET", "sessions?limit=0", None, 400, "limit"),
        ("GET", "sessions?offset=-1", None, 400, "offset"),
        ("GET", "sessions?limit=ten", None, 400, "limit"),
        ("GET", "sessions/no-such-id", None, 404, "no Spark session 'no-such-id'"),
        ("DELETE", "sessions/no-such-id", None, 404, "no-such-id"),
        ("DELETE", "attachments/no-such-id", None, 404, "no-such-id"),
        ("POST", "sessions/no-such-id/statements", b'{"code": "1"}', 404, "no-such-id"),
        ("POST", "sessions/no-such-id/completion", b'{"code": "a", "cursor": 1}', 404, "no-such"),
    ],
)
async def test_bad_input_is_a_clear_4xx(api, livy_url, method, path, body, status, fragment):
    async with LivyClient(livy_url) as livy:
        before = len(await livy.iter_all_sessions())
    base, _, query = path.partition("?")
    params = dict(pair.split("=") for pair in query.split("&")) if query else None
    reply = await api.request(method, base, raw=body, params=params)
    assert reply.status == status, reply.body
    assert reply.content_type.startswith("application/json")
    assert fragment in reply.json["message"]
    async with LivyClient(livy_url) as livy:  # nothing leaked into Livy
        assert len(await livy.iter_all_sessions()) == before


async def test_statement_errors(api):
    session = await create_ready_session(api)
    base = f"sessions/{session['id']}/statements"
    assert (await api.post(base, {"code": 1})).status == 400
    assert (await api.post(base, {"code": "1", "kind": "cobol"})).status == 400
    bad_id = await api.get(f"{base}/abc")
    assert bad_id.status == 400 and "whole number" in bad_id.json["message"]
    unknown = await api.get(f"{base}/999")
    assert unknown.status == 404 and "no statement 999" in unknown.json["message"]
    wait_too_long = await api.get(f"{base}/0", params={"wait": 99999})
    assert wait_too_long.status == 400 and "wait" in wait_too_long.json["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "spark-broker/api/endpoints"),
        ("GET", "spark-broker/api/sessions"),
        ("POST", "spark-broker/api/sessions"),
        ("GET", "spark-broker/api/sessions/x"),
        ("DELETE", "spark-broker/api/sessions/x"),
        ("GET", "spark-broker/api/sessions/x/log"),
        ("POST", "spark-broker/api/sessions/x/statements"),
        ("GET", "spark-broker/api/sessions/x/statements/0"),
        ("POST", "spark-broker/api/sessions/x/statements/0/cancel"),
        ("POST", "spark-broker/api/sessions/x/completion"),
        ("GET", "spark-broker/api/attachments"),
        ("POST", "spark-broker/api/attachments"),
        ("DELETE", "spark-broker/api/attachments/x"),
        ("GET", "spark-broker/api/openapi.yaml"),
        ("POST", "reconnectsparkmagic"),
    ],
)
async def test_every_endpoint_needs_authentication(api, method, path):
    reply = await api.request(
        method, path, api=False, authenticated=False, raw=b"{}" if method == "POST" else None
    )
    assert reply.status == 403
    assert reply.content_type.startswith("application/json")
