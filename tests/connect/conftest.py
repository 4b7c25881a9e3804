"""Real Spark Connect servers (spark-submit from the pyspark wheel) and real pyspark Connect clients,
each client in a process of its own, as a kernel would be."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

# A kernel-like client: connect by URL, run the code, print what it prints.
CLIENT = """
import os, sys, warnings
warnings.simplefilter("ignore", FutureWarning)
from pyspark.sql import SparkSession
spark = SparkSession.builder.remote(os.environ.pop("JSB_TEST_CONNECT_URL")).getOrCreate()
exec(sys.argv[1])
"""

# A server for the tests: one core, a small driver.
TEST_CONF = {"spark.driver.memory": "512m", "spark.ui.enabled": "true"}


@dataclass(frozen=True)
class ClientResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def last_line(self) -> str:
        lines = self.stdout.strip().splitlines()
        return lines[-1] if lines else ""

    def check(self) -> ClientResult:
        assert self.returncode == 0, f"the Connect client failed:\n{self.stderr[-3000:]}"
        return self


def client_command(code: str) -> list[str]:
    return [sys.executable, "-c", CLIENT, code]


def client_environment(url: str) -> dict[str, str]:
    """The URL holds the session's token: in the client's environment, never its command line."""
    return {**os.environ, "JSB_TEST_CONNECT_URL": url}


def run_client(url: str, code: str, timeout: float = 180.0) -> ClientResult:
    """Run ``code`` with ``spark`` bound to the Connect session at ``url``, in a new process."""
    done = subprocess.run(
        client_command(code),
        env=client_environment(url),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return ClientResult(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="session")
def connect_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """The loop the managers of these tests live on (the main thread: the servers' lifeline)."""
    pytest.importorskip("grpc", reason="the connect extra is installed by scripts/test.sh")
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def run(connect_loop) -> Callable[[Coroutine[Any, Any, T]], T]:
    return connect_loop.run_until_complete


@pytest.fixture(scope="session")
def make_manager(tmp_path_factory, run):
    """Managers of real servers; every server they started is stopped at the end."""
    from jupyter_spark_broker.connect import ConnectServerManager

    pytest.importorskip(
        "pyspark.sql.connect", reason="the connect extra is installed by scripts/test.sh"
    )
    managers: list[ConnectServerManager] = []

    def make(**options) -> ConnectServerManager:
        options.setdefault("master", "local[1]")
        options.setdefault("conf", TEST_CONF)
        manager = ConnectServerManager(tmp_path_factory.mktemp("connect-logs"), **options)
        managers.append(manager)
        return manager

    yield make
    for manager in managers:
        run(manager.stop_all())


@pytest.fixture(scope="session")
def shared_manager(make_manager):
    """One manager whose server for user alice is shared by the tests that do not stop it."""
    return make_manager()
