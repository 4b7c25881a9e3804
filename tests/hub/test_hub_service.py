"""A JupyterHub site, for real: the Hub and its proxy, alice's, bob's and ops's single-user servers
with the broker on one PostgreSQL registry and one cluster Livy, and the broker's Hub service
(``jupyter-spark-broker hub-service``) as the Hub runs it. ops is a Hub admin and nobody's broker
admin in the servers' config; dana holds the admin scope through a role, as the docs tell.

The tests share one site (a Hub and its servers take a minute to start on a busy machine) and run
in this file's order: the sessions, the operators' view, a kill, then the reaper once every server
stopped.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from jupyter_spark_broker.kernel.client import BrokerClient, BrokerRefused
from jupyter_spark_broker.kernel.errors import SESSION_ENDED
from jupyter_spark_broker.kernel.settings import KernelSettings
from jupyter_spark_broker.server.replies import SessionList
from tests.hub.hub_site import PROXY, SERVICE, HubSite, until

pytest.importorskip("jupyterhub", reason="the test extra installs jupyterhub")
pytestmark = [
    pytest.mark.skipif(not PROXY.exists(), reason="configurable-http-proxy: scripts/setup.sh"),
    pytest.mark.timeout(1800),
]

API = f"services/{SERVICE}/api/sessions"
PAGE = f"services/{SERVICE}/"
# Short timers: the reaper and the state poller run every second; a session nobody is attached to
# is killed after 20 s. The same for the servers and the service (they read one config).
TIMERS = {"reap_interval": 1.0, "poll_interval": 1.0, "idle_timeout": 20.0, "server_timeout": 60.0}


@pytest.fixture(scope="module")
def site(start_local_livy, postgres_server):
    livy = start_local_livy("--spark", "off")  # the site's cluster Livy; sessions without Spark
    # Not under pytest's tmp_path: the servers' homes must be reachable as the spawner makes them.
    workdir = Path(tempfile.mkdtemp(prefix="jsb-hub-"))
    try:
        with HubSite(
            workdir,
            livy.url,
            postgres_server.new_database(),
            hub_admins=["ops"],
            operators=("dana",),
            broker_config=TIMERS,
        ) as hub:
            for user in ("alice", "bob", "ops", "dana", "carol"):
                hub.add_user(user)
                hub.start_server(user)
            yield hub
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def attach_in_a_kernel(hub: HubSite, user: str, notebook: str) -> dict:
    """A kernel in ``user``'s server, and its notebook's session (as the kernel attaches)."""
    kernel = hub.as_user(user, "POST", f"user/{user}/api/kernels", json={"name": "python3"})
    assert kernel.status_code == 201, kernel.text
    attached = hub.as_user(
        user,
        "POST",
        f"user/{user}/spark-broker/api/attachments",
        json={"path": notebook, "kernel_id": kernel.json()["id"]},
    )
    assert attached.status_code == 201, attached.text
    session = {**attached.json()["session"], "kernel_id": kernel.json()["id"]}
    assert session["owner"] == user
    until(
        lambda: session_in(hub, user, session["id"])["state"] == "idle",
        what=f"{user}'s session to start",
    )
    return session


def hub_session_fields(session: dict) -> dict:
    """A session reply without what differs between the service and a server: the browser links
    (a server's point at its own pages), the attachments (GET one only), the changing times."""
    skip = {"driver_log_url", "spark_ui_url", "attachments", "last_activity"}
    return {key: value for key, value in session.items() if key not in skip}


def session_in(hub: HubSite, user: str, session_id: str) -> dict:
    reply = hub.as_user(user, "GET", f"user/{user}/spark-broker/api/sessions/{session_id}")
    assert reply.status_code == 200, reply.text
    return reply.json()


@pytest.fixture(scope="module")
def sessions(site) -> dict[str, dict]:
    return {
        "alice": attach_in_a_kernel(site, "alice", "alice.ipynb"),
        "bob": attach_in_a_kernel(site, "bob", "bob.ipynb"),
        "carol": attach_in_a_kernel(site, "carol", "carol.ipynb"),
    }


def test_a_hub_admin_is_a_broker_admin_in_her_own_server(site, sessions):
    caller = site.as_user("ops", "GET", "user/ops/spark-broker/api/me")
    assert caller.status_code == 200, caller.text
    assert caller.json() == {"user": "ops", "admin": True}
    listed = site.as_user("ops", "GET", "user/ops/spark-broker/api/sessions").json()
    assert {s["id"] for s in listed["sessions"]} >= {s["id"] for s in sessions.values()}
    # alice is no admin: her server shows her her own sessions only
    assert site.as_user("alice", "GET", "user/alice/spark-broker/api/me").json()["admin"] is False
    mine = site.as_user("alice", "GET", "user/alice/spark-broker/api/sessions").json()
    assert {s["owner"] for s in mine["sessions"]} == {"alice"}


def test_a_holder_of_the_admin_scope_is_a_broker_admin_in_her_own_server(site, sessions):
    caller = site.as_user("dana", "GET", "user/dana/spark-broker/api/me")
    assert caller.status_code == 200, caller.text
    assert caller.json() == {"user": "dana", "admin": True}


def test_the_service_lists_every_users_sessions_for_an_admin(site, sessions):
    reply = site.as_user("ops", "GET", API, params={"live": "true"})
    assert reply.status_code == 200, reply.text
    listed = reply.json()
    assert set(listed) == {"sessions", "total", "limit", "offset"}
    SessionList.model_validate(listed)  # the servers' reply model
    by_id = {s["id"]: s for s in listed["sessions"]}
    for user, session in sessions.items():
        assert by_id[session["id"]]["owner"] == user
        assert by_id[session["id"]]["endpoint"] == "cluster"
        # as the user's own server shows it, but for the links (the server's own pages there)
        theirs = hub_session_fields(session_in(site, user, session["id"]))
        assert hub_session_fields(by_id[session["id"]]) == theirs
    page = site.as_user("ops", "GET", PAGE)
    assert page.status_code == 200, page.text
    for user, session in sessions.items():
        assert f'data-session="{session["id"]}"' in page.text
        assert f"{user}.ipynb" in page.text


def test_the_service_lets_a_holder_of_the_admin_scope_in(site, sessions):
    reply = site.as_user("dana", "GET", API, params={"live": "true"})
    assert reply.status_code == 200, reply.text
    assert {s["id"] for s in reply.json()["sessions"]} >= {s["id"] for s in sessions.values()}


def logged_in(site: HubSite, user: str) -> httpx.Client:
    """A browser logged in to the Hub as ``user`` (the DummyAuthenticator takes any password)."""
    browser = httpx.Client(base_url=site.url, follow_redirects=True, timeout=120)
    form = browser.get("/hub/login")
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form.text)
    assert form.status_code == 200 and xsrf is not None, form.text[:500]
    login = browser.post(
        "/hub/login", data={"username": user, "password": "any", "_xsrf": xsrf.group(1)}
    )
    assert login.status_code == 200, login.text[:500]
    return browser


def test_an_admins_browser_gets_the_page_through_the_hubs_oauth(site, sessions):
    with closing(logged_in(site, "ops")) as browser:
        page = browser.get(f"/{PAGE}")
        assert page.status_code == 200, page.text[:500]
        assert "Spark sessions of every user" in page.text
        assert f'data-session="{sessions["bob"]["id"]}"' in page.text
        # the browser's cookie alone does not kill through the API: no XSRF value with it
        refused = browser.delete(f"/{API}/{sessions['bob']['id']}")
        assert refused.status_code == 403
    assert session_in(site, "bob", sessions["bob"]["id"])["state"] == "idle"


def test_a_users_browser_is_refused_the_page(site, sessions):
    with closing(logged_in(site, "alice")) as browser:
        page = browser.get(f"/{PAGE}")
        # by the Hub's OAuth (no access to the service) or by the service: 403 either way
        assert page.status_code == 403, page.text[:500]
        assert sessions["bob"]["id"] not in page.text


def test_the_service_refuses_who_is_not_an_admin(site, sessions):
    for path in (API, PAGE):
        refused = site.as_user("alice", "GET", path)
        assert refused.status_code == 403, (path, refused.status_code, refused.text[:300])
    refused = site.as_user("alice", "DELETE", f"{API}/{sessions['bob']['id']}")
    assert refused.status_code == 403
    assert refused.json()["reason"] == "not_an_operator"
    unknown = site.as_user("ops", "DELETE", f"{API}/{'x' * 300}")
    assert unknown.status_code == 400 and unknown.json()["reason"] == "invalid_field"
    unknown = site.as_user("ops", "DELETE", f"{API}/no-such-session")
    assert unknown.status_code == 404 and unknown.json()["reason"] == "not_found"
    assert session_in(site, "bob", sessions["bob"]["id"])["state"] == "idle"


def test_an_admin_kills_bobs_session_through_the_service(site, sessions):
    bobs = sessions["bob"]["id"]
    killed = site.as_user("ops", "DELETE", f"{API}/{bobs}")
    assert killed.status_code == 204, killed.text
    # bob's server reads the registry: his session ended, and says who ended it
    ended = until(
        lambda: (s := session_in(site, "bob", bobs))["state"] == "killed" and s,
        what="bob's server to see his session killed",
    )
    assert "ops" in ended["message"]
    # his next cell is told so, by his kernel's own client (its magics show this message and
    # attach anew on the cell after)
    kernel = BrokerClient(
        KernelSettings(
            url=f"{site.url}/user/bob/",
            token=site.tokens["bob"],
            notebook_path="bob.ipynb",
            kernel_id=sessions["bob"]["kernel_id"],
            endpoint=None,
        )
    )
    with pytest.raises(BrokerRefused) as refused:
        kernel.submit(bobs, "1")
    kernel.close()
    assert refused.value.status == 409 and refused.value.reason in SESSION_ENDED
    assert "is killed: killed by ops" in str(refused.value)
    # and alice's session lives on
    assert session_in(site, "alice", sessions["alice"]["id"])["state"] == "idle"


def test_the_pages_kill_button_kills(site, sessions):
    own = attach_in_a_kernel(site, "ops", "ops.ipynb")
    page = site.as_user("ops", "GET", PAGE)
    assert f'action="/{PAGE}sessions/{own["id"]}/kill"' in page.text
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    assert xsrf is not None, page.text
    pressed = site.as_user(
        "ops",
        "POST",
        f"{PAGE}sessions/{own['id']}/kill",
        data={"_xsrf": xsrf.group(1)},
        cookies=page.cookies,
    )
    assert pressed.status_code == 302, pressed.text
    assert pressed.headers["Location"] == f"/{PAGE}"
    assert session_in(site, "ops", own["id"])["state"] == "killed"
    # without the page's XSRF value, no kill (a token in the header does not excuse a form)
    refused = site.as_user("ops", "POST", f"{PAGE}sessions/{sessions['alice']['id']}/kill")
    assert refused.status_code == 403
    assert session_in(site, "alice", sessions["alice"]["id"])["state"] == "idle"


def test_the_service_reaps_the_sessions_of_stopped_servers(site, sessions):
    # carol's server dies without a word (its machine went away): it just stops beating
    os.kill(site.server_process("carol"), signal.SIGKILL)
    for user in ("alice", "bob", "ops", "dana"):
        site.stop_server(user)  # as the Hub's idle culler does: the server says it stops
    site.stop_server("carol")  # the Hub notices

    def reaped(owner: str) -> dict | None:
        listed = site.as_user("ops", "GET", API).json()["sessions"]
        session = next(s for s in listed if s["id"] == sessions[owner]["id"])
        return session if session["state"] == "killed" else None

    # No single-user server is left to reap them: the service does, idle_timeout after alice's
    # server stopped, and after carol's was silent for server_timeout.
    for owner in ("alice", "carol"):
        session = until(
            lambda owner=owner: reaped(owner), what=f"the service to reap {owner}'s session"
        )
        assert session["message"].startswith("reaped"), session
