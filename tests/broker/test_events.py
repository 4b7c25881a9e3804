"""The broker's events on jupyter_server's bus (jupyter_events) and its audit trail's log lines, from
real actions on a real server: who did what to which session, when, through which route; statement
progress; secrets in none of them; and each subscriber sees only their own sessions' events."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from jupyter_events.schema import EventSchema

from jupyter_spark_broker.events import (
    BASE_ID,
    SESSION_ACTION,
    SESSION_STATE,
    STATEMENT,
    SUBSCRIBED,
    schema_files,
)
from tests.broker.conftest import restart_broker
from tests.helpers import eventually

PASSWORD = "Walrus-Anchor-8841-Secret"


class Events:
    """Every event of the broker's schemas the server emits, in order."""

    def __init__(self, event_logger):
        self.seen: list[tuple[str, dict[str, Any]]] = []
        event_logger.add_listener(listener=self._listen)

    async def _listen(self, logger, schema_id: str, data: dict[str, Any]) -> None:
        if schema_id.startswith(BASE_ID):
            self.seen.append((schema_id, dict(data)))

    def of(self, schema_id: str, **match: Any) -> list[dict[str, Any]]:
        return [
            data
            for seen_id, data in self.seen
            if seen_id == schema_id and all(data.get(k) == v for k, v in match.items())
        ]

    async def wait_for(self, schema_id: str, **match: Any) -> dict[str, Any]:
        async def found():
            return self.of(schema_id, **match)

        return (await eventually(found, what=f"{schema_id} {match}", timeout=30))[-1]


@pytest.fixture
def events(jp_serverapp, broker_app) -> Events:
    return Events(jp_serverapp.event_logger)


@pytest.fixture
def audit(caplog):
    caplog.set_level(logging.INFO, logger="jupyter_spark_broker.audit")

    def lines() -> list[dict[str, Any]]:
        prefix = "spark broker audit: "
        return [
            json.loads(record.getMessage()[len(prefix) :])
            for record in caplog.records
            if record.name == "jupyter_spark_broker.audit"
        ]

    return lines


def test_the_schemas_are_valid_versioned_and_registered_on_the_server(jp_serverapp, broker_app):
    ids = set()
    for path in schema_files():
        schema = EventSchema(path)  # validates against jupyter_events' meta-schema
        assert schema.id == f"{BASE_ID}/{path.stem}/v{schema.version}", path
        ids.add(schema.id)
    assert ids == {SESSION_ACTION, SESSION_STATE, STATEMENT, SUBSCRIBED}
    assert ids <= set(jp_serverapp.event_logger.schemas.schema_ids)


async def test_real_actions_leave_an_audit_trail_of_events_and_log_lines(
    api, events, audit, jp_serverapp
):
    me = (await api.get("me")).json
    assert me == {"user": me["user"], "admin": False}
    user = me["user"]

    created = (await api.post("sessions", {"name": "audited"})).json
    event = await events.wait_for(SESSION_ACTION, action="created", session_id=created["id"])
    assert event["actor"] == event["owner"] == user
    assert event["route"] == "POST spark-broker/api/sessions"
    assert event["endpoint"] == "test" and event["kind"] == "pyspark"
    assert event["name"] == created["name"] == "audited"  # its share name, as the API's

    attached = (await api.post("attachments", {"path": "dir/a.ipynb"})).json
    session_id = attached["session_id"]
    event = await events.wait_for(SESSION_ACTION, action="attached", session_id=session_id)
    assert event["path"] == "dir/a.ipynb" and event["attachment_id"] == attached["id"]
    assert event["route"] == "POST spark-broker/api/attachments"
    assert events.of(SESSION_ACTION, action="created", session_id=session_id)

    # The state poller sees it start: each change once, in order.
    await events.wait_for(SESSION_STATE, session_id=session_id, state="idle")
    states = [e["state"] for e in events.of(SESSION_STATE, session_id=session_id)]
    assert states[-1] == "idle" and len(states) == len(set(states)), states

    assert (await api.delete(f"attachments/{attached['id']}")).status == 204
    event = await events.wait_for(SESSION_ACTION, action="detached", session_id=session_id)
    assert event["route"] == "DELETE spark-broker/api/attachments/{attachment_id}"
    assert event["actor"] == user

    assert (await api.delete(f"sessions/{session_id}")).status == 204
    event = await events.wait_for(SESSION_ACTION, action="killed", session_id=session_id)
    assert event["route"] == "DELETE spark-broker/api/sessions/{session_id}"
    assert (event["actor"], event["state"]) == (user, "killed")
    await events.wait_for(SESSION_STATE, session_id=session_id, state="killed")

    # The log lines say the same, one JSON object each.
    trail = [(line["action"], line["session_id"]) for line in audit()]
    assert trail == [
        ("created", created["id"]),
        ("created", session_id),
        ("attached", session_id),
        ("detached", session_id),
        ("killed", session_id),
    ]
    assert audit()[-1]["route"] == "DELETE spark-broker/api/sessions/{session_id}"
    assert all(line["time"].endswith("+00:00") for line in audit())


async def test_a_running_statement_reports_its_progress_without_its_code(api, events):
    session_id = (await api.post("attachments", {"path": "p.ipynb"})).json["session_id"]
    code = "import time; time.sleep(1); 'done'"
    statement = await api.post(f"sessions/{session_id}/statements", {"code": code})
    statement_id = statement.json["id"]
    done = await api.get(f"sessions/{session_id}/statements/{statement_id}", params={"wait": 60})
    assert done.json["state"] == "available"
    final = await events.wait_for(
        STATEMENT, session_id=session_id, statement_id=statement_id, state="available"
    )
    reported = events.of(STATEMENT, session_id=session_id, statement_id=statement_id)
    assert [e["state"] for e in reported][0] in ("waiting", "running"), reported
    assert all(
        set(e) <= {"session_id", "owner", "statement_id", "state", "progress"} for e in reported
    )
    assert final["progress"] == 1.0


@pytest.fixture
def secured_livy(start_local_livy):
    return start_local_livy("--spark", "off", basic_auth=("keeper", PASSWORD))


async def test_the_broker_s_own_actions_and_reconnects_are_in_the_trail_without_secrets(
    api, broker_app, events, audit, secured_livy, jp_serverapp, jp_logging_stream, caplog
):
    caplog.set_level(logging.DEBUG)
    payload = {
        "path": "secret/nb.ipynb",
        "username": "keeper",
        "password": PASSWORD,
        "endpoint": secured_livy.url,
    }
    reply = await api.request("POST", "reconnectsparkmagic", api=False, body=payload)
    assert reply.status == 200, reply.json
    session_id = reply.json["session_id"]
    event = await events.wait_for(SESSION_ACTION, action="reconnected", session_id=session_id)
    assert event["route"] == "POST reconnectsparkmagic" and event["path"] == "secret/nb.ipynb"
    assert event["kernel_id"] == reply.json["kernel_id"]
    assert event["endpoint"] == f"keeper@{secured_livy.url}"

    # A token in the URL is not part of the route.
    query = await api.request(
        "DELETE", f"sessions/{session_id}", params={"token": api.token}, authenticated=False
    )
    assert query.status == 204
    event = await events.wait_for(SESSION_ACTION, action="killed", session_id=session_id)
    assert event["route"] == "DELETE spark-broker/api/sessions/{session_id}"

    # The reaper: a kernel that is gone loses its attachment, an unattached session is killed.
    orphan = await api.post("attachments", {"path": "gone.ipynb", "kernel_id": "no-such-kernel"})
    orphan_session = orphan.json["session_id"]
    await restart_broker(broker_app, idle_timeout=0.5)
    detached = await events.wait_for(SESSION_ACTION, action="detached", session_id=orphan_session)
    assert (detached["actor"], detached["route"]) == ("spark-broker", "broker")
    assert detached["reason"] == "its kernel is gone"
    killed = await events.wait_for(SESSION_ACTION, action="killed", session_id=orphan_session)
    assert killed["actor"] == "spark-broker" and "no notebook attached" in killed["reason"]

    everything = json.dumps(events.seen) + json.dumps(audit())
    everything += jp_logging_stream.getvalue() + caplog.text
    assert PASSWORD not in everything and api.token not in everything
