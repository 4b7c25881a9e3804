"""The service's HTTP: the operators' page and the API, behind JupyterHub's OAuth.

Only the Hub's admins and holders of ``SparkBroker.hub_admin_scope`` get past :meth:`prepare`;
anyone else authenticated is refused with 403. Errors are JSON ``{"message", "reason"}`` as the
servers' API answers them; the page's errors are short HTML pages.
"""

from __future__ import annotations

import dataclasses
import json
from html import escape
from http.client import responses
from typing import Any

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from tornado import web
from tornado.log import app_log

from ..broker.broker import SparkBroker
from ..broker.errors import BrokerError, Conflict, Forbidden, NotFound
from ..broker.ownership import hub_grants_admin
from ..registry.records import SessionRecord
from ..server.models import ListSessionsQuery, notebook_path, validate
from ..server.replies import ErrorReply, Session, SessionList
from ..server.request_guards import check_id_length
from .page import render_sessions_page

API = "api/sessions"


class ServiceHandler(HubOAuthenticated, web.RequestHandler):
    """A request of a Hub user; :attr:`operator` is their name once :meth:`prepare` let them in."""

    operator = ""

    def initialize(self, broker: SparkBroker, hub_auth: HubOAuth) -> None:
        self.broker = broker
        self.hub_auth = hub_auth

    async def prepare(self) -> None:
        # Asynchronously, rather than tornado's synchronous get_current_user.
        model = await self.hub_auth.get_user(self, sync=False)
        if model is None:
            self.not_logged_in()
            return
        self.current_user = model
        if not hub_grants_admin(model, self.broker.hub_admin_scope):
            scope = self.broker.hub_admin_scope
            raise Forbidden(
                f"{model.get('kind', 'user')} {model.get('name')!r} is not an admin of the Hub"
                + (f" and does not hold the scope {scope!r}" if scope else ""),
                reason="not_an_operator",
            )
        self.operator = model["name"]

    def not_logged_in(self) -> None:
        raise Forbidden("no Hub login or token with this request", reason="not_logged_in")

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, BrokerError):
            status_code = error.status
        super().send_error(status_code, **kwargs)

    def problem(self, status_code: int, **kwargs: Any) -> ErrorReply:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, BrokerError):
            return ErrorReply(message=error.message, reason=error.reason)
        if isinstance(error, web.HTTPError):
            message = error.log_message % error.args if error.log_message else None
            return ErrorReply(
                message=message or responses.get(status_code, "error"), reason=error.reason
            )
        return ErrorReply(message="internal error; see the service's log", reason="internal")

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, BrokerError) and value.status < 500:
            self.log_line(value.message)
        else:
            super().log_exception(typ, value, tb)

    def log_line(self, message: str) -> None:
        app_log.info(
            "spark-broker service: %s %s: %s", self.request.method, self.request.path, message
        )

    async def record(self, session_id: str) -> SessionRecord:
        check_id_length("session_id", session_id)
        record = await self.broker.registry.get_session(session_id)
        if record is None:
            raise NotFound(f"no Spark session {session_id!r}")
        return record

    async def kill(self, session_id: str) -> SessionRecord:
        """Kill the session through its endpoint as the operator; the servers see it ended."""
        record = await self.record(session_id)
        if not record.is_finished and self.broker.endpoints.is_embedded(record.endpoint):
            raise Conflict(
                f"session {session_id!r} runs on its server's embedded local Livy: kill it in "
                f"that server ({record.owner!r}'s)",
                reason="embedded_endpoint",
            )
        await self.broker.kill(
            record, f"killed by {self.operator} (Hub service)", actor=self.operator
        )
        return record


class APIHandler(ServiceHandler):
    """The servers' reply models, one source for both APIs (``server/replies.py``)."""

    def check_xsrf_cookie(self) -> None:
        # A token in the Authorization header is no cookie a browser sends by itself.
        if "Authorization" not in self.request.headers:
            super().check_xsrf_cookie()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(self.problem(status_code, **kwargs).model_dump(mode="json")))

    def reply(self, status: int, body: SessionList | Session | None = None) -> None:
        self.set_status(status)
        if body is None:
            self.finish()
            return
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body.json_body()))


class SessionsAPIHandler(APIHandler):
    async def get(self) -> None:
        names = ("state", "live", "endpoint", "path", "limit", "offset")
        values = {n: v for n in names if (v := self.get_query_argument(n, None)) is not None}
        query = validate(ListSessionsQuery, values, what="query")
        sessions, total = await self.broker.registry.list_sessions(
            state=query.state,
            live=query.live,
            endpoint=query.endpoint,
            path=notebook_path(query.path, None) if query.path else None,
            limit=query.limit,
            offset=query.offset,
        )
        page = [Session.of(as_operators_see(self.broker, s)) for s in sessions]
        self.reply(
            200, SessionList(sessions=page, total=total, limit=query.limit, offset=query.offset)
        )


class SessionAPIHandler(APIHandler):
    async def delete(self, session_id: str) -> None:
        await self.kill(session_id)
        self.reply(204)


class BrowserHandler(ServiceHandler):
    """What a browser asks for: its errors are short HTML pages."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        problem = self.problem(status_code, **kwargs)
        self.finish(f"<!doctype html><title>{status_code}</title><p>{escape(problem.message)}</p>")


class PageHandler(BrowserHandler):
    """Every user's live sessions (all of them with ``?all=1``), each with a kill button."""

    def not_logged_in(self) -> None:
        self.redirect(self.get_login_url())  # the Hub's OAuth, back to this page

    async def get(self) -> None:
        if self._finished:
            return
        show_all = self.get_query_argument("all", "") not in ("", "0")
        sessions, _ = await self.broker.registry.list_sessions(live=not show_all, limit=1000)
        attachments, _ = await self.broker.registry.attachments()
        notebooks: dict[str, list[str]] = {}
        for attachment in attachments:
            notebooks.setdefault(attachment.session_id, []).append(attachment.path)
        self.finish(
            render_sessions_page(
                sessions,
                notebooks,
                operator=self.operator,
                base=self.hub_auth.base_url,
                show_all=show_all,
                xsrf_form=self.xsrf_form_html(),
            )
        )


class KillFormHandler(BrowserHandler):
    """The page's kill button (a form, with tornado's XSRF check)."""

    async def post(self, session_id: str) -> None:
        await self.kill(session_id)
        self.redirect(self.hub_auth.base_url)


class OAuthCallbackHandler(HubOAuthCallbackHandler):
    """Where the Hub's OAuth returns the browser: with this service's client, not a default one."""

    def initialize(self, hub_auth: HubOAuth) -> None:
        self.hub_auth = hub_auth


def as_operators_see(broker: SparkBroker, record: SessionRecord) -> SessionRecord:
    """A session's links as an operator's browser may follow them: an embedded Livy's are on its
    server's loopback, so none; a cluster endpoint's are Livy's own (YARN's proxy, say)."""
    if broker.endpoints.is_embedded(record.endpoint):
        return dataclasses.replace(record, spark_ui_url=None, driver_log_url=None)
    return record


def service_handlers(
    prefix: str, broker: SparkBroker, hub_auth: HubOAuth
) -> list[tuple[str, type[web.RequestHandler], dict[str, Any]]]:
    """The routes under the service's prefix (``/services/spark-broker/``)."""
    shared = {"broker": broker, "hub_auth": hub_auth}
    return [
        (prefix, PageHandler, shared),
        (prefix + r"sessions/([^/]+)/kill", KillFormHandler, shared),
        (prefix + API, SessionsAPIHandler, shared),
        (prefix + API + r"/([^/]+)", SessionAPIHandler, shared),
        (prefix + "oauth_callback", OAuthCallbackHandler, {"hub_auth": hub_auth}),
    ]
