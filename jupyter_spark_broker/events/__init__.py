"""The broker's events: schemas (``schemas/*.yaml``), the emitter the broker calls, and the
owner-scoped subscription JupyterLab's panel listens on. Documented in ``events.md``."""

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
