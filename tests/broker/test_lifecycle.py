"""The broker's lifecycle: restarts, Livy outages, the reaper, and the embedded local Livy."""

from __future__ import annotations

import socket

import pytest

from jupyter_spark_broker.livy import LivyClient, LivyNotFound
from jupyter_spark_broker.livy_local import LocalLivyProcess
from tests.broker.conftest import restart_broker
from tests.conftest import SESSION_START_TIMEOUT
from tests.helpers import eventually


async def session_state(api, session_id: str) -> str:
    return (await api.get(f"sessions/{session_id}")).json["state"]


@pytest.mark.both_livys
async def test_broker_restart_readopts_live_sessions(api, broker_app, livy_url):
    sessions = []
    # One at a time, each waited for and given some state to keep: three Spark drivers of Apache
    # Livy starting at once on 2 busy cores took over 4 minutes.
    for i in range(3):
        session = (await api.post("attachments", {"path": f"restart/{i}.ipynb"})).json["session"]
        sessions.append(session)
        statement = await api.post(
            f"sessions/{session['id']}/statements",
            {"code": "kept = 7"},
            params={"wait": SESSION_START_TIMEOUT},  # difference session_start_time
        )
        assert statement.status == 201 and statement.json["state"] == "available", statement.json

    await broker_app.stop_extension()  # Jupyter goes down; the Livy sessions live on
    async with LivyClient(livy_url) as livy:  # one dies while the broker is away
        await livy.delete_session(sessions[2]["livy_id"])
    await restart_broker(broker_app)

    assert await session_state(api, sessions[0]["id"]) == "idle"
    assert await session_state(api, sessions[1]["id"]) == "idle"
    lost = await api.get(f"sessions/{sessions[2]['id']}")
    assert lost.json["state"] == "lost" and "no longer has" in lost.json["message"]

    again = await api.post("attachments", {"path": "restart/0.ipynb"})
    assert again.status == 200 and again.json["session_id"] == sessions[0]["id"]
    check = await api.post(f"sessions/{sessions[0]['id']}/statements", {"code": "kept"})
    done = await api.get(
        f"sessions/{sessions[0]['id']}/statements/{check.json['id']}", params={"wait": 30}
    )
    assert done.json["output"]["data"] == {"text/plain": "7"}
    replaced = await api.post("attachments", {"path": "restart/2.ipynb"})
    assert replaced.status == 201  # the lost one is replaced by a new session

    async with LivyClient(livy_url) as livy:  # nothing leaked, nothing duplicated
        names = [s.name for s in await livy.iter_all_sessions()]
    assert names.count(sessions[0]["livy_name"]) == names.count(sessions[1]["livy_name"]) == 1
    assert sessions[2]["livy_name"] not in names


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def flaky_livy():
    server = LocalLivyProcess(["--spark", "off", "--port", str(_free_port())])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def strict_livy(start_local_livy):
    """A Livy that deletes sessions idle for 1 s: only the broker's keep-alive saves them."""
    return start_local_livy("--spark", "off", "--session-timeout", "1", "--gc-interval", "0.2")


@pytest.fixture
def broker_config(broker_config, flaky_livy, strict_livy):
    broker_config["endpoints"]["flaky"] = {"url": flaky_livy.url}
    broker_config["endpoints"]["strict"] = {"url": strict_livy.url}
    # A short read timeout: a failed create's row is forgotten a read timeout after the failure.
    return {**broker_config, "livy_retries": 1, "livy_read_timeout": 3.0}


async def test_unreachable_livy_gives_503_then_recovers(api, flaky_livy):
    first = await api.post("attachments", {"path": "flaky/a.ipynb", "endpoint": "flaky"})
    assert first.status == 201
    session_id = first.json["session_id"]

    flaky_livy.stop()
    refused = await api.post("attachments", {"path": "flaky/b.ipynb", "endpoint": "flaky"})
    assert refused.status == 503
    assert refused.json["reason"] == "livy_unreachable"
    assert "Livy endpoint 'flaky' is unreachable" in refused.json["message"]
    statement = await api.post(f"sessions/{session_id}/statements", {"code": "1"})
    assert statement.status == 503
    listing = await api.get("sessions", params={"endpoint": "flaky"})  # the registry still answers
    assert listing.status == 200
    # Nothing half-made is left claiming the notebook: the failed create is recorded as an error.
    failed = [s for s in listing.json["sessions"] if s["state"] == "error"]
    assert len(failed) == 1 and "unreachable" in failed[0]["message"]

    flaky_livy.start()  # back, on the same port, without the old sessions (no recovery mode)
    recovered = await api.post("attachments", {"path": "flaky/b.ipynb", "endpoint": "flaky"})
    assert recovered.status == 201
    await eventually(
        lambda: _state_is(api, session_id, "lost"), what="the vanished session to be marked lost"
    )
    replacement = await api.post("attachments", {"path": "flaky/a.ipynb", "endpoint": "flaky"})
    assert replacement.status == 201 and replacement.json["session_id"] != session_id
    # Once Livy is seen without a session of its name, the failed create leaves no row behind.
    failed_id = failed[0]["id"]
    await eventually(
        lambda: _is_gone(api, failed_id), what="the failed create's row to be forgotten"
    )


async def _is_gone(api, session_id):
    return (await api.get(f"sessions/{session_id}")).status == 404


async def test_create_retried_after_a_failure_makes_a_session(api, flaky_livy):
    flaky_livy.stop()
    body = {"endpoint": "flaky", "request_id": "retry-after-failure"}
    refused = await api.post("sessions", body)
    assert refused.status == 503
    flaky_livy.start()
    retried = await api.post("sessions", body)
    assert retried.status == 201 and retried.json["state"] != "error"
    again = await api.post("sessions", body)  # the retry of a create that was done: the same one
    assert again.status == 200 and again.json["id"] == retried.json["id"]


async def _state_is(api, session_id, state):
    return await session_state(api, session_id) == state


async def test_keep_alive_saves_attached_sessions_from_livy_idle_timeout(api, jp_serverapp):
    kernel_id = await jp_serverapp.kernel_manager.start_kernel(kernel_name="python3")
    try:
        attached = await api.post(
            "attachments",
            {"path": "strict/kept.ipynb", "endpoint": "strict", "kernel_id": kernel_id},
        )
        unattached = await api.post("sessions", {"endpoint": "strict"})
        # Livy collects the session nobody attached to; the broker notices and says so.
        await eventually(
            lambda: _state_is(api, unattached.json["id"], "lost"),
            what="Livy's idle timeout to take the unattached session",
        )
        # The attached one lived through the same idle time, kept alive by POST .../connect.
        session_id = attached.json["session_id"]
        assert await session_state(api, session_id) not in ("lost", "killed", "dead")
        statement = await api.post(f"sessions/{session_id}/statements", {"code": "'alive'"})
        assert statement.status == 201
    finally:
        await jp_serverapp.kernel_manager.shutdown_kernel(kernel_id)


async def test_reaper_kills_unattached_sessions_but_not_attached_ones(
    api, broker_app, jp_serverapp, livy_url
):
    await restart_broker(broker_app, idle_timeout=1.0)
    kernel_id = await jp_serverapp.kernel_manager.start_kernel(kernel_name="python3")
    try:
        kept = await api.post("attachments", {"path": "reaper/kept.ipynb", "kernel_id": kernel_id})
        unattached = await api.post("sessions", {})
        await eventually(
            lambda: _state_is(api, unattached.json["id"], "killed"),
            what="the unattached session to be reaped",
        )
        reaped = await api.get(f"sessions/{unattached.json['id']}")
        assert "reaped" in reaped.json["message"]
        async with LivyClient(livy_url) as livy:
            with pytest.raises(LivyNotFound):
                await livy.get_session(unattached.json["livy_id"])
        # The reaper ran past idle_timeout, and the session of a live kernel is untouched.
        assert await session_state(api, kept.json["session_id"]) not in ("killed", "lost")
    finally:
        await jp_serverapp.kernel_manager.shutdown_kernel(kernel_id)

    # The kernel is gone: its attachment goes, then (idle_timeout later) its session.
    await eventually(
        lambda: _state_is(api, kept.json["session_id"], "killed"),
        what="the orphaned session to be reaped",
    )


async def test_embedded_local_livy_starts_on_first_use_and_stops_with_the_server(api, broker_app):
    before = await api.get("endpoints")
    local = next(e for e in before.json["endpoints"] if e["name"] == "local")
    assert local["embedded"] and local["url"] is None  # not started until needed

    attached = await api.post("attachments", {"path": "local.ipynb", "endpoint": "local"})
    assert attached.status == 201
    statement = await api.post(
        f"sessions/{attached.json['session_id']}/statements", {"code": "6 * 7"}
    )
    done = await api.get(
        f"sessions/{attached.json['session_id']}/statements/{statement.json['id']}",
        params={"wait": 60},
    )
    assert done.json["output"]["data"] == {"text/plain": "42"}
    after = await api.get("endpoints")
    url = next(e for e in after.json["endpoints"] if e["name"] == "local")["url"]
    assert url.startswith("http://127.0.0.1:")

    process = broker_app.broker.endpoints._local.process
    await restart_broker(broker_app)
    assert process.poll() is not None  # the child Livy is gone with the old broker
    ended = await api.get(f"sessions/{attached.json['session_id']}")
    assert ended.json["state"] == "killed"
    assert "stopped with Jupyter" in ended.json["message"]


async def test_sessions_of_an_endpoint_removed_from_config_become_lost(api, broker_app, livy_url):
    attached = await api.post("attachments", {"path": "gone/a.ipynb", "endpoint": "flaky"})
    assert attached.status == 201
    await restart_broker(broker_app, endpoints={"test": {"url": livy_url}})
    session = await api.get(f"sessions/{attached.json['session_id']}")
    assert session.json["state"] == "lost"
    assert "'flaky' is no longer configured" in session.json["message"]
