"""Hostile and careless input through the broker's REST API: each a clear 4xx naming the problem, never a
500, and nothing stored or reflected that should not be."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest

from jupyter_spark_broker.broker.users import SERVER_OWNER
from tests.broker.conftest import restart_broker
from tests.broker.test_reconnect import body, reconnect

SECRET_PAGE = "TOP-SECRET-INTERNAL-PAGE"


@pytest.fixture
def other_service() -> Iterator[str]:
    """A loopback service that is not Livy: its pages must not come back through the broker."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self._answer()

        def do_POST(self):  # noqa: N802
            self._answer()

        def _answer(self):
            data = f"<html><body>{SECRET_PAGE}</body></html>".encode()
            self.send_response(400)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_reconnect_auth_is_only_a_known_name_never_a_dotted_path(api, livy_url):
    reply = await reconnect(api, body(livy_url, username="u", password="p", auth="os.system"))
    assert reply.status == 400
    assert "auth" in reply.json["error"] and "Basic_Access" in reply.json["error"]


async def test_a_failed_reconnect_changes_nothing(api, broker_app, livy_url, other_service):
    attached = await api.post("attachments", {"path": "nb/kept.ipynb"})
    assert attached.status == 201
    failed = await reconnect(
        api, body(other_service, path="nb/kept.ipynb", username="u", password="p")
    )
    assert failed.status >= 400
    assert SECRET_PAGE not in failed.body.decode()
    broker = broker_app.broker
    assert await broker.registry.binding(SERVER_OWNER, "nb/kept.ipynb") is None
    assert not [n for n in broker.endpoints.names() if other_service in n]
    assert not [n for n in await broker.registry.saved_endpoints() if other_service in n]
    again = await api.post("attachments", {"path": "nb/kept.ipynb"})
    assert again.status == 200 and again.json["session_id"] == attached.json["session_id"]


async def test_a_failed_reconnect_gives_a_replaced_endpoint_its_credentials_back(
    api, broker_app, start_local_livy
):
    livy = start_local_livy("--spark", "off")
    first = await reconnect(api, body(livy.url, path="nb/a.ipynb", username="u", password="old"))
    assert first.status == 200, first.json
    name = first.json["endpoint"]
    livy.stop()  # the next reconnect's new session cannot start
    failed = await reconnect(api, body(livy.url, path="nb/b.ipynb", username="u", password="new"))
    assert failed.status == 503
    broker = broker_app.broker
    assert broker.endpoints.settings_of(name).password_value() == "old"
    saved_owner, sealed = (await broker.registry.saved_endpoints())[name]
    assert broker.sealer.unseal(sealed)["password"] == "old"
    assert await broker.registry.binding(SERVER_OWNER, "nb/b.ipynb") is None


async def test_run_time_endpoints_can_be_deleted_by_their_owner(api, broker_app, livy_url):
    done = await reconnect(api, body(livy_url, path="nb/del.ipynb", username="u", password="p"))
    assert done.status == 200, done.json
    name = done.json["endpoint"]  # "u@http://...": slashes and all, so quoted whole
    assert (await api.delete(f"endpoints/{quote(name, safe='')}")).status == 204
    assert name not in broker_app.broker.endpoints.names()
    assert name not in await broker_app.broker.registry.saved_endpoints()
    assert (await api.delete("endpoints/test")).status == 409  # configured: the server's
    assert (await api.delete("endpoints/nothing-here")).status == 404


async def test_reconnect_urls_outside_allowed_endpoint_urls_are_refused(
    api, broker_app, livy_url, other_service
):
    await restart_broker(broker_app, allowed_endpoint_urls=[livy_url, "https://*.example.com*"])
    refused = await reconnect(api, body(other_service, username="u", password="p"))
    assert refused.status == 403 and refused.json["reason"] == "endpoint_url_not_allowed"
    done = await reconnect(api, body(livy_url, path="nb/ok.ipynb", username="u", password="p"))
    assert done.status == 200, done.json


async def test_credentials_inside_an_endpoint_url_are_refused(api, livy_url):
    with_secret = livy_url.replace("http://", "http://user:hunter2@")
    reply = await reconnect(api, body(with_secret))
    assert reply.status == 400
    assert "credentials" in reply.json["error"]
    assert "hunter2" not in reply.body.decode()
    listed = await api.get("endpoints")
    assert "hunter2" not in listed.body.decode()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"path": "a" * 100_000 + ".ipynb"}, "path"),
        ({"path": "bad\x00name.ipynb"}, "path"),
        ({"path": "ok.ipynb", "name": "x\x00y"}, "name"),
        ({"path": "ok.ipynb", "endpoint": "e" * 1000}, "endpoint"),
        ({"path": "ok.ipynb", "settings": {"numExecutors": "3"}}, "numExecutors"),
        ({"path": "ok.ipynb", "settings": {"driverCores": True}}, "driverCores"),
        ({"path": "ok.ipynb", "settings": {"executorCores": 10**12}}, "executorCores"),
        ({"path": "ok.ipynb", "settings": {"driverMemory": "lots"}}, 'a size such as "2g"'),
    ],
)
async def test_bad_names_paths_and_numbers_are_400_naming_the_field(api, payload, field):
    reply = await api.post("attachments", payload, validate=False)
    assert reply.status == 400, reply.json
    assert field in reply.json["message"]
    assert (await api.get("sessions")).json["total"] == 0  # nothing stored


async def test_a_cursor_must_be_a_json_integer(api):
    attached = await api.post("attachments", {"path": "c.ipynb"})
    session = attached.json["session_id"]
    for cursor in ("1", True):
        reply = await api.post(
            f"sessions/{session}/completion", {"code": "ab", "cursor": cursor}, validate=False
        )
        assert reply.status == 400 and "cursor" in reply.json["message"]


async def test_deep_nesting_and_odd_digits_are_4xx_not_500(api):
    deep = b'{"path": "d.ipynb", "settings": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert (await api.request("POST", "attachments", raw=deep, validate=False)).status == 400
    conf: dict = {}
    for _ in range(5000):
        conf = {"k": conf}
    deep_conf = '{"path": "d.ipynb", "settings": {"conf": ' + _dumps_deep(5000) + "}}"
    reply = await api.request("POST", "attachments", raw=deep_conf.encode(), validate=False)
    assert reply.status == 400
    attached = await api.post("attachments", {"path": "d.ipynb"})
    odd = await api.get(f"sessions/{attached.json['session_id']}/statements/²", validate=False)
    assert odd.status == 400


def _dumps_deep(depth: int) -> str:
    return '{"k": ' * depth + "1" + "}" * depth


async def test_a_404_names_no_other_users_endpoints(api, broker_app, livy_url):
    await broker_app.ensure_started()
    await broker_app.broker.put_endpoint(
        "bob:secret-cluster", _endpoint_config(livy_url), owner="bob"
    )
    reply = await api.post("attachments", {"path": "x.ipynb", "endpoint": "nope"})
    assert reply.status == 404
    assert "secret-cluster" not in reply.json["message"]


def _endpoint_config(url: str):
    from jupyter_spark_broker.broker.endpoints import EndpointConfig

    return EndpointConfig(url=url)


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
async def test_unknown_routes_under_the_api_answer_json_404(api, method):
    reply = await api.request(method, "no/such/route", validate=False)
    assert reply.status == 404
    assert reply.content_type.startswith("application/json")
    assert "no such route" in reply.json["message"]
    bare = await api.request("GET", "", validate=False)
    assert bare.status == 404 and bare.content_type.startswith("application/json")
