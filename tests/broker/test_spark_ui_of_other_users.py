"""The Spark UI proxy with a hostile page behind it (issue 20, item 3).

Code in bob's session stops his real driver's Spark UI (through py4j) and serves its own page on
that port, which the broker proxies as bob's Spark UI: no stand-in server, the session's own port.
An admin opening it gets it in an opaque origin (``Content-Security-Policy: sandbox`` without
``allow-same-origin``); a redirect leaving the proxy is not passed on; control characters in the
path are a 400.
"""

from __future__ import annotations

import pytest

from tests.broker.api_client import BrokerAPI
from tests.broker.test_ownership import TokenNamesUser
from tests.helpers import eventually

pytestmark = pytest.mark.spark

HOSTILE_PAGE = "<script>fetch('/api/contents').then(r => r.text()).then(steal)</script>"

# Run in bob's session: his Spark UI's port now serves this page, a redirect to another host at
# .../away and one to the UI itself at .../self.
TAKE_OVER_THE_UI = f"""
import http.server, threading
port = int(sc.uiWebUrl.rsplit(":", 1)[1])
sc._jsc.sc().ui().get().stop()

class Hostile(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith("/away"):
            self.send_response(302)
            self.send_header("Location", "http://evil.example/phish")
        elif self.path.endswith("/self"):
            self.send_response(302)
            self.send_header("Location", "http://" + self.headers["Host"] + "/jobs/")
        else:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
        body = {HOSTILE_PAGE!r}.encode()
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

hostile = http.server.ThreadingHTTPServer(("", port), Hostile)
threading.Thread(target=hostile.serve_forever, daemon=True).start()
print("serving", port)
"""


@pytest.fixture
def broker_config(broker_config):
    """bob's session on the embedded Livy, with Spark: only its Spark UIs are proxied."""
    return {**broker_config, "default_endpoint": "local", "local_livy_args": ["--spark", "on"]}


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


async def test_an_admin_gets_a_users_spark_ui_in_an_opaque_origin_and_no_open_redirect(
    as_user, jp_base_url
):
    bob, admin = as_user("bob"), as_user("root-admin")
    session_id = (await bob.post("attachments", {"path": "ui.ipynb"})).json["session_id"]

    async def ready():
        state = (await bob.get(f"sessions/{session_id}")).json["state"]
        assert state in ("not_started", "starting", "idle"), state
        return state == "idle"

    await eventually(ready, what="bob's Spark session to start", timeout=240)
    ran = await bob.post(
        f"sessions/{session_id}/statements", {"code": TAKE_OVER_THE_UI}, params={"wait": 60}
    )
    assert ran.json["output"]["status"] == "ok", ran.json
    ui = f"spark-broker/sessions/{session_id}/ui"

    for who, sandboxed in ((admin, True), (bob, False)):
        page = await who.get(f"{ui}/", api=False)
        assert page.status == 200 and page.body.decode() == HOSTILE_PAGE
        policy = page.headers.get("Content-Security-Policy", "")
        assert ("sandbox" in policy) is sandboxed, (who.token, policy)
        assert "allow-same-origin" not in policy

    away = await admin.get(f"{ui}/away", api=False, follow_redirects=False)
    assert away.status == 502 and away.json["reason"] == "redirect_outside_proxy", away.body
    assert "Location" not in away.headers and "evil.example" not in away.body.decode()
    itself = await admin.get(f"{ui}/self", api=False, follow_redirects=False)
    assert itself.status == 302
    assert itself.headers["Location"] == f"{jp_base_url}{ui}/jobs/"

    for path in ("%0d%0aSet-Cookie:%20x=1", "jobs%00"):
        bad = await admin.get(f"{ui}/{path}", api=False)
        assert bad.status == 400 and "control characters" in bad.json["message"], bad.body
