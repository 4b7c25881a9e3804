"""Links a user's browser can follow to a session's pages (``pages.py``): where they are, and the
Spark settings that make the embedded Livy's Spark UI work behind its proxy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PAGES = "spark-broker/sessions"
CONNECT_PAGES = "spark-broker/connect-servers"


def page_base(base_url: str, session_id: str) -> str:
    return f"{base_url.rstrip('/')}/{PAGES}/{session_id}"


def connect_ui_base(base_url: str, server_id: str) -> str:
    """Where the Spark UI of one of the broker's Connect servers is proxied (all its sessions')."""
    return f"{base_url.rstrip('/')}/{CONNECT_PAGES}/{server_id}/ui"


def spark_ui_conf(base_url: str, session_id: str) -> dict[str, str]:
    """Spark settings of an embedded session whose UI is proxied (no kill links through it)."""
    return {
        "spark.ui.proxyBase": page_base(base_url, session_id) + "/ui",
        "spark.ui.killEnabled": "false",
    }


def with_browser_links(body: Any, base_url: str, embedded: Callable[[str], bool]) -> Any:
    """Session replies (at any depth of ``body``) with links that work from the user's browser:
    the driver log through the broker, the embedded Livy's Spark UI through its proxy."""
    if isinstance(body, list):
        return [with_browser_links(item, base_url, embedded) for item in body]
    if not isinstance(body, dict):
        return body
    body = {key: with_browser_links(value, base_url, embedded) for key, value in body.items()}
    if {"id", "endpoint", "spark_ui_url", "driver_log_url", "livy_id"} <= body.keys():
        base = page_base(base_url, body["id"])
        if body["livy_id"] is not None:
            body["driver_log_url"] = f"{base}/log"
        # A Connect session's link is its server's proxy already (connect_ui_base).
        if body["spark_ui_url"] and embedded(body["endpoint"]) and not _is_connect(body):
            body["spark_ui_url"] = f"{base}/ui/"
    return body


def _is_connect(body: dict[str, Any]) -> bool:
    return body.get("protocol") == "connect"
