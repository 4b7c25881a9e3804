"""The Livy client over real HTTP: the protocol conformance check.

Tests marked ``both_livys`` run on the shipped local Livy and on Apache Livy 0.9.0 itself, so the
client's calls and models and the local server's paths, states, statuses and bodies are held to the
real server. The rest use options only the local Livy has here (auth, limits, timers, its worker).
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile

import pytest

from jupyter_spark_broker.livy import (
    CreateSessionRequest,
    LivyClient,
    LivyNotFound,
    LivyRejected,
    LivyServerError,
)
from tests.helpers import eventually, wait_for_file


@pytest.mark.both_livys
async def test_full_session_lifecycle(livy, make_session, livy_backend):
    session = await make_session(name="lifecycle")
    assert session.kind == "pyspark"
    assert session.state == "idle"
    assert session.owner is None and session.proxy_user is None  # no auth, no impersonation
    if livy_backend == "apache":  # difference app_info_in_local_mode
        assert session.app_id is None
        assert session.app_info.driver_log_url is session.app_info.spark_ui_url is None
    else:
        assert session.app_info.driver_log_url.endswith(f"/sessions/{session.id}/log")
    assert (await livy.get_session_state(session.id)).state == "idle"
    assert (await livy.get_session("lifecycle")).id == session.id  # lookup by name

    statement = await livy.run_statement(session.id, "1 + 2", timeout=30)
    assert statement.state == "available"
    assert statement.output.status == "ok"
    assert statement.output.execution_count == statement.id
    assert statement.output.data == {"text/plain": "3"}
    assert statement.progress == 1.0
    assert 0 < statement.started <= statement.completed

    listed = await livy.list_statements(session.id)
    assert listed.total_statements == 1
    assert [s.id for s in listed.statements] == [statement.id]

    await livy.cancel_statement(session.id, statement.id)  # finished: a no-op, still 200
    assert (await livy.get_statement(session.id, statement.id)).state == "available"

    connected = await livy.connect_session(session.id)
    assert connected.id == session.id

    await livy.delete_session(session.id)
    with pytest.raises(LivyNotFound, match="not found"):
        await livy.get_session(session.id)
    with pytest.raises(LivyNotFound):
        await livy.delete_session(session.id)


@pytest.mark.both_livys
async def test_create_answers_201_with_location(livy_url, livy_backend):
    import httpx

    async with httpx.AsyncClient(base_url=livy_url) as http:
        reply = await http.post("/sessions", json={"kind": "python"})
        try:
            assert reply.status_code == 201
            body = reply.json()
            assert reply.headers["Location"] == f"/sessions/{body['id']}"
            assert body["kind"] == "pyspark"  # the alias is normalised
            assert body["appInfo"].keys() == {"driverLogUrl", "sparkUiUrl", "executorLogUrls"}
            # Unset numbers are 0, not null (SessionInfo).
            assert body["driverCores"] == body["executorCores"] == body["numExecutors"] == 0
            if livy_backend == "apache":  # difference create_reply_log
                assert body["log"] == ["stdout: ", "\nstderr: "]
            else:
                assert body["log"] == [f"livy-local: starting session {body['id']} (kind pyspark)"]
        finally:
            await http.delete(f"/sessions/{reply.json()['id']}")


@pytest.mark.both_livys
async def test_error_output_matches_livy(livy, pooled_session):
    session = await pooled_session()
    statement = await livy.run_statement(session.id, "x", timeout=30)
    assert statement.state == "available"  # no "error" statement state in Livy's code
    assert statement.output.model_dump() == {
        "status": "error",
        "execution_count": statement.id,
        "data": {},
        "ename": "NameError",
        "evalue": "name 'x' is not defined",
        "traceback": [
            "Traceback (most recent call last):\n",
            "NameError: name 'x' is not defined\n",
        ],
    }


@pytest.mark.both_livys
async def test_output_is_stdout_plus_last_expression(livy, pooled_session):
    session = await pooled_session()
    code = (
        "import sys\nprint('out')\nprint('err', file=sys.stderr)\nfor i in range(2):\n    i\n40 + 2"
    )
    statement = await livy.run_statement(session.id, code, timeout=30)
    # As in fake_shell.py: all of stdout, then all of stderr, right-stripped.
    assert statement.output.data == {"text/plain": "out\n42\nerr"}
    blank = await livy.run_statement(session.id, "y = 1", timeout=30)
    assert blank.output.data == {"text/plain": ""}


@pytest.mark.both_livys
async def test_livy_magics_json_and_table(livy, pooled_session):
    session = await pooled_session()
    await livy.run_statement(
        session.id, "rows = [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'y'}]", timeout=30
    )
    as_json = await livy.run_statement(session.id, "%json rows", timeout=30)
    assert as_json.output.data["application/json"] == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    as_table = await livy.run_statement(session.id, "%table rows", timeout=30)
    assert as_table.output.data["application/vnd.livy.table.v1+json"] == {
        "headers": [{"name": "a", "type": "INT_TYPE"}, {"name": "b", "type": "STRING_TYPE"}],
        "data": [[1, "x"], [2, "y"]],
    }
    unknown = await livy.run_statement(session.id, "%nope rows", timeout=30)
    assert unknown.output.is_error and unknown.output.ename == "UnknownMagic"
    assert unknown.output.evalue == "unknown magic command 'nope'"


async def test_shown_matplotlib_figure_is_image_png(livy, make_session):
    pytest.importorskip("matplotlib", reason="matplotlib is in the test extra")
    session = await make_session()
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()"
    statement = await livy.run_statement(session.id, code, timeout=60)
    assert statement.output.status == "ok", statement.output
    assert statement.output.data["image/png"].startswith("iVBORw0KGgo")  # base64 of the PNG magic


@pytest.mark.both_livys
async def test_statements_of_one_session_run_in_order(livy, pooled_session, livy_backend):
    session = await pooled_session()
    await livy.run_statement(session.id, "order = []", timeout=30)
    gate = os.path.join(tempfile.mkdtemp(), "gate")
    first = await livy.create_statement(session.id, wait_for_file(gate))
    if livy_backend == "apache":  # difference statement_post_state: its REPL may have started it
        assert first.state in ("waiting", "running")
    else:
        assert first.state == "waiting"
    submitted = [
        await livy.create_statement(session.id, f"import time; time.sleep(0.01); order.append({i})")
        for i in range(5)
    ]
    assert (await livy.get_session(session.id)).state == "busy"  # until the last one is done
    open(gate, "w").close()
    assert (await livy.wait_for_statement(session.id, first.id, timeout=60)).state == "available"
    for statement in submitted:
        finished = await livy.wait_for_statement(session.id, statement.id, timeout=30)
        assert finished.state == "available"
    result = await livy.run_statement(session.id, "order", timeout=30)
    assert result.output.data["text/plain"] == "[0, 1, 2, 3, 4]"
    assert (await livy.get_session(session.id)).state == "idle"


@pytest.mark.both_livys
async def test_two_sessions_run_statements_concurrently(livy, pooled_session):
    first, second = await pooled_session(), await pooled_session(slot=1)
    flag = os.path.join(tempfile.mkdtemp(), "flag")
    # The first statement can only finish once the second session has run its statement: if the
    # server ran sessions one after another, it would give up after 30 s with an error.
    waiter = await livy.create_statement(
        first.id,
        "import os, time\ndeadline = time.monotonic() + 30\n"
        f"while not os.path.exists({flag!r}):\n"
        "    assert time.monotonic() < deadline, 'the other session never ran'\n"
        "    time.sleep(0.01)\n'seen'",
    )
    await eventually(
        lambda: _state_is(livy, first.id, waiter.id, "running"), what="the waiter to run"
    )
    writer = await livy.run_statement(second.id, f"open({flag!r}, 'w').close()", timeout=30)
    assert writer.output.status == "ok"
    done = await livy.wait_for_statement(first.id, waiter.id, timeout=60)
    assert done.output.data == {"text/plain": "'seen'"}


@pytest.mark.both_livys
async def test_cancel_interrupts_a_running_statement(livy, pooled_session, livy_backend):
    session = await pooled_session()
    gate = os.path.join(tempfile.mkdtemp(), "gate")
    sleeper = await livy.create_statement(session.id, "import time\n" + wait_for_file(gate))
    await eventually(
        lambda: _state_is(livy, session.id, sleeper.id, "running"), what="the sleep to start"
    )
    await livy.cancel_statement(session.id, sleeper.id)
    if livy_backend == "apache":  # difference cancel_plain_python: the loop runs on
        await eventually(
            lambda: _state_is(livy, session.id, sleeper.id, "cancelling"), what="cancelling"
        )
        open(gate, "w").close()
    cancelled = await livy.wait_for_statement(session.id, sleeper.id, timeout=30)
    assert cancelled.state == "cancelled"
    assert cancelled.progress == 1.0
    # The session is still usable and kept its namespace.
    after = await livy.run_statement(session.id, "time.time() > 0", timeout=30)
    assert after.output.data == {"text/plain": "True"}
    assert (await livy.get_session(session.id)).state == "idle"


@pytest.mark.both_livys
async def test_cancel_of_a_waiting_statement(livy, pooled_session):
    session = await pooled_session()
    gate = os.path.join(tempfile.mkdtemp(), "gate")
    blocker = await livy.create_statement(session.id, wait_for_file(gate))
    queued = await livy.create_statement(session.id, "'never runs'")
    await livy.cancel_statement(session.id, queued.id)
    assert (await livy.get_statement(session.id, queued.id)).state == "cancelled"
    await livy.cancel_statement(session.id, blocker.id)
    open(gate, "w").close()  # Apache Livy's cancel leaves plain Python code running (see above)
    assert (await livy.wait_for_statement(session.id, blocker.id, timeout=20)).state == "cancelled"
    statements = (await livy.list_statements(session.id)).statements
    states = {s.id: s.state for s in statements}
    assert (states[blocker.id], states[queued.id]) == ("cancelled", "cancelled")


async def test_killed_worker_makes_the_session_dead(livy, make_session):
    session = await make_session()
    pid = int(
        (await livy.run_statement(session.id, "import os; os.getpid()")).output.data["text/plain"]
    )
    where = "import sys; sys.argv[sys.argv.index('--scratch') + 1]"
    scratch = (await livy.run_statement(session.id, where)).output.data["text/plain"].strip("'")
    assert os.path.isdir(scratch)  # the session's own files (the Scala REPL's classes)
    os.kill(pid, signal.SIGKILL)
    dead = await eventually(lambda: _dead(livy, session.id), what="the session to be dead")
    assert any("worker process killed by SIGKILL" in line for line in dead.log)
    assert not os.path.exists(scratch)  # removed by the server: the worker could not
    with pytest.raises(LivyServerError, match="Session is in state dead") as raised:
        await livy.create_statement(session.id, "1")
    assert raised.value.status == 500
    with pytest.raises(LivyRejected, match="Session isn't active"):
        await livy.list_statements(session.id)


@pytest.mark.both_livys
async def test_os_exit_in_a_statement_ends_the_session(livy, make_session, livy_backend):
    session = await make_session()
    statement = await livy.create_statement(session.id, "import os\nos._exit(3)")
    finished = await livy.wait_for_statement(session.id, statement.id, timeout=30)
    assert finished.state == "available"
    assert finished.output.ename == "Error"
    assert finished.output.evalue.startswith("Interpreter died:")
    if livy_backend == "apache":  # difference interpreter_exit: the driver lives on
        await eventually(
            lambda: _session_state_is(livy, session.id, "error"), what="the session in error"
        )
        return
    dead = await eventually(lambda: _dead(livy, session.id), what="the session to be dead")
    assert any("exited with code 3" in line for line in dead.log)


@pytest.mark.both_livys
async def test_log_paging(livy, pooled_session, livy_backend):
    session = await pooled_session()
    code = "import sys\nfor i in range(5): print(f'line {i}', file=sys.__stderr__, flush=True)"
    await livy.run_statement(session.id, code)
    if livy_backend == "local":  # difference python_stderr_in_session_log
        await eventually(
            lambda: _log_with(livy, session.id, "line 4"), what="the worker's stderr in the log"
        )

    async def pages_agree():
        everything = await livy.get_session_log(session.id, size=-1)
        head = await livy.get_session_log(session.id, from_=0, size=2)
        tail = await livy.get_session_log(session.id, size=2)  # default: the last `size` lines
        again = await livy.get_session_log(session.id, size=-1)
        return (everything, head, tail) if everything.log == again.log else None

    everything, head, tail = await eventually(pages_agree, what="the log to hold still")
    assert everything.from_ == 0 and everything.total == len(everything.log) >= 2
    assert head.log == everything.log[:2] and head.total == everything.total
    assert tail.from_ == everything.total - 2
    assert tail.log == everything.log[-2:]
    if livy_backend == "local":
        assert tail.log == ["line 3", "line 4"]
    else:
        assert not any(line.startswith("line 4") for line in everything.log)


@pytest.mark.both_livys
async def test_completion(livy, pooled_session, livy_backend):
    session = await pooled_session()
    await livy.run_statement(session.id, "import os")
    candidates = await livy.complete(session.id, "os.pa", kind="pyspark", cursor=5)
    if livy_backend == "apache":  # difference python_completion
        assert candidates == []
    else:
        assert "os.path" in candidates
    assert await livy.complete(session.id, "x", kind="sql", cursor=1) == []


async def test_heartbeat_expiry_deletes_the_session(livy, make_session):
    session = await make_session(heartbeatTimeoutInSecond=1)
    # GET /sessions does not refresh the heartbeat, so polling the list lets it expire.
    await eventually(
        lambda: _absent_from_list(livy, session.id), what="the watchdog to delete it", timeout=30
    )
    with pytest.raises(LivyNotFound):
        await livy.get_session(session.id)


async def test_idle_timeout_deletes_an_unused_session(start_local_livy):
    server = start_local_livy("--spark", "off", "--session-timeout", "2", "--gc-interval", "0.2")
    async with LivyClient(server.url) as client:
        # Created back to back and not awaited until ready: on a busy machine a start can take
        # longer than the idle timeout, which would collect the first before it is kept alive.
        kept_alive = await client.create_session(CreateSessionRequest(kind="pyspark"))
        idle = await client.create_session(CreateSessionRequest(kind="pyspark"))

        async def idle_gone_while_other_kept():
            await client.connect_session(kept_alive.id)  # activity resets its idle clock
            return await _absent_from_list(client, idle.id)

        await eventually(idle_gone_while_other_kept, what="the idle session to be collected")
        assert (await client.get_session(kept_alive.id)).state == "idle"


async def test_session_limits(start_local_livy, make_session):
    server = start_local_livy("--spark", "off", "--max-sessions", "1")
    async with LivyClient(server.url) as client:
        await make_session(client)
        with pytest.raises(LivyRejected, match="too many sessions") as raised:
            await make_session(client)
        assert raised.value.status == 400


async def test_csrf_protection(start_local_livy, make_session):
    import httpx

    server = start_local_livy("--spark", "off", "--csrf")
    async with httpx.AsyncClient(base_url=server.url) as http:
        refused = await http.post("/sessions", json={"kind": "pyspark"})
        assert refused.status_code == 400
        assert refused.headers["Content-Type"].startswith("text/html")  # Jetty's filter page
        assert "Missing Required Header for CSRF protection." in refused.text
        assert (await http.get("/sessions")).json()["total"] == 0  # nothing was created
    async with LivyClient(server.url) as client:  # the client always sends X-Requested-By
        session = await make_session(client)
        assert (await client.run_statement(session.id, "1")).output.data == {"text/plain": "1"}


async def test_basic_auth(start_local_livy, make_session):
    import httpx

    server = start_local_livy("--spark", "off", basic_auth=("alice", "s3cret pass"))
    async with LivyClient(server.url) as anonymous:
        with pytest.raises(LivyRejected, match="credentials") as raised:
            await anonymous.list_sessions()
        assert raised.value.status == 401
    async with LivyClient(server.url, auth=httpx.BasicAuth("alice", "wrong")) as wrong:
        with pytest.raises(LivyRejected) as raised:
            await wrong.create_session()
        assert raised.value.status == 401
    async with LivyClient(server.url, auth=httpx.BasicAuth("alice", "s3cret pass")) as alice:
        session = await make_session(alice)
        assert session.owner == "alice"


async def test_impersonation(start_local_livy, make_session, livy):
    import httpx

    analyst_login = httpx.BasicAuth("analyst", "pass-1")
    server = start_local_livy(
        "--spark", "off", "--impersonation", "--superusers", "root-ops",
        basic_auth=("analyst", "pass-1"),
    )  # fmt: skip
    async with LivyClient(server.url, auth=analyst_login) as analyst:
        as_self = await make_session(analyst)
        assert (as_self.owner, as_self.proxy_user) == ("analyst", "analyst")  # the requester
        named = await make_session(analyst, proxy_user="analyst")
        assert named.proxy_user == "analyst"
        with pytest.raises(LivyRejected) as refused:
            await analyst.create_session(CreateSessionRequest(kind="pyspark", proxy_user="boss"))
        assert refused.value.status == 403
        assert refused.value.livy_message == "User 'analyst' not allowed to impersonate 'boss'."
    superuser_server = start_local_livy(
        "--spark", "off", "--impersonation", "--superusers", "root-ops,analyst",
        basic_auth=("analyst", "pass-1"),
    )  # fmt: skip
    async with LivyClient(superuser_server.url, auth=analyst_login) as superuser:
        assert (await make_session(superuser, proxy_user="boss")).proxy_user == "boss"
    # Without impersonation (the shared server) proxyUser is reported null, whatever was asked.
    assert (await make_session(proxy_user="boss")).proxy_user is None


async def _session_state_is(livy, session_id, state):
    return (await livy.get_session_state(session_id)).state == state


async def _state_is(livy, session_id, statement_id, state):
    return (await livy.get_statement(session_id, statement_id)).state == state


async def _dead(livy, session_id):
    session = await livy.get_session(session_id)
    return session if session.state == "dead" else None


async def _log_with(livy, session_id, line):
    log = await livy.get_session_log(session_id, size=-1)
    return log if line in log.log else None


async def _absent_from_list(livy, session_id):
    listed = await livy.list_sessions(size=-1)
    return all(s.id != session_id for s in listed.sessions)


@pytest.mark.both_livys
async def test_many_statements_at_once_do_not_disturb_the_server(livy, pooled_session):
    session = await pooled_session()
    results = await asyncio.gather(
        *(livy.run_statement(session.id, f"{i} * 2", timeout=60) for i in range(20))
    )
    assert sorted(int(r.output.data["text/plain"]) for r in results) == [i * 2 for i in range(20)]
