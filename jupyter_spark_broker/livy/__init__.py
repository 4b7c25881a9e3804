"""Async client for Apache Livy's REST API (and Livy-compatible servers)."""

from .auth import AUTH_BASIC, AUTH_KERBEROS, AUTH_NONE, AuthConfigError, build_auth
from .backoff import NO_RETRY, PollBackoff, RetryPolicy
from .client import LivyClient, LivyTimeouts, livy_message
from .errors import (
    LivyAuthFailed,
    LivyError,
    LivyHTTPError,
    LivyNotFound,
    LivyProtocolError,
    LivyRejected,
    LivyServerError,
    LivyTimeout,
    LivyUnreachable,
)
from .models import (
    AppInfo,
    CreateSessionRequest,
    Session,
    SessionList,
    SessionLog,
    SessionStateReply,
    Statement,
    StatementList,
    StatementOutput,
)

__all__ = [
    "AUTH_BASIC",
    "AUTH_KERBEROS",
    "AUTH_NONE",
    "AppInfo",
    "AuthConfigError",
    "LivyAuthFailed",
    "CreateSessionRequest",
    "LivyClient",
    "LivyError",
    "LivyHTTPError",
    "LivyNotFound",
    "LivyProtocolError",
    "LivyRejected",
    "LivyServerError",
    "LivyTimeout",
    "LivyTimeouts",
    "LivyUnreachable",
    "NO_RETRY",
    "PollBackoff",
    "RetryPolicy",
    "Session",
    "SessionList",
    "SessionLog",
    "SessionStateReply",
    "Statement",
    "StatementList",
    "StatementOutput",
    "build_auth",
    "livy_message",
]
