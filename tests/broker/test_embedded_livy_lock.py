"""The embedded local Livy is locked: only the broker, which alone holds its per-launch secret, may use
it; a blind "simple" POST and a foreign Host are refused; the code it runs sees no Jupyter or broker
secret; its address is shown to admins only (everyone else reads driver logs through the broker)."""

from __future__ import annotations

import httpx
import pytest

from jupyter_spark_broker.livy_local.config import EMBEDDED_USER
from tests.broker.api_client import BrokerAPI
from tests.broker.test_ownership import TokenNamesUser


@pytest.fixture
def jp_server_config(jp_server_config):
    return {
        **jp_server_config,
        "ServerApp": {
            **jp_server_config["ServerApp"],
            "identity_provider_class": f"{TokenNamesUser.__module__}.TokenNamesUser",
        },
        "SparkBroker": {**jp_server_config.get("SparkBroker", {}), "admin_users": ["root-admin"]},
    }


@pytest.fixture
def as_user(http_server_client, jp_base_url):
    return lambda name: BrokerAPI(http_server_client, jp_base_url, name)


async def _run(api: BrokerAPI, session_id: str, code: str) -> str:
    statement = await api.post(f"sessions/{session_id}/statements", {"code": code})
    done = await api.get(
        f"sessions/{session_id}/statements/{statement.json['id']}", params={"wait": 60}
    )
    assert done.json["state"] == "available", done.json
    return done.json["output"]["data"]["text/plain"]


@pytest.fixture
def embedded(as_user, broker_app, jp_asyncio_loop):
    """A session of alice's on the embedded Livy, and that Livy's URL and secret."""
    attached = jp_asyncio_loop.run_until_complete(
        as_user("alice").post("attachments", {"path": "lock.ipynb", "endpoint": "local"})
    )
    assert attached.status == 201, attached.json
    local = broker_app.broker.endpoints._local
    return attached.json["session"], local.url, local.secret


async def test_the_embedded_livy_refuses_whoever_lacks_the_secret(embedded):
    _session, url, secret = embedded
    async with httpx.AsyncClient(base_url=url, timeout=10) as raw:
        assert (await raw.get("/sessions")).status_code == 401
        wrong = await raw.get("/sessions", auth=(EMBEDDED_USER, "not-the-secret"))
        assert wrong.status_code == 401
        made = await raw.post(
            "/sessions", json={"kind": "pyspark"}, headers={"X-Requested-By": "x"}
        )
        assert made.status_code == 401
        assert (await raw.get("/sessions", auth=(EMBEDDED_USER, secret))).status_code == 200


async def test_a_simple_post_without_the_csrf_header_is_refused(embedded):
    session, url, secret = embedded
    async with httpx.AsyncClient(base_url=url, timeout=10, auth=(EMBEDDED_USER, secret)) as raw:
        blind = await raw.post(
            f"/sessions/{session['livy_id']}/statements",
            content=b'{"code": "1"}',
            headers={"Content-Type": "text/plain"},
        )
        assert blind.status_code == 400
        assert "CSRF" in blind.text


async def test_a_foreign_host_is_refused(embedded):
    _session, url, secret = embedded
    async with httpx.AsyncClient(base_url=url, timeout=10, auth=(EMBEDDED_USER, secret)) as raw:
        rebound = await raw.get("/sessions", headers={"Host": "evil.example:8998"})
        assert rebound.status_code == 403
        assert (await raw.get("/sessions", headers={"Host": "localhost"})).status_code == 200


async def test_session_code_sees_no_broker_or_jupyter_secret(embedded, as_user):
    session, _url, secret = embedded
    names = (
        "sorted(k for k in os.environ if k in {'SPARK_BROKER_TOKEN', 'JUPYTER_TOKEN', "
        "'LIVY_LOCAL_AUTH_BASIC', 'JPY_API_TOKEN', 'JUPYTERHUB_API_TOKEN'})"
    )
    assert await _run(as_user("alice"), session["id"], f"import os; {names}") == "[]"
    # Not in the Livy server's own start-up environment either, which a session could read.
    parent_env = f"open(f'/proc/{{os.getppid()}}/environ', 'rb').read().count({secret.encode()!r})"
    assert await _run(as_user("alice"), session["id"], f"import os; {parent_env}") == "0"


async def test_only_admins_see_the_embedded_livy_address(embedded, as_user):
    session, url, _secret = embedded
    alice, admin = as_user("alice"), as_user("root-admin")

    listed = {e["name"]: e for e in (await alice.get("endpoints")).json["endpoints"]}
    assert listed["local"]["url"] is None
    seen = (await alice.get(f"sessions/{session['id']}")).json
    assert url not in str(seen)
    # The driver log through the broker's own page (links.py), never Livy's address.
    assert seen["driver_log_url"].endswith(f"spark-broker/sessions/{session['id']}/log")
    assert all(url not in str(s) for s in (await alice.get("sessions")).json["sessions"])

    admins = {e["name"]: e for e in (await admin.get("endpoints")).json["endpoints"]}
    assert admins["local"]["url"] == url
    seen_by_admin = (await admin.get(f"sessions/{session['id']}")).json
    assert seen_by_admin["driver_log_url"].endswith(f"spark-broker/sessions/{session['id']}/log")
