"""Kerberos in front of the local Livy, as ``livy.server.auth.type = kerberos`` puts Hadoop's
AuthenticationFilter with its KerberosAuthenticationHandler in front of Livy (livy-rest-protocol.md §6.3).

What a client sees, as from Hadoop:

- a valid ``hadoop.auth`` cookie lets the request through;
- otherwise, without ``Authorization: Negotiate <token>``: 401 and a bare ``WWW-Authenticate: Negotiate``;
- a token that does not check out: 403;
- a good token: the request goes through, with ``WWW-Authenticate: Negotiate <answer>`` (mutual
  authentication) and a new signed ``hadoop.auth`` cookie.

A bad or expired cookie is ignored, as Hadoop does, so the client falls back to a new token. The user
is the principal's short name (Hadoop's ``DEFAULT`` name rule: ``alice@REALM`` and ``alice/host@REALM``
are ``alice``). The cookie's signature is an HMAC of our own; Hadoop's format is not part of the protocol.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass

COOKIE = "hadoop.auth"


@dataclass(frozen=True)
class Verdict:
    """``user`` when the request may go on; else ``status`` (401 or 403) and ``message``."""

    user: str | None
    status: int = 200
    message: str = ""
    answer_token: str | None = None  # for ``WWW-Authenticate: Negotiate <answer_token>``
    cookie: str | None = None  # a whole ``Set-Cookie`` value


class SpnegoFilter:
    def __init__(self, principal: str, keytab: str, token_validity: float = 36000.0):
        import spnego  # the kerberos extra; __main__ checks for it before starting

        self._spnego = spnego
        self.principal = principal
        # The acceptor reads its keys from the keytab GSSAPI is told about; this process serves one.
        os.environ["KRB5_KTNAME"] = f"FILE:{keytab}"
        self._validity = token_validity
        self._secret = secrets.token_bytes(32)  # Hadoop's default: a random secret per server

    def authenticate(self, cookie: str | None, authorization: str) -> Verdict:
        user = self._user_from_cookie(cookie) if cookie else None
        if user is not None:
            return Verdict(user)
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "negotiate" or not token.strip():
            return Verdict(None, 401, "Unauthorized")
        try:
            context = self._spnego.server(protocol="negotiate")  # raw Kerberos or SPNEGO tokens
            answer = context.step(base64.b64decode(token.strip(), validate=True))
            principal = context.client_principal if context.complete else None
        except (self._spnego.exceptions.SpnegoError, binascii.Error, ValueError) as error:
            return Verdict(None, 403, f"GSSException: {error}")
        if principal is None:
            return Verdict(None, 403, "GSSException: the Kerberos exchange did not complete")
        user = principal.split("@")[0].split("/")[0]
        return Verdict(
            user,
            answer_token=base64.b64encode(answer).decode() if answer else None,
            cookie=self._cookie(user, principal),
        )

    def _cookie(self, user: str, principal: str) -> str:
        expires_ms = int((time.time() + self._validity) * 1000)
        token = f"u={user}&p={principal}&t=kerberos&e={expires_ms}"
        return f'{COOKIE}="{token}&s={self._sign(token)}"; Path=/; HttpOnly'

    def _user_from_cookie(self, value: str) -> str | None:
        token, _, signature = value.strip('"').rpartition("&s=")
        if not token or not hmac.compare_digest(signature, self._sign(token)):
            return None
        fields = dict(part.partition("=")[::2] for part in token.split("&"))
        try:
            expired = int(fields.get("e", "0")) < time.time() * 1000
        except ValueError:
            return None
        return None if expired else fields.get("u") or None

    def _sign(self, token: str) -> str:
        digest = hmac.new(self._secret, token.encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode()
