"""Both protocols in one Spark application: a Livy session whose driver runs Spark's Connect plugin.

Asked for with ``"protocol": "livy+connect"`` (attach or create). The session is a Livy session in every
way (statements, kill, reaping); its driver also loads ``SparkConnectPlugin``, which serves Connect
clients on 127.0.0.1, on a port the broker picks, with a token the broker makes. The row keeps its
Connect session id in the plain column and the address and token sealed (``sealed_connect``), as a
Connect session's row does, so ``GET sessions/{id}/connect`` answers its owner the same way.

The plugin binds the driver's loopback, so the driver must run on this host: the embedded local Livy
(whose pyspark has the Connect jar on its classpath). The token travels to that Livy in the session's
``conf`` (Livy echoes ``conf`` to whoever may read its sessions: here only the broker); Spark's UI
redacts it (``spark.redaction.regex`` matches "token").
"""

from __future__ import annotations

import secrets
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..connect.address import new_session_id
from .errors import Conflict, InvalidRequest
from .protocols import LIVY_AND_CONNECT

if TYPE_CHECKING:
    from ..registry.records import SessionFields, SessionRecord
    from ..registry.sealing import Sealer
    from .endpoints import SparkEndpoints

PLUGIN = "org.apache.spark.sql.connect.SparkConnectPlugin"
TOKEN_CONF = "spark.connect.authenticate.token"


def free_loopback_port() -> int:
    """A port free on 127.0.0.1 now. Another process could take it before the driver binds it; the
    plugin then fails fast (no port retries) and the session ends in error, saying so."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class LivyConnectPlan:
    """The Connect side of a new Livy session: its port, token and Connect session id."""

    port: int = field(default_factory=free_loopback_port)
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    session_id: str = field(default_factory=new_session_id)

    def shown_conf(self, conf: dict[str, str] | None) -> dict[str, str]:
        """``conf`` with the plugin's settings: these may show in the session's settings."""
        conf = dict(conf or {})
        plugins = [name for name in conf.get("spark.plugins", "").split(",") if name.strip()]
        conf["spark.plugins"] = ",".join([*plugins, PLUGIN] if PLUGIN not in plugins else plugins)
        conf["spark.connect.grpc.binding.address"] = "127.0.0.1"
        conf["spark.connect.grpc.binding.port"] = str(self.port)
        conf["spark.connect.grpc.port.maxRetries"] = "0"  # the recorded port, or an error
        return conf

    def secret_conf(self, conf: dict[str, str]) -> dict[str, str]:
        """What goes to Livy only, never to the registry's settings: with the token."""
        return {**conf, TOKEN_CONF: self.token}

    def row_fields(self, sealer: Sealer, broker_server: str) -> SessionFields:
        """The registry columns: the session id plain, the address sealed as a Connect row's is."""
        sealed = {
            "host": "localhost",  # pyspark sends a token without TLS only to the name localhost
            "port": self.port,
            "use_ssl": False,
            "token": self.token,
            "broker": broker_server,
            "connect_server": None,
        }
        return {"connect_session_id": self.session_id, "sealed_connect": sealer.seal(sealed)}


def plan_for(endpoints: SparkEndpoints, endpoint: str, protocol: str) -> LivyConnectPlan | None:
    """None for a plain Livy session; a plan when ``protocol`` asks for both, on an endpoint that
    can serve it (InvalidRequest otherwise)."""
    if protocol != LIVY_AND_CONNECT:
        return None
    if not endpoints.is_embedded(endpoint):
        raise InvalidRequest(
            f"protocol livy+connect needs the Spark driver on this host (Connect listens on its "
            f"127.0.0.1): the embedded local Livy, not endpoint {endpoint!r}",
            reason="endpoint",
        )
    return LivyConnectPlan()


def check_serves_connect(record: SessionRecord, protocol: str) -> None:
    """An attach that asks for livy+connect gets no Livy session started without the plugin."""
    if protocol == LIVY_AND_CONNECT and record.connect_session_id is None:
        raise Conflict(
            f"Spark session {record.id!r} was started without Spark Connect: kill it (or attach "
            f"with another name) for a new one with protocol livy+connect",
            reason="not_connect",
        )
