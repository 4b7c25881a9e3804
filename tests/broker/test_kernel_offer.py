"""JupyterLab is offered the broker's kernels only for kinds some configured endpoint runs: no
"SparkR (broker)" in ``GET /api/kernelspecs`` while no endpoint has R, and it is there once one
declares R (a Livy a user adds at run time offers nothing: the launcher is everyone's). Through a
real Jupyter server with the kernels installed by ``jupyter spark-broker install-kernels``."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import quote

import pytest

from jupyter_spark_broker.kernel.install import KINDS_OF_KERNEL_CLASSES
from jupyter_spark_broker.kernel.wrapper import PySparkKernel, SparkKernel, SparkRKernel
from jupyter_spark_broker.livy_local.config import session_kinds, spark_mode
from tests.broker.conftest import restart_broker

PYTHON_ONLY = ["pyspark", "shared", "sql"]


@pytest.fixture
def installed_kernels(jp_environ):
    """The broker's kernelspecs in the test's own Jupyter data dir, where its server looks."""
    subprocess.run(
        [sys.executable, "-m", "jupyter_spark_broker.cli", "install-kernels", "--user"],
        capture_output=True,
        check=True,
    )


@pytest.fixture
def broker_config(broker_config, livy_url):
    """The test Livy declares Python only; the embedded local Livy runs with --spark off."""
    return {**broker_config, "endpoints": {"test": {"url": livy_url, "kinds": PYTHON_ONLY}}}


async def offered(api) -> set[str]:
    reply = await api.request("GET", "api/kernelspecs", api=False, validate=False)
    assert reply.status == 200
    return set(reply.json["kernelspecs"])


async def test_no_sparkr_kernel_until_an_endpoint_declares_r(
    api, broker_app, installed_kernels, livy_url
):
    kernels = await offered(api)
    assert {"python3", "pyspark_broker", "pyspark_connect_broker"} <= kernels
    assert "sparkr_broker" not in kernels and "spark_broker" not in kernels
    kinds = {e["name"]: e["kinds"] for e in (await api.get("endpoints")).json["endpoints"]}
    assert kinds == {"test": PYTHON_ONLY, "local": PYTHON_ONLY}

    # A notebook saved with the SparkR kernel still opens: its spec by name is there.
    one = await api.request("GET", "api/kernelspecs/sparkr_broker", api=False, validate=False)
    assert one.status == 200 and one.json["spec"]["display_name"] == "SparkR (broker)"

    endpoints = {"test": {"url": livy_url, "kinds": PYTHON_ONLY}, "r": {"url": livy_url}}
    endpoints["r"]["kinds"] = ["sparkr"]
    await restart_broker(broker_app, endpoints=endpoints)
    kernels = await offered(api)
    assert "sparkr_broker" in kernels and "spark_broker" not in kernels


async def test_a_livy_added_at_run_time_changes_nobodys_launcher(api, installed_kernels):
    """The launcher is every user's: one user's run-time endpoint (assumed to run every kind)
    offers no kernel to anyone; only configured endpoints do (issue 20, item 10)."""
    before = await offered(api)
    assert "sparkr_broker" not in before
    added = await api.post("endpoints", {"url": "http://127.0.0.1:9", "name": "elsewhere"})
    assert added.status == 201 and added.json["kinds"] == [
        "pyspark",
        "shared",
        "spark",
        "sparkr",
        "sql",
    ]
    assert await offered(api) == before
    assert (await api.delete(f"endpoints/{quote('elsewhere')}")).status == 204


async def test_reconnect_may_name_a_kernel_the_launcher_does_not_offer(
    api, jp_serverapp, installed_kernels, livy_url
):
    """sparkmagic's reconnect names its kernel, and the Livy it adds may be the one to run it."""
    body = {"path": "r.ipynb", "username": "", "password": "", "endpoint": livy_url}
    reply = await api.request(
        "POST", "reconnectsparkmagic", api=False, body={**body, "kernelname": "sparkr_broker"}
    )
    assert reply.status == 200, reply.json
    kernel = jp_serverapp.kernel_manager.get_kernel(reply.json["kernel_id"])
    assert kernel.kernel_name == "sparkr_broker"
    unknown = await api.request(
        "POST", "reconnectsparkmagic", api=False, body={**body, "kernelname": "no_such"}
    )
    assert unknown.status == 400 and "no kernel named 'no_such'" in unknown.json["error"]


def test_the_kernel_classes_kinds_are_the_wrappers_own():
    classes = {cls.__name__: cls.kind for cls in (PySparkKernel, SparkKernel, SparkRKernel)}
    assert classes == KINDS_OF_KERNEL_CLASSES


def test_the_local_livy_runs_no_r_and_scala_only_with_spark():
    assert spark_mode([]) == "auto" and spark_mode(["--spark", "off", "--port", "0"]) == "off"
    assert spark_mode(["--spark=on"]) == "on"
    assert session_kinds("off") == frozenset(PYTHON_ONLY)
    assert session_kinds("on") == frozenset({*PYTHON_ONLY, "spark"})
    assert "sparkr" not in session_kinds("auto")
