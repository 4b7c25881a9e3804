"""Python UDFs on the embedded default, and a driver out of memory, in real kernels.

Spark runs its Python workers with ``python3`` of the PATH unless told otherwise; here that is a
``python3`` that fails loudly, first on the PATH of the Jupyter server (and so of the embedded Livy,
its sessions and the Connect servers), so each UDF's result proves that the workers ran the
session's own interpreter. Real Spark: run it inside ``unshare --net`` (loopback only).
"""

from __future__ import annotations

import os
import sys

import pytest

from tests.broker.test_connect_sessions import CONNECT_CONFIG, client
from tests.kernel.conftest import Kernel, start_kernel

pytestmark = [pytest.mark.spark, pytest.mark.timeout(900)]

# A Python UDF, a pandas UDF and mapInPandas: each prints its result, the first the interpreter
# its Python workers ran.
UDFS = """
import sys
import pandas as pd
from pyspark.sql.functions import pandas_udf, udf

@udf("string")
def python_of(_):
    import sys
    return sys.executable

@pandas_udf("long")
def doubled(values: pd.Series) -> pd.Series:
    return values * 2

def plus_one(batches):
    for batch in batches:
        yield batch.assign(id=batch.id + 1)

df = spark.range(3)
print("workers:", sorted({row[0] for row in df.select(python_of("id")).collect()}))
print("pandas_udf:", [row[0] for row in df.select(doubled("id")).collect()])
print("mapInPandas:", sorted(row.id for row in df.mapInPandas(plus_one, "id long").collect()))
"""
RDD_LAMBDA = 'print("rdd:", sc.parallelize(range(3), 3).map(lambda x: x * 10).collect())'
UDF_RESULTS = [
    f"workers: [{sys.executable!r}]",
    "pandas_udf: [0, 2, 4]",
    "mapInPandas: [1, 2, 3]",
]
# A task that needs more memory than a 512m driver has: under local[*] the task runs in the
# driver's JVM, which the OutOfMemoryError ends.
OUT_OF_MEMORY = "spark.range(1).selectExpr(\"length(repeat('x', id + 1000000000)) AS n\").collect()"


@pytest.fixture
def path_python3_fails(tmp_path, monkeypatch) -> str:
    """``python3`` and ``python`` first on the PATH, failing loudly: Spark's default for workers."""
    other = tmp_path / "other-python"
    other.mkdir()
    for name in ("python3", "python"):
        script = other / name
        script.write_text(
            "#!/bin/sh\necho \"the PATH's $0 ran, not the session's Python\" >&2\nexit 97\n"
        )
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{other}{os.pathsep}{os.environ['PATH']}")
    return str(other)


@pytest.fixture
def broker_config(broker_config, path_python3_fails, tmp_path):
    # The embedded Livy runs real Spark; the broker runs Connect servers of one core.
    return {
        **broker_config,
        **CONNECT_CONFIG,
        "local_livy_args": ["--spark", "on"],
        "log_dir": str(tmp_path / "connect-logs"),
    }


@pytest.fixture
def local_kernel(jp_serverapp, kernel_env, jp_asyncio_loop):
    env = {**kernel_env, "SPARK_BROKER_ENDPOINT": "local"}
    started = jp_asyncio_loop.run_until_complete(start_kernel(jp_serverapp, env))
    yield started
    jp_asyncio_loop.run_until_complete(started.shutdown())


def printed(shown: str) -> list[str]:
    return [
        line
        for line in shown.splitlines()
        if line.startswith(("workers:", "pandas_", "map", "rdd:"))
    ]


async def test_udfs_run_the_sessions_python_in_livy_and_livy_connect(
    local_kernel: Kernel, api, path_python3_fails
):
    assert os.environ["PATH"].startswith(path_python3_fails)
    # The notebook's session serves Livy and Connect from one Spark application (livy+connect).
    attached = await api.post(
        "attachments",
        {"path": "work/spark.ipynb", "protocol": "livy+connect", "endpoint": "local"},
    )
    assert attached.status == 201, attached.json

    reply, shown, errors = await local_kernel.run(f"%%spark\n{UDFS}\n{RDD_LAMBDA}", timeout=600)
    assert reply["status"] == "ok", (shown, errors)
    assert printed(shown) == [*UDF_RESULTS, "rdd: [0, 10, 20]"], shown
    _, shown, _ = await local_kernel.run(
        "%%spark\nprint(spark.conf.get('spark.pyspark.python'), "
        "spark.conf.get('spark.pyspark.driver.python'))"
    )
    assert shown.split() == [sys.executable, sys.executable]

    session_id = attached.json["session"]["id"]
    url = (await api.get(f"sessions/{session_id}/connect")).json["url"]
    through_connect = (await client(url, UDFS)).check()
    assert printed(through_connect.stdout) == UDF_RESULTS, through_connect.stdout


async def test_udfs_run_the_sessions_python_on_a_connect_server(kernel: Kernel, path_python3_fails):
    assert os.environ["PATH"].startswith(path_python3_fails)
    reply, shown, errors = await kernel.run("%spark connect", timeout=600)
    assert reply["status"] == "ok", (shown, errors)
    reply, shown, errors = await kernel.run(UDFS, timeout=600)
    assert reply["status"] == "ok", (shown, errors)
    assert printed(shown) == UDF_RESULTS, shown


async def test_a_driver_out_of_memory_is_a_few_lines_then_a_new_session(local_kernel: Kernel, api):
    # The embedded Livy's default: a small driver.
    reply, shown, _ = await local_kernel.run(
        "%%spark\nspark.conf.get('spark.driver.memory')", timeout=600
    )
    assert reply["status"] == "ok" and shown.rstrip().endswith("'512m'"), shown
    (before,) = (await api.get("sessions", params={"path": "work/spark.ipynb"})).json["sessions"]

    reply, _, errors = await local_kernel.run(f"%%spark\n{OUT_OF_MEMORY}", timeout=600)
    assert reply["status"] == "error" and reply["ename"] == "OutOfMemoryError"
    (error,) = errors
    lines = error["traceback"]
    text = "\n".join(lines)
    assert lines[0].startswith("OutOfMemoryError: the Spark driver ran out of memory"), text
    assert "driverMemory" in text and '%%configure -f {"driverMemory": "2g"}' in text, text
    assert "session has ended" in text, text
    assert len(lines) <= 5, text
    assert "\tat " not in text and "at org.apache" not in text and "at java." not in text, text
    assert "site-packages" not in text and ".venv" not in text and sys.prefix not in text, text

    reply, shown, errors = await local_kernel.run("%%spark\n'the next cell runs'", timeout=600)
    assert reply["status"] == "ok", (shown, errors)
    ended = [line for line in shown.splitlines() if "has ended" in line]
    assert len(ended) == 1, shown
    assert f"Spark session {before['id'][:8]} has ended (dead)" in ended[0]
    assert "Spark state" in ended[0] and "is gone" in ended[0], ended
    assert "Starting a new Spark session" in shown and "'the next cell runs'" in shown, shown
    assert "site-packages" not in shown and ".venv" not in shown, shown
    (after,) = [
        s
        for s in (await api.get("sessions", params={"path": "work/spark.ipynb"})).json["sessions"]
        if s["state"] in ("idle", "busy")
    ]
    assert after["id"] != before["id"]
