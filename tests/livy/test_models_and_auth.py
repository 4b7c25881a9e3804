"""Livy message models across Livy versions, and the authenticator plug-in point."""

from __future__ import annotations

import httpx
import pytest

from jupyter_spark_broker.livy import (
    AuthConfigError,
    Session,
    Statement,
    StatementOutput,
    build_auth,
)

LIVY_07_SESSION = {
    "id": 0,
    "name": None,
    "appId": "application_1_0001",
    "owner": "alice",
    "proxyUser": "alice",
    "state": "idle",
    "kind": "pyspark",
    "appInfo": {"driverLogUrl": "http://nm/logs", "sparkUiUrl": "http://rm/proxy/app"},
    "log": ["line"],
}
LIVY_08_SESSION = {
    **LIVY_07_SESSION,
    "ttl": None,
    "driverMemory": "1g",
    "driverCores": 0,
    "executorMemory": None,
    "executorCores": 0,
    "conf": {},
    "archives": [],
    "files": [],
    "heartbeatTimeoutInSecond": 60,
    "jars": [],
    "numExecutors": 0,
    "pyFiles": [],
    "queue": "default",
}
LIVY_09_SESSION = {
    **LIVY_08_SESSION,
    "idleTimeout": "30m",
    "appInfo": {**LIVY_07_SESSION["appInfo"], "executorLogUrls": None},
    "someFieldFromTheFuture": {"x": 1},
}


@pytest.mark.parametrize("shape", [LIVY_07_SESSION, LIVY_08_SESSION, LIVY_09_SESSION])
def test_session_reads_every_livy_version(shape):
    session = Session.model_validate(shape)
    assert session.app_id == "application_1_0001"
    assert session.app_info.spark_ui_url == "http://rm/proxy/app"
    assert session.is_ready and not session.is_finished
    assert session.heartbeat_timeout_in_second == shape.get("heartbeatTimeoutInSecond", 0)


def test_session_tolerates_nulls_livy_sends():
    session = Session.model_validate(
        {"id": 1, "state": "starting", "appInfo": None, "log": None, "conf": None}
    )
    assert session.is_starting and session.log == [] and session.conf == {}


def test_statement_shapes():
    waiting = Statement.model_validate(
        {"id": 0, "code": "1", "state": "waiting", "output": None, "progress": 0.0}
    )
    assert not waiting.is_finished
    failed = Statement.model_validate(
        {
            "id": 1,
            "code": "x",
            "state": "available",
            "progress": 1.0,
            "started": 1,
            "completed": 2,
            "output": {
                "status": "error",
                "execution_count": 1,
                "ename": "NameError",
                "evalue": "name 'x' is not defined",
                "traceback": ["a\n", "b\n"],
            },
        }
    )
    assert (
        failed.is_finished and failed.output.is_error and failed.output.traceback == ["a\n", "b\n"]
    )


def test_output_traceback_as_one_string_is_split_into_lines():
    output = StatementOutput.model_validate(
        {"status": "error", "traceback": "one\ntwo\n", "data": None}
    )
    assert output.traceback == ["one\n", "two\n"] and output.data == {}


def test_auth_none_and_basic():
    assert build_auth(None) is None
    assert build_auth("None", username="ignored") is None
    assert isinstance(build_auth("Basic_Access", username="u", password="p"), httpx.BasicAuth)
    with pytest.raises(AuthConfigError, match="username and a password"):
        build_auth("Basic_Access", username="u", password="")


class TokenAuth(httpx.Auth):
    def __init__(self, username: str, password: str, header: str = "X-Token"):
        self.header, self.token = header, password

    def auth_flow(self, request):
        request.headers[self.header] = self.token
        yield request


def test_custom_authenticator_by_dotted_path_and_by_name():
    made = build_auth(f"{__name__}.TokenAuth", password="t", options={"header": "X-Key"})
    assert isinstance(made, TokenAuth) and made.header == "X-Key"
    named = build_auth("Token", password="t", authenticators={"Token": f"{__name__}:TokenAuth"})
    assert isinstance(named, TokenAuth)


@pytest.mark.parametrize("name", ["Kerberoz", "no_such_module.Auth", f"{__name__}.Missing"])
def test_unknown_authenticators_are_clear_errors(name):
    with pytest.raises(AuthConfigError):
        build_auth(name)


def test_authenticator_must_return_httpx_auth():
    with pytest.raises(AuthConfigError, match="did not return an httpx.Auth"):
        build_auth("builtins.dict")
