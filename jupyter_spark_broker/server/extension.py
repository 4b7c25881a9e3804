"""The extension app as its handlers know it. The app imports its handlers, so they name it by this
protocol rather than by its class (jupyter_server types ``extensionapp`` as any extension's)."""

from __future__ import annotations

from typing import Protocol

from ..broker.broker import SparkBroker


class BrokerExtension(Protocol):
    broker: SparkBroker
    default_kernel_name: str

    async def ensure_started(self) -> None:
        """Start the broker's background work on the first request that needs it."""
        ...
