"""``jupyter-spark-broker hub-service``: the service JupyterHub runs (``c.JupyterHub.services``).

It reads the configuration the Jupyter servers read (``jupyter_server_config`` on the Jupyter config
path: endpoints, registry, key file), opens their shared registry, runs the broker's lifecycle (it
takes its turn at listing the endpoints, and reaps for every server: the sessions of servers that
stopped beating are killed after ``idle_timeout`` though no server is left), and serves the
operators' page and API at its prefix. Where and as whom come from the environment the Hub gives its
services (``JUPYTERHUB_SERVICE_URL``, ``JUPYTERHUB_SERVICE_PREFIX``, ``JUPYTERHUB_API_TOKEN``...).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from urllib.parse import urlparse

from jupyter_core.application import JupyterApp
from sqlalchemy.engine import make_url

from .._version import __version__
from .site import site_broker

SERVICE_URL_ENV = "JUPYTERHUB_SERVICE_URL"
# What the Hub gives its managed services, and the service cannot run without (its OAuth client).
HUB_ENV = ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL", "JUPYTERHUB_CLIENT_ID", SERVICE_URL_ENV)


class HubServiceApp(JupyterApp):
    name = "jupyter-spark-broker-hub-service"
    version = __version__
    description = (
        "The JupyterHub service of the Spark broker: every user's sessions for the Hub's admins "
        "(page and API at /services/<name>/), and the reaper for servers the Hub stopped."
    )
    # What the Jupyter servers read: c.SparkBroker.*, c.SparkEndpoints.*, c.SparkBrokerApp.db_url...
    config_file_name = "jupyter_server_config"

    def start(self) -> None:
        missing = [name for name in HUB_ENV if not os.environ.get(name)]
        if missing:
            self.exit(
                f"{', '.join(missing)} not set: JupyterHub runs this service and sets them "
                "(c.JupyterHub.services, see the operators' guide); to run it yourself, set them "
                "as for an externally managed service."
            )
        asyncio.run(self.serve())

    async def serve(self) -> None:
        from jupyterhub.services.auth import HubOAuth
        from tornado.web import Application

        from .handlers import service_handlers

        self._log_where_the_app_logs()
        url = urlparse(os.environ[SERVICE_URL_ENV])
        # The Hub's OAuth client: its id, API token and URLs from the environment the Hub sets.
        hub_auth = HubOAuth(parent=self, cache_max_age=60)
        broker = site_broker(self)
        await broker.registry.open()
        await broker.start()
        prefix = hub_auth.base_url  # JUPYTERHUB_SERVICE_PREFIX: /services/spark-broker/
        app = Application(
            service_handlers(prefix, broker, hub_auth),
            cookie_secret=os.urandom(32),
            xsrf_cookies=True,
            login_url=hub_auth.login_url,
        )
        server = app.listen(url.port or 80, address=url.hostname or "127.0.0.1")
        self.log.info(
            "Spark broker Hub service at %s%s: registry %s, endpoints %s",
            url.geturl().rstrip("/"),
            prefix,
            make_url(broker.registry.url).render_as_string(hide_password=True),
            broker.endpoints.names(),
        )
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):  # the Hub stops its services with SIGTERM
            loop.add_signal_handler(signum, stopping.set)
        try:
            await stopping.wait()
        finally:
            server.stop()
            await broker.stop()
            await broker.registry.close()
            self.log.info("Spark broker Hub service stopped")

    def _log_where_the_app_logs(self) -> None:
        """The broker's loggers (the reaper's and the audit trail's lines) write to this log."""
        package_log = logging.getLogger("jupyter_spark_broker")
        if not package_log.handlers:
            for handler in self.log.handlers:
                package_log.addHandler(handler)
            package_log.setLevel(logging.INFO)


main = HubServiceApp.launch_instance

if __name__ == "__main__":
    main()
