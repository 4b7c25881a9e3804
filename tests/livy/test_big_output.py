"""Big output never wedges a local Livy session: it arrives whole, or cut past ``--max-output`` with a
marker; a cancel still works afterwards; a worker channel that breaks marks the session dead."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from jupyter_spark_broker.livy import LivyClient
from tests.conftest import FAST_TIMERS

OUTPUT_CUT_MARKER = "[output cut by the local Livy"


@pytest.fixture(scope="module")
def small_cap_livy_url(start_local_livy) -> str:
    """A local Livy that cuts statement output past 200,000 characters."""
    return start_local_livy("--spark", "off", "--max-output", "200000", *FAST_TIMERS).url


async def test_output_over_64_kib_arrives_whole_and_the_session_goes_on(make_session, livy):
    session = await make_session()
    big = await livy.run_statement(session.id, "print('C' * 70000)", timeout=30)
    assert big.state == "available", big
    assert big.output.data["text/plain"] == "C" * 70000
    after = await livy.run_statement(session.id, "1 + 1", timeout=30)
    assert after.output.data["text/plain"] == "2"


@pytest.mark.both_livys
async def test_output_over_a_million_characters(livy, pooled_session, livy_backend):
    session = await pooled_session()
    big = await livy.run_statement(session.id, "print('E' * 1_100_000)", timeout=120)
    assert big.state == "available", big.state
    text = big.output.data["text/plain"]
    if livy_backend == "apache":  # difference output_cap: Apache Livy has no cap
        assert text == "E" * 1_100_000
    else:  # the default --max-output, 1,000,000 characters
        assert text.startswith("E" * 1_000_000 + "\n" + OUTPUT_CUT_MARKER), text[-200:]
    after = await livy.run_statement(session.id, "1 + 1", timeout=30)
    assert after.output.data["text/plain"] == "2"


async def test_output_past_the_cap_is_cut_with_a_visible_marker(
    small_cap_livy_url, make_session, jp_asyncio_loop
):
    async with LivyClient(small_cap_livy_url) as client:
        session = await make_session(client)
        # Control characters swell six-fold in JSON: the cap holds for the encoded message too.
        huge = await client.run_statement(
            session.id, "print('\\x01' * 3_000_000, 'D' * 5_000_000)", timeout=60
        )
        assert huge.state == "available", huge
        text = huge.output.data["text/plain"]
        assert OUTPUT_CUT_MARKER in text
        assert len(text) < 210_000
        # A cancel still works on the same session once the big output is through.
        slow = await client.create_statement(session.id, "import time; time.sleep(60)")
        await client.cancel_statement(session.id, slow.id)
        cancelled = await client.wait_for_statement(session.id, slow.id, timeout=30)
        assert cancelled.state == "cancelled", cancelled
        after = await client.run_statement(session.id, "'still here'", timeout=30)
        assert after.output.data["text/plain"] == "'still here'"
        await client.delete_session(session.id)


async def test_a_huge_log_line_outside_statements_does_not_wedge(make_session, livy):
    """Output written straight to the worker's stdout (fd 1) becomes the session log, in pieces."""
    session = await make_session()
    code = "import os; os.write(1, b'L' * 300_000 + b'\\n'); 'ok'"
    done = await livy.run_statement(session.id, code, timeout=30)
    assert done.output.data["text/plain"] == "'ok'"
    after = await livy.run_statement(session.id, "2 + 2", timeout=30)
    assert after.output.data["text/plain"] == "4"
    log = await livy.get_session_log(session.id, size=1000)
    assert any(line.startswith("LLLL") for line in log.log)


async def test_a_broken_worker_channel_marks_the_session_dead(small_cap_livy_url, make_session):
    """User code that floods the worker's message socket with junk: the session ends ``dead`` with the
    reason in its log, rather than waiting forever."""
    async with LivyClient(small_cap_livy_url) as client:
        session = await make_session(client)
        flood = (
            "import os, sys; os.write(int(sys.argv[sys.argv.index('--fd') + 1]), b'x' * 8_000_000)"
        )
        await client.create_statement(session.id, flood)
        final = await client._poll_until(
            lambda: client.get_session(session.id), lambda s: s.state == "dead", 30
        )
        assert final.state == "dead", final
        log = await client.get_session_log(session.id, size=1000)
        assert any("channel" in line for line in log.log), log.log


def test_scratch_folders_of_a_killed_local_livy_are_swept_at_start(tmp_path):
    """A local Livy killed with SIGKILL cleans nothing; the next one to start removes what it left."""
    import subprocess

    from jupyter_spark_broker.livy_local import LocalLivyProcess

    env = {**os.environ, "TMPDIR": str(tmp_path)}
    killed = LocalLivyProcess(["--spark", "off"], env=env)
    killed.start()
    with httpx.Client(base_url=killed.url, timeout=30) as client:
        client.post("/sessions", json={"kind": "pyspark"}, headers={"X-Requested-By": "t"})
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("livy-session-*")):
            assert time.monotonic() < deadline, "the session made no scratch directory"
            time.sleep(0.05)
    killed.process.send_signal(signal.SIGKILL)
    killed.process.wait()
    # Its worker dies with it (parent-death signal); its scratch directory stays behind.
    left = list(tmp_path.glob("livy-session-*"))
    assert left
    alive = subprocess.Popen(["sleep", "60"])  # a live server's directory is never touched
    kept = tmp_path / f"livy-session-pid{alive.pid}-0-kept"
    kept.mkdir()
    try:
        with LocalLivyProcess(["--spark", "off"], env=env):
            assert not any(path.exists() for path in left)
            assert kept.exists()
    finally:
        alive.kill()
        alive.wait()
