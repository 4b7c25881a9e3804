"""Two Jupyter servers on one registry: each reaps only the attachments of its own kernels, and those
of a server that stopped or stopped beating.

Server A is pytest-jupyter's; server B is a real ``jupyter server`` subprocess on the same SQLite file
and the same Livy. Both are real: B's kernel is a real kernel A knows nothing about.
"""

from __future__ import annotations

import asyncio
import signal
import time

import httpx
import pytest

from tests.live_server import LiveJupyter

SERVER_TIMEOUT = 3.0  # server B beats every 0.2 s: a live B is never near it


@pytest.fixture
def broker_config(broker_config) -> dict:
    return {**broker_config, "server_timeout": SERVER_TIMEOUT}


@pytest.fixture
def start_server_b(tmp_path, livy_url, broker_config):
    started: list[LiveJupyter] = []

    async def start() -> LiveJupyter:
        workdir = tmp_path / f"server-b-{len(started)}"
        workdir.mkdir()
        server = LiveJupyter(
            workdir,
            livy_url,
            db_url=broker_config["db_url"],  # server A's registry
            endpoints={"test": {"url": livy_url}},
            default_endpoint="test",
            reap_interval=0.2,
            server_timeout=SERVER_TIMEOUT,
        )
        started.append(server)
        await asyncio.to_thread(server.__enter__)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)


async def attach_a_kernel_of(server: LiveJupyter, path: str) -> dict:
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers) as http:
        kernel = (await http.post("/api/kernels", json={"name": "python3"})).json()
        attached = await http.post(
            "/spark-broker/api/attachments", json={"path": path, "kernel_id": kernel["id"]}
        )
    assert attached.status_code == 201, attached.text
    return attached.json()


async def attachment_ids(broker, path: str) -> list[str]:
    return [a.id for a in (await broker.registry.attachments(path=path))[0]]


async def until_detached(broker, attachment_id: str, path: str, timeout: float = 60.0) -> None:
    """Server A's own reaper loop runs every 0.2 s; wait for its verdict, with a deadline."""
    deadline = time.monotonic() + timeout
    while attachment_id in await attachment_ids(broker, path):
        assert time.monotonic() < deadline, "server A never reaped the attachment"
        await asyncio.sleep(0.1)


async def test_a_live_servers_kernels_keep_their_attachments(broker_app, start_server_b):
    await broker_app.ensure_started()
    server_b = await start_server_b()
    attached = await attach_a_kernel_of(server_b, "multi/live.ipynb")
    broker = broker_app.broker
    for _ in range(3):  # several rounds of server A's reaper, which does not know B's kernel
        await broker.lifecycle.reap()
    assert await attachment_ids(broker, "multi/live.ipynb") == [attached["id"]]
    session = await broker.registry.get_session(attached["session_id"])
    assert session.unattached_since is None

    # B stops cleanly: its kernels stop with it, and A drops their attachments (B's stop removes its
    # heartbeat row, so at A's next round).
    await asyncio.to_thread(server_b.__exit__, None, None, None)
    await until_detached(broker, attached["id"], "multi/live.ipynb")


async def test_a_crashed_servers_attachments_go_once_its_heartbeat_is_stale(
    broker_app, start_server_b
):
    await broker_app.ensure_started()
    server_b = await start_server_b()
    attached = await attach_a_kernel_of(server_b, "multi/crash.ipynb")
    server_b.process.send_signal(signal.SIGKILL)  # no shutdown hook runs: only the heartbeat stops
    await asyncio.to_thread(server_b.process.wait)
    await until_detached(broker_app.broker, attached["id"], "multi/crash.ipynb")
    session = await broker_app.broker.registry.get_session(attached["session_id"])
    assert session.unattached_since is not None  # the idle clock runs: the reaper ends it later
