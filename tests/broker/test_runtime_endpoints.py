"""``POST spark-broker/api/endpoints`` (what ``%spark add`` sends): a user's own Livy endpoint, its
credentials kept on the server, under the guards of ``/reconnectsparkmagic``; ``DELETE`` removes it.
Every reply is checked against ``openapi.yaml``."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest

from tests.broker.conftest import restart_broker

PASSWORD = "Runtime-Endpoint-Pass-8841"


@pytest.fixture
def secured_livy(start_local_livy):
    return start_local_livy("--spark", "off", basic_auth=("analyst", PASSWORD))


async def run(api, session_id: str, code: str) -> dict:
    statement = await api.post(f"sessions/{session_id}/statements", {"code": code})
    assert statement.status == 201, statement.json
    done = await api.get(
        f"sessions/{session_id}/statements/{statement.json['id']}", params={"wait": 60}
    )
    return done.json["output"]


async def test_an_added_endpoint_with_credentials_serves_a_notebook_and_keeps_its_password(
    api, broker_app, secured_livy, jp_logging_stream, caplog
):
    caplog.set_level(logging.DEBUG)
    body = {"name": "team-livy", "url": secured_livy.url + "/", "username": "analyst"}
    added = await api.post("endpoints", {**body, "password": PASSWORD})
    assert added.status == 201, added.json
    assert added.json["name"] == "team-livy" and added.json["url"] == secured_livy.url
    assert added.json["auth"] == "Basic_Access" and added.json["username"] == "analyst"
    assert added.json["source"] == "api" and not added.json["default"]
    assert added.headers["Location"].endswith("/spark-broker/api/endpoints/team-livy")

    listed = await api.get("endpoints")
    assert "team-livy" in {e["name"] for e in listed.json["endpoints"]}
    attached = await api.post("attachments", {"path": "runtime/nb.ipynb", "endpoint": "team-livy"})
    assert attached.status == 201 and attached.json["session"]["endpoint"] == "team-livy"
    output = await run(api, attached.json["session_id"], "'through the added endpoint'")
    assert output["data"] == {"text/plain": "'through the added endpoint'"}

    # The same name again is the caller's to replace: 200, the new fields.
    replaced = await api.post("endpoints", {**body, "password": PASSWORD, "auth": "Basic_Access"})
    assert replaced.status == 200 and replaced.json["source"] == "api"

    # It survives a restart of the broker (sealed in the registry), its source too.
    await restart_broker(broker_app)
    again = {e["name"]: e for e in (await api.get("endpoints")).json["endpoints"]}
    assert again["team-livy"]["source"] == "api"
    output = await run(api, attached.json["session_id"], "'after a restart'")
    assert output["data"] == {"text/plain": "'after a restart'"}

    for reply in (added, listed, replaced):
        assert PASSWORD.encode() not in reply.body
    logged = jp_logging_stream.getvalue() + caplog.text
    assert logged and PASSWORD not in logged

    removed = await api.delete("endpoints/team-livy")
    assert removed.status == 204
    names = {e["name"] for e in (await api.get("endpoints")).json["endpoints"]}
    assert "team-livy" not in names
    gone = await api.post("attachments", {"path": "runtime/b.ipynb", "endpoint": "team-livy"})
    assert gone.status == 404 and gone.json["reason"] == "unknown_endpoint"


async def test_an_endpoint_without_a_name_is_named_as_reconnect_names_it(api, livy_url):
    anonymous = await api.post("endpoints", {"url": livy_url})
    assert anonymous.status == 201 and anonymous.json["name"] == livy_url
    assert anonymous.json["auth"] == "None" and anonymous.json["username"] is None
    named = await api.post("endpoints", {"url": livy_url, "username": "u", "auth": "None"})
    assert named.status == 201 and named.json["name"] == f"u@{livy_url}"
    assert (await api.delete(f"endpoints/{quote(named.json['name'], safe='')}")).status == 204


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"url": "http://u:p@127.0.0.1:1"}, 400, "must not hold credentials"),
        ({"url": "ftp://127.0.0.1:1"}, 400, "http:// or https://"),
        ({"url": "http://127.0.0.1:1", "auth": "os.system"}, 400, "'os.system' is not one of"),
        ({"url": "http://127.0.0.1:1", "name": "x" * 201}, 400, "name"),
        ({"url": "http://127.0.0.1:1", "name": "a\nb"}, 400, "control characters"),
        ({"url": "http://127.0.0.1:1", "name": "health"}, 400, "health"),
        ({"url": "http://127.0.0.1:1", "password": "p" * 4097}, 400, "password"),
        ({"url": "http://127.0.0.1:1", "verify": False}, 400, "verify"),
        ({"name": "x"}, 400, "url"),
        ({"url": "http://127.0.0.1:1", "name": "test"}, 409, "configured on the server"),
    ],
)
async def test_bad_endpoints_are_refused_with_the_field_named(api, body, status, fragment):
    reply = await api.post("endpoints", body)
    assert reply.status == status, reply.json
    assert fragment in reply.json["message"]
    assert b"pppp" not in reply.body  # a refused password is not echoed


@pytest.fixture
def broker_config(broker_config):
    return {**broker_config, "allowed_endpoint_urls": ["http://127.0.0.1:*"]}


async def test_only_allowed_urls_may_be_added(api):
    refused = await api.post("endpoints", {"url": "http://10.1.2.3:8998"})
    assert refused.status == 403 and refused.json["reason"] == "endpoint_url_not_allowed"
    assert (await api.post("endpoints", {"url": "http://127.0.0.1:8998"})).status == 201
