"""The two calls JupyterLab's Spark panel makes besides the sessions API: who am I, and is each
endpoint healthy (a real local Livy, a port where nothing listens, the embedded Livy not yet started)."""

from __future__ import annotations

import socket

import pytest

from jupyter_spark_broker.broker.users import SERVER_OWNER


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when this returns: nothing listens there


@pytest.fixture
def broker_config(broker_config):
    endpoints = {**broker_config["endpoints"], "down": {"url": f"http://127.0.0.1:{closed_port()}"}}
    return {**broker_config, "endpoints": endpoints, "livy_retries": 0}


async def test_me_names_the_owner_of_the_caller_s_sessions(api):
    assert (await api.get("me")).json == {"user": SERVER_OWNER, "admin": False}


async def test_endpoint_health_says_which_answer_and_why_not(api):
    await api.post("sessions", {})  # at least one session on "test"
    reply = await api.get("endpoints/health")
    health = {entry["name"]: entry for entry in reply.json["endpoints"]}
    assert set(health) == {"test", "down", "local"}

    assert health["test"]["reachable"] is True and health["test"]["error"] is None
    assert health["test"]["version"].endswith("-local") and health["test"]["sessions"] >= 1

    assert health["down"]["reachable"] is False and health["down"]["sessions"] is None
    assert "127.0.0.1" in health["down"]["error"]

    # The embedded Livy is not started just to be asked.
    assert health["local"]["reachable"] is None and "first session" in health["local"]["error"]
