"""What a notebook user waits for in the "PySpark (broker)" kernel, measured as JupyterLab drives it.

    .venv/bin/python benchmarks/kernel_latency.py [--runs 100] [--restarts 5] [--spark on|off]
        [--websocket-nodelay] [--livy local|apache]

Starts a local Livy and a real ``jupyter server`` with the broker (subprocesses on loopback), opens a
notebook session with the wrapper kernel through ``/api/sessions`` and talks to the kernel over the
server's websocket, as Lab does. It measures:

1. a trivial remote cell (``1 + 1``): execute_request sent until execute_reply received, warm session;
   and, as the baseline of Jupyter and the kernel themselves, the same cell run locally (``%%local``).
   Both also straight over the kernel's ZMQ sockets (jupyter_client), without the server's websocket,
   which adds a fixed delay to every cell of every kernel;
2. kernel restart until the first remote result, when the notebook re-attaches to its live Spark
   session (the broker's case), and when a new session has to start (no broker: the session died with
   the kernel). Each restart is timed from the restart request to the first cell's execute_reply.

``--websocket-nodelay`` runs the server with ``jupyter_spark_broker.server.websocket.NoDelayKernelConnection``.

Results go to stdout as a table and one JSON line; record them in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from jupyter_client import BlockingKernelClient
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests/
from benchmarks.livy_server import livy_server  # noqa: E402
from tests.live_server import LiveJupyter  # noqa: E402

NOTEBOOK = "bench/kernel_latency.ipynb"


class KernelSocket:
    """The kernel's ``/channels`` websocket, speaking the JSON message protocol as Lab does."""

    def __init__(self, server: LiveJupyter, kernel_id: str):
        self.server, self.kernel_id = server, kernel_id
        self.session = uuid.uuid4().hex

    async def connect(self) -> None:
        url = self.server.url.replace("http", "ws", 1)
        request = HTTPRequest(
            f"{url}/api/kernels/{self.kernel_id}/channels?session_id={self.session}",
            headers=self.server.headers,
        )
        self.socket = await websocket_connect(request)
        self.socket.stream.set_nodelay(True)  # as browsers do

    async def execute(self, code: str) -> dict:
        """Send the cell; return its execute_reply content."""
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "session": self.session,
            "username": "bench",
            "version": "5.3",
        }
        content = {"code": code, "silent": False, "store_history": True, "allow_stdin": False}
        request = {"header": header, "parent_header": {}, "metadata": {}, "content": content}
        await self.socket.write_message(json.dumps({**request, "channel": "shell"}))
        while True:
            raw = await self.socket.read_message()
            if raw is None:
                raise RuntimeError("the kernel's websocket closed")
            message = json.loads(raw)
            if (
                message["msg_type"] == "execute_reply"
                and message["parent_header"].get("msg_id") == msg_id
            ):
                return message["content"]

    def close(self) -> None:
        self.socket.close()


async def timed_cell(kernel: KernelSocket, code: str = "1 + 1") -> float:
    started = time.perf_counter()
    reply = await kernel.execute(code)
    elapsed = time.perf_counter() - started
    assert reply["status"] == "ok", reply
    return elapsed


def zmq_cells(server: LiveJupyter, kernel_id: str, code: str, runs: int) -> list[float]:
    """The cell over the kernel's own sockets, as jupyter_client talks to it."""
    client = BlockingKernelClient()
    client.load_connection_file(server.workdir / "data" / "runtime" / f"kernel-{kernel_id}.json")
    client.start_channels()
    try:
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            reply = client.execute_interactive(code, output_hook=lambda message: None, timeout=60)
            samples.append(time.perf_counter() - started)
            assert reply["content"]["status"] == "ok", reply["content"]
        return samples
    finally:
        client.stop_channels()


async def restart_to_first_result(
    http: httpx.AsyncClient, server: LiveJupyter, kernel_id: str
) -> float:
    started = time.perf_counter()
    (await http.post(f"/api/kernels/{kernel_id}/restart")).raise_for_status()
    kernel = KernelSocket(server, kernel_id)
    await kernel.connect()
    try:
        await timed_cell(kernel)
    finally:
        kernel.close()
    return time.perf_counter() - started


async def kill_notebook_sessions(http: httpx.AsyncClient) -> None:
    listed = await http.get("/spark-broker/api/sessions", params={"path": NOTEBOOK})
    for session in listed.json()["sessions"]:
        if session["state"] not in ("dead", "killed", "lost", "error"):
            (await http.delete(f"/spark-broker/api/sessions/{session['id']}")).raise_for_status()


async def measure(server: LiveJupyter, runs: int, restarts: int) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers, timeout=300) as http:
        opened = await http.post(
            "/api/sessions",
            json={"path": NOTEBOOK, "type": "notebook", "kernel": {"name": "pyspark_broker"}},
        )
        opened.raise_for_status()
        kernel_id = opened.json()["kernel"]["id"]
        kernel = KernelSocket(server, kernel_id)
        await kernel.connect()
        first_cell = await timed_cell(kernel)  # attaches, and starts the Spark session
        for _ in range(10):
            await timed_cell(kernel)
        cells = [await timed_cell(kernel) for _ in range(runs)]
        local_cells = [await timed_cell(kernel, "%%local\n1 + 1") for _ in range(runs)]
        kernel.close()
        zmq_remote = zmq_cells(server, kernel_id, "1 + 1", runs)
        zmq_local = zmq_cells(server, kernel_id, "%%local\n1 + 1", runs)

        reattached = [
            await restart_to_first_result(http, server, kernel_id) for _ in range(restarts)
        ]
        new_session = []
        for _ in range(restarts):
            await kill_notebook_sessions(http)
            new_session.append(await restart_to_first_result(http, server, kernel_id))
        await kill_notebook_sessions(http)
    return {
        "first_cell_s": first_cell,
        "trivial_cell": {"median_ms": statistics.median(cells) * 1000, "runs": len(cells)},
        "local_cell": {"median_ms": statistics.median(local_cells) * 1000, "runs": runs},
        "zmq_trivial_cell": {"median_ms": statistics.median(zmq_remote) * 1000, "runs": runs},
        "zmq_local_cell": {"median_ms": statistics.median(zmq_local) * 1000, "runs": runs},
        "restart_reattached": {"median_s": statistics.median(reattached), "runs": restarts},
        "restart_new_session": {"median_s": statistics.median(new_session), "runs": restarts},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--restarts", type=int, default=5)
    parser.add_argument("--spark", choices=("on", "off"), default="on")
    parser.add_argument("--websocket-nodelay", action="store_true")
    parser.add_argument("--livy", choices=("local", "apache"), default="local")
    options = parser.parse_args()
    spark = options.spark == "on"
    with tempfile.TemporaryDirectory() as tmp, livy_server(options.livy, spark=spark) as livy_url:
        workdir = Path(tmp)
        (workdir / NOTEBOOK).parent.mkdir(parents=True)
        (workdir / NOTEBOOK).write_text(
            '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
        )
        server_config = (
            {
                "kernel_websocket_connection_class": "jupyter_spark_broker.server.websocket.NoDelayKernelConnection"
            }
            if options.websocket_nodelay
            else {}
        )
        with LiveJupyter(
            workdir, livy_url, server_config=server_config, session_start_timeout=600
        ) as server:
            result = asyncio.run(measure(server, options.runs, options.restarts))
    result["spark"] = options.spark
    result["livy"] = options.livy
    result["websocket_nodelay"] = options.websocket_nodelay
    result["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }
    print(f"{'measure':<46}{'median':>12}{'runs':>6}")
    for name, key in (
        ("trivial remote cell, request to reply", "trivial_cell"),
        ("the same cell run locally (%%local)", "local_cell"),
        ("trivial remote cell, over ZMQ", "zmq_trivial_cell"),
        ("the same cell run locally, over ZMQ", "zmq_local_cell"),
    ):
        print(f"{name:<46}{result[key]['median_ms']:>9.1f} ms{result[key]['runs']:>6}")
    for name, key in (
        ("restart to first result, re-attached", "restart_reattached"),
        ("restart to first result, new session", "restart_new_session"),
    ):
        print(f"{name:<46}{result[key]['median_s']:>10.2f} s{result[key]['runs']:>6}")
    print(f"first cell of the notebook (session start): {result['first_cell_s']:.2f} s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
