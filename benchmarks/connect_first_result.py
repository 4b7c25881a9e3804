"""A new notebook's first Spark result: a Connect session on the user's running Connect server, against
a new Livy session.

    .venv/bin/python benchmarks/connect_first_result.py [--connect-runs 5] [--livy-runs 2]

Starts a local Livy with Spark and a real Jupyter server with the broker (subprocesses, on loopback).
The user's Connect server is started once beforehand (its start is reported too); then, for each run,
a notebook never seen before:

- connect: ``POST attachments {"protocol": "connect"}``, ``GET sessions/{id}/connect``, pyspark's
  Connect client on that URL, ``spark.range(1000).count()``; in this process, where pyspark's Connect
  modules are already imported, as in a kernel after its first Connect cell (the import itself, in a
  fresh interpreter, is reported apart);
- livy: ``POST attachments`` (a new Livy session), then ``POST statements?wait=300`` with the same
  count, until its result.

Run it in a loopback-only network namespace (``unshare --net``, ``ip link set lo up``). Results go to
stdout as a table and one JSON line; record them in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import httpx

from jupyter_spark_broker.livy_local import LocalLivyProcess

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests/
from tests.live_server import LiveJupyter  # noqa: E402

CODE = "spark.range(1000).count()"


def wait_idle(api: httpx.Client, session_id: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = api.get(f"sessions/{session_id}").json()["state"]
        if state == "idle":
            return
        if state not in ("starting", "not_started"):
            raise RuntimeError(f"session {session_id} is {state}")
        time.sleep(0.05)
    raise RuntimeError(f"session {session_id} did not start in {timeout:g} s")


def connect_first_result(api: httpx.Client, path: str) -> float:
    from pyspark.sql.connect.session import SparkSession

    started = time.perf_counter()
    session = api.post("attachments", json={"path": path, "protocol": "connect"}).json()["session"]
    wait_idle(api, session["id"])
    url = api.get(f"sessions/{session['id']}/connect").json()["url"]
    spark = SparkSession.builder.remote(url).create()
    assert spark.range(1000).count() == 1000
    elapsed = time.perf_counter() - started
    spark.client.close()
    return elapsed


def livy_first_result(api: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    session = api.post("attachments", json={"path": path}).json()["session"]
    reply = api.post(
        f"sessions/{session['id']}/statements", params={"wait": 300}, json={"code": CODE}
    ).json()
    assert reply["state"] == "available" and reply["output"]["data"]["text/plain"] == "1000", reply
    elapsed = time.perf_counter() - started
    api.delete(f"sessions/{session['id']}")
    return elapsed


def import_seconds() -> float:
    probe = (
        "import time; t = time.perf_counter(); import pyspark.sql.connect.session; "
        "print(time.perf_counter() - t)"
    )
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", probe], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def summary(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):7.2f} s   min {min(values):7.2f} s   runs {len(values)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connect-runs", type=int, default=5)
    parser.add_argument("--livy-runs", type=int, default=2)
    options = parser.parse_args()
    warnings.simplefilter("ignore", FutureWarning)

    with (
        tempfile.TemporaryDirectory() as workdir,
        LocalLivyProcess(["--spark", "on"]) as livy,
        LiveJupyter(Path(workdir), livy.url, local_livy_args=["--spark", "on"]) as server,
    ):
        api = httpx.Client(
            base_url=f"{server.url}/spark-broker/api/",
            headers={"Authorization": f"token {server.token}"},
            timeout=360,
        )
        started = time.perf_counter()
        warm = api.post("attachments", json={"path": "warm.ipynb", "protocol": "connect"}).json()
        wait_idle(api, warm["session"]["id"])
        server_start = time.perf_counter() - started
        connect_first_result(api, "warm-client.ipynb")  # this process's first client: imports
        connect = [
            connect_first_result(api, f"c{run}.ipynb") for run in range(options.connect_runs)
        ]
        livy_runs = [livy_first_result(api, f"l{run}.ipynb") for run in range(options.livy_runs)]
        api.delete(f"sessions/{warm['session']['id']}")
    imports = import_seconds()

    print(f"Connect server start (first Connect session of the user): {server_start:.1f} s")
    print(f"import pyspark.sql.connect.session in a fresh interpreter:  {imports:.2f} s")
    print(f"connect, server running: {summary(connect)}")
    print(f"livy, new session:       {summary(livy_runs)}")
    print(
        json.dumps(
            {
                "python": platform.python_version(),
                "server_start_s": round(server_start, 2),
                "connect_import_s": round(imports, 2),
                "connect_first_result_s": [round(v, 3) for v in connect],
                "livy_first_result_s": [round(v, 2) for v in livy_runs],
            }
        )
    )


if __name__ == "__main__":
    main()
