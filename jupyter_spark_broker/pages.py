"""Pages for the user's browser, served by the Jupyter server under its own login: a session's
driver log as text, and the Spark UI of the embedded local Livy's sessions, proxied.

The embedded Livy's Spark UIs listen on the server's loopback (``http://localhost:4040``), which no
browser on another machine reaches; the proxy serves them at
``{base_url}spark-broker/sessions/{id}/ui/``, and each such session is started with that path as
``spark.ui.proxyBase``, so Spark writes its links (and its JavaScript's API calls) under it. Sessions
of other endpoints keep Livy's own Spark UI link (on YARN, the resource manager's proxy).
"""

from __future__ import annotations

import httpx
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from .errors import LivyUnavailable, NotFound
from .handlers import BrokerHandler
from .links import PAGES, page_base

# Headers of the Spark UI's answers worth passing on to the browser.
_PASSED_ON = ("Content-Type", "Cache-Control", "Last-Modified", "ETag", "Expires")


class _BrokerPage(BrokerHandler):
    """A broker handler answering a browser: its own content types, and the page's scripts and
    styles allowed (an API handler forbids them all)."""

    @property
    def content_security_policy(self) -> str:
        return JupyterHandler.content_security_policy.fget(self)


class DriverLogPage(_BrokerPage):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        log = await self.broker.session_log(self.user, session_id, from_=0, size=-1)
        text = "\n".join(log.log) + "\n"
        self.finish(text.encode("utf-8"), set_content_type="text/plain; charset=utf-8")


class SparkUIProxy(_BrokerPage):
    @web.authenticated
    @authorized
    async def get(self, session_id: str, path: str | None = None) -> None:
        record = await self.broker.get_session(self.user, session_id)
        if not (record.spark_ui_url and self.broker.endpoints.is_embedded(record.endpoint)):
            raise NotFound(
                f"Spark session {session_id!r} has no Spark UI served here (only the embedded "
                "Livy's are; other endpoints' links lead to their own)"
            )
        target = record.spark_ui_url.rstrip("/")
        url = f"{target}/{path or ''}" + (f"?{self.request.query}" if self.request.query else "")
        accept = self.request.headers.get("Accept", "*/*")
        try:
            async with httpx.AsyncClient(timeout=30.0) as client:
                response = await client.get(url, headers={"Accept": accept})
        except httpx.TransportError:
            raise LivyUnavailable(
                f"the Spark UI of session {session_id!r} does not answer: has the session ended?"
            ) from None
        self.set_status(response.status_code)
        for name in _PASSED_ON:
            if name in response.headers:
                self.set_header(name, response.headers[name])
        if "Location" in response.headers:
            self.set_header("Location", _proxied(response.headers["Location"], target, self))
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        self.finish(response.content, set_content_type=content_type)


def _proxied(location: str, target: str, handler: SparkUIProxy) -> str:
    """A redirect of the Spark UI to itself (``http://localhost:4040/jobs/``), through the proxy."""
    if location.startswith(target):
        session_id = handler.path_kwargs["session_id"]
        return page_base(handler.base_url, session_id) + "/ui" + location[len(target) :]
    return location


def page_handlers() -> list[tuple[str, type]]:
    session = rf"{PAGES}/(?P<session_id>[^/]+)"
    return [
        (rf"{session}/log", DriverLogPage),
        (rf"{session}/ui(?:/(?P<path>.*))?", SparkUIProxy),
    ]
