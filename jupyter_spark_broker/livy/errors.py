"""Typed errors of the Livy client: each one tells the caller what it can do next.

- ``LivyUnreachable``: nothing answered (connection refused, DNS, TLS handshake): retry later or fix the URL.
- ``LivyTimeout``: the server took too long to answer.
- ``LivyNotFound``: 404, the session or statement does not exist (any more).
- ``LivyRejected``: another 4xx: the request itself was refused (bad field, auth, CSRF, limits).
- ``LivyServerError``: 5xx: Livy failed while handling a valid request.
- ``LivyProtocolError``: a status or body the protocol does not allow for this call.
- ``LivyAuthFailed``: the client could not authenticate (no Kerberos ticket, Livy failed mutual auth).
"""

from __future__ import annotations


class LivyError(Exception):
    """Base of every error raised by :class:`~jupyter_spark_broker.livy.LivyClient`."""

    kind = "error"  # a short word for metrics and logs

    def __init__(self, message: str, *, url: str = "", method: str = "", path: str = ""):
        super().__init__(message)
        self.message = message
        self.url = url
        self.method = method
        self.path = path


class LivyUnreachable(LivyError):
    """No connection could be made to the Livy server."""

    kind = "unreachable"


class LivyTimeout(LivyError):
    """The Livy server accepted the connection but did not answer in time."""

    kind = "timeout"


class LivyHTTPError(LivyError):
    """Livy answered with a status the call did not expect."""

    def __init__(self, message: str, *, status: int, livy_message: str = "", **where: str):
        super().__init__(message, **where)
        self.status = status
        # The text Livy itself gave (its ``msg``, JSON-string body or HTML title), for display.
        self.livy_message = livy_message


class LivyNotFound(LivyHTTPError):
    """404: unknown session, or a statement Livy no longer retains."""

    kind = "not_found"


class LivyRejected(LivyHTTPError):
    """A 4xx other than 404: bad request, authentication, CSRF header, session limits."""

    kind = "rejected"


class LivyServerError(LivyHTTPError):
    """5xx from Livy (after any retries the call allowed)."""

    kind = "server_error"


class LivyProtocolError(LivyError):
    """A success status the call does not expect, or a body that is not the documented shape."""

    kind = "protocol"


class LivyAuthFailed(LivyError):
    """This side could not authenticate: no usable Kerberos credentials, or Livy failed to prove
    its own identity. Nothing was done in Livy."""

    kind = "auth_failed"
