"""The sparkmagic-named magics around %%spark: configure, delete, info, logs, local, help, send_to_spark."""

from __future__ import annotations


async def test_first_cell_shows_the_start_up_stages(kernel):
    reply, shown, _ = await kernel.run("%%spark\n1")
    assert reply["status"] == "ok"
    assert "Starting a new Spark session" in shown and "Spark ready: application" in shown


async def test_configure_before_the_first_cell_and_with_f(kernel, api):
    await kernel.run('%%configure\n{"conf": {"spark.app.tag": "first"}}')
    listed = (await api.get("sessions", params={"path": "work/spark.ipynb"})).json["sessions"]
    assert listed[0]["settings"]["conf"]["spark.app.tag"] == "first"

    _, shown, _ = await kernel.run('%%configure\n{"conf": {"spark.app.tag": "second"}}')
    assert "Use %%configure -f" in shown  # a running session is not replaced silently

    reply, _, _ = await kernel.run('%%configure -f\n{"conf": {"spark.app.tag": "second"}}')
    assert reply["status"] == "ok"
    again = (await api.get("sessions", params={"path": "work/spark.ipynb"})).json["sessions"]
    live = [s for s in again if s["state"] not in ("killed", "lost", "dead")]
    assert len(live) == 1 and live[0]["id"] != listed[0]["id"]
    assert live[0]["settings"]["conf"]["spark.app.tag"] == "second"

    bad, _, _ = await kernel.run("%%configure -f\n[1, 2]")
    assert bad["status"] == "error" and bad["ename"] == "UsageError"
    assert "JSON object" in bad["evalue"]


async def test_configure_f_with_bad_settings_changes_nothing(kernel, api):
    await kernel.run("%%spark\nkept = 'still here'")
    before = (await api.get("sessions", params={"path": "work/spark.ipynb"})).json["sessions"]
    for settings, problem in (
        ('{"driverMemory": 5}', 'driverMemory: a size such as "2g"'),
        ('{"driverMemory": "lots"}', 'driverMemory: a size such as "2g"'),
        ('{"nosuchsetting": 1}', "unknown setting 'nosuchsetting'; the settings are kind, conf"),
        ('{"conf": {"spark.x": 1}}', "conf: an object of Spark properties with string values"),
    ):
        bad, _, _ = await kernel.run(f"%%configure -f\n{settings}")
        assert bad["status"] == "error" and bad["ename"] == "UsageError"
        assert problem in bad["evalue"] and "Nothing was changed" in bad["evalue"]
    reply, shown, _ = await kernel.run("%%spark\nkept")
    assert reply["status"] == "ok" and "'still here'" in shown
    after = (await api.get("sessions", params={"path": "work/spark.ipynb"})).json["sessions"]
    assert [s["id"] for s in after] == [s["id"] for s in before]


async def test_a_name_nobody_holds_is_an_error_that_says_how_to_create_it(kernel, api):
    await kernel.run("%%spark\nown = 'the notebook own session'")
    before = (await api.get("sessions")).json["total"]

    reply, _, errors = await kernel.run("%spark attach nosuchteam")
    assert reply["status"] == "error"
    assert "no live Spark session is named 'nosuchteam'" in reply["evalue"]
    assert "%spark attach --create nosuchteam" in reply["evalue"]
    assert (await api.get("sessions")).json["total"] == before  # no Spark driver was started
    reply, shown, _ = await kernel.run("%%spark\nown")  # still on its own session
    assert reply["status"] == "ok" and "'the notebook own session'" in shown

    reply, shown, _ = await kernel.run("%spark attach --create nosuchteam")
    assert reply["status"] == "ok"
    assert "Starting a new Spark session" in shown and "'nosuchteam'" in shown
    assert "Other notebooks join it with %spark attach nosuchteam." in shown
    _, shown, _ = await kernel.run("%spark attach nosuchteam")  # now it exists
    assert "Attached to the Spark session" in shown and "'nosuchteam'" in shown


async def test_sessions_and_cleanup_name_sessions_by_name_and_notebook(kernel, api):
    await api.post("attachments", {"path": "team/one.ipynb", "name": "team", "create": True})
    await api.post("attachments", {"path": "team/two.ipynb", "name": "team"})
    await kernel.run("%%spark\nx = 1")

    _, shown, _ = await kernel.run("%spark sessions")
    team = next(line for line in shown.splitlines() if "'team'" in line)
    assert "name 'team'; notebooks: team/one.ipynb, team/two.ipynb" in team
    own = next(line for line in shown.splitlines() if line.startswith("*"))
    assert own.endswith("notebooks: work/spark.ipynb")
    assert "notebook:" not in shown and "name:team" not in shown  # no internal share keys

    _, listed, _ = await kernel.run("%%cleanup")
    assert "name 'team'; notebooks: team/one.ipynb, team/two.ipynb" in listed
    assert "notebooks: work/spark.ipynb" in listed and "notebook:" not in listed


async def test_spark_help_is_the_help(kernel):
    reply, shown, _ = await kernel.run("%spark help")
    assert reply["status"] == "ok" and "%%configure" in shown


async def test_delete_kills_only_this_notebooks_session(kernel, api):
    other = (await api.post("attachments", {"path": "someone/else.ipynb"})).json["session_id"]
    await kernel.run("%%spark\nx = 1")
    mine = (await api.get("sessions", params={"path": "work/spark.ipynb"})).json["sessions"][0]
    _, shown, _ = await kernel.run("%delete")
    assert "Killed 1 Spark session" in shown
    assert (await api.get(f"sessions/{mine['id']}")).json["state"] == "killed"
    assert (await api.get(f"sessions/{other}")).json["state"] not in ("killed", "lost")
    reply, shown, _ = await kernel.run("%%spark\n'fresh'")  # the next cell gets a new session
    assert reply["status"] == "ok" and "Starting a new Spark session" in shown


async def test_info_logs_help_and_local(kernel):
    await kernel.run("%%spark\nimport sys; print('to the log', file=sys.__stderr__, flush=True)")
    _, info, _ = await kernel.run("%info")
    assert "application id" in info and "work/spark.ipynb" in info
    log_url = next(line for line in info.splitlines() if "driver log:" in line).split()[-1]
    page = next(o["data"]["text/html"] for o in kernel.outputs if "text/html" in o.get("data", {}))
    assert f'<a href="{log_url}" target="_blank"' in page  # a link, not plain text
    _, logs, _ = await kernel.run("%logs")
    assert "to the log" in logs
    _, help_text, _ = await kernel.run("%help")
    assert "%send_to_spark" in help_text and "%%configure" in help_text
    reply, shown, _ = await kernel.run("%%local\nimport os\nprint('local pid', os.getpid() > 0)")
    assert reply["status"] == "ok" and "local pid True" in shown


async def test_send_a_string_to_spark(kernel):
    await kernel.run("greeting = 'hello from the notebook'")
    reply, shown, _ = await kernel.run("%send_to_spark -i greeting -n remote_greeting")
    assert reply["status"] == "ok", shown
    _, shown, _ = await kernel.run("%%spark\nremote_greeting.upper()")
    assert "'HELLO FROM THE NOTEBOOK'" in shown
    missing, _, errors = await kernel.run("%send_to_spark -i nothing_here")
    assert missing["status"] == "error" and "no local variable 'nothing_here'" in "".join(
        errors[0]["traceback"]
    )


async def test_sql_without_spark_fails_the_cell_clearly(kernel):
    reply, _, errors = await kernel.run("%%sql\nSELECT 1")
    assert (
        reply["status"] == "error" and reply["ename"] == "NameError"
    )  # no `spark` on this endpoint


async def test_spark_o_of_a_name_the_cell_did_not_define_says_so(kernel):
    reply, _, _ = await kernel.run("%%spark -o nosuchvar\n1 + 1")
    assert reply["status"] == "error" and reply["ename"] == "UsageError"
    assert "-o nosuchvar: the cell ran, but no 'nosuchvar' is defined" in reply["evalue"]
