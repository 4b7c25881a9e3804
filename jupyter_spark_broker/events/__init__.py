"""The broker's events: schemas (``schemas/*.yaml``) and the emitter the broker calls. The owner-scoped
subscription JupyterLab's panel listens on is the web layer's (``server/events_subscription.py``).
Documented in ``README.md``, beside this file."""

from .emitter import (
    BASE_ID,
    BROKER_ACTOR,
    ROUTE,
    SESSION_ACTION,
    SESSION_STATE,
    STATEMENT,
    SUBSCRIBED,
    BrokerEvents,
    register_schemas,
    schema_files,
)

__all__ = [
    "BASE_ID",
    "BROKER_ACTOR",
    "ROUTE",
    "SESSION_ACTION",
    "SESSION_STATE",
    "STATEMENT",
    "SUBSCRIBED",
    "BrokerEvents",
    "register_schemas",
    "schema_files",
]
