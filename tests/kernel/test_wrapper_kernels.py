"""The wrapper kernels "PySpark (broker)", "Spark (broker)", "SparkR (broker)": installed by pip and by
``jupyter spark-broker install-kernels``, started by the real Jupyter server, cells remote by default."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_spark_broker.kernel.wrapper import completion_reply
from tests.kernel.conftest import Kernel, start_kernel

WRAPPERS = {
    "pyspark_broker": ("PySpark (broker)", "python"),
    "spark_broker": ("Spark (broker)", "scala"),
    "sparkr_broker": ("SparkR (broker)", "R"),
    "pyspark_connect_broker": ("PySpark Connect (broker)", "python"),
}


@pytest.fixture
def broker_config(broker_config):
    """The broker's own default kernel for /reconnectsparkmagic: "PySpark (broker)"."""
    return {key: value for key, value in broker_config.items() if key != "default_kernel_name"}


def test_pip_install_puts_the_kernelspecs_in_the_environment():
    installed = Path(sys.prefix, "share", "jupyter", "kernels")
    for name, (display_name, language) in WRAPPERS.items():
        spec = json.loads((installed / name / "kernel.json").read_text())
        assert (spec["display_name"], spec["language"]) == (display_name, language)


@pytest.fixture
def installed_kernels(jp_environ, jp_data_dir):
    """``jupyter spark-broker install-kernels --user``, into the test's own Jupyter data dir."""
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_spark_broker.cli", "install-kernels", "--user"],
        capture_output=True,
        text=True,
        check=True,
    )
    for name in WRAPPERS:
        assert f"Installed kernelspec {name}" in done.stderr
    return jp_data_dir / "kernels"


@pytest.fixture
def pyspark_kernel(installed_kernels, jp_serverapp, kernel_env, jp_asyncio_loop):
    started = jp_asyncio_loop.run_until_complete(
        start_kernel(jp_serverapp, kernel_env, load=False, name="pyspark_broker")
    )
    yield started
    jp_asyncio_loop.run_until_complete(started.shutdown())


def test_install_kernels_writes_specs_that_start_this_python(installed_kernels):
    for name, (display_name, _) in WRAPPERS.items():
        spec = json.loads((installed_kernels / name / "kernel.json").read_text())
        assert spec["display_name"] == display_name
        assert spec["argv"][0] == sys.executable  # works from a Jupyter in another environment


@pytest.mark.both_livys
async def test_pyspark_kernel_runs_cells_remotely_and_local_ones_here(pyspark_kernel, api):
    reply, shown, _ = await pyspark_kernel.run("import os\nwhere = os.getpid()\n6 * 7")
    assert reply["status"] == "ok" and "42" in shown
    sessions = (await api.get("sessions", params={"path": "work/spark.ipynb"})).json["sessions"]
    assert len(sessions) == 1 and sessions[0]["kind"] == "pyspark"

    # The remote process is not the kernel: the same name holds different values on each side.
    reply, remote_pid, _ = await pyspark_kernel.run("where")
    reply, local_pid, _ = await pyspark_kernel.run("%%local\nimport os\nos.getpid()")
    assert reply["status"] == "ok" and remote_pid.strip() != local_pid.strip()

    reply, shown, _ = await pyspark_kernel.run("%%info")  # sparkmagic's bodiless spelling
    assert reply["status"] == "ok" and sessions[0]["id"] in shown

    info = await pyspark_kernel.client.kernel_info(reply=True)
    assert info["content"]["language_info"]["name"] == "python"
    assert info["content"]["implementation"] == "spark_broker"


async def test_pyspark_kernel_completes_against_the_remote_interpreter(pyspark_kernel, api):
    async def complete(code: str) -> dict:
        return (await pyspark_kernel.client.complete(code, len(code), reply=True))["content"]

    # Before the first Spark cell, Tab completes locally and starts no Spark session.
    local = await complete("impo")
    assert "import" in local["matches"]
    assert (await api.get("sessions", params={"path": "work/spark.ipynb"})).json["total"] == 0

    await pyspark_kernel.run("remote_only_name = 1")
    remote = await complete("x = remote_on")
    assert remote["matches"] == ["remote_only_name"]
    assert (remote["cursor_start"], remote["cursor_end"]) == (4, 13)
    assert "remote_only_name" not in (await complete("%%local\nremote_on"))["matches"]


def test_scala_style_candidates_replace_only_the_member():
    """Livy's Scala interpreter answers members (``compare`` for ``str.comp``), Python's whole names."""
    code = "val n = str.comp"
    reply = completion_reply(code, len(code), ["compare", "compareTo"])
    assert (reply["cursor_start"], reply["cursor_end"]) == (len(code) - 4, len(code))
    python = completion_reply("spark.r", 7, ["spark.range", "spark.read"])
    assert python["cursor_start"] == 0


async def test_pyspark_kernel_fails_a_remote_error_cell(pyspark_kernel):
    reply, _, errors = await pyspark_kernel.run("undefined_name")
    assert reply["status"] == "error" and reply["ename"] == "NameError"
    assert errors[0]["traceback"][0].startswith("NameError: name 'undefined_name'")


async def test_spark_and_sparkr_kernels_send_their_own_kind(
    installed_kernels, jp_serverapp, kernel_env, api
):
    """This local Livy runs without Spark (so no Scala) and has no R: the kernel says so in one
    sentence, and the broker was asked for a session of the kernel's kind. Scala with Spark:
    test_spark_kernel.py."""
    for name, kind, needs in (
        ("spark_broker", "spark", "runs with --spark off"),
        ("sparkr_broker", "sparkr", "an R interpreter"),
    ):
        env = {**kernel_env, "JPY_SESSION_NAME": f"{kernel_env['JPY_SESSION_NAME']}.{kind}"}
        kernel = await start_kernel(jp_serverapp, env, load=False, name=name)
        try:
            reply, _, errors = await kernel.run("val x = 1")
            assert reply["status"] == "error"
            assert errors[0]["traceback"][0].startswith("SparkUnavailable:")
            assert needs in errors[0]["traceback"][0]
        finally:
            await kernel.shutdown()


async def test_reconnect_then_the_kernels_first_cell_runs_on_that_endpoint(
    installed_kernels, jp_serverapp, api, kernel_env, start_local_livy, monkeypatch, jp_root_dir
):
    other_livy = start_local_livy("--spark", "off")
    # The notebook exists: jupyter_server derives JPY_SESSION_NAME from its directory.
    (jp_root_dir / "work").mkdir(exist_ok=True)
    (jp_root_dir / "work" / "reconnected.ipynb").write_text(
        '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    # Under pytest the extension's start hook does not run: give the server's environment what it
    # would, so the kernel that /reconnectsparkmagic starts inherits it.
    for name in ("SPARK_BROKER_URL", "SPARK_BROKER_TOKEN"):
        monkeypatch.setenv(name, kernel_env[name])
    reply = await api.request(
        "POST",
        "reconnectsparkmagic",
        api=False,
        body={
            "path": "work/reconnected.ipynb",
            "username": "",
            "password": "",
            "endpoint": other_livy.url,  # no kernel name: the default, "PySpark (broker)"
        },
    )
    assert reply.status == 200, reply.json
    kernel = Kernel(jp_serverapp, reply.json["kernel_id"])
    await kernel.connect()
    try:
        ran, shown, _ = await kernel.run("'on the reconnected endpoint'")
        assert ran["status"] == "ok", shown
        _, info, _ = await kernel.run("%info")
        assert f"endpoint {other_livy.url!r}" in info
        assert reply.json["session_id"] in info  # the session reconnect bound, not a new one
    finally:
        await kernel.shutdown()
