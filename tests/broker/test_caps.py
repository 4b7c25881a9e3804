"""Caps on by default, so one user of a shared server cannot take the machine from the others (alice,
bob and an admin through an identity provider, as tests/broker/test_ownership.py does): a few live
sessions per user, Spark Connect ones counted too; some tens of run-time endpoints per user; a few
tens of KiB of session settings; on the embedded local Livy no more memory or cores than the
machine has. Over a cap: 429 or 403 naming the setting an operator changes."""

from __future__ import annotations

import os

import pytest

from tests.broker.api_client import BrokerAPI
from tests.broker.conftest import restart_broker
from tests.broker.test_ownership import TokenNamesUser  # noqa: F401 - the identity provider

# A Spark Connect server elsewhere: attaching records its session without calling it.
REMOTE_CONNECT = {"remote": {"url": "sc://localhost:15002"}}
# TEST-NET-1 (RFC 5737): an address outside this machine that nothing answers on.
OUTSIDE_URL = "http://192.0.2.10:8998"


@pytest.fixture
def broker_config(broker_config) -> dict:
    return {**broker_config, "remote_endpoints": REMOTE_CONNECT}


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
    return lambda name: BrokerAPI(http_server_client, jp_base_url, name)


async def _kill_all(admin: BrokerAPI) -> None:
    """The shared test Livy keeps sessions otherwise (each a worker process)."""
    for session in (await admin.get("sessions", params={"limit": 1000})).json["sessions"]:
        if session["state"] not in ("killed", "dead", "error", "lost", "success"):
            await admin.delete(f"sessions/{session['id']}")


async def test_a_user_holds_a_few_live_sessions_by_default_then_429(as_user):
    alice, bob, admin = as_user("alice"), as_user("bob"), as_user("root-admin")
    try:
        made = [await alice.post("sessions", {}) for _ in range(5)]
        assert [reply.status for reply in made] == [201] * 5
        over = await alice.post("sessions", {})
        assert over.status == 429 and over.json["reason"] == "session_cap"
        assert "max_sessions_per_user = 5" in over.json["message"]
        refused = await alice.post("attachments", {"path": "one-more.ipynb"})
        assert refused.status == 429
        assert (await bob.post("sessions", {})).status == 201  # the cap is per user
        # Ending one makes room again.
        assert (await alice.delete(f"sessions/{made[0].json['id']}")).status == 204
        assert (await alice.post("sessions", {})).status == 201
    finally:
        await _kill_all(admin)


async def test_connect_sessions_count_toward_the_cap(as_user, broker_app):
    broker_app.broker.profile_catalog.max_sessions_per_user = 2
    alice, admin = as_user("alice"), as_user("root-admin")
    try:
        livy = await alice.post("attachments", {"path": "a.ipynb"})
        assert livy.status == 201
        connect = {"protocol": "connect", "endpoint": "remote"}
        first = await alice.post("attachments", {"path": "b.ipynb", **connect})
        assert first.status == 201, first.json
        over = await alice.post("attachments", {"path": "c.ipynb", **connect})
        assert over.status == 429 and "max_sessions_per_user = 2" in over.json["message"]
        # The same notebook again is its live session, no new one: no cap.
        again = await alice.post("attachments", {"path": "b.ipynb", **connect})
        assert again.status == 200 and again.json["session_id"] == first.json["session_id"]
        exempt = await admin.post("attachments", {"path": "d.ipynb", **connect})
        assert exempt.status == 201
    finally:
        await _kill_all(admin)


async def test_a_user_adds_some_tens_of_run_time_endpoints_then_429(as_user):
    alice, bob, admin = as_user("alice"), as_user("bob"), as_user("root-admin")
    for number in range(20):
        added = await alice.post("endpoints", {"url": OUTSIDE_URL, "name": f"alice-{number}"})
        assert added.status == 201, added.json
    over = await alice.post("endpoints", {"url": OUTSIDE_URL, "name": "alice-20"})
    assert over.status == 429 and over.json["reason"] == "endpoint_cap"
    assert "SparkEndpoints.max_endpoints_per_user = 20" in over.json["message"]
    # /reconnectsparkmagic adds run-time endpoints too: the same cap.
    body = {"path": "r.ipynb", "endpoint": OUTSIDE_URL, "username": "u", "password": "p"}
    reconnect = await alice.request("POST", "reconnectsparkmagic", api=False, body=body)
    assert reconnect.status == 429 and reconnect.json["reason"] == "endpoint_cap"
    # Replacing one of hers adds none; another user, and an admin, still add.
    replaced = await alice.post("endpoints", {"url": OUTSIDE_URL + "/", "name": "alice-3"})
    assert replaced.status == 200
    assert (await bob.post("endpoints", {"url": OUTSIDE_URL, "name": "bobs"})).status == 201
    for number in range(21):
        added = await admin.post("endpoints", {"url": OUTSIDE_URL, "name": f"admin-{number}"})
        assert added.status == 201
    # Removing one makes room.
    assert (await alice.delete("endpoints/alice-0")).status == 204
    assert (await alice.post("endpoints", {"url": OUTSIDE_URL, "name": "alice-20"})).status == 201


async def test_session_settings_of_more_than_32_kib_are_refused_and_not_stored(as_user):
    alice = as_user("alice")
    big = {"conf": {"spark.jupyter.padding": "x" * (33 * 1024)}}
    for refused in (
        await alice.post("sessions", {"settings": big}),
        await alice.post("attachments", {"path": "big.ipynb", "settings": big}),
    ):
        assert refused.status == 403 and refused.json["reason"] == "settings_too_large"
        assert "SparkBroker.max_settings_bytes" in refused.json["message"]
        assert len(refused.body) < 1024  # the reply does not echo them
    assert (await alice.get("sessions")).json["total"] == 0


async def test_the_embedded_livy_gives_no_session_more_than_the_machine_has(as_user, broker_app):
    alice, admin = as_user("alice"), as_user("root-admin")
    memory_mib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    for user in (alice, admin):  # not a policy: the machine has no more, for admins either
        for settings, setting in (
            ({"driverMemory": "1000000g"}, "local_max_memory"),
            ({"executorMemory": f"{memory_mib + 1024}m"}, "local_max_memory"),
            ({"driverCores": (os.cpu_count() or 1) + 1}, "local_max_cores"),
        ):
            refused = await user.post("sessions", {"endpoint": "local", "settings": settings})
            assert refused.status == 403 and refused.json["reason"] == "over_limit", settings
            assert f"SparkEndpoints.{setting}" in refused.json["message"]
    # Nothing was made, and the embedded Livy was not even started for it.
    assert (await admin.get("sessions")).json["total"] == 0
    assert not broker_app.broker.endpoints.local_is_running()


async def test_executors_on_a_cluster_are_the_clusters_to_bound(as_user, broker_app):
    """A profile sending the embedded Livy's executors to a cluster (its spark.master) may give
    them more than this machine has; the driver still runs here, and is held to the machine."""
    memory_mib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    cluster = {"endpoint": "local", "settings": {"conf": {"spark.master": "spark://cluster:7077"}}}
    await restart_broker(broker_app, profiles={"cluster": cluster})
    alice = as_user("alice")
    big = {"executorMemory": f"{memory_mib + 1024}m", "executorCores": (os.cpu_count() or 1) + 1}
    made = await alice.post("sessions", {"profile": "cluster", "settings": big})
    assert made.status == 201, made.json
    assert made.json["settings"]["conf"]["spark.master"] == "spark://cluster:7077"
    refused = await alice.post(
        "sessions", {"profile": "cluster", "settings": {"driverMemory": "1000000g"}}
    )
    assert refused.status == 403 and "SparkEndpoints.local_max_memory" in refused.json["message"]
    await _kill_all(as_user("root-admin"))
