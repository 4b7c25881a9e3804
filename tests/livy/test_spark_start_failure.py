"""A local SparkSession that cannot start (a user trial: ``%%configure -f {"driverMemory": "lots"}``)
makes the local Livy's session ``dead``, as Apache Livy's is, with the reason in its log, under
``--spark on`` and under ``--spark auto`` (the embedded default) where pyspark and Java are: only a
machine without them gets plain-Python sessions. It once went ``idle`` without ``spark``."""

from __future__ import annotations

import pytest

from jupyter_spark_broker.livy import CreateSessionRequest, LivyClient
from jupyter_spark_broker.livy_local.config import spark_missing
from tests.helpers import eventually

pytestmark = [pytest.mark.spark, pytest.mark.timeout(300)]


@pytest.mark.parametrize("mode", ["on", "auto"])
async def test_a_sparksession_that_cannot_start_makes_the_session_dead(start_local_livy, mode):
    assert spark_missing() is None  # the spark tests run where pyspark and Java are
    server = start_local_livy("--spark", mode)
    async with LivyClient(server.url) as livy:
        request = CreateSessionRequest(kind="pyspark", driver_memory="lots")
        created = await livy.create_session(request)
        started = await livy.wait_for_session(created.id, timeout=120)
        assert started.state in ("error", "shutting_down", "dead")  # never idle

        async def dead():
            return (await livy.get_session(created.id)).state == "dead"

        await eventually(dead, what="the session to end dead", timeout=60)
        log = "\n".join((await livy.get_session_log(created.id, from_=0, size=-1)).log)
        assert "Invalid maximum heap size: -Xmxlots" in log  # the JVM's own words
        assert "session failed to start: the local SparkSession could not start: " in log
        assert "not bound" not in log  # no plain-Python fallback
