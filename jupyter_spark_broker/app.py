"""``SparkBrokerApp``: the Jupyter Server extension. Config traits, handlers, broker lifecycle."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from traitlets import Bool, Dict, Enum, Float, Int, List, Unicode, default, validate
from traitlets.config import TraitError

from ._version import __version__
from .broker import BrokerSettings, SparkBroker
from .endpoints import LOCAL, Endpoints, parse_endpoints
from .handlers import handlers
from .kernel.settings import TOKEN_ENV, URL_ENV
from .livy import LivyTimeouts, RetryPolicy
from .registry import Registry
from .sealing import Sealer


class SparkBrokerApp(ExtensionApp):
    name = "jupyter_spark_broker"
    version = __version__
    description = (
        "Owns Apache Livy sessions for Jupyter, binds them to notebooks, reaps the unused."
    )
    load_other_extensions = True

    endpoints = Dict(
        config=True,
        help="""Livy endpoints by name: {"prod": {"url": "https://livy:8998", "auth": "Kerberos"}}.
        Keys per endpoint: url, auth (None | Basic_Access | Kerberos | dotted path of an httpx.Auth),
        username, password or password_file, auth_options (for Kerberos: keytab, principal, ccache,
        mutual_authentication, service, hostname_override, delegate, force_preemptive), headers,
        verify (bool or CA bundle path),
        session_defaults (Livy POST /sessions fields), description. An endpoint named 'local' without
        url (the default) is the shipped local Livy, started on first use.""",
    )
    default_endpoint = Unicode(
        LOCAL,
        config=True,
        help="Endpoint for notebooks that name none (env: SPARK_BROKER_ENDPOINT).",
    )
    local_livy_args = List(
        Unicode(),
        default_value=["--spark", "auto"],
        config=True,
        help="Command-line options of the embedded local Livy, e.g. ['--spark', 'off'].",
    )
    db_url = Unicode(
        config=True,
        help="SQLAlchemy URL of the registry. Default: an SQLite file in the Jupyter data dir, "
        "created mode 0600 (env: SPARK_BROKER_DB_URL). PostgreSQL serves several servers.",
    )
    secret_key_file = Unicode(
        config=True,
        help="Key file sealing credentials stored in the registry (created mode 0600). Default: "
        "beside the SQLite file, or in the Jupyter data dir.",
    )
    share_scope = Enum(
        ["notebook", "user"],
        default_value="notebook",
        config=True,
        help="notebook: each notebook path has its session; user: one per user, endpoint and kind.",
    )
    idle_timeout = Float(
        3600.0, config=True, help="Seconds a session may stay unattached before it is killed."
    )
    livy_heartbeat_timeout = Int(
        900,
        config=True,
        help="heartbeatTimeoutInSecond of new sessions: Livy deletes them if the broker stops "
        "refreshing them that long (0 = off).",
    )
    keepalive_interval = Float(60.0, config=True, help="Seconds between keep-alive rounds.")
    poll_interval = Float(
        5.0, config=True, help="Seconds between state refreshes when all is quiet."
    )
    reap_interval = Float(30.0, config=True, help="Seconds between reaper rounds.")
    server_timeout = Float(
        120.0,
        config=True,
        help="""Seconds after which another Jupyter server sharing the registry counts as gone when
        it has not beaten (each beats every reap_interval); its kernels' attachments are then dropped.
        Keep it several times the largest reap_interval of the servers.""",
    )
    session_start_timeout = Float(
        300.0, config=True, help="Seconds a statement waits for its session to finish starting."
    )
    session_defaults = Dict(
        config=True, help="Livy POST /sessions fields for every new session (after the endpoint's)."
    )
    default_kernel_name = Unicode(
        "pyspark_broker",
        config=True,
        help="Kernel started by /reconnectsparkmagic without kernelname.",
    )
    admin_users = List(
        Unicode(), config=True, help="Users who see and kill every session ('*' for everyone)."
    )
    impersonate = Bool(
        False,
        config=True,
        help="""Run every Spark session as its Jupyter user: Livy's proxyUser is the user's name, and
        a request naming another proxyUser is refused (403) except from admin_users. Needs Livy's
        livy.impersonation.enabled, with the broker's Livy user in livy.superusers. Turn it on for a
        server of several users: otherwise any of them can pick any proxyUser (sparkmagic#470).""",
    )
    authenticators = Dict(
        config=True,
        help="Auth names mapped to dotted paths of httpx.Auth classes (sparkmagic style).",
    )
    livy_connect_timeout = Float(5.0, config=True, help="Seconds to connect to Livy.")
    livy_read_timeout = Float(30.0, config=True, help="Seconds to wait for a Livy answer.")
    livy_retries = Int(4, config=True, help="Retries of an idempotent Livy call on 502/503/504.")

    @default("db_url")
    def _default_db_url(self) -> str:
        if os.environ.get("SPARK_BROKER_DB_URL"):
            return os.environ["SPARK_BROKER_DB_URL"]
        return "sqlite:///" + str(Path(jupyter_data_dir()) / "spark_broker" / "registry.sqlite")

    @default("secret_key_file")
    def _default_secret_key_file(self) -> str:
        if self.db_url.startswith("sqlite:///") and self.db_url != "sqlite:///:memory:":
            return str(Path(self.db_url[len("sqlite:///") :]).with_name("secret.key"))
        return str(Path(jupyter_data_dir()) / "spark_broker" / "secret.key")

    @default("default_endpoint")
    def _default_endpoint_from_env(self) -> str:
        return os.environ.get("SPARK_BROKER_ENDPOINT", LOCAL)

    @validate("endpoints")
    def _valid_endpoints(self, proposal: Any) -> dict:
        try:
            parse_endpoints(proposal["value"])
        except ValueError as error:
            raise TraitError(f"SparkBrokerApp.endpoints: {error}") from None
        return proposal["value"]

    @validate("db_url")
    def _valid_db_url(self, proposal: Any) -> str:
        try:
            make_url(proposal["value"])
        except ArgumentError as error:
            raise TraitError(f"SparkBrokerApp.db_url: {error}") from None
        return proposal["value"]

    # -- wiring ---------------------------------------------------------------------------------

    def initialize_settings(self) -> None:
        configured = parse_endpoints(self.endpoints)
        default_endpoint = self.default_endpoint
        if default_endpoint not in configured and default_endpoint != LOCAL:
            raise TraitError(
                f"SparkBrokerApp.default_endpoint {default_endpoint!r} is not configured"
            )
        self.registry = Registry(self.db_url)
        endpoints = Endpoints(
            configured,
            default=default_endpoint,
            local_livy_args=list(self.local_livy_args),
            timeouts=LivyTimeouts(connect=self.livy_connect_timeout, read=self.livy_read_timeout),
            retry=RetryPolicy(max_attempts=self.livy_retries + 1),
            authenticators=dict(self.authenticators),
        )
        kernel_manager = self.serverapp.kernel_manager
        self.broker = SparkBroker(
            self.registry,
            endpoints,
            Sealer(self.secret_key_file),
            BrokerSettings(
                share_scope=self.share_scope,
                idle_timeout=self.idle_timeout,
                livy_heartbeat_timeout=self.livy_heartbeat_timeout,
                keepalive_interval=self.keepalive_interval,
                poll_interval=self.poll_interval,
                reap_interval=self.reap_interval,
                server_timeout=self.server_timeout,
                session_start_timeout=self.session_start_timeout,
                session_defaults=dict(self.session_defaults),
                admin_users=frozenset(self.admin_users),
                impersonate=self.impersonate,
            ),
            kernel_exists=lambda kernel_id: kernel_id in kernel_manager,
        )
        self._started: asyncio.Task | None = None

    def initialize_handlers(self) -> None:
        self.handlers.extend(handlers())

    async def ensure_started(self) -> None:
        """Open the registry and start the broker once; requests and the start hook both call it."""
        if self._started is None:
            self._started = asyncio.ensure_future(self._start())
        await asyncio.shield(self._started)

    async def _start(self) -> None:
        await self.registry.open()
        await self.broker.start()
        self.log.info(
            "Spark broker ready: registry %s, endpoints %s",
            self._safe_db_url(),
            self.broker.endpoints.names(),
        )

    def _safe_db_url(self) -> str:
        return make_url(self.db_url).render_as_string(hide_password=True)

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        # Kernels inherit the server's environment: this is how they find the broker unconfigured.
        os.environ.setdefault(URL_ENV, serverapp.connection_url)
        os.environ.setdefault(TOKEN_ENV, serverapp.identity_provider.token or "")
        await self.ensure_started()

    async def stop_extension(self) -> None:
        if self._started is not None:
            if not self._started.done():
                self._started.cancel()
            await self.broker.stop()
            await self.registry.close()
            self._started = None
