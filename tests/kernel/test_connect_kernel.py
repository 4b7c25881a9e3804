"""Spark Connect in real kernels started by the real Jupyter server: the "PySpark Connect (broker)"
kernel and ``%spark connect`` in a plain IPython kernel, on the broker's own Connect server."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from tests.broker.test_connect_sessions import CONNECT_CONFIG
from tests.helpers import eventually
from tests.kernel.conftest import start_kernel

pytestmark = pytest.mark.spark


@pytest.fixture
def broker_config(broker_config, tmp_path):
    return {**broker_config, **CONNECT_CONFIG, "log_dir": str(tmp_path / "connect-logs")}


@pytest.fixture
def installed_kernels(jp_environ, jp_data_dir):
    from jupyter_spark_broker.kernel.install import install_kernels

    install_kernels(user=True)
    return jp_data_dir / "kernels"


async def test_connect_kernel_restart_interrupt_errors_and_the_magic(
    installed_kernels, jp_serverapp, kernel_env, api
):
    kernel = await start_kernel(jp_serverapp, kernel_env, load=False, name="pyspark_connect_broker")
    try:
        reply, shown, _ = await kernel.run(
            "spark.range(5).createOrReplaceTempView('five')\nspark.table('five').count()",
            timeout=300,
        )
        assert reply["status"] == "ok", shown
        assert "Starting a new Spark Connect session" in shown and "Spark Connect ready" in shown
        assert shown.rstrip().endswith("5")
        (session,) = (await api.get("sessions", params={"path": "work/spark.ipynb"})).json[
            "sessions"
        ]
        assert session["protocol"] == "connect"
        token = (await api.get(f"sessions/{session['id']}/connect")).json["url"].split("token=")[1]
        assert token.split(";")[0] not in shown
        ui = session["spark_ui_url"]
        assert ui and f"Spark UI {ui}" in shown
        assert any(f'href="{ui}"' in o.get("data", {}).get("text/html", "") for o in kernel.outputs)

        # A long operation: our progress line (pyspark's printed bar stays off), updated in place,
        # with its stage's tasks, an HTML bar and the Spark UI link; a summary when it ends.
        lines: list[dict] = []

        def progress_lines(message: dict) -> None:
            if message["header"]["msg_type"] in ("display_data", "update_display_data"):
                lines.append(message["content"]["data"])
            elif message["header"]["msg_type"] == "stream":
                lines.append({"stream": message["content"]["text"]})

        slow = (  # six tasks of 1.5 s each on the server's one core
            "spark.range(0, 6, 1, 6)"
            ".selectExpr(\"java_method('java.lang.Thread', 'sleep', 1500L)\").collect()"
        )
        reply = await kernel.client.execute_interactive(slow, output_hook=progress_lines)
        assert reply["content"]["status"] == "ok", lines
        assert not any("stream" in line for line in lines)  # no "[****--] 50.00% Complete"
        running = [line for line in lines if "Spark: running" in line.get("text/plain", "")]
        assert running and any("/6 tasks" in line["text/plain"] for line in running), lines
        assert all(f"Spark UI: {ui}/stages/stage/?id=" in line["text/plain"] for line in running)
        assert all("width:" in line["text/html"] for line in running)  # the HTML bar
        assert lines[-1]["text/plain"].startswith("Spark: done in ")

        # A restart re-attaches to the same server-side session: the temp view is still there.
        await jp_serverapp.kernel_manager.restart_kernel(kernel.id)
        kernel.client.stop_channels()
        await kernel.connect()
        reply, shown, _ = await kernel.run("spark.table('five').count()")
        assert reply["status"] == "ok" and shown.rstrip().endswith("5")
        assert "Attached to the Spark Connect session" in shown

        # A Spark error: its name and message first, pyspark's and gRPC's frames hidden.
        reply, _, errors = await kernel.run("spark.table('no_such_view').count()")
        assert reply["status"] == "error" and reply["ename"] == "AnalysisException"
        first, *rest = errors[0]["traceback"]
        assert first.startswith("AnalysisException: [TABLE_OR_VIEW_NOT_FOUND]")
        assert any("pyspark/gRPC frames hidden" in line for line in rest)
        assert not any("/pyspark/sql/connect/" in line for line in rest)
        assert "cell line 1, in <module>: spark.table('no_such_view').count()" in rest
        assert not any("ipykernel_" in line or "\tat " in line for line in rest)  # nor the JVM's

        # An interrupt interrupts the session's running operation; the session stays usable.
        message_id = kernel.client.execute(
            "spark.range(0, 10**13, 1, 1).selectExpr('sum(id)').collect()"
        )
        # The Spark UI through the server's proxy, as the browser reaches it.
        assert session["spark_ui_url"].startswith("/") and "/connect-servers/" in ui
        server = urlsplit(kernel_env["SPARK_BROKER_URL"])
        jobs = f"{server.scheme}://{server.netloc}{ui}/api/v1/applications"
        token = {"Authorization": f"token {kernel_env['SPARK_BROKER_TOKEN']}"}

        async def running() -> bool:
            async with httpx.AsyncClient(timeout=60, headers=token) as ui:  # a busy driver
                (app,) = (await ui.get(jobs)).json()
                return bool(
                    (await ui.get(f"{jobs}/{app['id']}/jobs", params={"status": "running"})).json()
                )

        # Generous: on a loaded machine the job may take minutes to start.
        await eventually(running, what="the endless job to run", timeout=300, interval=0.5)
        await jp_serverapp.kernel_manager.interrupt_kernel(kernel.id)
        reply = await kernel.client.get_shell_msg(timeout=60)
        while reply["parent_header"].get("msg_id") != message_id:
            reply = await kernel.client.get_shell_msg(timeout=60)
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        reply, shown, _ = await kernel.run(
            "spark.range(3).count()", timeout=60
        )  # local[1]: free again
        assert reply["status"] == "ok" and shown.rstrip().endswith("3")
    finally:
        await kernel.shutdown()

    # %spark connect in a plain IPython kernel of the same notebook: the same Connect session.
    plain = await start_kernel(jp_serverapp, kernel_env)
    try:
        reply, shown, _ = await plain.run("%spark connect")
        assert reply["status"] == "ok" and "Attached to the Spark Connect session" in shown
        reply, shown, _ = await plain.run("spark.table('five').count()")
        assert reply["status"] == "ok" and shown.rstrip().endswith("5")
    finally:
        await plain.shutdown()
