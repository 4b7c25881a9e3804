"""The pages a browser opens from a notebook's links (issue 11, item 6): the driver log as text,
served by the broker under the Jupyter server's login; the Spark UI proxy answers only for the
embedded Livy's sessions (the browser test opens a real one). Replies checked against openapi.yaml."""

from __future__ import annotations

import logging

import pytest

from jupyter_spark_broker.broker.users import SERVER_OWNER
from jupyter_spark_broker.server.pages import proxied_location


async def test_the_driver_log_link_is_a_text_page_of_the_broker(api, jp_base_url):
    attached = (await api.post("attachments", {"path": "logs.ipynb"})).json
    session_id = attached["session_id"]
    code = "import sys; print('to the driver log', file=sys.__stderr__, flush=True)"
    ran = await api.post(f"sessions/{session_id}/statements", {"code": code}, params={"wait": 60})
    assert ran.json["state"] == "available", ran.json

    session = (await api.get(f"sessions/{session_id}")).json
    link = f"{jp_base_url}spark-broker/sessions/{session_id}/log"
    assert session["driver_log_url"] == link  # not Livy's port, which a browser may not reach
    assert session["spark_ui_url"] is None  # no Spark on this endpoint

    page = await api.get(f"spark-broker/sessions/{session_id}/log", api=False)
    assert page.status == 200 and page.content_type.startswith("text/plain")
    assert "to the driver log" in page.body.decode()

    anonymous = await api.get(
        f"spark-broker/sessions/{session_id}/log", api=False, authenticated=False
    )
    assert anonymous.status == 403


async def test_the_spark_ui_proxy_serves_only_the_embedded_livys_sessions(api):
    session_id = (await api.post("attachments", {"path": "ui.ipynb"})).json["session_id"]
    reply = await api.get(f"spark-broker/sessions/{session_id}/ui/environment", api=False)
    assert reply.status == 404
    assert "has no Spark UI served here" in reply.json["message"]
    unknown = await api.get("spark-broker/sessions/nope/ui/jobs", api=False)
    assert unknown.status == 404 and "no Spark session 'nope'" in unknown.json["message"]


async def test_pages_of_an_ended_session_say_so_in_a_small_page(api, broker_app, caplog):
    session_id = (await api.post("attachments", {"path": "ended.ipynb"})).json["session_id"]
    broker = broker_app.broker
    record = await broker.get_session(SERVER_OWNER, session_id)
    await broker.kill(record, "stopped by <b>ops</b> & co", actor=SERVER_OWNER)
    caplog.clear()
    for page in ("log", "ui/", "ui/jobs"):
        reply = await api.get(f"spark-broker/sessions/{session_id}/{page}", api=False)
        assert reply.status == 410, (page, reply.body)
        assert reply.content_type == "text/html; charset=utf-8"
        text = reply.body.decode()
        assert f"<code>{session_id}</code> is <strong>killed</strong>" in text
        assert "stopped by &lt;b&gt;ops&lt;/b&gt; &amp; co" in text and "<b>ops" not in text
        assert ("Spark UI" if page.startswith("ui") else "driver log") in text
    # An ordinary outcome: info lines, no warning or error, no request headers dumped.
    server_lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert server_lines == [], [r.getMessage() for r in server_lines]
    lines = [r.getMessage() for r in caplog.records]
    assert any(f"ended Spark session {session_id} (killed)" in line for line in lines)
    assert not any("User-Agent" in line for line in lines)


UI = "http://127.0.0.1:4040"
PROXY = "/a%40b/spark-broker/sessions/s1/ui"


@pytest.mark.parametrize(
    ("location", "followed"),
    [
        (f"{UI}/jobs/", f"{PROXY}/jobs/"),  # the UI to itself
        (UI, f"{PROXY}/"),
        ("/jobs/", f"{PROXY}/jobs/"),  # a path of the UI's own
        (f"{PROXY}/environment/", f"{PROXY}/environment/"),  # already under the proxy
        ("stages/", f"{PROXY}/jobs/stages/"),  # relative to the page asked for
        ("?id=1", f"{PROXY}/jobs/job?id=1"),
        ("http://evil.example/", None),
        ("//evil.example/x", None),
        ("/\\evil.example", None),  # '\' is '/' to a browser
        ("https:evil.example", None),
        ("javascript:alert(1)", None),
        ("../../../api/contents", None),
        ("%2e%2e/%2e%2e/%2e%2e/api/contents", None),  # '..' to a browser
        (f"{UI}/../../api/contents", None),
        ("/jobs/\r\nSet-Cookie: x=1", None),
    ],
)
def test_a_spark_ui_redirect_is_followed_only_under_its_proxy(location, followed):
    """Issue 20, item 3: no redirect leaves the proxy (the browser test sees the real ones)."""
    assert proxied_location(location, UI, PROXY, f"{PROXY}/jobs/job") == followed
