"""``SparkBrokerApp``: the Jupyter Server extension. Its own traits, the parts it plugs in, handlers.

The broker's settings are traits of :class:`~.broker.SparkBroker` (``c.SparkBroker.*``) and the
endpoints' of :class:`~.endpoints.SparkEndpoints` (``c.SparkEndpoints.*``): each written once, where
it is used.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING

from jupyter_server.extension.application import ExtensionApp
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from traitlets import Type, Unicode, default, validate
from traitlets.config import TraitError

from .._version import __version__
from ..broker.broker import SparkBroker
from ..broker.endpoints import SparkEndpoints
from ..broker.users import serves_several_users
from ..events import BrokerEvents, register_schemas
from ..kernel.settings import TOKEN_ENV, URL_ENV
from ..registry.location import default_db_url, default_secret_key_file
from ..registry.registry import Registry
from ..registry.sealing import Sealer
from ..support.json_types import JSONObject
from .events_subscription import SUBSCRIBE_PATH, ScopedSubscribeWebsocket
from .handlers import handlers
from .kernel_offer import offer_runnable_kernels, stop_offering
from .models import notebook_path
from .notebook_follow import contents_confirm, notebook_deleted, notebook_moved
from .pages import page_handlers
from .terminals import environment_bin, put_bin_on_terminal_path

if TYPE_CHECKING:
    from jupyter_events import EventLogger
    from jupyter_server.serverapp import ServerApp
    from jupyter_server.services.contents.manager import AsyncContentsManager, ContentsManager
    from traitlets import Bunch

# jupyter_server announces renames, moves and deletions of files with this schema.
CONTENTS_EVENTS = "https://events.jupyter.org/jupyter_server/contents_service/v1"


class SparkBrokerApp(ExtensionApp):
    name = "jupyter_spark_broker"
    version = __version__
    description = (
        "Owns Apache Livy sessions for Jupyter, binds them to notebooks, reaps the unused."
    )
    load_other_extensions = True

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
    default_kernel_name = Unicode(
        "pyspark_broker",
        config=True,
        help="Kernel started by /reconnectsparkmagic without kernelname.",
    )
    # The pluggable parts: a site or a test names its own class (configured as c.<ClassName>.*).
    registry_class = Type(Registry, config=True, help="The registry (SQLAlchemy) class.")
    endpoints_class = Type(
        SparkEndpoints, config=True, help="The class holding the Livy endpoints and their clients."
    )
    broker_class = Type(SparkBroker, config=True, help="The broker class.")

    @default("db_url")
    def _default_db_url(self) -> str:
        return default_db_url()

    @default("secret_key_file")
    def _default_secret_key_file(self) -> str:
        return default_secret_key_file(self.db_url)

    @validate("db_url")
    def _valid_db_url(self, proposal: Bunch) -> str:
        try:
            make_url(proposal["value"])
        except ArgumentError as error:
            raise TraitError(f"SparkBrokerApp.db_url: {error}") from None
        return proposal["value"]

    # -- wiring ---------------------------------------------------------------------------------

    @property
    def _server(self) -> ServerApp:
        """The Jupyter server; jupyter_server sets it before it calls any of the methods below."""
        assert self.serverapp is not None
        return self.serverapp

    @property
    def _event_logger(self) -> EventLogger:
        """The server's event bus (jupyter_server 2 always makes one)."""
        assert self._server.event_logger is not None
        return self._server.event_logger

    def initialize_settings(self) -> None:
        self._log_where_the_server_logs()
        self.registry: Registry = self.registry_class(self.db_url)
        kernel_manager = self._server.kernel_manager
        register_schemas(self._event_logger)
        self.broker: SparkBroker = self.broker_class(
            parent=self,
            registry=self.registry,
            endpoints=self.endpoints_class(parent=self),
            sealer=Sealer(self.secret_key_file),
            base_url=self._server.base_url,
            kernel_exists=lambda kernel_id: kernel_id in kernel_manager,
            events=BrokerEvents(self._event_logger),
        )
        self.broker.endpoints.several_users = serves_several_users(
            self._server.identity_provider, self.broker.admin_users
        )
        self._started: asyncio.Future[None] | None = None
        # The launcher offers a broker kernel only where some endpoint runs its kind (no SparkR
        # without an R-capable Livy); kernel_offer.py says why this way.
        offer_runnable_kernels(
            self._server.kernel_spec_manager, lambda: self.broker.endpoints.runnable_kinds()
        )
        self._event_logger.add_listener(schema_id=CONTENTS_EVENTS, listener=self._follow_notebooks)
        # Loaded after jupyter_server_terminals (extensions load by name): its manager is there.
        terminal_manager = self._server.web_app.settings.get("terminal_manager")
        if terminal_manager is not None:
            put_bin_on_terminal_path(terminal_manager, environment_bin())

    async def _follow_notebooks(
        self, logger: EventLogger, schema_id: str, data: JSONObject
    ) -> None:
        """Sessions follow their notebook through renames and moves; a deleted one releases them.
        Only once the contents manager confirms it: the event may come from any user."""
        root = self._server.root_dir
        contents = self._server.contents_manager
        try:
            if data["action"] == "rename":
                old, new = (
                    notebook_path(data["source_path"], root),
                    notebook_path(data["path"], root),
                )
                if await self._confirmed(contents, data, old, new):
                    await self.ensure_started()
                    await notebook_moved(self.broker, old, new)
            elif data["action"] == "delete":
                path = notebook_path(data["path"], root)
                if await self._confirmed(contents, data, path, None):
                    await self.ensure_started()
                    await notebook_deleted(self.broker, path)
        except Exception:  # a listener's error would only reach the event loop's log
            self.log.exception("Spark broker: could not follow %s of %s", data["action"], data)

    async def _confirmed(
        self,
        contents: ContentsManager | AsyncContentsManager,
        data: JSONObject,
        old: str,
        new: str | None,
    ) -> bool:
        if await contents_confirm(contents, old, new):
            return True
        # Said without the paths: a forged event's text is the sender's, not the server's.
        self.log.warning(
            "Spark broker: a contents %r event the contents manager does not confirm; ignored",
            data["action"],
        )
        return False

    def _log_where_the_server_logs(self) -> None:
        """The broker's module loggers (its audit trail among them) write to the server's log."""
        package_log = logging.getLogger("jupyter_spark_broker")
        if not package_log.handlers:
            for handler in self.log.handlers:
                package_log.addHandler(handler)
            if package_log.level == logging.NOTSET:
                package_log.setLevel(self.log.getEffectiveLevel())

    def initialize_handlers(self) -> None:
        self.handlers.extend(handlers() + page_handlers())
        # JupyterLab's event manager subscribes here: the broker's events reach their owners only.
        self.handlers.append((SUBSCRIBE_PATH, ScopedSubscribeWebsocket))

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

    async def _start_jupyter_server_extension(self, serverapp: ServerApp) -> None:
        # Kernels inherit the server's environment: this is how they find the broker unconfigured.
        os.environ.setdefault(URL_ENV, serverapp.connection_url)
        os.environ.setdefault(TOKEN_ENV, serverapp.identity_provider.token or "")
        await self.ensure_started()

    async def stop_extension(self) -> None:
        self._event_logger.remove_listener(
            schema_id=CONTENTS_EVENTS, listener=self._follow_notebooks
        )
        stop_offering(self._server.kernel_spec_manager)
        if self._started is not None:
            if not self._started.done():
                self._started.cancel()
            await self.broker.stop()
            await self.registry.close()
            self._started = None
