"""The opt-in kernel websocket connection: a real server, a real kernel, a cell over the websocket, and
the server's end of that websocket sending without Nagle's delay."""

from __future__ import annotations

import json
import socket
import uuid

import pytest

from jupyter_spark_broker.server.websocket import NoDelayKernelConnection


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {
            "kernel_websocket_connection_class": (
                "jupyter_spark_broker.server.websocket.NoDelayKernelConnection"
            )
        }
    }


async def test_the_servers_end_of_a_kernel_websocket_has_tcp_nodelay(jp_fetch, jp_ws_fetch):
    started = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "python3"}))
    kernel_id = json.loads(started.body)["id"]
    websocket = await jp_ws_fetch("api", "kernels", kernel_id, "channels")
    msg_id = uuid.uuid4().hex
    request = {
        "header": {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "session": "s",
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": {"code": "6 * 7", "silent": False},
        "channel": "shell",
    }
    await websocket.write_message(json.dumps(request))
    while True:
        message = json.loads(await websocket.read_message())
        if message["msg_type"] == "execute_reply" and message["parent_header"]["msg_id"] == msg_id:
            break
    assert message["content"]["status"] == "ok"

    ours = [c for c in NoDelayKernelConnection._open_sockets if c.kernel_id == kernel_id]
    assert len(ours) == 1 and isinstance(ours[0], NoDelayKernelConnection)
    server_end = ours[0].websocket_handler.ws_connection.stream.socket
    assert server_end.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    websocket.close()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
