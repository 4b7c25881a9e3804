"""REST handlers: HTTP in and out only. Parse and validate, authorize, call the broker, map errors.

Every verb is ``@web.authenticated`` + ``@authorized`` on ``auth_resource = "spark_broker"``. Every
error is JSON ``{"message", "reason"}`` with the status of its :class:`~.errors.BrokerError`; bad input is
a 400 naming the field, never a 500.
"""

from __future__ import annotations

import dataclasses
import json
from http.client import responses
from importlib.resources import files
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from pydantic import BaseModel
from tornado import web
from tornado.escape import url_escape

from ..broker.broker import SparkBroker
from ..broker.errors import BrokerError, Forbidden, InvalidRequest, NotFound, SessionStarting
from ..broker.health import endpoints_health
from ..broker.links import with_browser_links
from ..broker.users import broker_user, hub_user_model, serves_one_person
from ..events import ROUTE
from ..registry.registry import SessionRecord
from ..support.notebook_metadata import profile_in_metadata
from .endpoint_requests import add_endpoint
from .models import (
    RECONNECT_REQUIRED,
    AddEndpoint,
    CompleteCode,
    CreateAttachment,
    CreateSession,
    CreateStatement,
    ListAttachmentsQuery,
    ListSessionsQuery,
    LogQuery,
    Reconnect,
    StatementQuery,
    notebook_path,
    parse_json_body,
    run_path,
    validate,
)
from .reconnect import NotebookReconnector
from .replies import (
    Attachment,
    AttachmentList,
    AttachmentWithSession,
    Caller,
    Completion,
    ConnectUrl,
    Endpoint,
    EndpointHealthList,
    EndpointList,
    ErrorReply,
    Message,
    ProfileList,
    ReconnectFailed,
    ReconnectReply,
    Reply,
    Session,
    SessionList,
    SessionLogReply,
    SessionWithAttachments,
    StatementReply,
)
from .request_guards import MAX_NAME_LENGTH, check_id_length

if TYPE_CHECKING:
    from .extension import BrokerExtension

ModelT = TypeVar("ModelT", bound=BaseModel)

AUTH_RESOURCE = "spark_broker"
API = "spark-broker/api"


class BrokerHandler(ExtensionHandlerMixin, APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def broker_app(self) -> BrokerExtension:
        """The extension app (jupyter_server's ``extensionapp`` is typed as any extension's)."""
        return cast("BrokerExtension", self.extensionapp)

    @property
    def broker(self) -> SparkBroker:
        return self.broker_app.broker

    # As APIHandler.prepare does: JupyterHandler's takes a keyword that no API handler is given.
    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        await self.broker_app.ensure_started()
        ROUTE.set(self.route())
        if self.current_user is not None:  # the unauthenticated get their 403 from the verb
            self._note_hub_admin()
            self._check_path_ids()

    def _note_hub_admin(self) -> None:
        """Under JupyterHub, the Hub's admins (and holders of the admin scope) are broker admins."""
        model = hub_user_model(self.current_user)
        if model is not None:
            self.broker.owners.hub_says(self.user, model)

    def _check_path_ids(self) -> None:
        for name, value in self.path_kwargs.items():
            if name.endswith("_id") or name == "name":  # not the Spark UI proxy's page path
                check_id_length(name, value)

    def route(self) -> str:
        """This call as the audit trail names it: "DELETE spark-broker/api/sessions/{session_id}"."""
        path = self.request.path  # without the query string, which may hold a token
        if path.startswith(self.base_url):
            path = path[len(self.base_url) :]
        names = {value: name for name, value in self.path_kwargs.items()}
        parts = [f"{{{names[part]}}}" if part in names else part for part in path.split("/")]
        return f"{self.request.method} {'/'.join(parts)}"

    @property
    def user(self) -> str:
        """Who owns what this request creates (:func:`~.users.broker_user`)."""
        return broker_user(self.identity_provider, self.current_user)

    @property
    def root_dir(self) -> str | None:
        return getattr(self.serverapp, "root_dir", None)

    @property
    def sees_embedded_livy(self) -> bool:
        """The embedded Livy's address is for admins (and the one user of a single-user server):
        anyone else reaches its sessions through the broker only."""
        return serves_one_person(self.identity_provider) or self.broker.is_admin(self.user)

    def shown(self, record: SessionRecord) -> SessionRecord:
        """A session as this user may see it: on the embedded Livy, the driver log through the
        broker's own log route and no Spark UI address, unless they may see the embedded Livy."""
        if self.sees_embedded_livy or not self.broker.endpoints.is_embedded(record.endpoint):
            return record
        log_url = self.api_url("sessions", record.id, "log")
        return dataclasses.replace(record, spark_ui_url=None, driver_log_url=log_url)

    async def may(self, action: str, resource: str) -> bool:
        """Whether the server's authorizer lets this user do ``action`` ("read", "write",
        "execute") on ``resource`` ("kernels", "sessions", "contents"), as jupyter_server's own
        handlers ask it; the broker asks before it acts on those for a user."""
        allowed = self.authorizer.is_authorized(self, self.current_user, action, resource)
        return bool(await ensure_async(allowed))

    def body(self) -> dict[str, Any]:
        return parse_json_body(self.request.body)

    def query(self, model: type[ModelT], names: tuple[str, ...]) -> ModelT:
        values: dict[str, str] = {}
        for name in names:
            value = self.get_query_argument(name, None)
            if value is not None:
                values[name] = value
        return validate(model, values, what="query")

    def api_url(self, *parts: str) -> str:
        return "/".join([self.base_url.rstrip("/"), API, *parts])

    def reply(self, status: int, body: Reply | None = None) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        if body is None:
            self.finish()
            return
        # Session replies carry links for the user's browser, not Livy's (see links.py).
        json_body = with_browser_links(
            body.json_body(), self.base_url, self.broker.endpoints.is_embedded
        )
        self.finish(json.dumps(json_body))

    # -- errors: one mapping for every handler ------------------------------------------------

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, BrokerError):
            status_code = error.status
        super().send_error(status_code, **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, SessionStarting):
            self.set_header("Retry-After", str(error.retry_after))
        if isinstance(error, BrokerError):
            body = ErrorReply(message=error.message, reason=error.reason)
        elif isinstance(error, web.HTTPError):
            message = error.log_message
            if message is not None and error.args:
                message %= error.args
            body = ErrorReply(
                message=message or responses.get(status_code, "error"), reason=error.reason
            )
        else:
            body = ErrorReply(
                message="internal error in the Spark broker; see the server log", reason="internal"
            )
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body.model_dump(mode="json")))

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(value, BrokerError) and value.status < 500:
            self.log.info(
                "spark broker: %s %s: %s", self.request.method, self.request.path, value.message
            )
        elif isinstance(value, BrokerError):
            self.log.warning(
                "spark broker: %s %s: %s", self.request.method, self.request.path, value.message
            )
        else:
            super().log_exception(typ, value, tb)


class CallerHandler(BrokerHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(200, Caller(user=self.user, admin=self.broker.is_admin(self.user)))


class EndpointsHealthHandler(BrokerHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        endpoints = self.broker.endpoints
        timeout = endpoints.livy_connect_timeout + endpoints.livy_read_timeout
        names = self.broker.endpoints_for(self.user)
        health = await endpoints_health(endpoints, names, timeout=timeout)
        self.reply(200, EndpointHealthList.model_validate({"endpoints": health}))


class EndpointsHandler(BrokerHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        endpoints = self.broker.endpoints
        described = [
            endpoints.describe(name, show_embedded_url=self.sees_embedded_livy)
            for name in self.broker.endpoints_for(self.user)
        ]
        listed = {"endpoints": described, "default": endpoints.default}
        self.reply(200, EndpointList.model_validate(listed))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        request = validate(AddEndpoint, self.body())
        name, added = await add_endpoint(self.broker, self.user, request)
        self.set_header("Location", self.api_url("endpoints", url_escape(name, plus=False)))
        described = self.broker.endpoints.describe(name, show_embedded_url=self.sees_embedded_livy)
        self.reply(201 if added else 200, Endpoint(**described))


class EndpointHandler(BrokerHandler):
    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        await self.broker.delete_endpoint(self.user, name)
        self.set_status(204)
        self.finish()


class SessionsHandler(BrokerHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        query = self.query(
            ListSessionsQuery, ("mine", "state", "live", "endpoint", "path", "limit", "offset")
        )
        path = notebook_path(query.path, self.root_dir) if query.path else None
        sessions, total = await self.broker.list_sessions(
            self.user,
            mine=query.mine,
            state=query.state,
            live=query.live,
            endpoint=query.endpoint,
            path=path,
            limit=query.limit,
            offset=query.offset,
        )
        page = [Session.of(self.shown(s)) for s in sessions]
        self.reply(
            200, SessionList(sessions=page, total=total, limit=query.limit, offset=query.offset)
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        request = validate(CreateSession, self.body())
        record, created = await self.broker.create_session(
            self.user,
            endpoint=request.endpoint,
            kind=request.kind,
            name=request.name,
            overrides=request.settings.livy_fields(),
            profile=request.profile,
            request_id=request.request_id,
            protocol=request.protocol,
        )
        self.set_header("Location", self.api_url("sessions", record.id))
        attachments = [] if created else await self.broker.attachments_of(record.id)
        body = SessionWithAttachments.of_with(self.shown(record), attachments)
        self.reply(201 if created else 200, body)


class SessionHandler(BrokerHandler):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        record = await self.broker.get_session(self.user, session_id)
        attachments = await self.broker.attachments_of(record.id)
        self.reply(200, SessionWithAttachments.of_with(self.shown(record), attachments))

    @web.authenticated
    @authorized
    async def delete(self, session_id: str) -> None:
        await self.broker.kill_session(self.user, session_id)
        self.set_status(204)
        self.finish()


class ConnectUrlHandler(BrokerHandler):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        # The token is in the reply: no cache may keep it.
        self.set_header("Cache-Control", "no-store")
        self.reply(200, ConnectUrl(url=await self.broker.connect.url_of(self.user, session_id)))


class SessionLogHandler(BrokerHandler):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        query = self.query(LogQuery, ("from", "size"))
        log = await self.broker.session_log(
            self.user, session_id, from_=query.from_, size=query.size
        )
        self.reply(200, SessionLogReply.of(session_id, log))


class StatementsHandler(BrokerHandler):
    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        request = validate(CreateStatement, self.body())
        query = self.query(StatementQuery, ("wait",))
        statement = await self.broker.statements.submit(
            self.user, session_id, code=request.code, kind=request.kind, wait=query.wait
        )
        self.set_header(
            "Location", self.api_url("sessions", session_id, "statements", str(statement.id))
        )
        self.reply(201, StatementReply.of(statement))


class CompletionHandler(BrokerHandler):
    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        request = validate(CompleteCode, self.body())
        candidates = await self.broker.statements.complete(
            self.user, session_id, code=request.code, cursor=request.cursor, kind=request.kind
        )
        self.reply(200, Completion(candidates=candidates))


def _statement_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:  # "²" is a digit, not a number
        raise InvalidRequest(
            f"statement id must be a whole number, not {raw!r}", reason="invalid_field"
        )
    return int(raw)


class StatementHandler(BrokerHandler):
    @web.authenticated
    @authorized
    async def get(self, session_id: str, statement_id: str) -> None:
        query = self.query(StatementQuery, ("wait",))
        statement = await self.broker.statements.get(
            self.user, session_id, _statement_id(statement_id), wait=query.wait
        )
        self.reply(200, StatementReply.of(statement))


class StatementCancelHandler(BrokerHandler):
    @web.authenticated
    @authorized
    async def post(self, session_id: str, statement_id: str) -> None:
        message = await self.broker.statements.cancel(
            self.user, session_id, _statement_id(statement_id)
        )
        self.reply(200, Message(message=message))


class AttachmentsHandler(BrokerHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        query = self.query(ListAttachmentsQuery, ("path", "limit", "offset"))
        path = notebook_path(query.path, self.root_dir) if query.path else None
        attachments, total = await self.broker.list_attachments(
            self.user, path=path, limit=query.limit, offset=query.offset
        )
        page = [Attachment.of(a) for a in attachments]
        self.reply(
            200,
            AttachmentList(attachments=page, total=total, limit=query.limit, offset=query.offset),
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        request = validate(CreateAttachment, self.body())
        if request.run is not None:  # a headless run: no Jupyter session knows its kernel
            path = run_path(request.path, self.root_dir)
        else:
            path = notebook_path(
                await self._notebook_of(request.kernel_id) or request.path, self.root_dir
            )
        attached = await self.broker.attach(
            self.user,
            path=path,
            kernel_id=request.kernel_id,
            endpoint=request.endpoint,
            kind=request.kind,
            session_id=request.session,
            name=request.name,
            create_named=request.create,
            overrides=request.settings.livy_fields(),
            profile=request.profile or await self._profile_in_notebook(path),
            protocol=request.protocol,
            run=request.run,
        )
        beats = self.broker.run_beat_interval if request.run is not None else None
        body = AttachmentWithSession.of_with(
            attached.attachment, self.shown(attached.session), beats, attached.origin
        )
        self.reply(201 if attached.created else 200, body)

    async def _notebook_of(self, kernel_id: str | None) -> str | None:
        """The kernel's notebook as jupyter_server knows it now. A kernel's own JPY_SESSION_NAME
        keeps the name it started with, through renames and even restarts."""
        if kernel_id is None:
            return None
        for resource in ("kernels", "sessions"):
            if not await self.may("read", resource):
                raise Forbidden(
                    f"kernel_id: this server does not let {self.user!r} read {resource}, so no "
                    "kernel's notebook is looked up for them",
                    reason="not_authorized",
                )
        try:
            # jupyter_server's session model: a dict it does not type (nor its get_session)
            found: Any = self.session_manager.get_session(kernel_id=kernel_id)
            model = await ensure_async(found)
        except web.HTTPError:  # a kernel started without a Jupyter session
            return None
        return model.get("path")

    async def _profile_in_notebook(self, path: str) -> str | None:
        """The profile the notebook's metadata names (``spark_broker.profile``), if it can be read."""
        contents = self.serverapp.contents_manager
        if not path.endswith(".ipynb") or not await self.may("read", "contents"):
            return None
        try:
            model = await ensure_async(contents.get(path, content=True, type="notebook"))
        except Exception:  # not a notebook, not under the root, not there yet: no metadata
            return None
        return profile_in_metadata(model.get("content"))


class ProfilesHandler(BrokerHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        catalog, pool = self.broker.profile_catalog, self.broker.pool
        described = [catalog.describe(name, await pool.warm(name)) for name in catalog.names()]
        self.reply(200, ProfileList.model_validate({"profiles": described}))


class AttachmentHandler(BrokerHandler):
    @web.authenticated
    @authorized
    async def delete(self, attachment_id: str) -> None:
        await self.broker.detach(self.user, attachment_id)
        self.set_status(204)
        self.finish()


class AttachmentBeatHandler(BrokerHandler):
    @web.authenticated
    @authorized
    async def post(self, attachment_id: str) -> None:
        await self.broker.beat(self.user, attachment_id)
        self.set_status(204)
        self.finish()


class OpenAPIHandler(BrokerHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        document = (
            files("jupyter_spark_broker").joinpath("openapi.yaml").read_text(encoding="utf-8")
        )
        self.finish(document, set_content_type="application/yaml")


class ReconnectHandler(BrokerHandler):
    """sparkmagic's endpoint: replies ``{"success", "error"}`` (plus the broker's own fields), always JSON."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body()
        for key in RECONNECT_REQUIRED:
            if key not in body:
                raise InvalidRequest(f"Missing argument {key}", reason="missing_argument")
        request = validate(Reconnect, body)
        kernel_name = request.kernelname or self.broker_app.default_kernel_name
        reconnector = NotebookReconnector(
            self.broker,
            self.serverapp.session_manager,
            self.serverapp.kernel_manager,
            self.serverapp.kernel_spec_manager,
            may=self.may,
        )
        done = await reconnector.reconnect(
            self.user,
            request,
            path=notebook_path(request.path, self.root_dir),
            kernel_name=kernel_name,
        )
        self.reply(
            200,
            ReconnectReply(
                endpoint=done.endpoint,
                session_id=done.session_id,
                kernel_id=done.kernel_id,
                kept_session=done.kept_session,
            ),
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # sparkmagic's clients read {"success", "error"}; the broker's {"message", "reason"} comes too.
        error = kwargs.get("exc_info", (None, None, None))[1]
        message = (
            error.message if isinstance(error, BrokerError) else responses.get(status_code, "error")
        )
        reason = error.reason if isinstance(error, BrokerError) else None
        self.set_header("Content-Type", "application/json")
        failed = ReconnectFailed(error=message, message=message, reason=reason)
        self.finish(json.dumps(failed.model_dump(mode="json")))


class NotFoundHandler(BrokerHandler):
    """Any other path under the API: a JSON 404 like every other error, not Jupyter's HTML page."""

    async def prepare(self) -> None:  # type: ignore[override]  # as BrokerHandler.prepare
        await super().prepare()
        if self.current_user is None:
            raise web.HTTPError(403)  # as @web.authenticated answers an API client
        path = self.request.path
        if len(path) > MAX_NAME_LENGTH:  # echo a bounded prefix only
            path = f"{path[:MAX_NAME_LENGTH]}… ({len(path)} characters)"
        raise NotFound(f"no such route: {self.request.method} {path}", reason="no_route")


def handlers() -> list[tuple[str, type]]:
    session = rf"{API}/sessions/(?P<session_id>[^/]+)"
    statement = rf"{session}/statements/(?P<statement_id>[^/]+)"
    return [
        (r"reconnectsparkmagic", ReconnectHandler),
        (rf"{API}/me", CallerHandler),
        (rf"{API}/endpoints", EndpointsHandler),
        (rf"{API}/profiles", ProfilesHandler),
        (rf"{API}/endpoints/health", EndpointsHealthHandler),
        (rf"{API}/sessions", SessionsHandler),
        (session, SessionHandler),
        (rf"{session}/log", SessionLogHandler),
        (rf"{session}/connect", ConnectUrlHandler),
        (rf"{session}/statements", StatementsHandler),
        (rf"{session}/completion", CompletionHandler),
        (statement, StatementHandler),
        (rf"{statement}/cancel", StatementCancelHandler),
        (rf"{API}/attachments", AttachmentsHandler),
        (rf"{API}/attachments/(?P<attachment_id>[^/]+)", AttachmentHandler),
        (rf"{API}/attachments/(?P<attachment_id>[^/]+)/beat", AttachmentBeatHandler),
        (rf"{API}/openapi.yaml", OpenAPIHandler),
        (rf"{API}/endpoints/(?P<name>[^/]+)", EndpointHandler),
        (rf"{API}(/.*)?", NotFoundHandler),  # last: only what no route above took
    ]
