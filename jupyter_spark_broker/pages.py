"""Pages for the user's browser, served by the Jupyter server under its own login: a session's
driver log as text, and the Spark UI of the embedded local Livy's sessions, proxied.

The embedded Livy's Spark UIs listen on the server's loopback (``http://localhost:4040``), which no
browser on another machine reaches; the proxy serves them at
``{base_url}spark-broker/sessions/{id}/ui/``, and each such session is started with that path as
``spark.ui.proxyBase``, so Spark writes its links (and its JavaScript's API calls) under it. Sessions
of other endpoints keep Livy's own Spark UI link (on YARN, the resource manager's proxy). The broker's
Spark Connect servers are proxied the same way, one path per server, since a server hosts the sessions
of several notebooks: ``{base_url}spark-broker/connect-servers/{server}/ui/``.
"""

from __future__ import annotations

import httpx
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from .errors import LivyUnavailable, NotFound
from .handlers import BrokerHandler
from .links import CONNECT_PAGES, PAGES, connect_ui_base, page_base

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
        base = page_base(self.base_url, session_id) + "/ui"
        await self.proxy(record.spark_ui_url.rstrip("/"), base, path, f"of session {session_id!r}")

    async def proxy(self, target: str, base: str, path: str | None, whose: str) -> None:
        """Answer with the Spark UI page at ``target``/``path``; its redirects to itself come
        back under ``base``, where this page is proxied."""
        url = f"{target}/{path or ''}" + (f"?{self.request.query}" if self.request.query else "")
        accept = self.request.headers.get("Accept", "*/*")
        try:
            async with httpx.AsyncClient(timeout=30.0) as client:
                response = await client.get(url, headers={"Accept": accept})
        except httpx.TransportError:
            raise LivyUnavailable(
                f"the Spark UI {whose} does not answer: has the session ended?"
            ) from None
        self.set_status(response.status_code)
        for name in _PASSED_ON:
            if name in response.headers:
                self.set_header(name, response.headers[name])
        if "Location" in response.headers:
            location = response.headers["Location"]
            if location.startswith(target):  # a redirect of the Spark UI to itself
                location = base + location[len(target) :]
            self.set_header("Location", location)
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        self.finish(response.content, set_content_type=content_type)


class ConnectUIProxy(SparkUIProxy):
    """The Spark UI of one of the broker's Connect servers, for the user it serves (and admins)."""

    @web.authenticated
    @authorized
    async def get(self, server_id: str, path: str | None = None) -> None:  # type: ignore[override]
        found = self.broker.connect.manager.ui_of(server_id)
        if found is None:
            raise NotFound(f"no running Spark Connect server {server_id!r}")
        user, target = found
        self.broker.check_owner(self.user, user, f"Spark Connect server {server_id!r}")
        base = connect_ui_base(self.base_url, server_id)
        await self.proxy(target.rstrip("/"), base, path, f"of Connect server {server_id!r}")


def page_handlers() -> list[tuple[str, type]]:
    session = rf"{PAGES}/(?P<session_id>[^/]+)"
    return [
        (rf"{session}/log", DriverLogPage),
        (rf"{session}/ui(?:/(?P<path>.*))?", SparkUIProxy),
        (rf"{CONNECT_PAGES}/(?P<server_id>[^/]+)/ui(?:/(?P<path>.*))?", ConnectUIProxy),
    ]
