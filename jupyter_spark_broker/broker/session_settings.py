"""A new session's Livy settings: the layers they come from, and the registry columns Livy's view sets."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..livy import CreateSessionRequest, Session
from ..livy_local.config import DEFAULT_BLACKLISTED_CONF
from ..support.json_types import JSONObject
from .errors import Forbidden, InvalidRequest

if TYPE_CHECKING:
    from ..registry.records import SessionFields

# Every Livy session the broker makes is named this plus its broker id: unique and never reused, so the
# broker finds its sessions by name, never by Livy's reusable integer ids.
LIVY_NAME_PREFIX = "jsb-"


def livy_name_of(broker_id: str) -> str:
    return LIVY_NAME_PREFIX + broker_id


def broker_id_in(livy_name: str | None) -> str | None:
    """The broker id in a Livy session's name, or None for a session the broker did not name."""
    if livy_name and livy_name.startswith(LIVY_NAME_PREFIX):
        return livy_name[len(LIVY_NAME_PREFIX) :]
    return None


# The end of a failed session's log kept as its message: enough for "Invalid maximum heap size"
# and the error after it, short enough for a kernel's one-line report.
FAILURE_LOG_LINES = 4
FAILED_STATES = ("error", "shutting_down", "dead")
FAILURE_MESSAGE_LENGTH = 600


def livy_view(session: Session) -> SessionFields:
    """The registry columns that follow Livy's view of a session."""
    return {
        "livy_id": session.id,
        "state": session.state,
        "app_id": session.app_id,
        "spark_ui_url": session.app_info.spark_ui_url,
        "driver_log_url": session.app_info.driver_log_url,
        "message": why_it_failed(session),
    }


def why_it_failed(session: Session) -> str | None:
    """For a session Livy reports failed (``error``, then ``shutting_down``, then ``dead``): the
    last lines of its log (Livy says why a session failed there only), so the API and the kernel
    can tell the user."""
    lines = [line.strip() for line in session.log if line.strip()]
    if session.state not in FAILED_STATES or not lines:
        return None
    text = " | ".join(lines[-FAILURE_LOG_LINES:])
    if len(text) > FAILURE_MESSAGE_LENGTH:
        text = "…" + text[-FAILURE_MESSAGE_LENGTH:]
    return f"the end of its Livy log: {text}"


def check_settings_size(settings: JSONObject, limit: int) -> None:
    """Forbidden when a request's session settings take more than ``limit`` bytes as JSON (0: no
    limit): the registry row, every listing and Livy's command line would carry them, and a
    settings block of megabytes ends the driver with "Argument list too long"."""
    size = len(json.dumps(settings, ensure_ascii=False).encode())
    if limit and size > limit:
        raise Forbidden(
            f"session settings take {size} bytes, more than the {limit} allowed "
            "(SparkBroker.max_settings_bytes)",
            reason="settings_too_large",
        )


def check_request_conf(asked: JSONObject) -> None:
    """Forbidden when a request's own settings (``asked``, the API's or a ``%%configure``) set a
    conf key of Livy's default blacklist, admins included: where a session's driver runs and
    reaches its executors (``spark.master``) is the endpoint's and the profiles' to say. Apache
    Livy refuses them itself; the embedded Livy leaves it to the broker, so profiles may set them."""
    refused = sorted(DEFAULT_BLACKLISTED_CONF & set(asked.get("conf") or {}))
    if refused:
        raise Forbidden(
            f"conf key {refused[0]!r} may not be set by a request: it is set by the endpoint or "
            "the profile (pick a profile that sets it, or ask an administrator for one)",
            reason="over_limit",
        )


def fields_of(layer: JSONObject) -> JSONObject:
    """Session settings by the client's names, whichever spelling (Livy's or ours) they came in."""
    try:
        return CreateSessionRequest.model_validate(layer).model_dump(exclude_none=True)
    except ValueError as error:
        raise InvalidRequest(f"session settings: {error}") from None


def merge_session_settings(*layers: JSONObject) -> JSONObject:
    """Endpoint defaults, then broker defaults, then the request; ``conf`` merges key by key.

    Each layer may use Livy's names (driverMemory) or the client's (driver_memory).
    """
    merged: JSONObject = {}
    conf: dict[str, str] = {}
    for layer in layers:
        values = fields_of(layer)
        conf.update(values.pop("conf", {}))
        merged.update(values)
    if conf:
        merged["conf"] = conf
    return merged
