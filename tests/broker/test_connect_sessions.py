"""Spark Connect sessions owned by the broker: attach with protocol connect, the sc:// URL for the owner,
kill and reaping release the server-side session, a server with no session left stops. Real Connect
servers (spark-submit from the pyspark wheel) and pyspark's real Connect client in other processes.

Run them in a loopback-only network namespace when you can (``unshare --net``, then
``ip link set lo up``), as tests/connect/test_embedded_servers.py says.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.broker.conftest import restart_broker
from tests.broker.prometheus import grew, scrape, value
from tests.broker.test_ownership import TokenNamesUser  # noqa: F401 - the identity provider
from tests.connect.conftest import TEST_CONF, run_client
from tests.connect.test_embedded_servers import port_open
from tests.helpers import (
    command_lines_seen_by_another_os_user,
    environments_of,
    processes_holding,
)

CONNECT_CONFIG = {"master": "local[1]", "spark_conf": TEST_CONF}


@pytest.fixture
def broker_config(broker_config, tmp_path):
    return {**broker_config, **CONNECT_CONFIG, "log_dir": str(tmp_path / "connect-logs")}


@pytest.fixture
def jp_server_config(jp_server_config):
    return {
        **jp_server_config,
        "ServerApp": {
            **jp_server_config["ServerApp"],
            "identity_provider_class": "tests.broker.test_ownership.TokenNamesUser",
        },
        "SparkBroker": {**jp_server_config.get("SparkBroker", {}), "admin_users": ["root-admin"]},
    }


@pytest.fixture
def as_user(http_server_client, jp_base_url):
    from tests.broker.api_client import BrokerAPI

    return lambda name: BrokerAPI(http_server_client, jp_base_url, name)


async def wait_for_state(
    api, session_id: str, states: tuple[str, ...], timeout: float = 240
) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session = (await api.get(f"sessions/{session_id}")).json
        if session["state"] in states:
            return session
        await asyncio.sleep(0.5)
    raise AssertionError(f"session {session_id} still {session['state']} after {timeout:g} s")


async def client(url: str, code: str):
    """pyspark's Connect client in a process of its own, off the server's event loop."""
    return await asyncio.to_thread(run_client, url, code)


async def until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@pytest.mark.spark
async def test_a_notebooks_connect_session_through_the_broker(
    as_user, broker_app, caplog, tmp_path, jp_base_url, monkeypatch
):
    alice, bob, admin = as_user("alice"), as_user("bob"), as_user("root-admin")
    monkeypatch.setenv("SPARK_BROKER_TOKEN", "the-jupyter-servers-token")  # as a real server has it
    before = await scrape(alice)

    first = await alice.post("attachments", {"path": "c.ipynb", "protocol": "connect"})
    assert first.status == 201
    session = first.json["session"]
    assert (session["protocol"], session["endpoint"], session["state"]) == (
        "connect",
        "connect",
        "starting",
    )
    starting = await alice.get(f"sessions/{session['id']}/connect")
    assert starting.status == 409 and starting.json["reason"] == "starting"

    session = await wait_for_state(alice, session["id"], ("idle",))
    reply = await alice.get(f"sessions/{session['id']}/connect")
    assert reply.status == 200 and reply.headers.get("Cache-Control") == "no-store"
    url = reply.json["url"]
    assert url.startswith("sc://localhost:") and ";user_id=alice;session_id=" in url
    token = url.split(";token=")[1].split(";")[0]
    for other in (bob, admin):  # the owner's only, an admin's neither
        assert (await other.get(f"sessions/{session['id']}/connect")).status == 403

    (await client(url, "spark.range(7).createOrReplaceTempView('seven')")).check()
    # The kernel restarts: the same notebook attaches again and finds the same server-side session.
    again = await alice.post("attachments", {"path": "c.ipynb", "protocol": "connect"})
    assert again.status == 200 and again.json["session"]["id"] == session["id"]
    assert (await alice.get(f"sessions/{session['id']}/connect")).json["url"] == url
    seen = await client(url, "print(spark.table('seven').count(), spark.conf.get('spark.app.id'))")
    count, app_id = seen.check().last_line.split()
    assert count == "7"
    # Its Spark UI, through the server's proxy: for alice (and admins), not for bob.
    assert "/spark-broker/connect-servers/" in session["spark_ui_url"]
    applications = session["spark_ui_url"][len(jp_base_url) :] + "/api/v1/applications"
    listed = await alice.get(applications, api=False, validate=False)
    assert listed.status == 200 and listed.json[0]["id"] == app_id
    assert (await bob.get(applications, api=False, validate=False)).status == 403
    # Straight to the server's UI, another local process is refused: only the proxy signs requests.
    server_id = session["spark_ui_url"].rstrip("/").split("/")[-2]
    direct_ui = broker_app.broker.connect.manager.ui_of(server_id).url
    async with httpx.AsyncClient() as direct:
        assert (await direct.get(f"{direct_ui}/api/v1/applications")).status_code == 403
    # Its token: on no command line (another OS user's `ps`), in no environment (the clients' UDFs
    # run in Python workers that inherit the server's), in no file left behind.
    assert token not in command_lines_seen_by_another_os_user()
    assert processes_holding(token) == []
    assert not list(Path(broker_app.broker.connect.manager.log_dir).glob("*.properties"))
    # Nor does the server inherit the Jupyter server's token, which the Jupyter process holds.
    servers = environments_of("SparkConnectServer")
    assert servers and not any("SPARK_BROKER_TOKEN" in names for names in servers)

    # Another notebook: another session, in the same Spark application of alice's.
    other = (await alice.post("attachments", {"path": "d.ipynb", "protocol": "connect"})).json
    assert other["session"]["id"] != session["id"] and other["session"]["state"] == "idle"
    other_url = (await alice.get(f"sessions/{other['session']['id']}/connect")).json["url"]
    elsewhere = await client(
        other_url, "print(spark.catalog.tableExists('seven'), spark.conf.get('spark.app.id'))"
    )
    assert elsewhere.check().last_line == f"False {app_id}"
    # A Livy notebook session of the same path is another session.
    livy = (await alice.post("attachments", {"path": "c.ipynb"})).json["session"]
    assert livy["protocol"] == "livy" and livy["id"] != session["id"]

    # Metrics: one Connect server running; two Connect sessions by state; attaches by protocol.
    during = await scrape(alice)
    assert value(during, "spark_broker_connect_servers", profile="default", state="in_use") == 1
    assert (
        grew(
            before,
            during,
            "spark_broker_connect_server_starts_total",
            profile="default",
            outcome="ok",
        )
        == 1
    )
    connect = {"endpoint": "connect", "profile": "default", "protocol": "connect"}
    assert value(during, "spark_broker_sessions", state="idle", **connect) == 2
    assert grew(before, during, "spark_broker_attaches_total", **connect, result="new_session") == 2
    assert (
        grew(before, during, "spark_broker_attaches_total", **connect, result="existing_session")
        == 1
    )
    livy_attach = {"endpoint": "test", "profile": "default", "protocol": "livy"}
    assert (
        grew(before, during, "spark_broker_attaches_total", **livy_attach, result="new_session")
        == 1
    )

    # No Livy statements on a Connect session; no token without it.
    refused = await alice.post(f"sessions/{session['id']}/statements", {"code": "1"})
    assert refused.status == 409 and refused.json["reason"] == "wrong_protocol"
    without = url.replace(f";token={token}", "")
    assert "UNAUTHENTICATED" in (await client(without, "spark.range(1).count()")).stderr

    # The token shows nowhere else: lists, one session, the registry's file, the server's log.
    listed = await alice.get("sessions")
    assert {s["protocol"] for s in listed.json["sessions"]} == {"connect", "livy"}
    for body in (listed.body, (await alice.get(f"sessions/{session['id']}")).body):
        assert token.encode() not in body
    registry = Path(tmp_path / "registry" / "registry.sqlite").read_bytes()
    assert token.encode() not in registry
    assert token not in caplog.text

    # Kill: the server-side session ends (its id is refused from now on); the server stays for d.
    assert (await alice.delete(f"sessions/{session['id']}")).status == 204
    closed = await client(url, "spark.range(1).count()")
    assert "INVALID_HANDLE.SESSION_CLOSED" in closed.stderr
    assert (await alice.get(f"sessions/{session['id']}/connect")).json[
        "reason"
    ] == "session_finished"
    manager = broker_app.broker.connect.manager
    (server,) = manager.servers()
    assert len(server.sessions) == 1  # d.ipynb's

    # Reaping: once d.ipynb is detached and idle, its session is released and the server stops.
    await alice.delete(f"attachments/{other['id']}")
    broker_app.broker.idle_timeout = 0.5
    reaped = await wait_for_state(alice, other["session"]["id"], ("killed",), timeout=30)
    assert reaped["message"].startswith("reaped")
    await until(lambda: manager.servers() == [], 60, "the server to stop")
    assert not port_open(server.port)
    after = await scrape(alice)
    assert value(after, "spark_broker_connect_servers", profile="default", state="in_use") == 0
    assert value(after, "spark_broker_sessions", state="idle", **connect) == 0


@pytest.mark.spark
async def test_connect_sessions_end_with_jupyter(as_user, broker_app):
    """The broker's Connect servers are its children: after a restart their sessions are killed, and
    the notebook's next attach makes a new one."""
    alice = as_user("alice")
    session = (await alice.post("attachments", {"path": "e.ipynb", "protocol": "connect"})).json[
        "session"
    ]
    session = await wait_for_state(alice, session["id"], ("idle",))
    (server,) = broker_app.broker.connect.manager.servers()

    await restart_broker(broker_app)
    ended = (await alice.get(f"sessions/{session['id']}")).json
    assert ended["state"] == "killed" and "stopped with Jupyter" in ended["message"]
    assert (
        not Path(f"/proc/{server.pid}").exists()
        or b"java" not in Path(f"/proc/{server.pid}/cmdline").read_bytes()
    )
    fresh = await alice.post("attachments", {"path": "e.ipynb", "protocol": "connect"})
    assert fresh.status == 201 and fresh.json["session"]["id"] != session["id"]
    assert (await alice.delete(f"sessions/{fresh.json['session']['id']}")).status == 204


async def test_connect_attach_refuses_livy_fields_and_unknown_endpoints(as_user):
    alice = as_user("alice")
    refused = await alice.post(
        "attachments", {"path": "x.ipynb", "protocol": "connect", "kind": "spark"}
    )
    assert refused.status == 400 and "kind" in refused.json["message"]
    refused = await alice.post(
        "attachments", {"path": "x.ipynb", "protocol": "connect", "endpoint": "elsewhere"}
    )
    assert (
        refused.status == 400
        and "no Spark Connect endpoint named 'elsewhere'" in refused.json["message"]
    )
    refused = await alice.post("attachments", {"path": "x.ipynb", "protocol": "grpc"})
    assert refused.status == 400 and "protocol" in refused.json["message"]


async def test_a_livy_session_has_no_connect_url(as_user):
    alice = as_user("alice")
    livy = (await alice.post("attachments", {"path": "l.ipynb"})).json["session"]
    refused = await alice.get(f"sessions/{livy['id']}/connect")
    assert refused.status == 409 and refused.json["reason"] == "not_connect"
    assert (await alice.get("sessions/nope/connect")).status == 404


async def test_a_connect_attach_names_a_known_profile(as_user):
    refused = await as_user("alice").post(
        "attachments", {"path": "x.ipynb", "protocol": "connect", "profile": "huge"}
    )
    assert refused.status == 404 and refused.json["reason"] == "unknown_profile"
