"""Async client for Apache Livy's REST API (and Livy-compatible servers).

The names below load on first use (PEP 562): ``jupyter_spark_broker.livy.names`` stays importable by
the kernel side without httpx's client, pydantic models or Kerberos.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what __getattr__ below loads, for the type checker (``X as X``: re-exported)
    from .auth import AUTH_BASIC as AUTH_BASIC
    from .auth import AUTH_KERBEROS as AUTH_KERBEROS
    from .auth import AUTH_NONE as AUTH_NONE
    from .auth import AuthConfigError as AuthConfigError
    from .auth import build_auth as build_auth
    from .backoff import NO_RETRY as NO_RETRY
    from .backoff import PollBackoff as PollBackoff
    from .backoff import RetryPolicy as RetryPolicy
    from .client import LivyClient as LivyClient
    from .client import LivyTimeouts as LivyTimeouts
    from .client import livy_message as livy_message
    from .errors import LivyAuthFailed as LivyAuthFailed
    from .errors import LivyError as LivyError
    from .errors import LivyHTTPError as LivyHTTPError
    from .errors import LivyNotFound as LivyNotFound
    from .errors import LivyProtocolError as LivyProtocolError
    from .errors import LivyRejected as LivyRejected
    from .errors import LivyServerError as LivyServerError
    from .errors import LivyTimeout as LivyTimeout
    from .errors import LivyUnreachable as LivyUnreachable
    from .models import AppInfo as AppInfo
    from .models import CreateSessionRequest as CreateSessionRequest
    from .models import Session as Session
    from .models import SessionList as SessionList
    from .models import SessionLog as SessionLog
    from .models import SessionStateReply as SessionStateReply
    from .models import Statement as Statement
    from .models import StatementList as StatementList
    from .models import StatementOutput as StatementOutput

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


def __getattr__(name: str) -> Any:  # Any: whatever the name is; mypy reads the imports above
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
