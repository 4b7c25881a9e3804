"""How the broker polls Livy for a statement: the POST starts the polling, so the long-poll that a
kernel sends right after it finds the answer already there."""

from __future__ import annotations

import pytest

from tests.helpers import eventually


@pytest.fixture
def own_livy(start_local_livy):
    return start_local_livy("--spark", "off")  # this test stops it


@pytest.fixture
def broker_config(broker_config, own_livy) -> dict:
    endpoints = {**broker_config["endpoints"], "own": {"url": own_livy.url}}
    return {**broker_config, "endpoints": endpoints}


async def test_the_long_poll_after_a_post_is_answered_from_the_polling_it_started(
    api, broker_app, own_livy
):
    attached = await api.post("attachments", {"path": "poll.ipynb", "endpoint": "own"})
    session_id = attached.json["session_id"]
    statements = f"sessions/{session_id}/statements"
    await api.post(statements, {"code": "1"}, params={"wait": 30})  # the session has started
    posted = await api.post(statements, {"code": "6 * 7"})
    assert posted.status == 201

    statements_proxy = broker_app.broker.statements  # the broker's pollers

    async def polled_to_the_end():
        return statements_proxy.finished_result(session_id, posted.json["id"]) is not None

    await eventually(polled_to_the_end, what="the broker to poll the statement to its end")
    own_livy.process.kill()  # from here on Livy cannot answer: the long-poll must not need it
    own_livy.process.wait()
    done = await api.get(f"{statements}/{posted.json['id']}", params={"wait": 5})
    assert done.status == 200 and done.json["output"]["data"] == {"text/plain": "42"}
