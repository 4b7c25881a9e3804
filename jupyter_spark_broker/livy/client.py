"""Async client for Livy's interactive-session REST API (``livy-rest-protocol.md`` §2).

One client per Livy endpoint; it owns its ``httpx.AsyncClient`` and closes it in :meth:`aclose`.
Every call names the statuses it accepts; anything else becomes a typed :mod:`.errors` exception.
"""

from __future__ import annotations

import asyncio
import html
import http.client
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from ..support.json_types import JSON, JSONObject
from ..support.pydantic_errors import first_problem
from .backoff import PollBackoff, RetryPolicy
from .errors import (
    LivyAuthFailed,
    LivyError,
    LivyNotFound,
    LivyProtocolError,
    LivyRejected,
    LivyServerError,
    LivyTimeout,
    LivyUnreachable,
)
from .models import (
    CreateSessionRequest,
    Session,
    SessionList,
    SessionLog,
    SessionStateReply,
    Statement,
    StatementList,
)
from .observe import (
    ABORTED,
    AUTH_FAILED,
    TIMEOUT,
    UNREACHABLE,
    LivyObserver,
    route_of,
    status_outcome,
)

ModelT = TypeVar("ModelT", bound=BaseModel)
T = TypeVar("T")
V = TypeVar("V")
SessionRef = int | str  # Livy looks a session up by integer id or by its name.

# Statuses after which an idempotent call may be repeated: the gateway or Livy itself is passing through
# trouble, and repeating a read cannot create anything.
RETRYABLE_STATUSES = frozenset({502, 503, 504})
_MESSAGE_LIMIT = 500


@dataclass(frozen=True)
class LivyTimeouts:
    """Seconds. ``delete`` is longer because Livy answers DELETE only once the session has stopped."""

    connect: float = 5.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 10.0
    delete: float = 120.0

    def for_httpx(self, read: float | None = None) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect, read=read or self.read, write=self.write, pool=self.pool
        )


class LivyClient:
    """Talks to one Livy server. Use as ``async with LivyClient(url) as livy: ...``."""

    def __init__(
        self,
        url: str,
        *,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        verify: bool | str = True,
        timeouts: LivyTimeouts | None = None,
        retry: RetryPolicy | None = None,
        poll: PollBackoff | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        requested_by: str = "jupyter-spark-broker",
        observer: LivyObserver | None = None,
    ):
        self.url = url.rstrip("/")
        self.observer = observer  # told of every attempt and failure (metrics), if set
        self.timeouts = timeouts or LivyTimeouts()
        self.retry = retry or RetryPolicy()
        self.poll = poll or PollBackoff()
        all_headers = {"Accept": "application/json", **dict(headers or {})}
        # Livy's CSRF filter wants X-Requested-By on every non-GET call; sending it always costs nothing.
        all_headers["X-Requested-By"] = requested_by
        self._http = httpx.AsyncClient(
            base_url=self.url,
            auth=auth,
            headers=all_headers,
            verify=verify,
            timeout=self.timeouts.for_httpx(),
            transport=transport,
        )

    def __repr__(self) -> str:  # never the auth or headers: they may hold secrets
        return f"LivyClient({self.url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> LivyClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- sessions -------------------------------------------------------------------------------

    async def get_version(self) -> JSONObject:
        response = await self._call("GET", "/version", expect=(200,))
        return self._json_object(response, self._where("GET", "/version"))

    async def list_sessions(self, *, from_: int = 0, size: int = 100) -> SessionList:
        response = await self._call(
            "GET", "/sessions", expect=(200,), params={"from": from_, "size": size}
        )
        return self._parse(response, SessionList)

    async def iter_all_sessions(self, *, page_size: int = 100) -> list[Session]:
        """Every session Livy holds, fetched page by page."""
        sessions: list[Session] = []
        while True:
            page = await self.list_sessions(from_=len(sessions), size=page_size)
            sessions.extend(page.sessions)
            if not page.sessions or len(sessions) >= page.total:
                return sessions

    async def create_session(self, request: CreateSessionRequest | None = None) -> Session:
        body = (request or CreateSessionRequest()).to_livy_json()
        # Never re-sent after it reached Livy: a second POST would start a second Spark application.
        response = await self._call("POST", "/sessions", expect=(201,), json=body, idempotent=False)
        return self._parse(response, Session)

    async def get_session(self, session: SessionRef) -> Session:
        response = await self._call("GET", _session_path(session), expect=(200,))
        return self._parse(response, Session)

    async def get_session_state(self, session: SessionRef) -> SessionStateReply:
        response = await self._call("GET", _session_path(session, "state"), expect=(200,))
        return self._parse(response, SessionStateReply)

    async def delete_session(self, session: SessionRef) -> None:
        """Stop and forget the session. Raises :class:`LivyNotFound` if Livy no longer has it."""
        await self._call(
            "DELETE",
            _session_path(session),
            expect=(200,),
            timeout=self.timeouts.for_httpx(read=self.timeouts.delete),
        )

    async def connect_session(self, session: SessionRef) -> Session:
        """``POST /sessions/{id}/connect``: counts as activity, so it resets Livy's idle timeout."""
        response = await self._call("POST", _session_path(session, "connect"), expect=(200,))
        return self._parse(response, Session)

    async def get_session_log(
        self, session: SessionRef, *, from_: int | None = None, size: int | None = None
    ) -> SessionLog:
        params = _without_none({"from": from_, "size": size})
        response = await self._call(
            "GET", _session_path(session, "log"), expect=(200,), params=params
        )
        return self._parse(response, SessionLog)

    async def wait_for_session(
        self, session: SessionRef, *, timeout: float | None = None
    ) -> Session:
        """Poll until the session has left its starting states, or ``timeout`` runs out.

        Returns the last session seen either way; check ``is_ready`` / ``is_finished``.
        """
        return await self._poll_until(
            lambda: self.get_session(session), lambda s: not s.is_starting, timeout
        )

    # -- statements -----------------------------------------------------------------------------

    async def create_statement(
        self, session: SessionRef, code: str, *, kind: str | None = None
    ) -> Statement:
        body = _without_none({"code": code, "kind": kind})
        response = await self._call(
            "POST", _session_path(session, "statements"), expect=(201,), json=body, idempotent=False
        )
        return self._parse(response, Statement)

    async def get_statement(self, session: SessionRef, statement_id: int) -> Statement:
        response = await self._call(
            "GET", _session_path(session, "statements", statement_id), expect=(200,)
        )
        return self._parse(response, Statement)

    async def list_statements(
        self,
        session: SessionRef,
        *,
        from_: int | None = None,
        size: int | None = None,
        descending: bool = False,
    ) -> StatementList:
        query: dict[str, int | str | None] = {
            "from": from_,
            "size": size,
            "order": "desc" if descending else None,
        }
        params: dict[str, int | str] = _without_none(query)
        response = await self._call(
            "GET", _session_path(session, "statements"), expect=(200,), params=params
        )
        return self._parse(response, StatementList)

    async def cancel_statement(self, session: SessionRef, statement_id: int) -> None:
        """Ask Livy to cancel; repeating it is harmless, so it is retried like a read."""
        await self._call(
            "POST", _session_path(session, "statements", statement_id, "cancel"), expect=(200,)
        )

    async def complete(
        self, session: SessionRef, code: str, *, kind: str, cursor: int
    ) -> list[str]:
        body = {"code": code, "kind": kind, "cursor": cursor}
        response = await self._call(
            "POST", _session_path(session, "completion"), expect=(200,), json=body
        )
        candidates = self._json_object(response, self._where("POST", "completion")).get(
            "candidates"
        )
        return [str(c) for c in candidates or []]

    async def wait_for_statement(
        self, session: SessionRef, statement_id: int, *, timeout: float | None = None
    ) -> Statement:
        """Poll with :class:`PollBackoff` until the statement is finished or ``timeout`` runs out.

        Returns the last statement seen either way; check ``is_finished``.
        """
        return await self._poll_until(
            lambda: self.get_statement(session, statement_id), lambda s: s.is_finished, timeout
        )

    async def run_statement(
        self,
        session: SessionRef,
        code: str,
        *,
        kind: str | None = None,
        timeout: float | None = None,
    ) -> Statement:
        statement = await self.create_statement(session, code, kind=kind)
        if statement.is_finished:
            return statement
        return await self.wait_for_statement(session, statement.id, timeout=timeout)

    # -- transport ------------------------------------------------------------------------------

    async def _poll_until(
        self, fetch: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout: float | None
    ) -> T:
        deadline = None if timeout is None else time.monotonic() + timeout
        delays = self.poll.delays()
        while True:
            latest = await fetch()
            if done(latest):
                return latest
            delay = next(delays)
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return latest
                delay = min(delay, remaining)
            await asyncio.sleep(delay)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        expect: Iterable[int],
        json: JSON = None,
        params: Mapping[str, str | int] | None = None,
        idempotent: bool = True,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        expected = tuple(expect)
        where = self._where(method, path)
        started = time.monotonic()
        delays = self.retry.delays()
        attempts = 0
        while True:
            attempts += 1
            failure: LivyError
            attempt_started = time.monotonic()
            outcome = ABORTED  # until the attempt ends one way or another (it may be cancelled)
            try:
                response = await self._http.request(
                    method,
                    path,
                    json=json,
                    params=params,
                    timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                )
                outcome = status_outcome(response.status_code, expected)
            except LivyAuthFailed as error:  # raised by the Kerberos auth flow, not by httpx
                outcome = AUTH_FAILED
                self._failed(error)
                raise
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
                outcome = UNREACHABLE
                # The request never left this process, so even a create may be tried again.
                failure = LivyUnreachable(
                    f"cannot reach Livy at {self.url} ({_describe(error)}): is the server running "
                    "and is the URL right?",
                    **where,
                )
                retryable = True
            except httpx.TimeoutException as error:
                outcome = TIMEOUT
                failure = LivyTimeout(
                    f"Livy at {self.url} did not answer {method} {path} in time ({_describe(error)})",
                    **where,
                )
                retryable = False
            except httpx.TransportError as error:
                outcome = UNREACHABLE
                # Sent, then the connection broke: only a call that is safe to repeat is repeated.
                failure = LivyUnreachable(
                    f"connection to Livy at {self.url} failed during {method} {path} "
                    f"({_describe(error)})",
                    **where,
                )
                retryable = idempotent
            else:
                if response.status_code in expected:
                    return response
                failure = _status_error(response, expected, where, self.url)
                retryable = idempotent and response.status_code in RETRYABLE_STATUSES
            finally:
                if self.observer is not None:
                    self.observer.request_done(
                        method, route_of(path), outcome, time.monotonic() - attempt_started
                    )
            delay = next(delays, None) if retryable else None
            if delay is None or time.monotonic() - started + delay > self.retry.budget:
                if attempts > 1:
                    elapsed = time.monotonic() - started
                    failure.message += f" (gave up after {attempts} attempts in {elapsed:.1f} s)"
                    failure.args = (failure.message,)
                self._failed(failure)
                raise failure
            await asyncio.sleep(delay)

    def _failed(self, error: LivyError) -> None:
        if self.observer is not None:
            self.observer.call_failed(error)

    def _parse(self, response: httpx.Response, model: type[ModelT]) -> ModelT:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as error:
            failure = LivyProtocolError(
                f"Livy at {self.url} sent an unexpected {model.__name__} for "
                f"{response.request.method} {response.request.url.path}: "
                f"{first_problem(error, 'body')}",
                url=self.url,
                method=response.request.method,
                path=response.request.url.path,
            )
            self._failed(failure)
            raise failure from error

    def _json_object(self, response: httpx.Response, where: Mapping[str, str]) -> JSONObject:
        try:
            return _json_object(response, where)
        except LivyProtocolError as error:
            self._failed(error)
            raise

    def _where(self, method: str, path: str) -> dict[str, str]:
        return {"url": self.url, "method": method, "path": path}


def _session_path(session: SessionRef, *rest: object) -> str:
    parts = [quote(str(session), safe=""), *(quote(str(part), safe="") for part in rest)]
    return "/sessions/" + "/".join(parts)


def _without_none(values: Mapping[str, V | None]) -> dict[str, V]:
    return {key: value for key, value in values.items() if value is not None}


def _describe(error: Exception) -> str:
    return str(error) or type(error).__name__


def _json_object(response: httpx.Response, where: Mapping[str, str]) -> JSONObject:
    try:
        body = response.json()
    except ValueError as error:
        raise LivyProtocolError("Livy sent a body that is not JSON", **where) from error
    if not isinstance(body, dict):
        raise LivyProtocolError("Livy sent JSON that is not an object", **where)
    return body


# Jetty's error page in front of Livy: "<title>Error 401 Unauthorized</title>".
_JETTY_TITLE = re.compile(r"Error \d{3}\b")
_REASONS = frozenset(http.client.responses.values())


def _shown_title(page: str) -> str:
    """The title of an HTML error page when it is Jetty's or a bare HTTP reason (a proxy's 502)."""
    title = re.search(r"<title>(.*?)</title>", page, re.IGNORECASE | re.DOTALL)
    said = html.unescape(" ".join(title.group(1).split())) if title else ""
    return said if _JETTY_TITLE.match(said) or said in _REASONS else ""


def livy_message(response: httpx.Response) -> str:
    """The human text of a Livy error body, whichever shape it came in.

    Livy answers ``{"msg": ...}`` from its servlets, a bare JSON string from its JSON layer, and an HTML
    page from Jetty filters (CSRF, authentication); Livy-compatible servers may send ``{"message": ...}``.
    Any other body is not repeated, only described: the URL may be some other service, whose pages a
    user must not read through the broker's errors.
    """
    text = response.text.strip()
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("msg") or body.get("message"), str):
        message = body.get("msg") or body.get("message")
    elif isinstance(body, str):
        message = body
    elif _shown_title(text):
        message = _shown_title(text)
    elif not text:
        message = ""
    else:
        kind = response.headers.get("Content-Type", "no Content-Type").split(";")[0]
        message = f"a reply that is not Livy's ({kind}, {len(response.content)} bytes)"
    message = str(message)
    return message if len(message) <= _MESSAGE_LIMIT else message[:_MESSAGE_LIMIT] + "…"


def _status_error(
    response: httpx.Response, expected: tuple[int, ...], where: Mapping[str, str], url: str
) -> LivyError:
    status = response.status_code
    said = livy_message(response)
    what = f"Livy at {url} answered {status} to {where['method']} {where['path']}"
    detail = f"{what}: {said}" if said else what
    if status == 404:
        return LivyNotFound(detail, status=status, livy_message=said, **where)
    if status in (401, 403):
        hint = " (check the endpoint's auth type and credentials)"
        return LivyRejected(detail + hint, status=status, livy_message=said, **where)
    if 400 <= status < 500:
        return LivyRejected(detail, status=status, livy_message=said, **where)
    if status >= 500:
        return LivyServerError(detail, status=status, livy_message=said, **where)
    return LivyProtocolError(f"{detail} (expected {', '.join(map(str, expected))})", **where)
