"""``%spark add``, ``%spark endpoint`` and ``%spark delete -e`` through a real kernel: a Livy endpoint
of the user's own, added at run time through the broker, its password asked for and kept out of the
notebook, then used, left and removed."""

from __future__ import annotations

import pytest

PASSWORD = "Kernel-Add-Pass-3307"


@pytest.fixture
def secured_livy(start_local_livy):
    return start_local_livy("--spark", "off", basic_auth=("analyst", PASSWORD))


async def live_sessions(api) -> list[dict]:
    listed = (await api.get("sessions", params={"path": "work/spark.ipynb"})).json["sessions"]
    return [s for s in listed if s["state"] not in ("killed", "lost", "dead", "error", "success")]


async def test_add_asks_for_the_password_then_the_notebook_runs_there(kernel, api, secured_livy):
    asked: list[dict] = []

    def answer(message: dict) -> None:  # the front end's password box
        asked.append(message["content"])
        kernel.client.input(PASSWORD)

    reply, shown, _ = await kernel.run(
        f"%spark add -s team -u {secured_livy.url} -a analyst -l python", stdin_hook=answer
    )
    assert reply["status"] == "ok", shown
    assert asked == [{"prompt": "Livy password for analyst: ", "password": True}]
    assert f"Added endpoint 'team': {secured_livy.url} (Basic_Access as analyst)" in shown
    assert "the next Spark cell runs there" in shown
    endpoints = {e["name"]: e for e in (await api.get("endpoints")).json["endpoints"]}
    assert endpoints["team"]["source"] == "api" and endpoints["team"]["username"] == "analyst"

    reply, shown, _ = await kernel.run("%%spark\nx = 41\n'on the team Livy'")
    assert reply["status"] == "ok" and "'on the team Livy'" in shown
    assert "on endpoint 'team'" in shown
    [team_session] = await live_sessions(api)
    assert team_session["endpoint"] == "team"

    _, listing, _ = await kernel.run("%spark endpoint")
    assert "* team" in listing and secured_livy.url in listing and "(Basic_Access, api)" in listing

    # The password was typed in the front end's box: in no cell, no output, no history.
    _, seen, _ = await kernel.run(
        "secret = 'Kernel-Add-' + 'Pass-3307'\nprint(any(secret in cell for cell in In[:-1]))"
    )
    assert seen.strip() == "False"
    assert all(PASSWORD not in str(o) for o in kernel.outputs)

    # Another endpoint for the next cells: the team session is left, not killed; back again, its
    # state is there.
    _, shown, _ = await kernel.run("%spark endpoint test")
    assert "Left Spark session" in shown and "'test': the next Spark cell runs there" in shown
    reply, shown, _ = await kernel.run("%%spark\n'on test'")
    assert reply["status"] == "ok" and "on endpoint 'test'" in shown
    await kernel.run("%spark endpoint team")
    reply, shown, _ = await kernel.run("%%spark\nx + 1")
    assert reply["status"] == "ok" and "42" in shown

    _, shown, _ = await kernel.run("%spark delete -e team")
    assert "Removed endpoint 'team', after killing 1 Spark session(s) on it." in shown
    assert (await api.get(f"sessions/{team_session['id']}")).json["state"] == "killed"
    names = {e["name"] for e in (await api.get("endpoints")).json["endpoints"]}
    assert "team" not in names
    reply, shown, _ = await kernel.run("%%spark\n'back on the default'")
    assert reply["status"] == "ok" and "on endpoint 'test'" in shown


async def test_add_with_a_password_flag_warns_it_stays_in_the_history(kernel, secured_livy):
    reply, shown, _ = await kernel.run(f"%spark add -u {secured_livy.url} -a analyst -p {PASSWORD}")
    assert reply["status"] == "ok", shown
    assert f"'analyst@{secured_livy.url}'" in shown and PASSWORD not in shown
    assert "it also stays in this notebook's history" in shown


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("%spark add -a someone", "the following arguments are required: -u/--url"),
        ("%spark add -u http://127.0.0.1:1 --frobnicate", "unrecognized arguments: --frobnicate"),
        ("%spark add -u http://127.0.0.1:1 -l scala", "this kernel runs pyspark cells"),
        ("%spark add -u http://127.0.0.1:1 -t os.system", "'os.system' is not one of"),
        ("%spark add -u http://127.0.0.1:1 -s test -t None", "configured on the server"),
        ("%spark endpoint nowhere", "no endpoint 'nowhere'"),
        ("%spark delete -e test", "configured on the server"),
        ("%spark delete -x", "unrecognized arguments: -x"),
    ],
)
async def test_bad_endpoint_commands_say_what_is_wrong(kernel, line, complaint):
    reply, shown, errors = await kernel.run(line)
    assert reply["status"] == "error"
    assert complaint in shown + "".join(e for error in errors for e in error["traceback"])


async def test_a_front_end_without_input_cannot_be_asked_for_a_password(kernel, secured_livy):
    reply, shown, _ = await kernel.run(
        f"%spark add -u {secured_livy.url} -a analyst", allow_stdin=False
    )
    assert reply["status"] == "error" and reply["ename"] == "UsageError"
    assert "cannot ask for a password; give it with -p" in shown


async def test_spark_delete_alone_kills_this_notebooks_session(kernel, api):
    await kernel.run("%%spark\n1")
    _, shown, _ = await kernel.run("%spark delete")
    assert "Killed 1 Spark session(s)." in shown
    assert await live_sessions(api) == []
