"""Both protocols in one Spark application: a Livy session on the embedded local Livy, started with
Spark's Connect plugin (``"protocol": "livy+connect"``), answers Livy statements and pyspark's real
Connect client, which gets its ``sc://`` URL from the broker. Real Spark: run it inside
``unshare --net`` (loopback only), as scripts/test.sh does.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.broker.prometheus import grew, scrape, value
from tests.broker.test_connect_sessions import client, until, wait_for_state
from tests.broker.test_ownership import TokenNamesUser  # noqa: F401 - the identity provider
from tests.connect.test_embedded_servers import port_open
from tests.helpers import command_lines_seen_by_another_os_user, processes_holding

pytestmark = pytest.mark.usefixtures("connect_extra")


@pytest.fixture
def connect_extra():
    pytest.importorskip("pyspark.sql.connect", reason="the connect extra is installed by test.sh")


@pytest.fixture
def broker_config(broker_config):
    # The embedded Livy runs real Spark here; the "test" Livy (no Spark) stays for the refusals.
    return {**broker_config, "local_livy_args": ["--spark", "on"]}


@pytest.fixture
def as_user(http_server_client, jp_base_url):
    from tests.broker.api_client import BrokerAPI

    return lambda name: BrokerAPI(http_server_client, jp_base_url, name)


@pytest.fixture
def jp_server_config(jp_server_config):
    return {
        **jp_server_config,
        "ServerApp": {
            **jp_server_config["ServerApp"],
            "identity_provider_class": "tests.broker.test_ownership.TokenNamesUser",
        },
    }


async def livy_statement(api, session_id: str, code: str) -> str:
    statement = await api.post(f"sessions/{session_id}/statements", {"code": code})
    assert statement.status == 201, statement.json
    done = await api.get(
        f"sessions/{session_id}/statements/{statement.json['id']}", params={"wait": 120}
    )
    assert done.json["state"] == "available", done.json
    assert done.json["output"]["status"] == "ok", done.json["output"]
    return done.json["output"]["data"]["text/plain"].strip()


@pytest.mark.spark
async def test_one_spark_application_answers_livy_and_connect(
    as_user, broker_app, caplog, tmp_path
):
    alice, bob = as_user("alice"), as_user("bob")
    before = await scrape(alice)
    attached = await alice.post(
        "attachments", {"path": "both.ipynb", "protocol": "livy+connect", "endpoint": "local"}
    )
    assert attached.status == 201, attached.json
    session = attached.json["session"]
    assert (session["protocol"], session["connect"]) == ("livy", True)
    conf = session["settings"]["conf"]
    assert conf["spark.plugins"] == "org.apache.spark.sql.connect.SparkConnectPlugin"
    assert conf["spark.connect.grpc.binding.address"] == "127.0.0.1"
    assert "spark.connect.authenticate.token" not in conf
    port = int(conf["spark.connect.grpc.binding.port"])
    early = await alice.get(f"sessions/{session['id']}/connect")
    assert early.status == 409 and early.json["reason"] == "starting"

    session = await wait_for_state(alice, session["id"], ("idle",), timeout=300)
    reply = await alice.get(f"sessions/{session['id']}/connect")
    assert reply.status == 200 and reply.headers.get("Cache-Control") == "no-store"
    url = reply.json["url"]
    assert url.startswith(f"sc://localhost:{port}/;token=") and ";user_id=alice;" in url
    token = url.split(";token=")[1].split(";")[0]
    assert (await bob.get(f"sessions/{session['id']}/connect")).status == 403
    # The token is on no process's command line (another OS user's `ps` shows nothing of it) and in
    # no environment (the driver's and its Python workers', where users' code runs, included).
    assert token not in command_lines_seen_by_another_os_user()
    assert processes_holding(token) == []
    # The Livy kernels of the notebook attach to the same session.
    again = await alice.post("attachments", {"path": "both.ipynb", "endpoint": "local"})
    assert again.status == 200 and again.json["session"]["id"] == session["id"]

    # A view made by a Livy statement is seen through Connect, and the other way round: one Spark
    # application (a Connect client has a Spark session of its own, so global temp views).
    app_id = await livy_statement(
        alice,
        session["id"],
        "spark.range(5).createOrReplaceGlobalTempView('from_livy'); print(sc.applicationId)",
    )
    seen = await client(
        url,
        "spark.range(3).createOrReplaceGlobalTempView('from_connect');"
        "print(spark.table('global_temp.from_livy').count(), spark.conf.get('spark.app.id'))",
    )
    assert seen.check().last_line == f"5 {app_id}"
    back = await livy_statement(
        alice, session["id"], "print(spark.table('global_temp.from_connect').count())"
    )
    assert back == "3"
    # The driver's Spark UI answers the broker's proxy, and no other local process.
    driver_ui = (await broker_app.broker.registry.get_session(session["id"])).spark_ui_url
    async with httpx.AsyncClient() as direct:
        assert (await direct.get(f"{driver_ui}/api/v1/applications")).status_code == 403
    proxied = await alice.get(
        f"spark-broker/sessions/{session['id']}/ui/api/v1/applications", api=False, validate=False
    )
    assert proxied.status == 200 and proxied.json[0]["id"] == app_id
    during = await scrape(alice)
    both = {"endpoint": "local", "profile": "default", "protocol": "livy+connect"}
    assert grew(before, during, "spark_broker_attaches_total", **both, result="new_session") == 1
    # Live, by the state the poller saw last (idle or busy, as the statements come and go).
    live = [
        value(during, "spark_broker_sessions", state=state, **both) for state in ("idle", "busy")
    ]
    assert sum(live) == 1
    livy = {**both, "protocol": "livy"}  # the Livy kernel's attach: protocol livy, same session
    assert (
        grew(before, during, "spark_broker_attaches_total", **livy, result="existing_session") == 1
    )

    # No token, a wrong token: refused.
    without = await client(url.replace(f";token={token}", ""), "spark.range(1).count()")
    assert without.returncode != 0 and "UNAUTHENTICATED" in without.stderr
    wrong = await client(url.replace(token, "not-the-token"), "spark.range(1).count()")
    assert wrong.returncode != 0 and "UNAUTHENTICATED" in wrong.stderr

    # The token shows nowhere else: lists, the session, the registry's file, the server's log.
    for body in (
        (await alice.get("sessions")).body,
        (await alice.get(f"sessions/{session['id']}")).body,
        again.body,
    ):
        assert token.encode() not in body
    assert token.encode() not in Path(tmp_path / "registry" / "registry.sqlite").read_bytes()
    assert token not in caplog.text

    # Kill ends both: the Livy session and its Connect server.
    assert (await alice.delete(f"sessions/{session['id']}")).status == 204
    # (pyspark's client would retry a closed port for minutes: the closed port is the proof.)
    await until(lambda: not port_open(port), 120, "the Connect plugin to stop listening")
    assert (await alice.get(f"sessions/{session['id']}/connect")).json[
        "reason"
    ] == "session_finished"


async def test_livy_and_connect_needs_the_embedded_livy(as_user):
    alice = as_user("alice")
    refused = await alice.post(
        "attachments", {"path": "x.ipynb", "protocol": "livy+connect", "endpoint": "test"}
    )
    assert refused.status == 400 and "embedded local Livy" in refused.json["message"]
    refused = await alice.post("sessions", {"protocol": "livy+connect", "endpoint": "test"})
    assert refused.status == 400 and "embedded local Livy" in refused.json["message"]

    # The notebook's Livy session runs without the plugin: asking for both is refused, not faked.
    plain = (await alice.post("attachments", {"path": "p.ipynb"})).json["session"]
    assert plain["connect"] is False
    refused = await alice.post(
        "attachments", {"path": "p.ipynb", "session": plain["id"], "protocol": "livy+connect"}
    )
    assert refused.status == 409 and refused.json["reason"] == "not_connect"
    assert (await alice.get(f"sessions/{plain['id']}/connect")).json["reason"] == "not_connect"
