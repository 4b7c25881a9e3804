"""Executors' logs of the embedded Livy's sessions on a Spark standalone cluster, through the broker.

A session's driver lists its executors in its REST API (``/api/v1/applications/{app}/allexecutors``),
each with ``executorLogs``: links to the standalone worker's ``logPage`` on the worker's own host and
port, which a browser on another machine does not reach. The broker serves each at
``{session}/executors/{id}/{stdout|stderr}`` (``pages.py``), reading the worker's plain-text ``/log``
for that application and executor, and gives the driver's REST API those links instead, so the Spark
UI's Executors page leads there.

The driver runs its user's code, so its answer is the user's word: the broker takes from it only the
worker's scheme, host and port, and asks for the session's own application's log there, without any
credential.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from .links import page_base

LOG_TYPES = ("stdout", "stderr")
MAX_LOG_WINDOW = 10 * 2**20  # bytes of a log read at once
# The driver REST API's answers that list executors with their log links.
EXECUTORS_API = re.compile(r"^api/v1/applications/[^/]+/(?:all)?executors/?$")
_WORKER_LOG_PAGE = "/logPage/"


def executors_api(app_id: str) -> str:
    return f"api/v1/applications/{app_id}/allexecutors"


def worker_log_url(
    executors: Any, executor_id: str, log_type: str, app_id: str, **window: int
) -> str | None:
    """The standalone worker's raw log of one executor of ``app_id`` (``window``: the worker's
    ``offset`` and ``byteLength``), or None if the driver lists no such executor with a standalone
    worker's log link (the driver in local mode, YARN's or Kubernetes' logs)."""
    if not isinstance(executors, list):
        return None
    executor = next(
        (e for e in executors if isinstance(e, dict) and e.get("id") == executor_id), None
    )
    links = executor.get("executorLogs") if executor is not None else None
    link = links.get(log_type) if isinstance(links, dict) else None
    return _raw_log(link, app_id, executor_id, log_type, window)


def _raw_log(
    link: Any, app_id: str, executor_id: str, log_type: str, window: dict[str, int]
) -> str | None:
    """The worker's ``/log/`` for a standalone worker's ``logPage`` link of this very log."""
    if not isinstance(link, str) or log_type not in LOG_TYPES:
        return None
    parts = urlsplit(link)
    query = parse_qs(parts.query)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.path != _WORKER_LOG_PAGE
        or query.get("appId") != [app_id]
        or query.get("executorId") != [executor_id]
        or query.get("logType") != [log_type]
    ):
        return None
    asked = {"appId": app_id, "executorId": executor_id, "logType": log_type, **window}
    return f"{parts.scheme}://{parts.netloc}/log/?{urlencode(asked)}"


def with_broker_log_links(executors: Any, base_url: str, session_id: str, app_id: str) -> Any:
    """The driver's executor list with each log link the broker serves pointing at the broker."""
    if not isinstance(executors, list):
        return executors
    base = page_base(base_url, session_id) + "/executors"
    for executor in executors:
        links = executor.get("executorLogs") if isinstance(executor, dict) else None
        if not isinstance(links, dict):
            continue
        executor_id = str(executor.get("id"))
        executor["executorLogs"] = {
            log_type: (
                f"{base}/{executor_id}/{log_type}"
                if _raw_log(link, app_id, executor_id, log_type, {})
                else link
            )
            for log_type, link in links.items()
        }
    return executors
