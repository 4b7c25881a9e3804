"""No request is held longer than ``max_statement_wait``, whatever it asks: a statement sent to a session
still starting (with a long ``wait=`` or none), and a long-poll for a statement Livy says nothing
about. The session is held in ``starting`` by a fault, never by how fast Spark starts; Livy hangs
through a real proxy (tests/faults)."""

from __future__ import annotations

import time

import pytest

from tests.broker.test_statement_start_hold import SlowStartTransport
from tests.faults.livy_behind_proxy import LivyBehindProxy
from tests.helpers import eventually

MAX_WAIT = 2.0  # max_statement_wait
MARGIN = 4.0  # a loaded 2-core machine; what is tested is "not the 20 s, 30 s or 3599 s asked"
# Far longer than MAX_WAIT: before the cap, the holds below lasted this long.
START_TIMEOUT = 40.0  # session_start_timeout
READ_TIMEOUT = 20.0  # livy_read_timeout


async def timed(request):
    started = time.monotonic()
    reply = await request
    return reply, time.monotonic() - started


class TestAStartingSession:
    @pytest.fixture
    def broker_config(self, broker_config) -> dict:
        SlowStartTransport.holding = True
        return {
            **broker_config,
            "livy_transport_class": f"{SlowStartTransport.__module__}.SlowStartTransport",
            "max_statement_wait": MAX_WAIT,
            "session_start_timeout": START_TIMEOUT,
            # statement_start_hold stays at its default (20 s), above the cap
        }

    async def test_a_long_wait_is_cut_to_max_statement_wait(self, api):
        session = (await api.post("attachments", {"path": "slow.ipynb"})).json["session_id"]
        refused, took = await timed(
            api.post(f"sessions/{session}/statements", {"code": "1"}, params={"wait": 3599})
        )
        assert refused.status == 409 and refused.json["reason"] == "session_starting"
        assert took < MAX_WAIT + MARGIN

    async def test_the_start_hold_without_wait_is_cut_to_max_statement_wait(self, api):
        session = (await api.post("attachments", {"path": "slow.ipynb"})).json["session_id"]
        refused, took = await timed(api.post(f"sessions/{session}/statements", {"code": "1"}))
        assert refused.status == 409 and refused.json["reason"] == "session_starting"
        assert took < MAX_WAIT + MARGIN


class TestAHungLivy:
    @pytest.fixture
    def faulty(self, tmp_path):
        livy = LivyBehindProxy(["--spark", "off"], tmp_path)
        yield livy
        livy.stop()

    @pytest.fixture
    def broker_config(self, broker_config, faulty) -> dict:
        broker_config["endpoints"]["faulty"] = {"url": faulty.url}
        return {
            **broker_config,
            "default_endpoint": "faulty",
            "max_statement_wait": MAX_WAIT,
            "session_start_timeout": START_TIMEOUT,
            "livy_read_timeout": READ_TIMEOUT,
            "livy_retries": 0,
        }

    async def test_a_long_poll_for_a_statement_livy_says_nothing_about_ends_at_the_cap(
        self, api, faulty
    ):
        session = (await api.post("attachments", {"path": "hung.ipynb"})).json["session_id"]

        async def ready() -> bool:
            return (await api.get(f"sessions/{session}")).json["state"] == "idle"

        await eventually(ready, what="the session to be idle", timeout=60)
        faulty.proxy.hang()  # Livy takes the GET of the statement and never answers
        try:
            reply, took = await timed(
                api.get(f"sessions/{session}/statements/0", params={"wait": 3599})
            )
        finally:
            faulty.proxy.heal()
        assert reply.status == 504 and "max_statement_wait" in reply.json["message"]
        assert took < MAX_WAIT + MARGIN

    async def test_a_statement_for_a_starting_session_on_a_hung_livy_ends_at_the_cap(
        self, api, faulty
    ):
        faulty.proxy.slow_start()
        session = (await api.post("attachments", {"path": "hung.ipynb"})).json["session_id"]
        faulty.proxy.hang()  # and now Livy says nothing, not even "starting"
        try:
            reply, took = await timed(
                api.post(f"sessions/{session}/statements", {"code": "1"}, params={"wait": 3599})
            )
        finally:
            faulty.proxy.heal()
        assert reply.status == 409 and reply.json["reason"] == "session_starting"
        assert took < MAX_WAIT + MARGIN
