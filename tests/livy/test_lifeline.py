"""No local Livy or session worker outlives the process that started it, however that process dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

PARENT = """
import sys, time
from jupyter_spark_broker.livy_local import LocalLivyProcess
livy = LocalLivyProcess(["--spark", "off"])
livy.start()
print(livy.url, livy.process.pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # a zombie has already died
    except FileNotFoundError:
        return False


def wait_until(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_killing_the_parent_ends_the_local_livy_and_its_sessions():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        url, livy_pid = parent.stdout.readline().split()
        with httpx.Client(base_url=url, timeout=30) as http:
            session = http.post("/sessions", json={"kind": "pyspark"}).json()
            wait_until(
                lambda: http.get(f"/sessions/{session['id']}/state").json()["state"] == "idle",
                "the session to start",
            )
            statement = http.post(
                f"/sessions/{session['id']}/statements", json={"code": "import os; os.getpid()"}
            ).json()
            path = f"/sessions/{session['id']}/statements/{statement['id']}"
            wait_until(lambda: http.get(path).json()["state"] == "available", "the statement")
            worker_pid = int(http.get(path).json()["output"]["data"]["text/plain"])
        assert alive(int(livy_pid)) and alive(worker_pid)

        os.kill(parent.pid, signal.SIGKILL)  # no cleanup code runs in the parent
        parent.wait()
        wait_until(lambda: not alive(int(livy_pid)), "the local Livy to end with its parent")
        wait_until(lambda: not alive(worker_pid), "the session worker to end with the server")
    finally:
        if parent.poll() is None:
            parent.kill()
