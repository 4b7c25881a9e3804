"""Spark Connect servers the broker runs itself: one Spark application per user and profile.

Each server is a ``spark-submit`` of SparkConnectServer from the pip ``pyspark`` wheel, on 127.0.0.1, a
port of its own and a random token of its own. It hosts one Connect session per notebook; the broker
fixes each session's id (and the ``user_id`` the server keys sessions by), so a kernel that restarts
finds the same server-side session: its temp views, cached tables and confs.

Releasing the last session of a server stops it. Servers are children of the Jupyter server and end
with it (like the embedded local Livy's sessions). Warm servers are started ahead, per profile, owned
by nobody: a user whose server does not run gets one at once (``keep_warm``, ``_claim_warm``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from .. import metrics
from ..livy_local import ui_guard
from .address import ConnectAddress, connect_user_id, new_session_id
from .process import ConnectServerProcess, ConnectServerStartError
from .rpc import ConnectRpc, ConnectRpcError

log = logging.getLogger(__name__)

DEFAULT_PROFILE = "default"
WARM = ""  # the user of a warm server: nobody yet


@dataclass(frozen=True)
class ServerKey:
    user: str
    profile: str = DEFAULT_PROFILE


@dataclass
class _Server:
    key: ServerKey
    id: str  # new at every start: a session id granted by an earlier server is not on this one
    process: ConnectServerProcess
    address: ConnectAddress  # localhost:port and the token, no session yet
    spark_ui_url: str | None
    started: float
    ui_key: str = field(repr=False)  # its Spark UI answers only requests signed with it
    sessions: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class ServerUI:
    """A running server's Spark UI: the user it serves, its loopback URL, and the Authorization
    header its JWSFilter asks of a request (see ``livy_local.ui_guard``)."""

    user: str
    url: str
    authorization: str = field(repr=False)


@dataclass(frozen=True)
class ConnectSessionGrant:
    """A notebook's Connect session on a server of the broker. ``address.url()`` carries the token."""

    user: str
    profile: str
    session_id: str
    server_id: str
    address: ConnectAddress
    spark_ui_url: str | None


@dataclass(frozen=True)
class ConnectServerInfo:
    """What may be shown about a server: no token."""

    user: str
    profile: str
    server_id: str
    port: int
    pid: int | None
    alive: bool
    spark_ui_url: str | None
    started: float
    sessions: tuple[str, ...]


@dataclass(frozen=True)
class ServerHealth:
    alive: bool  # the process runs
    answers: bool  # and serves gRPC with its token
    message: str


class ConnectServerManager:
    """Starts, shares, checks and stops the broker's own Connect servers.

    ``conf`` is Spark configuration for every server (``spark.driver.memory``, …); ``profiles`` maps
    a profile name to more of it. ``session_timeout`` is the server's own idle limit for a session
    (``spark.connect.session.manager.defaultSessionTimeout``): the broker releases sessions itself when
    it reaps them, so this is only a backstop, longer than any reaping delay.
    """

    def __init__(
        self,
        log_dir: str | Path,
        *,
        master: str = "local[*]",
        conf: Mapping[str, str] | None = None,
        profiles: Mapping[str, Mapping[str, str]] | None = None,
        startup_timeout: float = 180.0,
        session_timeout: float = 7 * 24 * 3600.0,
        rpc_timeout: float = 15.0,
        ui_proxy_base: Callable[[str], str] | None = None,
    ):
        self.log_dir = Path(log_dir)
        self.master = master
        self.conf = dict(conf or {})
        self.profiles = {name: dict(values) for name, values in (profiles or {}).items()}
        self.startup_timeout = startup_timeout
        self.session_timeout = session_timeout
        self.rpc_timeout = rpc_timeout
        self.ui_proxy_base = ui_proxy_base  # server id -> the path its Spark UI is proxied at
        self._servers: dict[ServerKey, _Server] = {}
        self._warm: dict[str, list[_Server]] = {}  # by profile: started, nobody's yet
        self._locks: dict[ServerKey, asyncio.Lock] = {}

    def is_running(self, user: str, profile: str = DEFAULT_PROFILE) -> bool:
        server = self._servers.get(ServerKey(user, profile))
        return server is not None and server.process.alive

    def _lock(self, key: ServerKey) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    # --- sessions ------------------------------------------------------------------------------------

    async def open_session(
        self,
        user: str,
        profile: str = DEFAULT_PROFILE,
        session_id: str | None = None,
        conf: Mapping[str, str] | None = None,
    ) -> ConnectSessionGrant:
        """The Connect session ``session_id`` (a new one if None) of ``user``'s server for
        ``profile``, starting that server (with ``conf`` besides the manager's) if it does not
        run. The session itself comes into being on the server with the first call a client makes
        with its id."""
        key = ServerKey(user, profile)
        async with self._lock(key):
            server = await self._running_server(key, conf)
            session_id = session_id or new_session_id()
            server.sessions.add(session_id)
            return self._grant(server, session_id)

    async def release_session(
        self,
        user: str,
        session_id: str,
        profile: str = DEFAULT_PROFILE,
        *,
        stop_if_unused: bool = True,
    ) -> bool:
        """End the server-side session (ReleaseSession). Stops the server once it hosts no session
        of the broker's. False when no running server of that user and profile holds the session."""
        key = ServerKey(user, profile)
        async with self._lock(key):
            server = self._servers.get(key)
            if server is None or session_id not in server.sessions:
                return False
            server.sessions.discard(session_id)
            if server.process.alive:
                await asyncio.to_thread(
                    self._release, server.address, session_id, connect_user_id(user)
                )
            if stop_if_unused and not server.sessions:
                await self._stop(server)
            return True

    async def interrupt_session(
        self, user: str, session_id: str, profile: str = DEFAULT_PROFILE
    ) -> list[str]:
        """Interrupt the session's running operations; the operation ids interrupted."""
        server = self._servers.get(ServerKey(user, profile))
        if server is None or session_id not in server.sessions or not server.process.alive:
            return []
        return await asyncio.to_thread(
            self._interrupt, server.address, session_id, connect_user_id(user)
        )

    def _release(self, address: ConnectAddress, session_id: str, user_id: str) -> None:
        with ConnectRpc(address, self.rpc_timeout) as rpc:
            try:
                rpc.release_session(session_id, user_id)
            except ConnectRpcError as error:
                # A session no client ever used does not exist server-side: nothing to end.
                if "SESSION_NOT_FOUND" not in str(error):
                    raise

    def _interrupt(self, address: ConnectAddress, session_id: str, user_id: str) -> list[str]:
        with ConnectRpc(address, self.rpc_timeout) as rpc:
            return rpc.interrupt_all(session_id, user_id)

    def _grant(self, server: _Server, session_id: str) -> ConnectSessionGrant:
        return ConnectSessionGrant(
            user=server.key.user,
            profile=server.key.profile,
            session_id=session_id,
            server_id=server.id,
            address=server.address.for_session(session_id, connect_user_id(server.key.user)),
            spark_ui_url=server.spark_ui_url,
        )

    # --- servers -------------------------------------------------------------------------------------

    async def _running_server(self, key: ServerKey, conf: Mapping[str, str] | None) -> _Server:
        server = self._servers.get(key)
        if server is not None and server.process.alive:
            return server
        if server is not None:
            log.warning(
                "Spark Connect server of %s (%s) exited (code %s); starting a new one",
                key.user, key.profile, server.process.process.returncode if server.process.process else None,
            )  # fmt: skip
            del self._servers[key]
        server = self._claim_warm(key) or await self._start(key, conf)
        self._servers[key] = server
        return server

    def _claim_warm(self, key: ServerKey) -> _Server | None:
        """A warm server of the profile, now ``key.user``'s (its sessions are keyed by user_id)."""
        spares = self._warm.get(key.profile, [])
        while spares:
            server = spares.pop(0)
            if server.process.alive:
                server.key = key
                log.info("%s takes a warm Spark Connect server (%s)", key.user, key.profile)
                return server
            log.warning("a warm Spark Connect server (%s) had exited", key.profile)
        return None

    async def keep_warm(self, profile: str, count: int, conf: Mapping[str, str] | None) -> None:
        """Start warm servers of ``profile`` until ``count`` live ones wait (one at a time: each
        is a JVM); stop those beyond it."""
        spares = self._warm.setdefault(profile, [])
        spares[:] = [server for server in spares if server.process.alive]
        while len(spares) > count:
            await asyncio.to_thread(spares.pop().process.stop)
        if len(spares) < count:
            spares.append(await self._start(ServerKey(WARM, profile), conf))

    def ui_of(self, server_id: str) -> ServerUI | None:
        """The Spark UI of a running server: whom it serves, where, and how to be let in."""
        servers = [*self._servers.values(), *(s for spares in self._warm.values() for s in spares)]
        for server in servers:
            if server.id == server_id and server.spark_ui_url and server.process.alive:
                return ServerUI(
                    user=server.key.user,
                    url=server.spark_ui_url,
                    authorization=ui_guard.authorization(server.ui_key),
                )
        return None

    def warm_count(self, profile: str = DEFAULT_PROFILE) -> int:
        return sum(1 for server in self._warm.get(profile, []) if server.process.alive)

    async def _start(self, key: ServerKey, conf: Mapping[str, str] | None = None) -> _Server:
        if conf is None and key.profile != DEFAULT_PROFILE and key.profile not in self.profiles:
            raise ConnectServerStartError(f"no Spark Connect profile named {key.profile!r}")
        server_id = secrets.token_hex(8)
        token = secrets.token_urlsafe(32)
        ui_key = ui_guard.new_key()
        conf = {
            "spark.connect.session.manager.defaultSessionTimeout": f"{int(self.session_timeout)}s",
            **self.conf,
            **self.profiles.get(key.profile, {}),
            **(conf or {}),
        }
        if self.ui_proxy_base is not None:  # its UI is served through the Jupyter server
            conf["spark.ui.proxyBase"] = self.ui_proxy_base(server_id)
            conf["spark.ui.killEnabled"] = "false"
        conf = ui_guard.filter_conf(ui_key, conf)  # its UI answers the broker's proxy alone
        who = "warm" if key.user == WARM else connect_user_id(key.user)
        process = ConnectServerProcess(
            token=token,
            log_file=self.log_dir / f"connect-{who}-{key.profile}-{server_id}.log",
            app_name=f"jsb-connect-{who}-{key.profile}",
            master=self.master,
            conf=conf,
        )
        started = time.time()
        # Spawned on the event-loop thread, which lives as long as Jupyter (the child's lifeline).
        process.spawn()
        try:
            endpoint = await asyncio.to_thread(process.wait_until_ready, self.startup_timeout)
        except BaseException:
            metrics.CONNECT_SERVER_STARTS.labels(key.profile, "failed").inc()
            await asyncio.to_thread(process.stop)
            raise
        metrics.CONNECT_SERVER_STARTS.labels(key.profile, "ok").inc()
        log.info(
            "Spark Connect server for %s (%s) listens on 127.0.0.1:%d, pid %s, in %.1f s",
            key.user, key.profile, endpoint.port, process.pid, time.time() - started,
        )  # fmt: skip
        return _Server(
            key=key,
            id=server_id,
            process=process,
            address=ConnectAddress(host="localhost", port=endpoint.port, token=SecretStr(token)),
            spark_ui_url=endpoint.spark_ui_url,
            started=started,
            ui_key=ui_key,
        )

    async def _stop(self, server: _Server) -> None:
        if self._servers.get(server.key) is server:
            del self._servers[server.key]
        await asyncio.to_thread(server.process.stop)
        log.info("stopped the Spark Connect server of %s (%s)", server.key.user, server.key.profile)

    async def stop_server(self, user: str, profile: str = DEFAULT_PROFILE) -> bool:
        key = ServerKey(user, profile)
        async with self._lock(key):
            server = self._servers.get(key)
            if server is None:
                return False
            await self._stop(server)
            return True

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop_server(k.user, k.profile) for k in list(self._servers)))
        spares = [server for servers in self._warm.values() for server in servers]
        self._warm.clear()
        await asyncio.gather(*(asyncio.to_thread(server.process.stop) for server in spares))

    async def health(self, user: str, profile: str = DEFAULT_PROFILE) -> ServerHealth:
        """Does the server run, and does it serve a call with its token? (It releases a session id
        nobody uses: the cheapest call that goes through authentication and the session manager.)"""
        server = self._servers.get(ServerKey(user, profile))
        if server is None:
            return ServerHealth(False, False, "no server")
        if not server.process.alive:
            popen = server.process.process
            return ServerHealth(
                False, False, f"exited with code {popen.returncode if popen else None}"
            )
        try:
            await asyncio.to_thread(
                self._release, server.address, new_session_id(), connect_user_id(user)
            )
        except ConnectRpcError as error:
            return ServerHealth(True, False, str(error))
        return ServerHealth(True, True, "serving")

    def server_counts(self) -> list[tuple[tuple[str, str], int]]:
        """((profile, state), count) of the servers whose process lives, state ``in_use`` (a
        user's) or ``warm``: the metrics gauge."""
        counts: dict[tuple[str, str], int] = {}
        running = [(server, "in_use") for server in self._servers.values()]
        running += [(server, "warm") for servers in self._warm.values() for server in servers]
        for server, state in running:
            if server.process.alive:
                labels = (server.key.profile, state)
                counts[labels] = counts.get(labels, 0) + 1
        return sorted(counts.items())

    def servers(self) -> list[ConnectServerInfo]:
        return [
            ConnectServerInfo(
                user=server.key.user,
                profile=server.key.profile,
                server_id=server.id,
                port=server.address.port,
                pid=server.process.pid,
                alive=server.process.alive,
                spark_ui_url=server.spark_ui_url,
                started=server.started,
                sessions=tuple(sorted(server.sessions)),
            )
            for server in self._servers.values()
        ]
