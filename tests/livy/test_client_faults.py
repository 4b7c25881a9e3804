"""Faults injected into the client's transport: what cannot be produced on demand by a real server.

Which calls are retried, which never are, and how a storm of errors ends.
"""

from __future__ import annotations

import json

import httpx
import pytest

from jupyter_spark_broker.livy import (
    CreateSessionRequest,
    LivyClient,
    LivyError,
    LivyNotFound,
    LivyProtocolError,
    LivyRejected,
    LivyServerError,
    LivyTimeout,
    LivyUnreachable,
    PollBackoff,
    RetryPolicy,
)

FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.005, budget=5.0)
SESSION = {"id": 3, "state": "idle", "kind": "pyspark"}


class ScriptedTransport(httpx.AsyncBaseTransport):
    """Answers each request with the next scripted step: an exception to raise or a response."""

    def __init__(self, *steps):
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        status, body = step
        if isinstance(body, str) and body.startswith("<"):
            return httpx.Response(status, text=body, headers={"Content-Type": "text/html"})
        return httpx.Response(status, json=body)


def client_with(transport, retry=FAST_RETRY) -> LivyClient:
    return LivyClient("http://livy.test:8998", transport=transport, retry=retry)


async def test_connect_errors_on_get_are_retried_and_succeed():
    transport = ScriptedTransport(
        httpx.ConnectError("refused"), httpx.ConnectError("refused"), (200, SESSION)
    )
    async with client_with(transport) as livy:
        assert (await livy.get_session(3)).state == "idle"
    assert len(transport.requests) == 3


async def test_503_on_get_is_retried_and_succeeds():
    transport = ScriptedTransport((503, {"msg": "busy"}), (200, SESSION))
    async with client_with(transport) as livy:
        assert (await livy.get_session(3)).id == 3
    assert len(transport.requests) == 2


async def test_503_on_create_session_is_not_resent():
    transport = ScriptedTransport((503, {"msg": "overloaded"}), (201, SESSION))
    async with client_with(transport) as livy:
        with pytest.raises(LivyServerError, match="503 to POST /sessions: overloaded") as raised:
            await livy.create_session(CreateSessionRequest(kind="pyspark"))
    assert raised.value.status == 503
    assert len(transport.requests) == 1  # a second POST could start a second Spark application


async def test_broken_connection_after_sending_a_create_is_not_resent():
    transport = ScriptedTransport(httpx.ReadError("connection reset"), (201, SESSION))
    async with client_with(transport) as livy:
        with pytest.raises(LivyUnreachable, match="during POST /sessions"):
            await livy.create_session()
    assert len(transport.requests) == 1


async def test_connect_error_on_create_is_retried_because_nothing_was_sent():
    transport = ScriptedTransport(httpx.ConnectError("refused"), (201, SESSION))
    async with client_with(transport) as livy:
        assert (await livy.create_session()).id == 3
    assert len(transport.requests) == 2


async def test_a_5xx_storm_ends_in_a_clear_error_after_the_attempts():
    transport = ScriptedTransport((502, "<html><title>Bad Gateway</title></html>"))
    async with client_with(transport) as livy:
        with pytest.raises(LivyServerError) as raised:
            await livy.list_sessions()
    assert len(transport.requests) == FAST_RETRY.max_attempts
    message = str(raised.value)
    assert "answered 502 to GET /sessions: Bad Gateway" in message
    assert f"gave up after {FAST_RETRY.max_attempts} attempts" in message


async def test_a_5xx_storm_stops_at_the_time_budget():
    # Many attempts allowed, but each wait is 50 ms and the budget 0.2 s: the budget ends it.
    policy = RetryPolicy(max_attempts=1000, base_delay=0.05, max_delay=0.05, budget=0.2)
    transport = ScriptedTransport((503, {"msg": "down"}))
    async with client_with(transport, retry=policy) as livy:
        with pytest.raises(LivyServerError, match="gave up after"):
            await livy.get_session(3)
    assert 1 < len(transport.requests) < 1000


async def test_500_is_not_retried():
    transport = ScriptedTransport(
        (500, "java.lang.IllegalStateException: Session is in state starting")
    )
    async with client_with(transport) as livy:
        with pytest.raises(LivyServerError, match="Session is in state starting"):
            await livy.get_statement(3, 0)
    assert len(transport.requests) == 1


async def test_unreachable_livy_gives_an_actionable_error():
    transport = ScriptedTransport(httpx.ConnectError("[Errno 111] Connection refused"))
    async with client_with(transport) as livy:
        with pytest.raises(LivyUnreachable) as raised:
            await livy.list_sessions()
    assert "cannot reach Livy at http://livy.test:8998" in str(raised.value)
    assert "is the server running" in str(raised.value)
    assert len(transport.requests) == FAST_RETRY.max_attempts


async def test_read_timeout_is_a_timeout_error_and_not_retried():
    transport = ScriptedTransport(httpx.ReadTimeout("slow"))
    async with client_with(transport) as livy:
        with pytest.raises(LivyTimeout, match="did not answer GET /sessions/3"):
            await livy.get_session(3)
    assert len(transport.requests) == 1


@pytest.mark.parametrize(
    ("status", "body", "error", "said"),
    [
        (404, {"msg": "Session '9' not found."}, LivyNotFound, "Session '9' not found."),
        (404, "Statement not found", LivyNotFound, "Statement not found"),
        (400, 'Unrecognized field "foo"', LivyRejected, 'Unrecognized field "foo"'),
        (
            400,
            "<html><head><title>Error 400 Missing Required Header for CSRF protection.</title>",
            LivyRejected,
            "Error 400 Missing Required Header for CSRF protection.",
        ),
        (
            401,
            "<html><title>Error 401 Unauthorized</title></html>",
            LivyRejected,
            "Error 401 Unauthorized",
        ),
        (400, {"message": "lighter says no"}, LivyRejected, "lighter says no"),
    ],
)
async def test_both_livy_error_shapes_and_html_are_read(status, body, error, said):
    async with client_with(ScriptedTransport((status, body))) as livy:
        with pytest.raises(error) as raised:
            await livy.get_statement(9, 1)
    assert raised.value.status == status
    assert raised.value.livy_message == said


async def test_unexpected_body_is_a_protocol_error():
    async with client_with(ScriptedTransport((200, {"id": "not-a-number"}))) as livy:
        with pytest.raises(LivyProtocolError, match="unexpected Session"):
            await livy.get_session(1)


async def test_unexpected_success_status_is_a_protocol_error():
    async with client_with(ScriptedTransport((200, SESSION))) as livy:
        with pytest.raises(LivyProtocolError, match="expected 201"):
            await livy.create_session()


async def test_headers_and_bodies_sent():
    transport = ScriptedTransport((201, SESSION))
    async with LivyClient(
        "http://livy.test:8998/", transport=transport, headers={"X-Team": "data"}
    ) as livy:
        await livy.create_session(
            CreateSessionRequest(kind="pyspark", driver_memory="1g", conf={"a": "b"})
        )
    request = transport.requests[0]
    assert request.headers["X-Requested-By"] == "jupyter-spark-broker"
    assert request.headers["X-Team"] == "data"
    assert request.headers["Content-Type"] == "application/json"
    # Only the fields that were set, by Livy's names: an older Livy refuses unknown fields.
    assert json.loads(request.content) == {
        "kind": "pyspark",
        "driverMemory": "1g",
        "conf": {"a": "b"},
    }


async def test_session_names_are_quoted_in_paths():
    transport = ScriptedTransport((200, SESSION))
    async with client_with(transport) as livy:
        await livy.get_session("my session/1")
    assert transport.requests[0].url.raw_path == b"/sessions/my%20session%2F1"


async def test_wait_for_statement_polls_until_finished():
    running = {"id": 0, "state": "running", "progress": 0.5}
    done = {
        "id": 0,
        "state": "available",
        "output": {"status": "ok", "execution_count": 0, "data": {"text/plain": "2"}},
    }
    transport = ScriptedTransport((200, running), (200, running), (200, done))
    async with LivyClient(
        "http://livy.test", transport=transport, poll=PollBackoff(first=0.001, ceiling=0.01)
    ) as livy:
        statement = await livy.wait_for_statement(3, 0)
    assert statement.output.data == {"text/plain": "2"}
    assert len(transport.requests) == 3


async def test_wait_for_statement_returns_the_last_state_when_time_runs_out():
    transport = ScriptedTransport((200, {"id": 0, "state": "running"}))
    async with LivyClient(
        "http://livy.test", transport=transport, poll=PollBackoff(first=0.01, ceiling=0.01)
    ) as livy:
        statement = await livy.wait_for_statement(3, 0, timeout=0.05)
    assert statement.state == "running" and not statement.is_finished


async def test_repr_never_shows_credentials():
    async with LivyClient("http://livy.test", auth=httpx.BasicAuth("bob", "hunter2")) as livy:
        assert "hunter2" not in repr(livy)


class RecordingObserver:
    """What a metrics layer would see: each HTTP attempt, and each call that failed."""

    def __init__(self):
        self.attempts: list[tuple[str, str, str]] = []
        self.failures: list[str] = []

    def request_done(self, method, route, outcome, seconds):
        assert seconds >= 0
        self.attempts.append((method, route, outcome))

    def call_failed(self, error):
        self.failures.append(error.kind)


async def test_the_observer_sees_every_attempt_and_the_final_error():
    observer = RecordingObserver()
    transport = ScriptedTransport(
        httpx.ConnectError("refused"), (503, {"msg": "busy"}), (200, SESSION), (503, {"msg": "x"})
    )
    livy = LivyClient("http://livy.test", transport=transport, retry=FAST_RETRY, observer=observer)
    async with livy:
        await livy.get_statement("my session", 4)  # refused, 503, then ok: three attempts
        with pytest.raises(LivyServerError):
            await livy.create_statement(3, "1")  # a 503 on a POST that creates: no retry
    route = "/sessions/{session}/statements/{statement}"
    assert observer.attempts == [
        ("GET", route, "unreachable"),
        ("GET", route, "server_error"),
        ("GET", route, "ok"),
        ("POST", "/sessions/{session}/statements", "server_error"),
    ]
    assert observer.failures == ["server_error"]  # the GET recovered: not a failed call


@pytest.mark.parametrize(
    ("step", "kind", "outcome"),
    [
        (httpx.ReadTimeout("slow"), "timeout", "timeout"),
        (httpx.ConnectError("refused"), "unreachable", "unreachable"),
        ((404, {"msg": "Session '3' not found."}), "not_found", "client_error"),
        ((400, "bad"), "rejected", "client_error"),
        ((200, {"id": "not-a-number"}), "protocol", "ok"),
    ],
)
async def test_the_observer_names_the_kind_of_failure(step, kind, outcome):
    observer = RecordingObserver()
    livy = LivyClient(
        "http://livy.test",
        transport=ScriptedTransport(step),
        retry=RetryPolicy(max_attempts=1),
        observer=observer,
    )
    async with livy:
        with pytest.raises(LivyError):
            await livy.get_session(3)
    assert observer.attempts == [("GET", "/sessions/{session}", outcome)]
    assert observer.failures == [kind]
