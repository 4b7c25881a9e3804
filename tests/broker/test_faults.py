"""Livy in trouble, through a real proxy (tests/faults): each fault gets a clear answer within the
configured timeouts, the broker recovers when it ends, and no Livy session is leaked or duplicated."""

from __future__ import annotations

import time

import pytest

from jupyter_spark_broker.livy import CreateSessionRequest, LivyClient
from tests.broker.prometheus import grew, scrape
from tests.faults.livy_behind_proxy import LivyBehindProxy
from tests.helpers import eventually

READ_TIMEOUT = 1.5  # livy_read_timeout: a hung Livy costs a request this long
RETRIES = 2  # livy_retries: idempotent calls are tried 3 times
START_TIMEOUT = 2.0  # session_start_timeout
# The longest any request may take against a faulty Livy: every attempt timing out, and the retry
# sleeps (RetryPolicy: at most 0.1 + 0.2 s here), plus room for a busy 2-core machine.
ANSWER_WITHIN = (RETRIES + 1) * READ_TIMEOUT + 5.0
ERRORS = "spark_broker_livy_errors_total"
LIVE = ("not_started", "starting", "recovering", "idle", "busy", "running")


@pytest.fixture
def faulty(tmp_path):
    livy = LivyBehindProxy(["--spark", "off"], tmp_path)
    yield livy
    livy.stop()


@pytest.fixture
def broker_config(broker_config, faulty):
    broker_config["endpoints"]["faulty"] = {"url": faulty.url}
    return {
        **broker_config,
        "default_endpoint": "faulty",
        "livy_read_timeout": READ_TIMEOUT,
        "livy_connect_timeout": 1.0,
        "livy_retries": RETRIES,
        "session_start_timeout": START_TIMEOUT,
    }


async def timed(request):
    started = time.monotonic()
    reply = await request
    return reply, time.monotonic() - started


async def attach(api, path: str):
    reply = await api.post("attachments", {"path": path})
    assert reply.status in (200, 201), reply.json
    return reply.json


async def run(api, session_id: str, code: str):
    """The statement's result; first waits for the session's start, which session_start_timeout
    (short here, for the slow-start test) does not cover on a busy machine."""
    await eventually(
        lambda: _state_in(api, session_id, ("idle", "busy")),
        what=f"session {session_id} to be ready",
        timeout=60,
    )
    reply = await api.post(f"sessions/{session_id}/statements", {"code": code}, params={"wait": 30})
    assert reply.status == 201, reply.json
    return reply.json["output"]["data"]["text/plain"]


async def registry_live_names(api) -> list[str]:
    names = []
    for state in LIVE:
        listing = await api.get("sessions", params={"endpoint": "faulty", "state": state})
        names += [session["livy_name"] for session in listing.json["sessions"]]
    return names


async def livy_live_names(faulty) -> list[str]:
    async with LivyClient(faulty.livy_url) as livy:  # past the proxy: Livy's own list
        return [s.name for s in await livy.iter_all_sessions() if not s.is_finished]


async def assert_nothing_leaked(api, faulty, strangers: tuple[str, ...] = ()) -> None:
    """Every live Livy session is one live registry row, and the other way round, once the
    broker's state poller has caught up; ``strangers`` (not the broker's) are still there."""

    async def consistent():
        in_livy = await livy_live_names(faulty)
        if not set(strangers) <= set(in_livy):
            raise AssertionError(f"a stranger's session was deleted: {strangers} not in {in_livy}")
        in_livy = [name for name in in_livy if name not in strangers]
        in_registry = await registry_live_names(api)
        return len(in_livy) == len(set(in_livy)) and sorted(in_livy) == sorted(in_registry)

    await eventually(consistent, what="Livy's live sessions to match the registry's", timeout=60)


async def test_a_hung_livy_gives_504_in_time_and_the_broker_recovers(api, faulty):
    session_id = (await attach(api, "hang/a.ipynb"))["session_id"]
    assert await run(api, session_id, "1 + 1") == "2"

    before = await scrape(api)
    faulty.proxy.hang()
    statement, took = await timed(api.post(f"sessions/{session_id}/statements", {"code": "2"}))
    assert statement.status == 504 and statement.json["reason"] == "livy_timeout"
    assert "Livy endpoint 'faulty' timed out" in statement.json["message"]
    assert took < ANSWER_WITHIN
    created, took = await timed(api.post("attachments", {"path": "hang/b.ipynb"}))
    assert created.status == 504 and took < ANSWER_WITHIN
    log, took = await timed(api.get(f"sessions/{session_id}/log"))
    assert log.status == 504 and took < ANSWER_WITHIN
    listing = await api.get("sessions")  # the registry answers whatever Livy does
    assert listing.status == 200
    timeouts = grew(before, await scrape(api), ERRORS, endpoint="faulty", kind="timeout")
    assert timeouts >= 3  # at least the three calls above; the state poller's may add more

    faulty.proxy.heal()
    assert await run(api, session_id, "3 * 3") == "9"
    retried = await api.post("attachments", {"path": "hang/b.ipynb"})
    assert retried.status == 201
    assert await run(api, retried.json["session_id"], "'ok'") == "'ok'"
    await assert_nothing_leaked(api, faulty)


async def test_a_create_whose_reply_is_lost_leaks_no_session(api, faulty):
    """Livy made the session but its answer never came back: the broker must neither leak it
    nor make a second one when the notebook tries again, and leaves others' sessions alone."""
    # Another Jupyter server on this Livy, with its own registry, names its sessions the same way.
    stranger = f"jsb-{'f' * 32}"
    async with LivyClient(faulty.livy_url) as livy:
        await livy.create_session(CreateSessionRequest(kind="pyspark", name=stranger))
    faulty.proxy.hang_replies()
    lost, took = await timed(api.post("attachments", {"path": "lost-reply/a.ipynb"}))
    assert lost.status == 504 and took < ANSWER_WITHIN
    assert "timed out" in lost.json["message"]
    await eventually(lambda: _livy_has_sessions(faulty, 2), what="Livy to hold the session it made")

    before = await scrape(api)
    faulty.proxy.heal()
    again = await api.post("attachments", {"path": "lost-reply/a.ipynb"})
    assert again.status in (200, 201)
    assert await run(api, again.json["session_id"], "40 + 2") == "42"
    await assert_nothing_leaked(api, faulty, strangers=(stranger,))
    assert len(await livy_live_names(faulty)) == 2  # the notebook's, and the stranger's
    assert (
        grew(before, await scrape(api), "spark_broker_orphans_deleted_total", endpoint="faulty")
        == 1
    )


async def _livy_has_sessions(faulty, count: int) -> bool:
    return len(await livy_live_names(faulty)) == count


async def test_connection_resets_give_503_and_the_broker_recovers(api, faulty):
    session_id = (await attach(api, "reset/a.ipynb"))["session_id"]

    before = await scrape(api)
    faulty.proxy.reset()
    statement, took = await timed(api.post(f"sessions/{session_id}/statements", {"code": "1"}))
    assert statement.status == 503 and statement.json["reason"] == "livy_unreachable"
    assert "Livy endpoint 'faulty' is unreachable" in statement.json["message"]
    assert took < ANSWER_WITHIN
    log = await api.get(f"sessions/{session_id}/log")  # a read: retried, then the same answer
    assert log.status == 503
    created = await api.post("attachments", {"path": "reset/b.ipynb"})
    assert created.status == 503
    resets = faulty.proxy.count("reset")
    assert resets >= 1 + (RETRIES + 1) + 1
    unreachable = grew(before, await scrape(api), ERRORS, endpoint="faulty", kind="unreachable")
    assert unreachable >= 3

    faulty.proxy.heal()
    assert await run(api, session_id, "5 + 5") == "10"
    retried = await api.post("attachments", {"path": "reset/b.ipynb"})
    assert retried.status == 201
    await assert_nothing_leaked(api, faulty)


async def test_a_short_5xx_burst_is_absorbed_by_retries(api, faulty):
    session_id = (await attach(api, "burst/a.ipynb"))["session_id"]
    await run(api, session_id, "0")

    faulty.proxy.fail(503, count=RETRIES)  # fewer failures than the attempts a read gets
    log = await api.get(f"sessions/{session_id}/log")
    assert log.status == 200
    assert faulty.proxy.count("fail") == RETRIES


async def test_a_long_5xx_burst_gives_502_naming_livys_answer_then_recovers(api, faulty):
    session_id = (await attach(api, "burst/b.ipynb"))["session_id"]
    await run(api, session_id, "0")

    before = await scrape(api)
    faulty.proxy.fail(502)
    log, took = await timed(api.get(f"sessions/{session_id}/log"))
    assert log.status == 502 and log.json["reason"] == "livy_error"
    assert "answered 502" in log.json["message"]
    assert f"gave up after {RETRIES + 1} attempts" in log.json["message"]
    assert took < ANSWER_WITHIN
    statement = await api.post(f"sessions/{session_id}/statements", {"code": "1"})
    assert statement.status == 502  # a statement POST is never re-sent, so one 502 ends it
    created = await api.post("attachments", {"path": "burst/c.ipynb"})
    assert created.status == 502
    during = await scrape(api)
    assert grew(before, during, ERRORS, endpoint="faulty", kind="server_error") >= 3
    attempts = grew(
        before, during, "spark_broker_livy_request_seconds_count",
        endpoint="faulty", method="GET", route="/sessions/{session}/log", outcome="server_error",
    )  # fmt: skip
    assert attempts == RETRIES + 1  # each retry is an attempt of its own

    faulty.proxy.heal()
    assert await run(api, session_id, "2 + 2") == "4"
    assert (await api.post("attachments", {"path": "burst/c.ipynb"})).status == 201
    await assert_nothing_leaked(api, faulty)


async def test_a_slow_session_start_gives_504_after_the_start_timeout_then_runs(api, faulty):
    faulty.proxy.slow_start()
    attached = await attach(api, "slow/a.ipynb")
    session_id = attached["session_id"]
    statement, took = await timed(
        api.post(f"sessions/{session_id}/statements", {"code": "1"}, params={"wait": 30})
    )
    assert statement.status == 504 and statement.json["reason"] == "session_starting"
    assert f"still starting after {START_TIMEOUT:g} s" in statement.json["message"]
    # About its configured start timeout (its last poll may end it a little early), never much later.
    assert took < START_TIMEOUT + ANSWER_WITHIN
    again = await api.post("attachments", {"path": "slow/a.ipynb"})  # a kernel restart meanwhile
    assert again.status == 200 and again.json["session_id"] == session_id

    faulty.proxy.heal()
    assert await run(api, session_id, "6 * 7") == "42"
    await assert_nothing_leaked(api, faulty)
    assert len(await livy_live_names(faulty)) == 1


async def test_livy_restarted_without_its_sessions(api, faulty):
    first = await attach(api, "restart/a.ipynb")
    second = await attach(api, "restart/b.ipynb")
    assert await run(api, first["session_id"], "kept = 1") == ""

    faulty.restart_livy()  # the new Livy knows none of them
    statement = await api.post(f"sessions/{first['session_id']}/statements", {"code": "kept"})
    # Whichever saw it first, this request (Livy's 404) or the state poller, it is one answer.
    assert statement.status == 409
    assert statement.json["reason"] in ("session_lost", "session_finished")
    assert "Livy no longer has" in statement.json["message"]
    await eventually(
        lambda: _state_is(api, second["session_id"], "lost"),
        what="the state poller to mark the other session lost",
    )

    replaced = await api.post("attachments", {"path": "restart/a.ipynb"})
    assert replaced.status == 201 and replaced.json["session_id"] != first["session_id"]
    assert await run(api, replaced.json["session_id"], "1 + 2") == "3"
    await assert_nothing_leaked(api, faulty)
    assert len(await livy_live_names(faulty)) == 1


async def _state_is(api, session_id: str, state: str) -> bool:
    return await _state_in(api, session_id, (state,))


async def _state_in(api, session_id: str, states: tuple[str, ...]) -> bool:
    return (await api.get(f"sessions/{session_id}")).json["state"] in states
