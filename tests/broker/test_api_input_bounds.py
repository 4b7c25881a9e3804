"""REST input a user trial found answered wrongly: a cancel of a statement that does not exist, a
state filter that names no state, an id far longer than an id may be. Each a clear 4xx that names the
problem, and bounded: the reply does not echo kilobytes of what was sent."""

from __future__ import annotations

from jupyter_spark_broker.livy import LivyClient
from jupyter_spark_broker.server.models import SESSION_STATES
from tests.broker.test_sessions_api import create_ready_session


async def test_cancel_of_a_statement_that_does_not_exist_is_a_404_naming_it(api, livy_url):
    session = await create_ready_session(api)
    base = f"sessions/{session['id']}/statements"
    async with LivyClient(livy_url) as livy:  # Livy itself answers 200 to any id: the broker asks
        await livy.cancel_statement(session["livy_id"], 999)  # expects 200, or raises
    unknown = await api.post(f"{base}/999/cancel")
    assert unknown.status == 404, unknown.json
    assert unknown.json["message"] == f"no statement 999 in Spark session {session['id']!r}"
    # A finished statement: nothing to cancel, said so, and it stays as it finished.
    done = await api.post(base, {"code": "1 + 1"}, params={"wait": 30})
    again = await api.post(f"{base}/{done.json['id']}/cancel")
    assert again.status == 200
    assert again.json["message"] == f"nothing to cancel: statement {done.json['id']} is available"
    after = await api.get(f"{base}/{done.json['id']}")
    assert after.json["state"] == "available"


async def test_a_state_filter_that_names_no_state_is_a_400_naming_the_valid_ones(api):
    reply = await api.get("sessions", params={"state": "bogus"})
    assert reply.status == 400, reply.json
    message = reply.json["message"]
    assert "state: " in message and "'bogus' is not a session state" in message
    assert all(state in message for state in ("idle", "killed", "lost", "starting"))
    for state in SESSION_STATES:  # every state the message offers is accepted
        assert (await api.get("sessions", params={"state": state})).status == 200
    # An endpoint name is not checked: sessions of a removed endpoint are listed by its name.
    lenient = await api.get("sessions", params={"endpoint": "nosuch"})
    assert lenient.status == 200 and lenient.json["sessions"] == []


async def test_an_overlong_id_in_a_path_is_a_short_400_that_does_not_echo_it(api):
    long_id = "x" * 5000
    for method, path in [
        ("GET", f"sessions/{long_id}"),
        ("DELETE", f"sessions/{long_id}"),
        ("GET", f"sessions/{long_id}/log"),
        ("POST", f"sessions/{long_id}/statements/1/cancel"),
        ("DELETE", f"attachments/{long_id}"),
        ("DELETE", f"endpoints/{long_id}"),
    ]:
        reply = await api.request(method, path, body={} if method == "POST" else None)
        assert reply.status == 400, (method, path, reply.status)
        assert len(reply.body) < 300 and "xxxxx" not in reply.body.decode()
        assert "5000 characters, more than the 200" in reply.json["message"]
    # An id of 200 characters is an id like any other: unknown, 404.
    assert (await api.get(f"sessions/{'y' * 200}")).status == 404
    # The Spark UI proxy's page path is no id: long is allowed (and this session is unknown).
    ui_page = await api.get(f"spark-broker/sessions/nope/ui/{'p' * 300}", api=False)
    assert ui_page.status == 404 and "no Spark session 'nope'" in ui_page.json["message"]
    too_long = await api.get(f"spark-broker/sessions/{long_id}/log", api=False)
    assert too_long.status == 400 and len(too_long.body) < 300
    # No route at all: a 404 that echoes a bounded prefix of the path only.
    no_route = await api.get(f"nosuch/{long_id}", validate=False)  # no such path in the spec
    assert no_route.status == 404 and len(no_route.body) < 600
    assert (
        no_route.json["message"].endswith(" characters)")
        and "x" * 201 not in no_route.body.decode()
    )
