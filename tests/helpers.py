"""Small helpers for tests that wait on a real server: poll a condition, never sleep and hope."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T]], *, what: str, timeout: float = 30.0, interval: float = 0.05
) -> T:
    """Await ``check()`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what}; last: {result!r}"
            )
        await asyncio.sleep(interval)


def wait_until_serving(
    answers: Callable[[], bool], *, process: subprocess.Popen, what: str, timeout: float = 60.0
) -> None:
    """For fixtures starting a server process: poll ``answers()`` until it is True; fail at once if
    the process exits, and after ``timeout`` seconds, naming ``what`` (and where its log is)."""
    deadline = time.monotonic() + timeout
    while not answers():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not answer within {timeout:g} s")
        time.sleep(0.05)


def config_sections(flat: dict) -> dict[str, dict]:
    """The broker's settings from one flat dict into the config sections of the classes that own them
    (``SparkBrokerApp``, ``SparkBroker``, ``SparkEndpoints``, ``SparkProfiles``, ``SparkConnect``); a
    name no class knows is an error."""
    from jupyter_spark_broker.broker.broker import SparkBroker
    from jupyter_spark_broker.broker.connect_sessions import SparkConnect
    from jupyter_spark_broker.broker.endpoints import SparkEndpoints
    from jupyter_spark_broker.broker.profiles import SparkProfiles
    from jupyter_spark_broker.server.app import SparkBrokerApp

    owners = [SparkBrokerApp, SparkBroker, SparkEndpoints, SparkProfiles, SparkConnect]
    sections: dict[str, dict] = {}
    for name, value in flat.items():
        owner = next((c for c in owners if name in c.class_traits(config=True)), None)
        if owner is None:
            raise KeyError(f"no broker class has a setting named {name!r}")
        sections.setdefault(owner.__name__, {})[name] = value
    return sections


def _processes() -> Iterator[tuple[str, bytes, bytes]]:
    """(pid, command line, environment) of every process, read as root; those that end meanwhile are
    left out."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                yield proc.name, (proc / "cmdline").read_bytes(), (proc / "environ").read_bytes()
            except OSError:
                continue


def processes_holding(secret: str) -> list[str]:
    """Every process whose command line or environment holds ``secret``, as 'PID: command'."""
    return [
        pid + ": " + cmdline.replace(b"\0", b" ").decode(errors="replace")
        for pid, cmdline, environ in _processes()
        if secret.encode() in cmdline or secret.encode() in environ
    ]


def command_lines_seen_by_another_os_user() -> str:
    """Every process's command line as `ps` shows it to another OS user of the host (nobody)."""
    return subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "ps",
            "-eww",
            "-o",
            "args=",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def environments_of(marker: str) -> list[set[str]]:
    """The names in the environment of each process whose command line holds ``marker``."""
    return [
        {item.partition(b"=")[0].decode() for item in environ.split(b"\0") if item}
        for _, cmdline, environ in _processes()
        if marker.encode() in cmdline
    ]


def wait_for_file(path: str, timeout: float = 60) -> str:
    """Python code for a statement that runs until ``path`` exists (and fails after ``timeout``
    seconds): a statement that ends when the test says so."""
    return (
        f"import os, time\ndeadline = time.monotonic() + {timeout}\n"
        f"while not os.path.exists({path!r}):\n"
        "    assert time.monotonic() < deadline, 'nobody opened the gate'\n"
        "    time.sleep(0.01)"
    )
