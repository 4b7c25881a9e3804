"""A real Apache Livy for the tests: ``scripts/apache-livy.sh run`` as a subprocess on loopback.

``scripts/test.sh`` prepares it (``scripts/apache-livy.sh prepare``) before pytest starts; the tests
only run it. One server serves the whole test session: its sessions are Spark drivers that take
tens of seconds to start, so tests share them where they can (``SessionPool``).
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx

from tests.helpers import wait_until_serving
from tests.live_server import free_port

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "apache-livy.sh"
VERSION = "0.9.0-incubating"


def apache_livy_home() -> Path:
    return Path(
        subprocess.run([SCRIPT, "home"], capture_output=True, text=True, check=True).stdout.strip()
    )


def unprepared_reason() -> str | None:
    """Why Apache Livy cannot run here, or None when ``prepare`` has assembled it."""
    home = apache_livy_home()
    if not (home / "livy" / "jars" / f"livy-server-{VERSION}.jar").is_file():
        return f"Apache Livy is not prepared in {home}: run scripts/apache-livy.sh prepare"
    if not (home / "pyspark" / "bin" / "python").is_file():
        return f"Apache Livy's pyspark 3.5 environment is missing in {home}"
    return None


class ApacheLivyProcess:
    """``scripts/apache-livy.sh run --port P`` in its own process group, stopped with SIGTERM."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0) -> str:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [SCRIPT, "run", "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

        def answers() -> bool:
            try:
                return httpx.get(f"{self.url}/sessions", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        what = f"Apache Livy (log: {self.log_path})"
        wait_until_serving(answers, process=self.process, what=what, timeout=timeout)
        return self.url

    def stop(self, timeout: float = 60.0) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)  # the script stops Livy and its Spark drivers
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")
