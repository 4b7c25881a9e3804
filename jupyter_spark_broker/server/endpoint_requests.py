"""``POST spark-broker/api/endpoints``: a user's own Livy endpoint, added at run time (what
``%spark add`` sends), under the same guards as ``/reconnectsparkmagic``: an auth name from the list
(never a dotted path), a URL without credentials that ``allowed_endpoint_urls`` allows (and, on a
server of several users, not inside this machine), bounded fields, at most ``max_endpoints_per_user``.
The credentials stay on the server, sealed in the registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..broker.endpoints import API_ADDED, EndpointConfig
from ..broker.users import SERVER_OWNER
from .models import AddEndpoint
from .request_guards import check_request_auth

if TYPE_CHECKING:
    from ..broker.broker import SparkBroker


def runtime_endpoint_name(user: str, username: str, url: str) -> str:
    """The name of a run-time endpoint nobody named: ``username@url``, and ``{user}:`` before it on
    a server of several users, as ``/reconnectsparkmagic`` names its endpoints."""
    name = f"{username}@{url}" if username else url
    return name if user == SERVER_OWNER else f"{user}:{name}"


async def add_endpoint(broker: SparkBroker, user: str, request: AddEndpoint) -> tuple[str, bool]:
    """Add (True) or replace (False) ``user``'s run-time endpoint; returns its name.

    A configured endpoint's name is a 409 (``endpoint_taken``), another user's run-time one a 403.
    """
    endpoints = broker.endpoints
    check_request_auth(request.auth_type, endpoints.authenticators)
    await endpoints.check_runtime_url(request.url)
    name = request.name or runtime_endpoint_name(user, request.username, request.url)
    added = name not in endpoints.names()
    config = EndpointConfig(
        url=request.url,
        auth=request.auth_type,
        username=request.username,
        password=request.password,
        description=f"added by {user} at run time",
    )
    await broker.put_endpoint(name, config, user, API_ADDED)
    return name, added
