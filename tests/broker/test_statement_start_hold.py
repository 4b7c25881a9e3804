"""A statement for a session still starting answers within its wait plus a small margin: held while the
session starts, then 409 ``session_starting`` with Retry-After (not queued; the client sends it again)."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest

HOLD = 1.0
MARGIN = 3.0  # a loaded test machine; the point is "not session_start_timeout (300 s)"
_SESSION_VIEW = re.compile(r"/sessions(/\d+(/state)?)?/?$")


class SlowStartTransport(httpx.AsyncHTTPTransport):
    """The real Livy's answers, with every idle session shown ``starting`` while ``holding``: a
    Spark session that takes minutes to start, without waiting minutes (a fault in the transport)."""

    holding = True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if not (
            self.holding and request.method == "GET" and _SESSION_VIEW.search(request.url.path)
        ):
            return response
        await response.aread()
        body = json.loads(response.content)
        for session in body.get("sessions", [body]):
            if session.get("state") == "idle":
                session["state"] = "starting"
        return httpx.Response(response.status_code, json=body)


@pytest.fixture
def broker_config(broker_config) -> dict:
    SlowStartTransport.holding = True
    return {
        **broker_config,
        "livy_transport_class": f"{__name__}.SlowStartTransport",
        "statement_start_hold": HOLD,
    }


async def _timed_post(api, path, body, **kwargs):
    started = time.monotonic()
    reply = await api.post(path, body, **kwargs)
    return reply, time.monotonic() - started


async def test_a_statement_for_a_starting_session_is_409_within_its_wait(api):
    attached = await api.post("attachments", {"path": "slow.ipynb"})
    assert attached.status == 201
    statements = f"sessions/{attached.json['session_id']}/statements"

    refused, took = await _timed_post(api, statements, {"code": "1"})
    assert refused.status == 409 and refused.json["reason"] == "session_starting"
    assert int(refused.headers["Retry-After"]) > 0
    assert took < HOLD + MARGIN

    refused, took = await _timed_post(api, statements, {"code": "1"}, params={"wait": 0.3})
    assert refused.status == 409
    assert took < 0.3 + MARGIN

    SlowStartTransport.holding = False  # the session is up: the same request now runs
    done = await api.post(statements, {"code": "6 * 7"}, params={"wait": 30})
    assert done.status == 201
    assert done.json["output"]["data"] == {"text/plain": "42"}
