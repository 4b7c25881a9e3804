"""Notebooks on a real Spark standalone cluster through profiles of the embedded Livy.

A master and two workers of one core each run from the pyspark wheel (``tests/spark_standalone.py``);
profiles set ``spark.master`` to it, which no request may. A notebook's UDF and a shuffle run on
executors in the workers' JVMs, never in the session's driver, and their logs are read through the
broker by their owner and an admin, not by another user. A profile with a venv-pack archive
(``archives`` and ``spark.pyspark.python``) runs a UDF importing a package that only the packed
environment has: the environment it was packed from is deleted first, the driver cannot import the
package, and the executors import it from the archive unpacked in their own working directories.
A Connect session of the same profile runs on the cluster too.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.broker.api_client import BrokerAPI
from tests.broker.test_connect_sessions import client, wait_for_state
from tests.broker.test_ownership import TokenNamesUser
from tests.spark_standalone import StandaloneCluster

# A driver, then two executor JVMs, start per test on 2 shared cores.
pytestmark = [pytest.mark.spark, pytest.mark.timeout(600)]

ADMIN = "root-admin"
# Executors of 512m and the session's two cores at most: the cluster has two of one core each.
EXECUTORS = {"executorMemory": "512m"}
RESULT = "result: "

# Python UDFs run in Python workers that an executor JVM starts (pyspark.daemon forks them): this
# one names the JVM above it, and where its Python comes from.
WHERE_IT_RUNS = """
import json, os, sys
from pyspark.sql.functions import udf

def java_above(pid):
    while pid > 1:
        command = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")
        if command[0].endswith(b"/java"):
            return pid, b" ".join(command).decode()
        pid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    return None, ""

@udf("string", useArrow=False)  # Arrow's UDFs need pyarrow in the executors' Python
def where_it_runs(n):
    print(MARKER, file=sys.stderr, flush=True)  # the executor's stderr: its log
    jvm, command = java_above(os.getppid())
    return json.dumps({"jvm": jvm, "command": command, "python": sys.executable, **probe()})
"""


def result_of(shown: str) -> dict:
    """The JSON a cell printed after ``RESULT``."""
    line = next(line for line in shown.splitlines() if line.startswith(RESULT))
    return json.loads(line[len(RESULT) :])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with StandaloneCluster(tmp_path_factory.mktemp("standalone")) as started:
        yield started


@pytest.fixture(scope="module")
def packed_environment(tmp_path_factory) -> tuple[Path, str]:
    """A venv-pack archive of a fresh virtual environment holding a package no other has, and the
    package's name; the environment itself is deleted, so only the archive has the package."""
    from venv_pack import pack

    where = tmp_path_factory.mktemp("packed")
    package = f"jsb_probe_{secrets.token_hex(4)}"
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    (site / package).mkdir()
    (site / package / "__init__.py").write_text("FROM = 'the packed environment'\n")
    archive = where / "env.tar.gz"
    pack(prefix=str(venv), output=str(archive), verbose=False)
    shutil.rmtree(venv)
    return archive, package


@pytest.fixture
def broker_config(broker_config, cluster, packed_environment) -> dict:
    archive, _ = packed_environment
    on_the_cluster = {
        **EXECUTORS,
        "conf": {
            "spark.master": cluster.master_url,
            "spark.driver.host": "127.0.0.1",  # where the executors reach the driver
            "spark.cores.max": "2",
        },
    }
    packed = {
        **on_the_cluster,
        "archives": [f"{archive}#env"],
        "conf": {**on_the_cluster["conf"], "spark.pyspark.python": "./env/bin/python"},
    }
    return {
        **broker_config,
        "default_endpoint": "local",
        "local_livy_args": ["--spark", "on"],
        "profiles": {
            "cluster": {"settings": on_the_cluster},
            "packed": {"settings": packed},
        },
    }


@pytest.fixture
def jp_server_config(jp_server_config):
    return {
        **jp_server_config,
        "ServerApp": {
            **jp_server_config["ServerApp"],
            "identity_provider_class": f"{TokenNamesUser.__module__}.TokenNamesUser",
        },
        "SparkBroker": {**jp_server_config.get("SparkBroker", {}), "admin_users": [ADMIN]},
    }


@pytest.fixture
def as_user(http_server_client, jp_base_url):
    return lambda name: BrokerAPI(http_server_client, jp_base_url, name)


async def test_a_notebooks_udf_and_shuffle_run_on_the_clusters_executors(
    kernel, api, as_user, cluster, jp_base_url
):
    await kernel.run("%spark profile cluster")
    reply, _, errors = await kernel.run('%%configure\n{"conf": {"spark.master": "local[*]"}}')
    assert reply["status"] == "error"
    assert "'spark.master' may not be set by a request" in "\n".join(errors[0]["traceback"])

    marker = f"udf-ran-{secrets.token_hex(4)}"
    code = (
        f"%%spark\nMARKER = {marker!r}\nprobe = lambda: {{}}\n{WHERE_IT_RUNS}\n"
        "runs = {r[0] for r in "
        "spark.range(0, 8, numPartitions=4).select(where_it_runs('id')).collect()}\n"
        "counts = spark.range(10000).selectExpr('id % 10 AS k').groupBy('k').count().collect()\n"
        "print('" + RESULT + "' + json.dumps({'runs': [json.loads(r) for r in runs], "
        "'counts': sorted(r['count'] for r in counts), 'master': sc.master, "
        "'driver_jvm': sc._jvm.java.lang.ProcessHandle.current().pid(), 'app': sc.applicationId}))"
    )
    reply, shown, errors = await kernel.run(code, timeout=600)
    assert reply["status"] == "ok", (shown, errors)
    result = result_of(shown)
    assert result["master"] == cluster.master_url
    assert result["counts"] == [1000] * 10  # the shuffle's groups, whole
    for run in result["runs"]:  # every task in an executor JVM, none in the driver's
        assert run["jvm"] not in (None, result["driver_jvm"]), run
        assert "CoarseGrainedExecutorBackend" in run["command"], run
    (app,) = [a for a in cluster.state()["activeapps"] if a["id"] == result["app"]]
    assert app["cores"] == 2  # an executor on each worker

    # The Spark UI's executors, through the broker: the shuffle was written by executors, and
    # their log links lead to the broker.
    (session,) = (await api.get("sessions")).json["sessions"]
    ui = f"spark-broker/sessions/{session['id']}/ui"
    # Spark's own answer, not the broker's: the spec says nothing of a UI path's body.
    allexecutors = f"{ui}/api/v1/applications/{result['app']}/allexecutors"
    listed = await api.get(allexecutors, api=False, validate=False)
    executors = listed.json
    workers = [e for e in executors if e["id"] != "driver"]
    assert len(workers) == 2 and sum(e["totalShuffleWrite"] for e in workers) > 0
    logs = f"{jp_base_url}spark-broker/sessions/{session['id']}/executors"
    stderr_texts = []
    for executor in workers:
        links = executor["executorLogs"]
        assert links == {kind: f"{logs}/{executor['id']}/{kind}" for kind in ("stdout", "stderr")}
        for kind in ("stdout", "stderr"):
            page = await api.get(links[kind][len(jp_base_url) :], api=False)
            assert page.status == 200 and page.content_type.startswith("text/plain"), page.body
            assert re.match(r"==== Bytes \d+-\d+ of \d+ of \S+/" + kind, page.body.decode())
            if kind == "stderr":
                stderr_texts.append(page.body.decode())
    assert any(marker in text for text in stderr_texts)  # the UDF's output, in its executor's log

    # The same checks as the Spark UI: an admin reads them, another user does not.
    a_log = links["stderr"][len(jp_base_url) :]
    assert (await as_user(ADMIN).get(a_log, api=False)).status == 200
    other = await as_user("eve").get(a_log, api=False)
    assert other.status == 403 and marker not in other.body.decode()
    missing = await api.get(f"spark-broker/sessions/{session['id']}/executors/99/stderr", api=False)
    assert missing.status == 404 and "no executor '99'" in missing.json["message"]


async def test_a_packed_environment_profile_imports_its_package_on_the_executors(
    kernel, packed_environment, cluster
):
    archive, package = packed_environment
    await kernel.run("%spark profile packed")
    reply, shown, errors = await kernel.run(f"%%spark\nimport {package}")
    assert reply["status"] == "error"  # not in the driver
    assert "ModuleNotFoundError" in shown + "\n".join(errors[0]["traceback"])

    code = (
        f"%%spark\nMARKER = 'packed'\n"
        f"def probe():\n    import {package}\n"
        f"    return {{'module': {package}.__file__, 'from': {package}.FROM, 'cwd': os.getcwd()}}\n"
        f"{WHERE_IT_RUNS}\n"
        "runs = [json.loads(r[0]) for r in "
        "spark.range(0, 4, numPartitions=4).select(where_it_runs('id')).collect()]\n"
        "print('" + RESULT + "' + json.dumps({'runs': runs, "
        "'driver_jvm': sc._jvm.java.lang.ProcessHandle.current().pid()}))"
    )
    reply, shown, errors = await kernel.run(code, timeout=600)
    assert reply["status"] == "ok", (shown, errors)
    runs = result_of(shown)["runs"]
    assert len(runs) == 4
    for run in runs:
        assert "CoarseGrainedExecutorBackend" in run["command"], run
        assert run["jvm"] != result_of(shown)["driver_jvm"]
        # The executor's working directory, under a worker of the cluster, holds the unpacked
        # archive: the package and the Python running it come from there.
        work = Path(run["cwd"])
        assert work.is_relative_to(cluster.dir), run
        assert Path(run["python"]) == work / "env" / "bin" / "python", run
        assert Path(run["module"]).is_relative_to(work / "env" / "lib"), run
        assert run["from"] == "the packed environment"
    assert not archive.with_name("venv").exists()


async def test_a_profiles_connect_server_runs_its_executors_on_the_cluster(api, cluster):
    attached = await api.post(
        "attachments", {"path": "connect.ipynb", "protocol": "connect", "profile": "cluster"}
    )
    assert attached.status == 201, attached.json
    session = await wait_for_state(api, attached.json["session_id"], ("idle",), timeout=300)
    url = (await api.get(f"sessions/{session['id']}/connect")).json["url"]
    shuffle = "spark.range(10000).selectExpr('id % 10 AS k').groupBy('k').count().collect()"
    code = f"print(spark.conf.get('spark.master'), sorted(r['count'] for r in {shuffle}))"
    ran = (await client(url, code)).check()
    assert ran.last_line == f"{cluster.master_url} {[1000] * 10}"
    (app,) = [a for a in cluster.state()["activeapps"] if a["name"].startswith("jsb-connect-")]
    assert app["cores"] == 2  # its executors, one on each worker
