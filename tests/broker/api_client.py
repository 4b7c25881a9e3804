"""A test client for the broker's REST API that checks every response against ``openapi.yaml``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
_SPEC: OpenAPI | None = None


def spec() -> OpenAPI:
    global _SPEC
    if _SPEC is None:
        _SPEC = OpenAPI.from_file_path(str(SPEC_PATH))
    return _SPEC


@dataclass
class Reply:
    status: int
    headers: Any
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


class _SpecRequest:
    def __init__(self, method: str, path: str, query: str, body: bytes | None, content_type: str):
        self.host_url = "http://127.0.0.1"
        self.path = path
        self.method = method.lower()
        self.body = body
        self.content_type = content_type
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(query, keep_blank_values=True)), header=Headers()
        )


class _SpecResponse:
    def __init__(self, reply: Reply):
        self.status_code = reply.status
        self.headers = Headers(list(reply.headers.get_all()))
        self.content_type = reply.content_type.lower()
        self.data = reply.body


class BrokerAPI:
    """``await api.get("sessions")``: paths are relative to ``{base_url}spark-broker/api/``."""

    def __init__(self, http_client, base_url: str, token: str):
        self.http = http_client  # pytest-jupyter's client: fetch(path) goes to the test server
        self.base_url = base_url
        self.token = token

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw: bytes | None = None,
        params: dict[str, Any] | None = None,
        authenticated: bool = True,
        api: bool = True,
        validate: bool = True,
        follow_redirects: bool = True,
        timeout: float = 300,  # a first statement on Apache Livy waits for a Spark driver
    ) -> Reply:
        relative = ("spark-broker/api/" if api else "") + path
        query = urlencode(params or {})
        url = f"{self.base_url}{relative}" + (f"?{query}" if query else "")
        content = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if content is None and method in ("POST", "PUT", "PATCH"):
            content = b""
        headers = {"Content-Type": "application/json"}
        if authenticated:
            headers["Authorization"] = f"token {self.token}"
        response = await self.http.fetch(
            url,
            method=method,
            body=content,
            headers=headers,
            request_timeout=timeout,
            allow_nonstandard_methods=True,
            follow_redirects=follow_redirects,
            raise_error=False,
        )
        reply = Reply(response.code, response.headers, response.body or b"")
        if validate:
            spec_path = "/" + relative
            spec().validate_response(
                _SpecRequest(method, spec_path, query, content, "application/json"),
                _SpecResponse(reply),
            )
        return reply

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return await self.request("POST", path, body=body if body is not None else {}, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("DELETE", path, **kwargs)

    def path_of(self, location: str) -> str:
        """The API-relative path of a Location header."""
        prefix = f"{self.base_url}spark-broker/api/"
        path = urlsplit(location).path
        assert path.startswith(prefix), f"{location} is not under {prefix}"
        return path[len(prefix) :]
