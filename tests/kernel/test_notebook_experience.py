"""What a notebook shows, through real kernels (issue 11): status lines updated in place and never
left empty, errors that point at the cell, options checked, a named session kept across a restart,
and plain words for kernels an endpoint cannot run. The Spark-side parts are in test_spark_kernel.py."""

from __future__ import annotations

import re

import pytest

from tests.kernel.conftest import start_kernel


def _empty(output: dict) -> bool:
    if output["output_type"] == "stream":
        return not output["text"].strip()
    return not any(str(value).strip() for value in output["data"].values())


async def test_a_quick_cell_shows_its_value_and_nothing_else(kernel):
    await kernel.run("%%spark\n'warm'")
    reply, shown, _ = await kernel.run("%%spark\nx = 6 * 7")
    assert reply["status"] == "ok" and kernel.outputs == []  # no status line, no empty output
    _, shown, _ = await kernel.run("%%spark\nx")
    assert [o["output_type"] for o in kernel.outputs] == ["display_data"] and "42" in shown


async def test_a_longer_statement_shows_elapsed_time_then_a_summary(kernel):
    await kernel.run("%%spark\n'warm'")
    reply, shown, _ = await kernel.run("%%spark\nimport time\ntime.sleep(2.5)\n'slept'")
    assert reply["status"] == "ok"
    status = [o for o in kernel.outputs if "Spark: " in o.get("data", {}).get("text/plain", "")]
    assert len(status) == 1  # one line, updated in place
    summary = re.match(r"Spark: done in (\d+) s", status[0]["data"]["text/plain"])
    assert summary and int(summary.group(1)) >= 2, status  # the elapsed time, not a busy host's
    assert summary.group(0) in status[0]["data"]["text/html"]
    assert "'slept'" in shown
    assert not any(_empty(o) for o in kernel.outputs)


async def test_start_up_is_one_line_that_ends_ready(kernel):
    reply, shown, _ = await kernel.run("%%spark\n1")
    assert reply["status"] == "ok"
    assert "Starting a new Spark session" in shown and "Spark ready: application" in shown
    assert "Starting Spark (" not in shown  # replaced in place, not left behind
    assert not any(_empty(o) for o in kernel.outputs)


async def test_a_remote_error_points_at_the_cell_line(kernel):
    cell = "def ratio(a, b):\n    return a / b\n\nratio(1, 0)"
    reply, _, errors = await kernel.run("%%spark\n" + cell)
    assert reply["status"] == "error" and reply["ename"] == "ZeroDivisionError"
    assert errors[0]["traceback"] == [
        "ZeroDivisionError: division by zero",
        "cell line 2, in ratio: return a / b",
    ]


@pytest.mark.parametrize(
    "cell, complaint",
    [
        ("%%spark --bogus\n1", "unrecognized arguments: --bogus"),
        ("%%sql --limit 3\nSELECT 1", "unrecognized arguments: --limit 3"),
        ('%%configure -x\n{"conf": {}}', "unrecognized arguments: -x"),
        ("%info now", "%info takes no options"),
        ("%%local -v\n1", "%%local takes no options"),
        ("%spark frobnicate", "%spark 'frobnicate'"),
        ("%spark attach", "usage: %spark attach NAME"),
    ],
)
async def test_an_option_a_magic_does_not_know_is_an_error(kernel, api, cell, complaint):
    reply, shown, _ = await kernel.run(cell)
    assert reply["status"] == "error" and reply["ename"] == "UsageError"
    assert "UsageError: " in shown and complaint in shown  # IPython's one line, on stderr
    listed = await api.get("sessions", params={"path": "work/spark.ipynb"})
    assert listed.json["total"] == 0  # refused before anything ran


async def test_sql_o_without_pandas_says_what_to_do_before_running(
    jp_serverapp, kernel_env, tmp_path, api
):
    """The environment scripts/run.sh made before pandas was in it: a pandas that cannot load."""
    fake = tmp_path / "no-pandas" / "pandas"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named pandas')\n")
    env = {**kernel_env, "PYTHONPATH": str(fake.parent)}
    kernel = await start_kernel(jp_serverapp, env)
    try:
        reply, _, errors = await kernel.run("%%sql -o counts\nSELECT 1 AS one")
        assert reply["status"] == "error" and reply["ename"] == "MissingPackage"
        assert errors[0]["traceback"] == [
            "MissingPackage: %%sql -o needs pandas in the kernel's environment: run "
            "`%pip install pandas` in a cell, then restart the kernel (without -o, tables show "
            "without pandas)"
        ]
        assert (await api.get("sessions", params={"path": "work/spark.ipynb"})).json["total"] == 0
    finally:
        await kernel.shutdown()


async def test_attach_by_name_says_spark_is_starting_and_survives_a_restart(
    kernel, jp_serverapp, api
):
    await kernel.run("%%spark\nown = 'the notebook own session'")
    reply, shown, _ = await kernel.run("%spark attach --create team")
    assert reply["status"] == "ok"
    assert "Starting a new Spark session" in shown and "'team'" in shown
    assert "Spark ready: application" in shown
    await kernel.run("%%spark\nteam_value = 'in the team session'")

    await jp_serverapp.kernel_manager.restart_kernel(kernel.id)
    kernel.client.stop_channels()
    await kernel.connect()
    await kernel.run("%load_ext jupyter_spark_broker.kernel")
    reply, shown, _ = await kernel.run("%%spark\nteam_value")
    assert reply["status"] == "ok" and "'in the team session'" in shown, shown
    assert "Attached to the Spark session" in shown and "'team'" in shown

    _, shown, _ = await kernel.run("%spark detach")
    reply, shown, _ = await kernel.run("%%spark\nown")  # back to its own, still alive
    assert reply["status"] == "ok" and "'the notebook own session'" in shown


async def test_a_kernel_whose_language_the_endpoint_lacks_says_so_plainly(jp_serverapp, kernel_env):
    env = {**kernel_env, "JPY_SESSION_NAME": kernel_env["JPY_SESSION_NAME"] + ".r"}
    kernel = await start_kernel(jp_serverapp, env, load=False)
    try:
        await kernel.run(
            "from jupyter_spark_broker.kernel import load_ipython_extension\n"
            "load_ipython_extension(get_ipython(), kind='sparkr')"
        )
        reply, _, errors = await kernel.run("%%spark\nx <- 1")
        assert reply["status"] == "error" and reply["ename"] == "SparkUnavailable"
        message = errors[0]["traceback"][0]
        assert message.startswith("SparkUnavailable: SparkR (broker) cells need a Livy endpoint")
        assert "Use PySpark (broker)" in message and "%spark add -u URL" in message
    finally:
        await kernel.shutdown()
