"""A session that ends takes its attachments with it: a notebook is not listed as attached to a killed,
dead or lost session (a user trial saw one "attached" to three killed sessions until the server
restarted). The audit trail says so: "killed" (or the state change), then one "detached" per
notebook. Killing an ended session again is a harmless 204 (the REST contract's DELETE)."""

from __future__ import annotations

import pytest

from jupyter_spark_broker.events import SESSION_ACTION
from jupyter_spark_broker.livy import LivyClient
from tests.broker.test_events import Events
from tests.helpers import eventually


@pytest.fixture
def events(jp_serverapp, broker_app) -> Events:
    return Events(jp_serverapp.event_logger)


async def attached_paths(api, path: str) -> list[str]:
    listed = await api.get("attachments", params={"path": path})
    assert listed.status == 200
    return [a["session_id"] for a in listed.json["attachments"]]


async def test_killing_a_session_ends_its_attachments(api, events):
    first = await api.post("attachments", {"path": "trial/a.ipynb"})
    second = await api.post(
        "attachments", {"path": "trial/b.ipynb", "session": first.json["session_id"]}
    )
    session_id = first.json["session_id"]
    assert second.json["session_id"] == session_id
    assert await attached_paths(api, "trial/a.ipynb") == [session_id]

    assert (await api.delete(f"sessions/{session_id}")).status == 204
    assert await attached_paths(api, "trial/a.ipynb") == []
    assert await attached_paths(api, "trial/b.ipynb") == []
    killed = await api.get(f"sessions/{session_id}")
    assert killed.json["state"] == "killed" and killed.json["attachments"] == []
    # The trail: killed, then each notebook detached, by the same actor and for that reason.
    actions = [
        (e["action"], e.get("path")) for e in events.of(SESSION_ACTION, session_id=session_id)
    ]
    assert actions[-3:] == [
        ("killed", None),
        ("detached", "trial/a.ipynb"),
        ("detached", "trial/b.ipynb"),
    ]
    for detached in events.of(SESSION_ACTION, session_id=session_id, action="detached")[-2:]:
        assert (
            detached["reason"] == "its session ended: killed"
            and detached["actor"] != "spark-broker"
        )

    # Killing it again: 204, it stays killed, and the trail does not say it twice.
    assert (await api.delete(f"sessions/{session_id}")).status == 204
    assert (await api.get(f"sessions/{session_id}")).json["state"] == "killed"
    assert len(events.of(SESSION_ACTION, session_id=session_id, action="killed")) == 1
    assert len(events.of(SESSION_ACTION, session_id=session_id, action="detached")) == 2

    # The notebook's next attach makes a new session, the only one it is attached to.
    again = await api.post("attachments", {"path": "trial/a.ipynb"})
    assert again.status == 201 and again.json["session_id"] != session_id
    assert await attached_paths(api, "trial/a.ipynb") == [again.json["session_id"]]


async def test_a_session_that_ends_in_livy_ends_its_attachments(api, livy_url, events):
    attached = await api.post("attachments", {"path": "trial/ended.ipynb"})
    session = attached.json["session"]

    async def started():
        return (await api.get(f"sessions/{session['id']}")).json["livy_id"] is not None

    await eventually(started, what="the session to be created in Livy")
    livy_id = (await api.get(f"sessions/{session['id']}")).json["livy_id"]
    async with LivyClient(livy_url) as livy:  # killed behind the broker's back
        await livy.delete_session(livy_id)

    async def ended():
        reply = await api.get(f"sessions/{session['id']}")
        return reply.json["state"] in ("killed", "dead", "lost") and reply.json

    ended_session = await eventually(ended, what="the state poller to see the session end")

    # The notebooks are detached right after the ended state is written (the next registry write):
    # a read in between may still list them.
    async def detached_all():
        return (await api.get(f"sessions/{session['id']}")).json["attachments"] == []

    await eventually(detached_all, what="the ended session's notebooks to be detached")
    assert await attached_paths(api, "trial/ended.ipynb") == []
    detached = await events.wait_for(SESSION_ACTION, action="detached", session_id=session["id"])
    assert detached["actor"] == "spark-broker"
    assert detached["reason"] == f"its session ended: {ended_session['state']}"
