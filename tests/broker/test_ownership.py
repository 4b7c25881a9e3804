"""Several users on one server (as under JupyterHub): each sees and kills only their own sessions,
admin users see every session, and ``mine`` narrows an admin's list to their own."""

from __future__ import annotations

import asyncio
import json

import pytest
from jupyter_server.auth.identity import IdentityProvider, User

from jupyter_spark_broker.events import BASE_ID, SESSION_ACTION, SUBSCRIBED
from tests.broker.api_client import BrokerAPI
from tests.broker.prometheus import scrape, value


class TokenNamesUser(IdentityProvider):
    """``Authorization: token alice`` is user alice: the plug-in point JupyterHub also uses."""

    def get_user(self, handler):
        scheme, _, name = handler.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "token" or not name:
            return None
        handler._token_authenticated = True  # an API client, as with a real token: no XSRF check
        return User(username=name, name=name)


@pytest.fixture
def broker_config(broker_config) -> dict:
    # The run-time endpoints below are Livys on loopback, which a server of several users refuses
    # unless its operator allows them (tests/broker/test_endpoint_urls.py).
    return {**broker_config, "internal_endpoint_urls": "allow"}


@pytest.fixture
def jp_server_config(jp_server_config):
    return {
        **jp_server_config,
        "ServerApp": {
            **jp_server_config["ServerApp"],
            "identity_provider_class": f"{__name__}.TokenNamesUser",
        },
        "SparkBroker": {**jp_server_config.get("SparkBroker", {}), "admin_users": ["root-admin"]},
    }


@pytest.fixture
def as_user(http_server_client, jp_base_url):
    return lambda name: BrokerAPI(http_server_client, jp_base_url, name)


async def test_users_see_and_kill_only_their_own_sessions(as_user):
    alice, bob, admin = as_user("alice"), as_user("bob"), as_user("root-admin")
    alices = (await alice.post("attachments", {"path": "a.ipynb"})).json["session"]
    bobs = (await bob.post("attachments", {"path": "b.ipynb"})).json["session"]
    admins = (await admin.post("attachments", {"path": "c.ipynb"})).json["session"]
    assert (alices["owner"], bobs["owner"]) == ("alice", "bob")

    listed = (await alice.get("sessions")).json
    assert [s["id"] for s in listed["sessions"]] == [alices["id"]]
    assert (await alice.get(f"sessions/{bobs['id']}")).status == 403
    refused = await alice.delete(f"sessions/{bobs['id']}")
    assert refused.status == 403 and "another user" in refused.json["message"]
    assert (await bob.get(f"sessions/{bobs['id']}")).json["state"] != "killed"

    everyone = (await admin.get("sessions")).json["sessions"]
    assert {s["id"] for s in everyone} == {alices["id"], bobs["id"], admins["id"]}
    own = (await admin.get("sessions", params={"mine": "true"})).json["sessions"]
    assert [s["id"] for s in own] == [admins["id"]]
    assert (await alice.get("sessions", params={"mine": "true"})).json["total"] == 1

    assert (await admin.delete(f"sessions/{bobs['id']}")).status == 204  # an admin kills any
    assert (await bob.get(f"sessions/{bobs['id']}")).json["state"] == "killed"


async def test_a_bad_mine_flag_is_a_400_naming_it(as_user):
    reply = await as_user("alice").get("sessions", params={"mine": "perhaps"})
    assert reply.status == 400 and "mine" in reply.json["message"]


async def test_two_users_notebooks_at_one_path_get_their_own_sessions(as_user):
    alices = await as_user("alice").post("attachments", {"path": "Untitled.ipynb"})
    bobs = await as_user("bob").post("attachments", {"path": "Untitled.ipynb"})
    assert (alices.status, bobs.status) == (201, 201)
    assert alices.json["session_id"] != bobs.json["session_id"]


@pytest.fixture
def secured_livy(start_local_livy):
    return start_local_livy("--spark", "off", basic_auth=("analyst", "Owner-Pass-456"))


async def test_reconnect_endpoints_and_bindings_belong_to_their_user(as_user, secured_livy):
    alice, bob = as_user("alice"), as_user("bob")
    bobs = await bob.post("attachments", {"path": "shared.ipynb"})
    assert bobs.status == 201 and bobs.json["session"]["endpoint"] == "test"
    credentials = {"username": "analyst", "password": "Owner-Pass-456"}
    body = {"path": "shared.ipynb", "endpoint": secured_livy.url, **credentials}
    reply = await alice.request("POST", "reconnectsparkmagic", api=False, body=body)
    assert reply.status == 200, reply.json
    alices_endpoint = reply.json["endpoint"]
    assert alices_endpoint == f"alice:analyst@{secured_livy.url}"

    # Bob's notebook at the same path keeps its attachment and its endpoint.
    listed = await bob.get("attachments", params={"path": "shared.ipynb"})
    assert [a["id"] for a in listed.json["attachments"]] == [bobs.json["id"]]
    again = await bob.post("attachments", {"path": "shared.ipynb"})
    assert again.status == 200 and again.json["session_id"] == bobs.json["session_id"]

    # Alice's endpoint holds her credentials: bob neither sees it nor uses it.
    names = {e["name"] for e in (await bob.get("endpoints")).json["endpoints"]}
    assert alices_endpoint not in names and "test" in names
    assert alices_endpoint in {e["name"] for e in (await alice.get("endpoints")).json["endpoints"]}
    for refused in (
        await bob.post("attachments", {"path": "x.ipynb", "endpoint": alices_endpoint}),
        await bob.post("sessions", {"endpoint": alices_endpoint}),
    ):
        assert refused.status == 403 and refused.json["reason"] == "endpoint_forbidden"
    # Reconnecting to the same URL without credentials does not borrow hers: Livy answers 401.
    anonymous = {**body, "username": "", "password": "", "path": "b.ipynb"}
    borrowed = await bob.request("POST", "reconnectsparkmagic", api=False, body=anonymous)
    assert borrowed.status == 502 and "401" in borrowed.json["error"]


async def _next_broker_event(socket, schema_id: str = SESSION_ACTION) -> dict:
    """The next event of this schema on an /api/events/subscribe socket."""
    while True:
        message = json.loads(await asyncio.wait_for(socket.read_message(), 30))
        if message["schema_id"] == schema_id:
            return message


async def test_event_subscribers_see_only_their_own_sessions_events_and_admins_all(
    as_user, jp_ws_fetch
):
    def subscribe(name: str):
        return jp_ws_fetch("api", "events", "subscribe", headers={"Authorization": f"token {name}"})

    alice_socket, bob_socket, admin_socket = (
        await subscribe("alice"),
        await subscribe("bob"),
        await subscribe("root-admin"),
    )
    # Each socket first says whom it serves: JupyterLab's panel refreshes once on it.
    for socket, name, admin in (
        (alice_socket, "alice", False),
        (bob_socket, "bob", False),
        (admin_socket, "root-admin", True),
    ):
        hello = await _next_broker_event(socket, SUBSCRIBED)
        assert (hello["schema_id"], hello["user"], hello["admin"]) == (SUBSCRIBED, name, admin)

    alices = (await as_user("alice").post("sessions", {})).json
    bobs = (await as_user("bob").post("sessions", {})).json
    for socket in (alice_socket, admin_socket):
        event = await _next_broker_event(socket)
        assert (event["action"], event["session_id"]) == ("created", alices["id"])
    # Bob's socket gets none of alice's events (state changes included), only his own; a socket
    # keeps the order of the bus, so by his "created" alice's events would have come.
    while True:
        event = json.loads(await asyncio.wait_for(bob_socket.read_message(), 30))
        if event["schema_id"].startswith(BASE_ID) and event["schema_id"] != SUBSCRIBED:
            assert (event["owner"], event["session_id"]) == ("bob", bobs["id"]), event
            if event.get("action") == "created":
                break
    assert (await _next_broker_event(admin_socket))["session_id"] == bobs["id"]
    for socket in (alice_socket, bob_socket, admin_socket):
        socket.close()


async def test_an_endpoint_added_through_the_api_belongs_to_its_user(as_user, secured_livy):
    alice, bob = as_user("alice"), as_user("bob")
    body = {"url": secured_livy.url, "username": "analyst", "password": "Owner-Pass-456"}
    unnamed = await alice.post("endpoints", body)
    assert unnamed.status == 201 and unnamed.json["name"] == f"alice:analyst@{secured_livy.url}"
    named = await alice.post("endpoints", {**body, "name": "alices-livy"})
    assert named.status == 201
    assert "alices-livy" not in {e["name"] for e in (await bob.get("endpoints")).json["endpoints"]}
    for refused in (
        await bob.post("endpoints", {"url": secured_livy.url, "name": "alices-livy"}),
        await bob.post("attachments", {"path": "b.ipynb", "endpoint": "alices-livy"}),
        await bob.delete("endpoints/alices-livy"),
    ):
        assert refused.status == 403, refused.json
    attached = await alice.post("attachments", {"path": "a.ipynb", "endpoint": "alices-livy"})
    assert attached.status == 201 and attached.json["session"]["endpoint"] == "alices-livy"
    assert (await as_user("root-admin").delete("endpoints/alices-livy")).status == 204


async def test_a_name_in_another_users_namespace_is_refused(as_user, secured_livy):
    """Taken first by bob, ``alice:…`` made alice's own reconnect a 403 (issue 20, item 9)."""
    alice, bob = as_user("alice"), as_user("bob")
    hers = f"alice:analyst@{secured_livy.url}"
    for name in (hers, f"alice:{secured_livy.url}", "alice:my-livy"):
        refused = await bob.post("endpoints", {"url": secured_livy.url, "name": name})
        assert refused.status == 403 and refused.json["reason"] == "endpoint_forbidden", name
        assert "'alice:' is another user's" in refused.json["message"]
    # Bob's own prefix, and names without one (a URL's scheme is none), stay his to take.
    for name in ("bob:my-livy", secured_livy.url, "bobs-livy"):
        assert (await bob.post("endpoints", {"url": secured_livy.url, "name": name})).status == 201

    credentials = {"username": "analyst", "password": "Owner-Pass-456"}
    body = {"path": "a.ipynb", "endpoint": secured_livy.url, **credentials}
    reply = await alice.request("POST", "reconnectsparkmagic", api=False, body=body)
    assert reply.status == 200 and reply.json["endpoint"] == hers, reply.json


async def test_another_users_session_is_a_403_before_anything_else_about_it(as_user):
    """Unfixed, a Connect URL of alice's Livy session told bob 409 ``not_connect`` (item 10)."""
    alices = (await as_user("alice").post("sessions", {})).json["id"]
    bob = as_user("bob")
    for path in (
        f"sessions/{alices}/connect",
        f"sessions/{alices}",
        f"sessions/{alices}/log",
        f"sessions/{alices}/statements/1",
    ):
        reply = await bob.get(path)
        assert (reply.status, reply.json["reason"]) == (403, "forbidden"), (path, reply.json)
    for path, body in (
        (f"sessions/{alices}/statements", {"code": "1"}),
        (f"sessions/{alices}/completion", {"code": "sp", "cursor": 2}),
        ("attachments", {"path": "b.ipynb", "session": alices}),
    ):
        reply = await bob.post(path, body)
        assert (reply.status, reply.json["reason"]) == (403, "forbidden"), (path, reply.json)


async def test_metrics_name_no_users_run_time_endpoint(as_user, livy_url):
    """/metrics is read by more than one user: a run-time endpoint is ``runtime`` there, never its
    name, which holds its user and URL (issue 20, item 10)."""
    alice = as_user("alice")
    added = await alice.post("endpoints", {"url": livy_url, "name": "alices-secret-livy"})
    assert added.status == 201
    attached = await alice.post(
        "attachments", {"path": "m.ipynb", "endpoint": "alices-secret-livy"}
    )
    assert attached.status == 201
    session_id = attached.json["session_id"]
    ran = await alice.post(f"sessions/{session_id}/statements", {"code": "1"}, params={"wait": 60})
    assert ran.json["state"] == "available", ran.json
    reconnected = await alice.request(
        "POST",
        "reconnectsparkmagic",
        api=False,
        body={"path": "r.ipynb", "endpoint": livy_url.replace("127.0.0.1", "localhost"),
              "username": "", "password": ""},
    )  # fmt: skip
    assert reconnected.status == 200, reconnected.json

    samples = await scrape(as_user("root-admin"))
    endpoints = {dict(labels).get("endpoint") for _, labels in samples} - {None}
    assert "runtime" in endpoints and not any("alice" in e for e in endpoints), endpoints
    attaches = value(
        samples, "spark_broker_attaches_total", endpoint="runtime", profile="default",
        result="new_session", protocol="livy",
    )  # fmt: skip
    assert attaches >= 2


async def test_two_users_runs_of_one_name_are_apart_and_only_its_owner_beats_or_ends_one(as_user):
    alice, bob = as_user("alice"), as_user("bob")
    body = {"path": "reports/daily.ipynb", "run": "nightly"}
    alices, bobs = await alice.post("attachments", body), await bob.post("attachments", body)
    assert (alices.status, bobs.status) == (201, 201)
    assert alices.json["session_id"] != bobs.json["session_id"]
    assert alices.json["beat_interval"] > 0 and alices.json["session"]["run"] == "nightly"

    refused = await bob.post(f"attachments/{alices.json['id']}/beat")
    assert refused.status == 403 and "another user" in refused.json["message"]
    assert (await bob.delete(f"attachments/{alices.json['id']}")).status == 403
    assert (await alice.post(f"attachments/{alices.json['id']}/beat")).status == 204

    assert (await alice.delete(f"attachments/{alices.json['id']}")).status == 204  # the run ends
    assert (await alice.get(f"sessions/{alices.json['session_id']}")).json["state"] == "killed"
    assert (await bob.get(f"sessions/{bobs.json['session_id']}")).json["state"] != "killed"
    assert (await alice.post(f"attachments/{alices.json['id']}/beat")).status == 404
