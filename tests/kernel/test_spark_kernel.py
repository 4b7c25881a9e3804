"""A real kernel against a real local SparkSession: %%sql -o, DataFrames both ways, progress."""

from __future__ import annotations

import pytest

from tests.helpers import eventually
from tests.kernel.conftest import Kernel, start_kernel
from tests.kernel.test_wrapper_kernels import installed_kernels  # noqa: F401

# A Spark session starts in each test: minutes on a busy 2-core host, on either Livy.
pytestmark = [pytest.mark.spark, pytest.mark.timeout(900)]


@pytest.fixture
def broker_config(broker_config, spark_livy_url):
    broker_config["endpoints"]["spark"] = {"url": spark_livy_url}
    return broker_config


@pytest.fixture
def spark_kernel(jp_serverapp, kernel_env, jp_asyncio_loop):
    env = {**kernel_env, "SPARK_BROKER_ENDPOINT": "spark"}
    started: Kernel = jp_asyncio_loop.run_until_complete(start_kernel(jp_serverapp, env))
    yield started
    jp_asyncio_loop.run_until_complete(started.shutdown())


async def test_interrupt_while_spark_starts_then_tables_samples_and_progress(
    spark_kernel: Kernel, jp_serverapp, api
):
    """One Spark session for the whole path (each costs ~1 GB and 12 s here)."""
    message_id = spark_kernel.client.execute("%%spark\n'first cell'")

    async def starting():
        listed = await api.get("sessions", params={"path": "work/spark.ipynb"})
        return listed.json["sessions"] and listed.json["sessions"][0]["state"] == "starting"

    await eventually(starting, what="Spark to be starting", timeout=120)
    await jp_serverapp.kernel_manager.interrupt_kernel(spark_kernel.id)
    reply = await spark_kernel.client.get_shell_msg(timeout=30)
    while reply["parent_header"].get("msg_id") != message_id:
        reply = await spark_kernel.client.get_shell_msg(timeout=30)
    assert reply["content"]["ename"] == "StartupInterrupted"
    assert reply["content"]["traceback"] == [
        "Interrupted: Spark start-up goes on in the background; the next Spark cell waits for it."
    ]
    reply, shown, _ = await spark_kernel.run("%%spark\n'second cell'", timeout=300)
    assert reply["status"] == "ok" and "'second cell'" in shown
    assert "Spark ready: application" in shown
    listed = (await api.get("sessions", params={"path": "work/spark.ipynb"})).json
    assert listed["total"] == 1  # the start-up went on: the same session

    reply, shown, _ = await spark_kernel.run(
        "%%sql -o df\nSELECT id, id * 2 AS twice FROM range(5)", timeout=300
    )
    assert reply["status"] == "ok", shown
    check, shown, _ = await spark_kernel.run(
        "print(type(df).__name__, df.shape, list(df.columns), int(df.twice.sum()))"
    )
    assert "DataFrame (5, 2) ['id', 'twice'] 20" in shown

    # sparkmagic's sampling: -n rows, -m sample with -r, and -c for the types.
    await spark_kernel.run(
        "%%sql -q -o few -n 3\nSELECT id, DATE'2026-12-02' AS day FROM range(10)"
    )
    _, shown, _ = await spark_kernel.run("print(few.shape, few.day.dtype.kind)")
    assert "(3, 2) M" in shown  # a date column became datetime64
    await spark_kernel.run("%%sql -q -o raw -n 3 -c False\nSELECT DATE'2026-12-02' AS day")
    _, shown, _ = await spark_kernel.run("print(raw.day[0], raw.day.dtype.kind)")
    assert "2026-12-02 O" in shown
    await spark_kernel.run(
        "%%sql -q -o sampled -m sample -r 0.5 -n 400\nSELECT id FROM range(1000)"
    )
    _, shown, _ = await spark_kernel.run("print(0 < len(sampled) <= 400, sampled.id.is_unique)")
    assert "True True" in shown
    reply, shown, _ = await spark_kernel.run(
        "%%spark -o people -n 2\n"
        "people = spark.createDataFrame([(1, 'ann'), (2, 'bo'), (3, 'cy')], ['n', 'name'])"
    )
    assert reply["status"] == "ok", shown
    _, shown, _ = await spark_kernel.run("print(list(people.name))")
    assert "['ann', 'bo']" in shown

    await spark_kernel.run("import pandas as pd\nlocal_df = pd.DataFrame({'n': [1, 2, 3]})")
    sent, shown, _ = await spark_kernel.run("%send_to_spark -i local_df -t df -n remote_df")
    assert sent["status"] == "ok", shown
    counted, shown, _ = await spark_kernel.run(
        "%%spark\nremote_df.groupBy().sum('n').collect()[0][0]"
    )
    assert counted["status"] == "ok" and "6" in shown

    updates: list[dict] = []
    original = spark_kernel.client.execute_interactive

    async def watch_updates(code, **kwargs):
        def hook(message):
            if message["header"]["msg_type"] == "update_display_data":
                updates.append(message["content"]["data"])
            kwargs["output_hook"](message)

        return await original(code, **{**kwargs, "output_hook": hook})

    spark_kernel.client.execute_interactive = watch_updates
    job = "%%spark\nimport time\nsc.parallelize(range(16), 16).map(lambda x: time.sleep(0.5) or x).sum()"
    reply, shown, _ = await spark_kernel.run(job, timeout=300)
    assert reply["status"] == "ok" and "120" in shown
    moving = [u for u in updates if "#" in u["text/plain"]]
    assert moving, updates  # the text bar moved
    assert "Spark: running" in moving[-1]["text/plain"]
    assert "width:" in moving[-1]["text/html"] and "Spark UI</a>" in moving[-1]["text/html"]
    assert updates[-1]["text/plain"].startswith("Spark: done in")  # a summary, never empty


async def test_spark_sql_errors_say_it_once_without_paths(spark_kernel: Kernel):
    reply, _, errors = await spark_kernel.run("%%sql\nSELECT * FROM no_such_table", timeout=300)
    assert reply["status"] == "error" and reply["ename"] == "AnalysisException"
    shown = "\n".join(errors[0]["traceback"])
    assert errors[0]["traceback"][0].startswith("AnalysisException: [TABLE_OR_VIEW_NOT_FOUND]")
    assert shown.count("TABLE_OR_VIEW_NOT_FOUND") == 1, shown
    assert "site-packages" not in shown and ".venv" not in shown, shown


async def test_sql_tables_show_without_pandas(jp_serverapp, kernel_env, tmp_path):
    """The environment scripts/run.sh made before pandas was in it: a pandas that cannot load."""
    fake = tmp_path / "no-pandas" / "pandas"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named pandas')\n")
    env = {**kernel_env, "SPARK_BROKER_ENDPOINT": "spark", "PYTHONPATH": str(fake.parent)}
    kernel = await start_kernel(jp_serverapp, env)
    try:
        reply, shown, _ = await kernel.run("%%sql\nSELECT 1 AS one, 'x' AS letter", timeout=300)
        assert reply["status"] == "ok", shown
        table = kernel.outputs[-1]["data"]
        assert "<th>one</th><th>letter</th>" in table["text/html"]
        assert table["text/plain"].splitlines() == ["one  letter", "1    x", "(1 row)"]
    finally:
        await kernel.shutdown()


@pytest.mark.both_livys
async def test_spark_broker_kernel_runs_scala(installed_kernels, jp_serverapp, kernel_env, api):  # noqa: F811
    env = {
        **kernel_env,
        "SPARK_BROKER_ENDPOINT": "spark",
        "JPY_SESSION_NAME": kernel_env["JPY_SESSION_NAME"].replace(".ipynb", "-scala.ipynb"),
    }
    kernel = await start_kernel(jp_serverapp, env, load=False, name="spark_broker")
    try:
        reply, shown, _ = await kernel.run("val x = 21 * 2", timeout=300)
        assert reply["status"] == "ok" and "x: Int = 42" in shown, shown
        sessions = (await api.get("sessions", params={"path": "work/spark-scala.ipynb"})).json
        assert [s["kind"] for s in sessions["sessions"]] == ["spark"]

        reply, shown, _ = await kernel.run("sc.parallelize(1 to 100).map(_ * x).sum()")
        assert reply["status"] == "ok" and "= 212100.0" in shown, (shown, _)

        await kernel.run("%%local\nimport pandas as pd\ngreeting = 'hé \"quoted\"'")
        await kernel.run("%%local\nlocal_df = pd.DataFrame({'n': [1, 2, 3]})")
        sent, shown, _ = await kernel.run("%send_to_spark -i greeting")
        assert sent["status"] == "ok", shown
        _, shown, _ = await kernel.run("greeting.toUpperCase")
        assert 'HÉ "QUOTED"' in shown
        sent, shown, _ = await kernel.run("%send_to_spark -i local_df -t df -n remote_df")
        assert sent["status"] == "ok", shown
        _, shown, _ = await kernel.run('remote_df.agg(Map("n" -> "sum")).first().getLong(0)')
        assert "= 6" in shown

        reply, shown, _ = await kernel.run(
            '%%spark -o people -n 2\nval people = Seq((1, "ann"), (2, "bo"), (3, "cy")).toDF("n", "name")'
        )
        assert reply["status"] == "ok", shown
        _, shown, _ = await kernel.run("%%local\nprint(list(people.name), people.n.sum())")
        assert "['ann', 'bo'] 3" in shown

        failed, _, errors = await kernel.run("abcde")
        assert failed["status"] == "error" and failed["ename"] == "Error"
        assert errors[0]["traceback"][0].startswith("Error: ")
        assert errors[0]["traceback"][0].endswith("error: not found: value abcde")
    finally:
        await kernel.shutdown()
