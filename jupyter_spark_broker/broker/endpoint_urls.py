"""Which Livy URLs a user may point the broker at: the allowed patterns
(``SparkEndpoints.allowed_endpoint_urls``), and no address inside this machine on a server of several
users (``internal_endpoint_urls``). Each refusal names the field, as every 400 of the broker does."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from .errors import Forbidden


def check_endpoint_url_allowed(url: str, patterns: Iterable[str]) -> None:
    """Forbidden unless ``url`` matches one of the ``allowed_endpoint_urls`` glob patterns."""
    if not any(fnmatch.fnmatchcase(url, pattern) for pattern in patterns):
        raise Forbidden(
            f"endpoint: {url} is not an allowed Livy URL on this server "
            "(SparkEndpoints.allowed_endpoint_urls)",
            reason="endpoint_url_not_allowed",
        )


async def check_not_internal(url: str) -> None:
    """Forbidden when ``url``'s host is, or resolves to, a loopback, link-local, unspecified or
    multicast address, or an address of this machine (any port: the Jupyter server's own API, the
    embedded Livy, other users' servers). Every address the name has is checked, so a name that
    also resolves inward is refused; a name that does not resolve cannot be checked, so it is
    refused too."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Forbidden(
            f"endpoint: {host!r} does not resolve, so it cannot be checked against this server's "
            "internal addresses (SparkEndpoints.internal_endpoint_urls)",
            reason="endpoint_url_not_allowed",
        ) from None
    for *_, address in found:
        if _is_internal(str(address[0])):  # an IP address: sockaddr's first item
            raise Forbidden(
                f"endpoint: {url} points at this machine or its local network (loopback, "
                "link-local or one of its own addresses), which users of a server of several "
                "users may not reach through it (SparkEndpoints.internal_endpoint_urls)",
                reason="endpoint_url_not_allowed",
            )


def _is_internal(text: str) -> bool:
    address = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 scope (%eth0) aside
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if (
        address.is_loopback
        or address.is_link_local  # 169.254.169.254 among them: cloud metadata services
        or address.is_unspecified
        or address.is_multicast
    ):
        return True
    # One of this machine's own addresses: only those can be bound here.
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.bind((str(address), 0))
        return True
    return False
