"""Domain errors raised by the broker. The handlers map each to one HTTP status, in one place."""

from __future__ import annotations


class BrokerError(Exception):
    """Base of the broker's errors: ``message`` is for a person, ``reason`` a short machine word."""

    status = 500
    reason = "error"

    def __init__(self, message: str, *, reason: str | None = None):
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class InvalidRequest(BrokerError):
    status = 400
    reason = "invalid"


class Forbidden(BrokerError):
    status = 403
    reason = "forbidden"


class NotFound(BrokerError):
    status = 404
    reason = "not_found"


class Conflict(BrokerError):
    """The request is valid but the resource is not in a state to honour it."""

    status = 409
    reason = "conflict"


class SessionStarting(Conflict):
    """A statement for a session still starting, past the request's hold: retry after a while."""

    reason = "session_starting"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message, reason=self.reason)
        self.retry_after = retry_after


class LivyBadGateway(BrokerError):
    """Livy answered, but badly (5xx, an unexpected shape, or refused a request the broker built)."""

    status = 502
    reason = "livy_error"


class LivyUnavailable(BrokerError):
    """Livy could not be reached (or the embedded local Livy could not start)."""

    status = 503
    reason = "livy_unreachable"


class LivyTimedOut(BrokerError):
    status = 504
    reason = "livy_timeout"
