"""``%%cleanup`` kills every session of the kernel's user, and never another user's, on a server with
several users (as under JupyterHub)."""

from __future__ import annotations

import pytest

from tests.broker.api_client import BrokerAPI
from tests.broker.test_ownership import jp_server_config  # noqa: F401 - users named by their token
from tests.kernel.conftest import start_kernel


@pytest.fixture
def kernel_env(kernel_env):
    return {**kernel_env, "SPARK_BROKER_TOKEN": "alice"}


async def test_cleanup_lists_then_kills_only_the_users_own_sessions(
    jp_serverapp, kernel_env, http_server_client, jp_base_url
):
    alice, bob = (BrokerAPI(http_server_client, jp_base_url, name) for name in ("alice", "bob"))
    alices_other = (await alice.post("attachments", {"path": "other.ipynb"})).json["session_id"]
    bobs = (await bob.post("attachments", {"path": "other.ipynb"})).json["session_id"]
    kernel = await start_kernel(jp_serverapp, kernel_env)
    try:
        await kernel.run("%%spark\nx = 1")
        _, listed, _ = await kernel.run("%%cleanup")  # without -f: a list, nothing killed
        assert "2 live Spark session(s) of yours" in listed and alices_other[:8] in listed
        assert bobs[:8] not in listed
        assert (await alice.get("sessions", params={"state": "killed"})).json["total"] == 0

        reply, shown, _ = await kernel.run("%%cleanup -f")
        assert reply["status"] == "ok" and "Killed 2 Spark session(s)" in shown
        assert (await alice.get(f"sessions/{alices_other}")).json["state"] == "killed"
        assert (await bob.get(f"sessions/{bobs}")).json["state"] not in ("killed", "lost")
        reply, shown, _ = await kernel.run("%%spark\n'fresh'")  # the next cell starts anew
        assert reply["status"] == "ok" and "Starting a new Spark session" in shown
    finally:
        await kernel.shutdown()
