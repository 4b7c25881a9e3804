"""An opt-in kernel websocket connection that sends without Nagle's delay.

jupyter_server leaves Nagle's algorithm on for kernel websockets. A cell's small replies then wait for
the client's delayed ACK, and every cell of every kernel takes about 40 ms more (48 ms against 8 ms for
``1 + 1`` here; ``benchmarks/README.md``). Opt in with::

    c.ServerApp.kernel_websocket_connection_class = (
        "jupyter_spark_broker.server.websocket.NoDelayKernelConnection"
    )

Not set by the extension: a server that talks to a kernel gateway needs the gateway's own class.
"""

from __future__ import annotations

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection


class NoDelayKernelConnection(ZMQChannelsWebsocketConnection):
    def connect(self):
        self.websocket_handler.set_nodelay(True)
        return super().connect()
