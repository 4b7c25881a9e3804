"""A real Spark standalone cluster from the pyspark wheel: one master and its workers, each a JVM of
its own (``bin/spark-class org.apache.spark.deploy.master.Master`` and ``...worker.Worker``), on
127.0.0.1, with ports the JVMs pick and read back from their logs.

Executors run in the workers' JVMs' children, never in the driver: a Python UDF there runs in a
Python worker an executor started, in the executor's own working directory under the worker's
``work/`` (where ``spark.archives`` are unpacked and ``stdout``/``stderr`` are written).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from jupyter_spark_broker.connect.process import spark_home

_MASTER_URL = re.compile(r"Starting Spark master at (spark://\S+)")
_WEB_UI = re.compile(r"started at (http://\S+?)/?\s*$", re.M)
# Little of everything: 2 shared cores run the master, the workers, the driver and the executors.
DAEMON_MEMORY = "256m"
WORKER_MEMORY = "1g"


class StandaloneCluster:
    """``with StandaloneCluster(directory, workers=2) as cluster: cluster.master_url``."""

    def __init__(self, directory: Path, *, workers: int = 2, timeout: float = 120.0):
        self.dir = directory
        self.workers = workers
        self.timeout = timeout
        self.master_url = ""
        self.master_ui = ""
        self._processes: list[subprocess.Popen] = []

    def _environment(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if not name.startswith("SPARK_")}
        env.pop("PYSPARK_SUBMIT_ARGS", None)
        return {
            **env,
            "SPARK_HOME": str(spark_home()),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_DAEMON_MEMORY": DAEMON_MEMORY,
            "SPARK_LOG_DIR": str(self.dir),
        }

    def _start(self, name: str, *args: str) -> Path:
        log = self.dir / f"{name}.log"
        command = [str(spark_home() / "bin" / "spark-class"), *args]
        with log.open("wb") as out:
            self._processes.append(
                subprocess.Popen(
                    command,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=self._environment(),
                    cwd=self.dir,
                    start_new_session=True,  # its executors are stopped with it
                )
            )
        return log

    def _read(self, log: Path, pattern: re.Pattern[str], what: str) -> str:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            match = pattern.search(log.read_text(errors="replace"))
            if match:
                return match.group(1)
            if any(process.poll() is not None for process in self._processes):
                raise RuntimeError(f"{what}: a JVM of the cluster exited; see {log}")
            time.sleep(0.1)
        raise RuntimeError(f"{what} not seen within {self.timeout:g} s; see {log}")

    def state(self) -> dict:
        """The master's own view (its web UI's JSON): workers, applications, cores."""
        with urllib.request.urlopen(f"{self.master_ui}/json/", timeout=10) as reply:
            return json.load(reply)

    def __enter__(self) -> StandaloneCluster:
        master = "org.apache.spark.deploy.master.Master"
        loopback = ["--host", "127.0.0.1", "--port", "0", "--webui-port", "0"]
        log = self._start("master", master, *loopback)
        try:
            self.master_url = self._read(log, _MASTER_URL, "the master's URL")
            self.master_ui = self._read(log, _WEB_UI, "the master's web UI")
            worker = "org.apache.spark.deploy.worker.Worker"
            for number in range(self.workers):
                work = self.dir / f"worker-{number}"
                work.mkdir()
                self._start(
                    f"worker-{number}",
                    worker,
                    *loopback,
                    "--cores",
                    "1",
                    "--memory",
                    WORKER_MEMORY,
                    "--work-dir",
                    str(work),
                    self.master_url,
                )
            self._wait_for_workers()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_for_workers(self) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            alive = [w for w in self.state()["workers"] if w["state"] == "ALIVE"]
            if len(alive) == self.workers:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(alive)} of {self.workers} workers joined; see {self.dir}")
            time.sleep(0.2)

    def __exit__(self, *exc_info: object) -> None:
        for process in reversed(self._processes):  # workers first: they stop their executors
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self._processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
