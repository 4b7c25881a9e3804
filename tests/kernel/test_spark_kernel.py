"""A real kernel against a real local SparkSession: %%sql -o, DataFrames both ways, progress."""

from __future__ import annotations

import pytest

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


@pytest.mark.both_livys
async def test_sql_dataframes_and_progress(spark_kernel: Kernel):
    reply, shown, _ = await spark_kernel.run(
        "%%sql -o df\nSELECT id, id * 2 AS twice FROM range(5)", timeout=300
    )
    assert reply["status"] == "ok", shown
    check, shown, _ = await spark_kernel.run(
        "print(type(df).__name__, df.shape, list(df.columns), int(df.twice.sum()))"
    )
    assert "DataFrame (5, 2) ['id', 'twice'] 20" in shown

    await spark_kernel.run("import pandas as pd\nlocal_df = pd.DataFrame({'n': [1, 2, 3]})")
    sent, shown, _ = await spark_kernel.run("%send_to_spark -i local_df -t df -n remote_df")
    assert sent["status"] == "ok", shown
    counted, shown, _ = await spark_kernel.run(
        "%%spark\nremote_df.groupBy().sum('n').collect()[0][0]"
    )
    assert counted["status"] == "ok" and "6" in shown

    updates: list[str] = []
    original = spark_kernel.client.execute_interactive

    async def watch_updates(code, **kwargs):
        def hook(message):
            if message["header"]["msg_type"] == "update_display_data":
                updates.append(message["content"]["data"].get("text/plain", ""))
            kwargs["output_hook"](message)

        return await original(code, **{**kwargs, "output_hook": hook})

    spark_kernel.client.execute_interactive = watch_updates
    job = "%%spark\nimport time\nsc.parallelize(range(16), 16).map(lambda x: time.sleep(0.5) or x).sum()"
    reply, shown, _ = await spark_kernel.run(job, timeout=300)
    assert reply["status"] == "ok" and "120" in shown
    assert any("%" in update and "#" in update for update in updates), updates  # the bar moved
    assert updates[-1] == ""  # and disappeared when done


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

        failed, _, errors = await kernel.run("abcde")
        assert failed["status"] == "error" and failed["ename"] == "Error"
        assert errors[0]["traceback"][0].startswith("Error: ")
        assert errors[0]["traceback"][0].endswith("error: not found: value abcde")
    finally:
        await kernel.shutdown()
