"""The broker's Prometheus series on jupyter_server's own /metrics, read before and after real actions."""

from __future__ import annotations

from tests.broker.conftest import restart_broker
from tests.broker.prometheus import grew, scrape, value
from tests.helpers import eventually

STATEMENTS = "/sessions/{session}/statements"


async def test_metrics_follow_attach_statements_detach_and_kill(api):
    before = await scrape(api)
    attached = await api.post("attachments", {"path": "metrics/a.ipynb"})
    assert attached.status == 201
    session_id = attached.json["session_id"]
    ok = await api.post(f"sessions/{session_id}/statements", {"code": "1 + 1"}, params={"wait": 60})
    assert ok.json["output"]["data"] == {"text/plain": "2"}
    failed = await api.post(
        f"sessions/{session_id}/statements", {"code": "1 / 0"}, params={"wait": 30}
    )
    assert failed.json["output"]["status"] == "error"
    missing = await api.get(f"sessions/{session_id}/statements/9999")
    assert missing.status == 404
    again = await api.post("attachments", {"path": "metrics/a.ipynb"})
    assert again.status == 200
    during = await scrape(api)
    assert await api.delete(f"attachments/{again.json['id']}") is not None
    assert (await api.delete(f"sessions/{session_id}")).status == 204
    killed = await api.get(f"sessions/{session_id}")
    assert killed.json["state"] == "killed", killed.json
    after = await scrape(api)

    broker = {"endpoint": "test", "profile": "default"}
    livy = {**broker, "protocol": "livy"}
    assert grew(before, during, "spark_broker_session_creations_total", **broker) == 1
    assert grew(before, during, "spark_broker_attaches_total", **livy, result="new_session") == 1
    assert (
        grew(before, during, "spark_broker_attaches_total", **livy, result="existing_session") == 1
    )
    assert (
        grew(before, during, "spark_broker_statement_seconds_count", endpoint="test", outcome="ok")
        == 1
    )
    assert (
        grew(
            before, during, "spark_broker_statement_seconds_count", endpoint="test", outcome="error"
        )
        == 1
    )
    # The session is live in the gauge while it runs, by its state; gone from it once killed.
    live = sum(
        value(during, "spark_broker_sessions", state=state, **livy)
        for state in ("not_started", "starting", "idle", "busy")
    )
    assert live >= 1
    posts = grew(
        before, during, "spark_broker_livy_request_seconds_count",
        endpoint="test", method="POST", route=STATEMENTS, outcome="ok",
    )  # fmt: skip
    assert posts == 2
    created = grew(
        before, during, "spark_broker_livy_request_seconds_count",
        endpoint="test", method="POST", route="/sessions", outcome="ok",
    )  # fmt: skip
    assert created == 1
    assert (
        grew(before, during, "spark_broker_livy_errors_total", endpoint="test", kind="not_found")
        >= 1
    )

    assert grew(during, after, "spark_broker_detaches_total", reason="request") == 1
    assert grew(during, after, "spark_broker_sessions_ended_total", **broker, state="killed") == 1
    deletes = grew(
        during, after, "spark_broker_livy_request_seconds_count",
        endpoint="test", method="DELETE", route="/sessions/{session}", outcome="ok",
    )  # fmt: skip
    assert deletes == 1


async def test_metrics_count_keep_alive_and_the_reaper(api, broker_app, jp_serverapp):
    await restart_broker(broker_app, idle_timeout=1.0)
    before = await scrape(api)
    kernel_id = await jp_serverapp.kernel_manager.start_kernel(kernel_name="python3")
    try:
        attached = await api.post(
            "attachments", {"path": "metrics/kept.ipynb", "kernel_id": kernel_id}
        )
        assert attached.status == 201
        unattached = await api.post("sessions", {})
        assert unattached.status == 201

        async def kept_alive():
            samples = await scrape(api)
            return grew(
                before, samples, "spark_broker_keepalive_actions_total",
                endpoint="test", action="connect", outcome="ok",
            ) >= 1  # fmt: skip

        await eventually(kept_alive, what="a keep-alive connect to be counted")

        async def reaped(action: str):
            samples = await scrape(api)
            return grew(
                before, samples, "spark_broker_reaper_actions_total", action=action, outcome="ok"
            )

        await eventually(
            lambda: reaped("kill"), what="the unattached session's reaping to be counted"
        )
    finally:
        await jp_serverapp.kernel_manager.shutdown_kernel(kernel_id)
    await eventually(lambda: reaped("detach"), what="the gone kernel's detach to be counted")
    after = await scrape(api)
    assert grew(before, after, "spark_broker_detaches_total", reason="kernel_gone") >= 1
    ended = grew(
        before,
        after,
        "spark_broker_sessions_ended_total",
        endpoint="test",
        profile="default",
        state="killed",
    )
    assert ended >= 1
