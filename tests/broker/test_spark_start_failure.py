"""A notebook whose session's SparkSession cannot start (``driverMemory: "1k"`` on the local Livy
with Spark: a size, so the API lets it through, too small for a JVM): the broker records the session
ended (``dead`` in Livy) with the end of Livy's log as its message, and a statement gets a 409
``session_finished`` that says why, which the kernel shows and then starts afresh. It once went
``idle`` and the kernel said "Spark ready", then ``NameError``."""

from __future__ import annotations

import pytest

from tests.helpers import eventually

pytestmark = [pytest.mark.spark, pytest.mark.timeout(300)]


@pytest.fixture
def broker_config(broker_config, start_local_livy):
    spark_livy = start_local_livy("--spark", "auto")  # the embedded Livy's default
    return {**broker_config, "endpoints": {"test": {"url": spark_livy.url}}}


async def test_a_session_whose_spark_cannot_start_is_dead_and_says_why(api):
    attached = await api.post(
        "attachments", {"path": "tiny.ipynb", "settings": {"driverMemory": "1k"}}
    )
    assert attached.status == 201, attached.json
    session_id = attached.json["session_id"]

    statement = await api.post(
        f"sessions/{session_id}/statements", {"code": "spark.range(3).count()"}, params={"wait": 60}
    )
    assert statement.status == 409, statement.json
    assert statement.json["reason"] == "session_finished"
    assert "Too small maximum heap" in statement.json["message"]

    async def ended():
        session = (await api.get(f"sessions/{session_id}")).json
        return session["state"] in ("error", "shutting_down", "dead") and session

    # Livy's way down is error, shutting_down, dead; the broker stops following a session at the
    # first of them it sees (all are ended for it).
    session = await eventually(ended, what="the broker to see the session end", timeout=60)
    assert session["message"].startswith("the end of its Livy log: ")
    assert "the local SparkSession could not start" in session["message"]
    assert session["attachments"] == []  # ended with it
