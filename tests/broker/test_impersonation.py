"""``impersonate``: on a server of several users, each Spark session runs as its Jupyter user (Livy's
proxyUser), against a Kerberos Livy with impersonation on where the broker's principal is a superuser."""

from __future__ import annotations

import pytest

from jupyter_spark_broker.livy import LivyClient, build_auth
from tests.broker.api_client import BrokerAPI
from tests.broker.test_ownership import TokenNamesUser


@pytest.fixture(scope="module")
def impersonating_livy_url(kerberos_realm, start_local_livy) -> str:
    server = start_local_livy(
        "--spark", "off",
        "--auth-kerberos", kerberos_realm.service_principal,
        "--auth-kerberos-keytab", str(kerberos_realm.service_keytab),
        "--impersonation", "--superusers", "alice",  # alice: the broker's own principal
    )  # fmt: skip
    return server.url.replace("127.0.0.1", "localhost")


@pytest.fixture
def broker_keytab(kerberos_realm) -> dict:
    return {"keytab": str(kerberos_realm.user_keytab), "principal": kerberos_realm.user_principal}


@pytest.fixture
def broker_config(broker_config, impersonating_livy_url, broker_keytab) -> dict:
    endpoint = {"url": impersonating_livy_url, "auth": "Kerberos", "auth_options": broker_keytab}
    return {
        **broker_config,
        "endpoints": {**broker_config["endpoints"], "cluster": endpoint},
        "default_endpoint": "cluster",
        "admin_users": ["ops"],
        "impersonate": True,
    }


@pytest.fixture
def jp_server_config(jp_server_config):
    return {
        **jp_server_config,
        "ServerApp": {
            **jp_server_config["ServerApp"],
            "identity_provider_class": f"{TokenNamesUser.__module__}.TokenNamesUser",
        },
    }


@pytest.fixture
def as_user(http_server_client, jp_base_url):
    return lambda name: BrokerAPI(http_server_client, jp_base_url, name)


async def livy_proxy_user(url: str, keytab: dict, livy_id: int) -> str | None:
    async with LivyClient(url, auth=build_auth("Kerberos", options=keytab)) as livy:
        return (await livy.get_session(livy_id)).proxy_user


async def test_sessions_run_as_their_jupyter_user(as_user, impersonating_livy_url, broker_keytab):
    carol, ops = as_user("carol"), as_user("ops")
    attached = await carol.post("attachments", {"path": "c.ipynb"})
    assert attached.status == 201, attached.json
    session = attached.json["session"]
    assert session["settings"]["proxy_user"] == "carol"
    livy_id = session["livy_id"]
    assert await livy_proxy_user(impersonating_livy_url, broker_keytab, livy_id) == "carol"

    refused = await carol.post(
        "attachments", {"path": "d.ipynb", "settings": {"proxyUser": "dave"}}
    )
    assert refused.status == 403 and refused.json["reason"] == "proxy_user_forbidden"
    assert (await carol.get("sessions")).json["total"] == 1  # nothing was created for it

    # Naming oneself is allowed; an admin may name anyone.
    own = await carol.post("sessions", {"settings": {"proxyUser": "carol"}})
    assert own.status == 201 and own.json["settings"]["proxy_user"] == "carol"
    chosen = await ops.post("sessions", {"settings": {"proxyUser": "dave"}})
    assert chosen.status == 201, chosen.json
    assert (
        await livy_proxy_user(impersonating_livy_url, broker_keytab, chosen.json["livy_id"])
        == "dave"
    )
