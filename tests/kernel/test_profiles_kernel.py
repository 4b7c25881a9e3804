"""Profiles through real kernels: ``%spark profile``, ``%%configure`` beyond a profile's limits, and a
kernel installed with ``install-kernels --profile``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.kernel.conftest import start_kernel

PROFILES = {
    "small": {
        "display_name": "Small",
        "settings": {"driverMemory": "1g"},
        "limits": {"max_executors": 4},
    }
}


@pytest.fixture
def broker_config(broker_config) -> dict:
    return {**broker_config, "profiles": PROFILES}


async def notebook_sessions(api) -> list[dict]:
    return (await api.get("sessions", params={"path": "work/spark.ipynb"})).json["sessions"]


async def test_spark_profile_lists_and_picks_the_profile(kernel, api):
    reply, shown, _ = await kernel.run("%spark profile")
    assert reply["status"] == "ok"
    assert "* default" in shown and "small" in shown and "Small" in shown

    reply, shown, _ = await kernel.run("%spark profile huge")
    assert "No profile 'huge'" in shown
    reply, shown, _ = await kernel.run("%spark profile small")
    assert "next Spark cell uses it" in shown
    reply, shown, _ = await kernel.run("%%spark\n6 * 7")
    assert reply["status"] == "ok" and "42" in shown
    (session,) = await notebook_sessions(api)
    assert session["profile"] == "small" and session["settings"]["driver_memory"] == "1g"

    # Another profile while one runs: kept until -f.
    reply, shown, _ = await kernel.run("%spark profile default")
    assert "stays" in shown and "-f" in shown
    reply, shown, _ = await kernel.run("%spark profile default -f")
    reply, shown, _ = await kernel.run("%%spark\n6 * 7")
    assert reply["status"] == "ok"
    live = [s for s in await notebook_sessions(api) if s["state"] == "idle"]
    assert [s["profile"] for s in live] == ["default"]


async def test_configure_beyond_a_limit_is_refused_naming_it(kernel, api):
    await kernel.run("%spark profile small")
    reply, _, errors = await kernel.run('%%configure\n{"numExecutors": 50}')
    assert reply["status"] == "error"
    message = "\n".join(errors[0]["traceback"])
    assert "numExecutors 50" in message and "max_executors = 4" in message
    assert await notebook_sessions(api) == []  # nothing started
    reply, shown, _ = await kernel.run('%%configure\n{"numExecutors": 2}')
    assert reply["status"] == "ok", shown
    (session,) = await notebook_sessions(api)
    assert session["profile"] == "small" and session["settings"]["num_executors"] == 2


@pytest.fixture
def small_kernels(jp_environ, jp_data_dir):
    """``jupyter spark-broker install-kernels --user --profile small``, in the test's data dir."""
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_spark_broker.cli", "install-kernels", "--user"]
        + ["--profile", "small"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Installed kernelspec pyspark_broker_small" in done.stderr
    return jp_data_dir / "kernels"


async def test_a_kernel_installed_for_a_profile_starts_sessions_of_it(
    small_kernels, jp_serverapp, kernel_env, api
):
    spec = json.loads((small_kernels / "pyspark_broker_small" / "kernel.json").read_text())
    assert spec["display_name"] == "PySpark (broker) \u2013 small"
    assert spec["env"] == {"SPARK_BROKER_PROFILE": "small"}
    kernel = await start_kernel(jp_serverapp, kernel_env, load=False, name="pyspark_broker_small")
    try:
        reply, shown, _ = await kernel.run("6 * 7")  # remote by default
        assert reply["status"] == "ok" and "42" in shown
    finally:
        await kernel.shutdown()
    (session,) = await notebook_sessions(api)
    assert session["profile"] == "small"


def test_install_kernels_refuses_a_bad_profile_name(jp_environ):
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_spark_broker.cli", "install-kernels", "--user"]
        + ["--profile", "no way"],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "profile name 'no way'" in done.stderr + done.stdout
