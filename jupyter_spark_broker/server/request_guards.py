"""Checks on what a request may ask for, beyond the shape pydantic checks: which auth a user may name
in ``/reconnectsparkmagic``, and what a name or a path may hold. Each refusal names the field, as every
400 of the broker does. Which Livy URLs a user may point the broker at is the domain's
(``broker/endpoint_urls.py``)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..broker.errors import InvalidRequest
from ..livy.auth import AUTH_BASIC, AUTH_KERBEROS, AUTH_NONE

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


def check_id_length(name: str, value: str) -> None:
    """An id or name in a URL path is at most MAX_NAME_LENGTH characters: a longer one is a short
    400, not a 404 that echoes it whole."""
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidRequest(
            f"{name}: {len(value)} characters, more than the {MAX_NAME_LENGTH} an id may have",
            reason="invalid_field",
        )


def plain_text(value: str) -> str:
    """For pydantic validators: no control characters (NUL, newlines...) in names and paths."""
    if CONTROL_CHARACTERS.search(value):
        raise ValueError("must not hold control characters")
    return value
