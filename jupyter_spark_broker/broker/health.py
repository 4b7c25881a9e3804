"""Endpoint health, as the Spark panel shows it: reachable or not, Livy's version, its session count;
of a run-time endpoint (a URL a user chose), whether it answered only.

One ``GET /version`` and one ``GET /sessions?size=1`` per endpoint, concurrently, each endpoint bounded
by ``timeout``. The embedded local Livy is not started for this: it starts with its first session.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..livy import LivyError, LivyHTTPError, LivyNotFound
from ..support.json_types import JSONObject
from .errors import BrokerError

if TYPE_CHECKING:
    from ..livy import LivyClient
    from .endpoints import SparkEndpoints


async def endpoints_health(
    endpoints: SparkEndpoints, names: list[str], *, timeout: float
) -> list[JSONObject]:
    """Each endpoint's ``EndpointHealth`` reply (replies.py) as JSON."""
    return list(await asyncio.gather(*(_health(endpoints, name, timeout) for name in names)))


async def _health(endpoints: SparkEndpoints, name: str, timeout: float) -> JSONObject:
    health: JSONObject = {
        "name": name,
        "reachable": None,
        "version": None,
        "sessions": None,
        "error": None,
    }
    if endpoints.is_embedded(name) and not endpoints.local_is_running():
        health["error"] = "not started: the embedded local Livy starts with its first session"
        return health
    try:
        livy = await endpoints.client(name)
        listing, version = await asyncio.wait_for(
            asyncio.gather(livy.list_sessions(size=1), _version(livy)), timeout
        )
    except asyncio.TimeoutError:
        health.update(reachable=False, error=f"no answer from Livy within {timeout:g} s")
    except LivyHTTPError as error:  # it answered, but refused (auth, say) or failed
        health.update(reachable=True, error=error.message)
    except (LivyError, BrokerError) as error:
        health.update(reachable=False, error=error.message)
    else:
        health.update(reachable=True, sessions=listing.total, version=version)
    if endpoints.owner_of_runtime(name) is not None:
        # A URL a user chose: say whether it answered, nothing of what did (no port scanner).
        unreachable = "no answer from this URL" if health["reachable"] is False else None
        health.update(version=None, sessions=None, error=unreachable)
    return health


async def _version(livy: LivyClient) -> str | None:
    """Livy's version; None from a Livy without ``/version`` (it answers 404 there)."""
    try:
        reply = await livy.get_version()
    except LivyNotFound:
        return None
    version = reply.get("version")
    return str(version) if version is not None else None
