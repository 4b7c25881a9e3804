"""One Spark Connect server run from the pip ``pyspark`` wheel: ``spark-submit`` of SparkConnectServer.

The wheel ships the server jar (``pyspark/jars/spark-connect_*.jar``) and ``bin/spark-submit``. The
server binds 127.0.0.1 on a port the OS picks (port 0; the port is read back from the server's log, so
no other process can take it in between), and refuses clients without its token. The Spark conf, token
included, goes in a properties file of mode 0600 (``--properties-file``) that is removed once the server
has read it: never in argv, where any OS user reads it with ``ps``, nor in the environment, which the
clients' Python UDFs inherit.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..livy_local.config import PYTHON_CONF, spark_python_conf, without_secrets
from ..livy_local.lifeline import die_with_parent

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
TOKEN_CONF = "spark.connect.authenticate.token"
_STARTED = re.compile(r"Spark Connect server started at: \S*?:(\d+)\s*$", re.M)
_SPARK_UI = re.compile(r"Successfully started service 'SparkUI' on port (\d+)")


class ConnectServerStartError(RuntimeError):
    """The server could not start; the message says why and where its log is."""


def spark_home() -> Path:
    """The installed ``pyspark`` package: it is a complete SPARK_HOME (bin/, jars/)."""
    try:
        import pyspark
    except ImportError:
        raise ConnectServerStartError(
            "Spark Connect needs pyspark 4 or later: install the package's `connect` extra"
        )
    home = Path(pyspark.__file__).parent
    if not any((home / "jars").glob("spark-connect_*.jar")):
        raise ConnectServerStartError(
            f"the pyspark at {home} ships no Spark Connect server jar (pyspark 4.0 or later has it)"
        )
    return home


@dataclass(frozen=True)
class ServerEndpoint:
    """Where a started server listens, read from its log."""

    port: int
    spark_ui_url: str | None


class ConnectServerProcess:
    """A Spark Connect server child process. ``start`` blocks (run it in a worker thread)."""

    def __init__(
        self,
        *,
        token: str,
        log_file: Path,
        app_name: str,
        master: str = "local[*]",
        conf: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ):
        self.token = token
        self.log_file = Path(log_file)
        self.app_name = app_name
        self.master = master
        self.conf = dict(conf or {})
        self.env = dict(env) if env is not None else None
        self.process: subprocess.Popen | None = None
        self.endpoint: ServerEndpoint | None = None

    def settings(self) -> dict[str, str]:
        """The server's Spark conf, its token included."""
        return {
            "spark.master": self.master,
            "spark.app.name": self.app_name,
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": "0",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.ui.showConsoleProgress": "false",
            **self.conf,
            **spark_python_conf(self.conf, self._base_environment()),
            TOKEN_CONF: self.token,
        }

    @property
    def properties_file(self) -> Path:
        """Where the conf waits for spark-submit: beside the log, made anew with mode 0600."""
        return self.log_file.with_name(self.log_file.name + ".properties")

    def command(self) -> list[str]:
        home = spark_home()
        return [
            str(home / "bin" / "spark-submit"),
            "--class",
            SERVER_CLASS,
            "--properties-file",
            str(self.properties_file),
            "spark-internal",
        ]

    def _write_properties(self) -> None:
        self.properties_file.unlink(missing_ok=True)
        fd = os.open(self.properties_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for key, value in self.settings().items():
                out.write(f"{_property_text(key, key=True)}={_property_text(value)}\n")

    def _remove_properties(self) -> None:
        self.properties_file.unlink(missing_ok=True)

    def _environment(self) -> dict[str, str]:
        # The clients' Python UDFs run in workers that inherit this: no secret of Jupyter's or ours.
        env = without_secrets(self._base_environment())
        for name in (
            "SPARK_REMOTE",
            "SPARK_CONNECT_MODE_ENABLED",
            "SPARK_LOCAL_REMOTE",
            "PYSPARK_SUBMIT_ARGS",
            "SPARK_CONNECT_AUTHENTICATE_TOKEN",
        ):
            env.pop(name, None)
        env["SPARK_HOME"] = str(spark_home())
        env["SPARK_LOCAL_IP"] = "127.0.0.1"  # the Spark UI binds it too (it would take 0.0.0.0)
        # The server runs the clients' Python UDFs with PYSPARK_PYTHON (not the conf): by default
        # this interpreter, which has pyspark and pyarrow.
        env["PYSPARK_PYTHON"] = self.settings()[PYTHON_CONF]
        return env

    def _base_environment(self) -> Mapping[str, str]:
        return self.env if self.env is not None else os.environ

    def spawn(self) -> None:
        """Start the process. Call it from a long-lived thread: the server dies when that thread's
        process does (PR_SET_PDEATHSIG survives spark-submit's exec into java)."""
        if shutil.which("java") is None and "JAVA_HOME" not in os.environ:
            raise ConnectServerStartError(
                "Spark Connect needs Java 17 or later (no `java` on PATH)"
            )
        self.log_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._write_properties()
        fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as log:
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._environment(),
                preexec_fn=die_with_parent,
                start_new_session=True,  # a terminal's Ctrl-C reaches Jupyter, which stops us in order
            )

    def wait_until_ready(self, timeout: float = 180.0) -> ServerEndpoint:
        """Block until the log says the server listens: its port and Spark UI."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        delay = 0.05
        while time.monotonic() < deadline:
            text = self._log_text()
            started = _STARTED.search(text)
            if started:
                self._remove_properties()  # read long before the server listens
                ui = _SPARK_UI.search(text)
                self.endpoint = ServerEndpoint(
                    port=int(started.group(1)),
                    spark_ui_url=f"http://127.0.0.1:{ui.group(1)}" if ui else None,
                )
                return self.endpoint
            if self.process.poll() is not None:
                self._remove_properties()
                raise ConnectServerStartError(
                    f"the Spark Connect server exited during start-up (code {self.process.returncode}): "
                    f"{self._last_error(text)} (log: {self.log_file})"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        self.stop()
        raise ConnectServerStartError(
            f"the Spark Connect server did not start within {timeout:g} s (log: {self.log_file})"
        )

    def _log_text(self) -> str:
        try:
            return self.log_file.read_text("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    @staticmethod
    def _last_error(text: str) -> str:
        lines = [line for line in text.splitlines() if "Exception" in line or "Error" in line]
        return lines[0].strip() if lines else "no error in its log"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (Spark stops its context), then SIGKILL if it takes longer than ``timeout``."""
        self._remove_properties()
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _property_text(text: str, *, key: bool = False) -> str:
    """``text`` escaped for a Java properties file (read as UTF-8 by spark-submit)."""
    escaped = []
    for index, char in enumerate(text):
        if char in "\\=:#!" or (char == " " and (key or index == 0)):
            escaped.append("\\" + char)
        elif char in "\n\r\t\f":
            escaped.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}[char])
        else:
            escaped.append(char)
    return "".join(escaped)
