"""Several servers on one registry: a broker marks lost only the sessions of endpoints it can check,
and loads the run-time endpoints another server saved when it meets their sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jupyter_spark_broker.broker.endpoints import EndpointConfig
from jupyter_spark_broker.broker.users import SERVER_OWNER
from jupyter_spark_broker.registry.orm import utcnow
from tests.broker.conftest import restart_broker


@pytest.fixture
def broker_config(broker_config, livy_url) -> dict:
    broker_config["endpoints"]["elsewhere"] = {"url": livy_url}
    return broker_config


async def test_a_run_time_endpoint_saved_by_another_server_is_loaded_not_lost(
    api, broker_app, livy_url
):
    await broker_app.ensure_started()
    broker = broker_app.broker
    await broker.put_endpoint("added-on-b", EndpointConfig(url=livy_url), SERVER_OWNER)
    attached = await api.post("attachments", {"path": "b.ipynb", "endpoint": "added-on-b"})
    assert attached.status == 201, attached.json
    # As a server that started before B saved the endpoint: it has never heard of it.
    broker.endpoints._configs.pop("added-on-b")
    broker.endpoints._runtime.pop("added-on-b")

    await broker.lifecycle.poll_states()
    session = await api.get(f"sessions/{attached.json['session_id']}")
    assert session.json["state"] not in ("lost", "killed"), session.json
    assert "added-on-b" in broker.endpoints.names()


async def test_an_endpoint_only_another_live_server_knows_is_left_alone(api, broker_app, livy_url):
    attached = await api.post("attachments", {"path": "other.ipynb", "endpoint": "elsewhere"})
    assert attached.status == 201, attached.json
    broker = broker_app.broker
    await broker.registry.heartbeat("server-b")  # a live server whose config has "elsewhere"
    await restart_broker(broker_app, endpoints={"test": {"url": livy_url}})
    broker = broker_app.broker
    await broker.registry.heartbeat("server-b")
    await broker.lifecycle.poll_states()
    kept = await api.get(f"sessions/{attached.json['session_id']}")
    assert kept.json["state"] != "lost", kept.json

    # Once no other server lives, nobody else can check it: lost.
    await broker.registry.forget_server("server-b")
    await broker.lifecycle.poll_states()
    lost = await api.get(f"sessions/{attached.json['session_id']}")
    assert lost.json["state"] == "lost"
    assert "no longer configured" in lost.json["message"]


async def test_stale_attachments_are_dropped_when_the_broker_starts(api, broker_app):
    attached = await api.post("attachments", {"path": "stale.ipynb"})
    assert attached.status == 201
    registry = broker_app.broker.registry
    # A kernel of a server that is gone (it never beat, or its row was forgotten at its stop).
    stale = await registry.attach(
        attached.json["session_id"], "stale.ipynb", "kernel-of-a-gone-server", "someone", "gone"
    )
    # A reaper that would not come round for an hour: only the start-up sweep can drop it.
    await restart_broker(broker_app, reap_interval=3600)
    kept = [a.id for a in (await broker_app.broker.registry.attachments(path="stale.ipynb"))[0]]
    assert stale.id not in kept


async def test_a_stopping_server_ends_only_its_own_embedded_sessions(api, broker_app):
    mine = await api.post("attachments", {"path": "mine.ipynb", "endpoint": "local"})
    assert mine.status == 201
    statement = await api.post(
        f"sessions/{mine.json['session_id']}/statements", {"code": "1"}, params={"wait": 60}
    )
    assert statement.json["state"] == "available"
    registry = broker_app.broker.registry
    await registry.heartbeat("server-b")  # alive, with an embedded Livy and a session of its own
    theirs = await registry.insert_session(
        id="b0000000000000000000000000000000",
        endpoint="local",
        livy_name="made-by-server-b",
        kind="pyspark",
        state="idle",
        owner=SERVER_OWNER,
        share_key=None,
        config={},
    )
    await restart_broker(broker_app)
    await broker_app.broker.lifecycle.poll_states()
    assert (await api.get(f"sessions/{mine.json['session_id']}")).json["state"] == "killed"
    assert (await api.get(f"sessions/{theirs.id}")).json["state"] == "idle"


async def test_the_reaper_leaves_another_servers_embedded_sessions(api, broker_app):
    """Livy ids are per Livy: a session of server B's embedded Livy, idle for long, is B's to reap.
    Reaped here, its Livy id would delete this server's own session of that id."""
    mine = await api.post("attachments", {"path": "kept.ipynb", "endpoint": "local"})
    assert mine.status == 201
    session_id = mine.json["session_id"]
    first = await api.post(f"sessions/{session_id}/statements", {"code": "1"}, params={"wait": 60})
    assert first.json["state"] == "available"
    broker = broker_app.broker
    own = await broker.registry.get_session(session_id)
    await broker.registry.heartbeat("server-b")  # alive, with an embedded Livy of its own
    long_ago = utcnow() - timedelta(seconds=broker.idle_timeout * 2)
    theirs = await broker.registry.insert_session(
        id="b1000000000000000000000000000000",
        endpoint="local",
        livy_id=own.livy_id,  # the same number, in another Livy
        livy_name="made-by-server-b",
        kind="pyspark",
        state="idle",
        owner=SERVER_OWNER,
        share_key=None,
        config={},
        unattached_since=long_ago,
    )
    await broker.registry.update_session(theirs.id, last_activity=long_ago)
    await broker.lifecycle.reap()
    assert (await api.get(f"sessions/{theirs.id}")).json["state"] == "idle"
    again = await api.post(f"sessions/{session_id}/statements", {"code": "2"}, params={"wait": 60})
    assert again.status == 201 and again.json["state"] == "available", again.json
