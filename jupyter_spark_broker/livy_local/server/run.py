"""Running the local Livy: bind, serve, and stop every session on the way out."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import tornado.httpserver
import tornado.netutil

from ..config import READY_PREFIX, LocalLivyConfig
from ..sessions import SessionManager
from ..worker.scratch import sweep_orphaned_scratch
from .routes import make_app

log = logging.getLogger("livy_local")

# The one line this process writes to stdout, once it answers: whoever started it reads the URL there.


async def serve(config: LocalLivyConfig, *, announce: bool = True) -> None:
    for path in sweep_orphaned_scratch():
        log.info("removed the scratch directory of a local Livy that died: %s", path)
    sockets = tornado.netutil.bind_sockets(config.port, address=config.host)
    port = sockets[0].getsockname()[1]
    url = f"http://{config.host}:{port}"
    manager = SessionManager(config, server_url=url)
    server = tornado.httpserver.HTTPServer(make_app(manager, config))
    server.add_sockets(sockets)
    manager.start_timers()

    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    log.info("local Livy listening on %s (spark: %s)", url, config.spark)
    if announce:
        print(f"{READY_PREFIX}{url}", flush=True)
    try:
        await stopped.wait()
    finally:
        server.stop()
        await manager.shutdown()
        log.info("local Livy stopped")


def run(config: LocalLivyConfig, *, access_log: bool = False) -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    # Embedded, this process writes to Jupyter's terminal: one line per poll would drown it.
    logging.getLogger("tornado.access").setLevel(logging.INFO if access_log else logging.WARNING)
    asyncio.run(serve(config))
