"""What a Livy failure means to the broker's callers: one translation, to the errors of :mod:`.errors`.

Unreachable -> 503, timed out -> 504, a 400 refusal of what the user asked -> 400, a forgotten session
-> 409 ``session_lost`` (the broker then marks it lost), anything else Livy did wrong -> 502.
"""

from __future__ import annotations

from ..livy import LivyError, LivyNotFound, LivyRejected, LivyTimeout, LivyUnreachable
from .errors import (
    BrokerError,
    Conflict,
    InvalidRequest,
    LivyBadGateway,
    LivyTimedOut,
    LivyUnavailable,
    NotFound,
)

SESSION_LOST = "session_lost"


def translate_livy_error(
    endpoint: str,
    error: LivyError,
    *,
    session_id: str | None = None,
    statement_id: int | None = None,
) -> BrokerError:
    """The broker error for ``error``, raised by a call to ``endpoint`` about a broker session (if
    ``session_id``) and one of its statements (if ``statement_id``)."""
    where = f"Livy endpoint {endpoint!r}"
    if isinstance(error, LivyUnreachable):
        return LivyUnavailable(f"{where} is unreachable: {error.message}. Check that Livy is up.")
    if isinstance(error, LivyTimeout):
        return LivyTimedOut(f"{where} timed out: {error.message}")
    if isinstance(error, LivyNotFound):
        if statement_id is not None and "Statement" in error.livy_message:
            return NotFound(f"no statement {statement_id} in Spark session {session_id!r}")
        if session_id is not None:
            return Conflict(f"Livy no longer has Spark session {session_id!r}", reason=SESSION_LOST)
        return NotFound(f"{where}: {error.livy_message}")
    if isinstance(error, LivyRejected) and error.status == 400:
        return InvalidRequest(
            f"{where} refused the request: {error.livy_message}", reason="livy_rejected"
        )
    return LivyBadGateway(f"{where} failed: {error.message}")
