"""A notebook served from the warm pool says so: its session is ready, no Spark start to wait for."""

from __future__ import annotations

import pytest

from tests.broker.test_warm_pool import WARMUP, ends  # noqa: F401 - the shared Livy keeps nothing
from tests.helpers import eventually


@pytest.fixture
def broker_config(broker_config) -> dict:
    return {**broker_config, "warm_pool": {"default": 1}, "warm_pool_warmup": {"pyspark": WARMUP}}


async def test_a_pooled_session_is_announced_as_ready_not_starting(kernel, api, ends):  # noqa: F811
    async def warm() -> bool:
        profiles = (await api.get("profiles")).json["profiles"]
        return any(p["name"] == "default" and p["warm"] >= 1 for p in profiles)

    await eventually(warm, what="a warmed-up pooled session", timeout=120)
    reply, shown, _ = await kernel.run("%%spark\n'from the pool'")
    assert reply["status"] == "ok" and "'from the pool'" in shown
    assert "started ahead of time (the warm pool)" in shown
    assert "Starting a new" not in shown and "Starting Spark" not in shown
