"""The broker's Connect sessions: registry rows of protocol ``connect``, beside the Livy ones.

A row's endpoint is ``connect`` (the broker's own servers, one Spark application per user and profile)
or the name of a remote Connect endpoint. Its Connect session id is fixed when the row is made, so every
attach of the notebook (a restarted kernel's too) gets the same server-side session. The address and
token are sealed in the row (``sealed_connect``), never in a plain column; only the session's owner
gets them, as an ``sc://`` URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_runtime_dir
from pydantic import SecretStr, ValidationError
from traitlets import Dict, Float, Int, Unicode, default, validate
from traitlets.config import LoggingConfigurable, TraitError

from ..connect.address import ConnectAddress, RemoteConnectEndpoint, connect_user_id, new_session_id
from ..connect.manager import DEFAULT_PROFILE, ConnectServerManager
from ..connect.rpc import ConnectRpc, ConnectRpcError
from ..registry.orm import utcnow
from ..registry.registry import Registry, SessionRecord, new_id
from ..registry.sealing import Sealer
from ..support.json_types import JSONObject
from .backends import NewSession
from .caps import SessionCaps
from .connect_conf import spark_conf_of
from .errors import Conflict, Forbidden, InvalidRequest, NotFound
from .profiles import SparkProfiles
from .protocols import CONNECT

log = logging.getLogger("jupyter_spark_broker")

EMBEDDED_ENDPOINT = "connect"  # the broker's own Connect servers
# What a Connect session's rows say for Livy's kind: the client is pyspark's DataFrame API.
KIND = "pyspark"
STOPPED_WITH_JUPYTER = "the broker's Spark Connect server stopped with Jupyter"


class SparkConnect(LoggingConfigurable):
    """The broker's Spark Connect sessions and servers. Configured as ``c.SparkConnect.<name>``."""

    master = Unicode(
        "local[*]", config=True, help="Spark master of the broker's own Connect servers."
    )
    spark_conf = Dict(
        config=True,
        help="""Spark configuration of every Connect server the broker runs, e.g.
        {"spark.driver.memory": "4g"}. Each is one Spark application per user.""",
    )
    startup_timeout = Float(
        180.0, config=True, help="Seconds a Connect server may take to start (Java, Spark)."
    )
    session_timeout = Float(
        7 * 24 * 3600.0,
        config=True,
        help="""The servers' own idle limit for a Connect session, a backstop: the broker releases
        sessions itself when it reaps them (SparkBroker.idle_timeout).""",
    )
    log_dir = Unicode(
        config=True, help="Where the Connect servers' logs go (default: Jupyter's runtime dir)."
    )
    warm_servers = Dict(
        value_trait=Int(min=0),
        config=True,
        help="""Connect servers to keep started ahead, per profile, for users whose own server does
        not run yet: {"default": 1}. A user's first Connect session takes one at once (instead of
        a JVM's start, ~30 s), and another starts in the background. Each is a Spark application.""",
    )
    warm_check_interval = Float(
        30.0, config=True, help="Seconds between checks that the warm servers run."
    )
    remote_endpoints = Dict(
        config=True,
        help="""Spark Connect servers run elsewhere, by name: {"dataproc": {"url":
        "sc://host:443/;use_ssl=true", "token": "..."}}. A token is sent only over TLS, except to
        the host name localhost.""",
    )

    @default("log_dir")
    def _default_log_dir(self) -> str:
        return str(Path(jupyter_runtime_dir()) / "spark_broker_connect")

    @validate("remote_endpoints")
    def _valid_endpoints(self, proposal: Any) -> JSONObject:
        remotes: JSONObject = proposal["value"]
        try:
            _remotes(remotes)
        except ValueError as error:
            raise TraitError(f"SparkConnect.remote_endpoints: {error}") from None
        return remotes

    def __init__(
        self,
        *,
        registry: Registry,
        sealer: Sealer,
        server_id: str,
        update: Callable[..., Awaitable[SessionRecord | None]],
        profiles: SparkProfiles,
        caps: SessionCaps,
        ui_proxy_base: Callable[[str], str] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.caps = caps  # a user's cap counts Connect sessions with Livy ones
        self.profiles = profiles  # a Connect server's Spark settings are its profile's
        self.registry = registry
        self.sealer = sealer
        self.server_id = server_id  # this broker's: only it can reach its own servers
        self._update = update  # the broker's registry update (it keeps its cache of live rows)
        self.remotes = _remotes(self.remote_endpoints)
        if EMBEDDED_ENDPOINT in self.remotes:
            raise TraitError(
                f"SparkConnect.remote_endpoints: {EMBEDDED_ENDPOINT!r} is the broker's own"
            )
        self.manager = ConnectServerManager(
            self.log_dir,
            master=self.master,
            conf={str(key): str(value) for key, value in self.spark_conf.items()},
            startup_timeout=self.startup_timeout,
            session_timeout=self.session_timeout,
            ui_proxy_base=ui_proxy_base,
        )
        self._starting: dict[str, asyncio.Task[SessionRecord | None]] = {}
        self._warming: asyncio.Task[None] | None = None
        self._claimed = asyncio.Event()  # a warm server was taken: start the next one now

    def start(self) -> None:
        if self.warm_servers:
            self._warming = asyncio.create_task(self._keep_warm(), name="spark-connect-warm")

    async def _keep_warm(self) -> None:
        while True:
            try:
                await self._warm_round()
            except Exception:  # a warm server that cannot start must not end the loop
                log.exception("spark broker: could not keep Connect servers warm")
            self._claimed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._claimed.wait(), self.warm_check_interval)

    async def _warm_round(self) -> None:
        for name, count in self.warm_servers.items():
            conf = spark_conf_of(self.profiles.get(name))
            await self.manager.keep_warm(name, count, conf)  # also stops any beyond count
            while self.manager.warm_count(name) < count:  # one JVM at a time
                await self.manager.keep_warm(name, count, conf)

    def endpoint_names(self) -> list[str]:
        return [EMBEDDED_ENDPOINT, *self.remotes]

    def check_endpoint(self, endpoint: str | None) -> str:
        endpoint = endpoint or EMBEDDED_ENDPOINT
        if endpoint not in self.endpoint_names():
            known = ", ".join(self.endpoint_names())
            raise InvalidRequest(
                f"no Spark Connect endpoint named {endpoint!r} (known: {known})", reason="endpoint"
            )
        return endpoint

    # -- create and start --------------------------------------------------------------------------

    async def create(self, new: NewSession) -> SessionRecord:
        """A new row: ready at once when the user's server of the profile runs, a warm one waits
        (or the endpoint is remote), else ``starting`` while the server comes up in the
        background. On the broker's own servers, the profile's settings are the server's Spark
        conf (one server per user and profile)."""
        user, endpoint, profile = new.user, new.endpoint, new.profile
        broker_id = new_id()
        embedded = endpoint == EMBEDDED_ENDPOINT
        config: JSONObject = {"profile": profile.name}
        if embedded:
            config["conf"] = spark_conf_of(profile)
        async with self.caps.within(user):
            record = await self.registry.insert_session(
                id=broker_id,
                endpoint=endpoint,
                livy_name=f"jsb-{broker_id}",
                kind=KIND,
                state="starting",
                owner=user,
                share_key=new.share_key,
                config=config,
                profile=profile.name,
                unattached_since=None if new.attached else utcnow(),
                protocol=CONNECT,
                connect_session_id=new_session_id(),
                # Whose it is, from the start: another broker on the registry leaves it alone.
                sealed_connect=self.sealer.seal({"broker": self.server_id}),
            )
        if (
            not embedded
            or self.manager.is_running(user, profile.name)
            or self.manager.warm_count(profile.name)
        ):
            # Nothing to wait for: a server runs (or the server is someone else's).
            return await self._start(record) or record
        task = asyncio.create_task(self._start(record), name=f"spark-connect-start-{record.id}")
        self._starting[record.id] = task
        task.add_done_callback(lambda _: self._starting.pop(record.id, None))
        return record

    async def _start(self, record: SessionRecord) -> SessionRecord | None:
        try:
            if record.endpoint == EMBEDDED_ENDPOINT:
                warm = self.manager.warm_count(self._profile(record))
                grant = await self.manager.open_session(
                    record.owner,
                    self._profile(record),
                    record.connect_session_id,
                    conf=record.config.get("conf"),
                )
                if self.manager.warm_count(self._profile(record)) < warm:
                    self._claimed.set()  # start the next warm server now
                address, spark_ui_url, server = grant.address, grant.spark_ui_url, grant.server_id
                if spark_ui_url and self.manager.ui_proxy_base is not None:  # the browser's link
                    spark_ui_url = self.manager.ui_proxy_base(server)
            else:
                address, spark_ui_url, server = self.remotes[record.endpoint].address, None, None
        except Exception as error:  # the row says why; the kernel shows it
            log.warning("spark broker: Connect session %s did not start: %s", record.id, error)
            return await self._update(record.id, state="error", message=f"Spark Connect: {error}")
        started = await self._update(
            record.id,
            expect_state="starting",
            state="idle",
            spark_ui_url=spark_ui_url,
            sealed_connect=self._seal(address, server),
        )
        if started is None:  # killed while the server started: end what was just opened
            await self._release(record, address)
        return started

    def _seal(self, address: ConnectAddress, connect_server: str | None) -> bytes:
        return self.sealer.seal(
            {
                "host": address.host,
                "port": address.port,
                "use_ssl": address.use_ssl,
                "token": address.token.get_secret_value() if address.token else None,
                "broker": self.server_id,
                "connect_server": connect_server,
            }
        )

    def _unseal(self, record: SessionRecord) -> dict[str, Any] | None:
        return None if record.sealed_connect is None else self.sealer.unseal(record.sealed_connect)

    @staticmethod
    def _profile(record: SessionRecord) -> str:
        return str(record.config.get("profile", DEFAULT_PROFILE))

    # -- the session's URL -------------------------------------------------------------------------

    async def url_of(self, user: str, session_id: str) -> str:
        """``GET sessions/{id}/connect``: the URL of the session ``session_id``."""
        record = await self.registry.get_session(session_id)
        if record is None:
            raise NotFound(f"no Spark session {session_id!r}")
        return self.url(user, record)

    def url(self, user: str, record: SessionRecord) -> str:
        """``sc://host:port/;token=…;user_id=…;session_id=…``: for the session's owner only (an admin
        may list and kill it, but not act as its owner in Spark)."""
        # Ownership first: what kind of session another user's is, is theirs to know.
        if record.owner != user:
            raise Forbidden(f"only the owner of Spark session {record.id!r} gets its Connect URL")
        if record.protocol != CONNECT and record.connect_session_id is None:
            raise Conflict(
                f"Spark session {record.id!r} is a Livy session started without Spark Connect "
                f"(protocol livy+connect starts one with it); it has no Connect URL",
                reason="not_connect",
            )
        if record.is_finished:
            raise Conflict(
                f"Spark session {record.id!r} is {record.state}"
                + (f": {record.message}" if record.message else ""),
                reason="session_finished",
            )
        values = self._unseal(record)
        # A Livy session's Connect plugin listens once its Spark has started (state idle).
        if record.state in ("starting", "not_started") or values is None or "port" not in values:
            raise Conflict(f"Spark session {record.id!r} is still starting", reason="starting")
        return self._address(record, values).url()

    @staticmethod
    def _address(record: SessionRecord, values: Mapping[str, Any]) -> ConnectAddress:
        token = values.get("token")
        return ConnectAddress(
            host=values["host"],
            port=values["port"],
            use_ssl=values["use_ssl"],
            token=SecretStr(token) if token else None,
            user_id=connect_user_id(record.owner),
            session_id=record.connect_session_id,
        )

    # -- end, check, stop --------------------------------------------------------------------------

    async def end(self, record: SessionRecord) -> None:
        """Release the server-side session (its temp views and cached data go); a server of the
        broker's own stops once it hosts no session."""
        starting = self._starting.get(record.id)
        if starting is not None:
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await starting
        values = self._unseal(record) or {}
        if record.endpoint == EMBEDDED_ENDPOINT:
            if values.get("broker") == self.server_id:
                await self._release(record, None)
        elif "port" in values:
            await self._release(record, self._address(record, values))

    async def _release(self, record: SessionRecord, address: ConnectAddress | None) -> None:
        session_id = record.connect_session_id
        assert session_id is not None  # a Connect row is made with its session id

        def release_remote() -> None:
            assert address is not None
            with ConnectRpc(address) as rpc:
                rpc.release_session(session_id, connect_user_id(record.owner))

        try:
            if record.endpoint == EMBEDDED_ENDPOINT:
                await self.manager.release_session(record.owner, session_id, self._profile(record))
            else:
                await asyncio.to_thread(release_remote)
        except ConnectRpcError as error:  # the row ends anyway; the server's own timeout remains
            log.warning("spark broker: could not release Connect session %s: %s", record.id, error)

    async def check(self, records: list[SessionRecord], live_brokers: set[str]) -> None:
        """Rows on the broker's own servers whose server is gone end as ``dead``, so the next attach
        starts a new session: this broker's server exited, or the broker that ran it (an earlier
        process of this Jupyter server, or another server on the registry) is gone."""
        running = {server.server_id for server in self.manager.servers() if server.alive}
        for record in records:
            if record.endpoint != EMBEDDED_ENDPOINT or record.id in self._starting:
                continue
            values = self._unseal(record) or {}
            broker = values.get("broker")
            if broker == self.server_id:
                if values.get("connect_server") in running:
                    continue
                message = "its Spark Connect server exited"
            elif broker in live_brokers:
                continue  # another live Jupyter server's: it checks its own
            else:
                message = STOPPED_WITH_JUPYTER
            await self._update(record.id, expect_state=record.state, state="dead", message=message)

    async def stop(self, records: list[SessionRecord]) -> None:
        """Jupyter stops: so do the broker's servers (warm ones too), and their sessions end."""
        for task in [*self._starting.values(), *([self._warming] if self._warming else [])]:
            task.cancel()
        if self._warming is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._warming
        for record in records:
            values = self._unseal(record) or {}
            if record.endpoint == EMBEDDED_ENDPOINT and values.get("broker") == self.server_id:
                await self._update(record.id, state="killed", message=STOPPED_WITH_JUPYTER)
        await self.manager.stop_all()


def _remotes(values: Mapping[str, Any]) -> dict[str, RemoteConnectEndpoint]:
    remotes = {}
    for name, fields in values.items():
        try:
            remotes[name] = RemoteConnectEndpoint.model_validate({**fields, "name": name})
        except ValidationError as error:
            problem = error.errors()[0]
            where = ".".join(str(part) for part in problem["loc"]) or "url"
            raise ValueError(f"endpoint {name!r}: {where}: {problem['msg']}") from None
    return remotes
