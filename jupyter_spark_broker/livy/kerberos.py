"""Kerberos (SPNEGO) for the Livy client: the built-in ``auth: Kerberos``.

Livy's ``kerberos`` auth type puts Hadoop's AuthenticationFilter in front of the API
(livy-rest-protocol.md §6.3): a request without credentials gets 401 and ``WWW-Authenticate:
Negotiate``; the same request with ``Authorization: Negotiate <token>`` gets through, with a signed
``hadoop.auth`` cookie. httpx's cookie jar sends that cookie from then on, so a token is made once per
cookie lifetime, not once per request.

The options are sparkmagic's ``kerberos_auth_configuration`` keys (the keyword arguments of
requests-kerberos' ``HTTPKerberosAuth``), plus ``keytab`` and ``ccache``. The GSSAPI work is done by
pyspnego, the engine requests-kerberos itself runs on (the ``kerberos`` extra).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Literal

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ..support.json_types import JSON
from ..support.pydantic_errors import first_problem
from .errors import LivyAuthFailed

if TYPE_CHECKING:  # the kerberos extra, imported when a KerberosAuth is made
    from spnego import ContextProxy, Credential

log = logging.getLogger("jupyter_spark_broker")

# requests-kerberos' constants, which sparkmagic configurations carry as numbers.
_MUTUAL_BY_NUMBER = {1: "REQUIRED", 2: "OPTIONAL", 3: "DISABLED"}


class KerberosOptions(BaseModel):
    """An endpoint's ``auth_options`` for ``auth: Kerberos``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mutual_authentication: Literal["REQUIRED", "OPTIONAL", "DISABLED"] = "REQUIRED"
    service: str = "HTTP"
    hostname_override: str | None = None
    principal: str | None = None  # which client principal to use, e.g. alice@EXAMPLE.COM
    delegate: bool = False  # forward the ticket to Livy
    force_preemptive: bool = False  # send a token with the first request, without waiting for a 401
    keytab: str | None = None  # log in from this keytab instead of a ticket cache
    ccache: str | None = None  # e.g. FILE:/path: this ticket cache instead of the default
    # Accepted so that sparkmagic configurations load; see README "Kerberos" for what they do here.
    send_cbt: bool = True
    sanitize_mutual_error_response: bool = True

    @field_validator("mutual_authentication", mode="before")
    @classmethod
    def _from_number(cls, value: object) -> object:
        return _MUTUAL_BY_NUMBER.get(value, value) if isinstance(value, int) else value


class KerberosAuth(httpx.Auth):
    """SPNEGO for ``httpx.AsyncClient``. GSSAPI calls block (a service ticket may need the KDC), so
    they run in a worker thread, never on the event loop."""

    def __init__(self, options: KerberosOptions, *, username: str = "", password: str = ""):
        import spnego  # the kerberos extra; build_auth turns its absence into a clear error

        self._spnego = spnego
        self.options = options
        # None: the default ticket cache, as kinit leaves it; a str: that principal's ticket cache.
        self._credentials: Credential | str | None = None
        if options.keytab:
            self._credentials = spnego.KerberosKeytab(
                keytab=options.keytab, principal=options.principal
            )
        elif password:
            self._credentials = spnego.Password(username=username or "", password=password)
        elif options.ccache:
            self._credentials = spnego.KerberosCCache(
                ccache=options.ccache, principal=options.principal
            )
        elif options.principal:
            self._credentials = options.principal
        self._context_flags = spnego.ContextReq.default
        if options.mutual_authentication == "DISABLED":
            self._context_flags &= ~spnego.ContextReq.mutual_auth
        if options.delegate:
            self._context_flags |= spnego.ContextReq.delegate

    def __repr__(self) -> str:  # never the credentials
        return f"KerberosAuth(service={self.options.service!r})"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("KerberosAuth works with httpx.AsyncClient only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        context = None
        if self.options.force_preemptive:
            context = await self._authorize(request)
        response = yield request
        if context is None and response.status_code == 401 and _negotiate_token(response) == "":
            context = await self._authorize(request)
            response = yield request
        if context is not None and response.is_success:
            await self._check_server(context, request, response)

    async def _authorize(self, request: httpx.Request) -> ContextProxy:
        """A new security context for Livy's host; its first token goes on ``request``."""
        host = self.options.hostname_override or request.url.host
        try:
            context, token = await asyncio.to_thread(self._first_token, host)
        except self._spnego.exceptions.SpnegoError as error:
            raise _failure(
                request,
                f"no Kerberos ticket for {self.options.service}@{host} ({error}). Run kinit as the "
                "user the Jupyter server runs as, or give the endpoint a keytab in auth_options",
            ) from None
        if token is None:  # a client's first step always has a token to send
            raise _failure(request, f"Kerberos made no token for {self.options.service}@{host}")
        request.headers["Authorization"] = f"Negotiate {base64.b64encode(token).decode()}"
        return context

    def _first_token(self, host: str) -> tuple[ContextProxy, bytes | None]:
        context = self._spnego.client(
            self._credentials,
            hostname=host,
            service=self.options.service,
            protocol="kerberos",  # what requests-kerberos sends; Hadoop's filter takes it
            context_req=self._context_flags,
        )
        return context, context.step(None)

    async def _check_server(
        self, context: ContextProxy, request: httpx.Request, response: httpx.Response
    ) -> None:
        """Mutual authentication: the server's answer token proves it holds the service key."""
        mode = self.options.mutual_authentication
        if mode == "DISABLED":
            return
        token = _negotiate_token(response)
        if not token:
            if mode == "REQUIRED":
                raise _failure(
                    request,
                    f"Livy at {request.url.host} answered without proving its identity (Kerberos "
                    "mutual authentication); set mutual_authentication to OPTIONAL if it never does",
                )
            return
        try:
            await asyncio.to_thread(context.step, base64.b64decode(token))
            proved = context.complete
        except (self._spnego.exceptions.SpnegoError, ValueError):
            proved = False
        if not proved:
            raise _failure(
                request,
                f"Livy at {request.url.host} failed Kerberos mutual authentication: its answer "
                "token does not match the service key",
            )


def _failure(request: httpx.Request, message: str) -> LivyAuthFailed:
    return LivyAuthFailed(
        message, url=str(request.url), method=request.method, path=request.url.path
    )


def _negotiate_token(response: httpx.Response) -> str | None:
    """The token of a ``WWW-Authenticate: Negotiate [token]`` header; "" when bare; None when absent."""
    for challenge in response.headers.get_list("www-authenticate", split_commas=True):
        scheme, _, token = challenge.strip().partition(" ")
        if scheme.lower() == "negotiate":
            return token.strip()
    return None


def kerberos_auth(*, username: str = "", password: str = "", **options: JSON) -> KerberosAuth:
    """The factory ``build_auth`` calls for ``auth: Kerberos``; bad options raise ValueError."""
    try:
        parsed = KerberosOptions.model_validate(options)
    except ValidationError as error:
        raise ValueError(f"Kerberos option {first_problem(error)}") from None
    if password and not username:
        raise ValueError("a Kerberos password needs the username it belongs to (the principal)")
    return KerberosAuth(parsed, username=username, password=password)
