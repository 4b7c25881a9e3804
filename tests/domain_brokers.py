"""Brokers without a Jupyter server: the domain alone, several in one process on one registry, each
reaching one Livy through a proxy of its own that counts its requests (``tests/faults/proxy.py``).

For the tests and the benchmark of the state poller's lease (``benchmarks/poll_lease.py``): each
broker stands for one Jupyter server of a site sharing the registry.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_spark_broker.broker.broker import SparkBroker
from jupyter_spark_broker.broker.endpoints import SparkEndpoints
from jupyter_spark_broker.events import BrokerEvents
from jupyter_spark_broker.events.emitter import SESSION_STATE
from jupyter_spark_broker.registry.records import new_id
from jupyter_spark_broker.registry.registry import Registry
from jupyter_spark_broker.registry.sealing import Sealer
from tests.faults.proxy import PASS, FaultProxy

ENDPOINT = "shared"
# GET /sessions and its pages; not GET /sessions/{id}
LIST_CALL = re.compile(r"^/sessions(\?.*)?$")


class RecordedEvents:
    """An event bus that keeps what the broker emits."""

    def __init__(self) -> None:
        self.emitted: list[tuple[str, dict[str, Any]]] = []

    def emit(self, *, schema_id: str, data: dict[str, Any]) -> None:
        self.emitted.append((schema_id, data))

    def states_of(self, session_id: str) -> list[str]:
        return [
            data["state"]
            for schema_id, data in self.emitted
            if schema_id == SESSION_STATE and data.get("session_id") == session_id
        ]


@dataclass
class DomainBroker:
    broker: SparkBroker
    proxy: FaultProxy
    events: RecordedEvents = field(default_factory=RecordedEvents)
    closed: bool = False

    @property
    def server_id(self) -> str:
        return self.broker.server_id

    def list_calls(self) -> int:
        """``GET /sessions`` requests (pages included) this broker sent its Livy."""
        return sum(
            1
            for method, path, fault in list(self.proxy.seen)
            if method == "GET" and fault == PASS and LIST_CALL.match(path)
        )

    def requests(self) -> int:
        return len(self.proxy.seen)

    async def round(self) -> bool:
        """One round of the state poller, as its loop runs it."""
        return await self.broker.lifecycle.poll_states()

    async def close(self) -> None:
        """Stop as a Jupyter server stops: its leases end, its sessions stay in Livy."""
        if self.closed:
            return
        self.closed = True
        await self.broker.stop()
        await self.broker.registry.close()
        await asyncio.to_thread(self.proxy.stop)


async def open_broker(
    db_url: str, livy_url: str, key_file: Path, *, start: bool = False, **settings: Any
) -> DomainBroker:
    """A broker on ``db_url`` reaching ``livy_url`` (as endpoint ``shared``) through its own proxy.
    Its loops run only with ``start``; otherwise a test drives its rounds."""
    proxy = FaultProxy(livy_url)
    await asyncio.to_thread(proxy.start)
    registry = Registry(db_url)
    await registry.open()
    recorded = RecordedEvents()
    broker = SparkBroker(
        registry=registry,
        endpoints=SparkEndpoints(
            endpoints={ENDPOINT: {"url": proxy.url}},
            default_endpoint=ENDPOINT,
            read_sparkmagic_config=False,
            local_livy_args=["--spark", "off"],  # its embedded one, where a test uses it
        ),
        sealer=Sealer(key_file),
        events=BrokerEvents(recorded),
        **settings,
        **_own_server_id(),
    )
    if start:
        await broker.start()
    else:
        await registry.heartbeat(broker.server_id)
    return DomainBroker(broker, proxy, recorded)


def _own_server_id() -> dict[str, str]:
    """Each broker a server of its own. The benchmark also runs the code from before the lease,
    whose brokers in one process shared the process's id (its poller did not read it)."""
    if "server_id" in inspect.signature(SparkBroker.__init__).parameters:
        return {"server_id": new_id()}
    return {}
