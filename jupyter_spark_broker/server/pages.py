"""Pages for the user's browser, served by the Jupyter server under its own login: a session's
driver log as text, the Spark UI of the embedded local Livy's sessions, proxied, and their executors'
logs on a Spark standalone cluster (``broker/executor_logs.py``).

The embedded Livy's Spark UIs listen on the server's loopback (``http://localhost:4040``), which no
browser on another machine reaches; the proxy serves them at
``{base_url}spark-broker/sessions/{id}/ui/``, and each such session is started with that path as
``spark.ui.proxyBase``, so Spark writes its links (and its JavaScript's API calls) under it. Sessions
of other endpoints keep Livy's own Spark UI link (on YARN, the resource manager's proxy). The broker's
Spark Connect servers are proxied the same way, one path per server, since a server hosts the sessions
of several notebooks: ``{base_url}spark-broker/connect-servers/{server}/ui/``.

What such a port serves is its user's: code in a session may stop its Spark UI and serve any page
there. So another user (an admin) gets it with a ``Content-Security-Policy: sandbox`` that gives it
an opaque origin: its scripts run, but without the Jupyter origin's cookies, XSRF token or API. A
redirect leaving the proxy path is not passed on (no open redirect), and a path with control
characters is a 400.
"""

from __future__ import annotations

import json
import logging
import posixpath
from collections.abc import Callable
from functools import partial
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urljoin, urlsplit

import httpx
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..broker.errors import Conflict, InvalidRequest, LivyBadGateway, LivyUnavailable, NotFound
from ..broker.executor_logs import (
    EXECUTORS_API,
    LOG_TYPES,
    MAX_LOG_WINDOW,
    executors_api,
    with_broker_log_links,
    worker_log_url,
)
from ..broker.links import CONNECT_PAGES, PAGES, connect_ui_base, page_base
from ..registry.registry import SessionRecord
from .handlers import BrokerHandler
from .request_guards import CONTROL_CHARACTERS

# Headers of the Spark UI's answers worth passing on to the browser.
_PASSED_ON = ("Content-Type", "Cache-Control", "Last-Modified", "ETag", "Expires")
# Another user's page runs in an opaque origin: scripts and forms work, the Jupyter origin's
# cookies, storage and same-origin API calls do not (no allow-same-origin).
FOREIGN_PAGE_SANDBOX = "sandbox allow-scripts allow-forms allow-popups"
# A path segment's characters (RFC 3986 pchar, and '/'): the rest is quoted again before the proxy
# passes the path on, as the browser sent it.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


class _BrokerPage(BrokerHandler):
    """A broker handler answering a browser: its own content types, and the page's scripts and
    styles allowed (an API handler forbids them all)."""

    _quiet = False  # the access log's line at info: an ended session's page is no warning
    what = "driver log"  # what the page is, as an ended session's page names it

    @property
    def content_security_policy(self) -> str:
        return super(APIHandler, self).content_security_policy  # JupyterHandler's, not APIHandler's

    # A LoggerAdapter where a Logger is declared: tornado and jupyter_server only log through it.
    @property
    def log(self) -> logging.Logger | logging.LoggerAdapter[logging.Logger]:  # type: ignore[override]
        return _InfoForWarnings(super().log) if self._quiet else super().log

    async def session_for_page(self, session_id: str) -> SessionRecord | None:
        """The session, or None once a page saying it ended has been answered."""
        record = await self.broker.get_session(self.user, session_id)
        if record.is_finished:
            self.answer_ended(record)
            return None
        return record

    def answer_ended(self, record: SessionRecord) -> None:
        """410 Gone, as a small page a person reads (a browser opened it from a notebook's link)."""
        what = self.what
        self.log.info(
            "spark broker: %s of ended Spark session %s (%s)", what, record.id, record.state
        )
        self._quiet = True
        why = f": {escape(record.message)}" if record.message else ""
        self.set_status(410)
        self.set_header("Cache-Control", "no-store")
        self.finish(
            _ENDED_PAGE.format(
                what=what, session=escape(record.id), state=escape(record.state), why=why
            ).encode("utf-8"),
            set_content_type="text/html; charset=utf-8",
        )


_ENDED_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Spark session ended</title></head>
<body><h1>This Spark session has ended</h1>
<p>Spark session <code>{session}</code> is <strong>{state}</strong>{why}.</p>
<p>Its {what} ended with it. Run a cell of the notebook to start a new session.</p>
</body></html>
"""


if TYPE_CHECKING:  # generic at run time from Python 3.11 on
    _LoggerAdapter = logging.LoggerAdapter[logging.Logger]
else:
    _LoggerAdapter = logging.LoggerAdapter


class _InfoForWarnings(_LoggerAdapter):
    """A logger whose warnings are info lines (jupyter_server logs every 4xx as a warning)."""

    def __init__(self, logger: logging.Logger):
        super().__init__(logger, {})

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.info(msg, *args, **kwargs)


class DriverLogPage(_BrokerPage):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        if await self.session_for_page(session_id) is None:
            return
        try:
            log = await self.broker.session_log(self.user, session_id, from_=0, size=-1)
        except Conflict as error:
            if error.reason != "session_finished":
                raise
            self.answer_ended(await self.broker.get_session(self.user, session_id))
            return
        text = "\n".join(log.log) + "\n"
        self.finish(text.encode("utf-8"), set_content_type="text/plain; charset=utf-8")


class _EmbeddedSessionPage(_BrokerPage):
    """A page of an embedded-Livy session's Spark driver (its UI, its executors' logs)."""

    def driver_ui(self, record: SessionRecord) -> tuple[str, str | None]:
        """The driver's UI URL and the Authorization its JWSFilter lets through."""
        if not (record.spark_ui_url and self.broker.endpoints.is_embedded(record.endpoint)):
            raise NotFound(
                f"Spark session {record.id!r} has no Spark UI served here (only the embedded "
                "Livy's are; other endpoints' links lead to their own)"
            )
        authorization = (
            self.broker.endpoints.spark_ui_authorization(record.livy_id)
            if record.livy_id is not None
            else None
        )
        return record.spark_ui_url.rstrip("/"), authorization


class SparkUIProxy(_EmbeddedSessionPage):
    what = "Spark UI"

    @web.authenticated
    @authorized
    async def get(self, session_id: str, path: str | None = None) -> None:
        record = await self.session_for_page(session_id)
        if record is None:
            return
        target, authorization = self.driver_ui(record)
        base = page_base(self.base_url, session_id) + "/ui"
        whose = f"of session {session_id!r}"
        relink = None
        if record.app_id and path and EXECUTORS_API.match(path):  # log links through the broker
            relink = partial(
                with_broker_log_links,
                base_url=self.base_url,
                session_id=session_id,
                app_id=record.app_id,
            )
        await self.proxy(
            target,
            base,
            path,
            whose,
            owner=record.owner,
            authorization=authorization,
            relink=relink,
        )

    async def proxy(
        self,
        target: str,
        base: str,
        path: str | None,
        whose: str,
        *,
        owner: str | None,
        authorization: str | None,
        relink: Callable[[Any], Any] | None = None,
    ) -> None:
        """Answer with the Spark UI page at ``target``/``path``, ``owner``'s; its redirects to
        itself come back under ``base``, where this page is proxied. ``authorization`` lets the
        request through the driver's JWSFilter, which refuses every other local process.
        ``relink`` rewrites a JSON answer (the executors' log links)."""
        if path and CONTROL_CHARACTERS.search(path):
            raise InvalidRequest(
                "path: the Spark UI path must not hold control characters", reason="invalid_field"
            )
        if owner != self.user:  # an admin's look at a user's page: in an opaque origin
            policy = f"{self.content_security_policy}; {FOREIGN_PAGE_SANDBOX}"
            self.set_header("Content-Security-Policy", policy)
        url = f"{target}/{quote(path or '', safe=_PATH_SAFE)}"
        url += f"?{self.request.query}" if self.request.query else ""
        headers = {"Accept": self.request.headers.get("Accept", "*/*")}
        if authorization is not None:
            headers["Authorization"] = authorization
        try:
            async with httpx.AsyncClient(timeout=30.0) as client:
                response = await client.get(url, headers=headers)
        except httpx.TransportError:
            raise LivyUnavailable(
                f"the Spark UI {whose} does not answer: has the session ended?"
            ) from None
        self.set_status(response.status_code)
        for name in _PASSED_ON:
            if name in response.headers:
                self.set_header(name, response.headers[name])
        if "Location" in response.headers:
            location = proxied_location(
                response.headers["Location"], target, base, self.request.path
            )
            if location is None:
                self.clear_header("Location")
                raise LivyBadGateway(
                    f"the Spark UI {whose} redirected outside its proxy path; not followed",
                    reason="redirect_outside_proxy",
                )
            self.set_header("Location", location)
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        content = response.content
        if relink is not None and response.is_success and "json" in content_type:
            content = json.dumps(relink(response.json())).encode("utf-8")
        self.finish(content, set_content_type=content_type)


class ExecutorLogPage(_EmbeddedSessionPage):
    """An executor's stdout or stderr on a Spark standalone worker, as text, with the session's
    Spark UI's checks: its owner's, or an admin's (``executor_logs.py``). The worker's ``offset``
    and ``byteLength`` pass on (by default its last 100 KiB)."""

    what = "executor log"

    @web.authenticated
    @authorized
    async def get(self, session_id: str, executor_id: str, log_type: str) -> None:
        if log_type not in LOG_TYPES:  # a JSON 400, not the server's HTML 404 of an unknown route
            raise InvalidRequest(f"log_type: one of {', '.join(LOG_TYPES)}, not {log_type!r}")
        window = {}
        for name in ("offset", "byteLength"):
            value = self.get_argument(name, None)
            if value is not None:
                if not value.isdigit():
                    raise InvalidRequest(f"{name}: a byte count, not {value!r}")
                window[name] = int(value)
        if window.get("byteLength", 0) > MAX_LOG_WINDOW:  # the answer is held in memory here
            raise InvalidRequest(f"byteLength: at most {MAX_LOG_WINDOW} bytes at a time")
        record = await self.session_for_page(session_id)
        if record is None:
            return
        target, authorization = self.driver_ui(record)
        whose = f"of session {session_id!r}"
        headers = {"Authorization": authorization} if authorization else {}
        try:
            async with httpx.AsyncClient(timeout=30.0) as client:
                executors = await client.get(
                    f"{target}/{executors_api(record.app_id or '')}", headers=headers
                )
                url = worker_log_url(
                    executors.json() if executors.is_success else None,
                    executor_id,
                    log_type,
                    record.app_id or "",
                    **window,
                )
                if url is None:
                    raise NotFound(
                        f"Spark session {session_id!r} has no executor {executor_id!r} with a "
                        "log on a Spark standalone worker (in local mode the driver runs the "
                        "tasks: its log is the session's driver log)"
                    )
                log = await client.get(url)  # no credential: the worker's UI asks none
        except httpx.TransportError:
            raise LivyUnavailable(
                f"the Spark UI {whose}, or the worker of executor {executor_id!r}, does not "
                "answer: has the session or the worker ended?"
            ) from None
        except ValueError:  # not JSON
            raise LivyBadGateway(f"the Spark UI {whose} answered its executors badly") from None
        if not log.is_success:
            raise LivyBadGateway(
                f"the worker of executor {executor_id!r} answered {log.status_code} for its "
                f"{log_type}"
            )
        self.set_header("Cache-Control", "no-store")
        self.finish(log.content, set_content_type="text/plain; charset=utf-8")


class ConnectUIProxy(SparkUIProxy):
    """The Spark UI of one of the broker's Connect servers, for the user it serves (and admins)."""

    @web.authenticated
    @authorized
    async def get(self, server_id: str, path: str | None = None) -> None:
        found = self.broker.connect.manager.ui_of(server_id)
        if found is None:
            raise NotFound(f"no running Spark Connect server {server_id!r}")
        self.broker.check_owner(self.user, found.user, f"Spark Connect server {server_id!r}")
        base = connect_ui_base(self.base_url, server_id)
        whose = f"of Connect server {server_id!r}"
        await self.proxy(
            found.url.rstrip("/"),
            base,
            path,
            whose,
            owner=found.user,
            authorization=found.authorization,
        )


def proxied_location(location: str, target: str, base: str, request_path: str) -> str | None:
    """Where the browser goes for the Spark UI's redirect to ``location``, or None if that leaves
    the proxy. The UI at ``target`` is proxied at ``base``: a redirect to the UI itself, or to a
    path of its own, comes back under ``base``; another host, or a path that climbs out of
    ``base``, gives None."""
    if CONTROL_CHARACTERS.search(location) or "\\" in location:  # browsers read '\\' as '/'
        return None
    if location == target or location.startswith(target + "/"):
        location = location[len(target) :] or "/"
    own_path = location.startswith("/") and not location.startswith("//")
    if own_path and not _under(urlsplit(location).path, base):
        location = base + location
    resolved = urljoin(request_path, location)
    parts = urlsplit(resolved)
    if parts.scheme or parts.netloc:
        return None
    return resolved if _under(parts.path, base) else None


def _under(path: str, base: str) -> bool:
    """Whether ``path`` is ``base`` or below it, as a browser reads it (``%2e%2e`` is ``..``)."""
    read = unquote(path)
    read = posixpath.normpath(read) + ("/" if read.endswith("/") else "")
    base = unquote(base).rstrip("/")
    return read.rstrip("/") == base or read.startswith(base + "/")


def page_handlers() -> list[tuple[str, type]]:
    session = rf"{PAGES}/(?P<session_id>[^/]+)"
    return [
        (rf"{session}/log", DriverLogPage),
        (rf"{session}/ui(?:/(?P<path>.*))?", SparkUIProxy),
        (
            rf"{session}/executors/(?P<executor_id>[^/]+)/(?P<log_type>[^/]+)",
            ExecutorLogPage,
        ),
        (rf"{CONNECT_PAGES}/(?P<server_id>[^/]+)/ui(?:/(?P<path>.*))?", ConnectUIProxy),
    ]
