"""Profiles and warm servers for Spark Connect: the attach's profile chooses the Spark conf of the
user's server (one server per user and profile), and ``c.SparkConnect.warm_servers`` keeps servers
started ahead, which a user's first Connect session takes at once. Real Connect servers (spark-submit
from the pyspark wheel) and pyspark's real client; run inside ``unshare --net``, as scripts/test.sh
does."""

from __future__ import annotations

import pytest

from tests.broker.prometheus import scrape, value
from tests.broker.test_connect_sessions import CONNECT_CONFIG, client, until, wait_for_state
from tests.broker.test_ownership import TokenNamesUser  # noqa: F401 - the identity provider

MARKED = {"marked": {"settings": {"conf": {"spark.jsb.mark": "marked"}, "driverMemory": "600m"}}}
# The server's application name and the profile's mark, as a Connect client sees them.
WHO = "print(spark.conf.get('spark.app.name'), spark.conf.get('spark.jsb.mark', 'unmarked'))"


@pytest.fixture
def broker_config(broker_config, tmp_path):
    return {
        **broker_config,
        **CONNECT_CONFIG,
        "log_dir": str(tmp_path / "connect-logs"),
        "profiles": MARKED,
        "warm_servers": {"default": 1},
    }


@pytest.fixture
def jp_server_config(jp_server_config):
    return {
        **jp_server_config,
        "ServerApp": {
            **jp_server_config["ServerApp"],
            "identity_provider_class": "tests.broker.test_ownership.TokenNamesUser",
        },
    }


@pytest.fixture
def as_user(http_server_client, jp_base_url):
    from tests.broker.api_client import BrokerAPI

    return lambda name: BrokerAPI(http_server_client, jp_base_url, name)


async def servers_by_state(api) -> dict[str, float]:
    samples = await scrape(api)
    return {
        state: value(samples, "spark_broker_connect_servers", profile="default", state=state)
        for state in ("warm", "in_use")
    }


@pytest.mark.spark
@pytest.mark.timeout(900)  # three Connect servers start, one after the other, on 2 busy cores
async def test_warm_servers_and_a_server_per_profile(as_user, broker_app):
    alice = as_user("alice")
    await broker_app.ensure_started()  # as Jupyter's start hook does: the warm server starts
    manager = broker_app.broker.connect.manager
    await until(lambda: manager.warm_count("default") == 1, 300, "a warm Connect server")
    assert manager.servers() == []  # nobody's yet
    assert await servers_by_state(alice) == {"warm": 1, "in_use": 0}

    # The first Connect session takes the warm server at once: no "starting".
    attached = await alice.post("attachments", {"path": "c.ipynb", "protocol": "connect"})
    assert attached.status == 201
    session = attached.json["session"]
    assert (session["state"], session["profile"]) == ("idle", "default")
    url = (await alice.get(f"sessions/{session['id']}/connect")).json["url"]
    assert (await client(url, WHO)).check().last_line == "jsb-connect-warm-default unmarked"
    (taken,) = manager.servers()
    assert (taken.user, taken.profile) == ("alice", "default")
    # Another warm server starts in the background.
    await until(lambda: manager.warm_count("default") == 1, 300, "the next warm server")
    assert await servers_by_state(alice) == {"warm": 1, "in_use": 1}
    assert (await alice.delete(f"sessions/{session['id']}")).status == 204
    await until(lambda: manager.servers() == [], 60, "alice's default server to stop")

    # The profile "marked": a server of alice's with the profile's Spark conf, not the warm one.
    attached = await alice.post(
        "attachments", {"path": "m.ipynb", "protocol": "connect", "profile": "marked"}
    )
    assert attached.status == 201 and attached.json["session"]["state"] == "starting"
    session = await wait_for_state(alice, attached.json["session"]["id"], ("idle",), timeout=300)
    assert session["profile"] == "marked"
    assert session["settings"]["conf"]["spark.jsb.mark"] == "marked"
    assert session["settings"]["conf"]["spark.driver.memory"] == "600m"
    url = (await alice.get(f"sessions/{session['id']}/connect")).json["url"]
    assert (await client(url, WHO)).check().last_line == "jsb-connect-alice-marked marked"
    (marked,) = manager.servers()
    assert (marked.user, marked.profile) == ("alice", "marked")
    assert manager.warm_count("default") == 1
    assert (await alice.delete(f"sessions/{session['id']}")).status == 204
    await until(lambda: manager.servers() == [], 60, "alice's marked server to stop")
