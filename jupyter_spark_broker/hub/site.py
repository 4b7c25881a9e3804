"""The site's broker as the service holds it: built from the configuration the Jupyter servers read,
on their shared registry, without a Jupyter server."""

from __future__ import annotations

from typing import Any

from traitlets.config import Config, LoggingConfigurable

from ..broker.broker import SparkBroker
from ..broker.endpoints import SparkEndpoints
from ..broker.errors import Conflict
from ..livy import LivyClient
from ..registry.location import default_db_url, default_secret_key_file
from ..registry.registry import Registry
from ..registry.sealing import Sealer

# The servers' own section of their config: the registry and its key are the extension app's traits.
SERVER_APP_SECTION = "SparkBrokerApp"


class SiteEndpoints(SparkEndpoints):
    """The site's endpoints, without an embedded Livy of the service's own: a session on a server's
    embedded local Livy lives and dies with that server (its Livy is on that server's loopback)."""

    async def client(self, name: str) -> LivyClient:
        if self.is_embedded(name):
            raise Conflict(
                f"endpoint {name!r} is a Jupyter server's embedded local Livy: its sessions end "
                "with their server, and are killed there",
                reason="embedded_endpoint",
            )
        return await super().client(name)


def registry_location(config: Config) -> tuple[str, str]:
    """The registry's URL and its sealing key file, as ``SparkBrokerApp`` reads them."""
    section: Any = config[SERVER_APP_SECTION] if SERVER_APP_SECTION in config else Config()
    db_url = str(section.get("db_url") or default_db_url())
    key_file = str(section.get("secret_key_file") or default_secret_key_file(db_url))
    return db_url, key_file


def site_broker(parent: LoggingConfigurable) -> SparkBroker:
    """A broker on the site's registry, configured as the servers are (``c.SparkBroker.*``,
    ``c.SparkEndpoints.*``...: ``parent``'s config). Its ``start`` runs the lifecycle: the state
    poller takes its turn at the endpoints' lease, and the reaper drops the attachments of servers
    that stopped beating and kills the sessions left unattached for ``idle_timeout``."""
    db_url, key_file = registry_location(parent.config)
    broker = SparkBroker(
        parent=parent,
        registry=Registry(db_url),
        endpoints=SiteEndpoints(parent=parent),
        sealer=Sealer(key_file),
    )  # it runs no kernels: every attachment is some server's, judged by that server's beat
    # It starts no sessions: the warm pool is the servers' (its default is on their embedded Livy).
    broker.profile_catalog.warm_pool = {}
    return broker
