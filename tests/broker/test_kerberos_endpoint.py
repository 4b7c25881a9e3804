"""The broker on a Kerberos-protected Livy (real MIT KDC): a configured endpoint with a keytab, and
sparkmagic's reconnect with ``auth: Kerberos`` and a ticket from kinit."""

from __future__ import annotations

import pytest

from tests.broker.test_reconnect import body, reconnect


@pytest.fixture
def broker_config(broker_config, kerberos_realm, kerberos_livy_url) -> dict:
    # By address, as behind a load balancer: hostname_override names the service principal's host.
    # The URL differs from the reconnect tests' too, which therefore get run-time endpoints.
    kerberized = {
        "url": kerberos_livy_url.replace("localhost", "127.0.0.1"),
        "auth": "Kerberos",
        "auth_options": {
            "keytab": str(kerberos_realm.user_keytab),
            "principal": kerberos_realm.user_principal,
            "hostname_override": "localhost",
        },
    }
    with_password = {
        "url": kerberized["url"],
        "auth": "Kerberos",
        "username": kerberos_realm.user_principal,
        "password": kerberos_realm.user_password,
        "auth_options": {"hostname_override": "localhost"},
    }
    endpoints = {"kerberized": kerberized, "kerberos-password": with_password}
    return {**broker_config, "endpoints": {**broker_config["endpoints"], **endpoints}}


async def run(api, session_id: str, code: str) -> dict:
    posted = await api.post(f"sessions/{session_id}/statements", {"code": code})
    assert posted.status == 201, posted.json
    done = await api.get(
        f"sessions/{session_id}/statements/{posted.json['id']}", params={"wait": 30}
    )
    return done.json


async def test_an_endpoint_with_a_keytab_runs_spark_sessions(api):
    attached = await api.post("attachments", {"path": "krb.ipynb", "endpoint": "kerberized"})
    assert attached.status == 201, attached.json
    session_id = attached.json["session_id"]
    assert (await run(api, session_id, "6 * 7"))["output"]["data"] == {"text/plain": "42"}
    killed = await api.delete(f"sessions/{session_id}")
    assert killed.status == 204


async def test_a_kerberos_password_works_and_never_shows(api, kerberos_realm, caplog):
    caplog.set_level("DEBUG")
    attached = await api.post("attachments", {"path": "pw.ipynb", "endpoint": "kerberos-password"})
    assert attached.status == 201, attached.json
    done = await run(api, attached.json["session_id"], "'ok'")
    assert done["output"]["data"] == {"text/plain": "'ok'"}
    endpoints = await api.get("endpoints")
    for text in (endpoints.body.decode(), str(attached.json), str(done), caplog.text):
        assert kerberos_realm.user_password not in text


async def test_reconnect_with_kerberos_uses_the_servers_ticket(
    api, kerberos_realm, kerberos_livy_url, tmp_path, monkeypatch
):
    ticket_cache = tmp_path / "ccache"
    kerberos_realm.kinit(ticket_cache)  # as the user the Jupyter server runs as would
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{ticket_cache}")
    reply = await reconnect(api, body(kerberos_livy_url, auth="Kerberos", path="nb/krb.ipynb"))
    assert reply.status == 200, reply.json
    endpoints = {e["name"]: e for e in (await api.get("endpoints")).json["endpoints"]}
    assert endpoints[reply.json["endpoint"]]["auth"] == "Kerberos"
    assert endpoints[reply.json["endpoint"]]["source"] == "reconnect"
    assert (await run(api, reply.json["session_id"], "'kerberos'"))["output"]["data"] == {
        "text/plain": "'kerberos'"
    }


async def test_reconnect_without_a_ticket_is_a_502_that_says_kinit(
    api, kerberos_livy_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path}/no-ticket")
    reply = await reconnect(api, body(kerberos_livy_url, auth="Kerberos", path="nb/none.ipynb"))
    assert reply.status == 502 and reply.json["success"] is False
    assert "Run kinit" in reply.json["error"]
    listed = await api.get("sessions", params={"path": "nb/none.ipynb", "state": "starting"})
    assert listed.json["sessions"] == []
