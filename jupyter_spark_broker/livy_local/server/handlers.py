"""HTTP layer of the local Livy: paths, filters, status codes and error bodies of Livy's servlets.

Error bodies follow Livy's two shapes: ``{"msg": ...}`` from the servlets and a bare JSON string from
the JSON layer (bad bodies, "Statement not found", unmapped exceptions). The authentication and CSRF
filters answer with an HTML page, as Jetty's default error handler does in front of Livy.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import secrets
from typing import Any

import tornado.web

from ..._version import __version__
from ..config import LOOPBACK_HOSTS, LocalLivyConfig
from ..messages import (
    BadRequestBody,
    CompletionRequest,
    CreateInteractiveRequest,
    ExecuteRequest,
    normalise_kind,
    parse_body,
)
from ..sessions import LocalSession, NotRunning, Rejected, SessionManager
from .spnego import COOKIE as SPNEGO_COOKIE
from .spnego import SpnegoFilter

_API_VERSION = re.compile(r"application/vnd\.livy\.v([^+]+)\+json")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "X-XSS-Protection": "1; mode=block",
    "Content-Security-Policy": "default-src 'self'",
}


class ErrorReply(Exception):
    """An error answer this server sends: ``body`` goes out as JSON (a dict or a bare string)."""

    def __init__(self, status: int, body: Any):
        super().__init__(str(body))
        self.status = status
        self.body = body


def _msg(status: int, text: str) -> ErrorReply:
    return ErrorReply(status, {"msg": text})


class LivyHandler(tornado.web.RequestHandler):
    """Base of every route: filters first, then JSON in and out."""

    manager: SessionManager
    config: LocalLivyConfig

    def initialize(
        self, manager: SessionManager, config: LocalLivyConfig, kerberos: SpnegoFilter | None
    ) -> None:
        self.manager = manager
        self.config = config
        self.kerberos = kerberos
        self.user: str | None = None
        self._auth_headers: list[tuple[str, str]] = []  # kept on error replies too, as in Hadoop

    def set_default_headers(self) -> None:
        for name, value in _SECURITY_HEADERS.items():
            self.set_header(name, value)
        self.set_header("Content-Type", "application/json;charset=utf-8")

    def prepare(self) -> None:
        # Filter order in LivyServer: security headers, authentication, CSRF, then the servlets.
        if self.config.check_host and not self._loopback_host():
            self._filter_error(403, "Host not allowed")  # a DNS-rebound page, say
            return
        if self.config.basic_auth is not None:
            self.user = self._authenticate()
            if self.user is None:
                self.set_header("WWW-Authenticate", 'Basic realm="livy"')
                self._filter_error(401, "Unauthorized")
                return
        if self.kerberos is not None and not self._negotiate():
            return
        if (
            self.config.csrf
            and self.request.method not in _SAFE_METHODS
            and not self.request.headers.get("X-Requested-By")
        ):
            self._filter_error(400, "Missing Required Header for CSRF protection.")
            return
        accept = self.request.headers.get("Accept", "")
        version = _API_VERSION.search(accept)
        if version and version.group(1) != "0.1":
            self.reply(406, {"msg": f"Unsupported API version: {version.group(1)}"})

    def _loopback_host(self) -> bool:
        host = self.request.headers.get("Host", "")
        name = host[1:].partition("]")[0] if host.startswith("[") else host.rpartition(":")[0]
        return (name or host) in LOOPBACK_HOSTS

    def _authenticate(self) -> str | None:
        header = self.request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        # Asked only when the server has Basic credentials (prepare checks).
        want_user, want_password = self.config.basic_auth  # type: ignore[misc]
        ok_user = secrets.compare_digest(user.encode(), want_user.encode())
        ok_password = secrets.compare_digest(password.encode(), want_password.encode())
        return user if ok_user and ok_password else None

    def _negotiate(self) -> bool:
        """Kerberos, as Hadoop's AuthenticationFilter answers; False when it has answered already."""
        # Called only when the server has Kerberos (prepare checks).
        verdict = self.kerberos.authenticate(  # type: ignore[union-attr]
            self.get_cookie(SPNEGO_COOKIE), self.request.headers.get("Authorization", "")
        )
        if verdict.user is None:
            if verdict.status == 401:
                self.set_header("WWW-Authenticate", "Negotiate")
            self._filter_error(verdict.status, verdict.message)
            return False
        self.user = verdict.user
        if verdict.answer_token:
            self._auth_headers.append(("WWW-Authenticate", f"Negotiate {verdict.answer_token}"))
        if verdict.cookie:
            self._auth_headers.append(("Set-Cookie", verdict.cookie))
        self._add_auth_headers()
        return True

    def _add_auth_headers(self) -> None:
        for name, value in self._auth_headers:
            self.add_header(name, value)

    def _filter_error(self, status: int, message: str) -> None:
        """Jetty's default error page, as Livy's servlet filters produce it."""
        self.set_status(status)
        self.set_header("Content-Type", "text/html;charset=iso-8859-1")
        text = html.escape(message)
        uri = html.escape(self.request.path)
        self.finish(
            '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>\n'
            f"<title>Error {status} {text}</title>\n</head>\n<body><h2>HTTP ERROR {status}</h2>\n"
            f"<p>Problem accessing {uri}. Reason:\n<pre>    {text}</pre></p>\n</body>\n</html>\n"
        )

    def reply(self, status: int, body: Any = None) -> None:
        self.set_status(status)
        self.finish("" if body is None else json.dumps(body))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self._add_auth_headers()  # send_error cleared them with every other header
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, ErrorReply):
            self.set_status(error.status)
            self.finish(json.dumps(error.body))
        elif isinstance(error, tornado.web.HTTPError):
            self.finish(json.dumps({"msg": error.log_message or self._reason}))
        else:
            # Livy's JsonServlet: InternalServerError(e.toString), a JSON string.
            self.finish(json.dumps(f"{type(error).__name__}: {error}" if error else self._reason))

    def log_exception(self, typ, value, tb) -> None:  # expected answers are not server errors
        if not isinstance(value, ErrorReply):
            super().log_exception(typ, value, tb)

    # -- helpers --------------------------------------------------------------------------------

    def int_argument(self, name: str, default: int | None) -> int | None:
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _msg(400, f'For input string: "{raw}"') from None
        if not -(2**31) <= value < 2**31:
            raise _msg(400, f'For input string: "{raw}"')
        return value

    def session(self, ref: str) -> LocalSession:
        """``doWithSession``: by id if all digits, else by name; every hit refreshes the heartbeat."""
        session = self.manager.find(ref)
        if session is None:
            raise _msg(404, f"Session '{ref}' not found.")
        session.heartbeat()
        return session

    def body(self, model):
        try:
            return parse_body(self.request.body, model)
        except BadRequestBody as error:
            raise ErrorReply(400, str(error)) from None


# What GET /version reports: Livy's shape, all strings. The version reads X.Y.Z[-suffix] as clients
# parse it; 0.9.0 is the Livy whose protocol (fields, states, kinds) this server speaks.
LIVY_PROTOCOL_VERSION = "0.9.0"


class VersionHandler(LivyHandler):
    def get(self) -> None:
        self.reply(
            200,
            {
                "version": f"{LIVY_PROTOCOL_VERSION}-local",
                "user": "",
                "revision": "",
                "branch": "",
                "date": "",
                "url": f"jupyter_spark_broker.livy_local {__version__}",
            },
        )


class SessionsHandler(LivyHandler):
    def get(self) -> None:
        start = self.int_argument("from", 0) or 0
        size = self.int_argument("size", 100)
        every = list(self.manager.sessions.values())
        page = every[start:] if size is None or size < 0 else every[start : start + size]
        self.reply(200, {"from": start, "total": len(every), "sessions": [s.view() for s in page]})

    async def post(self) -> None:
        request = self.body(CreateInteractiveRequest)
        if request.kind is not None:
            try:
                normalise_kind(request.kind)
            except BadRequestBody as error:
                raise ErrorReply(400, str(error)) from None
        proxy_user = self._impersonation(request.proxyUser)
        try:
            session = await self.manager.create(request, owner=self.user, proxy_user=proxy_user)
        except Rejected as error:
            raise _msg(400, str(error)) from None
        self.set_header("Location", f"/sessions/{session.id}")
        self.reply(201, session.view())

    def _impersonation(self, target: str | None) -> str | None:
        """``AccessManager.checkImpersonation``: whom the session runs as (null when it is off). A
        user may name only themselves, a superuser anyone; no authentication means no check."""
        if not self.config.impersonation:
            return None
        allowed = self.user is None or self.user == target or self.user in self.config.superusers
        if target is not None and not allowed:
            raise _msg(403, f"User '{self.user}' not allowed to impersonate '{target}'.")
        return target or self.user


class SessionHandler(LivyHandler):
    def get(self, ref: str) -> None:
        self.reply(200, self.session(ref).view())

    async def delete(self, ref: str) -> None:
        # Blocks until the worker is gone and the session removed: a later GET is a 404, as in Livy.
        await self.manager.delete(self.session(ref))
        self.reply(200, {"msg": "deleted"})


class SessionStateHandler(LivyHandler):
    def get(self, ref: str) -> None:
        session = self.session(ref)
        self.reply(200, {"id": session.id, "state": session.state})


class SessionLogHandler(LivyHandler):
    def get(self, ref: str) -> None:
        session = self.session(ref)
        lines = list(session.log)
        size = self.int_argument("size", 100)
        default_from = max(0, len(lines) - size) if size is not None and size >= 0 else 0
        start = self.int_argument("from", default_from) or 0
        page = lines[start:] if size is None or size < 0 else lines[start : start + size]
        self.reply(200, {"id": session.id, "from": start, "total": len(lines), "log": page})


class StatementsHandler(LivyHandler):
    def get(self, ref: str) -> None:
        session = self.session(ref)
        if not session.is_active or session.state == "shutting_down":
            raise _msg(400, "requirement failed: Session isn't active.")
        statements = list(session.statements.values())
        start = self.int_argument("from", 0) or 0
        size = self.int_argument("size", None)
        page = statements[start:] if size is None or size < 0 else statements[start : start + size]
        if self.get_query_argument("order", "") == "desc":
            page = list(reversed(page))
        self.reply(
            200, {"total_statements": len(statements), "statements": [s.view() for s in page]}
        )

    def post(self, ref: str) -> None:
        session = self.session(ref)
        request = self.body(ExecuteRequest)
        kind = None
        if request.kind is not None:
            try:
                kind = normalise_kind(request.kind)
            except BadRequestBody as error:
                raise ErrorReply(400, str(error)) from None
        try:
            statement = session.submit(request.code, kind)
        except NotRunning as error:
            raise ErrorReply(500, str(error)) from None
        self.set_header("Location", f"/sessions/{session.id}/statements/{statement.id}")
        self.reply(201, statement.view())


class StatementHandler(LivyHandler):
    def get(self, ref: str, statement_id: str) -> None:
        session = self.session(ref)
        statement = session.statements.get(self._statement_id(statement_id))
        if statement is None:
            raise ErrorReply(404, "Statement not found")
        self.reply(200, statement.view())

    def _statement_id(self, raw: str) -> int:
        try:
            return int(raw)
        except ValueError:
            raise _msg(400, f'For input string: "{raw}"') from None


class StatementCancelHandler(StatementHandler):
    async def post(self, ref: str, statement_id: str) -> None:
        session = self.session(ref)
        if session.state not in ("idle", "busy"):
            raise ErrorReply(
                500, f"java.lang.IllegalStateException: Session is in state {session.state}"
            )
        await session.cancel(self._statement_id(statement_id))
        self.reply(200, {"msg": "canceled"})


class CompletionHandler(LivyHandler):
    async def post(self, ref: str) -> None:
        session = self.session(ref)
        request = self.body(CompletionRequest)
        try:
            candidates = await session.complete(request.code, request.kind, request.cursor)
        except BadRequestBody as error:
            raise ErrorReply(400, str(error)) from None
        except NotRunning as error:
            raise ErrorReply(500, str(error)) from None
        self.reply(200, {"candidates": candidates})


class ConnectHandler(LivyHandler):
    def post(self, ref: str) -> None:
        session = self.session(ref)
        session.record_activity()
        self.reply(200, session.view())


class StopHandler(LivyHandler):
    async def post(self, ref: str) -> None:
        session = self.session(ref)
        await session.stop()
        self.reply(204)


class InterruptHandler(LivyHandler):
    async def post(self, ref: str) -> None:
        # Livy's interrupt() calls stop(): the whole session ends, not just a statement.
        session = self.session(ref)
        await session.stop()
        self.reply(200, {"msg": "interrupted"})


class NotFoundHandler(LivyHandler):
    def prepare(self) -> None:
        super().prepare()
        if not self._finished:
            self.reply(404, {"msg": f"Not found: {self.request.method} {self.request.path}"})
