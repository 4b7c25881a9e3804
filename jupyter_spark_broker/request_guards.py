"""Checks on what a request may ask for, beyond the shape pydantic checks: which auth a user may name
in ``/reconnectsparkmagic``, which Livy URLs they may point the broker at, and what a name or a path may
hold. Each refusal names the field, as every 400 of the broker does."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping

from .errors import Forbidden, InvalidRequest
from .livy.auth import AUTH_BASIC, AUTH_KERBEROS, AUTH_NONE

# What a request may name as ``auth``: never a dotted path, whose module code runs when imported.
BUILT_IN_AUTHS = (AUTH_NONE, AUTH_BASIC, AUTH_KERBEROS)

MAX_PATH_LENGTH = 1024  # a notebook path, relative to the server's root
MAX_NAME_LENGTH = 200  # share names, endpoint names, kernel and session ids
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def check_request_auth(auth: str, authenticators: Mapping[str, str]) -> None:
    allowed = [*BUILT_IN_AUTHS, *sorted(authenticators)]
    if auth not in allowed:
        raise InvalidRequest(
            f"auth: {auth!r} is not one of {', '.join(allowed)}", reason="invalid_field"
        )


def check_endpoint_url_allowed(url: str, patterns: Iterable[str]) -> None:
    """Forbidden unless ``url`` matches one of the ``allowed_endpoint_urls`` glob patterns."""
    if not any(fnmatch.fnmatchcase(url, pattern) for pattern in patterns):
        raise Forbidden(
            f"endpoint: {url} is not an allowed Livy URL on this server "
            "(SparkEndpoints.allowed_endpoint_urls)",
            reason="endpoint_url_not_allowed",
        )


def plain_text(value: str) -> str:
    """For pydantic validators: no control characters (NUL, newlines...) in names and paths."""
    if CONTROL_CHARACTERS.search(value):
        raise ValueError("must not hold control characters")
    return value
