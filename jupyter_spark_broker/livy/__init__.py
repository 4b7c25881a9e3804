"""Async client for Apache Livy's REST API (and Livy-compatible servers).

The names below load on first use (PEP 562): ``jupyter_spark_broker.livy.names`` stays importable by
the kernel side without httpx's client, pydantic models or Kerberos.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    **dict.fromkeys(
        ("AUTH_BASIC", "AUTH_KERBEROS", "AUTH_NONE", "AuthConfigError", "build_auth"), "auth"
    ),
    **dict.fromkeys(("NO_RETRY", "PollBackoff", "RetryPolicy"), "backoff"),
    **dict.fromkeys(("LivyClient", "LivyTimeouts", "livy_message"), "client"),
    **dict.fromkeys(
        (
            "LivyAuthFailed",
            "LivyError",
            "LivyHTTPError",
            "LivyNotFound",
            "LivyProtocolError",
            "LivyRejected",
            "LivyServerError",
            "LivyTimeout",
            "LivyUnreachable",
        ),
        "errors",
    ),
    **dict.fromkeys(
        (
            "AppInfo",
            "CreateSessionRequest",
            "Session",
            "SessionList",
            "SessionLog",
            "SessionStateReply",
            "Statement",
            "StatementList",
            "StatementOutput",
        ),
        "models",
    ),
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
