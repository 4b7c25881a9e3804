"""What the Livy client reports about its own traffic, for whoever keeps metrics.

The client knows nothing of Prometheus: it calls a :class:`LivyObserver` after each HTTP attempt and
each failed call, and the server side turns those calls into series (``jupyter_spark_broker.metrics``).
"""

from __future__ import annotations

from typing import Protocol

from .errors import LivyError

# Outcomes of one HTTP attempt: the label values an observer sees.
OK = "ok"  # a status the call expects
CLIENT_ERROR = "client_error"  # another 4xx
SERVER_ERROR = "server_error"  # 5xx
UNEXPECTED = "unexpected"  # a 1xx-3xx status the call does not expect
UNREACHABLE = "unreachable"  # no connection, or it broke
TIMEOUT = "timeout"
AUTH_FAILED = "auth_failed"  # this side could not authenticate (Kerberos)
ABORTED = "aborted"  # cancelled by the caller (a long-poll given up, a shutdown)


class LivyObserver(Protocol):
    def request_done(self, method: str, route: str, outcome: str, seconds: float) -> None:
        """One HTTP attempt ended (retries are attempts of their own)."""

    def call_failed(self, error: LivyError) -> None:
        """A client call raised ``error``: after its retries, or on a reply it could not read."""


def status_outcome(status: int, expected: tuple[int, ...]) -> str:
    if status in expected:
        return OK
    if status >= 500:
        return SERVER_ERROR
    if status >= 400:
        return CLIENT_ERROR
    return UNEXPECTED


def route_of(path: str) -> str:
    """``/sessions/7/statements/3`` -> ``/sessions/{session}/statements/{statement}``: one label value
    per kind of call, however many sessions there are."""
    parts = path.strip("/").split("/")
    for index in range(1, len(parts)):
        if parts[index - 1] == "sessions":
            parts[index] = "{session}"
        elif parts[index - 1] == "statements":
            parts[index] = "{statement}"
    return "/" + "/".join(parts)
