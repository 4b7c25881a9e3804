"""The broker's own Spark Connect servers, with pyspark's real Connect client in separate processes.

Run these in a loopback-only network namespace when you can:
``unshare --net bash -c 'ip link set lo up; .venv/bin/python -m pytest tests/connect'``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from pydantic import SecretStr

from jupyter_spark_broker.connect import ConnectRpc, ConnectUnauthenticated, new_session_id

from .conftest import client_command, client_environment, run_client

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def alice(shared_manager, run):
    """Alice's server, kept running by a session no test releases."""
    keeper = run(shared_manager.open_session("alice"))
    return keeper


def wait_for(condition, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_a_temp_view_survives_a_new_client_with_the_same_session_id(shared_manager, alice, run):
    grant = run(shared_manager.open_session("alice"))
    assert grant.server_id == alice.server_id  # one Spark application per user, one session each
    assert grant.address.host == "localhost"  # where pyspark's client sends a token without TLS

    run_client(grant.address.url(), "spark.range(7).createOrReplaceTempView('seven')").check()
    again = run_client(
        grant.address.url(), "print(spark.table('seven').count(), spark.conf.get('spark.app.id'))"
    ).check()
    count, app_id = again.last_line.split()
    assert count == "7"

    other = run(shared_manager.open_session("alice"))
    elsewhere = run_client(
        other.address.url(),
        "print(spark.catalog.tableExists('seven'), spark.conf.get('spark.app.id'))",
    ).check()
    assert elsewhere.last_line == f"False {app_id}"  # same application, not the same session


def test_the_server_refuses_a_url_without_its_token_or_with_another(shared_manager, alice, run):
    grant = run(shared_manager.open_session("alice"))
    without = grant.address.model_copy(update={"token": None})
    wrong = grant.address.model_copy(update={"token": SecretStr("not-the-token")})

    refused = run_client(without.url(), "spark.range(1).count()")
    assert refused.returncode != 0
    assert "UNAUTHENTICATED" in refused.stderr and "No authentication token" in refused.stderr
    refused = run_client(wrong.url(), "spark.range(1).count()")
    assert refused.returncode != 0
    assert "UNAUTHENTICATED" in refused.stderr and "Invalid authentication token" in refused.stderr

    with ConnectRpc(wrong) as rpc, pytest.raises(ConnectUnauthenticated):
        rpc.release_session(grant.session_id, grant.address.user_id)


def test_the_token_is_neither_in_the_command_line_nor_in_the_log(shared_manager, alice):
    (info,) = [server for server in shared_manager.servers() if server.user == "alice"]
    token = alice.address.token.get_secret_value()
    with open(f"/proc/{info.pid}/cmdline", "rb") as cmdline:
        assert token.encode() not in cmdline.read()
    (log_file,) = shared_manager.log_dir.glob(f"connect-alice-default-{info.server_id}.log")
    assert token not in log_file.read_text()
    assert log_file.stat().st_mode & 0o077 == 0
    assert token not in repr(alice) and token not in str(alice.address)


def test_release_ends_the_server_side_session(shared_manager, alice, run):
    grant = run(shared_manager.open_session("alice"))
    run_client(grant.address.url(), "spark.range(3).createOrReplaceTempView('three')").check()

    assert run(shared_manager.release_session("alice", grant.session_id)) is True
    after = run_client(grant.address.url(), "spark.range(1).count()")
    assert after.returncode != 0 and "INVALID_HANDLE.SESSION_CLOSED" in after.stderr
    (info,) = [server for server in shared_manager.servers() if server.user == "alice"]
    assert grant.session_id not in info.sessions and info.alive  # the keeper holds the server
    assert run(shared_manager.release_session("alice", grant.session_id)) is False


def test_interrupt_stops_the_sessions_running_operation(shared_manager, alice, run):
    grant = run(shared_manager.open_session("alice"))
    endless = "spark.range(0, 10**13, 1, 1).selectExpr('sum(id)').collect()"
    client = subprocess.Popen(
        client_command(endless),
        env=client_environment(grant.address.url()),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        interrupted = wait_for(
            lambda: run(shared_manager.interrupt_session("alice", grant.session_id)),
            timeout=120,
            what="an operation of the session to interrupt",
        )
        assert len(interrupted) == 1
        _, stderr = client.communicate(timeout=60)
    finally:
        client.kill()
    assert client.returncode != 0 and "OPERATION_CANCELED" in stderr
    # Another session's work on the same server goes on.
    assert run_client(alice.address.url(), "print(spark.range(4).count())").check().last_line == "4"


def test_health_a_dead_server_replaced_and_the_last_release_stops_it(make_manager, run):
    manager = make_manager()
    first = run(manager.open_session("bob"))
    assert run(manager.health("bob")).answers
    (info,) = manager.servers()
    os.kill(info.pid, signal.SIGKILL)
    wait_for(lambda: not run(manager.health("bob")).alive, 30, "the server to be seen dead")

    second = run(manager.open_session("bob", session_id=first.session_id))
    assert second.server_id != first.server_id  # a new application: the broker must know
    assert (
        run_client(second.address.url(), "print(spark.range(2).count())").check().last_line == "2"
    )
    (info,) = manager.servers()
    assert info.sessions == (first.session_id,)

    assert run(manager.release_session("bob", first.session_id)) is True
    assert manager.servers() == []
    assert not pid_alive(info.pid) and not port_open(info.port)
    assert not run(manager.health("bob")).alive


def test_a_server_ends_with_the_process_that_started_it(tmp_path):
    """The broker's servers die with the Jupyter server, even a SIGKILLed one: no JVM is left."""
    parent = textwrap.dedent(
        f"""
        import asyncio
        from jupyter_spark_broker.connect import ConnectServerManager

        async def main():
            manager = ConnectServerManager({str(tmp_path)!r}, master="local[1]",
                                           conf={{"spark.driver.memory": "512m"}})
            await manager.open_session("carol")
            print(manager.servers()[0].pid, flush=True)
            await asyncio.sleep(3600)

        asyncio.run(main())
        """
    )
    process = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    try:
        server_pid = int(process.stdout.readline())
        assert pid_alive(server_pid)
    finally:
        process.kill()
        process.wait()
    wait_for(lambda: not pid_alive(server_pid), 60, "the orphaned server to stop")


def test_a_server_that_cannot_start_says_why(make_manager, run):
    from jupyter_spark_broker.connect import ConnectServerStartError

    manager = make_manager(master="no-such-master")
    with pytest.raises(ConnectServerStartError, match=r"exited during start-up .*log: "):
        run(manager.open_session("dave"))
    assert manager.servers() == []
    with pytest.raises(ConnectServerStartError, match="no Spark Connect profile named 'gpu'"):
        run(manager.open_session("dave", "gpu"))


def test_a_new_session_id_is_a_uuid_the_server_accepts(shared_manager, alice, run):
    session_id = new_session_id()
    grant = run(shared_manager.open_session("alice", session_id=session_id))
    assert grant.session_id == session_id
    shown = run_client(grant.address.url(), "print(spark.session_id)").check()
    assert shown.last_line == session_id
