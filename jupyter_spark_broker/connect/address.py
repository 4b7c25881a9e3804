"""Spark Connect addresses: ``sc://host:port/;token=…;user_id=…;session_id=…`` and remote endpoints.

The token is a ``SecretStr``: it shows as ``**********`` in ``repr``, logs and model dumps, and only
``url()`` writes it out, for the one reply that hands a notebook its session.

pyspark's client sends a token only over TLS, except to the host name ``localhost``, where it uses
gRPC's local credentials (``ChannelBuilder.toChannel``): ``sc://127.0.0.1:…;token=…`` would try a TLS
handshake against a plain server. So the broker's own servers are addressed as ``localhost``, and a
remote endpoint with a token needs TLS.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
import uuid

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from ..support.pydantic_errors import what

DEFAULT_PORT = 15002
_SAFE_USER_ID = re.compile(r"[A-Za-z0-9._@+-]{1,128}")
# Parameters an endpoint's URL may carry; session_id and user_id are the broker's to set.
_ENDPOINT_PARAMS = frozenset({"token", "use_ssl"})


class ConnectUrlError(ValueError):
    """An ``sc://`` URL that cannot be used; the message names what is wrong."""


def new_session_id() -> str:
    """A fresh Connect session id (the server requires a UUID)."""
    return str(uuid.uuid4())


def connect_user_id(user: str) -> str:
    """The Connect ``user_id`` for a Jupyter user. The server keys sessions by (user_id, session_id),
    so the broker fixes it; names that cannot travel in a URL parameter are hashed."""
    if _SAFE_USER_ID.fullmatch(user):
        return user
    return "u-" + hashlib.sha256(user.encode("utf-8")).hexdigest()[:24]


def token_allowed(host: str, use_ssl: bool) -> bool:
    return use_ssl or host == "localhost"


class ConnectAddress(BaseModel):
    """One Connect session's address: the server, its token, and the session's ids."""

    model_config = ConfigDict(frozen=True)

    host: str
    port: int = Field(DEFAULT_PORT, ge=1, le=65535)
    token: SecretStr | None = None
    use_ssl: bool = False
    user_id: str | None = None
    session_id: str | None = None

    @model_validator(mode="after")
    def _token_needs_tls(self) -> ConnectAddress:
        if self.token is not None and not token_allowed(self.host, self.use_ssl):
            raise ValueError(
                f"a token is only sent over TLS: set use_ssl for {self.host} "
                "(pyspark's client sends it in plain text only to the host name localhost)"
            )
        return self

    @field_validator("session_id")
    @classmethod
    def _uuid(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                uuid.UUID(value)
            except ValueError:
                raise ValueError("session_id must be a UUID (Spark Connect refuses other ids)")
        return value

    def url(self) -> str:
        """The full URL, token included: for the session's owner only, never for a log."""
        token = self.token.get_secret_value() if self.token else None
        return self._format(urllib.parse.quote(token, safe="") if token else None)

    def redacted_url(self) -> str:
        return self._format("***" if self.token else None)

    def _format(self, token: str | None) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        params = {
            "token": token,
            "use_ssl": "true" if self.use_ssl else None,
            "user_id": _quote(self.user_id),
            "session_id": self.session_id,
        }
        tail = "".join(f";{name}={value}" for name, value in params.items() if value is not None)
        return f"sc://{host}:{self.port}/{tail}"

    def for_session(self, session_id: str, user_id: str) -> ConnectAddress:
        return self.model_copy(update={"session_id": session_id, "user_id": user_id})

    def __str__(self) -> str:
        return self.redacted_url()


def parse_connect_url(url: str) -> ConnectAddress:
    """``sc://host[:port][/][;name=value…]`` as pyspark's ChannelBuilder reads it."""
    if not url.startswith("sc://"):
        raise ConnectUrlError(
            f"a Spark Connect URL starts with sc:// (got {url.split(':', 1)[0]!r})"
        )
    parsed = urllib.parse.urlparse("http" + url[2:])
    if parsed.path not in ("", "/"):
        raise ConnectUrlError(f"a Spark Connect URL has no path (got {parsed.path!r})")
    if not parsed.hostname:
        raise ConnectUrlError("a Spark Connect URL names a host: sc://host:port")
    params: dict[str, str] = {}
    for part in filter(None, parsed.params.split(";")):
        name, sep, value = part.partition("=")
        if not sep:
            raise ConnectUrlError(f"URL parameter {name!r} needs a value (name=value)")
        params[name] = urllib.parse.unquote(value)
    try:
        port = parsed.port or DEFAULT_PORT
    except ValueError as error:
        raise ConnectUrlError(f"bad port in the Spark Connect URL: {error}")
    try:
        return ConnectAddress(
            host=parsed.hostname,
            port=port,
            token=None if params.get("token") is None else SecretStr(params["token"]),
            use_ssl=params.get("use_ssl", "").lower() == "true",
            user_id=params.get("user_id"),
            session_id=params.get("session_id"),
        )
    except ValidationError as error:
        raise ConnectUrlError("; ".join(what(problem) for problem in error.errors()))


class RemoteConnectEndpoint(BaseModel):
    """A Spark Connect server run elsewhere (a cluster's, a cloud's): ``sc://host:port`` and a token.

    The token may come inside the URL (as cloud consoles hand it out) or on its own; either way it is
    kept apart from the URL, which is safe to show. Without ``use_ssl`` a token is refused unless the
    host is ``localhost`` (a tunnel or a sidecar proxy on this machine).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    url: str
    token: SecretStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _split_token_from_url(cls, data):
        if isinstance(data, dict) and isinstance(data.get("url"), str):
            address = parse_connect_url(data["url"])
            unknown = set(_params_of(data["url"])) - _ENDPOINT_PARAMS
            if unknown:
                raise ValueError(
                    f"an endpoint URL may carry only token and use_ssl, not {', '.join(sorted(unknown))}"
                    " (the broker sets each notebook's session_id and user_id)"
                )
            data = dict(data)
            if address.token is not None:
                if data.get("token") is not None:
                    raise ValueError("the token is given twice: in the URL and as token")
                data["token"] = address.token
            data["url"] = address.model_copy(update={"token": None}).redacted_url()
        return data

    @property
    def address(self) -> ConnectAddress:
        """The server's address with the token, for a session id to be added."""
        return parse_connect_url(self.url).model_copy(update={"token": self.token})

    @model_validator(mode="after")
    def _token_needs_tls(self) -> RemoteConnectEndpoint:
        server = parse_connect_url(self.url)
        if self.token is not None and not token_allowed(server.host, server.use_ssl):
            raise ValueError(
                f"endpoint {self.name}: a token is only sent over TLS; add ;use_ssl=true to the URL "
                f"(pyspark's client sends it in plain text only to the host name localhost)"
            )
        return self


def _quote(value: str | None) -> str | None:
    return None if value is None else urllib.parse.quote(value, safe="")


def _params_of(url: str) -> list[str]:
    params = urllib.parse.urlparse("http" + url[2:]).params
    return [part.partition("=")[0] for part in params.split(";") if part]
