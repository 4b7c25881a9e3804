"""``auth: Kerberos`` against a local Livy behind SPNEGO, with a real MIT KDC (tests/kerberos_realm.py).

The local Livy's side is the protocol check (livy-rest-protocol.md §6.3, checked with curl too); the
client's side is every way sparkmagic's users log in: kinit's ticket cache, a keytab, a password.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess

import httpx
import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web

from jupyter_spark_broker.livy import (
    AuthConfigError,
    CreateSessionRequest,
    LivyAuthFailed,
    LivyClient,
    LivyRejected,
    build_auth,
)
from jupyter_spark_broker.livy.kerberos import KerberosAuth


def kerberos_client(url: str, **options) -> LivyClient:
    credentials = {k: options.pop(k) for k in ("username", "password") if k in options}
    return LivyClient(url, auth=build_auth("Kerberos", options=options, **credentials))


async def owner_of_a_new_session(livy: LivyClient) -> str | None:
    """Whom Livy took the caller for: the owner of a session it creates (then deleted)."""
    session = await livy.create_session(CreateSessionRequest(kind="pyspark"))
    await livy.delete_session(session.id)
    return session.owner


async def test_without_a_token_livy_asks_to_negotiate(kerberos_livy_url):
    async with httpx.AsyncClient() as plain:
        reply = await plain.get(f"{kerberos_livy_url}/sessions")
        forged = await plain.get(
            f"{kerberos_livy_url}/sessions",
            headers={"Authorization": "Negotiate " + base64.b64encode(b"not a token").decode()},
        )
        bad_cookie = await plain.get(
            f"{kerberos_livy_url}/sessions",
            headers={"Cookie": 'hadoop.auth="u=alice&p=alice@JSB.TEST&t=kerberos&e=9&s=x"'},
        )
    assert reply.status_code == 401 and reply.headers["WWW-Authenticate"] == "Negotiate"
    assert forged.status_code == 403  # a token that does not check out: Hadoop's filter says 403
    assert bad_cookie.status_code == 401  # a bad cookie is ignored: negotiate again


async def test_keytab_login_runs_a_statement_as_the_user(
    kerberos_realm, kerberos_livy_url, tmp_path
):
    keytab = tmp_path / "alice.keytab"
    shutil.copy(kerberos_realm.user_keytab, keytab)
    livy = kerberos_client(
        kerberos_livy_url, keytab=str(keytab), principal=kerberos_realm.user_principal
    )
    async with livy:
        session = await livy.create_session(CreateSessionRequest(kind="pyspark"))
        try:
            assert session.owner == "alice"  # Livy's user is the principal's short name
            assert (await livy.wait_for_session(session.id, timeout=60)).is_ready
            # The hadoop.auth cookie carries on: with the keytab gone, no new token can be made.
            keytab.unlink()
            statement = await livy.run_statement(session.id, "1 + 1", timeout=30)
            assert statement.output.data == {"text/plain": "2"}
        finally:
            await livy.delete_session(session.id)


async def test_an_error_reply_still_carries_the_cookie_and_the_answer_token(
    kerberos_realm, kerberos_livy_url
):
    auth = build_auth(
        "Kerberos",
        options={
            "keytab": str(kerberos_realm.user_keytab),
            "principal": kerberos_realm.user_principal,
        },
    )
    async with httpx.AsyncClient(
        auth=auth
    ) as client:  # mutual authentication is checked on 2xx only
        reply = await client.get(f"{kerberos_livy_url}/sessions/424242")
    assert reply.status_code == 404 and reply.json() == {"msg": "Session '424242' not found."}
    assert "hadoop.auth" in reply.cookies
    assert reply.headers["WWW-Authenticate"].startswith("Negotiate ")


async def test_the_ticket_cache_kinit_fills_is_the_default(
    kerberos_realm, kerberos_livy_url, tmp_path, monkeypatch
):
    ticket_cache = tmp_path / "ccache"
    kerberos_realm.kinit(ticket_cache)
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{ticket_cache}")
    async with kerberos_client(kerberos_livy_url) as livy:
        assert await owner_of_a_new_session(livy) == "alice"
    # mutual_authentication as requests-kerberos spells it (1 = REQUIRED), and a cache named outright.
    monkeypatch.delenv("KRB5CCNAME")
    async with kerberos_client(
        kerberos_livy_url, ccache=f"FILE:{ticket_cache}", mutual_authentication=1
    ) as livy:
        assert await owner_of_a_new_session(livy) == "alice"


async def test_password_login(kerberos_realm, kerberos_livy_url):
    livy = kerberos_client(
        kerberos_livy_url,
        username=kerberos_realm.user_principal,
        password=kerberos_realm.user_password,
    )
    async with livy:
        assert await owner_of_a_new_session(livy) == "alice"


async def test_no_ticket_is_a_clear_error(kerberos_livy_url, tmp_path):
    async with kerberos_client(kerberos_livy_url, ccache=f"FILE:{tmp_path}/empty") as livy:
        with pytest.raises(LivyAuthFailed, match="Run kinit") as failed:
            await livy.create_session(CreateSessionRequest(kind="pyspark"))
    assert "HTTP@localhost" in failed.value.message


async def test_a_service_the_kdc_does_not_know_is_a_clear_error(kerberos_realm, kerberos_livy_url):
    livy = kerberos_client(
        kerberos_livy_url,
        keytab=str(kerberos_realm.user_keytab),
        hostname_override="elsewhere.example",
    )
    async with livy:
        with pytest.raises(LivyAuthFailed, match="HTTP@elsewhere.example"):
            await livy.list_sessions()


async def test_curl_negotiate_gets_through(kerberos_realm, kerberos_livy_url, tmp_path):
    """An SPNEGO client that is not ours: curl --negotiate, with a ticket from kinit."""
    ticket_cache = tmp_path / "ccache"
    kerberos_realm.kinit(ticket_cache)
    done = await asyncio.to_thread(
        subprocess.run,
        ["curl", "-sS", "--negotiate", "-u", ":", "-w", "\n%{http_code}", f"{kerberos_livy_url}/sessions"],
        env={**os.environ, "KRB5CCNAME": f"FILE:{ticket_cache}"},
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.stdout.rsplit("\n", 1)[-1] == "200", done.stderr
    assert '"sessions"' in done.stdout


class _SilentServer(tornado.web.RequestHandler):
    """Takes any Negotiate token and never answers with one: a server that cannot prove itself."""

    challenged = 0  # requests that came without a token

    def get(self) -> None:
        if not self.request.headers.get("Authorization", "").startswith("Negotiate "):
            _SilentServer.challenged += 1
            self.set_status(401)
            self.set_header("WWW-Authenticate", "Negotiate")
            return
        self.write({"version": "impostor"})


@pytest.fixture
def silent_server_url(jp_asyncio_loop):
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/version", _SilentServer)]))
    server.add_sockets(sockets)
    yield f"http://localhost:{sockets[0].getsockname()[1]}"
    server.stop()


async def test_mutual_authentication_is_required_by_default(kerberos_realm, silent_server_url):
    keytab = {"keytab": str(kerberos_realm.user_keytab), "principal": kerberos_realm.user_principal}
    async with kerberos_client(silent_server_url, **keytab) as livy:
        with pytest.raises(LivyAuthFailed, match="without proving its identity"):
            await livy.get_version()
    optional = kerberos_client(silent_server_url, mutual_authentication="OPTIONAL", **keytab)
    async with optional as livy:
        assert (await livy.get_version())["version"] == "impostor"


async def test_force_preemptive_sends_the_token_without_waiting_for_a_401(
    kerberos_realm, silent_server_url
):
    keytab = {"keytab": str(kerberos_realm.user_keytab), "principal": kerberos_realm.user_principal}
    challenged_before = _SilentServer.challenged
    eager = kerberos_client(
        silent_server_url, force_preemptive=True, mutual_authentication="DISABLED", **keytab
    )
    async with eager as livy:
        assert (await livy.get_version())["version"] == "impostor"
    assert _SilentServer.challenged == challenged_before


async def test_without_kerberos_auth_the_401_names_the_fix(kerberos_livy_url):
    async with LivyClient(kerberos_livy_url) as livy:
        with pytest.raises(LivyRejected, match="auth type and credentials") as refused:
            await livy.list_sessions()
    assert refused.value.status == 401


def test_kerberos_options_are_checked_when_the_endpoint_is_built():
    assert isinstance(build_auth("Kerberos"), KerberosAuth)
    with pytest.raises(AuthConfigError, match="mutual_authentication"):
        build_auth("Kerberos", options={"mutual_authentication": "SOMETIMES"})
    with pytest.raises(AuthConfigError, match="no_such_option"):
        build_auth("Kerberos", options={"no_such_option": True})
    with pytest.raises(AuthConfigError, match="needs the username"):
        build_auth("Kerberos", password="secret")
    assert "secret" not in repr(build_auth("Kerberos", username="u@R", password="secret"))
