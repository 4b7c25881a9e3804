"""Real IPython kernels, started by the Jupyter server, running ``%%spark`` cells through the broker."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import eventually
from tests.kernel.conftest import start_kernel


@pytest.mark.both_livys
async def test_a_cell_runs_remotely(kernel):
    reply, shown, _ = await kernel.run("%%spark\nimport os\nx = 21 * 2\nx")
    assert reply["status"] == "ok", reply
    assert "42" in shown
    assert "Spark session" in shown  # the first cell says where it runs


@pytest.mark.both_livys
async def test_remote_state_survives_a_kernel_restart(kernel, jp_serverapp, api):
    await kernel.run("%%spark\nremembered = 'across restarts'")
    before = (await api.get("sessions", params={"path": "work/spark.ipynb"})).json["sessions"]
    assert len(before) == 1

    await jp_serverapp.kernel_manager.restart_kernel(kernel.id)
    kernel.client.stop_channels()
    await kernel.connect()
    await kernel.run("%load_ext jupyter_spark_broker.kernel")
    reply, shown, _ = await kernel.run("%%spark\nremembered")
    assert reply["status"] == "ok" and "'across restarts'" in shown

    after = (await api.get("sessions", params={"path": "work/spark.ipynb"})).json["sessions"]
    assert [s["id"] for s in after] == [before[0]["id"]]  # the same Livy session, no new one
    assert after[0]["livy_id"] == before[0]["livy_id"]
    attachments = (await api.get("attachments", params={"path": "work/spark.ipynb"})).json
    assert [a["kernel_id"] for a in attachments["attachments"]] == [kernel.id]


@pytest.mark.both_livys
async def test_a_remote_error_fails_the_cell_with_its_name_first(kernel):
    reply, _, errors = await kernel.run("%%spark\n1 / 0")
    assert reply["status"] == "error"  # so "run all" and Papermill stop here
    assert reply["ename"] == "ZeroDivisionError"
    assert errors[0]["traceback"] == ["ZeroDivisionError: division by zero"]  # said once
    after, shown, _ = await kernel.run("%%spark\n'next cell fine'")
    assert after["status"] == "ok" and "'next cell fine'" in shown


async def test_interrupt_cancels_the_remote_statement_and_says_so_in_one_line(
    kernel, jp_serverapp, api
):
    await kernel.run("%%spark\n'warm'")
    outputs: list[dict] = []
    message_id = kernel.client.execute("%%spark\nimport time\ntime.sleep(60)")
    session = (await api.get("sessions", params={"path": "work/spark.ipynb"})).json["sessions"][0]

    async def running():
        reply = await api.get(f"sessions/{session['id']}/statements/1")
        return reply.status == 200 and reply.json["state"] == "running"

    await eventually(running, what="the remote loop to run")
    await jp_serverapp.kernel_manager.interrupt_kernel(kernel.id)
    reply = await kernel.client.get_shell_msg(timeout=30)
    while reply["parent_header"].get("msg_id") != message_id:
        reply = await kernel.client.get_shell_msg(timeout=30)
    # An error, so "run all" stops; still a KeyboardInterrupt for code that catches one.
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "StatementCancelled"
    while True:  # the cell's outputs, up to the kernel going idle
        message = await kernel.client.get_iopub_msg(timeout=30)
        if message["parent_header"].get("msg_id") != message_id:
            continue
        if message["msg_type"] == "error":
            outputs.append(message["content"])
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            break
    assert [o["traceback"] for o in outputs] == [
        ["Interrupted: Spark statement cancelled; the session stays usable."]
    ]  # one line: nothing of the magics, httpx or httpcore
    cancelled = await api.get(f"sessions/{session['id']}/statements/1", params={"wait": 20})
    assert cancelled.json["state"] == "cancelled"
    again, shown, _ = await kernel.run("%%spark\n'usable'")
    assert again["status"] == "ok" and "'usable'" in shown


async def test_two_notebooks_share_a_named_session(kernel, jp_serverapp, kernel_env):
    await kernel.run("%spark attach --create team")
    await kernel.run("%%spark\nshared_value = 'from the first notebook'")
    path = kernel_env["JPY_SESSION_NAME"].replace("spark.ipynb", "other.ipynb")
    other = await start_kernel(jp_serverapp, {**kernel_env, "JPY_SESSION_NAME": path})
    try:
        await other.run("%spark attach team")
        reply, shown, _ = await other.run("%%spark\nshared_value")
        assert reply["status"] == "ok" and "'from the first notebook'" in shown
        _, info, _ = await other.run("%spark info")
        assert "work/spark.ipynb" in info and "work/other.ipynb" in info
    finally:
        await other.shutdown()


async def test_unconfigured_kernel_says_what_is_missing(jp_serverapp):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARK_BROKER")}
    kernel = await start_kernel(jp_serverapp, env)
    try:
        reply, _, errors = await kernel.run("%%spark\n1")
        assert reply["status"] == "error"
        assert "SPARK_BROKER_URL is not set" in "".join(errors[0]["traceback"]) + reply["evalue"]
    finally:
        await kernel.shutdown()


def test_the_kernel_side_imports_nothing_server_side():
    probe = (
        "import sys, jupyter_spark_broker.kernel.magics; "
        "print(sorted({'tornado', 'sqlalchemy', 'jupyter_server'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


async def test_a_session_killed_elsewhere_is_said_plainly_and_the_cell_runs_in_a_new_one(
    kernel, api
):
    await kernel.run("%%spark\n1")
    session = (await api.get("sessions", params={"path": "work/spark.ipynb"})).json["sessions"][0]
    assert (await api.delete(f"sessions/{session['id']}")).status == 204  # the panel's kill
    again, shown, errors = await kernel.run("%%spark\n'new session'")
    assert again["status"] == "ok" and not errors
    assert f"Spark session {session['id'][:8]} has ended (killed)" in shown
    assert "Spark state" in shown and "is gone: starting a new one" in shown
    assert "Starting a new Spark session" in shown
    assert "'new session'" in shown


async def test_detach_after_the_session_was_killed_elsewhere_is_quiet(kernel, api):
    await kernel.run("%%spark\n1")
    session = (await api.get("sessions", params={"path": "work/spark.ipynb"})).json["sessions"][0]
    assert (await api.delete(f"sessions/{session['id']}")).status == 204  # its attachment ends too
    reply, shown, errors = await kernel.run("%spark detach")
    assert reply["status"] == "ok" and not errors and "Detached" in shown
